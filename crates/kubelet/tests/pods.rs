//! Pods run by the embedded kubelet against the embedded API server: what a container
//! sees (FIDELITY.md §3–§5, §10) and the status the kubelet reports.

use apiserver::UserInfo;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

mod node;
use node::Node;

/// The course's curl image: Debian 13 with curl.
const CURL_IMAGE: &str = "buildpack-deps:trixie-curl";
/// The course's smallest Debian 13 image.
const DEBIAN_IMAGE: &str = "debian:trixie-slim";
/// The course's ambassador image.
const KUBECTL_IMAGE: &str = "registry.k8s.io/kubectl:v1.33.3";
/// The course's Python image (lab 9).
const PYTHON_IMAGE: &str = "gcr.io/distroless/python3-debian13:latest";

/// Whether the images the pods run are in the image store (no registry is reachable
/// here: `cargo xtask images` builds them); when one is not, `testkit::skip` says so.
fn images_present(wanted: &[&str]) -> bool {
    let store = images::Store::user_default().expect("the image store opens");
    for name in wanted {
        let reference: images::Reference = name.parse().unwrap();
        if store.image(&reference).unwrap().is_none() {
            testkit::skip(format!(
                "{} is not in the image store {}; build the course's images with `cargo xtask images`",
                reference.whole(),
                store.root().display()
            ));
            return false;
        }
    }
    true
}

fn tools_present() -> bool {
    images_present(&[CURL_IMAGE, DEBIAN_IMAGE])
}

async fn wait_for(pods: &Api<Pod>, name: &str, what: impl Fn(&Pod) -> bool) -> Pod {
    for _ in 0..1500 {
        if let Some(p) = pods.get_opt(name).await.unwrap()
            && what(&p)
        {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "pod {name} did not get there: {:?}",
        pods.get_opt(name).await.unwrap().map(|p| p.status)
    );
}

/// What `argv` run in `pod` (kube's `Api::exec`, stderr not attached) writes on stdout,
/// and its status.
async fn exec_stdout(
    pods: &Api<Pod>,
    pod: &str,
    argv: &[&str],
) -> (
    String,
    Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>,
) {
    use kube::api::AttachParams;
    use tokio::io::AsyncReadExt;
    let mut proc = pods
        .exec(pod, argv.to_vec(), &AttachParams::default().stderr(false))
        .await
        .unwrap();
    let mut out = String::new();
    proc.stdout()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    let status = proc.take_status().unwrap().await;
    (out, status)
}

/// The events in `default`, as its admin lists them.
async fn events_in_default(n: &Node) -> Vec<k8s_openapi::api::core::v1::Event> {
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(
        kube::Client::new(n.cluster.service_as(UserInfo::admin()), "default"),
        "default",
    );
    events.list(&Default::default()).await.unwrap().items
}

fn phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// The container's log through `pods/log`, as `kubectl logs` reads it.
async fn log_of(n: &Node, pod: &Pod, container: &str) -> String {
    let lp = kube::api::LogParams {
        container: Some(container.into()),
        ..Default::default()
    };
    n.pods
        .logs(pod.metadata.name.as_deref().unwrap(), &lp)
        .await
        .unwrap()
}

/// The host's kubectl, or `None` after saying why the test is skipped.
/// Why the first container of pod `name` waits, once the pod reports its containers.
async fn first_waiting(
    pods: &Api<Pod>,
    name: &str,
) -> k8s_openapi::api::core::v1::ContainerStateWaiting {
    let p = wait_for(pods, name, |p| {
        p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|c| !c.is_empty())
    })
    .await;
    let cs = &p.status.unwrap().container_statuses.unwrap()[0];
    cs.state.clone().unwrap().waiting.unwrap()
}

fn kubectl() -> Option<std::path::PathBuf> {
    testkit::host_tool("kubectl", testkit::install::KUBECTL)
}

