//! Kubernetes `resource.Quantity` (k8s.io/apimachinery/pkg/api/resource),
//! parsed exactly and printed in Go's canonical form.
//!
//! # Why this exists
//!
//! Every quantity we write into a manifest (`cpu: 500m`, `storage: 10Gi`, …)
//! is parsed by the API server and written back in its canonical form. If our
//! rendered YAML is not already canonical, GitOps tools see a permanent diff
//! between what we rendered and what the cluster holds. So this module
//! reproduces Go's `ParseQuantity` followed by `Quantity.String()`
//! (`CanonicalizeBytes`) bit for bit, and compares quantities by value (storage
//! shrink detection, `limit >= request` checks) without any floating point.
//!
//! # Representation
//!
//! A [`Quantity`] holds its value exactly as `sign × digits × 10^exponent` with
//! an arbitrary number of decimal digits, like Go's `inf.Dec`, plus the
//! [`Format`] (suffix family) it was written in. Nothing is lost for any input,
//! however long.
//!
//! # Accepted grammar
//!
//! ```text
//! quantity ::= sign? number suffix
//! sign     ::= "+" | "-"
//! number   ::= digits | digits "." | digits "." digits | "." digits
//! suffix   ::= "" | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E"   (decimal SI)
//!            | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"                   (binary SI)
//!            | ("e" | "E") sign? digits                                  (decimal exponent)
//! ```
//!
//! This is the grammar documented on Go's `Quantity`, and it is what Go's
//! scanner accepts (`1.`, `1.G`, `.5`, `+1`, `007`, `1e+3`, `1E-3`, `1e007`
//! included), with two deliberate, documented restrictions:
//!
//! * A number needs at least one digit. Go's scanner silently reads `"-"`,
//!   `"+"`, `"."`, `"Ki"`, `"k"` or `".e3"` as zero (and `".e-20"` as a
//!   numeric error); we reject all of these. They also fail the `pattern`
//!   controller-gen puts on every `Quantity` field of a CRD, so no cluster
//!   would accept them from us anyway.
//! * The integer after `e`/`E` must lie within ±[`MAX_DECIMAL_EXPONENT`], and
//!   so must the decimal exponent of the resulting value. Go keeps exponents in
//!   an `int32` and silently wraps around beyond it (`1e4294967296` parses as
//!   `1`); we return [`QuantityErrorKind::ExponentOutOfRange`] well before that.
//!
//! Everything else is an error, as in Go: empty input, whitespace anywhere,
//! non-ASCII characters, `1K` (capital K), `1i`, `1e`, `1e3Ki`, `1.1.M`, …
//!
//! # Parsing rules (Go's `ParseQuantity`)
//!
//! 1. The value is `number × 10^n` for a decimal suffix (`n` = -9, -6, -3, 0,
//!    3, …, 18, or the integer after `e`), and `number × 2^(10·k)` for a binary
//!    suffix (`Ki` = 2^10 … `Ei` = 2^60).
//! 2. A non-zero value finer than 1n is rounded **away from zero** to a whole
//!    number of nanos: `0.1n` → `1n`, `3.001n` → `4n`, `-0.5n` → `-1n`.
//! 3. A binary-suffixed value is capped in magnitude at 2^63-1
//!    (`8Ei` → `9223372036854775807`); decimal values are not capped.
//! 4. A binary-suffixed value whose magnitude is below 1 after rounding
//!    (`0.000000000001Ki`) is re-labelled as decimal SI.
//!
//! # Canonical form (Go's `CanonicalizeBytes`)
//!
//! 1. Zero is `0`, whatever its sign or suffix.
//! 2. A negative value is `-` followed by the canonical form of its magnitude.
//! 3. Binary SI: if the magnitude is an integer of at least 1024, it is printed
//!    as `m × 1024^k` with the largest `k` that leaves `m` an integer, and the
//!    suffix of `k` (`""`, `Ki`, … `Ei`): `1024Mi` → `1Gi`, `1536Mi` →
//!    `1536Mi`, `0.5Gi` → `512Mi`, `1025Ki` → `1025Ki`. Otherwise (fractional,
//!    or below 1024) the value is printed as decimal SI: `0.5Ki` → `512`,
//!    `1.1Ki` → `1126400m`.
//! 4. Decimal SI and decimal exponent: the value is written `m × 10^e` with
//!    `m` an integer without trailing zeros, then `e` is lowered to the nearest
//!    multiple of three at or below it (padding `m` with zeros), which gives the
//!    largest suffix that keeps `m` an integer: `1.5` → `1500m`, `0.1` →
//!    `100m`, `1000k` → `1M`, `12345` → `12345`, `1.01E` → `1010P`.
//! 5. Decimal SI suffix for `e`: -9 `n`, -6 `u`, -3 `m`, 0 none, 3 `k`, 6 `M`,
//!    9 `G`, 12 `T`, 15 `P`, 18 `E`. Beyond `E` there is no suffix and the value
//!    is written with an exponent instead: `1000E` → `1e21` (this follows
//!    kubernetes/kubernetes#140459, merged July 2026; older releases printed a
//!    plain `1`, silently losing 21 orders of magnitude).
//! 6. Decimal exponent suffix for `e`: none for 0, otherwise `e<e>`:
//!    `1e3` → `1e3`, `1E3` → `1e3`, `1.5e3` → `1500`, `0.5e0` → `500e-3`.
//!
//! # Go's cached input string
//!
//! Go's `ParseQuantity` remembers the input text when it believes it is
//! already canonical, and `String()`/`MarshalJSON` then return that text
//! verbatim. Its test is loose, so a few non-canonical spellings survive a
//! round trip through Go unchanged: `+1`, `01`, `1.`, `1.500`, `1E3`, `1e+3`,
//! `1e0`, `+1Ki`. [`Quantity::canonical`] ignores that cache (it is what Go
//! prints for any value it computed itself, and what it prints for any
//! canonical input); [`Quantity::go_string`] reproduces it for callers that
//! must echo exactly what Go echoes for a user-written string. Feeding
//! [`Quantity::canonical`] output to Go is always a fixed point.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// The largest magnitude accepted for the integer after `e`/`E`, and for the
/// decimal exponent of a parsed value. Go stores these in an `int32` and
/// wraps around silently near ±2.1e9; one billion keeps us clear of that.
pub const MAX_DECIMAL_EXPONENT: i64 = 1_000_000_000;

