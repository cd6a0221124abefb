//! The Job controller and the pod garbage collection the course needs, run inside the API
//! server as kube-controller-manager runs beside it.
//!
//! Mirrors `pkg/controller/job/job_controller.go` for non-indexed Jobs: pods from the
//! template (named `<job>-<5 chars>`, controller labels, owner reference), `active`,
//! `ready`, `succeeded`, `failed`, `terminating`, `uncountedTerminatedPods`, `startTime`;
//! on success the conditions `SuccessCriteriaMet` then `Complete` (v1.31+) and
//! `completionTime`; past `backoffLimit`, `FailureTarget` then `Failed` with
//! `BackoffLimitExceeded`. Deleting a Job deletes the pods it owns (the garbage
//! collector's background propagation).

use crate::discovery::DISCOVERY;
use crate::object;
use crate::registry::{Registry, Writer};
use crate::store::{Event, EventType, resource_key};
use serde_json::{Value, json};

const MANAGER: &str = "k3s";

fn owned_by(pod: &Value, uid: &str) -> bool {
    pod.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
}

fn condition(kind: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": kind, "status": "True", "lastProbeTime": now, "lastTransitionTime": now, "reason": reason, "message": message})
}

/// Reacts to one store event.
pub fn on_event(reg: &Registry, ev: &Event) {
    let jobs_key = resource_key("batch", "jobs");
    let pods_key = resource_key("", "pods");
    if ev.resource == jobs_key {
        match ev.kind {
            EventType::Deleted => {
                delete_owned_pods(reg, &ev.namespace, object::meta_str(&ev.object, "uid"))
            }
            _ => sync(reg, &ev.namespace, &ev.name),
        }
    } else if ev.resource == pods_key {
        let owner = ev
            .object
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .and_then(|refs| {
                refs.iter()
                    .find(|r| r["kind"] == "Job" && r["controller"] == true)
            })
            .and_then(|r| r["name"].as_str())
            .map(String::from);
        if let Some(job) = owner {
            sync(reg, &ev.namespace, &job);
        }
    }
}

/// Syncs every Job (after missed events).
pub fn resync(reg: &Registry) {
    let (jobs, _) = reg.list(DISCOVERY.served("batch", "jobs"), None);
    for job in jobs {
        sync(reg, object::meta_str(&job, "namespace"), object::name(&job));
    }
}

fn delete_owned_pods(reg: &Registry, ns: &str, uid: &str) {
    let pods = DISCOVERY.resource("", "v1", "pods").expect("pods");
    let (items, _) = reg.list(DISCOVERY.served("", "pods"), Some(ns));
    for p in items.iter().filter(|p| owned_by(p, uid)) {
        let _ = reg.delete(pods, ns, object::name(p), false, None);
    }
}

/// Syncs a Job; a status write that lost a race to another writer is computed again
/// from the fresh Job, as the controller requeues a key on conflict.
fn sync(reg: &Registry, ns: &str, name: &str) {
    for _ in 0..16 {
        if sync_once(reg, ns, name) != Synced::Conflict {
            return;
        }
    }
    tracing::warn!(
        job = name,
        "job status kept conflicting; the next event retries"
    );
}

#[derive(Debug, PartialEq)]
enum Synced {
    Done,
    Conflict,
}

