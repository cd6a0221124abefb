//! kubelab's task runner: `cargo xtask cluster up`, `lab`, `docs`, `bench` and
//! `gen-schema`. Arguments and help come from clap; exit codes live in `exit` below.

mod bench;
mod bootstrap_gen;
mod control_plane;
mod docs;
mod images;
mod lab;
mod openapi_gen;
mod progress;
mod pull;
mod schema_gen;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "kubelab's task runner: walk the labs, run a cluster, build the course",
    after_help = "\
Environment:
  KUBELAB_BACKEND   the backend when --backend is not given (default: embedded)
  KUBELAB_ROOT      read scenarios/ and labs/ from this folder instead of the checkout
  KUBELAB_LOG       log filter for the embedded cluster (e.g. debug)

Exit codes of `lab N`: 0 every step matches, 1 a step differs, 2 usage error,
3 the backend failed."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// An embedded Kubernetes v1.33 cluster for your own kubectl
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// The reference control plane: real etcd, kube-apiserver and kube-controller-manager
    /// v1.33.3, built from their Go modules and started as k3s starts them
    #[command(subcommand, name = "control-plane")]
    ControlPlane(ControlPlaneCommand),
    /// Walk a lab step by step, or list the labs (`lab list`)
    Lab {
        /// A lab number, or `list`
        #[arg(value_name = "N|list")]
        which: Option<String>,
        #[command(flatten)]
        options: lab::Options,
    },
    /// Fill the course pages' generated blocks from the verified snapshots and build the
    /// book into docs/book
    Docs {
        /// Only report stale blocks (exit 1 when one is)
        #[arg(long)]
        check: bool,
    },
    /// Build the course's images offline from Debian's packages (mmdebstrap) into the
    /// image store, for machines that reach no registry
    Images(images::Options),
    /// Run every benchmark (release build) and print one table: each figure, its target,
    /// and the baseline it was measured against in the same run
    Bench,
    /// Regenerate crates/apiserver/src/schema/types.txt from checkouts of k8s.io/api,
    /// k8s.io/apimachinery, k8s.io/kube-aggregator and k8s.io/apiextensions-apiserver at
    /// the emulated release (v0.33.3)
    GenSchema {
        #[arg(long, value_name = "DIR")]
        api: PathBuf,
        #[arg(long, value_name = "DIR")]
        apimachinery: PathBuf,
        #[arg(long, value_name = "DIR")]
        kube_aggregator: PathBuf,
        #[arg(long, value_name = "DIR")]
        apiextensions_apiserver: PathBuf,
    },
    /// Regenerate crates/apiserver/src/bootstrap/upstream.yaml, the objects every fresh
    /// cluster holds, from the reference control plane
    GenBootstrap,
    /// Regenerate crates/apiserver/src/openapi/documents.gz, the OpenAPI v2 and v3
    /// documents, from the reference control plane
    GenOpenapi,
}

#[derive(Debug, Subcommand)]
enum ClusterCommand {
    /// Start an embedded cluster in the foreground and write an admin kubeconfig;
    /// Ctrl-C stops it
    Up {
        /// Where to write the kubeconfig [default: target/kubelab/kubeconfig]
        #[arg(long, value_name = "PATH")]
        kubeconfig: Option<PathBuf>,
        /// The API server's port on 127.0.0.1 [default: any free port]
        #[arg(long, value_name = "N", default_value_t = 0)]
        port: u16,
    },
}

#[derive(Debug, Subcommand)]
enum ControlPlaneCommand {
    /// Build etcd, kube-apiserver and kube-controller-manager into target/control-plane
    /// (needs Go; cached)
    Build,
    /// Build if needed, start the control plane in the foreground and write an admin
    /// kubeconfig; Ctrl-C stops it
    Up {
        /// Where to write the kubeconfig [default: target/kubelab/control-plane/kubeconfig]
        #[arg(long, value_name = "PATH")]
        kubeconfig: Option<PathBuf>,
        /// The API server's port on 127.0.0.1 [default: any free port]
        #[arg(long, value_name = "N", default_value_t = 0)]
        port: u16,
    },
}

fn main() {
    let cli = Cli::parse();
    let code = match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            lab::exit::BACKEND
        }
    };
    std::process::exit(code);
}

