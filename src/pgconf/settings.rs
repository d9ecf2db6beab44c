//! `postgresConfig` checked against the PostgreSQL 17 settings catalog.
//!
//! The catalog is upstream's data file (shipped in `data/`), read
//! case-insensitively. Upstream's extraction lost PostgreSQL's three
//! mixed-case settings, so upstream rejects `TimeZone`; we add them back.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::diagnostics as codes;

const CATALOG: &str = include_str!("../../data/pg_settings_17.txt");

/// PostgreSQL 17 settings whose names have capitals, missing from the
/// upstream catalog: name, type, context (as `pg_settings` reports them).
const MIXED_CASE: [(&str, &str, &str); 3] = [
    ("DateStyle", "string", "user"),
    ("IntervalStyle", "enum", "user"),
    ("TimeZone", "string", "user"),
];

/// Set on the pgctld command line or required by Multigres.
const MANAGED: [&str; 6] = [
    "port",
    "listen_addresses",
    "unix_socket_directories",
    "data_directory",
    "hba_file",
    "ident_file",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub name: &'static str,
    pub value_type: &'static str,
    pub context: &'static str,
}

impl Setting {
    /// Changing it needs a server restart (`postmaster` or `internal`).
    pub fn requires_restart(&self) -> bool {
        matches!(self.context, "postmaster" | "internal" | "")
    }
}

fn catalog() -> &'static HashMap<String, Setting> {
    static SETTINGS: OnceLock<HashMap<String, Setting>> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let upstream = CATALOG
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .filter_map(|line| {
                let mut fields = line.split('\t');
                Some((fields.next()?, fields.next()?, fields.next().unwrap_or("")))
            });
        upstream
            .chain(MIXED_CASE)
            .map(|(name, value_type, context)| {
                (
                    name.to_ascii_lowercase(),
                    Setting {
                        name,
                        value_type,
                        context,
                    },
                )
            })
            .collect()
    })
}

/// The catalog entry of `name`, matched case-insensitively as PostgreSQL does.
pub fn lookup(name: &str) -> Option<Setting> {
    catalog().get(&name.trim().to_ascii_lowercase()).copied()
}

/// Number of settings the catalog knows.
pub fn len() -> usize {
    catalog().len()
}

/// Why a `postgresConfig` entry is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

/// Why the operator owns setting `name` (any case), if it does: such a
/// setting is refused wherever a user writes it, inline or in a
/// `postgresConfigRef` body.
pub fn owned_by_operator(name: &str) -> Option<&'static str> {
    let lowered = name.trim().to_ascii_lowercase();
    if MANAGED.contains(&lowered.as_str()) {
        return Some("pinned by the operator on the pgctld command line");
    }
    match lowered.as_str() {
        "wal_level" => Some("multigres requires wal_level=logical"),
        "config_file" => Some("PostgreSQL takes it only on its command line, where pgctld sets it"),
        marker if marker == crate::pgconf::RELOAD_MARKER_KEY => {
            Some("the operator writes it to mark the configuration's version")
        }
        _ => lookup(&lowered)
            .filter(|s| s.context == "internal")
            .map(|_| "PostgreSQL fixes it when it is built or initialised; it cannot be set"),
    }
}

/// Whether `name`, as written, can name a setting: a PostgreSQL identifier,
/// or for a custom (extension) setting, identifiers joined by dots.
fn is_setting_name(name: &str) -> bool {
    name.split('.').all(|part| {
        part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    })
}