/// Values are rounded (away from zero) to a multiple of 10^-9.
const NANO_EXPONENT: i64 = -9;

/// 2^63 - 1: Go caps binary-suffixed quantities at this magnitude.
const BINARY_CAP_DIGITS: &[u8] = b"9223372036854775807";

/// Binary suffixes by power of 1024.
const BINARY_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// Go's error messages (`ErrFormatWrong`, `ErrSuffix`).
const GO_FORMAT_WRONG_MESSAGE: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const GO_SUFFIX_MESSAGE: &str = "unable to parse quantity's suffix";
const EXPONENT_OUT_OF_RANGE_MESSAGE: &str = "the decimal exponent must lie within ±1000000000 \
     (Go keeps it in an int32 and would silently wrap around)";

/// The suffix family a quantity is written in; it survives canonicalisation
/// (`1024Mi` stays binary as `1Gi`, `1e3` stays `1e3` rather than `1k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `n u m "" k M G T P E`, powers of 1000.
    DecimalSI,
    /// `Ki Mi Gi Ti Pi Ei`, powers of 1024.
    BinarySI,
    /// `e<int>` / `E<int>`, powers of ten.
    DecimalExponent,
}

/// Why a string is not a quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityErrorKind {
    /// The text does not have the shape `sign? number suffix` (Go's
    /// `ErrFormatWrong`); also used for numbers without any digit.
    FormatWrong,
    /// The suffix is made of suffix characters but is not a known suffix, or
    /// its exponent does not fit in 64 bits (Go's `ErrSuffix`).
    Suffix,
    /// The exponent is beyond ±[`MAX_DECIMAL_EXPONENT`] (no Go equivalent: Go
    /// would silently wrap it around).
    ExponentOutOfRange,
}

/// A string that is not a valid Kubernetes quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantityError {
    input: String,
    kind: QuantityErrorKind,
}

impl QuantityError {
    /// What kind of mistake the input contains.
    pub fn kind(&self) -> QuantityErrorKind {
        self.kind
    }

    /// The rejected input.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The message Go's `ParseQuantity` returns for this input (for
    /// [`QuantityErrorKind::ExponentOutOfRange`], which Go does not detect,
    /// our own explanation).
    pub fn go_message(&self) -> &'static str {
        match self.kind {
            QuantityErrorKind::FormatWrong => GO_FORMAT_WRONG_MESSAGE,
            QuantityErrorKind::Suffix => GO_SUFFIX_MESSAGE,
            QuantityErrorKind::ExponentOutOfRange => EXPONENT_OUT_OF_RANGE_MESSAGE,
        }
    }
}

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN_CHARS: usize = 64;
        let shown: String = self.input.chars().take(SHOWN_CHARS).collect();
        let ellipsis = if self.input.chars().nth(SHOWN_CHARS).is_some() {
            "…"
        } else {
            ""
        };
        write!(
            f,
            "invalid quantity {shown:?}{ellipsis}: {}",
            self.go_message()
        )
    }
}

impl std::error::Error for QuantityError {}

/// An exact Kubernetes quantity.
///
/// Equality and ordering compare values only (`1Gi == 1024Mi`, `1k == 1e3`),
/// like Go's `Quantity.Cmp`/`Equal`; the [`Format`] is ignored.
#[derive(Clone)]
pub struct Quantity {
    negative: bool,
    /// ASCII significant digits: no leading or trailing `0`; empty for zero.
    digits: Vec<u8>,
    /// The value is `digits × 10^exponent`; 0 for zero.
    exponent: i64,
    format: Format,
    /// The input text when Go's `ParseQuantity` would have cached it and
    /// echoed it verbatim from `String()`.
    go_cached_input: Option<Box<str>>,
}

/// Parses a quantity the way Go's `resource.ParseQuantity` does (see the
/// module documentation for the grammar and the two deliberate restrictions).
///
/// # Errors
///
/// When the text is not a quantity; [`QuantityError::kind`] says why and
/// [`QuantityError::go_message`] gives Go's message for it.
pub fn parse(input: &str) -> Result<Quantity, QuantityError> {
    parse_quantity(input).map_err(|kind| QuantityError {
        input: input.to_owned(),
        kind,
    })
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        parse(input)
    }
}

impl fmt::Display for Quantity {
    /// Writes [`Quantity::canonical`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Quantity")
            .field(&self.canonical())
            .field(&self.format)
            .finish()
    }
}

impl std::hash::Hash for Quantity {
    /// Consistent with the value-based `Eq`: the normalized sign, digits and
    /// exponent are unique for each value.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.negative.hash(state);
        self.digits.hash(state);
        self.exponent.hash(state);
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    /// Numeric order, exact for every value (Go's `Quantity.Cmp`).
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.signum(), other.signum()) {
            (a, b) if a != b => a.cmp(&b),
            (0, _) => Ordering::Equal,
            (1, _) => compare_magnitudes(self, other),
            _ => compare_magnitudes(other, self),
        }
    }
}

impl Quantity {
    /// Go's `NewQuantity(value, format)`.
    pub fn from_i64(value: i64, format: Format) -> Quantity {
        Quantity::from_integer_and_exponent(value, 0, format)
    }

    /// Go's `NewMilliQuantity(value, format)`: `value / 1000`.
    pub fn from_milli(value: i64, format: Format) -> Quantity {
        Quantity::from_integer_and_exponent(value, -3, format)
    }

    fn from_integer_and_exponent(value: i64, exponent: i64, format: Format) -> Quantity {
        Quantity::normalized(
            value < 0,
            value.unsigned_abs().to_string().into_bytes(),
            exponent,
            format,
        )
    }

    /// Builds a quantity from raw ASCII digits, stripping leading zeros and
    /// moving trailing zeros into the exponent.
    fn normalized(negative: bool, mut digits: Vec<u8>, exponent: i64, format: Format) -> Quantity {
        let leading_zeros = digits.iter().take_while(|&&digit| digit == b'0').count();
        digits.drain(..leading_zeros);
        let trailing_zeros = digits
            .iter()
            .rev()
            .take_while(|&&digit| digit == b'0')
            .count();
        digits.truncate(digits.len() - trailing_zeros);
        let is_zero = digits.is_empty();
        Quantity {
            negative: negative && !is_zero,
            exponent: if is_zero {
                0
            } else {
                exponent.saturating_add(usize_to_i64(trailing_zeros))
            },
            digits,
            format,
            go_cached_input: None,
        }
    }

