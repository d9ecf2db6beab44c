//! The Argo CD health checks in
//! `docs/argocd/resource_customizations/multigres.com/<Kind>/`, laid out as
//! Argo CD's own `resource_customizations/` so they can be contributed
//! upstream, and the `argocd-cm` patch that embeds them.
//!
//! The scripts (`health.lua`) run in a real Lua 5.1 (mlua builds the
//! reference C implementation; Argo CD runs gopher-lua, also a Lua 5.1) with
//! only the libraries Argo CD opens for an argocd-cm health script: base,
//! package and table, no string and no math. Reading or assigning an
//! undefined global is an error, so a typo cannot silently read nil.
//!
//! Each kind's `health_test.yaml` is the single source of truth for the
//! expected verdicts, in Argo CD's format: every test case names a sample
//! (`inputPath`, under `testdata/`) and the exact `healthStatus` (status and
//! message) the script must return, as Argo CD's own test compares them.
//! Samples are complete objects as the API server returns them; samples named
//! `odd-*` have deliberately malformed fields, every other one must match the
//! CRD status schema.
//!
//! `scripts/generate argocd-cm` writes `docs/argocd/argocd-cm.yaml` from the
//! scripts (tools/generate/generators/argocd_cm.rs).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::rc::Rc;

use mlua::{Function, HookTriggers, Lua, LuaOptions, StdLib, VmState};
use serde_json::{Map, Value, json};

use crate::generators::Target;
pub(crate) use crate::generators::argocd_cm::KINDS;
use crate::generators::argocd_cm::{self, CUSTOMIZATIONS, config_key, script_path};
use crate::support::generated::assert_up_to_date;

