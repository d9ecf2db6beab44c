//! The invalid corpus: `tests/invalid/<CODE>-<slug>.yaml`, one mistake a user
//! could make per file, each with the diagnostics it must produce.
//!
//! Every file starts with a header of comment lines:
//!
//! ```text
//! # <one sentence: what is wrong and what a user would see>
//! # expect: MG111 14:7      code, 1-based line:column of the reported position (repeatable)
//! # cel-rule: 11            the upstream CRD CEL rule (MG111) the case covers (repeatable)
//! # namespace: team-a       passed as --namespace
//! # previous: previous/X.yaml   the previous version, for update checks
//! ```
//!
//! Each case is compiled through the library and rendered (or, with a previous
//! version, validated) through the binary; both must report exactly the
//! expected errors at the expected lines and columns.
//!
//! A diagnostic points at the deepest node that holds the offending value,
//! and its field path is that node's path:
//!
//! - a map value written on its key's line (`replicas: 4`, `cells: []`): the
//!   value (`4`, `[`), not the key;
//! - a block mapping or list that is itself at fault (an object lacking a
//!   required field, fields that must not be combined): its key, as its
//!   value only starts on the next line;
//! - a list item: the item (after `- `);
//! - a map key that is at fault (an unknown field, a pool name, a label or
//!   annotation key): the key;
//! - a value the user did not write (a default, a removed entry): the
//!   nearest written ancestor.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use multigres::api::rules;
use multigres::compile::diagnostics::{CODES, Diagnostic, Severity, code_info};
use multigres::compile::{Input, Options, compile_with_previous, diagnostics_of};

/// Where the cases live, relative to the crate root.
const CASES: &str = "tests/invalid";

/// The §7 row that has no code of its own: row 26 (a shard with both `spec`
/// and `overrides`) is the same rule text as row 9 and reports MG109.
const SHARED_ROWS: &[(u32, &str)] = &[(26, "MG109")];

/// Every upstream CRD CEL rule, by number (`multigres::api::rules::ALL`).
const CEL_ROWS: std::ops::RangeInclusive<u32> = 1..=32;

/// Update checks of the webhook that need a previous version.
const UPDATE_CODES: &[&str] = &["MG219", "MG220"];