/// Runs real kubectl against the node's cluster as the admin: (exit code, stdout, stderr).
fn run_kubectl(
    kubectl: &std::path::Path,
    n: &Node,
    args: &[&str],
) -> (Option<i32>, String, String) {
    let kubeconfig = n.dir.join("kubeconfig");
    if !kubeconfig.exists() {
        harness::kubeconfig::write(&kubeconfig, &n.cluster.admin_kubeconfig()).unwrap();
    }
    let out = tokio::task::block_in_place(|| {
        std::process::Command::new(kubectl)
            .args(args)
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap()
    });
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_curl_pod_sees_the_service_account_and_the_api() {
    if !tools_present() {
        return;
    }
    let n = Node::start("curl").await;
    let script = r#"env | grep KUBERNETES_SERVICE | sort
ls /var/run/secrets/kubernetes.io/serviceaccount
cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo
cat /etc/resolv.conf
curl -sS https://kubernetes; echo "exit=$?"
curl -s --cacert /var/run/secrets/kubernetes.io/serviceaccount/ca.crt https://kubernetes; echo
TOKEN=$(cat /var/run/secrets/kubernetes.io/serviceaccount/token)
curl -s --cacert /var/run/secrets/kubernetes.io/serviceaccount/ca.crt -H "Authorization: Bearer $TOKEN" https://kubernetes/api/v1/namespaces/default/pods"#;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "curl"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": CURL_IMAGE, "command": ["sh", "-c", script]}]},
    }))
    .unwrap();
    n.pods.create(&PostParams::default(), &pod).await.unwrap();
    let done = wait_for(&n.pods, "curl", |p| {
        phase(p) == "Succeeded" || phase(p) == "Failed"
    })
    .await;
    let log = log_of(&n, &done, "main").await;
    assert!(log.starts_with("KUBERNETES_SERVICE_HOST=10.43.0.1\nKUBERNETES_SERVICE_PORT=443\nKUBERNETES_SERVICE_PORT_HTTPS=443\nca.crt\nnamespace\ntoken\ndefault\n"), "{log}");
    assert!(log.contains("search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n"), "{log}");
    assert!(
        log.contains(
            "curl: (60) SSL certificate problem: self-signed certificate in certificate chain"
        ),
        "{log}"
    );
    assert!(log.contains("exit=60"), "{log}");
    assert!(log.contains("\"reason\": \"Unauthorized\""), "{log}");
    assert!(log.contains(r#""message": "pods is forbidden: User \"system:serviceaccount:default:default\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"""#), "{log}");
    assert_eq!(phase(&done), "Succeeded");
    let status = done.status.unwrap();
    assert_eq!(
        status.pod_ip.as_deref().map(|ip| ip.starts_with("10.42.")),
        Some(true)
    );
    assert_eq!(status.host_ip.as_deref(), Some("10.42.0.1"));
    let cs = &status.container_statuses.unwrap()[0];
    assert_eq!(
        cs.state
            .as_ref()
            .unwrap()
            .terminated
            .as_ref()
            .unwrap()
            .exit_code,
        0
    );
    n.pods
        .delete("curl", &DeleteParams::default())
        .await
        .unwrap();
    drop(n);
}

#[tokio::test(flavor = "multi_thread")]
async fn running_pods_report_ready_and_stop_on_delete() {
    if !tools_present() {
        return;
    }
    let n = Node::start("run").await;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "sleeper"},
        "spec": {"terminationGracePeriodSeconds": 5, "containers": [{"name": "main", "image": DEBIAN_IMAGE, "command": ["sleep", "3600"]}]},
    }))
    .unwrap();
    n.pods.create(&PostParams::default(), &pod).await.unwrap();
    let running = wait_for(&n.pods, "sleeper", |p| phase(p) == "Running").await;
    let conds: Vec<(String, String)> = running
        .status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .flatten()
        .map(|c| (c.type_.clone(), c.status.clone()))
        .collect();
    let want: Vec<(String, String)> = [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    .iter()
    .map(|t| (t.to_string(), "True".to_string()))
    .collect();
    assert_eq!(conds, want);
    assert_eq!(
        running.spec.as_ref().unwrap().node_name.as_deref(),
        Some(apiserver::NODE_NAME)
    );
    // Graceful delete: the pod lingers with a deletionTimestamp until the kubelet has
    // stopped it (sleep dies on SIGTERM), then it is gone.
    n.pods
        .delete("sleeper", &DeleteParams::default())
        .await
        .unwrap();
    for _ in 0..1500 {
        if n.pods.get_opt("sleeper").await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        n.pods.get_opt("sleeper").await.unwrap().is_none(),
        "the pod was not removed"
    );
    drop(n);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_images_wait_with_err_image_pull() {
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let n = Node::start_observed(
        std::env::temp_dir().join(format!("kubelet-img-{}", std::process::id())),
        kubelet::PullObserver::new({
            let heard = heard.clone();
            move |e| heard.lock().unwrap().push(e)
        }),
    )
    .await;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]},
    }))
    .unwrap();
    n.pods.create(&PostParams::default(), &pod).await.unwrap();
    let waiting = first_waiting(&n.pods, "web").await;
    assert_eq!(waiting.reason.as_deref(), Some("ErrImagePull"));
    let message = waiting.message.as_deref().unwrap();
    assert!(
        message.starts_with(
            "rpc error: code = Unknown desc = failed to pull and unpack image \"docker.io/library/nginx:1.27\": pulling docker.io/library/nginx:1.27: "
        ),
        "{message}"
    );
    // Whoever watches the node's pulls (`cluster up`'s progress bars) heard it start and fail.
    {
        let heard = heard.lock().unwrap();
        let image = "docker.io/library/nginx:1.27".to_string();
        assert_eq!(
            heard.first(),
            Some(&kubelet::PullEvent::Started {
                image: image.clone()
            })
        );
        assert!(
            heard
                .iter()
                .any(|e| matches!(e, kubelet::PullEvent::Failed { image: i, .. } if *i == image)),
            "{heard:?}"
        );
    }
    // Then the kubelet backs off, and says so.
    let p = wait_for(&n.pods, "web", |p| {
        p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|c| c[0].state.as_ref()?.waiting.as_ref()?.reason.clone())
            .as_deref()
            == Some("ImagePullBackOff")
    })
    .await;
    let cs = &p.status.unwrap().container_statuses.unwrap()[0];
    let waiting = cs.state.as_ref().unwrap().waiting.as_ref().unwrap();
    assert_eq!(
        waiting.message.as_deref().unwrap(),
        format!("Back-off pulling image \"nginx:1.27\": ErrImagePull: {message}")
    );
    let seen: Vec<(String, String)> = events_in_default(&n)
        .await
        .into_iter()
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect();
    for (reason, text) in [
        ("Pulling", "Pulling image \"nginx:1.27\"".to_string()),
        (
            "Failed",
            format!("Failed to pull image \"nginx:1.27\": {message}"),
        ),
        ("Failed", "Error: ErrImagePull".to_string()),
        (
            "BackOff",
            "Back-off pulling image \"nginx:1.27\"".to_string(),
        ),
        ("Failed", "Error: ImagePullBackOff".to_string()),
    ] {
        assert!(
            seen.iter().any(|(r, m)| r == reason && *m == text),
            "{reason} {text:?} in {seen:#?}"
        );
    }
    // Exec into a container that never started: v5 is upgraded before the kubelet is
    // asked, so its refusal comes back on the status channel as an InternalError.
    if let Some(kubectl) = kubectl() {
        // `kubectl describe` shows the waiting reason and the kubelet's pull events.
        let (code, out, err) = run_kubectl(&kubectl, &n, &["describe", "pod", "web"]);
        assert_eq!(code, Some(0), "{err}");
        for line in [
            "Reason:       ImagePullBackOff",
            "Pulling image \"nginx:1.27\"",
            "Back-off pulling image \"nginx:1.27\"",
            "Error: ErrImagePull",
        ] {
            assert!(out.contains(line), "{line:?} in\n{out}");
        }
        let (code, out, err) = run_kubectl(&kubectl, &n, &["exec", "web", "--", "true"]);
        assert_eq!(code, Some(1), "{out}{err}");
        assert_eq!(
            harness::run::without_client_noise(&err),
            "error: Internal error occurred: unable to upgrade connection: container not found (\"nginx\")\n"
        );
    }
    drop(n);
}

