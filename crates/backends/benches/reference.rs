//! The embedded API server against the reference control plane (real kube-apiserver
//! v1.33.3 with etcd), in the same run: time from start to the first answered request,
//! and GET throughput of one ConfigMap over 8 keep-alive connections, as admin with a
//! client certificate and as a ServiceAccount with a token. Needs the reference built
//! (`cargo xtask control-plane build`).

use backends::control_plane::{self, ControlPlane};
use std::time::{Duration, Instant};
use testkit::bench::Row;

const ROUNDS: usize = 3;
const CONNECTIONS: usize = 8;
const LOAD: Duration = Duration::from_secs(3);
const CONFIG_MAP: &str = "/api/v1/namespaces/default/configmaps/bench";

fn main() {
    let bin = match control_plane::binaries() {
        Ok(bin) => bin,
        Err(why) => {
            eprintln!("error: {why}");
            std::process::exit(1);
        }
    };
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async move {
        let (embedded_start, reference_start) = starts(&bin).await;
        let ratio = reference_start / embedded_start;
        Row {
            figure: "vs reference: start to first answer".into(),
            value: format!("{:.1} ms = {ratio:.0}x faster", embedded_start * 1e3),
            target: ">= 100x".into(),
            met: Some(ratio >= 100.0),
            baseline: format!("kube-apiserver + etcd: {:.0} ms", reference_start * 1e3),
        }
        .record();
        throughput(&bin).await;
    });
}

/// Medians of `ROUNDS` starts of each, from start to the first answered request.
async fn starts(bin: &std::path::Path) -> (f64, f64) {
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let cluster = apiserver::Cluster::start(apiserver::Config::default())
            .await
            .expect("the embedded server starts");
        let client = client(cluster.admin_kubeconfig(), None).await;
        while get(&client, "/version").await.is_err() {}
        ours.push(t.elapsed().as_secs_f64());
        cluster.shutdown().await;

        let dir = backends::fresh_dir("bench-reference").expect("a scratch dir");
        let plane = ControlPlane::start(bin, &dir, 0, &|_| {})
            .await
            .expect("the reference starts");
        theirs.push(plane.first_answer().expect("it answered").as_secs_f64());
        plane.stop().await;
    }
    (median(&mut ours), median(&mut theirs))
}

/// GET throughput of each server with a certificate and with a token, each measured while
/// the other is stopped: the reference's etcd and controller manager keep working while
/// idle, and on a machine of few cores they would take from the embedded server's share.
async fn throughput(bin: &std::path::Path) {
    const WHO: [(bool, &str); 2] = [
        (false, "client certificate"),
        (true, "service-account token"),
    ];
    let cluster = apiserver::Cluster::start(apiserver::Config::default())
        .await
        .expect("the embedded server starts");
    let mut ours = Vec::new();
    for (token, _) in WHO {
        ours.push(load(cluster.admin_kubeconfig(), token).await);
    }
    cluster.shutdown().await;
    let dir = backends::fresh_dir("bench-reference").expect("a scratch dir");
    let plane = ControlPlane::start(bin, &dir, 0, &|_| {})
        .await
        .expect("the reference starts");
    let mut theirs = Vec::new();
    for (token, _) in WHO {
        theirs.push(load(plane.kubeconfig(), token).await);
    }
    plane.stop().await;
    for (((_, label), ours), theirs) in WHO.into_iter().zip(ours).zip(theirs) {
        let ratio = ours / theirs;
        Row {
            figure: format!("vs reference: GET, {label}"),
            value: format!("{ours:.0} req/s = {ratio:.1}x"),
            target: ">= 10x".into(),
            met: Some(ratio >= 10.0),
            baseline: format!("kube-apiserver: {theirs:.0} req/s"),
        }
        .record();
    }
}

/// Requests per second of `CONNECTIONS` clients looping on one GET for `LOAD`, as admin or
/// (`token`) as the `default` ServiceAccount, which a Role lets read ConfigMaps.
async fn load(admin: kube::config::Kubeconfig, token: bool) -> f64 {
    let admin_client = client(admin.clone(), None).await;
    prepare(&admin_client).await;
    let token = if token {
        Some(service_account_token(&admin_client).await)
    } else {
        None
    };
    let mut tasks = Vec::new();
    let deadline = Instant::now() + LOAD;
    for _ in 0..CONNECTIONS {
        // One client (one connection) per task, so the load is `CONNECTIONS` connections.
        let c = client(admin.clone(), token.clone()).await;
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                get(&c, CONFIG_MAP).await.expect("GET answers 200");
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("a load task");
    }
    total as f64 / LOAD.as_secs_f64()
}

/// The ConfigMap, and a Role and RoleBinding that let `default:default` get it.
async fn prepare(admin: &kube::Client) {
    for (path, body) in [
        (
            "/api/v1/namespaces/default/configmaps",
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bench"},"data":{"colour":"blue"}}"#,
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
            r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"bench"},"rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["get"]}]}"#,
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"bench"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"bench"},"subjects":[{"kind":"ServiceAccount","name":"default","namespace":"default"}]}"#,
        ),
    ] {
        let request = http::Request::post(path)
            .header("Content-Type", "application/json")
            .body(body.as_bytes().to_vec())
            .expect("a request");
        // A second load against the same server finds them made.
        let _ = admin.request_text(request).await;
    }
}

async fn service_account_token(admin: &kube::Client) -> String {
    let request = http::Request::post("/api/v1/namespaces/default/serviceaccounts/default/token")
        .header("Content-Type", "application/json")
        .body(
            br#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}"#
                .to_vec(),
        )
        .expect("a request");
    let text = admin.request_text(request).await.expect("a token");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    v["status"]["token"].as_str().expect("a token").to_string()
}

async fn client(kubeconfig: kube::config::Kubeconfig, token: Option<String>) -> kube::Client {
    let mut config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .expect("a kubeconfig");
    if let Some(token) = token {
        config.auth_info = kube::config::AuthInfo {
            token: Some(token.into()),
            ..Default::default()
        };
    }
    kube::Client::try_from(config).expect("a client")
}

async fn get(client: &kube::Client, path: &str) -> Result<String, kube::Error> {
    let request = http::Request::get(path)
        .body(Vec::new())
        .expect("a request");
    client.request_text(request).await
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
