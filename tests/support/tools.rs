//! External tools some tests run (kpt, kubectl). Rust's test harness has no
//! runtime skip, so a test calls [`require_tool`] first and returns early
//! when it says no. Locally a missing tool is a skip, said on stderr with how
//! to install it; with `CI` set (CI=true on our CI) it is a failure, so CI
//! never skips silently. See docs/development.md.

use std::path::Path;

/// How to install each tool the tests run (docs/development.md says more).
const INSTALL: &[(&str, &str)] = &[
    (
        "kpt",
        "go install github.com/GoogleContainerTools/kpt@v1.0.0-beta.57, then put $(go env GOPATH)/bin on PATH",
    ),
    (
        "go",
        "Go 1.24 or newer, to build the test control plane (testplane/build; docs/development.md)",
    ),
    (
        "kustomize",
        "go install sigs.k8s.io/kustomize/kustomize/v5@v5.7.1, then put $(go env GOPATH)/bin on PATH",
    ),
    (
        "go",
        "the test control plane (testplane/build) builds Kubernetes with Go; see https://go.dev/doc/install",
    ),
    (
        "kubectl",
        "apt-get install kubernetes-client (Debian), or any kubectl from kubernetes.io",
    ),
];

/// Whether `name` is an executable file in a directory of PATH.
fn on_path(name: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| is_executable(&dir.join(name)))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file() || path.with_extension("exe").is_file()
}

/// The running test: libtest names each test's thread after it; a program
/// without the harness (a bench's self-check) runs on `main`, named after
/// its executable instead.
fn current_test() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_owned(),
        _ => std::env::args()
            .next()
            .as_deref()
            .map(Path::new)
            .and_then(Path::file_stem)
            .map(|stem| stem.to_string_lossy().into_owned())
            // Cargo appends `-<hash>` to the names of test executables.
            .map_or_else(
                || "test".to_owned(),
                |stem| {
                    stem.rsplit_once('-')
                        .map_or(stem.clone(), |(name, _)| name.to_owned())
                },
            ),
    }
}

/// Whether the environment variable `CI` is set (and not "false" or "0").
fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "false" | "0"))
}

/// True when `tool` is on PATH. Otherwise prints
/// `SKIPPED <test>: <tool> not found on PATH (install: ...)` to stderr and
/// returns false, or, with the environment variable `CI` set, panics with
/// that message.
pub fn require_tool(tool: &str) -> bool {
    if on_path(tool) {
        return true;
    }
    let test = current_test();
    let install = INSTALL
        .iter()
        .find(|(name, _)| *name == tool)
        .map_or("see docs/development.md", |(_, how)| how);
    let message = format!("{test}: {tool} not found on PATH (install: {install})");
    if on_ci() {
        panic!("{message}; CI is set, so a missing tool fails instead of skipping");
    }
    eprintln!("SKIPPED {message}");
    false
}