#[tokio::test(flavor = "multi_thread")]
async fn exec_through_kube_and_kubectl() {
    use kube::api::AttachParams;
    if !tools_present() {
        return;
    }
    let n = Node::start("exec").await;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "curl"},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [{"name": "main", "image": CURL_IMAGE, "command": ["sleep", "3600"]}]},
    }))
    .unwrap();
    n.pods.create(&PostParams::default(), &pod).await.unwrap();
    wait_for(&n.pods, "curl", |p| phase(p) == "Running").await;

    // kube's Api::exec (WebSocket), over TLS: an upgrade needs a real connection.
    let tls_pods = n.pods_over_tls().await;
    let (out, status) = exec_stdout(
        &tls_pods,
        "curl",
        &["ls", "/var/run/secrets/kubernetes.io/serviceaccount"],
    )
    .await;
    let status = status.unwrap();
    assert_eq!(out, "ca.crt\nnamespace\ntoken\n");
    assert_eq!(status.status.as_deref(), Some("Success"));

    let mut failing = tls_pods
        .exec("curl", ["sh", "-c", "exit 3"], &AttachParams::default())
        .await
        .unwrap();
    let status = failing.take_status().unwrap().await.unwrap();
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));

    // Real kubectl, with its WebSocket v5 executor.
    let Some(kubectl) = kubectl() else {
        return;
    };
    let run = |args: &[&str]| run_kubectl(&kubectl, &n, args);
    let (code, out, err) = run(&[
        "exec",
        "curl",
        "--",
        "sh",
        "-c",
        "env | grep KUBERNETES_SERVICE | sort",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out,
        "KUBERNETES_SERVICE_HOST=10.43.0.1\nKUBERNETES_SERVICE_PORT=443\nKUBERNETES_SERVICE_PORT_HTTPS=443\n"
    );
    let (code, _, err) = run(&["exec", "curl", "--", "sh", "-c", "exit 3"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("command terminated with exit code 3"), "{err}");
    let (code, out, err) = run(&["exec", "curl", "--", "curl", "-sS", "https://kubernetes"]);
    assert_eq!(code, Some(60), "{out}{err}");
    assert!(
        harness::run::without_client_noise(&err).starts_with(
            "curl: (60) SSL certificate problem: self-signed certificate in certificate chain"
        ),
        "{err}"
    );
    drop(n);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ambassador_container_proxies_with_the_pods_identity() {
    if !tools_present() || !images_present(&[KUBECTL_IMAGE]) {
        return;
    }
    let Some(kubectl) = kubectl() else {
        return;
    };
    let n = Node::start("amb").await;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "curl-with-ambassador"},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [
            {"name": "main", "image": CURL_IMAGE, "command": ["sleep", "3600"]},
            {"name": "ambassador", "image": KUBECTL_IMAGE, "args": ["proxy"]},
        ]},
    }))
    .unwrap();
    n.pods.create(&PostParams::default(), &pod).await.unwrap();
    wait_for(&n.pods, "curl-with-ambassador", |p| phase(p) == "Running").await;
    let run = |args: &[&str]| run_kubectl(&kubectl, &n, args);
    // The proxy needs a moment to listen.
    let mut logs = String::new();
    for _ in 0..400 {
        logs = run(&["logs", "curl-with-ambassador", "-c", "ambassador"]).1;
        if !logs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(logs, "Starting to serve on 127.0.0.1:8001\n");
    // A command in the pod's first container, next to the ambassador.
    let in_main = |cmd: &[&str]| {
        let mut args = vec!["exec", "curl-with-ambassador", "-c", "main", "--"];
        args.extend(cmd);
        run(&args)
    };
    let (code, out, err) = in_main(&["curl", "-s", "localhost:8001/api"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("{\n  \"kind\": \"APIVersions\""), "{out}");
    // A Service created after the pod started resolves by its cluster name.
    let client = kube::Client::new(n.cluster.service_as(UserInfo::admin()), "default");
    let svcs: Api<k8s_openapi::api::core::v1::Service> = Api::namespaced(client, "default");
    svcs.create(
        &PostParams::default(),
        &serde_json::from_value(
            json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let mut resolved = String::new();
    for _ in 0..400 {
        resolved = in_main(&["getent", "hosts", "web"]).1;
        if resolved.contains("web.default.svc.cluster.local") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        resolved.contains("web.default.svc.cluster.local"),
        "{resolved}"
    );
    // RBAC still applies: the proxy carries the pod's service account.
    let (_, out, _) = in_main(&[
        "curl",
        "-s",
        "localhost:8001/api/v1/namespaces/default/pods",
    ]);
    assert!(out.contains("\"reason\": \"Forbidden\""), "{out}");
    drop(n);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_runs_to_completion_and_takes_its_pods_with_it() {
    use k8s_openapi::api::batch::v1::Job;
    if !tools_present() {
        return;
    }
    let n = Node::start("job").await;
    let client = kube::Client::new(n.cluster.service_as(UserInfo::admin()), "default");
    let jobs: Api<Job> = Api::namespaced(client, "default");
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "my-job"},
        "spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "main", "image": DEBIAN_IMAGE, "command": ["echo", "hello"]}]}}},
    }))
    .unwrap();
    jobs.create(&PostParams::default(), &job).await.unwrap();
    let mut done = None;
    for _ in 0..1500 {
        let j = jobs.get("my-job").await.unwrap();
        if j.status.as_ref().and_then(|s| s.succeeded) == Some(1) {
            done = Some(j);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = done.expect("the job completed").status.unwrap();
    let kinds: Vec<String> = status
        .conditions
        .iter()
        .flatten()
        .map(|c| c.type_.clone())
        .collect();
    assert_eq!(kinds, ["SuccessCriteriaMet", "Complete"]);
    // `active` is omitempty in Go: absent when zero; `ready` and `terminating` are pointers.
    assert_eq!(
        (status.active, status.ready, status.terminating),
        (None, Some(0), Some(0))
    );
    assert!(status.start_time.is_some() && status.completion_time.is_some());
    let pods = n.pods.list(&Default::default()).await.unwrap().items;
    assert_eq!(pods.len(), 1);
    let pod = &pods[0];
    assert!(pod.metadata.name.as_deref().unwrap().starts_with("my-job-"));
    assert_eq!(log_of(&n, pod, "main").await, "hello\n");
    jobs.delete("my-job", &DeleteParams::background())
        .await
        .unwrap();
    for _ in 0..1500 {
        if n.pods
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        n.pods
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "the job's pods were not deleted"
    );
    drop(n);
}

fn processes_with(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_the_node_kills_its_pods_and_automount_can_be_refused() {
    if !tools_present() {
        return;
    }
    let n = Node::start("stop").await;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "quiet"},
        "spec": {"automountServiceAccountToken": false, "containers": [{"name": "main", "image": DEBIAN_IMAGE, "command": ["sleep", "4243.75"]}]},
    }))
    .unwrap();
    n.pods.create(&PostParams::default(), &pod).await.unwrap();
    wait_for(&n.pods, "quiet", |p| phase(p) == "Running").await;
    // Running means started; the program may still be on its way to exec.
    for _ in 0..1000 {
        if processes_with("4243.75") == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(processes_with("4243.75"), 1);
    // No token directory, but the service variables stay (FIDELITY §5).
    let tls_pods = n.pods_over_tls().await;
    let mut proc = tls_pods
        .exec("quiet", ["sh", "-c", "ls /var/run/secrets/kubernetes.io/serviceaccount 2>&1; echo $KUBERNETES_SERVICE_HOST"], &kube::api::AttachParams::default().stderr(false))
        .await
        .unwrap();
    let mut out = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut proc.stdout().unwrap(), &mut out)
        .await
        .unwrap();
    assert!(out.contains("No such file or directory"), "{out}");
    assert!(out.ends_with("10.43.0.1\n"), "{out}");
    n.kubelet.shutdown();
    for _ in 0..1000 {
        if processes_with("4243.75") == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        processes_with("4243.75"),
        0,
        "a pod process outlived its node"
    );
    drop(n);
}

