//! kubelab's task runner: `cargo xtask cluster up` today; `lab`, `docs` and `bench` join it
//! as the harness lands. Exit codes live in `ExitCode` below.

mod docs;
mod lab;
mod schema_gen;

use anyhow::{Context, Result, bail};
use std::path::PathBuf;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  cluster up [--kubeconfig PATH] [--port N]
      start an embedded Kubernetes v1.33 cluster in the foreground and write an admin
      kubeconfig (default: target/kubelab/kubeconfig); Ctrl-C stops it
  lab list
      the labs, with their titles
  lab N [--yes] [--step K] [--keep] [--shell] [--backend embedded]
      walk lab N on a fresh cluster: each command, its output, and whether it matches
      the verified snapshot; Enter runs the next step.
        --yes      no pauses
        --step K   start at step K; earlier steps run silently
        --keep     leave the cluster up afterwards and print its KUBECONFIG; Ctrl-C stops it
        --shell    finish in an interactive shell in the lab's pod
      Exit codes: 0 all steps match, 1 a step differs, 2 usage error, 3 backend failure

environment:
  KUBELAB_BACKEND   the backend when --backend is not given (default: embedded)
  KUBELAB_ROOT      read scenarios/ and labs/ from this folder instead of the workspace
  docs [--check]
      fill the course pages' generated blocks (docs/src) from the scenarios and their
      verified snapshots and build the book into docs/book; --check only reports stale
      blocks (exit 1)
  bench
      measure the embedded cluster against its targets (release build; see
      crates/apiserver/benches/server.rs and crates/kubelet/benches/pods.rs)
  gen-schema --api DIR --apimachinery DIR
      regenerate crates/apiserver/src/schema/types.txt from checkouts of k8s.io/api and
      k8s.io/apimachinery at the emulated release (v0.33.3)
";

/// Exit codes, in one place.
mod exit {
    pub const USAGE: i32 = 2;
    pub const BACKEND: i32 = 3;
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match run(&args) {
        Ok(()) => 0,
        Err(e) if e.is::<UsageError>() => {
            eprintln!("error: {e}\n\n{USAGE}");
            exit::USAGE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::BACKEND
        }
    };
    std::process::exit(code);
}

#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

fn run(args: &[String]) -> Result<()> {
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["cluster", "up", rest @ ..] => cluster_up(rest),
        ["docs"] | ["docs", "--check"] => {
            let root = course_root();
            let check = args.len() == 2;
            std::process::exit(docs::run(&root, &lab::discover(&root)?, check)?)
        }
        ["lab", "list"] | ["lab"] => {
            lab::list(&lab::discover(&course_root())?, &mut std::io::stdout())?;
            Ok(())
        }
        ["lab", n, rest @ ..] => {
            let labs = lab::discover(&course_root())?;
            let mut opts = lab::Options::default();
            let mut it = rest.iter();
            while let Some(a) = it.next() {
                match *a {
                    "--yes" | "-y" => opts.yes = true,
                    "--keep" => opts.keep = true,
                    "--shell" => opts.shell = true,
                    "--step" => {
                        let k = it
                            .next()
                            .ok_or_else(|| usage("--step needs a step number"))?;
                        opts.from_step = Some(
                            k.parse()
                                .map_err(|_| usage(format!("--step: not a step number: {k}")))?,
                        );
                    }
                    "--backend" => {
                        opts.backend = Some(
                            it.next()
                                .ok_or_else(|| {
                                    usage("--backend needs embedded, k3s or kubeconfig")
                                })?
                                .to_string(),
                        )
                    }
                    other => return Err(usage(format!("unknown flag for lab: {other}"))),
                }
            }
            let found = n
                .parse::<u32>()
                .ok()
                .and_then(|n| labs.iter().find(|f| f.lab.number == n));
            let Some(found) = found else {
                eprintln!("error: there is no lab {n}; the labs are:");
                lab::list(&labs, &mut std::io::stderr())?;
                std::process::exit(lab::exit::USAGE);
            };
            lab::check(found, &opts).map_err(usage)?;
            let code = lab::walk(found, &opts)?;
            std::process::exit(code);
        }
        ["gen-schema", "--api", api, "--apimachinery", am] => schema_gen::run(
            api.as_ref(),
            am.as_ref(),
            &workspace_root().join(schema_gen::OUTPUT),
        ),
        ["help" | "--help" | "-h"] | [] => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(usage(format!("unknown command: {}", other.join(" ")))),
    }
}

/// Where `scenarios/` and `labs/` are read from: `KUBELAB_ROOT` when set (a copy of the
/// course being edited), this workspace otherwise.
fn course_root() -> PathBuf {
    std::env::var_os("KUBELAB_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(workspace_root)
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cluster_up(rest: &[&str]) -> Result<()> {
    let mut kubeconfig = workspace_root().join("target/kubelab/kubeconfig");
    let mut port: u16 = 0;
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        match *arg {
            "--kubeconfig" => {
                kubeconfig = PathBuf::from(
                    it.next()
                        .ok_or_else(|| usage("--kubeconfig needs a path"))?,
                );
            }
            "--port" => {
                let v = it.next().ok_or_else(|| usage("--port needs a number"))?;
                port = v
                    .parse()
                    .map_err(|_| usage(format!("--port: not a port number: {v}")))?;
            }
            other => return Err(usage(format!("unknown flag for cluster up: {other}"))),
        }
    }
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
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let config = apiserver::Config {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            socket: Some(dir.join("apiserver.sock")),
            ..apiserver::Config::default()
        };
        let cluster = match apiserver::Cluster::start(config).await {
            Ok(c) => c,
            Err(e) => bail!(
                "{}",
                anyhow::Error::new(e)
                    .context("starting the embedded cluster")
                    .chain()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(": ")
            ),
        };
        // The node: the embedded kubelet runs the cluster's pods as sandboxed processes.
        let client = kube::Client::new(cluster.service_as(apiserver::UserInfo::admin()), "default");
        let kubelet = kubelet::Kubelet::new(
            client,
            kubelet::Config {
                node_name: apiserver::NODE_NAME.into(),
                runtime_dir: dir.join("run"),
                api_socket: dir.join("apiserver.sock"),
            },
        );
        cluster.attach_runtime(kubelet.clone());
        let node = tokio::spawn(kubelet.clone().run());
        write_private(&kubeconfig, &cluster.admin_kubeconfig())?;
        let ca = dir.join("ca.crt");
        write_private(&ca, &cluster.state.pki.server_ca.cert_pem)?;
        eprintln!(
            "embedded Kubernetes v1.33 API server serving on {}",
            cluster.url()
        );
        eprintln!("CA certificate: {}", ca.display());
        eprintln!("press Ctrl-C to stop");
        println!("export KUBECONFIG={}", kubeconfig.display());
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        eprintln!("stopping");
        node.abort();
        let _ = node.await;
        kubelet.shutdown();
        cluster.shutdown().await;
        let _ = std::fs::remove_dir_all(dir.join("run"));
        Ok(())
    })
}

/// Writes a file readable only by its owner (it holds a private key).
fn write_private(path: &std::path::Path, contents: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(contents.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
