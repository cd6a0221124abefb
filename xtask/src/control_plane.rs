//! `cargo xtask control-plane build|up`: the reference control plane.
//!
//! `build` compiles etcd v3.5.21, kube-apiserver, kube-controller-manager and kube-scheduler v1.33.3 from
//! the Go module in `xtask/control-plane/` into `<target>/control-plane/`, with the Go
//! release and version stamps k3s v1.33.3+k3s1 was built with, so that `/version` answers
//! as k3s's does; and kubectl v1.33.3 with upstream's release stamps, for the
//! `registry.k8s.io/kubectl` image `cargo xtask images` builds. `up` runs the control plane
//! (`backends::control_plane`) in the foreground.

use crate::progress::Spinner;
use anyhow::{Context, Result, bail};
use sha2::Digest;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Go release k3s v1.33.3+k3s1 was built with (its `/version`'s `goVersion`); `go`
/// fetches it through the module proxy (`GOTOOLCHAIN`).
const TOOLCHAIN: &str = "go1.24.4";

/// The packages built, the file `go build -o DIR/` writes for each, and the binary it
/// becomes (Go names a `/v3` module's binary after the path element before it).
const PACKAGES: [(&str, &str, &str); 4] = [
    ("go.etcd.io/etcd/server/v3", "server", "etcd"),
    (
        "k8s.io/kubernetes/cmd/kube-apiserver",
        "kube-apiserver",
        "kube-apiserver",
    ),
    (
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        "kube-controller-manager",
        "kube-controller-manager",
    ),
    (
        "k8s.io/kubernetes/cmd/kube-scheduler",
        "kube-scheduler",
        "kube-scheduler",
    ),
];

/// k3s v1.33.3+k3s1's version stamps (`/version` of a real k3s, FIDELITY.md §version),
/// set as k3s's build sets them (`k8s.io/component-base/version`'s variables).
const STAMPS: [(&str, &str); 6] = [
    ("gitMajor", "1"),
    ("gitMinor", "33"),
    ("gitVersion", "v1.33.3+k3s1"),
    ("gitCommit", "236cbf257332b293f444abe6f24d699ff628173e"),
    ("gitTreeState", "clean"),
    ("buildDate", "2025-07-26T02:08:27Z"),
];

/// kubectl, built as upstream's v1.33.3 release was, for the `registry.k8s.io/kubectl`
/// image: its package and upstream's stamps (`kubectl version --client -o json` of the
/// v1.33.3 release: commit 80779bd6…, built 2025-07-15T17:59:41Z with go1.24.4).
const KUBECTL: &str = "k8s.io/kubernetes/cmd/kubectl";
const KUBECTL_STAMPS: [(&str, &str); 6] = [
    ("gitMajor", "1"),
    ("gitMinor", "33"),
    ("gitVersion", "v1.33.3"),
    ("gitCommit", "80779bd6ff08b451e1c165a338a7b69351e9b0b8"),
    ("gitTreeState", "clean"),
    ("buildDate", "2025-07-15T17:59:41Z"),
];

/// Where the binaries go: `<target>/control-plane/`, the folder
/// `backends::control_plane::binaries` finds from any program built in that target.
pub fn out_dir(root: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        root.join(target)
    };
    target.join("control-plane")
}

fn ldflags() -> String {
    stamped(&STAMPS)
}

/// `-ldflags` setting `stamps` in `k8s.io/component-base/version`.
fn stamped(stamps: &[(&str, &str)]) -> String {
    let mut flags = String::from("-s -w");
    for (name, value) in stamps {
        flags.push_str(&format!(" -X k8s.io/component-base/version.{name}={value}"));
    }
    flags
}

/// What the binaries are built from: the module's files, the flags and the toolchain.
fn fingerprint(module: &Path) -> Result<String> {
    let mut hash = sha2::Sha256::new();
    for file in ["go.mod", "go.sum"] {
        let path = module.join(file);
        hash.update(std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
    }
    hash.update(ldflags());
    hash.update(stamped(&KUBECTL_STAMPS));
    hash.update(TOOLCHAIN);
    Ok(format!("{:x}", hash.finalize()))
}

/// Builds the binaries unless those in `out_dir` were built from the same module, flags
/// and toolchain. Shows each package as Go compiles it, and the time it takes.
pub fn build(root: &Path) -> Result<PathBuf> {
    let module = root.join("xtask/control-plane");
    let out = out_dir(root);
    let stamp = out.join(".built-from");
    let want = fingerprint(&module)?;
    let complete =
        PACKAGES.iter().all(|(_, _, bin)| out.join(bin).is_file()) && out.join("kubectl").is_file();
    if complete && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == want) {
        eprintln!(
            "the reference control plane is up to date in {}",
            out.display()
        );
        return Ok(out);
    }
    check_go()?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let log_path = out.join("build.log");
    let _ = std::fs::remove_file(&log_path);
    let started = std::time::Instant::now();
    eprintln!(
        "building etcd v3.5.21, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl v1.33.3 with {TOOLCHAIN} \
         into {} (about 8 minutes of CPU the first time; Go's caches make later builds quick)",
        out.display()
    );
    let spinner = Spinner::start("fetching modules and the Go toolchain".into());
    let control_plane: Vec<&str> = PACKAGES.iter().map(|(p, _, _)| *p).collect();
    let builds = [
        (control_plane, ldflags(), vec!["-tags", "providerless"]),
        (vec![KUBECTL], stamped(&KUBECTL_STAMPS), vec![]),
    ];
    let mut ok = true;
    for (packages, flags, extra) in &builds {
        ok = ok && run_go_build(&module, &out, &log_path, &spinner, packages, flags, extra)?;
    }
    drop(spinner);
    if !ok {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "go build failed; the end of its output ({}):\n{}",
            log_path.display(),
            tail.join("\n")
        );
    }
    for (_, built, bin) in PACKAGES {
        if built != bin {
            std::fs::rename(out.join(built), out.join(bin))
                .with_context(|| format!("renaming {built} to {bin} in {}", out.display()))?;
        }
    }
    std::fs::write(&stamp, &want).with_context(|| format!("writing {}", stamp.display()))?;
    eprintln!(
        "built {} in {:.0} s",
        PACKAGES.map(|(_, _, b)| b).join(", ") + ", kubectl",
        started.elapsed().as_secs_f64()
    );
    Ok(out)
}