/// Codes no input file of the corpus can produce. MG020 and MG021 are about
/// an input as a whole (the images file, the Argo CD plugin's environment):
/// tests/hostile.rs covers them through the binary. The MG3xx codes judge
/// a change between two renders (`render --check`): src/gitops/check.rs
/// and tests/check.rs cover them.
fn outside_the_corpus(code: &str) -> bool {
    ["MG020", "MG021"].contains(&code)
        || multigres::gitops::check::UPGRADE_CODES.contains(&code) && !UPDATE_CODES.contains(&code)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One expected diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Expect {
    pub(crate) code: String,
    line: u32,
    col: u32,
}

/// One case file with its parsed header.
#[derive(Debug)]
pub(crate) struct Case {
    /// Path relative to the crate root, as given to the compiler and binary.
    pub(crate) path: String,
    file_name: String,
    description: String,
    pub(crate) expects: Vec<Expect>,
    cel_rules: Vec<u32>,
    namespace: Option<String>,
    /// Path of the previous version relative to `tests/invalid/`.
    pub(crate) previous: Option<String>,
}

/// The code of §7 row `row`.
fn code_of_row(row: u32) -> String {
    SHARED_ROWS
        .iter()
        .find(|(r, _)| *r == row)
        .map_or_else(|| format!("MG1{row:02}"), |(_, code)| (*code).to_owned())
}

/// The severity a code is reported with: CODES says, CEL rules are errors.
fn severity_of(code: &str) -> Option<Severity> {
    if let Some(info) = code_info(code) {
        return Some(info.severity);
    }
    rules::ALL
        .iter()
        .any(|r| r.code == code)
        .then_some(Severity::Error)
}

/// Reads the header of a case (the leading `#` lines). The first line is the
/// description; every other header line must be `# key: value` with a known
/// key.
fn parse_header(path: &str, bytes: &[u8]) -> Result<Case, String> {
    // Lossy: the non-UTF-8 case has its bad byte below the header.
    let text = String::from_utf8_lossy(bytes);
    let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
    let Some((first, rest)) = header.split_first() else {
        return Err(format!(
            "{path}: no header (the file must start with `# <description>`)"
        ));
    };
    let description = first.trim_start_matches('#').trim().to_owned();
    if description.is_empty()
        || description
            .split_once(':')
            .is_some_and(|(k, _)| is_known_key(k.trim()))
    {
        return Err(format!(
            "{path}:1: the first header line must be a one-sentence description"
        ));
    }
    let file_name = Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    let mut case = Case {
        path: path.to_owned(),
        file_name,
        description,
        expects: Vec::new(),
        cel_rules: Vec::new(),
        namespace: None,
        previous: None,
    };
    for (i, line) in rest.iter().enumerate() {
        let at = format!("{path}:{}", i + 2);
        let body = line
            .strip_prefix("# ")
            .ok_or_else(|| format!("{at}: header lines start with `# `"))?;
        let (key, value) = body
            .split_once(':')
            .ok_or_else(|| format!("{at}: expected `# key: value`, got {line:?}"))?;
        let value = value.trim();
        match key {
            "expect" => {
                let mut parts = value.split_whitespace();
                let (Some(code), Some(place), None) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(format!(
                        "{at}: expected `# expect: CODE LINE:COL`, got {line:?}"
                    ));
                };
                if severity_of(code).is_none() {
                    return Err(format!(
                        "{at}: {code} is neither in CODES nor in rules::ALL"
                    ));
                }
                let (line_no, col) = place.split_once(':').ok_or_else(|| {
                    format!("{at}: expected `# expect: CODE LINE:COL`, got {line:?}")
                })?;
                let number = |text: &str, what: &str| {
                    text.parse::<u32>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("{at}: {text:?} is not a 1-based {what} number"))
                };
                case.expects.push(Expect {
                    code: code.to_owned(),
                    line: number(line_no, "line")?,
                    col: number(col, "column")?,
                });
            }
            "cel-rule" => {
                let row: u32 = value
                    .parse()
                    .ok()
                    .filter(|r| CEL_ROWS.contains(r))
                    .ok_or_else(|| format!("{at}: {value:?} is not a §7 row (1..=32)"))?;
                case.cel_rules.push(row);
            }
            "namespace" => {
                if value.is_empty() || case.namespace.replace(value.to_owned()).is_some() {
                    return Err(format!("{at}: one non-empty `# namespace:` at most"));
                }
            }
            "previous" => {
                if value.is_empty() || case.previous.replace(value.to_owned()).is_some() {
                    return Err(format!("{at}: one non-empty `# previous:` at most"));
                }
            }
            other => {
                return Err(format!(
                    "{at}: unknown header key {other:?} (known: expect, cel-rule, namespace, previous)"
                ));
            }
        }
    }
    Ok(case)
}

fn is_known_key(key: &str) -> bool {
    matches!(key, "expect" | "cel-rule" | "namespace" | "previous")
}

/// Checks what the header says against the file name, the rule table and
/// the file system.
fn check_case(case: &Case) -> Result<(), String> {
    let path = &case.path;
    if case.expects.is_empty() {
        return Err(format!("{path}: no `# expect:` line"));
    }
    let (prefix, slug) = case
        .file_name
        .strip_suffix(".yaml")
        .and_then(|stem| stem.split_once('-'))
        .ok_or_else(|| format!("{path}: the name must be <CODE>-<short-slug>.yaml"))?;
    if slug.is_empty()
        || !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "{path}: the slug {slug:?} must be lowercase words joined by '-'"
        ));
    }
    if !case.expects.iter().any(|e| e.code == prefix) {
        return Err(format!(
            "{path}: the file is named after {prefix} but does not expect it"
        ));
    }
    for row in &case.cel_rules {
        let code = code_of_row(*row);
        if !case.expects.iter().any(|e| e.code == code) {
            return Err(format!(
                "{path}: `# cel-rule: {row}` is reported as {code}, which the case does not expect"
            ));
        }
    }
    for expect in &case.expects {
        let rule = rules::ALL.iter().find(|r| r.code == expect.code);
        if let Some(rule) = rule
            && !case
                .cel_rules
                .iter()
                .any(|row| code_of_row(*row) == rule.code)
        {
            return Err(format!(
                "{path}: expects the CEL rule {} but names no `# cel-rule:` row for it",
                rule.code
            ));
        }
        let needs_previous =
            rule.is_some_and(|r| r.is_transition()) || UPDATE_CODES.contains(&expect.code.as_str());
        if needs_previous && case.previous.is_none() {
            return Err(format!(
                "{path}: {} is only judged on update and needs `# previous:`",
                expect.code
            ));
        }
    }
    if let Some(previous) = &case.previous {
        let file = root().join(CASES).join(previous);
        if !file.is_file() {
            return Err(format!(
                "{path}: previous version {} does not exist",
                file.display()
            ));
        }
    }
    Ok(())
}

