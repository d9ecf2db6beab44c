//! Runs the `multigres` binary as a user would, from the repository root,
//! and collects what it printed. Shared by tests/cli.rs and tests/hostile.rs.

use std::io::Write;
use std::process::{Command, Stdio};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `multigres ARGS`, writing `stdin` to it (or nothing) from a thread
/// of its own, so that a reader that stops early (the byte budget does) or
/// a child that never reads cannot block the test; a broken pipe is fine.
pub fn multigres(args: &[&str], stdin: Option<Vec<u8>>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_multigres"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run multigres");
    let mut pipe = child.stdin.take().expect("a piped stdin");
    let writer = std::thread::spawn(move || {
        if let Some(bytes) = stdin {
            let _ = pipe.write_all(&bytes);
        }
    });
    let output = child.wait_with_output().expect("multigres ends");
    writer.join().expect("the stdin writer");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
