//! Go `time.Duration` text, as used by Kubernetes `metav1.Duration` fields.
//!
//! `metav1.Duration` is read with Go's `time.ParseDuration` and written with
//! `time.Duration.String()`. The API server and the Go operator therefore
//! store `1h0m0s` where a user wrote `60m`. To keep GitOps diffs empty, we
//! must write exactly what Go writes, so this module ports both functions
//! bit for bit, including their error messages and their corner cases:
//!
//! * [`parse`] is Go's `ParseDuration` (Go 1.15 and later): an optional sign,
//!   then one or more `<number><unit>` terms, where a number is `digits`,
//!   `digits.`, `.digits` or `digits.digits`, and a unit is `ns`, `us`, `µs`
//!   (U+00B5), `μs` (U+03BC), `ms`, `s`, `m` or `h`. `"0"` alone (optionally
//!   signed) needs no unit. Terms add up (`1h1h` is `2h0m0s`, `10.5s4m` is
//!   `4m10.5s`). Fractions are converted with the same `float64` arithmetic as
//!   Go and truncated, so `0.3333333333333333333h` is exactly `20m0s`.
//!   The result must fit in an `i64` of nanoseconds (`-9223372036854775808ns`
//!   fits, `9223372036854775808ns` does not). Like Go, two terms of exactly
//!   2^63 ns each wrap the running total around to zero instead of failing
//!   (`9223372036854775808ns9223372036854775808ns` parses as `0s`).
//! * [`format()`] is Go's `Duration.String()`: zero is `0s`; below one second the
//!   largest of `ns`, `µs` (U+00B5), `ms` that gives a non-zero integer part,
//!   with up to 3 or 6 fractional digits (`1.5µs`, `500ms`); from one second
//!   up, `[<h>h][<m>m]<s>[.<frac>]s` where the hours and minutes appear once
//!   the value reaches them and every smaller field is then printed even when
//!   zero (`1m0s`, `1h0m0s`, `-1m30s`, `2562047h47m16.854775807s`).
//!   Fractional digits never end in `0`.
//! * [`canonical`] is `format(parse(text))`, which is what Go stores.

use std::fmt;

const NANOSECOND: u64 = 1;
const MICROSECOND: u64 = 1_000 * NANOSECOND;
const MILLISECOND: u64 = 1_000 * MICROSECOND;
const SECOND: u64 = 1_000 * MILLISECOND;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;

/// 2^63, the magnitude of `i64::MIN`; Go's parser accumulates in `uint64`
/// and compares against it.
const TWO_TO_THE_63: u64 = 1 << 63;

/// Why a string is not a Go duration; [`fmt::Display`] gives Go's exact
/// error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    /// `time: invalid duration "<input>"`: malformed or out of range.
    Invalid { input: String },
    /// `time: missing unit in duration "<input>"`.
    MissingUnit { input: String },
    /// `time: unknown unit "<unit>" in duration "<input>"`.
    UnknownUnit { unit: String, input: String },
}

impl DurationError {
    /// The text that failed to parse.
    pub fn input(&self) -> &str {
        match self {
            DurationError::Invalid { input }
            | DurationError::MissingUnit { input }
            | DurationError::UnknownUnit { input, .. } => input,
        }
    }
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Invalid { input } => {
                write!(f, "time: invalid duration {}", go_quote(input))
            }
            DurationError::MissingUnit { input } => {
                write!(f, "time: missing unit in duration {}", go_quote(input))
            }
            DurationError::UnknownUnit { unit, input } => write!(
                f,
                "time: unknown unit {} in duration {}",
                go_quote(unit),
                go_quote(input)
            ),
        }
    }
}

impl std::error::Error for DurationError {}