/// Every case of the corpus, sorted by file name.
/// Every case of the corpus, its header parsed (also read by the tests on
/// the real API server, tests/apiserver.rs).
pub(crate) fn cases() -> Vec<Case> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join(CASES))
        .expect("tests/invalid/ exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for file in paths {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if !name.ends_with(".yaml") {
            errors.push(format!("{CASES}/{name}: case files end in .yaml"));
            continue;
        }
        let bytes =
            std::fs::read(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        match parse_header(&format!("{CASES}/{name}"), &bytes) {
            Ok(case) => cases.push(case),
            Err(e) => errors.push(e),
        }
    }
    assert!(
        errors.is_empty(),
        "malformed case files:\n{}",
        errors.join("\n")
    );
    assert!(!cases.is_empty(), "no cases in {CASES}");
    cases
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn list(diagnostics: &[Diagnostic]) -> String {
    if diagnostics.is_empty() {
        return "  (no diagnostics)\n".to_owned();
    }
    diagnostics
        .iter()
        .map(|d| format!("  {}\n", d.to_string().replace('\n', "\n    ")))
        .collect()
}

/// One `path:line:col: severity[code]: message` line of the binary's stderr.
#[derive(Debug, PartialEq, Eq)]
struct Printed<'a> {
    file: &'a str,
    line: u32,
    col: u32,
    severity: &'a str,
    code: &'a str,
}

fn parse_printed(line: &str) -> Option<Printed<'_>> {
    let (location, rest) = line.split_once(": ")?;
    let mut parts = location.rsplitn(3, ':');
    let col = parts.next()?.parse().ok()?;
    let line_no = parts.next()?.parse().ok()?;
    let file = parts.next()?;
    let (severity, rest) = rest.split_once('[')?;
    let (code, _) = rest.split_once("]:")?;
    Some(Printed {
        file,
        line: line_no,
        col,
        severity,
        code,
    })
}