    /// The canonical form Go writes for this value (`Quantity.String()` /
    /// `CanonicalizeBytes`); see the module documentation for the rules.
    pub fn canonical(&self) -> String {
        if self.digits.is_empty() {
            return "0".to_owned();
        }
        let mut out = String::with_capacity(self.digits.len() + 16);
        if self.negative {
            out.push('-');
        }
        if self.format == Format::BinarySI
            && let Some((mantissa, suffix)) = self.binary_mantissa_and_suffix()
        {
            out.push_str(&mantissa.to_string());
            out.push_str(suffix);
            return out;
        }
        // Lower the exponent to a multiple of three, padding the mantissa.
        let exponent = self.exponent.div_euclid(3) * 3;
        let padding = self.exponent - exponent;
        out.extend(self.digits.iter().map(|&digit| char::from(digit)));
        for _ in 0..padding {
            out.push('0');
        }
        let si_suffix = match self.format {
            Format::DecimalExponent => None,
            Format::DecimalSI | Format::BinarySI => decimal_si_suffix(exponent),
        };
        match si_suffix {
            Some(suffix) => out.push_str(suffix),
            None if exponent == 0 => {}
            None => {
                out.push('e');
                out.push_str(&exponent.to_string());
            }
        }
        out
    }

    /// Exactly what Go's `ParseQuantity(input).String()` (and `MarshalJSON`)
    /// return for the input this quantity was parsed from: the canonical form,
    /// except for the few non-canonical spellings Go caches and echoes verbatim
    /// (`+1`, `01`, `1.`, `1.500`, `1E3`, `1e+3`, `1e0`, `+1Ki`, …). For a
    /// quantity not made by [`parse`], or parsed from canonical text, this
    /// equals [`Quantity::canonical`].
    pub fn go_string(&self) -> String {
        match &self.go_cached_input {
            Some(input) => input.to_string(),
            None => self.canonical(),
        }
    }

    /// The suffix family the quantity was written in (after Go's re-labelling
    /// of binary values below 1 as decimal SI).
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// -1, 0 or 1 (Go's `Quantity.Sign`).
    pub fn signum(&self) -> i32 {
        match (self.digits.is_empty(), self.negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        }
    }

    /// The value rounded away from zero to an integer (Go's `Value()`, e.g.
    /// bytes of a memory quantity), or `None` when it does not fit in an
    /// `i64` (where Go would silently overflow).
    pub fn value(&self) -> Option<i64> {
        self.scaled_value(0)
    }

    /// The value in thousandths, rounded away from zero (Go's `MilliValue()`,
    /// e.g. millicores), or `None` when it does not fit in an `i64`.
    pub fn milli_value(&self) -> Option<i64> {
        self.scaled_value(-3)
    }

    /// `value / 10^scale` rounded away from zero (Go's `ScaledValue`), or
    /// `None` when it does not fit in an `i64`.
    ///
    /// Go documents rounding "up … away from 0"; for negative values its
    /// `inf.Dec` code path actually rounds toward +∞ instead. We follow the
    /// documentation.
    pub fn scaled_value(&self, scale: i32) -> Option<i64> {
        if self.digits.is_empty() {
            return Some(0);
        }
        let shift = self.exponent - i64::from(scale);
        let magnitude = if shift >= 0 {
            if usize_to_i64(self.digits.len()).saturating_add(shift) > 39 {
                return None;
            }
            let mut magnitude = digits_to_u128(&self.digits)?;
            for _ in 0..shift {
                magnitude = magnitude.checked_mul(10)?;
            }
            magnitude
        } else {
            // Dropped digits are never all zero (no trailing zeros), so the
            // kept part always rounds up by one.
            let dropped = shift.unsigned_abs();
            match usize::try_from(dropped) {
                Ok(dropped) if dropped < self.digits.len() => {
                    let kept = &self.digits[..self.digits.len() - dropped];
                    digits_to_u128(kept)?.checked_add(1)?
                }
                _ => 1,
            }
        };
        if self.negative {
            let negated = 0i128.checked_sub(i128::try_from(magnitude).ok()?)?;
            i64::try_from(negated).ok()
        } else {
            i64::try_from(magnitude).ok()
        }
    }

    /// The value as the nearest `f64` (correctly rounded; ±infinity beyond
    /// `f64` range). For display and heuristics only, never for comparisons.
    pub fn as_f64(&self) -> f64 {
        if self.digits.is_empty() {
            return 0.0;
        }
        let mut text = String::with_capacity(self.digits.len() + 24);
        if self.negative {
            text.push('-');
        }
        text.extend(self.digits.iter().map(|&digit| char::from(digit)));
        text.push('e');
        text.push_str(&self.exponent.to_string());
        text.parse::<f64>().unwrap_or(if self.negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        })
    }

    /// `(m, suffix)` with `|value| = m × 1024^k` for binary SI printing, or
    /// `None` when Go falls back to decimal SI (fractional, or below 1024).
    fn binary_mantissa_and_suffix(&self) -> Option<(u64, &'static str)> {
        if self.exponent < 0 {
            return None;
        }
        if usize_to_i64(self.digits.len()).saturating_add(self.exponent) > 20 {
            return None;
        }
        let mut mantissa = u64::try_from(digits_to_u128(&self.digits)?).ok()?;
        for _ in 0..self.exponent {
            mantissa = mantissa.checked_mul(10)?;
        }
        if mantissa < 1024 {
            return None;
        }
        let mut power = 0usize;
        while mantissa >= 1024 && mantissa % 1024 == 0 {
            mantissa /= 1024;
            power += 1;
        }
        BINARY_SUFFIXES.get(power).map(|&suffix| (mantissa, suffix))
    }

    /// The number of digits before the decimal point if the value were
    /// written out (≤ 0 for magnitudes below 1). Meaningless for zero.
    fn integer_digit_count(&self) -> i64 {
        usize_to_i64(self.digits.len()).saturating_add(self.exponent)
    }

    /// Go rounds a non-zero value finer than 1n away from zero to a whole
    /// number of nanos.
    fn round_away_from_zero_to_nano(&mut self) {
        if self.digits.is_empty() || self.exponent >= NANO_EXPONENT {
            return;
        }
        let excess = (NANO_EXPONENT - self.exponent).unsigned_abs();
        let kept = match usize::try_from(excess) {
            Ok(excess) if excess < self.digits.len() => self.digits.len() - excess,
            _ => 0,
        };
        self.digits.truncate(kept);
        // The dropped digits end in a non-zero digit, so round up.
        increment_decimal_digits(&mut self.digits);
        let rounded = Quantity::normalized(
            self.negative,
            std::mem::take(&mut self.digits),
            NANO_EXPONENT,
            self.format,
        );
        self.digits = rounded.digits;
        self.exponent = rounded.exponent;
    }
}

