//! `multigres reconcile` as a process for tests: started against the test
//! control plane, watching one test namespace (so tests running side by
//! side never reconcile each other's clusters), with its metrics on a free
//! port. Killed on drop; a failing test prints the end of its log.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Operator {
    child: Option<Child>,
    pub metrics_port: u16,
    pub probe_port: u16,
    pub log: PathBuf,
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Operator {
    /// Starts `multigres reconcile --mode MODE --watch-namespace NAMESPACE
    /// EXTRA…` with `kubeconfig`'s credentials; `env` adds variables.
    pub fn start(
        kubeconfig: &Path,
        mode: &str,
        namespace: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let (metrics_port, probe_port) = (free_port(), free_port());
        let log = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("operator-{namespace}-{metrics_port}.log"));
        let file = std::fs::File::create(&log).expect("the operator's log file");
        let child = Command::new(env!("CARGO_BIN_EXE_multigres"))
            .args(["reconcile", "--mode", mode, "--watch-namespace", namespace])
            .arg(format!("--metrics-bind-address=127.0.0.1:{metrics_port}"))
            .arg(format!(
                "--health-probe-bind-address=127.0.0.1:{probe_port}"
            ))
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env_remove("POD_NAMESPACE")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("a second handle"))
            .stderr(file)
            .spawn()
            .expect("multigres reconcile starts");
        let operator = Self {
            child: Some(child),
            metrics_port,
            probe_port,
            log,
        };
        operator.wait_ready();
        operator
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if get(self.probe_port, "/healthz").is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the operator did not serve /healthz in a minute; see {}",
            self.log.display()
        );
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The body of `GET /metrics`.
    pub fn metrics(&self) -> String {
        get(self.metrics_port, "/metrics").unwrap_or_default()
    }

    /// The value of one sample of `/metrics` (`name{labels}` as printed).
    pub fn sample(&self, series: &str) -> f64 {
        sample(&self.metrics(), series)
    }

    /// `/readyz` answers 200.
    pub fn ready(&self) -> bool {
        get(self.probe_port, "/readyz").is_some()
    }

    /// SIGKILL: no cleanup at all.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (a name `kill -SIGNAL` knows) to the process.
    fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(child.id().to_string())
                .status();
        }
    }

    /// SIGSTOP: frozen where it is; the requests it already sent still
    /// reach the API server.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// SIGCONT after [`Operator::pause`].
    pub fn resume(&self) {
        self.signal("CONT");
    }

    /// The exit status once the process ended by itself, or `None` while
    /// it still runs after `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, and the exit status once it stopped (killed after 30 s).
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        self.signal("TERM");
        let status = self.wait_exit(Duration::from_secs(30));
        if status.is_none() {
            self.kill();
        }
        status
    }

    /// SIGTERM; fails unless the process exits 0 within `limit` (`what`
    /// names it in the failure).
    pub fn assert_stops_on_sigterm(&mut self, limit: Duration, what: &str) {
        let terminated = Instant::now();
        let status = self.terminate();
        let stopped = terminated.elapsed();
        assert!(
            status.is_some_and(|s| s.success()),
            "SIGTERM of {what}: exit 0, not {status:?}"
        );
        assert!(stopped < limit, "SIGTERM took {stopped:?} to stop {what}");
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let text = self.log_text();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!(
                "--- the end of the operator's log ({}):",
                self.log.display()
            );
            for line in &lines[lines.len().saturating_sub(30)..] {
                eprintln!("{line}");
            }
        }
    }
}

/// The value of `series` in a Prometheus text body (0 when absent).
pub fn sample(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|line| {
            line.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

/// `GET path` on a loopback port; the body of a 200, else `None`.
pub fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200")
        .then(|| body.to_owned())
        .or_else(|| head.starts_with("HTTP/1.1 200").then(|| body.to_owned()))
}