/// The cluster's files under a private (0700) directory, as `mktemp -d` makes one: pods
/// still run, exec works, and they read their volumes and reach the API server and
/// cluster DNS, both when root runs the cluster (pods run as nobody) and when an
/// unprivileged user does.
#[tokio::test(flavor = "multi_thread")]
async fn pods_work_under_a_private_directory() {
    if !tools_present() {
        return;
    }
    pod_under_a_private_directory().await;
    if testkit::is_root() {
        run_with_own_store(
            (testkit::NOBODY, testkit::NOBODY),
            "private_directory_as_an_unprivileged_user",
            CURL_IMAGE,
            &[],
        );
    }
}

/// Runs the ignored test `test` as the user and group `ids` (`testkit::run_as`), with an
/// image store of its own holding a copy of `image`, and `env` added.
fn run_with_own_store(ids: (u32, u32), test: &str, image: &str, env: &[(&str, &std::path::Path)]) {
    let store = tempfile::tempdir().unwrap();
    let theirs = images::Store::open(store.path().join("images")).unwrap();
    images::Store::user_default()
        .unwrap()
        .copy_image(&image.parse().unwrap(), &theirs)
        .unwrap();
    testkit::chown_tree(store.path(), ids);
    let mut env = env.to_vec();
    env.push(("KUBELAB_IMAGES", theirs.root()));
    testkit::run_as(ids, test, &env);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "run by pods_work_under_a_private_directory as an unprivileged user"]
