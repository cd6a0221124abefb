//! `cargo bench -p backends --bench node` (and `cargo xtask bench`): kubelab's node joined
//! to the reference control plane (real kube-apiserver, kube-scheduler and
//! kube-controller-manager v1.33.3), against its targets, with the embedded cluster
//! measured the same way in the same run as the baseline:
//! - pod created → Running, observed through the API (target ≤ 2 s: the real scheduler
//!   binds it, the node's watch sees it);
//! - `exec` round trip of `true` through the real API server (WebSocket to the API server,
//!   SPDY from it to the kubelet; target ≤ 50 ms);
//! - a followed log's delay: from a line's write in the container to its arrival at the
//!   client through the API server (target ≤ 100 ms).
//!
//! Needs the reference built (`cargo xtask control-plane build`) and the course's images
//! (`cargo xtask images`).

use backends::control_plane::{self, ControlPlaneCluster};
use futures::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, DeleteParams, LogParams, PostParams};
use std::time::{Duration, Instant};
use testkit::bench::Row;

const PODS: usize = 8;
const EXECS: usize = 30;
const LINES: usize = 20;
const IMAGE: &str = "buildpack-deps:trixie-curl";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What one cluster gave.
struct Figures {
    start: f64,
    exec: f64,
    log_delay: f64,
}

async fn measure(client: kube::Client) -> Figures {
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let mut starts = Vec::new();
    for i in 0..PODS {
        let name = format!("bench-{i}");
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "main", "image": IMAGE, "command": ["sleep", "3600"]}]},
        }))
        .expect("a pod");
        let t = Instant::now();
        pods.create(&PostParams::default(), &pod)
            .await
            .expect("created");
        loop {
            let p = pods.get(&name).await.expect("read");
            if p.status.and_then(|s| s.phase).as_deref() == Some("Running") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        starts.push(t.elapsed().as_secs_f64() * 1e3);
    }

    let mut execs = Vec::new();
    for i in 0..EXECS + 3 {
        let t = Instant::now();
        let mut p = pods
            .exec("bench-0", ["true"], &AttachParams::default().stderr(false))
            .await
            .expect("exec");
        let status = p.take_status().expect("status").await.expect("a status");
        assert_eq!(status.status.as_deref(), Some("Success"));
        p.join().await.expect("joined");
        // The first few warm up connections and caches.
        if i >= 3 {
            execs.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }

    // Each line is the container's clock when it wrote it (the host's clock: the
    // container shares it), in nanoseconds.
    let clock: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "clock"},
        "spec": {"terminationGracePeriodSeconds": 0, "restartPolicy": "Never", "containers": [{"name": "main", "image": IMAGE, "command": ["sh", "-c", format!("sleep 1; for i in $(seq {LINES}); do date +%s%N; sleep 0.1; done")]}]},
    }))
    .expect("a pod");
    pods.create(&PostParams::default(), &clock)
        .await
        .expect("created");
    loop {
        let p = pods.get("clock").await.expect("read");
        if p.status.and_then(|s| s.phase).as_deref() == Some("Running") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let params = LogParams {
        follow: true,
        ..LogParams::default()
    };
    let mut lines = pods
        .log_stream("clock", &params)
        .await
        .expect("logs")
        .lines();
    let mut delays = Vec::new();
    while let Some(line) = lines.try_next().await.expect("a line") {
        let now = jiff::Timestamp::now().as_nanosecond();
        if let Ok(written) = line.trim().parse::<i128>() {
            delays.push((now - written) as f64 / 1e6);
        }
    }
    assert_eq!(delays.len(), LINES, "every line arrives");

    for i in 0..PODS {
        let _ = pods
            .delete(&format!("bench-{i}"), &DeleteParams::default())
            .await;
    }
    let _ = pods.delete("clock", &DeleteParams::default()).await;
    Figures {
        start: median(starts),
        exec: median(execs),
        log_delay: median(delays),
    }
}

/// A client for `kubeconfig` whose connections send at once (`TCP_NODELAY`), as Go's do:
/// kubectl's exec is measured, not Nagle's delay on a client's small writes (kube's own
/// connector leaves it on, which adds a delayed acknowledgement, about 40 ms, against a
/// Go server).
async fn client(kubeconfig: kube::config::Kubeconfig) -> kube::Client {
    use kube::client::ConfigExt;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .expect("a kubeconfig");
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let https = config
        .rustls_https_connector_with_connector(http)
        .expect("a connector");
    let hyper: hyper_util::client::legacy::Client<_, kube::client::Body> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https);
    let service = tower::ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer().expect("credentials"))
        .map_err(tower::BoxError::from)
        .service(hyper);
    kube::Client::new(service, config.default_namespace)
}

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
        // One at a time: on two cores, an idle control plane's etcd and controllers would
        // take CPU from the embedded cluster.
        let dir = tempfile::tempdir().expect("a directory");
        let embedded = backends::EmbeddedCluster::start(&dir.path().join("embedded"), 0)
            .await
            .expect("the embedded cluster starts");
        let ours = measure(client(embedded.kubeconfig()).await).await;
        embedded.stop().await;

        let cluster = ControlPlaneCluster::start(
            &bin,
            &dir.path().join("control-plane"),
            0,
            kubelet::PullObserver::default(),
            &|_| {},
        )
        .await
        .expect("the control plane starts with its node");
        let real = measure(client(cluster.plane().kubeconfig()).await).await;
        cluster.stop().await;

        println!("kubelab node joined to the reference control plane");
        // Each figure against its target (milliseconds), the embedded cluster beside it.
        let figures = [
            ("pod created -> Running", real.start, ours.start, 2000.0),
            ("exec round trip of `true`", real.exec, ours.exec, 50.0),
            (
                "followed log line's delay",
                real.log_delay,
                ours.log_delay,
                100.0,
            ),
        ];
        for (figure, real, ours, target) in figures {
            Row {
                figure: format!("control plane: {figure}"),
                value: format!("{real:.1} ms"),
                target: format!("<= {target:.0} ms"),
                met: Some(real <= target),
                baseline: format!("embedded cluster: {ours:.1} ms"),
            }
            .record();
        }
    });
}