fn run(command: Command) -> Result<i32> {
    match command {
        Command::Cluster(ClusterCommand::Up { kubeconfig, port }) => {
            let kubeconfig = match kubeconfig {
                Some(k) => k,
                None => workspace_root()?.join("target/kubelab/kubeconfig"),
            };
            cluster_up(&kubeconfig, port).map(|()| 0)
        }
        Command::ControlPlane(ControlPlaneCommand::Build) => {
            control_plane::build(&workspace_root()?).map(|_| 0)
        }
        Command::ControlPlane(ControlPlaneCommand::Up { kubeconfig, port }) => {
            let root = workspace_root()?;
            let kubeconfig =
                kubeconfig.unwrap_or_else(|| root.join("target/kubelab/control-plane/kubeconfig"));
            control_plane::up(&root, &kubeconfig, port)
        }
        Command::Lab { which, options } => {
            let labs = lab::discover(&course_root()?)?;
            let which = which.as_deref().unwrap_or("list");
            if which == "list" {
                lab::list(&labs, &mut std::io::stdout())?;
                return Ok(0);
            }
            let found = which
                .parse::<u32>()
                .ok()
                .and_then(|n| labs.iter().find(|f| f.lab.number == n));
            let Some(found) = found else {
                eprintln!("error: there is no lab {which}; the labs are:");
                lab::list(&labs, &mut std::io::stderr())?;
                return Ok(lab::exit::USAGE);
            };
            if let Err(e) = lab::check(found, &options) {
                eprintln!("error: {e}");
                return Ok(lab::exit::USAGE);
            }
            lab::walk(found, &options)
        }
        Command::Docs { check } => {
            let root = course_root()?;
            docs::run(&root, &lab::discover(&root)?, check)
        }
        Command::Images(options) => images::run(&workspace_root()?, &options),
        Command::Bench => bench::run(&workspace_root()?),
        Command::GenBootstrap => bootstrap_gen::run(&workspace_root()?),
        Command::GenOpenapi => openapi_gen::run(&workspace_root()?),
        Command::GenSchema {
            api,
            apimachinery,
            kube_aggregator,
            apiextensions_apiserver,
        } => {
            let out = workspace_root()?.join(schema_gen::OUTPUT);
            let sources = schema_gen::Sources {
                api,
                apimachinery,
                kube_aggregator,
                apiextensions_apiserver,
            };
            schema_gen::run(&sources, &out).map(|()| 0)
        }
    }
}

/// Where `scenarios/` and `labs/` are read from: `KUBELAB_ROOT` when set (a copy of the
/// course being edited), the checkout otherwise.
fn course_root() -> Result<PathBuf> {
    match std::env::var_os("KUBELAB_ROOT") {
        Some(root) => Ok(PathBuf::from(root)),
        None => workspace_root(),
    }
}

/// The checkout this run serves, found at run time so that one binary serves whichever
/// checkout starts it (two checkouts may share a target directory): `cargo xtask`
/// (`cargo run`) sets `CARGO_MANIFEST_DIR` to this checkout's `xtask/`; run directly,
/// the nearest ancestor of the current directory that holds kubelab's workspace.
fn workspace_root() -> Result<PathBuf> {
    if let Some(xtask) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from)
        && let Some(root) = xtask.parent()
        && is_workspace(root)
    {
        return Ok(root.to_path_buf());
    }
    let cwd = std::env::current_dir().context("reading the current directory")?;
    cwd.ancestors()
        .find(|d| is_workspace(d))
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "{} is not inside a kubelab checkout: run cargo xtask in one, or set KUBELAB_ROOT",
                cwd.display()
            )
        })
}

fn is_workspace(dir: &Path) -> bool {
    dir.join("xtask/Cargo.toml").is_file()
        && std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
}

fn cluster_up(kubeconfig: &Path, port: u16) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KUBELAB_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async move {
        let dir = kubeconfig.parent().map(PathBuf::from).unwrap_or_default();
        let cluster = backends::EmbeddedCluster::start_observed(&dir, port, pull::progress_bars())
            .await
            .context("starting the embedded cluster")?;
        harness::kubeconfig::write(kubeconfig, &cluster.kubeconfig())?;
        let ca = dir.join("ca.crt");
        std::fs::write(&ca, cluster.ca_pem())
            .with_context(|| format!("writing {}", ca.display()))?;
        eprintln!(
            "embedded Kubernetes v1.33 API server serving on {}",
            cluster.url()
        );
        eprintln!("CA certificate: {}", ca.display());
        eprintln!("press Ctrl-C to stop");
        println!("export KUBECONFIG={}", kubeconfig.display());
        let why = until_stopped(|| None).await?;
        eprintln!("{why}: stopping");
        cluster.stop().await;
        Ok(())
    })
}

/// Waits until the foreground cluster should stop, and says why: Ctrl-C, SIGTERM, the
/// process that started this one has gone (this one was re-parented), or `broken` has
/// something to say (checked twice a second).
async fn until_stopped(broken: impl Fn() -> Option<String>) -> Result<String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let parent = std::os::unix::process::parent_id();
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
    loop {
        tokio::select! {
            r = tokio::signal::ctrl_c() => {
                r.context("listening for Ctrl-C")?;
                return Ok("interrupted".into());
            }
            _ = term.recv() => return Ok("terminated".into()),
            _ = tick.tick() => {
                if std::os::unix::process::parent_id() != parent {
                    return Ok("the process that started this one has exited".into());
                }
                if let Some(why) = broken() {
                    return Ok(why);
                }
            }
        }
    }
}