/// Compares `|a|` with `|b|`.
fn compare_magnitudes(a: &Quantity, b: &Quantity) -> Ordering {
    match (a.digits.is_empty(), b.digits.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a
            .integer_digit_count()
            .cmp(&b.integer_digit_count())
            // Same leading-digit position and no trailing zeros: the digit
            // strings compare like the values (a prefix is smaller).
            .then_with(|| a.digits.cmp(&b.digits)),
    }
}

fn decimal_si_suffix(exponent: i64) -> Option<&'static str> {
    Some(match exponent {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        0 => "",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => return None,
    })
}

fn usize_to_i64(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Reads ASCII digits as an integer, `None` if it exceeds `u128`.
fn digits_to_u128(digits: &[u8]) -> Option<u128> {
    digits.iter().try_fold(0u128, |accumulated, &digit| {
        accumulated
            .checked_mul(10)?
            .checked_add(u128::from(digit.wrapping_sub(b'0')))
    })
}

/// Adds one to a string of ASCII digits (an empty string counts as zero).
fn increment_decimal_digits(digits: &mut Vec<u8>) {
    for digit in digits.iter_mut().rev() {
        if *digit == b'9' {
            *digit = b'0';
        } else {
            *digit += 1;
            return;
        }
    }
    digits.insert(0, b'1');
}

/// Multiplies a string of ASCII digits by `2^power` in place.
fn multiply_by_power_of_two(digits: &mut Vec<u8>, mut power: u32) {
    while power > 0 {
        let step = power.min(30);
        power -= step;
        let factor = 1u64 << step;
        let mut carry = 0u64;
        for digit in digits.iter_mut().rev() {
            let product = u64::from(digit.wrapping_sub(b'0')) * factor + carry;
            *digit = b'0' + (product % 10) as u8;
            carry = product / 10;
        }
        let mut carried_digits = Vec::new();
        while carry > 0 {
            carried_digits.push(b'0' + (carry % 10) as u8);
            carry /= 10;
        }
        carried_digits.reverse();
        digits.splice(0..0, carried_digits);
    }
}

/// The pieces of `sign? int? ("." frac?)? suffix`, as Go's
/// `parseQuantityString` splits them.
struct ScannedQuantity<'a> {
    negative: bool,
    integer_digits: &'a [u8],
    fraction_digits: &'a [u8],
    suffix: &'a [u8],
}

#[derive(Debug, Clone, Copy)]
enum Suffix {
    /// Multiply by `10^exponent`.
    Decimal { exponent: i64, format: Format },
    /// Multiply by `2^power_of_two`.
    Binary { power_of_two: u32 },
}

fn parse_quantity(input: &str) -> Result<Quantity, QuantityErrorKind> {
    if input.is_empty() {
        return Err(QuantityErrorKind::FormatWrong);
    }
    let scanned = scan(input.as_bytes())?;
    if scanned.integer_digits.is_empty() && scanned.fraction_digits.is_empty() {
        // Go reads these as zero; see the module documentation.
        return Err(QuantityErrorKind::FormatWrong);
    }
    let suffix = interpret_suffix(scanned.suffix)?;

    let mut digits =
        Vec::with_capacity(scanned.integer_digits.len() + scanned.fraction_digits.len());
    digits.extend_from_slice(scanned.integer_digits);
    digits.extend_from_slice(scanned.fraction_digits);
    let mut exponent = -usize_to_i64(scanned.fraction_digits.len());
    let format = match suffix {
        Suffix::Decimal {
            exponent: suffix_exponent,
            format,
        } => {
            exponent = exponent.saturating_add(suffix_exponent);
            format
        }
        Suffix::Binary { power_of_two } => {
            multiply_by_power_of_two(&mut digits, power_of_two);
            Format::BinarySI
        }
    };
    let mut quantity = Quantity::normalized(scanned.negative, digits, exponent, format);
    if quantity.exponent > MAX_DECIMAL_EXPONENT {
        return Err(QuantityErrorKind::ExponentOutOfRange);
    }
    quantity.round_away_from_zero_to_nano();
    if quantity.format == Format::BinarySI && !quantity.is_zero() {
        let cap = Quantity::normalized(false, BINARY_CAP_DIGITS.to_vec(), 0, Format::BinarySI);
        if compare_magnitudes(&quantity, &cap) == Ordering::Greater {
            quantity.digits = cap.digits;
            quantity.exponent = cap.exponent;
        }
        if quantity.integer_digit_count() <= 0 {
            quantity.format = Format::DecimalSI;
        }
    }
    if go_caches_input(&scanned, suffix) {
        quantity.go_cached_input = Some(input.into());
    }
    Ok(quantity)
}

/// Splits the input like Go's `parseQuantityString`: sign, digits, optional
/// `.` and digits, then a suffix made of `[eEinumkKMGTP]*[-+]?[0-9]*` that must
/// reach the end of the input.
fn scan(bytes: &[u8]) -> Result<ScannedQuantity<'_>, QuantityErrorKind> {
    fn digit_run(bytes: &[u8], start: usize) -> usize {
        start
            + bytes
                .get(start..)
                .unwrap_or_default()
                .iter()
                .take_while(|byte| byte.is_ascii_digit())
                .count()
    }

    let mut position = 0;
    let mut negative = false;
    if let Some(&sign @ (b'+' | b'-')) = bytes.first() {
        negative = sign == b'-';
        position = 1;
    }
    let integer_start = position;
    position = digit_run(bytes, position);
    let integer_digits = bytes.get(integer_start..position).unwrap_or_default();

    let mut fraction_digits: &[u8] = &[];
    if bytes.get(position) == Some(&b'.') {
        let fraction_start = position + 1;
        position = digit_run(bytes, fraction_start);
        fraction_digits = bytes.get(fraction_start..position).unwrap_or_default();
    }

    let suffix_start = position;
    while bytes
        .get(position)
        .is_some_and(|byte| b"eEinumkKMGTP".contains(byte))
    {
        position += 1;
    }
    if matches!(bytes.get(position), Some(b'+' | b'-')) {
        position += 1;
    }
    position = digit_run(bytes, position);
    if position != bytes.len() {
        return Err(QuantityErrorKind::FormatWrong);
    }
    Ok(ScannedQuantity {
        negative,
        integer_digits,
        fraction_digits,
        suffix: bytes.get(suffix_start..).unwrap_or_default(),
    })
}

