//! Pod: the v1 defaulters (`SetDefaults_Pod`, `SetDefaults_PodSpec`, `SetDefaults_Container`
//! in `pkg/apis/core/v1/defaults.go`), the strategy (`pkg/registry/core/pod/strategy.go`:
//! pending status on create, graceful deletion, field labels), binding
//! (`pkg/registry/core/pod/storage/storage.go`) and the printer columns (`printPod`).

use super::{Deletion, Strategy, default};
use crate::object;
use crate::registry::Registry;
use crate::status::{ApiError, GroupResource, field};
use crate::table::{AGE, Column, NAME, Printer, age, count, none_if_empty, str_at};
use serde_json::{Map, Value, json};
use std::sync::Arc;

#[derive(Debug)]
pub(crate) struct Pod;

impl Strategy for Pod {
    fn defaults(&self, obj: &mut Value) {
        let spec = super::obj_mut(obj, "spec");
        default_pod_spec(spec);
        // `SetDefaults_Pod`, not `SetDefaults_PodSpec`: a pod template keeps it unset.
        default(spec, "enableServiceLinks", json!(true));
    }

    /// `PrepareForCreate` sets `generation` to 1 and `updatePodGeneration` adds one when
    /// the spec changes (`pkg/registry/core/pod/strategy.go`).
    fn has_generation(&self) -> bool {
        true
    }

    fn prepare_create(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert(
                "status".into(),
                json!({"phase": "Pending", "qosClass": "BestEffort"}),
            );
        }
    }

    fn keeps_status_on_create(&self) -> bool {
        true
    }

    fn validate(&self, obj: &Value) -> Vec<crate::status::Cause> {
        validate_containers(obj.pointer("/spec/containers"), "spec.containers")
    }

    /// `CheckGracefulDelete`: a pod bound to a node gets `deletionTimestamp` = now + grace
    /// and stays until its kubelet has stopped it and deletes it with grace 0. Unbound and
    /// finished pods, and grace 0, go at once.
    fn delete(&self, deletion: &Deletion<'_>) -> Result<Option<Arc<Value>>, ApiError> {
        let pod = deletion.current;
        let bound = !str_at(pod, "/spec/nodeName").is_empty();
        let finished = matches!(str_at(pod, "/status/phase"), "Succeeded" | "Failed");
        let grace = deletion
            .grace_period
            .or_else(|| {
                pod.pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_i64)
            })
            .unwrap_or(30);
        if !bound || finished || grace <= 0 {
            return Ok(None);
        }
        deletion.linger(|old| {
            let existing = object::meta(old)
                .and_then(|m| m.get("deletionGracePeriodSeconds"))
                .and_then(Value::as_i64);
            // A second delete may only shorten the grace period.
            if existing.is_some_and(|g| g <= grace) {
                return Ok(None);
            }
            let mut next = old.clone();
            let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(grace);
            let m = object::meta_mut(&mut next);
            m.insert("deletionTimestamp".into(), json!(object::timestamp(at)));
            m.insert("deletionGracePeriodSeconds".into(), json!(grace));
            Ok(Some(next))
        })
    }

    fn field_labels(&self) -> &'static [&'static str] {
        &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ]
    }

    fn printer(&self) -> Option<&'static Printer> {
        Some(&PRINTER)
    }
}

/// Binds a pod to a node, as the scheduler does through `pods/binding` (`assignPod` in
/// `pkg/registry/core/pod/storage/storage.go`): sets `spec.nodeName` and the
/// `PodScheduled` condition; a pod already bound, or being deleted, is a 409.
pub(crate) fn bind(reg: &Registry, ns: &str, name: &str, binding: &Value) -> Result<(), ApiError> {
    let node = str_at(binding, "/target/name");
    if node.is_empty() {
        return Err(ApiError::invalid(
            "",
            "Binding",
            name,
            vec![field::required("target.name", "")],
        ));
    }
    let pods = crate::discovery::DISCOVERY
        .resource("", "v1", "pods")
        .expect("pods are served");
    let gr = GroupResource {
        group: "",
        resource: "pods",
    };
    reg.mutate(pods, ns, name, |old| {
        let bound = str_at(old, "/spec/nodeName");
        if !bound.is_empty() {
            return Err(ApiError::conflict(
                gr,
                name,
                &format!("pod {name} is already assigned to node {bound:?}"),
            ));
        }
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            return Err(ApiError::conflict(
                gr,
                name,
                &format!("pod {name} is being deleted, cannot be assigned to a host"),
            ));
        }
        let mut next = old.clone();
        next["spec"]["nodeName"] = json!(node);
        let now = object::now();
        let conditions = next["status"]
            .as_object_mut()
            .map(|s| s.entry("conditions").or_insert_with(|| json!([])));
        if let Some(Value::Array(list)) = conditions {
            list.retain(|c| c["type"] != "PodScheduled");
            list.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}));
        }
        Ok(Some(next))
    })?;
    Ok(())
}

