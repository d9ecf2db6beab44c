//! `multigres reconcile`: the in-cluster operator's command line (flags
//! and environment of upstream's §9.1 where they apply).

use std::net::SocketAddr;

use clap::{Args, ValueEnum};

use crate::api::cluster::ImageUpdateStrategy;
use crate::cli::{EXIT_OK, Failure};
use crate::reconcile::{self, Mode, Settings};

#[derive(Args, Debug)]
pub struct ReconcileArgs {
    /// full: apply every static object (a drop-in for the upstream operator);
    /// runtime: a GitOps tool applies them, write only status.
    #[arg(long, value_enum)]
    pub mode: ModeArg,
    /// Address of /metrics (Prometheus text, plain HTTP); 0 disables it.
    #[arg(long, default_value = "0.0.0.0:8080", value_name = "ADDR")]
    pub metrics_bind_address: String,
    /// Address of /healthz and /readyz; 0 disables them.
    #[arg(long, default_value = "0.0.0.0:8081", value_name = "ADDR")]
    pub health_probe_bind_address: String,
    /// Reconcile only while holding the Lease multigres-operator.multigres.com
    /// in $POD_NAMESPACE (run several replicas; one writes).
    #[arg(long)]
    pub leader_elect: bool,
    /// Watch only this namespace (default: every namespace).
    #[arg(long, value_name = "NAMESPACE")]
    pub watch_namespace: Option<String>,
    /// How a cluster adopts a new operator image set (MULTIGRES_IMAGE_*, or
    /// a new release): immediate, or lazy (the cluster keeps its recorded
    /// images until spec.imageUpdatePolicy.acknowledgedRevision names the
    /// new set's revision). A cluster's spec.imageUpdatePolicy.strategy wins.
    #[arg(long, value_enum, default_value_t = StrategyArg::Immediate)]
    pub image_update_strategy: StrategyArg,
    /// Log lines as text or as JSON objects (one per line).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Least severe level logged: error, warn, info, debug or trace (or a
    /// tracing filter such as `multigres=debug,kube=info`).
    #[arg(long, default_value = "info", value_name = "LEVEL")]
    pub log_level: String,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeArg {
    Full,
    Runtime,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrategyArg {
    Immediate,
    Lazy,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// `ADDR`, or `None` for `0`.
fn address(flag: &str, value: &str) -> Result<Option<SocketAddr>, Failure> {
    if value == "0" {
        return Ok(None);
    }
    let value = if value.starts_with(':') {
        format!("0.0.0.0{value}")
    } else {
        value.to_owned()
    };
    value.parse().map(Some).map_err(|e| {
        Failure::Usage(format!(
            "{flag} {value:?}: {e} (expected HOST:PORT, :PORT or 0)"
        ))
    })
}

pub fn reconcile(args: &ReconcileArgs) -> Result<u8, Failure> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let namespace = match (env("POD_NAMESPACE"), args.leader_elect) {
        (Some(ns), _) => ns,
        (None, false) => "default".into(),
        (None, true) => {
            return Err(Failure::Usage(
                "--leader-elect needs POD_NAMESPACE (the namespace of the Lease); the \
                 Deployment of `multigres install operator` sets it from the downward API"
                    .into(),
            ));
        }
    };
    let images =
        reconcile::images_from_env(|name| std::env::var(name).ok()).map_err(Failure::Usage)?;
    let host = env("POD_NAME")
        .or_else(|| env("HOSTNAME"))
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "multigres".into());
    let settings = Settings {
        mode: match args.mode {
            ModeArg::Full => Mode::Full,
            ModeArg::Runtime => Mode::Runtime,
        },
        image_update_strategy: match args.image_update_strategy {
            StrategyArg::Immediate => ImageUpdateStrategy::Immediate,
            StrategyArg::Lazy => ImageUpdateStrategy::Lazy,
        },
        metrics_address: address("--metrics-bind-address", &args.metrics_bind_address)?,
        probe_address: address(
            "--health-probe-bind-address",
            &args.health_probe_bind_address,
        )?,
        leader_elect: args.leader_elect,
        namespace,
        watch_namespace: args.watch_namespace.clone(),
        identity: format!("{host}_{}", std::process::id()),
        images,
    };
    init_logs(args)?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        mode = settings.mode.name(),
        images = %settings.images.revision(),
        "starting"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("cannot start the async runtime: {e}")))?;
    match runtime.block_on(reconcile::run(settings)) {
        Ok(()) => Ok(EXIT_OK),
        Err(message) => {
            tracing::error!(%message, "stopped");
            Err(Failure::Usage(message))
        }
    }
}

fn init_logs(args: &ReconcileArgs) -> Result<(), Failure> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&args.log_level)
        .map_err(|e| Failure::Usage(format!("--log-level {:?}: {e}", args.log_level)))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Text => builder.with_ansi(false).init(),
    }
    Ok(())
}
