//! The kubeconfig backend on someone's cluster (here an embedded one, reached only through
//! its kubeconfig): the lab runs in `default` whatever the context's namespace, what it
//! creates carries kubelab's label and is deleted at the end, and it refuses to touch an
//! object it did not create.

mod common;

use harness::Backend;
use std::path::Path;

fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String, String) {
    let (out, err, code) = common::kubectl_status(kubeconfig, args, "");
    (code == 0, out, err)
}

/// kubectl that must succeed.
fn must(kubeconfig: &Path, args: &[&str]) {
    let (ok, _, err) = kubectl(kubeconfig, args);
    assert!(ok, "kubectl {}: {err}", args.join(" "));
}

fn scenario(root: &Path) -> harness::Lab {
    let dir = root.join("09-own-cluster");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("scenario.yaml"),
        r#"title: own cluster
summary: a lab on someone else's cluster
steps:
  - apply: settings.yaml
  - get: {resource: configmap, name: settings, output: json}
    name: settings
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("settings.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  colour: blue\n",
    )
    .unwrap();
    harness::Lab::from_dir(&dir).unwrap()
}

/// A kubectl command line as its arguments (none of them holds a space).
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lab_on_your_own_cluster_cleans_up_and_touches_nothing_else() {
    if testkit::host_tool("kubectl", testkit::install::KUBECTL).is_none() {
        return;
    }
    let root = std::env::temp_dir().join(format!("kubelab-own-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let lab = scenario(&root);

    // "Their" cluster, whose context points at another namespace.
    let theirs = backends::Embedded::default().start().await.unwrap();
    let config = root.join("their-kubeconfig");
    std::fs::copy(&theirs.info().kubeconfig, &config).unwrap();
    must(
        &config,
        &words("config set-context --current --namespace=kube-system"),
    );
    let backend = backends::Kubeconfig {
        path: Some(config.clone()),
    };

    runs_in_default_and_cleans_up(&lab, &backend, &config).await;
    clears_what_an_interrupted_run_left(&lab, &backend, &config).await;
    refuses_an_object_it_did_not_create(&lab, &backend, &config).await;
    a_dead_cluster_is_a_start_error(&root, &config).await;

    theirs.stop().await;
    let _ = std::fs::remove_dir_all(&root);
}

/// The lab runs in `default`, labels what it creates, deletes it at the end and leaves the
/// learner's kubeconfig as it was.
async fn runs_in_default_and_cleans_up(
    lab: &harness::Lab,
    backend: &backends::Kubeconfig,
    config: &Path,
) {
    let steps = harness::run(lab, backend).await.unwrap();
    let (_, settings) = &steps[1];
    assert!(
        settings.starts_with("$ kubectl get configmap settings -o json\n"),
        "{settings}"
    );
    assert!(
        settings.contains("\"app.kubernetes.io/managed-by\": \"kubelab\""),
        "{settings}"
    );
    assert!(
        settings.contains("\"namespace\": \"default\""),
        "{settings}"
    );
    // Created in default, deleted at the end; the learner's file is unchanged.
    let (_, out, _) = kubectl(
        config,
        &words("get configmap settings -n default --ignore-not-found -o name"),
    );
    assert_eq!(out, "", "the lab's ConfigMap was left behind");
    let (_, ns, _) = kubectl(
        config,
        &words("config view --minify -o jsonpath={.contexts[0].context.namespace}"),
    );
    assert_eq!(ns, "kube-system");
}

/// What an interrupted run left behind (it carries the label) is cleared first, so the
/// lab starts as on a fresh cluster.
async fn clears_what_an_interrupted_run_left(
    lab: &harness::Lab,
    backend: &backends::Kubeconfig,
    config: &Path,
) {
    must(
        config,
        &words("create configmap settings -n default --from-literal=colour=green"),
    );
    must(
        config,
        &words("label configmap settings -n default app.kubernetes.io/managed-by=kubelab"),
    );
    let steps = harness::run(lab, backend).await.unwrap();
    assert_eq!(
        steps[0].1,
        "$ kubectl apply -f settings.yaml\nconfigmap/settings created\n"
    );
}

/// An object of the same name that kubelab did not create stops the lab untouched.
async fn refuses_an_object_it_did_not_create(
    lab: &harness::Lab,
    backend: &backends::Kubeconfig,
    config: &Path,
) {
    must(
        config,
        &words("create configmap settings -n default --from-literal=colour=red"),
    );
    let err = harness::run(lab, backend).await.unwrap_err().to_string();
    assert!(
        err.contains("refusing to change configmap/settings in this cluster: kubelab did not create it (no label app.kubernetes.io/managed-by=kubelab)"),
        "{err}"
    );
    let (_, colour, _) = kubectl(
        config,
        &words("get configmap settings -n default -o jsonpath={.data.colour}"),
    );
    assert_eq!(colour, "red");
}

/// A cluster that does not answer is a clear start error.
async fn a_dead_cluster_is_a_start_error(root: &Path, config: &Path) {
    let dead = root.join("dead-kubeconfig");
    let text = std::fs::read_to_string(config).unwrap();
    let server = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap()
        .to_string();
    std::fs::write(&dead, text.replace(&server, "https://127.0.0.1:1")).unwrap();
    let err = match (backends::Kubeconfig { path: Some(dead) }).start().await {
        Ok(_) => panic!("started on a dead server"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.starts_with(
            "starting the kubeconfig cluster: the cluster at https://127.0.0.1:1 does not answer"
        ),
        "{err}"
    );
}