/// Go's `quantitySuffixer.interpret`.
fn interpret_suffix(suffix: &[u8]) -> Result<Suffix, QuantityErrorKind> {
    let decimal = |exponent| Suffix::Decimal {
        exponent,
        format: Format::DecimalSI,
    };
    let binary = |power_of_two| Suffix::Binary { power_of_two };
    Ok(match suffix {
        b"" => decimal(0),
        b"n" => decimal(-9),
        b"u" => decimal(-6),
        b"m" => decimal(-3),
        b"k" => decimal(3),
        b"M" => decimal(6),
        b"G" => decimal(9),
        b"T" => decimal(12),
        b"P" => decimal(15),
        b"E" => decimal(18),
        b"Ki" => binary(10),
        b"Mi" => binary(20),
        b"Gi" => binary(30),
        b"Ti" => binary(40),
        b"Pi" => binary(50),
        b"Ei" => binary(60),
        [b'e' | b'E', exponent_text @ ..] if !exponent_text.is_empty() => {
            // Go: strconv.ParseInt(text, 10, 64), which allows a sign and
            // leading zeros, like Rust's i64::from_str.
            let exponent = std::str::from_utf8(exponent_text)
                .ok()
                .and_then(|text| text.parse::<i64>().ok())
                .ok_or(QuantityErrorKind::Suffix)?;
            if exponent.unsigned_abs() > MAX_DECIMAL_EXPONENT.unsigned_abs() {
                return Err(QuantityErrorKind::ExponentOutOfRange);
            }
            Suffix::Decimal {
                exponent,
                format: Format::DecimalExponent,
            }
        }
        _ => return Err(QuantityErrorKind::Suffix),
    })
}