/// Checks one `postgresConfig` entry: an owned or unknown setting, a value of
/// the wrong type, or a control character (a newline would split the quoted
/// value over two lines of postgresql.conf, which PostgreSQL refuses).
pub fn check(name: &str, value: &str) -> Result<(), Rejection> {
    let lowered = name.trim().to_ascii_lowercase();
    if let Some(why) = owned_by_operator(&lowered) {
        return Err(Rejection {
            code: codes::PG_MANAGED_PARAMETER,
            message: format!(
                "parameter {lowered:?} is managed by the operator and cannot be set: {why}"
            ),
            hint: Some("remove it from postgresConfig".into()),
        });
    }
    if !is_setting_name(name) {
        return Err(Rejection {
            code: codes::PG_UNKNOWN_PARAMETER,
            message: format!("{name:?} is not a parameter name"),
            hint: Some(
                "names are letters, digits and '_'; an extension's settings are written extension.name"
                    .into(),
            ),
        });
    }
    if value.chars().any(char::is_control) {
        return Err(Rejection {
            code: codes::PG_BAD_VALUE,
            message: format!(
                "the value of parameter {lowered:?} holds a control character (a newline or tab): {value:?}"
            ),
            hint: Some("write the value on one line, without control characters".into()),
        });
    }
    if lowered.contains('.') {
        return Ok(());
    }
    let Some(setting) = lookup(&lowered) else {
        let names = catalog().keys().map(String::as_str);
        let hint = crate::diagnostics::did_you_mean(&lowered, names)
            .map(|s| format!("did you mean {s:?}?"))
            .unwrap_or_else(|| "see the PostgreSQL 17 documentation for setting names".into());
        return Err(Rejection {
            code: codes::PG_UNKNOWN_PARAMETER,
            message: format!("unknown parameter {lowered:?}"),
            hint: Some(hint),
        });
    };
    let ok = match setting.value_type {
        "bool" => {
            matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "on" | "off" | "true" | "false" | "yes" | "no" | "1" | "0"
            )
        }
        "integer" => is_integer_with_unit(value.trim()),
        "real" => value.trim().parse::<f64>().is_ok(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(Rejection {
            code: codes::PG_BAD_VALUE,
            message: format!(
                "parameter {lowered:?} expects a {} value, got {value:?}",
                setting.value_type
            ),
            hint: Some(match setting.value_type {
                "bool" => "use on or off".into(),
                "integer" => {
                    "use a whole number, optionally with a unit such as 128MB or 5min".into()
                }
                _ => "use a number such as 0.5".into(),
            }),
        })
    }
}

/// An optional sign, at least one digit, then an optional letters-only unit.
fn is_integer_with_unit(value: &str) -> bool {
    let unsigned = value.strip_prefix(['+', '-']).unwrap_or(value);
    let digits = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && unsigned[digits..].bytes().all(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_the_upstream_settings_and_the_mixed_case_ones() {
        assert_eq!(len(), 389 + 3);
        assert_eq!(lookup("SHARED_BUFFERS").unwrap().name, "shared_buffers");
        assert!(lookup("shared_buffers").unwrap().requires_restart());
        assert!(!lookup("work_mem").unwrap().requires_restart());
        assert_eq!(lookup("timezone").unwrap().name, "TimeZone");
    }

    #[test]
    fn checks() {
        assert!(check("TimeZone", "UTC").is_ok());
        assert!(check("timezone", "UTC").is_ok());
        assert!(check("pg_stat_statements.max", "anything").is_ok());
        assert!(check("work_mem", "64MB").is_ok());
        assert!(check("fsync", "ON").is_ok());
        assert!(check("random_page_cost", "1.1").is_ok());
        assert_eq!(check("port", "5433").unwrap_err().code, "MG203");
        assert_eq!(check("wal_level", "replica").unwrap_err().code, "MG203");
        let unknown = check("shared_bufers", "1GB").unwrap_err();
        assert_eq!(unknown.code, "MG202");
        assert_eq!(
            unknown.hint.as_deref(),
            Some("did you mean \"shared_buffers\"?")
        );
        assert_eq!(check("work_mem", "64 MB").unwrap_err().code, "MG204");
        assert_eq!(check("fsync", "maybe").unwrap_err().code, "MG204");
        assert_eq!(check("random_page_cost", "fast").unwrap_err().code, "MG204");
    }

    #[test]
    fn settings_the_operator_owns_are_refused_in_any_case() {
        for name in [
            "port",
            "Listen_Addresses",
            "hba_file",
            "config_file",
            "wal_level",
            "multigres.config_reload_marker",
            "block_size",
            "server_version",
        ] {
            assert_eq!(check(name, "1").unwrap_err().code, "MG203", "{name}");
        }
        assert!(owned_by_operator("work_mem").is_none());
        assert!(owned_by_operator("pg_stat_statements.max").is_none());
    }

    #[test]
    fn control_characters_and_malformed_names_are_refused() {
        for value in ["a\nb", "a\rb", "x\ty", "\u{7f}"] {
            assert_eq!(
                check("search_path", value).unwrap_err().code,
                "MG204",
                "{value:?}"
            );
            assert_eq!(
                check("ext.setting", value).unwrap_err().code,
                "MG204",
                "{value:?}"
            );
        }
        for name in ["a.b\nport", "ext.", ".x", "ext.1x", "a b.c"] {
            assert_eq!(check(name, "1").unwrap_err().code, "MG202", "{name:?}");
        }
        assert!(check("pg_stat_statements.track", "all").is_ok());
    }
}