/// The statuses Argo CD accepts from a health script.
const ARGO_STATUSES: [&str; 6] = [
    "Healthy",
    "Progressing",
    "Degraded",
    "Suspended",
    "Missing",
    "Unknown",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn health_test_path(kind: &str) -> String {
    format!("{CUSTOMIZATIONS}/{kind}/health_test.yaml")
}

// ---------------------------------------------------------------------------
// The Lua side: an Argo-like state, JSON -> Lua tables, one assessment.

/// A Lua 5.1 state with what Argo CD gives an argocd-cm health script (it
/// also opens a reduced `os`, which the scripts do not need), in strict mode.
pub(crate) fn argo_lua() -> Lua {
    let lua = Lua::new_with(StdLib::PACKAGE | StdLib::TABLE, LuaOptions::new()).unwrap();
    let version: String = lua.globals().get("_VERSION").unwrap();
    assert_eq!(
        version, "Lua 5.1",
        "mlua must be built with the lua51 feature"
    );
    for library in ["string", "math", "io", "os", "debug"] {
        let value: mlua::Value = lua.globals().get(library).unwrap();
        assert!(
            value.is_nil(),
            "Argo CD does not open `{library}` for health scripts"
        );
    }
    lua.load(
        r#"
        setmetatable(_G, {
          __index = function(_, name)
            error("read of undefined global '" .. tostring(name) .. "'", 2)
          end,
          __newindex = function(_, name)
            error("assignment to global '" .. tostring(name) .. "'", 2)
          end,
        })
        "#,
    )
    .set_name("=strict")
    .exec()
    .unwrap();
    lua
}

pub(crate) fn compile(lua: &Lua, kind: &str) -> Function {
    let path = script_path(kind);
    lua.load(read(&path))
        .set_name(format!("@{path}"))
        .into_function()
        .unwrap_or_else(|e| panic!("{path} is not valid Lua 5.1: {e}"))
}

/// What Argo CD's `decodeValue` does: maps and lists become tables (lists
/// from index 1), numbers become Lua numbers, null becomes nil.
fn to_lua(lua: &Lua, value: &Value) -> mlua::Result<mlua::Value> {
    Ok(match value {
        Value::Null => mlua::Value::Nil,
        Value::Bool(b) => mlua::Value::Boolean(*b),
        Value::Number(n) => mlua::Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => mlua::Value::String(lua.create_string(s)?),
        Value::Array(items) => {
            let table = lua.create_table()?;
            for (index, item) in items.iter().enumerate() {
                table.raw_set(index + 1, to_lua(lua, item)?)?;
            }
            mlua::Value::Table(table)
        }
        Value::Object(map) => {
            let table = lua.create_table()?;
            for (key, item) in map {
                table.raw_set(key.as_str(), to_lua(lua, item)?)?;
            }
            mlua::Value::Table(table)
        }
    })
}

#[derive(Debug)]
pub(crate) struct Health {
    pub status: String,
    pub message: String,
}

/// Runs `check` with the global `obj` set to `object`; any Lua error, a
/// result that is not a table, a status Argo CD does not know or a missing
/// message is an `Err`.
pub(crate) fn assess(lua: &Lua, check: &Function, object: &Value) -> Result<Health, String> {
    let obj = to_lua(lua, object).map_err(|e| e.to_string())?;
    lua.globals()
        .raw_set("obj", obj)
        .map_err(|e| e.to_string())?;
    let returned: mlua::Value = check.call(()).map_err(|e| format!("Lua error: {e}"))?;
    let mlua::Value::Table(table) = returned else {
        return Err(format!("returned a {}, not a table", returned.type_name()));
    };
    let field = |name: &str| -> Result<String, String> {
        match table
            .raw_get::<mlua::Value>(name)
            .map_err(|e| e.to_string())?
        {
            mlua::Value::String(s) => Ok(s.to_string_lossy()),
            other => Err(format!("`{name}` is a {}, not a string", other.type_name())),
        }
    };
    let health = Health {
        status: field("status")?,
        message: field("message")?,
    };
    if !ARGO_STATUSES.contains(&health.status.as_str()) {
        return Err(format!("unknown status {:?}", health.status));
    }
    if health.message.trim().is_empty() {
        return Err("empty message".to_string());
    }
    Ok(health)
}

// ---------------------------------------------------------------------------
// Samples.

/// One test case of a `health_test.yaml`, in Argo CD's format.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TestCase {
    health_status: ExpectedHealth,
    input_path: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedHealth {
    status: String,
    message: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HealthTests {
    tests: Vec<TestCase>,
}

/// A recorded object and the verdict its kind's `health_test.yaml` expects.
pub(crate) struct Sample {
    pub(crate) kind: &'static str,
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) status: String,
    pub(crate) message: String,
    pub(crate) object: Value,
}

impl Sample {
    pub(crate) fn odd(&self) -> bool {
        self.name.starts_with("odd-")
    }
}

/// Every test case of every kind's `health_test.yaml`, with its sample.
/// Every file under `testdata/` must be the input of exactly one case.
pub(crate) fn samples() -> Vec<Sample> {
    let mut all = Vec::new();
    for kind in KINDS {
        let tests_path = health_test_path(kind);
        let tests: HealthTests = serde_saphyr::from_str(&read(&tests_path))
            .unwrap_or_else(|e| panic!("{tests_path}: {e}"));
        let directory = format!("{CUSTOMIZATIONS}/{kind}/testdata");
        let mut unused: BTreeSet<String> = std::fs::read_dir(root().join(&directory))
            .unwrap_or_else(|e| panic!("{directory}: {e}"))
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .map(|file| format!("testdata/{file}"))
            .collect();
        for case in tests.tests {
            assert!(
                unused.remove(&case.input_path),
                "{tests_path}: {} is not a file of {directory}, or is the input of two cases",
                case.input_path
            );
            let name = case
                .input_path
                .strip_prefix("testdata/")
                .and_then(|file| file.strip_suffix(".yaml"))
                .unwrap_or_else(|| {
                    panic!("{tests_path}: {} is not testdata/*.yaml", case.input_path)
                })
                .to_string();
            let path = format!("{CUSTOMIZATIONS}/{kind}/{}", case.input_path);
            let object: Value =
                serde_saphyr::from_str(&read(&path)).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(object["kind"], kind, "{path}: kind");
            assert_eq!(object["apiVersion"], "multigres.com/v1alpha1", "{path}");
            all.push(Sample {
                kind,
                name,
                path,
                status: case.health_status.status,
                message: case.health_status.message,
                object,
            });
        }
        assert!(
            unused.is_empty(),
            "{tests_path}: no test case reads {unused:?}"
        );
    }
    all
}

// ---------------------------------------------------------------------------
// The scripts themselves.

#[test]
fn scripts_load_as_lua_5_1() {
    let lua = argo_lua();
    for kind in KINDS {
        // `load` compiles without running.
        compile(&lua, kind);
    }
}

/// Source text with comments and string literals blanked out (newlines
/// kept), and the problems found in the literals themselves.
fn code_only(source: &str) -> (String, Vec<String>) {
    fn long_bracket(bytes: &[u8], at: usize) -> Option<usize> {
        // `[`, `=`*, `[` -> the level.
        if bytes.get(at) != Some(&b'[') {
            return None;
        }
        let mut level = 0;
        while bytes.get(at + 1 + level) == Some(&b'=') {
            level += 1;
        }
        (bytes.get(at + 1 + level) == Some(&b'[')).then_some(level)
    }
    let bytes = source.as_bytes();
    let mut code = bytes.to_vec();
    let mut problems = Vec::new();
    let blank = |code: &mut Vec<u8>, from: usize, to: usize| {
        for byte in &mut code[from..to] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    };
    let close_long = |from: usize, level: usize| -> usize {
        let closing = format!("]{}]", "=".repeat(level));
        source[from..]
            .find(&closing)
            .map_or(bytes.len(), |i| from + i + closing.len())
    };
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"--") {
            let end = match long_bracket(bytes, i + 2) {
                Some(level) => close_long(i + 4 + level, level),
                None => source[i..].find('\n').map_or(bytes.len(), |n| i + n),
            };
            blank(&mut code, i, end);
            i = end;
        } else if let Some(level) = long_bracket(bytes, i) {
            let end = close_long(i + 2 + level, level);
            blank(&mut code, i, end);
            i = end;
        } else if bytes[i] == b'"' || bytes[i] == b'\'' {
            let quote = bytes[i];
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != quote && bytes[j] != b'\n' {
                if bytes[j] == b'\\' {
                    // Lua 5.1 escapes only; \x, \z and \u{} came with 5.2/5.3.
                    match bytes.get(j + 1) {
                        Some(b'a' | b'b' | b'f' | b'n' | b'r' | b't' | b'v' | b'\\' | b'"')
                        | Some(b'\'' | b'\n' | b'0'..=b'9') => {}
                        other => problems.push(format!(
                            "escape \\{} is not Lua 5.1",
                            other.map_or('?', |b| *b as char)
                        )),
                    }
                    j += 1;
                }
                j += 1;
            }
            blank(&mut code, i, (j + 1).min(bytes.len()));
            i = j + 1;
        } else {
            i += 1;
        }
    }
    (String::from_utf8(code).unwrap(), problems)
}