/// Parses a duration exactly like Go's `time.ParseDuration`, returning
/// nanoseconds.
///
/// # Errors
///
/// Whenever Go's `ParseDuration` fails, with the same message: malformed
/// text, a term without a unit, an unknown unit, or a total outside `i64`.
pub fn parse(input: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid {
        input: input.to_owned(),
    };
    let mut rest = input.as_bytes();
    let mut negative = false;
    if let Some(&sign @ (b'-' | b'+')) = rest.first() {
        negative = sign == b'-';
        rest = &rest[1..];
    }
    if rest == b"0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while let Some(&first) = rest.first() {
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        let (integer, after_integer) = leading_int(rest).ok_or_else(invalid)?;
        let has_integer_digits = after_integer.len() != rest.len();
        rest = after_integer;

        let mut fraction = 0u64;
        let mut fraction_scale = 1f64;
        let mut has_fraction_digits = false;
        if let Some((b'.', after_point)) = rest.split_first() {
            let (digits, scale, after_fraction) = leading_fraction(after_point);
            has_fraction_digits = after_fraction.len() != after_point.len();
            fraction = digits;
            fraction_scale = scale;
            rest = after_fraction;
        }
        if !has_integer_digits && !has_fraction_digits {
            return Err(invalid());
        }

        let unit_length = rest
            .iter()
            .position(|&byte| byte == b'.' || byte.is_ascii_digit())
            .unwrap_or(rest.len());
        if unit_length == 0 {
            return Err(DurationError::MissingUnit {
                input: input.to_owned(),
            });
        }
        let (unit, after_unit) = rest.split_at(unit_length);
        rest = after_unit;
        let unit_nanos = unit_in_nanoseconds(unit).ok_or_else(|| DurationError::UnknownUnit {
            // The unit ends before an ASCII byte or at the end of the input,
            // so it is always whole UTF-8.
            unit: String::from_utf8_lossy(unit).into_owned(),
            input: input.to_owned(),
        })?;
        if integer > TWO_TO_THE_63 / unit_nanos {
            return Err(invalid());
        }
        let mut term = integer * unit_nanos;
        if fraction > 0 {
            // Go: v += uint64(float64(f) * (float64(unit) / scale)); the
            // product is below one unit (at most 3.6e12), so the conversion
            // truncates exactly as Go's does.
            let fraction_nanos = (fraction as f64) * ((unit_nanos as f64) / fraction_scale);
            term = term.wrapping_add(fraction_nanos as u64);
            if term > TWO_TO_THE_63 {
                return Err(invalid());
            }
        }
        // Go adds in uint64 and only then checks, so 2^63 + 2^63 wraps to 0.
        total = total.wrapping_add(term);
        if total > TWO_TO_THE_63 {
            return Err(invalid());
        }
    }
    if negative {
        // -Duration(d): 2^63 becomes i64::MIN, which negates to itself.
        return Ok((total as i64).wrapping_neg());
    }
    i64::try_from(total).map_err(|_| invalid())
}

/// Formats nanoseconds exactly like Go's `time.Duration.String()`.
pub fn format(nanos: i64) -> String {
    let negative = nanos < 0;
    let magnitude = nanos.unsigned_abs();
    let mut out = String::with_capacity(32);
    if negative {
        out.push('-');
    }
    if magnitude < SECOND {
        let (fraction_digits, unit) = match magnitude {
            0 => return "0s".to_owned(),
            _ if magnitude < MICROSECOND => (0, "ns"),
            _ if magnitude < MILLISECOND => (3, "µs"),
            _ => (6, "ms"),
        };
        let (whole, fraction) = split_fraction(magnitude, fraction_digits);
        out.push_str(&whole.to_string());
        out.push_str(&fraction);
        out.push_str(unit);
        return out;
    }
    let (whole_seconds, fraction) = split_fraction(magnitude, 9);
    let whole_minutes = whole_seconds / 60;
    if whole_minutes > 0 {
        let hours = whole_minutes / 60;
        if hours > 0 {
            out.push_str(&hours.to_string());
            out.push('h');
        }
        out.push_str(&(whole_minutes % 60).to_string());
        out.push('m');
    }
    out.push_str(&(whole_seconds % 60).to_string());
    out.push_str(&fraction);
    out.push('s');
    out
}

/// The form Go stores for a duration: `format(parse(input))`.
///
/// # Errors
///
/// Exactly when [`parse`] fails.
pub fn canonical(input: &str) -> Result<String, DurationError> {
    parse(input).map(format)
}