/// Whether Go's `ParseQuantity` takes its int64 fast path and keeps the input
/// text as the quantity's string (the `s: str` returns in quantity.go).
fn go_caches_input(scanned: &ScannedQuantity<'_>, suffix: Suffix) -> bool {
    // Go strips leading zeros from the integer part, keeping "0" if nothing
    // is left.
    let leading_zeros = scanned
        .integer_digits
        .iter()
        .take_while(|&&digit| digit == b'0')
        .count();
    let integer_digits = match scanned.integer_digits.get(leading_zeros..) {
        Some(rest) if !rest.is_empty() => rest,
        _ => b"0",
    };
    let fraction_digits = scanned.fraction_digits;
    let digit_count = usize_to_i64(integer_digits.len() + fraction_digits.len());
    match suffix {
        Suffix::Decimal { exponent, .. } => {
            // Go: precision = 18 - digits; scale = exponent - len(fraction).
            let scale = exponent - usize_to_i64(fraction_digits.len());
            if digit_count > 18 || scale < NANO_EXPONENT || scale % 3 != 0 {
                return false;
            }
            // Go: shifted := num + denom; keep str if shifted does not end in
            // "000" and does not start with '0'. At most 18 digits here.
            let shifted = [integer_digits, fraction_digits].concat();
            !shifted.ends_with(b"000") && shifted.first() != Some(&b'0')
        }
        Suffix::Binary { power_of_two } => {
            // Go: precision = 15 - len(num) - int(exponent*3/10) - 1, and the
            // fraction must be empty.
            let precision = 15 - digit_count - i64::from(power_of_two) * 3 / 10 - 1;
            if !fraction_digits.is_empty() || precision < 0 {
                return false;
            }
            digits_to_u128(integer_digits).is_some_and(|value| value & 7 != 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (input, canonical form) pairs; expectations come from Go's
    /// quantity_test.go where it has them, otherwise from the rules above.
    const CANONICAL_CASES: &[(&str, &str)] = &[
        // Zero, whatever its spelling.
        ("0", "0"),
        ("-0", "0"),
        ("+0", "0"),
        ("000", "0"),
        ("0.000", "0"),
        ("0Ki", "0"),
        ("-0.0Mi", "0"),
        ("0e10", "0"),
        ("0n", "0"),
        // Plain integers and signs.
        ("1", "1"),
        ("-1", "-1"),
        ("+1", "1"),
        ("01", "1"),
        ("1.", "1"),
        ("12345", "12345"),
        ("1025", "1025"),
        ("2048", "2048"),
        ("12345678901234567890", "12345678901234567890"),
        ("1000000000000", "1T"),
        // Fractions become the largest suffix keeping an integer mantissa.
        ("1.5", "1500m"),
        ("0.1", "100m"),
        (".5", "500m"),
        ("-1.5", "-1500m"),
        ("0.0001", "100u"),
        ("1.2345", "1234500u"),
        ("9.01", "9010m"),
        ("999999999999999999.1", "999999999999999999100m"),
        ("9223372036854775808.1", "9223372036854775808100m"),
        ("-9223372036854775808.1", "-9223372036854775808100m"),
        // Every decimal SI suffix.
        ("1n", "1n"),
        ("1u", "1u"),
        ("1000u", "1m"),
        ("100m", "100m"),
        ("1000m", "1"),
        ("1500m", "1500m"),
        ("1k", "1k"),
        ("1000k", "1M"),
        ("50k", "50k"),
        ("8.1k", "8100"),
        ("1M", "1M"),
        ("10.035M", "10035k"),
        ("1G", "1G"),
        ("1000M", "1G"),
        ("1.G", "1G"),
        ("1T", "1T"),
        ("5.444T", "5444G"),
        ("1P", "1P"),
        ("2.5P", "2500T"),
        ("1E", "1E"),
        ("-1.0E", "-1E"),
        ("1.01E", "1010P"),
        ("12E", "12E"),
        // Beyond E there is no suffix: exponent notation (kubernetes#140459).
        ("1000E", "1e21"),
        ("1000000000000000000000", "1e21"),
        ("-10000E", "-10e21"),
        // Rounding below nano: away from zero.
        ("0.5n", "1n"),
        ("0.9n", "1n"),
        ("-0.5n", "-1n"),
        ("3.001n", "4n"),
        ("0.0000000001", "1n"),
        ("0.00000012345", "124n"),
        ("0.00000012354", "124n"),
        ("0.0000000019999", "2n"),
        // Every binary SI suffix.
        ("1Ki", "1Ki"),
        ("8Ki", "8Ki"),
        ("1024Ki", "1Mi"),
        ("1025Ki", "1025Ki"),
        ("1Mi", "1Mi"),
        ("500Mi", "500Mi"),
        ("512Mi", "512Mi"),
        ("1024Mi", "1Gi"),
        ("1536Mi", "1536Mi"),
        ("1Gi", "1Gi"),
        ("0.5Gi", "512Mi"),
        ("1.5Gi", "1536Mi"),
        ("-1.5Gi", "-1536Mi"),
        ("0.05Gi", "53687091200m"),
        ("1Ti", "1Ti"),
        ("100Ti", "100Ti"),
        ("1Pi", "1Pi"),
        ("1Ei", "1Ei"),
        ("7Ei", "7Ei"),
        // Binary values that are fractional or below 1024 print as decimal.
        ("0.5Ki", "512"),
        ("1.1Ki", "1126400m"),
        ("100.035Ki", "102435840m"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        (".000000000001Ki", "2n"),
        ("-0.5Ki", "-512"),
        // Binary values are capped at 2^63-1.
        ("8Ei", "9223372036854775807"),
        ("9223372036854775807Ki", "9223372036854775807"),
        ("-8Ei", "-9223372036854775807"),
        // Decimal exponents keep exponent notation, multiple of three.
        ("1e3", "1e3"),
        ("1E3", "1e3"),
        ("1e+3", "1e3"),
        ("1e003", "1e3"),
        ("1E6", "1e6"),
        ("1e13", "10e12"),
        ("10e3", "10e3"),
        ("1.5e3", "1500"),
        ("1.2e3", "1200"),
        ("1.3E+6", "1300e3"),
        ("1e0", "1"),
        ("1e-3", "1e-3"),
        ("1E-3", "1e-3"),
        ("0.5e0", "500e-3"),
        ("0.5e-1", "50e-3"),
        ("80e-3", "80e-3"),
        ("1.1E-9", "2e-9"),
        ("1e-12", "1e-9"),
        ("-1e-12", "-1e-9"),
        ("1e999999999", "1e999999999"),
        ("1e-999999999", "1e-9"),
    ];

    const INVALID_CASES: &[(&str, QuantityErrorKind)] = &[
        ("", QuantityErrorKind::FormatWrong),
        (" 1", QuantityErrorKind::FormatWrong),
        ("1 ", QuantityErrorKind::FormatWrong),
        ("1 Gi", QuantityErrorKind::FormatWrong),
        ("1.1.M", QuantityErrorKind::FormatWrong),
        ("1+1.0M", QuantityErrorKind::FormatWrong),
        ("aoeu", QuantityErrorKind::FormatWrong),
        ("1e3Ki", QuantityErrorKind::FormatWrong),
        ("1KiB", QuantityErrorKind::FormatWrong),
        ("1.5.5", QuantityErrorKind::FormatWrong),
        ("--1", QuantityErrorKind::FormatWrong),
        ("0x10", QuantityErrorKind::FormatWrong),
        ("1_000", QuantityErrorKind::FormatWrong),
        ("1,5", QuantityErrorKind::FormatWrong),
        ("NaN", QuantityErrorKind::FormatWrong),
        ("1µ", QuantityErrorKind::FormatWrong),
        ("１", QuantityErrorKind::FormatWrong),
        // No digits at all: Go reads these as zero, we refuse them.
        ("-", QuantityErrorKind::FormatWrong),
        ("+", QuantityErrorKind::FormatWrong),
        (".", QuantityErrorKind::FormatWrong),
        ("-.", QuantityErrorKind::FormatWrong),
        ("Ki", QuantityErrorKind::FormatWrong),
        ("k", QuantityErrorKind::FormatWrong),
        (".e3", QuantityErrorKind::FormatWrong),
        // Suffix characters that do not form a suffix.
        ("0.1mi", QuantityErrorKind::Suffix),
        ("0.1am", QuantityErrorKind::FormatWrong),
        (".5i", QuantityErrorKind::Suffix),
        ("1i", QuantityErrorKind::Suffix),
        ("-3.01i", QuantityErrorKind::Suffix),
        ("-3.01e-", QuantityErrorKind::Suffix),
        ("1K", QuantityErrorKind::Suffix),
        ("1e", QuantityErrorKind::Suffix),
        ("1ee3", QuantityErrorKind::Suffix),
        ("1Ee3", QuantityErrorKind::Suffix),
        ("1mm", QuantityErrorKind::Suffix),
        ("1e99999999999999999999", QuantityErrorKind::Suffix),
        // Exponents Go would wrap around.
        ("1e4294967296", QuantityErrorKind::ExponentOutOfRange),
        ("1e1000000001", QuantityErrorKind::ExponentOutOfRange),
        ("1e-1000000001", QuantityErrorKind::ExponentOutOfRange),
        ("1000e999999999", QuantityErrorKind::ExponentOutOfRange),
        (
            "1e9223372036854775807",
            QuantityErrorKind::ExponentOutOfRange,
        ),
    ];

    fn parsed(input: &str) -> Quantity {
        match parse(input) {
            Ok(quantity) => quantity,
            Err(error) => panic!("{input:?} should parse: {error}"),
        }
    }

    #[test]
    fn canonical_forms_match_go() {
        assert!(CANONICAL_CASES.len() >= 40);
        for &(input, expected) in CANONICAL_CASES {
            assert_eq!(
                parsed(input).canonical(),
                expected,
                "canonical of {input:?}"
            );
        }
    }

    #[test]
    fn canonical_form_is_a_fixed_point() {
        for &(input, _) in CANONICAL_CASES {
            let first = parsed(input);
            let canonical = first.canonical();
            let second = parsed(&canonical);
            assert_eq!(second.canonical(), canonical, "re-canonical of {input:?}");
            assert_eq!(
                second, first,
                "value of {input:?} survives its canonical form"
            );
            // Go caches canonical text on parse and echoes it unchanged.
            assert_eq!(second.go_string(), canonical, "Go echo of {canonical:?}");
        }
    }

    #[test]
    fn invalid_inputs_are_rejected_with_the_right_kind() {
        for &(input, kind) in INVALID_CASES {
            match parse(input) {
                Ok(quantity) => panic!("{input:?} parsed as {quantity}"),
                Err(error) => {
                    assert_eq!(error.kind(), kind, "kind for {input:?}");
                    assert_eq!(error.input(), input);
                }
            }
        }
    }

    #[test]
    fn error_messages_carry_gos_text() {
        let Err(error) = parse("1.1.M") else {
            panic!("1.1.M must not parse");
        };
        assert_eq!(
            error.to_string(),
            "invalid quantity \"1.1.M\": quantities must match the regular expression \
             '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
        let Err(error) = parse("1i") else {
            panic!("1i must not parse");
        };
        assert_eq!(error.go_message(), "unable to parse quantity's suffix");
        let long_input = "x".repeat(1000);
        let Err(error) = parse(&long_input) else {
            panic!("xxx must not parse");
        };
        assert!(error.to_string().len() < 300, "long inputs are truncated");
    }

    #[test]
    fn formats_follow_the_suffix_family() {
        assert_eq!(parsed("1").format(), Format::DecimalSI);
        assert_eq!(parsed("1k").format(), Format::DecimalSI);
        assert_eq!(parsed("1Ki").format(), Format::BinarySI);
        assert_eq!(parsed("0Ki").format(), Format::BinarySI);
        assert_eq!(parsed("1e3").format(), Format::DecimalExponent);
        // Binary values below 1 are re-labelled as decimal SI on parse.
        assert_eq!(parsed(".000000000001Ki").format(), Format::DecimalSI);
        // Binary values at least 1 keep their format even if printed decimal.
        assert_eq!(parsed("0.5Ki").format(), Format::BinarySI);
    }

    #[test]
    fn go_string_echoes_what_go_caches() {
        let cases: &[(&str, &str)] = &[
            // Non-canonical spellings Go's fast path keeps verbatim.
            ("+1", "+1"),
            ("01", "01"),
            ("-01", "-01"),
            ("1.", "1."),
            ("1.500", "1.500"),
            ("1.k", "1.k"),
            ("1E3", "1E3"),
            ("1e+3", "1e+3"),
            ("1e003", "1e003"),
            ("1e0", "1e0"),
            ("+1Ki", "+1Ki"),
            ("01Ki", "01Ki"),
            ("1.Ki", "1.Ki"),
            ("+100m", "+100m"),
            // Spellings Go recomputes.
            ("0", "0"),
            ("-0", "0"),
            ("1000", "1k"),
            ("1.0", "1"),
            ("1.5", "1500m"),
            ("0.5", "500m"),
            ("1.5k", "1500"),
            ("1e2", "100"),
            ("8Ki", "8Ki"),
            ("+8Ki", "8Ki"),
            ("1024Ki", "1Mi"),
            ("+1.5Gi", "1536Mi"),
            ("+100Ti", "100Ti"),
            ("+1234567890123456789", "1234567890123456789"),
            ("1e-12", "1e-9"),
        ];
        for &(input, expected) in cases {
            assert_eq!(
                parsed(input).go_string(),
                expected,
                "Go string of {input:?}"
            );
        }
        assert_eq!(
            Quantity::from_i64(1000, Format::DecimalSI).go_string(),
            "1k"
        );
    }

    #[test]
    fn comparisons_are_numeric_and_exact() {
        let ordered = [
            "-8Ei",
            "-1Ki",
            "-1",
            "-1n",
            "0",
            "1n",
            "999999999n",
            "1",
            "1001m",
            "1000.5",
            "1Ki",
            "1M",
            "1Mi",
            "1G",
            "1Gi",
            "1.5Gi",
            "2Gi",
            "1E",
            "1e21",
            "1e999999999",
        ];
        for window in ordered.windows(2) {
            let (smaller, larger) = (parsed(window[0]), parsed(window[1]));
            assert!(smaller < larger, "{} < {}", window[0], window[1]);
            assert!(larger > smaller, "{} > {}", window[1], window[0]);
        }
        let equal_pairs = [
            ("1Gi", "1024Mi"),
            ("1k", "1e3"),
            ("1k", "1000"),
            ("0.1", "100m"),
            ("0", "-0Ki"),
            ("1536Mi", "1.5Gi"),
            ("0.5Ki", "512"),
            ("-1.5", "-1500m"),
        ];
        for (left, right) in equal_pairs {
            assert_eq!(parsed(left), parsed(right), "{left} == {right}");
            assert_eq!(parsed(left).cmp(&parsed(right)), Ordering::Equal);
        }
        // The typical checks: storage shrink and limit >= request.
        assert!(parsed("10Gi") < parsed("10.5Gi"));
        assert!(parsed("500m") <= parsed("0.5"));
        assert!(parsed("12345678901234567890") > parsed("12345678901234567889"));
    }

    #[test]
    fn integer_accessors_round_away_from_zero() {
        let cases: &[(&str, Option<i64>, Option<i64>)] = &[
            ("0", Some(0), Some(0)),
            ("100m", Some(1), Some(100)),
            ("1", Some(1), Some(1000)),
            ("1.5", Some(2), Some(1500)),
            ("-1.5", Some(-2), Some(-1500)),
            ("1n", Some(1), Some(1)),
            ("1.5Gi", Some(1_610_612_736), Some(1_610_612_736_000)),
            ("512Mi", Some(536_870_912), Some(536_870_912_000)),
            ("8Ei", Some(i64::MAX), None),
            ("9223372036854775807", Some(i64::MAX), None),
            ("9223372036854775808", None, None),
            ("-9223372036854775808", Some(i64::MIN), None),
            ("-9223372036854775809", None, None),
            ("1e999999999", None, None),
            ("1e-999999999", Some(1), Some(1)),
        ];
        for &(input, value, milli_value) in cases {
            let quantity = parsed(input);
            assert_eq!(quantity.value(), value, "value of {input:?}");
            assert_eq!(
                quantity.milli_value(),
                milli_value,
                "milli value of {input:?}"
            );
        }
        assert_eq!(parsed("1G").scaled_value(6), Some(1000));
        assert_eq!(parsed("1").scaled_value(i32::MIN), None);
        assert_eq!(parsed("1").scaled_value(i32::MAX), Some(1));
    }

    #[test]
    fn debug_and_hash_follow_the_value() {
        use std::collections::HashSet;
        assert_eq!(
            format!("{:?}", parsed("1.5Gi")),
            "Quantity(\"1536Mi\", BinarySI)"
        );
        let distinct: HashSet<Quantity> = ["1Gi", "1024Mi", "1073741824", "1G", "1e9"]
            .iter()
            .map(|text| parsed(text))
            .collect();
        assert_eq!(distinct.len(), 2);
    }

    #[test]
    fn as_f64_is_correctly_rounded() {
        assert_eq!(parsed("0").as_f64(), 0.0);
        assert_eq!(parsed("100m").as_f64(), 0.1);
        assert_eq!(parsed("1.5Gi").as_f64(), 1_610_612_736.0);
        assert_eq!(parsed("-2.5k").as_f64(), -2500.0);
        assert_eq!(parsed("1e999999999").as_f64(), f64::INFINITY);
        assert_eq!(parsed("-1e999999999").as_f64(), f64::NEG_INFINITY);
    }

    #[test]
    fn constructors_match_go() {
        assert_eq!(Quantity::from_i64(0, Format::BinarySI).canonical(), "0");
        assert_eq!(Quantity::from_i64(5, Format::BinarySI).canonical(), "5");
        assert_eq!(
            Quantity::from_i64(1024 * 1024 * 1024, Format::BinarySI).canonical(),
            "1Gi"
        );
        assert_eq!(
            Quantity::from_i64(300 << 20, Format::BinarySI).canonical(),
            "300Mi"
        );
        assert_eq!(
            Quantity::from_i64(1_000_000_000, Format::DecimalSI).canonical(),
            "1G"
        );
        assert_eq!(
            Quantity::from_i64(3000, Format::DecimalExponent).canonical(),
            "3e3"
        );
        assert_eq!(
            Quantity::from_i64(i64::MIN, Format::DecimalSI).canonical(),
            "-9223372036854775808"
        );
        assert_eq!(
            Quantity::from_milli(500, Format::BinarySI).canonical(),
            "500m"
        );
        assert_eq!(
            Quantity::from_milli(1080, Format::DecimalSI).canonical(),
            "1080m"
        );
        assert_eq!(
            Quantity::from_milli(-1, Format::DecimalSI).canonical(),
            "-1m"
        );
        assert_eq!(
            Quantity::from_milli(2000, Format::DecimalSI).to_string(),
            "2"
        );
        assert_eq!(
            "250m".parse::<Quantity>().ok(),
            Some(Quantity::from_milli(250, Format::DecimalSI))
        );
    }

    /// A small deterministic generator, so the adversarial test needs no
    /// dependency and always runs the same inputs.
    struct Lcg(u64);

    impl Lcg {
        fn next_below(&mut self, bound: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) as usize) % bound.max(1)
        }
    }

    fn adversarial_inputs() -> Vec<String> {
        let mut inputs: Vec<String> = vec![
            "9".repeat(10_000),
            format!("1{}Ei", "0".repeat(5_000)),
            format!("0.{}1", "0".repeat(10_000)),
            format!("-0.{}1Ki", "0".repeat(3_000)),
            format!("{}.{}", "9".repeat(2_000), "9".repeat(2_000)),
            format!("{}n", "9".repeat(100)),
            ".".repeat(100),
            "-".repeat(100),
            "e".repeat(100),
            "1e".repeat(100),
            "1e999999999".to_owned(),
            "-1e999999999".to_owned(),
            "1e-999999999".to_owned(),
            "1e1000000000".to_owned(),
            "1e-1000000000".to_owned(),
            "1e9223372036854775807".to_owned(),
            "1e-9223372036854775808".to_owned(),
            "1e9223372036854775808".to_owned(),
            "99999999999999999999Ei".to_owned(),
            "-99999999999999999999.9999999999Ei".to_owned(),
            "\u{0}".to_owned(),
            "1\u{0}".to_owned(),
            "\u{FFFD}".to_owned(),
            "１２３".to_owned(),
            "1️⃣".to_owned(),
            "1Ki\u{301}".to_owned(),
            "١".to_owned(),
        ];
        let pieces = [
            "0",
            "1",
            "9",
            "5",
            "00",
            "123456789",
            ".",
            "+",
            "-",
            "e",
            "E",
            "i",
            "n",
            "u",
            "m",
            "k",
            "K",
            "M",
            "G",
            "T",
            "P",
            "Ki",
            "Mi",
            "Ei",
            "e9",
            "e-9",
            "e+18",
            " ",
            "µ",
            "é",
            "🦀",
            "\t",
            "_",
            "x",
        ];
        let mut generator = Lcg(0x5eed);
        for _ in 0..400 {
            let length = 1 + generator.next_below(8);
            let input: String = (0..length)
                .map(|_| pieces[generator.next_below(pieces.len())])
                .collect();
            inputs.push(input);
        }
        inputs
    }

    #[test]
    fn adversarial_inputs_never_panic() {
        let one = parsed("1");
        let mut accepted = 0;
        for input in adversarial_inputs() {
            let result = parse(&input);
            let must_fail = !input.is_ascii()
                || !input.bytes().any(|byte| byte.is_ascii_digit())
                || input.contains(' ');
            match result {
                Ok(quantity) => {
                    assert!(!must_fail, "{input:?} should have been rejected");
                    accepted += 1;
                    let canonical = quantity.canonical();
                    let reparsed = match parse(&canonical) {
                        Ok(reparsed) => reparsed,
                        Err(error) => panic!("canonical {canonical:?} of {input:?}: {error}"),
                    };
                    assert_eq!(reparsed.canonical(), canonical, "fixed point for {input:?}");
                    assert_eq!(reparsed, quantity, "value kept for {input:?}");
                    let _ = quantity.go_string();
                    let _ = quantity.value();
                    let _ = quantity.milli_value();
                    let _ = quantity.scaled_value(i32::MIN);
                    let _ = quantity.scaled_value(i32::MAX);
                    let _ = quantity.as_f64();
                    let _ = quantity.cmp(&one);
                }
                Err(error) => {
                    assert!(!error.to_string().is_empty());
                }
            }
        }
        assert!(
            accepted > 20,
            "the generator should also produce valid quantities"
        );
    }
}
