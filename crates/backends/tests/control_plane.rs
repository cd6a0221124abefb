//! The control-plane backend: the reference control plane (real etcd, kube-apiserver and
//! kube-controller-manager, built by `cargo xtask control-plane build`) as a backend. It
//! answers as k3s does, stops without leaving a process or a file, and, having no node,
//! fails a step that needs a pod at once. Lab 1's steps before its first pod hold the same
//! snapshots on it as on the embedded cluster: the course's claim, checked on a real API
//! server.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The reference binaries are built, or the test is skipped (a failure in CI).
fn built() -> bool {
    match backends::control_plane::binaries() {
        Ok(_) => true,
        Err(why) => {
            testkit::skip(why);
            false
        }
    }
}

fn ready() -> bool {
    testkit::host_tool("kubectl", testkit::install::KUBECTL).is_some() && built()
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The processes whose command line names `path`.
fn processes_naming(path: &Path) -> Vec<String> {
    let needle = path.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&needle))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_kubectl_as_k3s_and_leaves_nothing_behind() {
    if !ready() {
        return;
    }
    let cluster = backends::by_name("control-plane")
        .unwrap()
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let info = cluster.info().clone();
    assert!(!info.runs_pods);
    let version = kubectl(&info.kubeconfig, &["get", "--raw", "/version"]);
    let version: serde_json::Value = serde_json::from_str(&version).unwrap();
    assert_eq!(version["gitVersion"], "v1.33.3+k3s1");
    assert_eq!(version["goVersion"], "go1.24.4");
    let crds = kubectl(&info.kubeconfig, &["get", "crd", "-o", "name"]);
    for crd in ["addons.k3s.cattle.io", "helmcharts.helm.cattle.io"] {
        assert!(crds.contains(crd), "{crds}");
    }
    // What kube-controller-manager makes: the default ServiceAccount, the root CA.
    kubectl(
        &info.kubeconfig,
        &["get", "sa/default", "cm/kube-root-ca.crt"],
    );
    assert!(!processes_naming(&info.workdir).is_empty());
    cluster.stop().await;
    assert_eq!(processes_naming(&info.workdir), Vec::<String>::new());
    assert!(!info.workdir.exists(), "{} is left", info.workdir.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_step_that_needs_a_pod_fails_at_once_and_says_why() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("scenario.yaml"),
        "title: a pod\nsummary: one pod\nsteps:\n  - apply: pod.yaml\n  - wait: {pod: curl}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: curl\nspec:\n  containers:\n  \
         - name: curl\n    image: curlimages/curl:8.17.0\n",
    )
    .unwrap();
    let lab = harness::Lab::from_dir(dir.path()).unwrap();
    let started = Instant::now();
    let err = harness::run(&lab, backends::by_name("control-plane").unwrap().as_ref())
        .await
        .expect_err("nothing runs the pod");
    let err = err.to_string();
    assert!(
        err.contains("02-wait-curl") && err.contains("pod curl running") && err.contains("no node"),
        "{err}"
    );
    // Starting the control plane takes seconds; waiting for the pod would take minutes.
    assert!(started.elapsed() < Duration::from_secs(60));
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test(flavor = "multi_thread")]
async fn lab_1_matches_its_snapshots_until_its_first_pod_then_says_why_it_stops() {
    if !ready() || testkit::host_tool("curl", testkit::install::CURL).is_none() {
        return;
    }
    let lab = harness::Lab::from_dir(&workspace().join("scenarios/01-proxy-access")).unwrap();
    let backend = backends::by_name("control-plane").unwrap();
    let cluster = backend.start().await.unwrap_or_else(|e| panic!("{e}"));
    let info = cluster.info().clone();
    let lab2 = lab.clone();
    let (steps, stopped) = tokio::task::spawn_blocking(move || {
        let mut runner = harness::run::Runner::new(&info, &lab2.scenario);
        let mut steps = Vec::new();
        for step in &lab2.scenario.steps {
            let started = Instant::now();
            match runner.step(step) {
                Ok(t) => steps.push((lab2.snapshot_name(step), t.redacted(&info.redact))),
                Err(e) => return (steps, Some((e.to_string(), started.elapsed()))),
            }
        }
        (steps, None)
    })
    .await
    .unwrap();
    cluster.stop().await;
    let (why, took) = stopped.expect("lab 1 waits for its Job's pod, which nothing runs");
    assert!(
        why.contains("07-wait-my-job") && why.contains("no node"),
        "{why}"
    );
    assert!(took < Duration::from_secs(1), "failing took {took:?}");
    assert_eq!(steps.len(), 6);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(workspace().join("labs/lab01-proxy-access/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for (name, text) in &steps {
            insta::assert_snapshot!(name.as_str(), text);
        }
    });
}