async fn private_directory_as_an_unprivileged_user() {
    pod_under_a_private_directory().await;
}

async fn pod_under_a_private_directory() {
    use kube::api::AttachParams;
    use std::os::unix::fs::PermissionsExt;
    use tokio::io::AsyncReadExt;
    // As `mktemp -d` makes it.
    let private = tempfile::tempdir().unwrap();
    std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let n = Node::start_in(private.path().join("cluster")).await;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "private"},
        "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "main", "image": CURL_IMAGE, "command": ["sleep", "3600"]}]},
    }))
    .unwrap();
    n.pods.create(&PostParams::default(), &pod).await.unwrap();
    wait_for(&n.pods, "private", |p| phase(p) == "Running").await;
    let tls_pods = n.pods_over_tls().await;
    let script = "head -c 24 /etc/hosts; echo; \
        cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo; \
        getent hosts kubernetes.default.svc.cluster.local; \
        curl -s -o /dev/null -w '%{http_code}\\n' \
          --cacert /var/run/secrets/kubernetes.io/serviceaccount/ca.crt https://kubernetes/";
    let mut proc = tls_pods
        .exec(
            "private",
            ["sh", "-c", script],
            &AttachParams::default().stderr(true),
        )
        .await
        .unwrap();
    let (mut out, mut err) = (String::new(), String::new());
    let mut stderr = proc.stderr().unwrap();
    let mut stdout = proc.stdout().unwrap();
    let (a, b) = tokio::join!(
        stdout.read_to_string(&mut out),
        stderr.read_to_string(&mut err)
    );
    a.unwrap();
    b.unwrap();
    let status = proc.take_status().unwrap().await.unwrap();
    assert_eq!(status.status.as_deref(), Some("Success"), "{out}{err}");
    assert_eq!(
        out,
        "# Kubernetes-managed hos\ndefault\n10.43.0.1       kubernetes.default.svc.cluster.local\n401\n",
        "stderr: {err}"
    );
    drop(n);
}