fn sync_once(reg: &Registry, ns: &str, name: &str) -> Synced {
    let jobs = DISCOVERY.resource("batch", "v1", "jobs").expect("jobs");
    let pods_res = DISCOVERY.resource("", "v1", "pods").expect("pods");
    let Some(job) = reg.find(DISCOVERY.served("batch", "jobs"), ns, name) else {
        return Synced::Done;
    };
    if job.pointer("/metadata/deletionTimestamp").is_some() {
        return Synced::Done;
    }
    let uid = object::meta_str(&job, "uid").to_string();
    let status = job.get("status").cloned().unwrap_or(json!({}));
    let finished = status["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
    });
    let (pods, _) = reg.list(DISCOVERY.served("", "pods"), Some(ns));
    let mine: Vec<&Value> = pods
        .iter()
        .map(|p| p.as_ref())
        .filter(|p| owned_by(p, &uid))
        .collect();
    let phase = |p: &Value| {
        p.pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let succeeded = mine.iter().filter(|p| phase(p) == "Succeeded").count() as i64;
    let failed = mine.iter().filter(|p| phase(p) == "Failed").count() as i64;
    let terminating = mine
        .iter()
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_some())
        .count() as i64;
    let active_pods: Vec<&&Value> = mine
        .iter()
        .filter(|p| {
            !matches!(phase(p).as_str(), "Succeeded" | "Failed")
                && p.pointer("/metadata/deletionTimestamp").is_none()
        })
        .collect();
    let ready = active_pods
        .iter()
        .filter(|p| {
            p.pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
        })
        .count() as i64;
    let completions = job
        .pointer("/spec/completions")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let parallelism = job
        .pointer("/spec/parallelism")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let backoff_limit = job
        .pointer("/spec/backoffLimit")
        .and_then(Value::as_i64)
        .unwrap_or(6);
    let suspended = job
        .pointer("/spec/suspend")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let now = object::now();
    let mut active = active_pods.len() as i64;
    let mut next = status.clone();
    if !finished && !suspended {
        // Start pods up to parallelism, never beyond the completions still needed.
        let wanted = parallelism.min(completions - succeeded).max(0);
        if succeeded < completions && failed <= backoff_limit {
            let missing = (wanted - active).max(0);
            for _ in 0..missing {
                let pod = pod_from_template(&job, name, &uid);
                match reg.create(pods_res, ns, pod, &Writer::internal(MANAGER)) {
                    Ok(_) => active += 1,
                    Err(e) => {
                        tracing::warn!(job = name, error = %e.message, "creating a job pod failed")
                    }
                }
            }
        }
        if next.get("startTime").is_none() {
            next["startTime"] = json!(now);
        }
    }
    next["active"] = json!(active);
    next["ready"] = json!(ready);
    next["terminating"] = json!(terminating);
    next["uncountedTerminatedPods"] = json!({});
    if succeeded > 0 {
        next["succeeded"] = json!(succeeded);
    }
    if failed > 0 {
        next["failed"] = json!(failed);
    }
    if !finished {
        // Upstream pkg/controller/job/job_controller.go (v1.33): when succeeded reaches
        // completions the controller adds SuccessCriteriaMet, then Complete, both with
        // reason CompletionsReached (batch.JobReasonCompletionsReached) and this message;
        // real v1.33 Job objects (`kubectl get job -o yaml` captures) show the same pair.
        if succeeded >= completions {
            next["conditions"] = json!([
                condition(
                    "SuccessCriteriaMet",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    &now
                ),
                condition(
                    "Complete",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    &now
                ),
            ]);
            next["completionTime"] = json!(now);
            next["active"] = json!(0);
        } else if failed > backoff_limit {
            next["conditions"] = json!([
                condition(
                    "FailureTarget",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    &now
                ),
                condition(
                    "Failed",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    &now
                ),
            ]);
            next["active"] = json!(0);
        }
    }
    if next != status {
        // The Job as read is the precondition: a write in between is a conflict.
        let mut updated = (*job).clone();
        updated["status"] = next;
        match reg.update(
            jobs,
            Some("status"),
            ns,
            name,
            updated,
            &Writer::internal(MANAGER),
        ) {
            Err(e) if e.code == 409 => return Synced::Conflict,
            Err(e) => tracing::warn!(job = name, error = %e.message, "job status rejected"),
            Ok(_) => {}
        }
    }
    Synced::Done
}

/// A pod for `job` from its template, as `podControl.CreatePodsWithControllerRef` makes it.
fn pod_from_template(job: &Value, name: &str, uid: &str) -> Value {
    let template = job.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let mut meta = template.get("metadata").cloned().unwrap_or(json!({}));
    if let Some(m) = meta.as_object_mut() {
        m.shift_remove("creationTimestamp");
        m.insert("generateName".into(), json!(format!("{name}-")));
        m.insert(
            "ownerReferences".into(),
            json!([{"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": uid, "controller": true, "blockOwnerDeletion": true}]),
        );
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template.get("spec").cloned().unwrap_or(json!({}))})
}
