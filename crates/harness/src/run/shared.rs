//! The runner on a shared cluster (someone else's, through their kubeconfig): it labels
//! what it creates as kubelab's, refuses to change what it did not create, and deletes
//! what it created.

use super::plan::kubectl;
use super::{RunError, Runner};
use scenario::Step;

/// The label the runner puts on what it creates in a shared cluster
/// (`app.kubernetes.io/managed-by`, the recommended label for the tool that manages an
/// object).
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kubelab");

/// An object `kubectl get -f` found: how to name it to kubectl, and whether it is ours.
#[derive(Debug, Clone, PartialEq)]
struct Found {
    /// `pod/curl`, `job.v1.batch/my-job`.
    target: String,
    namespace: Option<String>,
    ours: bool,
}

/// The objects of a `kubectl get -f FILE -o json --ignore-not-found` answer.
fn found_objects(json: &str) -> Result<Vec<Found>, String> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("reading kubectl's answer: {e}"))?;
    let items = match v.get("items").and_then(|i| i.as_array()) {
        Some(items) => items.clone(),
        None => vec![v],
    };
    Ok(items
        .iter()
        .map(|item| {
            let s = |p: &str| item.pointer(p).and_then(|x| x.as_str()).unwrap_or("");
            let kind = s("/kind").to_lowercase();
            let target = match s("/apiVersion").split_once('/') {
                Some((group, version)) => {
                    format!("{kind}.{version}.{group}/{}", s("/metadata/name"))
                }
                None => format!("{kind}/{}", s("/metadata/name")),
            };
            let label = item
                .pointer("/metadata/labels")
                .and_then(|l| l.get(MANAGED_BY.0))
                .and_then(|x| x.as_str());
            Found {
                target,
                namespace: Some(s("/metadata/namespace"))
                    .filter(|n| !n.is_empty())
                    .map(String::from),
                ours: label == Some(MANAGED_BY.1),
            }
        })
        .collect())
}

impl Runner<'_> {
    /// kubectl for the runner's own bookkeeping (never shown): exit code and output.
    fn kubectl_quiet(&self, step: &str, args: &[&str]) -> Result<std::process::Output, RunError> {
        self.output(
            step,
            &format!("kubectl {}", args.join(" ")),
            &kubectl()?,
            args,
            None,
        )
    }

    /// What of `file`'s objects exists in the cluster.
    fn existing(&self, step: &str, file: &str) -> Result<Vec<Found>, RunError> {
        let out = self.kubectl_quiet(
            step,
            &["get", "-f", file, "-o", "json", "--ignore-not-found"],
        )?;
        let fail = |detail: String| RunError::Step {
            step: step.to_string(),
            detail,
        };
        if !out.status.success() {
            return Err(fail(format!(
                "checking what {file} would change: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        found_objects(&String::from_utf8_lossy(&out.stdout)).map_err(fail)
    }

    /// On a shared cluster, refuses a step that would change an object kubelab did not
    /// create.
    pub(super) fn guard(&self, step: &Step, file: &str) -> Result<(), RunError> {
        if !self.cluster.shared {
            return Ok(());
        }
        let foreign: Vec<String> = self
            .existing(&step.name, file)?
            .into_iter()
            .filter(|f| !f.ours)
            .map(|f| f.target)
            .collect();
        if foreign.is_empty() {
            return Ok(());
        }
        Err(RunError::Step {
            step: step.name.clone(),
            detail: format!(
                "refusing to change {} in this cluster: kubelab did not create {} (no label {}={}); \
                 remove {} or run the lab on another cluster",
                foreign.join(", "),
                if foreign.len() == 1 { "it" } else { "them" },
                MANAGED_BY.0,
                MANAGED_BY.1,
                if foreign.len() == 1 { "it" } else { "them" },
            ),
        })
    }

    /// On a shared cluster, labels what an apply step created as kubelab's.
    pub(super) fn claim(&mut self, step: &Step, file: &str) -> Result<(), RunError> {
        if !self.cluster.shared {
            return Ok(());
        }
        let label = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
        let out = self.kubectl_quiet(&step.name, &["label", "-f", file, &label, "--overwrite"])?;
        if !out.status.success() {
            return Err(RunError::Step {
                step: step.name.clone(),
                detail: format!(
                    "labelling what {file} created: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        if !self.applied.iter().any(|f| f == file) {
            self.applied.push(file.to_string());
        }
        Ok(())
    }

    /// On a shared cluster, deletes what an earlier run of this lab left behind (it was
    /// interrupted): the objects of the scenario's manifests that carry kubelab's label,
    /// waiting until they are gone, so that the lab starts as on a fresh cluster.
    pub fn prepare(&mut self) -> Result<(), RunError> {
        if !self.cluster.shared {
            return Ok(());
        }
        let files: Vec<String> = self
            .scenario
            .manifests
            .iter()
            .map(|m| m.file.clone())
            .collect();
        self.remove_ours("prepare", &files, true)
    }

    /// On a shared cluster, deletes every object the run created that still exists (and
    /// still carries kubelab's label), newest manifest first. Runs once; `Drop` calls it.
    pub fn cleanup(&mut self) -> Result<(), RunError> {
        let mut applied = std::mem::take(&mut self.applied);
        applied.reverse();
        self.remove_ours("cleanup", &applied, false)
    }

    fn remove_ours(&self, step: &str, files: &[String], wait: bool) -> Result<(), RunError> {
        let mut failed = Vec::new();
        for file in files {
            for f in self.existing(step, file)?.into_iter().filter(|f| f.ours) {
                let mut args = vec!["delete", f.target.as_str(), "--ignore-not-found"];
                if !wait {
                    args.push("--wait=false");
                }
                if let Some(ns) = &f.namespace {
                    args.extend(["-n", ns.as_str()]);
                }
                let out = self.kubectl_quiet(step, &args)?;
                if !out.status.success() {
                    failed.push(format!(
                        "{}: {}",
                        f.target,
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                }
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(RunError::Step {
                step: step.into(),
                detail: format!(
                    "could not delete what the lab created: {}",
                    failed.join("; ")
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_objects_name_kubectl_targets_and_owners() {
        let list = r#"{"apiVersion":"v1","kind":"List","items":[
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"curl","namespace":"default","labels":{"app.kubernetes.io/managed-by":"kubelab"}}},
            {"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"my-job","namespace":"default"}},
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"b","labels":{"app.kubernetes.io/managed-by":"helm"}}}
        ]}"#;
        assert_eq!(
            found_objects(list).unwrap(),
            vec![
                Found {
                    target: "pod/curl".into(),
                    namespace: Some("default".into()),
                    ours: true
                },
                Found {
                    target: "job.v1.batch/my-job".into(),
                    namespace: Some("default".into()),
                    ours: false
                },
                Found {
                    target: "clusterrolebinding.v1.rbac.authorization.k8s.io/b".into(),
                    namespace: None,
                    ours: false
                },
            ]
        );
        // One object comes back bare; nothing found is empty output.
        let one = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"curl"}}"#;
        assert_eq!(found_objects(one).unwrap()[0].target, "pod/curl");
        assert_eq!(found_objects("\n").unwrap(), vec![]);
        assert!(found_objects("{").is_err());
    }
}