/// `runAsNonRoot` with an image that runs as root: the kubelet refuses to create the
/// container, in its words.
#[tokio::test(flavor = "multi_thread")]
async fn run_as_non_root_refuses_a_root_image() {
    if !images_present(&[DEBIAN_IMAGE]) {
        return;
    }
    let n = Node::start("nonroot").await;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "strict"},
        "spec": {"securityContext": {"runAsNonRoot": true}, "containers": [{"name": "main", "image": DEBIAN_IMAGE, "command": ["sleep", "3600"]}]},
    }))
    .unwrap();
    let created = n.pods.create(&PostParams::default(), &pod).await.unwrap();
    let waiting = first_waiting(&n.pods, "strict").await;
    assert_eq!(
        waiting.reason.as_deref(),
        Some("CreateContainerConfigError")
    );
    assert_eq!(
        waiting.message.as_deref().unwrap(),
        format!(
            "container has runAsNonRoot and image will run as root (pod: \"strict_default({})\", container: main)",
            created.metadata.uid.unwrap()
        )
    );
    drop(n);
}

/// A container runs as the user its security context names, with the image's groups
/// for it and the pod's supplemental groups, and `kubectl exec` runs as it too; what the
/// image keeps from that user stays kept. A node that is not root maps one id into a pod
/// and refuses such a container clearly instead of running it as root.
///
/// Root runs it, then a user with subordinate ids (whose pods map them, through
/// `newuidmap`) and `nobody` (who has none), each with an image store of its own.
#[tokio::test(flavor = "multi_thread")]
async fn containers_run_as_the_user_their_security_context_names() {
    if !images_present(&[DEBIAN_IMAGE]) {
        return;
    }
    runs_as_the_named_user().await;
    if !testkit::is_root() {
        return;
    }
    // Whether the user's pods must map a range of ids: nobody has no subordinate ids.
    let mut users = vec![((testkit::NOBODY, testkit::NOBODY), "single")];
    users.extend(testkit::subids_user().map(|ids| (ids, "range")));
    for (ids, mapping) in users {
        run_with_own_store(
            ids,
            "named_user_as_an_unprivileged_user",
            DEBIAN_IMAGE,
            &[("KUBELAB_TEST_ID_MAPPING", std::path::Path::new(mapping))],
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "run by containers_run_as_the_user_their_security_context_names as unprivileged users"]
async fn named_user_as_an_unprivileged_user() {
    let expected = std::env::var("KUBELAB_TEST_ID_MAPPING").unwrap();
    assert_eq!(
        podbox::maps_id_range(),
        expected == "range",
        "{:?}",
        podbox::id_mapping()
    );
    runs_as_the_named_user().await;
}

async fn runs_as_the_named_user() {
    let n = Node::start("runas").await;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "user"},
        "spec": {"terminationGracePeriodSeconds": 0, "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "supplementalGroups": [4000]}, "containers": [{"name": "main", "image": DEBIAN_IMAGE, "command": ["sleep", "3600"]}]},
    }))
    .unwrap();
    n.pods.create(&PostParams::default(), &pod).await.unwrap();
    if !podbox::maps_id_range() {
        let waiting = first_waiting(&n.pods, "user").await;
        assert_eq!(waiting.reason.as_deref(), Some("CreateContainerError"));
        assert!(
            waiting
                .message
                .as_deref()
                .unwrap()
                .contains("containers run as root only"),
            "{waiting:?}"
        );
        drop(n);
        return;
    }
    wait_for(&n.pods, "user", |p| phase(p) == "Running").await;
    let tls_pods = n.pods_over_tls().await;
    let (out, _) = exec_stdout(
        &tls_pods,
        "user",
        &[
            "sh",
            "-c",
            "id; cat /etc/shadow 2>&1; touch /tmp/x && stat -c %u:%g /tmp/x",
        ],
    )
    .await;
    assert_eq!(
        out,
        "uid=1000 gid=3000 groups=3000,4000
cat: /etc/shadow: Permission denied
1000:3000
"
    );
    drop(n);
}