/// Splits `value` into `value / 10^digits` and the fractional part written as
/// `.ddd` without trailing zeros (empty when zero), like Go's `fmtFrac`.
fn split_fraction(value: u64, digits: u32) -> (u64, String) {
    let divisor = 10u64.pow(digits);
    let mut fraction = value % divisor;
    let mut written = Vec::with_capacity(digits as usize + 1);
    let mut significant = false;
    for _ in 0..digits {
        let digit = fraction % 10;
        fraction /= 10;
        significant = significant || digit != 0;
        if significant {
            written.push(char::from(b'0' + digit as u8));
        }
    }
    if significant {
        written.push('.');
    }
    written.reverse();
    (value / divisor, written.into_iter().collect())
}

/// The leading ASCII digits of `bytes`, and what follows them.
fn split_leading_digits(bytes: &[u8]) -> (&[u8], &[u8]) {
    let digit_count = bytes
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    bytes.split_at(digit_count)
}

/// Go's `leadingInt`: the leading `[0-9]*` as a `u64`, `None` past 2^63.
fn leading_int(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (digits, rest) = split_leading_digits(bytes);
    let mut value: u64 = 0;
    for &digit in digits {
        if value > TWO_TO_THE_63 / 10 {
            return None;
        }
        value = value * 10 + u64::from(digit - b'0');
        if value > TWO_TO_THE_63 {
            return None;
        }
    }
    Some((value, rest))
}

/// Go's `leadingFraction`: the leading `[0-9]*` as a `u64` and the power of
/// ten it must be divided by; digits past 63 bits of precision are consumed
/// but ignored.
fn leading_fraction(bytes: &[u8]) -> (u64, f64, &[u8]) {
    let (digits, rest) = split_leading_digits(bytes);
    let mut value: u64 = 0;
    let mut scale = 1f64;
    for &digit in digits {
        if value > (TWO_TO_THE_63 - 1) / 10 {
            break;
        }
        let next = value * 10 + u64::from(digit - b'0');
        if next > TWO_TO_THE_63 {
            break;
        }
        value = next;
        scale *= 10.0;
    }
    (value, scale, rest)
}

fn unit_in_nanoseconds(unit: &[u8]) -> Option<u64> {
    Some(match unit {
        b"ns" => NANOSECOND,
        b"us" => MICROSECOND,
        // "µs" (U+00B5 MICRO SIGN) and "μs" (U+03BC GREEK SMALL LETTER MU).
        b"\xC2\xB5s" | b"\xCE\xBCs" => MICROSECOND,
        b"ms" => MILLISECOND,
        b"s" => SECOND,
        b"m" => MINUTE,
        b"h" => HOUR,
        _ => return None,
    })
}

