//! The lab harness: runs a scenario's steps on a backend, records what a learner would
//! see, and redacts it so that one snapshot holds on every backend.
//!
//! `backend` is the seam to the clusters (the harness names none), `run` executes steps
//! with the host's `kubectl` and `curl`, `redact` is the Kubernetes-aware redaction set.

pub mod backend;
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
    let scenario = lab.scenario.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut runner = run::Runner::new(&info, &scenario);
        let mut out = Vec::new();
        for step in &scenario.steps {
            let t = runner.step(step)?;
            out.push((
                format!("lab{:02}__{}", 0, step.name),
                redact::redact(&t.render(), &info.redact),
            ));
        }
        Ok::<_, RunError>(out)
    })
    .await
    .map_err(|e| RunError::Step {
        step: "-".into(),
        detail: format!("the runner stopped: {e}"),
    });
    cluster.stop().await;
    let steps = result??;
    Ok(steps
        .into_iter()
        .map(|(n, t)| (n.replacen("lab00", &format!("lab{:02}", lab.number), 1), t))
        .collect())
}