/// Runs one case through the library and the binary; returns what went wrong.
fn run_case(case: &Case) -> Vec<String> {
    let mut problems = Vec::new();
    let bytes = read(&root().join(&case.path));
    let inputs = [Input::new(case.path.clone(), bytes)];
    let previous_path = case.previous.as_ref().map(|p| format!("{CASES}/{p}"));
    let previous: Vec<Input> = previous_path
        .iter()
        .map(|p| Input::new(p.clone(), read(&root().join(p))))
        .collect();
    let options = Options {
        namespace: case.namespace.clone(),
        ..Default::default()
    };
    let output = compile_with_previous(&inputs, &previous, &options);
    let has_errors = output.is_err();
    let diagnostics = &diagnostics_of(&output).0;

    // The library: every expected diagnostic, and no unexpected error.
    let mut expects_error = false;
    for expect in &case.expects {
        let severity = severity_of(&expect.code).expect("checked by the header parser");
        expects_error |= severity == Severity::Error;
        let found = diagnostics.iter().any(|d| {
            d.code == expect.code
                && d.pos.line == expect.line
                && d.pos.col == expect.col
                && d.severity == severity
                && d.file == case.path
        });
        if !found {
            let elsewhere: Vec<String> = diagnostics
                .iter()
                .filter(|d| d.code == expect.code)
                .map(|d| {
                    format!(
                        "{}:{}:{} {}",
                        d.file,
                        d.pos.line,
                        d.pos.col,
                        d.severity.as_str()
                    )
                })
                .collect();
            let seen = if elsewhere.is_empty() {
                "not reported at all".to_owned()
            } else {
                format!("reported at {}", elsewhere.join(", "))
            };
            problems.push(format!(
                "expected {} {} at {}:{}: {seen}",
                severity.as_str(),
                expect.code,
                expect.line,
                expect.col
            ));
        }
    }
    for d in diagnostics.iter().filter(|d| d.is_error()) {
        let expected = case
            .expects
            .iter()
            .any(|e| e.code == d.code && e.line == d.pos.line && e.col == d.pos.col);
        if !expected {
            problems.push(format!(
                "unexpected error {} at {}:{}:{}",
                d.code, d.file, d.pos.line, d.pos.col
            ));
        }
    }
    if has_errors != expects_error {
        problems.push(format!(
            "the library reports {} error(s), the header expects {}",
            diagnostics.iter().filter(|d| d.is_error()).count(),
            if expects_error { "some" } else { "none" }
        ));
    }

    // The binary: render (validate --previous for updates) from the crate root.
    let mut command = Command::new(env!("CARGO_BIN_EXE_multigres"));
    command.current_dir(root());
    match &previous_path {
        Some(previous) => command.args(["validate", &case.path, "--previous", previous]),
        None => command.args(["render", &case.path]),
    };
    if let Some(namespace) = &case.namespace {
        command.args(["--namespace", namespace]);
    }
    let run = command.output().expect("the multigres binary runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let want_exit = if expects_error { 2 } else { 0 };
    if run.status.code() != Some(want_exit) {
        problems.push(format!(
            "the binary exited with {:?}, expected {want_exit}",
            run.status.code()
        ));
    }
    if expects_error && !stdout.is_empty() {
        problems.push(format!(
            "the binary printed {} bytes on stdout despite errors",
            stdout.len()
        ));
    }
    if !expects_error && previous_path.is_none() && stdout.is_empty() {
        problems.push("the binary rendered nothing".to_owned());
    }
    let printed: Vec<Printed<'_>> = stderr.lines().filter_map(parse_printed).collect();
    for expect in &case.expects {
        let severity = severity_of(&expect.code).expect("checked by the header parser");
        let shown = printed.iter().any(|p| {
            p.file == case.path
                && p.line == expect.line
                && p.col == expect.col
                && p.code == expect.code
                && p.severity == severity.as_str()
        });
        if !shown {
            problems.push(format!(
                "stderr lacks `{}:{}:{}: {}[{}]:`",
                case.path,
                expect.line,
                expect.col,
                severity.as_str(),
                expect.code
            ));
        }
    }
    // The binary prints what the library found, line for line.
    for d in diagnostics {
        let first_line = d.to_string().lines().next().unwrap_or_default().to_owned();
        if !stderr.lines().any(|l| l == first_line) {
            problems.push(format!(
                "stderr lacks the library's diagnostic `{first_line}`"
            ));
        }
    }
    if !problems.is_empty() {
        let mut report = String::new();
        let _ = writeln!(report, "{} ({})", case.path, case.description);
        for p in &problems {
            let _ = writeln!(report, "  - {p}");
        }
        let _ = write!(report, "  library diagnostics:\n{}", list(diagnostics));
        let _ = write!(
            report,
            "  binary exit {:?}, stderr:\n{}",
            run.status.code(),
            indent(&stderr)
        );
        return vec![report];
    }
    Vec::new()
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

#[test]
fn every_case_reports_what_its_header_expects() {
    let cases = cases();
    let failures: Vec<String> = cases.iter().flat_map(run_case).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_code_and_cel_rule_has_a_case() {
    let cases = cases();
    let expected: BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| c.expects.iter().map(|e| e.code.as_str()))
        .collect();
    let rows: BTreeSet<u32> = cases
        .iter()
        .flat_map(|c| c.cel_rules.iter().copied())
        .collect();
    let mut missing = Vec::new();
    for code in CODES {
        if !expected.contains(code.code) && !outside_the_corpus(code.code) {
            missing.push(format!("{} ({})", code.code, code.summary));
        }
    }
    for rule in rules::ALL {
        if !expected.contains(rule.code) {
            missing.push(format!("{} (CEL: {})", rule.code, rule.message));
        }
    }
    for row in CEL_ROWS {
        if !rows.contains(&row) {
            missing.push(format!(
                "§7 row {row} (no `# cel-rule: {row}` case; it reports {})",
                code_of_row(row)
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "no case in {CASES}/ for:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn every_cel_row_maps_to_a_rule() {
    let codes: BTreeSet<&str> = rules::ALL.iter().map(|r| r.code).collect();
    for row in CEL_ROWS {
        assert!(
            codes.contains(code_of_row(row).as_str()),
            "§7 row {row} has no rule {}",
            code_of_row(row)
        );
    }
    // Row 26 is the only row without a code of its own: MG126 does not exist.
    assert_eq!(rules::ALL.len(), 31);
    assert!(!codes.contains("MG126"));
}

#[test]
fn headers_are_well_formed() {
    let cases = cases();
    let mut errors: Vec<String> = cases.iter().filter_map(|c| check_case(c).err()).collect();
    // Every previous version belongs to a case, and has a description line.
    let referenced: BTreeSet<String> = cases.iter().filter_map(|c| c.previous.clone()).collect();
    let dir = root().join(CASES).join("previous");
    let mut previous: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str().map(|n| format!("previous/{n}")))
                .collect()
        })
        .unwrap_or_default();
    previous.sort();
    for p in &previous {
        if !referenced.contains(p) {
            errors.push(format!("{CASES}/{p}: no case names it with `# previous:`"));
        }
        let text = String::from_utf8_lossy(&read(&root().join(CASES).join(p))).into_owned();
        if !text
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("# ") && l.len() > 2)
        {
            errors.push(format!(
                "{CASES}/{p}: must start with a `# <description>` line"
            ));
        }
    }
    // Two cases must not be the same file under two names.
    let mut seen: BTreeMap<Vec<u8>, &str> = BTreeMap::new();
    for case in &cases {
        let bytes = read(&root().join(&case.path));
        if let Some(first) = seen.insert(bytes, &case.path) {
            errors.push(format!("{} duplicates {first}", case.path));
        }
    }
    assert!(
        errors.is_empty(),
        "malformed headers:\n  {}",
        errors.join("\n  ")
    );
}

#[test]
fn the_header_parser_rejects_mistakes() {
    let ok = parse_header(
        "x.yaml",
        b"# A sentence.\n# expect: MG111 4:5\n# cel-rule: 11\nkind: X\n",
    )
    .unwrap();
    assert_eq!(
        ok.expects,
        [Expect {
            code: "MG111".into(),
            line: 4,
            col: 5
        }]
    );
    assert_eq!(ok.cel_rules, [11]);
    for (bad, why) in [
        (
            "# A sentence.\n# expects: MG111 4:5\n",
            "unknown header key",
        ),
        ("# A sentence.\n# expect: MG999 4:5\n", "neither in CODES"),
        ("# A sentence.\n# expect: MG111\n", "CODE LINE:COL"),
        // The column is required: a line alone no longer passes.
        ("# A sentence.\n# expect: MG111 4\n", "CODE LINE:COL"),
        ("# A sentence.\n# expect: MG111 0:5\n", "1-based line"),
        ("# A sentence.\n# expect: MG111 4:0\n", "1-based column"),
        ("# A sentence.\n# expect: MG111 4:x\n", "1-based column"),
        ("# A sentence.\n# cel-rule: 33\n", "§7 row"),
        ("# A sentence.\n#expect: MG111 4:5\n", "start with `# `"),
        ("# expect: MG111 4:5\n", "description"),
        ("kind: X\n", "no header"),
    ] {
        let err = parse_header("x.yaml", bad.as_bytes()).unwrap_err();
        assert!(
            err.contains(why),
            "{bad:?} gave {err:?}, expected it to mention {why:?}"
        );
    }
}