/// `go` is on PATH, or a clear error that says how to get it.
fn check_go() -> Result<()> {
    match Command::new("go").arg("version").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => bail!(
            "Go is not on PATH: the reference control plane is built from Go modules. \
             Install Go 1.24 or newer (https://go.dev/dl/, or your distribution's golang \
             package) and run `cargo xtask control-plane build` again"
        ),
    }
}

/// Runs `go build -v`, counting the packages it reports on the spinner; its whole output
/// goes to `log_path`. Returns whether it succeeded.
fn run_go_build(
    module: &Path,
    out: &Path,
    log_path: &Path,
    spinner: &Spinner,
    packages: &[&str],
    ldflags: &str,
    extra: &[&str],
) -> Result<bool> {
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let mut child = Command::new("go")
        .current_dir(module)
        .env("GOTOOLCHAIN", TOOLCHAIN)
        .env("CGO_ENABLED", "0")
        .args(["build", "-v", "-trimpath"])
        .args(extra)
        .arg("-ldflags")
        .arg(ldflags)
        .arg("-o")
        .arg(format!("{}/", out.display()))
        .args(packages)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running go build")?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut compiled = 0usize;
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.context("reading go build's output")?;
        use std::io::Write;
        writeln!(log, "{line}").context("writing the build log")?;
        if !line.starts_with("go: ") && !line.contains(' ') {
            compiled += 1;
            spinner.say(format!("compiled {compiled} packages, now {line}"));
        } else {
            spinner.say(line);
        }
    }
    Ok(child.wait().context("waiting for go build")?.success())
}

/// `cargo xtask control-plane up`: starts the control plane with kubelab's node joined,
/// writes the admin kubeconfig, and runs until Ctrl-C, SIGTERM, the death of the process
/// that started this one, or a component's exit; then stops every pod and process and
/// removes the data directory.
pub fn up(root: &Path, kubeconfig: &Path, port: u16) -> Result<i32> {
    let bin = build(root)?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async move {
        let data = backends::fresh_dir("control-plane").context("creating the data directory")?;
        let spinner = Spinner::start("starting".into());
        let started = std::time::Instant::now();
        let cluster = backends::control_plane::ControlPlaneCluster::start(
            &bin,
            &data,
            port,
            crate::pull::progress_bars(),
            &|what| spinner.say(what.to_string()),
        )
        .await
        .map_err(anyhow::Error::msg)
        .context("starting the reference control plane")?;
        drop(spinner);
        let plane = cluster.plane();
        let dir = kubeconfig.parent().map(PathBuf::from).unwrap_or_default();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        harness::kubeconfig::write(kubeconfig, &plane.kubeconfig())?;
        eprintln!(
            "reference control plane (etcd v3.5.21, kube-apiserver, kube-controller-manager and \
             kube-scheduler v1.33.3) serving on {}, its node joined at {}, after {:.1} s",
            plane.url(),
            cluster.node_ip(),
            started.elapsed().as_secs_f64()
        );
        eprintln!("press Ctrl-C to stop");
        println!("export KUBECONFIG={}", kubeconfig.display());
        let why = crate::until_stopped(|| plane.exited()).await?;
        eprintln!("{why}: stopping");
        let failed = plane.exited().is_some();
        cluster.stop().await;
        let _ = std::fs::remove_dir_all(&data);
        Ok(if failed { 1 } else { 0 })
    })
}

/// Builds the reference control plane, starts it in a scratch folder named after `what`,
/// hands an admin client to `read`, and stops it whatever `read` returns: how the
/// generators (`gen-bootstrap`, `gen-openapi`) read what upstream serves.
pub fn read_from_reference<T, F>(
    root: &Path,
    what: &str,
    read: impl FnOnce(kube::Client) -> F,
) -> Result<T>
where
    F: std::future::Future<Output = Result<T>>,
{
    let bin = build(root)?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        let dir = backends::fresh_dir(what).context("creating a work dir")?;
        let plane = backends::control_plane::ControlPlane::start(&bin, &dir, 0, &|step| {
            eprintln!("{step}")
        })
        .await
        .context("starting the reference control plane")?;
        let client = async {
            let config = kube::Config::from_custom_kubeconfig(
                plane.kubeconfig(),
                &kube::config::KubeConfigOptions::default(),
            )
            .await?;
            anyhow::Ok(kube::Client::try_from(config)?)
        }
        .await;
        let result = match client {
            Ok(client) => read(client).await,
            Err(e) => Err(e),
        };
        plane.stop().await;
        result
    })
}
