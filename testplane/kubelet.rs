//! `testplane-kubelet`: the simulated kubelet of tests/support/kubelet.rs
//! as a process, so that a control plane of `testplane/up DIR` runs pods
//! for a person with kubectl as it does for the tests. `testplane/up`
//! builds and starts it (`--no-kubelet` leaves it out); `testplane/down`
//! stops it with SIGTERM.
//!
//! A cargo example, not a binary of the package: it uses the dev-dependencies
//! (kube client, tokio) that the shipped binary must not carry.
//!
//! ```text
//! testplane-kubelet --kubeconfig FILE [--node NAME=REGION/ZONE]...
//! ```
//!
//! Without `--node`: three nodes, `testplane-a`, `testplane-b` and
//! `testplane-c`, in zones `zone-a`, `zone-b`, `zone-c` of `region-1`
//! (the layout tests/kubelet.rs uses). It manages the pods of every
//! namespace. It logs on stderr (`testplane/up` sends that to
//! DIR/logs/kubelet.log).

// The steering API (hold, crash_loop, ...) is for tests; this process only
// runs the simulator.
#[allow(dead_code)]
#[path = "../tests/support/kubelet.rs"]
mod kubelet;

use std::path::PathBuf;
use std::process::ExitCode;

use kubelet::{Kubelet, NodeSpec, Options};

const USAGE: &str = "usage: testplane-kubelet --kubeconfig FILE [--node NAME=REGION/ZONE]...";

#[derive(Debug)]
struct Args {
    kubeconfig: PathBuf,
    nodes: Vec<NodeSpec>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut kubeconfig = None;
    let mut nodes = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--kubeconfig" => kubeconfig = Some(PathBuf::from(value("--kubeconfig")?)),
            "--node" => nodes.push(parse_node(&value("--node")?)?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if nodes.is_empty() {
        nodes = ["a", "b", "c"]
            .iter()
            .map(|zone| {
                NodeSpec::new(
                    format!("testplane-{zone}"),
                    "region-1",
                    format!("zone-{zone}"),
                )
            })
            .collect();
    }
    Ok(Args {
        kubeconfig: kubeconfig.ok_or("--kubeconfig is required")?,
        nodes,
    })
}

/// `NAME=REGION/ZONE`.
fn parse_node(text: &str) -> Result<NodeSpec, String> {
    let parsed = text.split_once('=').and_then(|(name, place)| {
        let (region, zone) = place.split_once('/')?;
        let parts = [name, region, zone];
        (!parts.iter().any(|p| p.is_empty())).then(|| NodeSpec::new(name, region, zone))
    });
    parsed.ok_or(format!("--node {text:?}: expected NAME=REGION/ZONE"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("testplane-kubelet: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let client = match client(&args.kubeconfig).await {
        Ok(client) => client,
        Err(message) => {
            eprintln!(
                "testplane-kubelet: {}: {message}",
                args.kubeconfig.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    let mut kubelet = Kubelet::start_with(client, &args.nodes, Options::default()).await;
    let names: Vec<String> = args
        .nodes
        .iter()
        .map(|n| format!("{} ({}/{})", n.name, n.region, n.zone))
        .collect();
    eprintln!("testplane-kubelet: running nodes {}", names.join(", "));
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    kubelet.stop();
    eprintln!("testplane-kubelet: stopped");
    ExitCode::SUCCESS
}

async fn client(kubeconfig: &std::path::Path) -> Result<kube::Client, String> {
    let kubeconfig = kube::config::Kubeconfig::read_from(kubeconfig).map_err(|e| e.to_string())?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .map_err(|e| e.to_string())?;
    kube::Client::try_from(config).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn three_nodes_in_three_zones_by_default() {
        let parsed = args(&["--kubeconfig", "k"]).unwrap();
        let nodes: Vec<(&str, &str, &str)> = parsed
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), n.region.as_str(), n.zone.as_str()))
            .collect();
        assert_eq!(
            nodes,
            [
                ("testplane-a", "region-1", "zone-a"),
                ("testplane-b", "region-1", "zone-b"),
                ("testplane-c", "region-1", "zone-c"),
            ]
        );
    }

    #[test]
    fn nodes_come_from_the_command_line() {
        let parsed = args(&["--node", "n1=eu/eu-1", "--kubeconfig", "k"]).unwrap();
        assert_eq!(parsed.nodes.len(), 1);
        assert_eq!(
            (
                parsed.nodes[0].name.as_str(),
                parsed.nodes[0].region.as_str()
            ),
            ("n1", "eu")
        );
        assert_eq!(parsed.nodes[0].zone, "eu-1");
        assert!(args(&["--node", "n1=eu"]).is_err());
        assert!(args(&["--node", "=eu/z"]).is_err());
        assert!(args(&[]).unwrap_err().contains("--kubeconfig"));
        assert!(args(&["--bogus"]).is_err());
    }
}