/// `validateContainers` and `validateContainerCommon` (`pkg/apis/core/validation/
/// validation.go`), as far as modelled: there is a container; each has a valid name, unique
/// among them, and an image.
pub(crate) fn validate_containers(
    containers: Option<&Value>,
    path: &str,
) -> Vec<crate::status::Cause> {
    let containers = containers
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty());
    let Some(containers) = containers else {
        return vec![field::required(path, "")];
    };
    let mut causes = Vec::new();
    let mut names = std::collections::HashSet::new();
    for (i, c) in containers.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let name = str_at(c, "/name");
        if name.is_empty() {
            causes.push(field::required(&format!("{at}.name"), ""));
        } else {
            causes.extend(crate::registry::validate::dns1123_label(
                &format!("{at}.name"),
                name,
            ));
        }
        if str_at(c, "/image").is_empty() {
            causes.push(field::required(&format!("{at}.image"), ""));
        }
        if !names.insert(name) {
            causes.push(field::duplicate(&format!("{at}.name"), name));
        }
    }
    causes
}

/// `SetDefaults_PodSpec` and friends, plus the DefaultTolerationSeconds admission plugin.
pub(crate) fn default_pod_spec(spec: &mut Map<String, Value>) {
    for list in ["initContainers", "containers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(list) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                default_container(c);
            }
        }
    }
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "securityContext", json!({}));
    default(spec, "schedulerName", json!("default-scheduler"));
    if let Some(Value::Array(vols)) = spec.get_mut("volumes") {
        for v in vols.iter_mut().filter_map(Value::as_object_mut) {
            for (src, field) in [
                ("configMap", "defaultMode"),
                ("secret", "defaultMode"),
                ("downwardAPI", "defaultMode"),
                ("projected", "defaultMode"),
            ] {
                if let Some(Value::Object(s)) = v.get_mut(src) {
                    default(s, field, json!(420));
                }
            }
        }
    }
}

fn default_container(c: &mut Map<String, Value>) {
    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
    // `SetDefaults_Container`: Always for `:latest` or no tag, else IfNotPresent.
    let tag = image
        .rsplit('/')
        .next()
        .unwrap_or("")
        .split_once(':')
        .map(|(_, t)| t);
    let policy = if image.contains('@') {
        "IfNotPresent"
    } else {
        match tag {
            None | Some("latest") => "Always",
            _ => "IfNotPresent",
        }
    };
    default(c, "imagePullPolicy", json!(policy));
    default(c, "terminationMessagePath", json!("/dev/termination-log"));
    default(c, "terminationMessagePolicy", json!("File"));
    default(c, "resources", json!({}));
    if let Some(Value::Array(ports)) = c.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            default(p, "protocol", json!("TCP"));
        }
    }
}

/// `printPod`'s STATUS: the phase, overridden by the pod's reason, a container's waiting
/// or terminated reason, and `Terminating` for a deleted pod.
fn pod_status(pod: &Value) -> String {
    let mut reason = str_at(pod, "/status/phase").to_string();
    if !str_at(pod, "/status/reason").is_empty() {
        reason = str_at(pod, "/status/reason").to_string();
    }
    let statuses = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut has_running = false;
    for cs in statuses.iter().rev() {
        if let Some(w) = cs
            .pointer("/state/waiting/reason")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        {
            reason = w.to_string();
        } else if let Some(t) = cs.pointer("/state/terminated") {
            reason = match t
                .get("reason")
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty())
            {
                Some(r) => r.to_string(),
                None => match t.get("signal").and_then(Value::as_i64).filter(|s| *s != 0) {
                    Some(sig) => format!("Signal:{sig}"),
                    None => format!(
                        "ExitCode:{}",
                        t.get("exitCode").and_then(Value::as_i64).unwrap_or(0)
                    ),
                },
            };
        } else if cs.pointer("/state/running").is_some()
            && cs.get("ready").and_then(Value::as_bool) == Some(true)
        {
            has_running = true;
        }
    }
    if reason == "Completed" && has_running {
        reason = "Running".into();
    }
    if pod
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|d| !d.is_null())
    {
        reason = "Terminating".into();
    }
    reason
}

fn pod_restarts(pod: &Value) -> String {
    let restarts: i64 = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("restartCount").and_then(Value::as_i64))
                .sum()
        })
        .unwrap_or(0);
    restarts.to_string()
}

static PRINTER: Printer = Printer::new(COLUMNS, cells);

#[rustfmt::skip]
const COLUMNS: &[Column] = &[
    NAME,
    Column::text("Ready", "string", "The aggregate readiness state of this pod for accepting traffic.", 0),
    Column::text("Status", "string", "The aggregate status of the containers in this pod.", 0),
    Column::text("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.", 0),
    AGE,
    Column::field("IP", "string", "core/v1.PodStatus.podIP", 1),
    Column::field("Node", "string", "core/v1.PodSpec.nodeName", 1),
    Column::field("Nominated Node", "string", "core/v1.PodStatus.nominatedNodeName", 1),
    Column::field("Readiness Gates", "string", "core/v1.PodSpec.readinessGates", 1),
];

/// The cells of one object's row after its name.
fn cells(obj: &Value, now: i64) -> Vec<Value> {
    let statuses = obj
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    let total = count(obj.pointer("/spec/containers"));
    let ready = statuses.map_or(0, |s| {
        s.iter()
            .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
            .count()
    });
    vec![
        json!(format!("{ready}/{total}")),
        json!(pod_status(obj)),
        json!(pod_restarts(obj)),
        age(obj, now),
        none_if_empty(str_at(obj, "/status/podIP")),
        none_if_empty(str_at(obj, "/spec/nodeName")),
        none_if_empty(str_at(obj, "/status/nominatedNodeName")),
        json!("<none>"),
    ]
}
