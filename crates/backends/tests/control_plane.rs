//! The control-plane backend: the reference control plane (real etcd, kube-apiserver,
//! kube-controller-manager and kube-scheduler, built by `cargo xtask control-plane build`)
//! with kubelab's node joined to it. It answers as k3s does, its node is Ready, the real
//! scheduler binds pods to it, `kubectl exec` and `kubectl logs -f` reach its kubelet
//! through the real API server, and it stops without leaving a process or a file. (Every
//! lab runs on it too: `backends::lab_test!`.)

mod common;

use common::{kubectl, kubectl_status, processes_naming, ready};
use std::path::Path;
use std::process::Command;

/// Runs `kubectl port-forward pod/web :<port>`, sends `request` to the local port it
/// picks, and returns the answer.
fn through_port_forward(kubeconfig: &Path, port: &str, request: &str) -> String {
    use std::io::{BufRead, Read, Write};
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["port-forward", "pod/web", &format!(":{port}")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // `Forwarding from 127.0.0.1:39125 -> 8080`
    let line = lines.next().unwrap().unwrap();
    let local = line
        .strip_prefix("Forwarding from ")
        .and_then(|l| l.split(' ').next())
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    let mut conn = std::net::TcpStream::connect(&local).unwrap();
    conn.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    answer
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_kubectl_as_k3s_with_its_node_ready_and_leaves_nothing_behind() {
    if !ready() {
        return;
    }
    let cluster = backends::by_name("control-plane")
        .unwrap()
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let info = cluster.info().clone();
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
    // The node registered itself, with the role k3s gives a server's node, and is Ready.
    let node = kubectl(&info.kubeconfig, &["get", "nodes", "-o", "json"]);
    let node: serde_json::Value = serde_json::from_str(&node).unwrap();
    let node = &node["items"][0];
    assert_eq!(node["metadata"]["name"], "kubelab-node");
    assert_eq!(
        node["metadata"]["labels"]["node-role.kubernetes.io/control-plane"],
        "true"
    );
    let ready = node["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    assert_eq!(ready["status"], "True", "{node}");
    assert_eq!(
        node["status"]["addresses"][0]["address"],
        info.redact.node_ip.as_str()
    );
    assert!(!processes_naming(&info.workdir).is_empty());
    cluster.stop().await;
    assert_eq!(processes_naming(&info.workdir), Vec::<String>::new());
    assert!(!info.workdir.exists(), "{} is left", info.workdir.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_run_exec_logs_and_port_forward_reach_its_node_through_the_real_api_server() {
    if !ready() {
        return;
    }
    let cluster = backends::by_name("control-plane")
        .unwrap()
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let kc = cluster.info().kubeconfig.clone();
    let checks = tokio::task::spawn_blocking(move || {
        let image = "--image=buildpack-deps:trixie-curl";
        // Scheduled by kube-scheduler (no nodeName given), run by the node.
        kubectl(
            &kc,
            &["run", "shell", image, "--command", "--", "sleep", "3600"],
        );
        kubectl(
            &kc,
            &[
                "wait",
                "--for=condition=Ready",
                "pod/shell",
                "--timeout=60s",
            ],
        );
        let node = kubectl(
            &kc,
            &["get", "pod/shell", "-o", "jsonpath={.spec.nodeName}"],
        );
        assert_eq!(node, "kubelab-node");
        let events = kubectl(
            &kc,
            &[
                "get",
                "events",
                "--field-selector=reason=Scheduled",
                "-o",
                "jsonpath={.items[*].reportingComponent} {.items[*].message}",
            ],
        );
        assert_eq!(
            events,
            "default-scheduler Successfully assigned default/shell to kubelab-node"
        );

        // Standard input, output and error, and the exit code, over SPDY to the kubelet.
        let (out, err, code) = kubectl_status(
            &kc,
            &[
                "exec",
                "-i",
                "shell",
                "--",
                "sh",
                "-c",
                "cat; echo oops >&2; exit 3",
            ],
            "hello through the API server\n",
        );
        assert_eq!(out, "hello through the API server\n");
        assert_eq!(code, 3, "{err}");
        assert!(err.contains("oops"), "{err}");
        assert!(err.contains("command terminated with exit code 3"), "{err}");
        // A terminal: no stderr stream, input through the terminal (`kubectl exec -it`,
        // under `script`, which gives kubectl one).
        let (shown, code) = common::in_terminal(
            &format!("kubectl --kubeconfig {} exec -it shell -- sh", kc.display()),
            "echo $((6 * 7)); tty; exit 5\n",
        );
        assert!(shown.contains("42"), "{shown}");
        // A terminal of the container's own devpts.
        assert!(shown.contains("\r\n/dev/pts/0\r\n"), "{shown}");
        assert_eq!(code, Some(5), "{shown}");
        let big = kubectl(
            &kc,
            &[
                "exec",
                "shell",
                "--",
                "sh",
                "-c",
                "head -c 300000 /dev/zero | tr '\\0' x",
            ],
        );
        assert_eq!(big.len(), 300_000);

        // Logs, followed until the container ends.
        kubectl(
            &kc,
            &[
                "run",
                "counter",
                image,
                "--restart=Never",
                "--command",
                "--",
                "sh",
                "-c",
                "for i in 1 2 3; do echo line $i; sleep 0.3; done",
            ],
        );
        kubectl(
            &kc,
            &[
                "wait",
                "--for=jsonpath={.status.phase}=Running",
                "pod/counter",
                "--timeout=60s",
            ],
        );
        let followed = kubectl(&kc, &["logs", "-f", "counter"]);
        assert_eq!(followed, "line 1\nline 2\nline 3\n");
        let recent = kubectl(&kc, &["logs", "--since=1h", "counter"]);
        assert_eq!(recent, followed);
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
        let since = format!("--since-time={}", later.strftime("%Y-%m-%dT%H:%M:%SZ"));
        assert_eq!(kubectl(&kc, &["logs", &since, "counter"]), "");

        // A port of the pod, forwarded through the API server to the kubelet, which
        // connects inside the pod's network namespace.
        kubectl(
            &kc,
            &[
                "run",
                "web",
                "--image=gcr.io/distroless/python3-debian13:latest",
                "--image-pull-policy=IfNotPresent",
                "--command",
                "--",
                "python3",
                "-m",
                "http.server",
                "8080",
            ],
        );
        kubectl(
            &kc,
            &["wait", "--for=condition=Ready", "pod/web", "--timeout=60s"],
        );
        // The pod is ready once its container runs, which may be before Python listens:
        // a refused connection ends kubectl's forwarding, so it is tried again.
        let mut page = String::new();
        for _ in 0..40 {
            page = through_port_forward(&kc, "8080", "GET / HTTP/1.0\r\n\r\n");
            if !page.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        assert!(page.starts_with("HTTP/1.0 200 OK"), "{page}");
        assert!(page.contains("Directory listing for /"), "{page}");
    })
    .await;
    cluster.stop().await;
    checks.unwrap();
}
