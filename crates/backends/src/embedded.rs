//! The embedded backend: the in-process API server with the embedded kubelet.

use futures::FutureExt;
use futures::future::BoxFuture;
use harness::{Backend, BackendError, ClusterInfo, RunningCluster};
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
pub struct Embedded;

struct Running {
    info: ClusterInfo,
    cluster: apiserver::Cluster,
    kubelet: Arc<kubelet::Kubelet>,
    node: tokio::task::JoinHandle<()>,
}

impl RunningCluster for Running {
    fn info(&self) -> &ClusterInfo {
        &self.info
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, ()> {
        async move {
            self.node.abort();
            self.kubelet.shutdown();
            self.cluster.shutdown().await;
            let _ = std::fs::remove_dir_all(&self.info.workdir);
        }
        .boxed()
    }
}

impl Backend for Embedded {
    fn name(&self) -> &'static str {
        "embedded"
    }

    fn start(&self) -> BoxFuture<'_, Result<Box<dyn RunningCluster>, BackendError>> {
        async move {
            let fail = |detail: String| BackendError::Start {
                backend: "embedded".into(),
                detail,
            };
            let workdir = crate::fresh_dir("embedded")
                .map_err(|e| fail(format!("creating a work dir: {e}")))?;
            let socket = workdir.join("apiserver.sock");
            let cluster = apiserver::Cluster::start(apiserver::Config {
                socket: Some(socket.clone()),
                ..Default::default()
            })
            .await
            .map_err(|e| fail(e.to_string()))?;
            let client =
                kube::Client::new(cluster.service_as(apiserver::UserInfo::admin()), "default");
            let node_name = apiserver::NODE_NAME.to_string();
            let kubelet = kubelet::Kubelet::new(
                client,
                kubelet::Config {
                    node_name: node_name.clone(),
                    runtime_dir: workdir.join("run"),
                    api_socket: socket,
                },
            );
            cluster.attach_runtime(kubelet.clone());
            let node = tokio::spawn(kubelet.clone().run());
            let kubeconfig = workdir.join("kubeconfig");
            std::fs::write(&kubeconfig, cluster.admin_kubeconfig())
                .map_err(|e| fail(format!("writing the kubeconfig: {e}")))?;
            let info = ClusterInfo {
                kubeconfig,
                workdir,
                shared: false,
                description: format!("embedded Kubernetes v1.33 at {}", cluster.url()),
                redact: harness::redact::Context {
                    node_name,
                    node_ip: kubelet::NODE_IP.into(),
                },
            };
            Ok(Box::new(Running {
                info,
                cluster,
                kubelet,
                node,
            }) as Box<dyn RunningCluster>)
        }
        .boxed()
    }
}
