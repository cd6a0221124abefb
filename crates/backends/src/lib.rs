//! The backends labs run on, chosen by `KUBELAB_BACKEND` or `--backend`: `embedded` (the
//! default), `k3s` (a real k3s in Docker), `kubeconfig` (the learner's own cluster).

pub mod control_plane;
mod embedded;
mod k3s;
mod kubeconfig;

pub use embedded::{Embedded, EmbeddedCluster, StartError};
pub use k3s::K3s;
pub use kubeconfig::Kubeconfig;
/// What `EmbeddedCluster::start_observed` tells of each image pull its node makes.
pub use kubelet::{PullEvent, PullObserver};

/// The names `by_name` takes.
pub const NAMES: &str = "embedded, control-plane, k3s or kubeconfig";

/// A backend name that names none.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChoiceError {
    #[error("unknown backend {name:?}: the backends are {NAMES}")]
    Unknown { name: String },
    #[error("KUBELAB_BACKEND: {0}")]
    Env(Box<ChoiceError>),
}

/// The backend of that name.
pub fn by_name(name: &str) -> Result<Box<dyn harness::Backend>, ChoiceError> {
    match name {
        "embedded" => Ok(Box::new(Embedded::default())),
        "control-plane" => Ok(Box::new(control_plane::ControlPlaneBackend)),
        "k3s" => Ok(Box::new(K3s)),
        "kubeconfig" => Ok(Box::new(Kubeconfig::default())),
        other => Err(ChoiceError::Unknown { name: other.into() }),
    }
}

/// The backend `KUBELAB_BACKEND` names (`embedded` when unset or empty).
pub fn from_env() -> Result<Box<dyn harness::Backend>, ChoiceError> {
    match std::env::var("KUBELAB_BACKEND").as_deref() {
        Err(_) | Ok("") => Ok(Box::new(Embedded::default())),
        Ok(name) => by_name(name).map_err(|e| ChoiceError::Env(Box::new(e))),
    }
}

/// An error with its causes, as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

#[doc(hidden)]
pub use harness;

/// The test of a lab crate: runs the lab on the backend `KUBELAB_BACKEND` names and asserts
/// one insta snapshot per step in the crate's `snapshots/`; and, in
/// `on_the_reference_control_plane`, runs it again on the control-plane backend (real
/// kube-apiserver, kube-controller-manager and kube-scheduler, kubelab's node joined to
/// them) against the same snapshots, unless `KUBELAB_BACKEND` already chose a backend.
/// It expands in the lab crate's test, whose dev-dependencies are `backends`, `insta` and
/// `tokio`: `backends::lab_test!(lab03_matches_its_snapshots, lab03_ca_verification::lab());`
/// The lab names no backend: the ones it runs on come from here, the crate above the
/// harness that knows them.
#[macro_export]
macro_rules! lab_test {
    ($test:ident, $lab:expr) => {
        #[tokio::test(flavor = "multi_thread")]
        async fn $test() {
            let backend = $crate::from_env().unwrap_or_else(|e| panic!("{e}"));
            $crate::lab_test!(@run $lab, backend);
        }

        mod on_the_reference_control_plane {
            #[tokio::test(flavor = "multi_thread")]
            async fn $test() {
                if $crate::chosen_in_env() {
                    // The test above runs on the backend chosen.
                    return;
                }
                if let Err(why) = $crate::control_plane::binaries() {
                    return $crate::harness::testkit::skip(why);
                }
                let backend = $crate::by_name("control-plane").unwrap_or_else(|e| panic!("{e}"));
                $crate::lab_test!(@run $lab, backend);
            }
        }
    };
    (@run $lab:expr, $backend:expr) => {
        let lab = $lab;
        if let Some(why) = $crate::harness::missing_host_tool(&lab) {
            return $crate::harness::testkit::skip(why);
        }
        let steps = $crate::harness::run(&lab, $backend.as_ref())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(steps.len(), lab.scenario.steps.len());
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("../snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| {
            for (name, text) in &steps {
                insta::assert_snapshot!(name.as_str(), text);
            }
        });
    };
}

/// Whether `KUBELAB_BACKEND` names a backend.
#[doc(hidden)]
pub fn chosen_in_env() -> bool {
    std::env::var("KUBELAB_BACKEND").is_ok_and(|b| !b.is_empty())
}

/// A started cluster: what lab runs read, and what it holds until it stops. Stopping
/// releases that, then removes the cluster's scratch folder (`info.workdir`).
struct Started<T> {
    info: harness::ClusterInfo,
    held: T,
}

/// What a started cluster holds (processes, a container) and gives back when it stops.
trait Release: Send + Sync + 'static {
    fn release(self) -> futures::future::BoxFuture<'static, ()>;
}

/// A cluster that holds nothing of ours: the learner's.
impl Release for () {
    fn release(self) -> futures::future::BoxFuture<'static, ()> {
        Box::pin(std::future::ready(()))
    }
}

impl<T: Release> Started<T> {
    fn boxed(info: harness::ClusterInfo, held: T) -> Box<dyn harness::RunningCluster> {
        Box::new(Started { info, held })
    }
}

impl<T: Release> harness::RunningCluster for Started<T> {
    fn info(&self) -> &harness::ClusterInfo {
        &self.info
    }

    fn stop(self: Box<Self>) -> futures::future::BoxFuture<'static, ()> {
        Box::pin(async move {
            let Started { info, held } = *self;
            held.release().await;
            let _ = std::fs::remove_dir_all(&info.workdir);
        })
    }
}

/// `harness::Backend` for a backend type with an `async fn provision(&self) ->
/// Result<(ClusterInfo, impl Release), String>`: its error becomes a `BackendError::Start`
/// naming the backend, and stopping the cluster releases what it holds.
macro_rules! backend {
    ($backend:ty, $name:literal) => {
        impl harness::Backend for $backend {
            fn name(&self) -> &'static str {
                $name
            }

            fn start(
                &self,
            ) -> futures::future::BoxFuture<
                '_,
                Result<Box<dyn harness::RunningCluster>, harness::BackendError>,
            > {
                Box::pin(async move {
                    let (info, held) =
                        self.provision()
                            .await
                            .map_err(|detail| harness::BackendError::Start {
                                backend: $name.into(),
                                detail,
                            })?;
                    Ok($crate::Started::boxed(info, held))
                })
            }
        }
    };
}
use backend;

/// A fresh private scratch folder for one cluster (`$TMPDIR/kubelab-<what>-<pid>-XXXXXX`),
/// which the cluster's `stop` removes. Folders of the same kind left by a process that no
/// longer runs (killed before it could clean up) are removed first.
pub fn fresh_dir(what: &str) -> std::io::Result<std::path::PathBuf> {
    sweep(&std::env::temp_dir(), what);
    Ok(tempfile::Builder::new()
        .prefix(&format!("kubelab-{what}-{}-", std::process::id()))
        .tempdir()?
        .keep())
}

/// Removes `<tmp>/kubelab-<what>-<pid>-*` whose process is gone.
fn sweep(tmp: &std::path::Path, what: &str) {
    let prefix = format!("kubelab-{what}-");
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A node's name and InternalIP, which redaction replaces.
fn node_identity(node: &k8s_openapi::api::core::v1::Node) -> (String, String) {
    let name = node.metadata.name.clone().unwrap_or_default();
    let ip = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
        .map(|a| a.address.clone())
        .unwrap_or_default();
    (name, ip)
}