/// A lexical guard on top of the Lua 5.1 compiler: no operators or keywords
/// of later Lua versions, and nothing Argo CD does not provide to an
/// argocd-cm script (no string or math library, hence also no string
/// methods).
#[test]
fn scripts_use_only_lua_5_1_and_what_argo_provides() {
    let forbidden_operators = [
        ("//", "integer division (Lua 5.3)"),
        ("&", "bitwise and (Lua 5.3)"),
        ("|", "bitwise or (Lua 5.3)"),
        ("<<", "shift (Lua 5.3)"),
        (">>", "shift (Lua 5.3)"),
        ("::", "goto label (Lua 5.2)"),
        (
            ":",
            "method call (strings have no methods without the string library)",
        ),
    ];
    let forbidden_names = [
        ("goto", "Lua 5.2"),
        ("_ENV", "Lua 5.2"),
        ("bit32", "Lua 5.2"),
        ("utf8", "Lua 5.3"),
        ("rawlen", "Lua 5.2"),
        ("string", "not opened by Argo CD"),
        ("math", "not opened by Argo CD"),
        ("io", "not opened by Argo CD"),
        ("os", "not needed (Argo CD opens a reduced os)"),
        ("debug", "not opened by Argo CD"),
        ("coroutine", "not opened by Argo CD"),
        ("require", "not needed"),
        ("load", "not needed"),
        ("loadstring", "not needed"),
        ("dofile", "not needed"),
        ("loadfile", "not needed"),
        ("setfenv", "not needed"),
        ("getfenv", "not needed"),
        ("module", "not needed"),
        ("print", "not needed"),
    ];
    // The table functions Lua 5.1 and gopher-lua both have.
    let table_functions = ["insert", "sort", "concat", "remove"];
    let mut problems = Vec::new();
    for kind in KINDS {
        let path = script_path(kind);
        let source = read(&path);
        let (code, literal_problems) = code_only(&source);
        problems.extend(literal_problems.into_iter().map(|p| format!("{path}: {p}")));
        for (number, line) in code.lines().enumerate() {
            let at = format!("{path}:{}", number + 1);
            for (operator, why) in forbidden_operators {
                if line.contains(operator) {
                    problems.push(format!("{at}: `{operator}` ({why})"));
                }
            }
            if line.replace("~=", "  ").contains('~') {
                problems.push(format!("{at}: `~` (bitwise operator, Lua 5.3)"));
            }
            let mut words: Vec<(usize, &str)> = Vec::new();
            let mut start = None;
            for (index, c) in line.char_indices().chain([(line.len(), ' ')]) {
                let in_word = c.is_ascii_alphanumeric() || c == '_';
                match (in_word, start) {
                    (true, None) => start = Some(index),
                    (false, Some(from)) => {
                        words.push((from, &line[from..index]));
                        start = None;
                    }
                    _ => {}
                }
            }
            for (start, word) in &words {
                let before = &line[..*start];
                let is_field = before.ends_with('.') && !before.ends_with("..");
                if is_field {
                    if before.ends_with("table.") && !table_functions.contains(word) {
                        problems.push(format!("{at}: table.{word} is not in Lua 5.1"));
                    }
                    continue;
                }
                if let Some((_, why)) = forbidden_names.iter().find(|(name, _)| name == word) {
                    problems.push(format!("{at}: `{word}` ({why})"));
                }
            }
        }
        // Safe to embed verbatim in a YAML block scalar.
        assert!(
            source.ends_with('\n') && !source.ends_with("\n\n"),
            "{path}: one final newline"
        );
        for (number, line) in source.lines().enumerate() {
            let at = format!("{path}:{}", number + 1);
            if line.contains('\t') || line.contains('\r') || !line.is_ascii() {
                problems.push(format!("{at}: tab, carriage return or non-ASCII"));
            }
            if line.ends_with(' ') {
                problems.push(format!("{at}: trailing space"));
            }
        }
        assert!(
            !source.starts_with(' '),
            "{path}: must not start with a space"
        );
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The lexical guard itself catches what it is meant to.
#[test]
fn the_lexical_guard_sees_through_strings_and_comments() {
    let (code, problems) = code_only(
        "local a = \"x // y\" -- c :: d\nlocal b = [[ & ]] --[==[ goto\n]==] local c = 'a\\'b' // 2\n",
    );
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(code.lines().count(), 3);
    assert!(!code.contains("x") && !code.contains("goto") && !code.contains('&'));
    assert!(code.contains("// 2"), "{code}");
    let (_, problems) = code_only("local s = \"\\x41\"\n");
    assert_eq!(problems.len(), 1);
}

const HELPERS_BEGIN: &str = "-- BEGIN shared helpers\n";
const HELPERS_END: &str = "-- END shared helpers\n";

fn helpers(source: &str) -> Option<&str> {
    let start = source.find(HELPERS_BEGIN)?;
    let end = source.find(HELPERS_END)?;
    Some(&source[start..end + HELPERS_END.len()])
}

/// Argo CD loads one script per kind, so each file repeats the helpers; the
/// copies must not drift apart.
#[test]
fn shared_helpers_are_identical_in_every_script() {
    let first = read(&script_path(KINDS[0]));
    let reference = helpers(&first).expect("helpers block");
    for kind in &KINDS[1..] {
        let source = read(&script_path(kind));
        let block = helpers(&source).unwrap_or_else(|| panic!("{kind}: no helpers block"));
        assert!(
            block == reference,
            "{}: the shared helpers differ from {}",
            script_path(kind),
            script_path(KINDS[0])
        );
    }
}

// ---------------------------------------------------------------------------
// Behaviour.

/// Runs every test case of every `health_test.yaml` as Argo CD's own test
/// does: the script's status and message must equal the expected ones.
#[test]
fn every_health_test_case_passes() {
    let lua = argo_lua();
    let checks: BTreeMap<&str, Function> = KINDS.iter().map(|k| (*k, compile(&lua, k))).collect();
    let mut failures = Vec::new();
    for sample in samples() {
        match assess(&lua, &checks[sample.kind], &sample.object) {
            Err(e) => failures.push(format!("{}: {e}", sample.path)),
            Ok(health) => {
                if health.status != sample.status || health.message != sample.message {
                    failures.push(format!(
                        "{}: expected {} {:?}, got {} {:?}",
                        sample.path, sample.status, sample.message, health.status, health.message
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Each kind has the cases the checks exist for.
#[test]
fn every_kind_has_the_required_samples() {
    let samples = samples();
    for kind in KINDS {
        let of_kind: Vec<&Sample> = samples.iter().filter(|s| s.kind == kind).collect();
        for status in ["Healthy", "Progressing", "Degraded"] {
            assert!(
                of_kind.iter().any(|s| s.status == status && !s.odd()),
                "{kind}: no sample expecting {status}"
            );
        }
        for name in [
            "healthy",
            "progressing",
            "degraded",
            "no-status",
            "stale-generation",
            "pending-deletion",
            "odd-conditions-not-a-list",
            "odd-field-types",
            "odd-status-not-an-object",
        ] {
            assert!(
                of_kind.iter().any(|s| s.name == name),
                "{kind}: no sample {name}.yaml"
            );
        }
    }
}

/// The verdicts that once fought Argo CD syncs stay covered: a shard without
/// a recent backup days after creation is not Degraded (upstream schedules
/// no backups), new images waiting for a person are Suspended, and two
/// primaries are Degraded.
#[test]
fn the_sync_fighting_verdicts_stay_fixed() {
    let samples = samples();
    let status_of = |kind: &str, name: &str| -> &str {
        samples
            .iter()
            .find(|s| s.kind == kind && s.name == name)
            .map(|s| s.status.as_str())
            .unwrap_or_else(|| panic!("{kind}: no test case for testdata/{name}.yaml"))
    };
    for name in ["backup-none", "backup-stale"] {
        assert_eq!(status_of("Shard", name), "Healthy", "Shard {name}");
    }
    assert_eq!(status_of("Shard", "split-brain"), "Degraded");
    for name in [
        "image-rollout-awaiting-acknowledgement",
        "image-rollout-revision-mismatch",
    ] {
        assert_eq!(status_of("MultigresCluster", name), "Suspended", "{name}");
    }
    // Degraded is for faults: no Degraded test case mentions backups.
    for sample in samples.iter().filter(|s| s.status == "Degraded") {
        assert!(!sample.message.contains("ackup"), "{}", sample.path);
    }
}

/// Every `return` of the kind-specific part of a script (each outcome) is
/// reached by at least one well-formed sample.
#[test]
fn samples_reach_every_outcome_of_every_script() {
    let samples = samples();
    let mut missed = Vec::new();
    for kind in KINDS {
        let path = script_path(kind);
        let source = read(&path);
        let lua = argo_lua();
        let check = compile(&lua, kind);
        let reached = Rc::new(RefCell::new(BTreeSet::new()));
        let chunk = format!("@{path}");
        let record = Rc::clone(&reached);
        lua.set_hook(HookTriggers::EVERY_LINE, move |_, debug| {
            if debug.source().source.as_deref() == Some(chunk.as_str())
                && let Some(line) = debug.current_line()
            {
                record.borrow_mut().insert(line);
            }
            Ok(VmState::Continue)
        })
        .unwrap();
        for sample in samples.iter().filter(|s| s.kind == kind && !s.odd()) {
            assess(&lua, &check, &sample.object).unwrap_or_else(|e| panic!("{}: {e}", sample.path));
        }
        lua.remove_hook();
        let (code, _) = code_only(&source);
        let after_helpers = source.find(HELPERS_END).expect("helpers block") + HELPERS_END.len();
        let first_line = source[..after_helpers].lines().count() + 1;
        let reached = reached.borrow();
        for (index, line) in code.lines().enumerate().skip(first_line - 1) {
            let number = index + 1;
            let returns = line
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|word| word == "return");
            // Returns inside local helper functions are not outcomes.
            if returns && !line.starts_with("    ") && !reached.contains(&number) {
                missed.push(format!(
                    "{path}:{number}: no sample reaches `{}`",
                    source.lines().nth(index).unwrap().trim()
                ));
            }
        }
    }
    assert!(missed.is_empty(), "\n{}", missed.join("\n"));
}

/// Replaces the value at every path of every sample (and removes it) with
/// values of every JSON type: no script may raise a Lua error or return
/// something Argo CD would reject.
#[test]
fn no_object_shape_makes_a_script_fail() {
    fn paths(value: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
        out.push(prefix.clone());
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    prefix.push(json!(key));
                    paths(item, prefix, out);
                    prefix.pop();
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    prefix.push(json!(index));
                    paths(item, prefix, out);
                    prefix.pop();
                }
            }
            _ => {}
        }
    }
    fn at<'a>(value: &'a mut Value, path: &[Value]) -> &'a mut Value {
        path.iter().fold(value, |node, step| match step {
            Value::String(key) => &mut node[key.as_str()],
            _ => &mut node[step.as_u64().unwrap() as usize],
        })
    }
    let replacements = [
        Value::Null,
        json!(""),
        json!("True"),
        json!("3"),
        json!(0),
        json!(-1),
        json!(1.5e300),
        json!(true),
        json!({}),
        json!([]),
        json!([null, "x", 1]),
        json!({"status": "True", "type": "Available"}),
    ];
    let lua = argo_lua();
    let checks: BTreeMap<&str, Function> = KINDS.iter().map(|k| (*k, compile(&lua, k))).collect();
    let mut failures = Vec::new();
    let mut runs = 0;
    for sample in samples() {
        let mut all = Vec::new();
        paths(&sample.object, &mut Vec::new(), &mut all);
        for path in all {
            let mut variants: Vec<Value> = replacements
                .iter()
                // Argo CD always passes a table as `obj`.
                .filter(|replacement| !(path.is_empty() && replacement.is_null()))
                .map(|replacement| {
                    let mut object = sample.object.clone();
                    *at(&mut object, &path) = replacement.clone();
                    object
                })
                .collect();
            if let Some((Value::String(key), parent)) = path.split_last() {
                let mut object = sample.object.clone();
                if let Some(map) = at(&mut object, parent).as_object_mut() {
                    map.remove(key);
                }
                variants.push(object);
            }
            for object in variants {
                runs += 1;
                if let Err(e) = assess(&lua, &checks[sample.kind], &object) {
                    failures.push(format!("{} with {path:?} changed: {e}", sample.path));
                }
            }
        }
    }
    assert!(runs > 10_000, "only {runs} variants");
    failures.truncate(20);
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// The samples are real statuses: fields, types and enums from crds/*.yaml,
// condition types and reasons from upstream's controllers.

/// Condition types and reasons the upstream controllers write
/// (the status of clusters, cells, shards and table groups; StorageClassValid
/// from the storage-class guard).
const CONDITION_REASONS: [(&str, &[&str]); 10] = [
    (
        "Available",
        &[
            "AggregatedStatus",
            "MultigatewayAvailable",
            "MultigatewayUnavailable",
            "LocalTopoServerNotReady",
            "ShardsReady",
            "ShardsNotReady",
            "ShardDegraded",
            "NoShards",
            "CleanupPending",
            "AllPodsReady",
            "NotAllPodsReady",
        ],
    ),
    (
        "Ready",
        &[
            "MultigatewayReady",
            "MultigatewayNotReady",
            "LocalTopoServerNotReady",
            "AllReplicasReady",
            "NotAllReplicasReady",
        ],
    ),
    (
        "ReadyForDeletion",
        &[
            "LocalTopoServerDeleting",
            "StatelessComponent",
            "LocalTopoServerDeleted",
            "AllShardsReady",
            "DrainComplete",
        ],
    ),
    (
        "ImageRolloutPending",
        &[
            "UpToDate",
            "FullyPinned",
            "AwaitingAcknowledgement",
            "RevisionMismatch",
        ],
    ),
    (
        "GatewayExternalReady",
        &["AwaitingEndpoint", "NoReadyGateways", "EndpointReady"],
    ),
    (
        "AdminWebExternalReady",
        &["AwaitingEndpoint", "NoReadyAdminWeb", "EndpointReady"],
    ),
    ("RollingUpdate", &["PodsDrifted", "PodsUpToDate"]),
    ("BackupHealthy", &["BackupRecent", "BackupStale"]),
    (
        "StorageClassValid",
        &[
            "StorageClassFound",
            "StorageClassNotSpecified",
            "StorageClassNotFound",
        ],
    ),
    // Declared upstream; the CRD allows any type, the scripts ignore it.
    ("TerminalError", &[]),
];

fn crd_status_schema(kind: &str) -> Value {
    let plural = match kind {
        "MultigresCluster" => "multigresclusters",
        "Cell" => "cells",
        "TableGroup" => "tablegroups",
        "Shard" => "shards",
        "TopoServer" => "toposervers",
        _ => unreachable!(),
    };
    let path = format!("crds/multigres.com_{plural}.yaml");
    let crd: Value = serde_saphyr::from_str(&read(&path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"].clone()
}

/// A structural check of `value` against an OpenAPI schema: known fields,
/// required fields, types and enums.
fn conforms(value: &Value, schema: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        problems.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    match (schema["type"].as_str(), value) {
        (Some("object"), Value::Object(map)) => {
            let properties = schema["properties"].as_object();
            for (key, item) in map {
                let child = format!("{at}.{key}");
                match (
                    properties.and_then(|p| p.get(key)),
                    &schema["additionalProperties"],
                ) {
                    (Some(property), _) => conforms(item, property, &child, problems),
                    (None, Value::Object(additional)) => {
                        conforms(item, &Value::Object(additional.clone()), &child, problems)
                    }
                    _ => problems.push(format!("{child}: not in the CRD schema")),
                }
            }
            for required in schema["required"].as_array().into_iter().flatten() {
                if !map.contains_key(required.as_str().unwrap()) {
                    problems.push(format!("{at}: missing required {required}"));
                }
            }
        }
        (Some("array"), Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                conforms(item, &schema["items"], &format!("{at}[{index}]"), problems);
            }
        }
        (Some("string"), Value::String(_)) | (Some("boolean"), Value::Bool(_)) => {}
        (Some("integer"), Value::Number(n)) if n.is_i64() || n.is_u64() => {}
        (None, _) => {}
        (Some(expected), _) => problems.push(format!("{at}: {value} is not a {expected}")),
    }
}

#[test]
fn well_formed_samples_match_the_crd_status_schema() {
    let reasons: BTreeMap<&str, &[&str]> = CONDITION_REASONS.into_iter().collect();
    let schemas: BTreeMap<&str, Value> = KINDS.iter().map(|k| (*k, crd_status_schema(k))).collect();
    let mut problems = Vec::new();
    for sample in samples().iter().filter(|s| !s.odd()) {
        let metadata = &sample.object["metadata"];
        if !metadata["generation"].is_u64() {
            problems.push(format!("{}: metadata.generation", sample.path));
        }
        let Some(status) = sample.object.get("status") else {
            continue;
        };
        let mut found = Vec::new();
        conforms(status, &schemas[sample.kind], "status", &mut found);
        for condition in status["conditions"].as_array().into_iter().flatten() {
            let kind = condition["type"].as_str().unwrap_or_default();
            let reason = condition["reason"].as_str().unwrap_or_default();
            match reasons.get(kind) {
                Some(known) if known.contains(&reason) => {}
                _ => found.push(format!(
                    "condition {kind}/{reason} is not one upstream writes"
                )),
            }
        }
        problems.extend(found.into_iter().map(|p| format!("{}: {p}", sample.path)));
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------
// docs/argocd/argocd-cm.yaml

const ARGOCD_CM: &str = argocd_cm::PATH;

#[test]
fn argocd_cm_embeds_every_script_byte_for_byte() {
    assert_up_to_date(Target::ArgocdCm);
    // Independent of how the file was written: parse it and compare.
    let config: Value = serde_saphyr::from_str(&read(ARGOCD_CM)).expect(ARGOCD_CM);
    assert_eq!(config["apiVersion"], "v1");
    assert_eq!(config["kind"], "ConfigMap");
    assert_eq!(config["metadata"]["name"], "argocd-cm");
    assert_eq!(config["metadata"]["namespace"], "argocd");
    assert_eq!(
        config["metadata"]["labels"]["app.kubernetes.io/part-of"],
        "argocd"
    );
    let data: &Map<String, Value> = config["data"].as_object().expect("data");
    let keys: BTreeSet<&str> = data.keys().map(String::as_str).collect();
    let wanted: Vec<String> = KINDS.iter().map(|k| config_key(k)).collect();
    assert_eq!(keys, wanted.iter().map(String::as_str).collect());
    for kind in KINDS {
        let embedded = data[&config_key(kind)].as_str().expect("a string");
        assert!(
            embedded == read(&script_path(kind)),
            "{ARGOCD_CM}: {} differs from {}; run `{}`",
            config_key(kind),
            script_path(kind),
            Target::ArgocdCm.command()
        );
    }
}
