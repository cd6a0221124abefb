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
    let mut cluster = ClusterUp::start(kubeconfig.clone());
    let line = &cluster.first_line;
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

    if let Some(kubectl) = testkit::host_tool("kubectl", testkit::install::KUBECTL) {
        let ns = Command::new(kubectl)
            .args(["get", "ns", "default", "-o", "name"])
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&ns.stdout), "namespace/default\n");
    }

    let code = cluster
        .interrupt()
        .expect("cluster up did not stop on SIGINT");
    assert_eq!(code, Some(0));
    // The Unix socket is removed on the way out.
    assert!(!dir.join("apiserver.sock").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, stderr) = xtask(&["cluster", "up", "--port", "x"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("invalid value 'x' for '--port <N>'"),
        "{stderr}"
    );
    let (code, _, _) = xtask(&["nope"]);
    assert_eq!(code, Some(2));
}

#[test]
fn lab_list_and_unknown_lab() {
    let (code, stdout, _) = xtask(&["lab", "list"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("Proxy access"), "{stdout}");
    assert!(stdout.contains("CA verification"), "{stdout}");

    let (code, _, stderr) = xtask(&["lab", "42"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("42"), "{stderr}");
    assert!(stderr.contains("Proxy access"), "{stderr}");
}

/// A backend that cannot start is exit code 3 with what to do; an unknown one too.
#[test]
fn backend_failures_exit_3_and_say_what_to_do() {
    let (code, _, stderr) = xtask(&["lab", "3", "--yes", "--backend", "nowhere"]);
    assert_eq!(code, Some(3));
    assert!(
        stderr.contains("the backends are embedded, control-plane, k3s or kubeconfig"),
        "{stderr}"
    );
    if docker_present() {
        eprintln!("not run, the k3s half: a Docker engine is present here");
        return;
    }
    let started = Instant::now();
    let (code, _, stderr) = xtask(&["lab", "3", "--yes", "--backend", "k3s"]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("needs a Docker engine"), "{stderr}");
    assert!(stderr.contains("--backend embedded"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

fn docker_present() -> bool {
    std::env::var_os("DOCKER_HOST").is_some()
        || std::path::Path::new("/var/run/docker.sock").exists()
}

#[test]
fn lab_walks_every_step_non_interactively() {
    if !testkit::host_tools(&[
        ("curl", testkit::install::CURL),
        ("kubectl", testkit::install::KUBECTL),
    ]) {
        return;
    }
    let (code, stdout, stderr) = xtask(&["lab", "3", "--yes"]);
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains('✓'), "{stdout}");
}

/// Editing a scenario's command on purpose makes `lab N --yes` exit 1 with a diff that
/// shows the verified line and the new one.
#[test]
fn a_broken_step_fails_with_a_diff() {
    if !testkit::host_tools(&[
        ("curl", testkit::install::CURL),
        ("kubectl", testkit::install::KUBECTL),
    ]) {
        return;
    }
    let root = copy_of_lab3("broken");
    let scen = root.join("scenarios/03-ca-verification");
    let yaml = std::fs::read_to_string(scen.join("scenario.yaml")).unwrap();
    let broken = yaml.replacen(
        "run: \"ls /var/run/secrets/kubernetes.io/serviceaccount\"",
        "run: \"ls -a /var/run/secrets/kubernetes.io/serviceaccount\"",
        1,
    );
    assert_ne!(yaml, broken, "the step to break is no longer in lab 3");
    std::fs::write(scen.join("scenario.yaml"), broken).unwrap();

    let (code, stdout, _) = xtask_in(&root, &["lab", "3", "--yes"]);
    let _ = std::fs::remove_dir_all(&root);
    assert_eq!(code, Some(1), "{stdout}");
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

/// A course folder (for `KUBELAB_ROOT`) holding only lab 3: its scenario, snapshots and page.
fn copy_of_lab3(tag: &str) -> std::path::PathBuf {
    let ws = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let root = std::env::temp_dir().join(format!("kubelab-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for dir in [
        "scenarios/03-ca-verification",
        "labs/lab03-ca-verification/snapshots",
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        for e in std::fs::read_dir(ws.join(dir)).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, root.join(dir).join(p.file_name().unwrap())).unwrap();
        }
    }
    let page = "docs/src/labs/03-ca-verification.md";
    std::fs::create_dir_all(root.join("docs/src/labs")).unwrap();
    std::fs::copy(ws.join(page), root.join(page)).unwrap();
    std::fs::write(
        root.join("docs/src/SUMMARY.md"),
        "# Summary\n\n- [3. CA verification](labs/03-ca-verification.md)\n",
    )
    .unwrap();
    root
}

/// Runs `cargo xtask ARGS` on this workspace: exit code, stdout, stderr.
fn xtask(args: &[&str]) -> (Option<i32>, String, String) {
    output(Command::new(env!("CARGO_BIN_EXE_xtask")).args(args))
}

/// Runs `cargo xtask ARGS` on the course copy at `root` (`KUBELAB_ROOT`).
fn xtask_in(root: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    output(
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .env("KUBELAB_ROOT", root),
    )
}

fn output(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_course_pages_are_up_to_date() {
    let (code, stdout, stderr) = xtask(&["docs", "--check"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
}

#[test]
fn docs_check_finds_stale_and_missing_blocks() {
    let root = copy_of_lab3("docs");
    let page = root.join("docs/src/labs/03-ca-verification.md");
    let text = std::fs::read_to_string(&page).unwrap();
    let (code, _, stderr) = xtask_in(&root, &["docs", "--check"]);
    assert_eq!(code, Some(0), "{stderr}");

    // A snapshot that changed since the page was generated: the page is stale.
    let snap = root.join("labs/lab03-ca-verification/snapshots/lab03__03-secret-files.snap");
    let s = std::fs::read_to_string(&snap).unwrap();
    std::fs::write(&snap, s.replace("namespace\n", "namespace\nextra\n")).unwrap();
    let (code, _, stderr) = xtask_in(&root, &["docs", "--check"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("stale: docs/src/labs/03-ca-verification.md"),
        "{stderr}"
    );
    assert!(stderr.contains("+ extra"), "{stderr}");
    std::fs::write(&snap, s).unwrap();

    // A step the page does not show.
    let without = text.replace(
        "<!-- kubelab:step 04-untrusted -->",
        "<!-- kubelab:goals -->",
    );
    std::fs::write(&page, without).unwrap();
    let (code, _, stderr) = xtask_in(&root, &["docs", "--check"]);
    assert_ne!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("step 04-untrusted is shown 0 times"),
        "{stderr}"
    );

    // A marker naming a step that does not exist, with file and line.
    let line = text
        .lines()
        .position(|l| l.contains("kubelab:step 04-untrusted"))
        .unwrap()
        + 1;
    std::fs::write(&page, text.replace("step 04-untrusted", "step 04-nope")).unwrap();
    let (code, _, stderr) = xtask_in(&root, &["docs", "--check"]);
    assert_ne!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "03-ca-verification.md:{line}: lab 3 has no step 04-nope"
        )),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// Under a terminal, `lab N` shows a step and waits for Enter before running it.
#[test]
fn lab_pauses_for_enter_under_a_terminal() {
    use std::io::{Read, Write};
    if !testkit::host_tools(&[
        ("script", testkit::install::SCRIPT),
        ("curl", testkit::install::CURL),
        ("kubectl", testkit::install::KUBECTL),
    ]) {
        return;
    }
    // script(1) gives the walk a pseudo-terminal; its stdin feeds our keystrokes.
    let cmd = format!("{} lab 3", env!("CARGO_BIN_EXE_xtask"));
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let first = read_until(&rx, &mut seen, "(Enter to run)", 60);
    assert!(first.contains("$ kubectl apply -f curl.yaml"), "{first}");
    // Nothing runs until Enter.
    std::thread::sleep(Duration::from_millis(500));
    while let Ok(chunk) = rx.try_recv() {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        !seen.contains("pod/curl created"),
        "ran without Enter:\n{seen}"
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\n").unwrap();
    read_until(&rx, &mut seen, "pod/curl created", 60);
    for _ in 0..10 {
        stdin.write_all(b"\n").unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "lab 3 did not finish:\n{seen}");
        std::thread::sleep(Duration::from_millis(50));
    };
    while let Ok(chunk) = rx.recv_timeout(Duration::from_millis(200)) {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(status.success(), "{seen}");
    assert_eq!(seen.matches("✓ matches").count(), 7, "{seen}");
}

/// Reads chunks from `rx` into `seen` until it holds `needle`; panics with what it saw after
/// `secs` seconds.
fn read_until(
    rx: &std::sync::mpsc::Receiver<Vec<u8>>,
    seen: &mut String,
    needle: &str,
    secs: u64,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !seen.contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            Err(_) => panic!("waited for {needle:?}; got:\n{seen}"),
        }
    }
    seen.clone()
}

/// A binary built in one checkout serves the checkout it is started in: two checkouts may
/// share a target directory (a global CARGO_TARGET_DIR, git worktrees).
#[test]
fn a_copy_of_the_checkout_serves_its_own_course() {
    let copy = copy_of_lab3("checkout");
    std::fs::write(
        copy.join("Cargo.toml"),
        "[workspace]\nmembers = [\"xtask\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(copy.join("xtask")).unwrap();
    std::fs::write(
        copy.join("xtask/Cargo.toml"),
        "[package]\nname = \"xtask\"\n",
    )
    .unwrap();
    let scenario = copy.join("scenarios/03-ca-verification/scenario.yaml");
    let text = std::fs::read_to_string(&scenario).unwrap();
    let title = text.lines().find(|l| l.starts_with("title:")).unwrap();
    std::fs::write(&scenario, text.replace(title, "title: The copy's own lab")).unwrap();
    let list = |cmd: &mut Command| {
        let (code, stdout, stderr) = output(cmd.args(["lab", "list"]).env_remove("KUBELAB_ROOT"));
        assert_eq!(code, Some(0), "{stderr}");
        stdout
    };
    let bin = env!("CARGO_BIN_EXE_xtask");
    // As `cargo xtask` runs it in the copy: CARGO_MANIFEST_DIR names the copy's xtask/.
    let out = list(Command::new(bin).env("CARGO_MANIFEST_DIR", copy.join("xtask")));
    assert!(out.contains("The copy's own lab"), "{out}");
    assert!(!out.contains("Proxy access"), "{out}");
    // Run directly from somewhere inside the copy: found by searching upward.
    let out = list(
        Command::new(bin)
            .env_remove("CARGO_MANIFEST_DIR")
            .current_dir(copy.join("scenarios")),
    );
    assert!(out.contains("The copy's own lab"), "{out}");
    // And in the original, the original's.
    let ws = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = list(
        Command::new(bin)
            .env_remove("CARGO_MANIFEST_DIR")
            .current_dir(ws.join("src")),
    );
    assert!(out.contains("Proxy access"), "{out}");
    assert!(!out.contains("The copy's own lab"), "{out}");
    // Outside any checkout, it says so.
    let (code, _, stderr) = output(
        Command::new(bin)
            .args(["lab", "list"])
            .env_remove("CARGO_MANIFEST_DIR")
            .env_remove("KUBELAB_ROOT")
            .current_dir("/"),
    );
    assert_eq!(code, Some(3));
    assert!(
        stderr.contains("is not inside a kubelab checkout"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&copy);
}

/// `cargo xtask cluster up` in a directory of the test's, stopped (SIGINT) on drop.
struct ClusterUp {
    child: std::process::Child,
    kubeconfig: std::path::PathBuf,
    /// The first line it printed, once it served.
    first_line: String,
}

impl ClusterUp {
    fn start(kubeconfig: std::path::PathBuf) -> ClusterUp {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["cluster", "up", "--kubeconfig"])
            .arg(&kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        ClusterUp {
            child,
            kubeconfig,
            first_line,
        }
    }

    /// Ctrl-C: SIGINT to the process, then its exit code; `None` when it has not
    /// stopped within 10 s.
    fn interrupt(&mut self) -> Option<Option<i32>> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s.code());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// `kubectl ARGS` against the cluster: exit code, stdout, stderr.
    fn kubectl(&self, args: &[&str]) -> (Option<i32>, String, String) {
        output(
            Command::new("kubectl")
                .args(args)
                .env("KUBECONFIG", &self.kubeconfig),
        )
    }
}

impl Drop for ClusterUp {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status();
        }
        let _ = self.child.wait();
    }
}

/// 24 concurrent `kubectl label`, 24 merge patches and 24 JSON patches of one ConfigMap
/// against `cargo xtask cluster up`: every one lands.
#[test]
fn concurrent_kubectl_writes_all_land() {
    if testkit::host_tool("kubectl", testkit::install::KUBECTL).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cluster = ClusterUp::start(dir.path().join("kubeconfig"));
    assert!(
        cluster.first_line.starts_with("export KUBECONFIG="),
        "{}",
        cluster.first_line
    );
    let (code, _, err) = cluster.kubectl(&["create", "configmap", "race"]);
    assert_eq!(code, Some(0), "{err}");
    // A JSON patch adds into a map that exists.
    let (code, _, err) = cluster.kubectl(&["annotate", "cm", "race", "seed=v"]);
    assert_eq!(code, Some(0), "{err}");
    let mut writers = Vec::new();
    for n in 0..24 {
        let label = format!("k{n}=v{n}");
        let merge = format!(r#"{{"data":{{"m{n}":"v"}}}}"#);
        let json = format!(r#"[{{"op":"add","path":"/metadata/annotations/j{n}","value":"v"}}]"#);
        for args in [
            vec!["label", "cm", "race", label.as_str()],
            vec![
                "patch",
                "cm",
                "race",
                "--type",
                "merge",
                "-p",
                merge.as_str(),
            ],
            vec!["patch", "cm", "race", "--type", "json", "-p", json.as_str()],
        ] {
            let args: Vec<String> = args.into_iter().map(String::from).collect();
            let cmd = Command::new("kubectl")
                .args(&args)
                .env("KUBECONFIG", &cluster.kubeconfig)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            writers.push((args.join(" "), cmd));
        }
    }
    for (what, w) in writers {
        let out = w.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "kubectl {what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (code, out, err) = cluster.kubectl(&["get", "cm", "race", "-o", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let cm: serde_json::Value = serde_json::from_str(&out).unwrap();
    let count = |field: &str, prefix: char| {
        cm.pointer(field)
            .and_then(|m| m.as_object())
            .map_or(0, |m| m.keys().filter(|k| k.starts_with(prefix)).count())
    };
    assert_eq!(count("/metadata/labels", 'k'), 24, "{out}");
    assert_eq!(count("/data", 'm'), 24, "{out}");
    assert_eq!(count("/metadata/annotations", 'j'), 24, "{out}");
}

/// The kubeconfig in a private (0700) directory, as `mktemp -d` makes it, with the
/// cluster run by root (its pods run as nobody) or by an unprivileged user: `kubectl
/// exec` into a Debian pod works.
#[test]
fn exec_works_with_the_cluster_in_a_private_directory() {
    use std::os::unix::fs::PermissionsExt;
    if !testkit::host_tools(&[("kubectl", testkit::install::KUBECTL)]) {
        return;
    }
    let store = images::Store::user_default().unwrap();
    let debian: images::Reference = "debian:trixie-slim".parse().unwrap();
    if store.image(&debian).unwrap().is_none() {
        return testkit::skip(format!(
            "{} is not in the image store; build the course's images with `cargo xtask images`",
            debian.whole()
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let cluster = ClusterUp::start(dir.path().join("kubeconfig"));
    assert!(
        cluster.first_line.starts_with("export KUBECONFIG="),
        "{}",
        cluster.first_line
    );
    let (code, _, err) = cluster.kubectl(&[
        "run",
        "bb",
        "--image=debian:trixie-slim",
        "--command",
        "--",
        "sleep",
        "3600",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) =
        cluster.kubectl(&["wait", "--for=condition=Ready", "pod/bb", "--timeout=60s"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = cluster.kubectl(&[
        "exec",
        "bb",
        "--",
        "cat",
        "/var/run/secrets/kubernetes.io/serviceaccount/namespace",
    ]);
    assert_eq!((code, out.as_str()), (Some(0), "default"), "{err}");
}
