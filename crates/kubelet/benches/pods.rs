//! `cargo bench -p kubelet`: pods against their targets (DESIGN.md, Performance targets),
//! medians in one run:
//! - pod created → Running, observed through the API (target ≤ 100 ms);
//! - exec round trip of `true` over WebSocket with kube (target ≤ 20 ms);
//! - 50 concurrent execs, all completing.

use apiserver::{Cluster, Config, UserInfo};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, DeleteParams, PostParams};
use std::time::{Duration, Instant};

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

        let kc = kube::config::Kubeconfig::from_yaml(&cluster.admin_kubeconfig()).unwrap();
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

        println!("kubelab pod benchmark ({} cores)", std::thread::available_parallelism().map_or(0, |n| n.get()));
        println!("  pod created -> Running            median {:7.1} ms  (target <= 100 ms, 15 pods)", median(starts));
        println!("  exec round trip of `true`         median {:7.1} ms  (target <= 20 ms, 50 execs)", median(execs));
        println!("  50 concurrent execs               {completed}/50 completed in {concurrent:.0} ms");
        for i in 0..15 {
            let _ = pods.delete(&format!("bench-{i}"), &DeleteParams::default()).await;
        }
        task.abort();
        kubelet.shutdown();
        cluster.shutdown().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
