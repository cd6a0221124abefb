//! `cargo bench -p kubelet` (and `cargo xtask bench`): pods against their targets
//! (DESIGN.md, Performance targets), medians in one run:
//! - pod created → Running, observed through the API (target ≤ 50 ms);
//! - exec round trip of `true` over WebSocket with kube (target ≤ 10 ms);
//! - 50 concurrent execs, all completing.
//!
//! The baseline of both is the same program started as a plain host process in the same
//! run: what a pod and an exec cost beyond starting a process.

use apiserver::{Cluster, Config, UserInfo};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, DeleteParams, PostParams};
use std::time::{Duration, Instant};
use testkit::bench::Row;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("kubelet-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("apiserver.sock");
        let cluster = Cluster::start(Config { socket: Some(sock.clone()), ..Default::default() }).await.unwrap();
        let client = kube::Client::new(cluster.service_as(UserInfo::admin()), "default");
        let kubelet = kubelet::Kubelet::new(
            client.clone(),
            kubelet::Config { node_name: apiserver::NODE_NAME.into(), runtime_dir: dir.join("run"), api_socket: sock },
        );
        cluster.attach_runtime(kubelet.clone());
        let task = tokio::spawn(kubelet.clone().run());
        let pods: Api<Pod> = Api::namespaced(client, "default");

        let mut starts = Vec::new();
        for i in 0..15 {
            let name = format!("bench-{i}");
            let pod: Pod = serde_json::from_value(serde_json::json!({
                "metadata": {"name": name},
                "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"]}]},
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

        let kc = cluster.admin_kubeconfig();
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.unwrap();
        let tls: Api<Pod> = Api::namespaced(kube::Client::try_from(config).unwrap(), "default");
        let exec_true = |tls: Api<Pod>| async move {
            let t = Instant::now();
            let mut p = tls.exec("bench-0", ["true"], &AttachParams::default().stderr(false)).await.unwrap();
            let status = p.take_status().unwrap().await.unwrap();
            assert_eq!(status.status.as_deref(), Some("Success"));
            p.join().await.unwrap();
            t.elapsed().as_secs_f64() * 1e3
        };
        for _ in 0..5 {
            exec_true(tls.clone()).await;
        }
        let mut execs = Vec::new();
        for _ in 0..50 {
            execs.push(exec_true(tls.clone()).await);
        }
        let t = Instant::now();
        let handles: Vec<_> = (0..50).map(|_| tokio::spawn(exec_true(tls.clone()))).collect();
        let mut completed = 0;
        for h in handles {
            if h.await.is_ok() {
                completed += 1;
            }
        }
        let concurrent = t.elapsed().as_secs_f64() * 1e3;

        let host = |argv: &[&str]| {
            let samples = (0..50).map(|_| {
                let t = Instant::now();
                let status = std::process::Command::new(argv[0]).args(&argv[1..]).status().unwrap();
                assert!(status.success());
                t.elapsed().as_secs_f64() * 1e3
            });
            median(samples.collect())
        };
        let host_true = host(&["true"]);
        println!("kubelab pod benchmark ({} cores)", std::thread::available_parallelism().map_or(0, |n| n.get()));
        let (start, exec) = (median(starts), median(execs));
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
        Row {
            figure: "50 concurrent execs".into(),
            value: format!("{completed}/50 in {concurrent:.0} ms"),
            target: "50/50".into(),
            met: Some(completed == 50),
            baseline: "".into(),
        }
        .record();
        for i in 0..15 {
            let _ = pods.delete(&format!("bench-{i}"), &DeleteParams::default()).await;
        }
        task.abort();
        kubelet.shutdown();
        cluster.shutdown().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
