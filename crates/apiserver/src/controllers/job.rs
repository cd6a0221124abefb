//! The Job controller, run inside the API server as kube-controller-manager runs beside
//! it, and the pod garbage collection the course needs.
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
use crate::store::{Event, EventType};
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
pub(super) fn on_event(reg: &Registry, ev: &Event) {
    let jobs = DISCOVERY.served("batch", "jobs");
    let pods = DISCOVERY.served("", "pods");
    if ev.resource == crate::store::resource_key(jobs.group, jobs.name) {
        match ev.kind {
            EventType::Deleted => {
                delete_owned_pods(reg, &ev.namespace, object::meta_str(&ev.object, "uid"))
            }
            _ => sync(reg, &ev.namespace, &ev.name),
        }
    } else if ev.resource == crate::store::resource_key(pods.group, pods.name) {
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
pub(super) fn resync(reg: &Registry) {
    let (jobs, _) = reg.list(DISCOVERY.served("batch", "jobs"), None);
    for job in jobs {
        sync(reg, object::meta_str(&job, "namespace"), object::name(&job));
    }
}

fn delete_owned_pods(reg: &Registry, ns: &str, uid: &str) {
    let pods = DISCOVERY.served("", "pods");
    let (items, _) = reg.list(pods, Some(ns));
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

/// What the Job's spec asks for (`SetDefaults_Job` has filled it).
#[derive(Debug)]
struct Spec {
    completions: i64,
    parallelism: i64,
    backoff_limit: i64,
    suspended: bool,
}

impl Spec {
    fn of(job: &Value) -> Spec {
        let int = |p: &str, default: i64| job.pointer(p).and_then(Value::as_i64).unwrap_or(default);
        Spec {
            completions: int("/spec/completions", 1),
            parallelism: int("/spec/parallelism", 1),
            backoff_limit: int("/spec/backoffLimit", 6),
            suspended: job
                .pointer("/spec/suspend")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }
}

/// The Job's pods, counted as the controller counts them.
#[derive(Debug, Default)]
struct Pods {
    active: i64,
    ready: i64,
    succeeded: i64,
    failed: i64,
    terminating: i64,
}

impl Pods {
    fn count(reg: &Registry, ns: &str, uid: &str) -> Pods {
        let (pods, _) = reg.list(DISCOVERY.served("", "pods"), Some(ns));
        let mut n = Pods::default();
        for p in pods.iter().filter(|p| owned_by(p, uid)) {
            let deleting = p.pointer("/metadata/deletionTimestamp").is_some();
            match p.pointer("/status/phase").and_then(Value::as_str) {
                Some("Succeeded") => n.succeeded += 1,
                Some("Failed") => n.failed += 1,
                _ if !deleting => {
                    n.active += 1;
                    let ready = p
                        .pointer("/status/conditions")
                        .and_then(Value::as_array)
                        .is_some_and(|c| {
                            c.iter()
                                .any(|c| c["type"] == "Ready" && c["status"] == "True")
                        });
                    n.ready += i64::from(ready);
                }
                _ => {}
            }
            n.terminating += i64::from(deleting);
        }
        n
    }
}

fn finished(status: &Value) -> bool {
    status["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
    })
}

fn sync_once(reg: &Registry, ns: &str, name: &str) -> Synced {
    let jobs = DISCOVERY.served("batch", "jobs");
    let Some(job) = reg.find(jobs, ns, name) else {
        return Synced::Done;
    };
    if job.pointer("/metadata/deletionTimestamp").is_some() {
        return Synced::Done;
    }
    let uid = object::meta_str(&job, "uid").to_string();
    let status = job.get("status").cloned().unwrap_or(json!({}));
    let spec = Spec::of(&job);
    let mut pods = Pods::count(reg, ns, &uid);
    if !finished(&status) && !spec.suspended {
        pods.active += start_pods(reg, &job, &spec, &pods);
    }
    let next = next_status(&status, &spec, &pods, &object::now());
    if next == status {
        return Synced::Done;
    }
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
        Err(e) if e.code == 409 => Synced::Conflict,
        Err(e) => {
            tracing::warn!(job = name, error = %e.message, "job status rejected");
            Synced::Done
        }
        Ok(_) => Synced::Done,
    }
}

/// Starts pods up to parallelism, never beyond the completions still needed; returns
/// how many started.
fn start_pods(reg: &Registry, job: &Value, spec: &Spec, pods: &Pods) -> i64 {
    if pods.succeeded >= spec.completions || pods.failed > spec.backoff_limit {
        return 0;
    }
    let wanted = spec
        .parallelism
        .min(spec.completions - pods.succeeded)
        .max(0);
    let (ns, name) = (object::meta_str(job, "namespace"), object::name(job));
    let mut started = 0;
    for _ in 0..(wanted - pods.active).max(0) {
        let pod = pod_from_template(job, name, object::meta_str(job, "uid"));
        match reg.create(
            DISCOVERY.served("", "pods"),
            ns,
            pod,
            &Writer::internal(MANAGER),
        ) {
            Ok(_) => started += 1,
            Err(e) => tracing::warn!(job = name, error = %e.message, "creating a job pod failed"),
        }
    }
    started
}

/// The Job's next status from its current one and its pods.
fn next_status(status: &Value, spec: &Spec, pods: &Pods, now: &str) -> Value {
    let mut next = status.clone();
    let done = finished(status);
    if !done && !spec.suspended && next.get("startTime").is_none() {
        next["startTime"] = json!(now);
    }
    next["active"] = json!(pods.active);
    next["ready"] = json!(pods.ready);
    next["terminating"] = json!(pods.terminating);
    next["uncountedTerminatedPods"] = json!({});
    if pods.succeeded > 0 {
        next["succeeded"] = json!(pods.succeeded);
    }
    if pods.failed > 0 {
        next["failed"] = json!(pods.failed);
    }
    if done {
        return next;
    }
    // Upstream pkg/controller/job/job_controller.go (v1.33): when succeeded reaches
    // completions the controller adds SuccessCriteriaMet, then Complete, both with reason
    // CompletionsReached (batch.JobReasonCompletionsReached) and this message; real v1.33
    // Job objects (`kubectl get job -o yaml` captures) show the same pair.
    let (target, reason, message) = if pods.succeeded >= spec.completions {
        next["completionTime"] = json!(now);
        (
            "SuccessCriteriaMet",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
        )
    } else if pods.failed > spec.backoff_limit {
        (
            "FailureTarget",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        )
    } else {
        return next;
    };
    let last = if target == "SuccessCriteriaMet" {
        "Complete"
    } else {
        "Failed"
    };
    next["conditions"] = json!([
        condition(target, reason, message, now),
        condition(last, reason, message, now),
    ]);
    next["active"] = json!(0);
    next
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