/// What a container leaves at its termination message path is its status's message; with
/// `FallbackToLogsOnError`, a failed container with none left gets its log's end.
#[tokio::test(flavor = "multi_thread")]
async fn termination_messages_come_from_the_file_or_the_logs() {
    if !images_present(&[DEBIAN_IMAGE]) {
        return;
    }
    let n = Node::start("term").await;
    for (name, policy, script) in [
        (
            "by-file",
            "File",
            "echo goodbye > /dev/termination-log; exit 3",
        ),
        (
            "by-logs",
            "FallbackToLogsOnError",
            "echo one; echo two; exit 1",
        ),
    ] {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": DEBIAN_IMAGE, "terminationMessagePolicy": policy, "command": ["sh", "-c", script]}]},
        }))
        .unwrap();
        n.pods.create(&PostParams::default(), &pod).await.unwrap();
    }
    let message = |p: Pod| {
        p.status.unwrap().container_statuses.unwrap()[0]
            .state
            .clone()
            .unwrap()
            .terminated
            .unwrap()
            .message
    };
    let done = wait_for(&n.pods, "by-file", |p| phase(p) == "Failed").await;
    assert_eq!(message(done).as_deref(), Some("goodbye\n"));
    let done = wait_for(&n.pods, "by-logs", |p| phase(p) == "Failed").await;
    assert_eq!(message(done).as_deref(), Some("one\ntwo\n"));
    drop(n);
}

