//! `cargo bench -p kubelet` (and `cargo xtask bench`): pods against their targets
//! (DESIGN.md, Performance targets), medians in one run:
//! - pod created → Running, observed through the API (target ≤ 50 ms);
//! - exec round trip of `true` over WebSocket with kube (target ≤ 10 ms);
//! - 50 concurrent execs, all completing.
//!
//! The baseline of both is the same program started as a plain host process in the same
//! run: what a pod and an exec cost beyond starting a process.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, DeleteParams, PostParams};
use std::time::{Duration, Instant};
use testkit::bench::Row;

/// How many pods are started, and how many execs run one after another and at once.
const PODS: usize = 15;
const EXECS: usize = 50;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[path = "../tests/node/mod.rs"]
mod node;
use node::Node;

/// Deletes the bench pods, then stops the node.
async fn stop(node: Node) {
    for i in 0..PODS {
        let name = format!("bench-{i}");
        let _ = node.pods.delete(&name, &DeleteParams::default()).await;
    }
    drop(node);
}

/// Creates the bench pods one by one; the milliseconds from each create until the API
/// shows it Running.
async fn pod_starts(pods: &Api<Pod>) -> Vec<f64> {
    let mut starts = Vec::new();
    for i in 0..PODS {
        let name = format!("bench-{i}");
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "main", "image": "debian:trixie-slim", "command": ["sleep", "3600"]}]},
        }))
        .unwrap();
        let t = Instant::now();
        pods.create(&PostParams::default(), &pod).await.unwrap();
        loop {
            let p = pods.get(&name).await.unwrap();
            if p.status.and_then(|s| s.phase).as_deref() == Some("Running") {
                break;
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        starts.push(t.elapsed().as_secs_f64() * 1e3);
    }
    starts
}

/// One exec of `true` in the first bench pod; its round trip in milliseconds.
async fn exec_true(tls: Api<Pod>) -> f64 {
    let t = Instant::now();
    let mut p = tls
        .exec("bench-0", ["true"], &AttachParams::default().stderr(false))
        .await
        .unwrap();
    let status = p.take_status().unwrap().await.unwrap();
    assert_eq!(status.status.as_deref(), Some("Success"));
    p.join().await.unwrap();
    t.elapsed().as_secs_f64() * 1e3
}

/// Execs one after another (after a warm-up), then all at once.
struct ExecTimes {
    /// Each sequential exec's round trip in milliseconds.
    sequential: Vec<f64>,
    /// How many of the concurrent execs completed, and in how many milliseconds.
    completed: usize,
    concurrent: f64,
}

async fn exec_times(tls: &Api<Pod>) -> ExecTimes {
    for _ in 0..5 {
        exec_true(tls.clone()).await;
    }
    let mut sequential = Vec::new();
    for _ in 0..EXECS {
        sequential.push(exec_true(tls.clone()).await);
    }
    let t = Instant::now();
    let handles: Vec<_> = (0..EXECS)
        .map(|_| tokio::spawn(exec_true(tls.clone())))
        .collect();
    let mut completed = 0;
    for h in handles {
        if h.await.is_ok() {
            completed += 1;
        }
    }
    ExecTimes {
        sequential,
        completed,
        concurrent: t.elapsed().as_secs_f64() * 1e3,
    }
}

/// The median milliseconds to start `argv` as a host process and reap it.
fn host_median(argv: &[&str]) -> f64 {
    let samples = (0..50).map(|_| {
        let t = Instant::now();
        let status = std::process::Command::new(argv[0])
            .args(&argv[1..])
            .status()
            .unwrap();
        assert!(status.success());
        t.elapsed().as_secs_f64() * 1e3
    });
    median(samples.collect())
}

fn report(starts: Vec<f64>, execs: ExecTimes, host_true: f64) {
    println!(
        "kubelab pod benchmark ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let (start, exec) = (median(starts), median(execs.sequential));
    Row {
        figure: "pod created -> Running (15 pods)".into(),
        value: format!("{start:.1} ms"),
        target: "<= 50 ms".into(),
        met: Some(start <= 50.0),
        baseline: format!("host process started and reaped: {host_true:.2} ms"),
    }
    .record();
    Row {
        figure: "exec round trip of `true` (50 execs)".into(),
        value: format!("{exec:.1} ms"),
        target: "<= 10 ms".into(),
        met: Some(exec <= 10.0),
        baseline: format!("host `true`: {host_true:.2} ms"),
    }
    .record();
    let (completed, concurrent) = (execs.completed, execs.concurrent);
    Row {
        figure: "50 concurrent execs".into(),
        value: format!("{completed}/50 in {concurrent:.0} ms"),
        target: "50/50".into(),
        met: Some(completed == 50),
        baseline: "".into(),
    }
    .record();
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let node = Node::start("bench").await;
        let starts = pod_starts(&node.pods).await;
        let tls = node.pods_over_tls().await;
        let execs = exec_times(&tls).await;
        let host_true = host_median(&["true"]);
        report(starts, execs, host_true);
        stop(node).await;
    });
}