/// Go's `time.quote`: double quotes, `"` and `\` backslash-escaped, and every
/// byte of a non-ASCII or control character written as `\xNN`.
fn go_quote(text: &str) -> String {
    const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        if !character.is_ascii() || character < ' ' {
            let mut buffer = [0u8; 4];
            for byte in character.encode_utf8(&mut buffer).bytes() {
                out.push_str("\\x");
                out.push(char::from(LOWER_HEX[usize::from(byte >> 4)]));
                out.push(char::from(LOWER_HEX[usize::from(byte & 0xF)]));
            }
        } else {
            if character == '"' || character == '\\' {
                out.push('\\');
            }
            out.push(character);
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: i64 = 1;
    const US: i64 = 1_000;
    const MS: i64 = 1_000_000;
    const S: i64 = 1_000_000_000;
    const M: i64 = 60 * S;
    const H: i64 = 60 * M;

    /// Go's `parseDurationTests` (src/time/time_test.go) plus a few more.
    const PARSE_CASES: &[(&str, i64)] = &[
        // simple
        ("0", 0),
        ("5s", 5 * S),
        ("30s", 30 * S),
        ("1478s", 1478 * S),
        // sign
        ("-5s", -5 * S),
        ("+5s", 5 * S),
        ("-0", 0),
        ("+0", 0),
        // decimal
        ("5.0s", 5 * S),
        ("5.6s", 5 * S + 600 * MS),
        ("5.s", 5 * S),
        (".5s", 500 * MS),
        ("1.0s", S),
        ("1.00s", S),
        ("1.004s", S + 4 * MS),
        ("1.0040s", S + 4 * MS),
        ("100.00100s", 100 * S + MS),
        // different units
        ("10ns", 10 * NS),
        ("11us", 11 * US),
        ("12µs", 12 * US),
        ("12μs", 12 * US),
        ("13ms", 13 * MS),
        ("14s", 14 * S),
        ("15m", 15 * M),
        ("16h", 16 * H),
        // composite durations
        ("3h30m", 3 * H + 30 * M),
        ("10.5s4m", 4 * M + 10 * S + 500 * MS),
        ("-2m3.4s", -(2 * M + 3 * S + 400 * MS)),
        (
            "1h2m3s4ms5us6ns",
            H + 2 * M + 3 * S + 4 * MS + 5 * US + 6 * NS,
        ),
        ("39h9m14.425s", 39 * H + 9 * M + 14 * S + 425 * MS),
        ("1h1h", 2 * H),
        ("0s", 0),
        ("0h0m0s", 0),
        ("00s", 0),
        ("-0s", 0),
        ("1.5h", H + 30 * M),
        // large value
        ("52763797000ns", 52_763_797_000 * NS),
        // more than 9 digits after decimal point, see golang.org/issue/6617
        ("0.3333333333333333333h", 20 * M),
        // 1<<53+1 cannot be stored precisely in a float64
        ("9007199254740993ns", (1 << 53) + 1),
        // largest duration that can be represented by int64 in nanoseconds
        ("9223372036854775807ns", i64::MAX),
        ("9223372036854775.807us", i64::MAX),
        ("9223372036s854ms775us807ns", i64::MAX),
        ("-9223372036854775808ns", i64::MIN),
        ("-9223372036854775.808us", i64::MIN),
        ("-9223372036s854ms775us808ns", i64::MIN),
        // largest negative round trip value, see golang.org/issue/48629
        ("-2562047h47m16.854775808s", i64::MIN),
        ("2562047h47m16.854775807s", i64::MAX),
        // huge string; golang.org/issue/15011
        ("0.100000000000000000000h", 6 * M),
        // the first overflow check in leadingFraction
        (
            "0.830103483285477580700h",
            49 * M + 48 * S + 372_539_827 * NS,
        ),
        // Go's uint64 total wraps around when two terms are exactly 2^63.
        ("9223372036854775808ns9223372036854775808ns", 0),
        ("-9223372036854775808ns9223372036854775808ns", 0),
    ];

    /// Go's `durationTests` plus the other shapes `String()` produces.
    const FORMAT_CASES: &[(i64, &str)] = &[
        (0, "0s"),
        (NS, "1ns"),
        (999 * NS, "999ns"),
        (US, "1µs"),
        (1100 * NS, "1.1µs"),
        (1500 * NS, "1.5µs"),
        (999_999 * NS, "999.999µs"),
        (MS, "1ms"),
        (2200 * US, "2.2ms"),
        (100 * MS, "100ms"),
        (500 * MS, "500ms"),
        (999_999_999 * NS, "999.999999ms"),
        (S, "1s"),
        (S + NS, "1.000000001s"),
        (1500 * MS, "1.5s"),
        (3300 * MS, "3.3s"),
        (10 * S, "10s"),
        (59 * S, "59s"),
        (M, "1m0s"),
        (90 * S, "1m30s"),
        (4 * M + 5 * S, "4m5s"),
        (4 * M + 5001 * MS, "4m5.001s"),
        (8 * M + NS, "8m0.000000001s"),
        (H, "1h0m0s"),
        (H + S, "1h0m1s"),
        (5 * H + 6 * M + 7001 * MS, "5h6m7.001s"),
        (24 * H, "24h0m0s"),
        (720 * H, "720h0m0s"),
        (-NS, "-1ns"),
        (-US, "-1µs"),
        (-1500 * MS, "-1.5s"),
        (-90 * S, "-1m30s"),
        (-H, "-1h0m0s"),
        (i64::MAX, "2562047h47m16.854775807s"),
        (i64::MIN, "-2562047h47m16.854775808s"),
        (i64::MIN + 1, "-2562047h47m16.854775807s"),
    ];

    const CANONICAL_CASES: &[(&str, &str)] = &[
        ("0", "0s"),
        ("-0", "0s"),
        ("60s", "1m0s"),
        ("90s", "1m30s"),
        ("60m", "1h0m0s"),
        ("1h", "1h0m0s"),
        ("90m", "1h30m0s"),
        ("1.5h", "1h30m0s"),
        ("300ms", "300ms"),
        ("1000ms", "1s"),
        ("0.5s", "500ms"),
        ("12us", "12µs"),
        ("12μs", "12µs"),
        ("+5s", "5s"),
        ("10.5s4m", "4m10.5s"),
        ("-2m3.4s", "-2m3.4s"),
        ("1h2m3s4ms5us6ns", "1h2m3.004005006s"),
        ("720h", "720h0m0s"),
        ("-9223372036854775808ns", "-2562047h47m16.854775808s"),
    ];

    #[test]
    fn parses_like_go() {
        assert!(PARSE_CASES.len() >= 30);
        for &(input, expected) in PARSE_CASES {
            assert_eq!(parse(input), Ok(expected), "parse({input:?})");
        }
    }

    #[test]
    fn formats_like_go() {
        assert!(FORMAT_CASES.len() >= 30);
        for &(nanos, expected) in FORMAT_CASES {
            assert_eq!(format(nanos), expected, "format({nanos})");
        }
    }

    #[test]
    fn formatted_durations_parse_back() {
        for &(nanos, text) in FORMAT_CASES {
            assert_eq!(parse(text), Ok(nanos), "parse({text:?})");
        }
    }

    #[test]
    fn canonical_is_what_go_stores() {
        for &(input, expected) in CANONICAL_CASES {
            assert_eq!(
                canonical(input).as_deref(),
                Ok(expected),
                "canonical({input:?})"
            );
            assert_eq!(
                canonical(expected).as_deref(),
                Ok(expected),
                "fixed point {expected:?}"
            );
        }
    }

    /// Go's `parseDurationErrorTests` (the ones expressible as UTF-8) and
    /// more; the messages are Go's, byte for byte.
    #[test]
    fn errors_carry_gos_messages() {
        let cases: &[(&str, &str)] = &[
            ("", r#"time: invalid duration """#),
            ("3", r#"time: missing unit in duration "3""#),
            ("-", r#"time: invalid duration "-""#),
            ("+", r#"time: invalid duration "+""#),
            ("s", r#"time: invalid duration "s""#),
            (".", r#"time: invalid duration ".""#),
            ("-.", r#"time: invalid duration "-.""#),
            (".s", r#"time: invalid duration ".s""#),
            ("+.s", r#"time: invalid duration "+.s""#),
            ("--1s", r#"time: invalid duration "--1s""#),
            (" 1s", r#"time: invalid duration " 1s""#),
            ("00", r#"time: missing unit in duration "00""#),
            ("1s2", r#"time: missing unit in duration "1s2""#),
            ("1.5.5s", r#"time: missing unit in duration "1.5.5s""#),
            ("1d", r#"time: unknown unit "d" in duration "1d""#),
            ("1 s", r#"time: unknown unit " s" in duration "1 s""#),
            ("1S", r#"time: unknown unit "S" in duration "1S""#),
            ("1sec", r#"time: unknown unit "sec" in duration "1sec""#),
            ("1h\"", r#"time: unknown unit "h\"" in duration "1h\"""#),
            ("1h\\", r#"time: unknown unit "h\\" in duration "1h\\""#),
            ("1\ts", r#"time: unknown unit "\x09s" in duration "1\x09s""#),
            (
                "1µ",
                r#"time: unknown unit "\xc2\xb5" in duration "1\xc2\xb5""#,
            ),
            ("\u{FFFD}", r#"time: invalid duration "\xef\xbf\xbd""#),
            (
                "\u{FFFD} hello \u{FFFD} world",
                r#"time: invalid duration "\xef\xbf\xbd hello \xef\xbf\xbd world""#,
            ),
            // overflow
            (
                "9223372036854775810ns",
                r#"time: invalid duration "9223372036854775810ns""#,
            ),
            (
                "9223372036854775808ns",
                r#"time: invalid duration "9223372036854775808ns""#,
            ),
            (
                "-9223372036854775809ns",
                r#"time: invalid duration "-9223372036854775809ns""#,
            ),
            (
                "9223372036854776us",
                r#"time: invalid duration "9223372036854776us""#,
            ),
            ("3000000h", r#"time: invalid duration "3000000h""#),
            (
                "9223372036854775.808us",
                r#"time: invalid duration "9223372036854775.808us""#,
            ),
            (
                "9223372036854ms775us808ns",
                r#"time: invalid duration "9223372036854ms775us808ns""#,
            ),
            (
                "99999999999999999999s",
                r#"time: invalid duration "99999999999999999999s""#,
            ),
        ];
        for &(input, message) in cases {
            match parse(input) {
                Ok(nanos) => panic!("{input:?} parsed as {nanos}"),
                Err(error) => {
                    assert_eq!(error.to_string(), message, "message for {input:?}");
                    assert_eq!(error.input(), input);
                }
            }
        }
    }

    #[test]
    fn adversarial_inputs_never_panic() {
        let mut inputs: Vec<String> = vec![
            "9".repeat(10_000),
            format!("{}s", "9".repeat(10_000)),
            format!("0.{}1s", "0".repeat(10_000)),
            format!("1.{}h", "9".repeat(10_000)),
            "1s".repeat(5_000),
            "2562047h".repeat(2),
            ".".repeat(100),
            "-".repeat(100),
            "0".repeat(100),
            "\u{0}".to_owned(),
            "1\u{0}s".to_owned(),
            "１s".to_owned(),
            "1🦀".to_owned(),
            "1e9s".to_owned(),
            "1h-1m".to_owned(),
            "∞".to_owned(),
        ];
        let pieces = [
            "0",
            "1",
            "9",
            "99999999999",
            ".",
            "+",
            "-",
            "s",
            "m",
            "h",
            "ms",
            "us",
            "µs",
            "μs",
            "ns",
            " ",
            "é",
            "🦀",
            "\t",
            "\"",
            "\\",
            "\u{FFFD}",
            "d",
        ];
        let mut state: u64 = 0x5eed;
        let mut next_below = |bound: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as usize) % bound
        };
        let numbers = [
            "0",
            "1",
            "12",
            "1.5",
            ".25",
            "7.",
            "999999999",
            "0.000000001",
        ];
        let units = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"];
        for _ in 0..400 {
            let length = 1 + next_below(8);
            let input: String = (0..length)
                .map(|_| pieces[next_below(pieces.len())])
                .collect();
            inputs.push(input);
            // Well-formed terms too, so the success path is exercised.
            let mut terms = String::from(["", "-", "+"][next_below(3)]);
            for _ in 0..1 + next_below(4) {
                terms.push_str(numbers[next_below(numbers.len())]);
                terms.push_str(units[next_below(units.len())]);
            }
            inputs.push(terms);
        }
        let mut accepted = 0;
        for input in &inputs {
            match parse(input) {
                Ok(nanos) => {
                    accepted += 1;
                    let text = format(nanos);
                    assert_eq!(parse(&text), Ok(nanos), "{input:?} → {text:?} parses back");
                }
                Err(error) => {
                    let message = error.to_string();
                    assert!(message.starts_with("time: "), "{message}");
                    assert!(message.is_ascii(), "Go quotes non-ASCII as \\x: {message}");
                }
            }
        }
        assert!(
            accepted > 20,
            "the generator should also produce valid durations"
        );
        for nanos in [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX] {
            assert_eq!(parse(&format(nanos)), Ok(nanos));
        }
    }
}