/// A container that keeps failing is restarted at once the first time, then after the
/// kubelet's crash-loop back-off (10 s, then 20 s), waiting as `CrashLoopBackOff` in
/// between; its second and later ends are waited for like its first.
#[tokio::test(flavor = "multi_thread")]
async fn a_failing_container_is_restarted_again_and_again() {
    if !images_present(&[DEBIAN_IMAGE]) {
        return;
    }
    let n = Node::start("restarts").await;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "flaky"},
        "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "main", "image": DEBIAN_IMAGE, "command": ["sh", "-c", "echo run; exit 1"]}]},
    }))
    .unwrap();
    let created = n.pods.create(&PostParams::default(), &pod).await.unwrap();
    let uid = created.metadata.uid.unwrap();
    let status = |p: &Pod| {
        serde_json::to_value(
            &p.status
                .as_ref()
                .unwrap()
                .container_statuses
                .as_ref()
                .unwrap()[0],
        )
        .unwrap()
    };
    let wait = |what: &'static str, done: Box<dyn Fn(&Pod) -> bool + Send>| {
        let pods = n.pods.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            loop {
                let p = pods.get("flaky").await.unwrap();
                if p.status
                    .as_ref()
                    .is_some_and(|s| s.container_statuses.is_some())
                    && done(&p)
                {
                    return p;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{what}: {:?}",
                    p.status
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let backing_off = wait(
        "never backing off",
        Box::new(move |p| status(p)["state"]["waiting"]["reason"] == "CrashLoopBackOff"),
    )
    .await;
    let c = status(&backing_off);
    assert_eq!(phase(&backing_off), "Running");
    assert_eq!(c["restartCount"], 1, "{c}");
    assert_eq!(
        c["state"]["waiting"]["message"],
        format!("back-off 10s restarting failed container=main pod=flaky_default({uid})")
    );
    assert_eq!(c["lastState"]["terminated"]["exitCode"], 1, "{c}");
    assert_eq!(c["ready"], false);
    let again = wait(
        "not restarted after its back-off",
        Box::new(move |p| status(p)["restartCount"] == 2),
    )
    .await;
    assert_eq!(status(&again)["lastState"]["terminated"]["exitCode"], 1);
    let twice = wait(
        "not backing off longer",
        Box::new(move |p| {
            status(p)["state"]["waiting"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("back-off 20s restarting failed container=main"))
        }),
    )
    .await;
    assert_eq!(status(&twice)["restartCount"], 2);
    // Each start's events, counted again rather than repeated, as client-go's event
    // correlator counts them; the back-off's own.
    let counts: Vec<(String, i32)> = events_in_default(&n)
        .await
        .into_iter()
        .map(|e| (e.reason.unwrap_or_default(), e.count.unwrap_or(0)))
        .collect();
    for reason in ["Pulled", "Created", "Started"] {
        assert!(
            counts.contains(&(reason.to_string(), 3)),
            "{reason} not counted 3 times: {counts:?}"
        );
    }
    assert!(counts.contains(&("BackOff".to_string(), 2)), "{counts:?}");
    drop(n);
}

/// Probes as the kubelet runs them: an HTTP readiness probe passes once the server
/// answers, an exec readiness probe decides readiness from its exit code and changes it
/// when the container changes, and a failed TCP liveness probe has the container killed
/// and started again; each failure is an `Unhealthy` event.
#[tokio::test(flavor = "multi_thread")]
async fn probes_decide_readiness_and_liveness() {
    if !images_present(&[DEBIAN_IMAGE, PYTHON_IMAGE]) {
        return;
    }
    let n = Node::start("probes").await;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "probed"},
        "spec": {"terminationGracePeriodSeconds": 2, "containers": [
            {"name": "web", "image": PYTHON_IMAGE, "imagePullPolicy": "IfNotPresent",
             "command": ["python3", "-m", "http.server", "8080"],
             "ports": [{"name": "http", "containerPort": 8080}],
             // A directory without its slash: Python's server redirects, the prober follows.
             "readinessProbe": {"httpGet": {"path": "/etc", "port": "http"}, "periodSeconds": 1}},
            // The probe's command names its file through the container's environment.
            {"name": "gate", "image": DEBIAN_IMAGE, "command": ["sleep", "3600"],
             "env": [{"name": "GATE", "value": "/tmp/open"}],
             "readinessProbe": {"exec": {"command": ["sh", "-c", "test -f $(GATE) || { echo shut; exit 1; }"]}, "periodSeconds": 1}},
            {"name": "dies", "image": DEBIAN_IMAGE, "command": ["sleep", "3600"],
             "livenessProbe": {"tcpSocket": {"port": 9999}, "periodSeconds": 1, "failureThreshold": 1}},
        ]},
    }))
    .unwrap();
    n.pods.create(&PostParams::default(), &pod).await.unwrap();
    let container = |p: &Pod, name: &str| {
        let all = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.clone())
            .unwrap_or_default();
        serde_json::to_value(all.into_iter().find(|c| c.name == name)).unwrap()
    };
    let p = wait_for(&n.pods, "probed", |p| {
        container(p, "web")["ready"] == true
            && container(p, "dies")["restartCount"].as_i64() >= Some(1)
    })
    .await;
    assert_eq!(container(&p, "gate")["ready"], false);
    assert_eq!(container(&p, "gate")["started"], true);
    assert_eq!(
        container(&p, "dies")["lastState"]["terminated"]["exitCode"],
        143,
        "killed with SIGTERM"
    );
    let ready = p
        .status
        .as_ref()
        .unwrap()
        .conditions
        .clone()
        .unwrap_or_default();
    let ready = ready.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(ready.status, "False");
    // `dies` may be between its runs too.
    let message = ready.message.clone().unwrap_or_default();
    assert!(
        message.starts_with("containers with unready status: [gate"),
        "{message}"
    );
    // The gate opens: the pod turns ready without a restart.
    // An upgrade needs a real connection.
    let mut touch = n
        .pods_over_tls()
        .await
        .exec(
            "probed",
            ["touch", "/tmp/open"],
            &kube::api::AttachParams::default()
                .container("gate")
                .stderr(false),
        )
        .await
        .unwrap();
    touch.take_status().unwrap().await;
    wait_for(&n.pods, "probed", |p| container(p, "gate")["ready"] == true).await;
    let seen: Vec<(String, String)> = events_in_default(&n)
        .await
        .into_iter()
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect();
    let ip = p.status.unwrap().pod_ip.unwrap();
    for (reason, message) in [
        ("Unhealthy", "Readiness probe failed: shut\n".to_string()),
        (
            "Unhealthy",
            format!("Liveness probe failed: dial tcp {ip}:9999: connect: connection refused"),
        ),
        (
            "Killing",
            "Container dies failed liveness probe, will be restarted".into(),
        ),
    ] {
        assert!(
            seen.contains(&(reason.to_string(), message.clone())),
            "no {reason} event {message:?} in {seen:?}"
        );
    }
    drop(n);
}

/// The node's heartbeat: its Lease in `kube-node-lease`, held by the node for 40 s and
/// owned by its Node, as the kubelet's lease controller writes it.
#[tokio::test(flavor = "multi_thread")]
async fn the_node_keeps_its_lease() {
    use k8s_openapi::api::coordination::v1::Lease;
    let n = Node::start("lease").await;
    let client = kube::Client::new(n.cluster.service_as(UserInfo::admin()), "default");
    let leases: Api<Lease> = Api::namespaced(client, "kube-node-lease");
    let started = std::time::Instant::now();
    let lease = loop {
        if let Some(lease) = leases.get_opt(apiserver::NODE_NAME).await.unwrap() {
            break lease;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no lease");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let spec = lease.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some(apiserver::NODE_NAME));
    assert_eq!(spec.lease_duration_seconds, Some(40));
    assert!(spec.renew_time.is_some());
    let owner = &lease.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Node", apiserver::NODE_NAME)
    );
    drop(n);
}
