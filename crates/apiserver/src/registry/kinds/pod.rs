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
        // `SetDefaults_Pod`, not `SetDefaults_PodSpec`: a pod template keeps these unset.
        requests_from_limits(spec);
        default(spec, "enableServiceLinks", json!(true));
    }

    /// `PrepareForCreate` sets `generation` to 1 and `updatePodGeneration` adds one when
    /// the spec changes (`pkg/registry/core/pod/strategy.go`).
    fn has_generation(&self) -> bool {
        true
    }

    fn prepare_create(&self, obj: &mut Value) {
        let qos = qos_class(obj.get("spec").unwrap_or(&Value::Null));
        if let Some(m) = obj.as_object_mut() {
            m.insert(
                "status".into(),
                json!({"phase": "Pending", "qosClass": qos}),
            );
        }
    }

    fn keeps_status_on_create(&self) -> bool {
        true
    }

    fn validate(&self, obj: &Value) -> Vec<crate::status::Cause> {
        validate_containers(obj.pointer("/spec/containers"), "spec.containers")
    }

    fn validate_update(&self, old: &Value, new: &Value) -> Vec<crate::status::Cause> {
        validate_pod_update(
            old.get("spec").unwrap_or(&Value::Null),
            new.get("spec").unwrap_or(&Value::Null),
        )
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
            // Deleted at once, but gracefully still: the pod is written once with its
            // deletion timestamp, grace 0 and its generation bumped (`rest.BeforeDelete`,
            // then `updateForGracefulDeletionAndFinalizers` in `registry/store.go`), and the
            // object deleted is that one.
            deletion.linger(|old| {
                let mut next = old.clone();
                mark_deleted(&mut next, jiff::Timestamp::now(), 0);
                Ok(Some(next))
            })?;
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
            mark_deleted(&mut next, at, grace);
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

/// A pod's first graceful deletion (`rest.BeforeDelete`): when it goes, after how long,
/// and its generation bumped so that its controllers see it.
fn mark_deleted(pod: &mut Value, at: jiff::Timestamp, grace: i64) {
    let m = object::meta_mut(pod);
    m.insert("deletionTimestamp".into(), json!(object::timestamp(at)));
    m.insert("deletionGracePeriodSeconds".into(), json!(grace));
    if let Some(generation) = m.get("generation").and_then(Value::as_i64)
        && generation > 0
    {
        m.insert("generation".into(), json!(generation + 1));
    }
}

/// `ValidatePodUpdate` (`pkg/apis/core/validation/validation.go`), as far as modelled: the
/// same containers, and a spec that changes only what a running pod may change — the
/// containers' and init containers' images, `activeDeadlineSeconds`, added tolerations,
/// `terminationGracePeriodSeconds` from negative to 1. Upstream ends the message with a
/// go-cmp diff of the Go structs (whose layout go-cmp randomises on purpose); this one
/// lists the changed fields in that diff's style.
fn validate_pod_update(old: &Value, new: &Value) -> Vec<crate::status::Cause> {
    let count =
        |spec: &Value, list: &str| spec.get(list).and_then(Value::as_array).map_or(0, Vec::len);
    for list in ["containers", "initContainers"] {
        if count(old, list) != count(new, list) {
            return vec![field::forbidden(
                &format!("spec.{list}"),
                "pod updates may not add or remove containers",
            )];
        }
    }
    let mut munged = new.clone();
    for list in ["containers", "initContainers"] {
        let olds = old
            .get(list)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(news) = munged.get_mut(list).and_then(Value::as_array_mut) {
            for (n, o) in news.iter_mut().zip(olds) {
                if let (Some(n), Some(image)) = (n.as_object_mut(), o.get("image")) {
                    n.insert("image".into(), image.clone());
                }
            }
        }
    }
    let Some(m) = munged.as_object_mut() else {
        return Vec::new();
    };
    // An active deadline may be set or shortened; tolerations may only be added.
    let shortened = match (
        old.get("activeDeadlineSeconds").and_then(Value::as_i64),
        new.get("activeDeadlineSeconds").and_then(Value::as_i64),
    ) {
        (_, None) => false,
        (None, Some(n)) => n > 0,
        (Some(o), Some(n)) => n > 0 && n <= o,
    };
    if shortened {
        restore(m, old, "activeDeadlineSeconds");
    }
    let old_tolerations = old.get("tolerations").and_then(Value::as_array);
    let new_tolerations = new.get("tolerations").and_then(Value::as_array);
    if new_tolerations
        .is_some_and(|n| old_tolerations.is_none_or(|o| o.iter().all(|t| n.contains(t))))
    {
        restore(m, old, "tolerations");
    }
    let negative_to_one = old
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|g| g < 0)
        && new
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            == Some(1);
    if negative_to_one {
        restore(m, old, "terminationGracePeriodSeconds");
    }
    if &munged == old {
        return Vec::new();
    }
    vec![field::forbidden(
        "spec",
        &format!(
            "pod updates may not change fields other than `spec.containers[*].image`,\
             `spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` \
             (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` \
             (allow it to be set to 1 if it was previously negative)\n{}",
            spec_diff(old, &munged)
        ),
    )]
}

/// `m[key]` as it was in `old` (absent if it was).
fn restore(m: &mut Map<String, Value>, old: &Value, key: &str) {
    match old.get(key) {
        Some(v) => m.insert(key.into(), v.clone()),
        None => m.shift_remove(key),
    };
}

/// The fields of a pod spec that differ, as lines of a struct diff.
fn spec_diff(old: &Value, new: &Value) -> String {
    let mut out = String::from("  core.PodSpec{\n");
    let mut keys: Vec<&String> = old
        .as_object()
        .into_iter()
        .chain(new.as_object())
        .flat_map(|m| m.keys())
        .collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (o, n) = (old.get(key), new.get(key));
        if o == n {
            continue;
        }
        let name = go_field_name(key);
        if let Some(o) = o {
            out.push_str(&format!("- \t{name}: {o},\n"));
        }
        if let Some(n) = n {
            out.push_str(&format!("+ \t{name}: {n},\n"));
        }
    }
    out.push_str("  }\n");
    out
}

/// A JSON field's Go name: its first letter upper-case.
fn go_field_name(json: &str) -> String {
    let mut chars = json.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// `SetDefaults_Pod`: a container's limits are its requests where it asks for none.
fn requests_from_limits(spec: &mut Map<String, Value>) {
    for list in ["initContainers", "containers"] {
        for c in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            let Some(resources) = c.get_mut("resources").and_then(Value::as_object_mut) else {
                continue;
            };
            let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
                continue;
            };
            let requests = super::map_mut(resources, "requests");
            for (name, quantity) in limits {
                requests.entry(name).or_insert(quantity);
            }
        }
    }
}

/// The pod's quality of service (`pkg/apis/core/helper/qos/qos.go`, `ComputePodQOS`):
/// BestEffort without any positive cpu or memory request or limit; Guaranteed when every
/// container limits both and the summed requests equal the summed limits; else Burstable.
fn qos_class(spec: &Value) -> &'static str {
    let mut requests: std::collections::BTreeMap<&str, i128> = Default::default();
    let mut limits: std::collections::BTreeMap<&str, i128> = Default::default();
    let mut guaranteed = true;
    let containers = ["containers", "initContainers"]
        .into_iter()
        .flat_map(|list| {
            spec.get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        });
    for c in containers {
        let positive = |kind: &str| -> Vec<(&str, i128)> {
            c.pointer(&format!("/resources/{kind}"))
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(name, _)| *name == "cpu" || *name == "memory")
                .filter_map(|(name, q)| Some((name.as_str(), quantity_nanos(q.as_str()?)?)))
                .filter(|(_, q)| *q > 0)
                .collect()
        };
        for (name, q) in positive("requests") {
            *requests.entry(name).or_default() += q;
        }
        let found = positive("limits");
        for (name, q) in &found {
            *limits.entry(name).or_default() += q;
        }
        if !(found.iter().any(|(n, _)| *n == "cpu") && found.iter().any(|(n, _)| *n == "memory")) {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed
        && requests.len() == limits.len()
        && requests.iter().all(|(name, q)| limits.get(name) == Some(q))
    {
        return "Guaranteed";
    }
    "Burstable"
}

/// A quantity (`100m`, `64Mi`, `1.5`, `2e3`, `1G`) in billionths, for comparing and
/// summing (`k8s.io/apimachinery/pkg/api/resource/quantity.go`, `ParseQuantity`); `None`
/// for what does not parse, which validation refuses anyway.
pub(crate) fn quantity_nanos(s: &str) -> Option<i128> {
    use crate::schema::gojson::{quantity_parts, suffix_exponent};
    // `ParseQuantity` refuses an empty quantity before parsing it.
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let parts = quantity_parts(s)?;
    let digits: i128 = format!("{}{}", parts.num, parts.denom).parse().ok()?;
    // value = digits * 10^-len(denom) * multiplier, in nanos (10^9).
    let binary = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
        .iter()
        .position(|b| *b == parts.suffix);
    let (base, exp): (i128, i64) = match binary {
        Some(i) => (1 << (10 * (i + 1)), 0),
        None => (1, suffix_exponent(parts.suffix)?),
    };
    let scale = exp + 9 - parts.denom.len() as i64;
    let pow = |e: i64| 10i128.checked_pow(u32::try_from(e).ok()?);
    let value = if scale >= 0 {
        digits.checked_mul(pow(scale)?)?.checked_mul(base)?
    } else {
        digits.checked_mul(base)? / pow(-scale)?
    };
    Some(if parts.value.starts_with('-') {
        -value
    } else {
        value
    })
}

/// `SetDefaults_ObjectFieldSelector`: a `fieldRef` without `apiVersion` is `v1`, in the
/// containers' environment and in downward-API volumes and projections.
fn default_field_refs(spec: &mut Map<String, Value>) {
    fn default_in(items: Option<&mut Value>, pointer: &str) {
        for item in items.and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(Value::Object(fr)) = item.pointer_mut(pointer) {
                default(fr, "apiVersion", json!("v1"));
            }
        }
    }
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            default_in(c.get_mut("env"), "/valueFrom/fieldRef");
        }
    }
    for v in spec
        .get_mut("volumes")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        default_in(v.pointer_mut("/downwardAPI/items"), "/fieldRef");
        for source in v
            .pointer_mut("/projected/sources")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            default_in(source.pointer_mut("/downwardAPI/items"), "/fieldRef");
        }
    }
}

/// `SetDefaults_PodSpec` and friends, plus the DefaultTolerationSeconds admission plugin.
pub(crate) fn default_pod_spec(spec: &mut Map<String, Value>) {
    default_field_refs(spec);
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

/// `printPod`'s READY, STATUS and RESTARTS (`pkg/printers/internalversion/printers.go`):
/// the phase, overridden by the pod's reason, an init container's progress while the pod
/// initializes, a container's waiting or terminated reason, `NotReady` or `Running` for a
/// completed container beside a running one, `Terminating` for a deleted pod not yet
/// finished; the restarts with how long ago the last one ended.
fn print_pod(pod: &Value, now: i64) -> (String, String, String) {
    let list = |path: &str| {
        pod.pointer(path)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let text = |v: &Value, path: &str| {
        v.pointer(path)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let int = |v: &Value, path: &str| v.pointer(path).and_then(Value::as_i64).unwrap_or(0);
    let init_specs = list("/spec/initContainers");
    let restartable = |name: &str| {
        init_specs
            .iter()
            .any(|c| c["name"] == name && c["restartPolicy"] == "Always")
    };
    let total = count(pod.pointer("/spec/containers"))
        + init_specs
            .iter()
            .filter(|c| c["restartPolicy"] == "Always")
            .count();
    let mut ready = 0;
    let mut restarts = 0;
    let mut init_restarts = 0;
    let mut last_restart: Option<i64> = None;
    let mut last_init_restart: Option<i64> = None;
    let finished = |c: &Value| {
        c.pointer("/lastState/terminated/finishedAt")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_second())
    };
    let later = |a: Option<i64>, b: Option<i64>| match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let phase = str_at(pod, "/status/phase").to_string();
    let mut reason = phase.clone();
    if !str_at(pod, "/status/reason").is_empty() {
        reason = str_at(pod, "/status/reason").to_string();
    }
    for c in list("/status/conditions") {
        if c["type"] == "PodScheduled" && c["reason"] == "SchedulingGated" {
            reason = "SchedulingGated".into();
        }
    }
    let mut initializing = false;
    let init_count = init_specs.len();
    for (i, c) in list("/status/initContainerStatuses").iter().enumerate() {
        restarts += int(c, "/restartCount");
        last_restart = later(last_restart, finished(c));
        let name = text(c, "/name");
        if restartable(&name) {
            init_restarts += int(c, "/restartCount");
            last_init_restart = later(last_init_restart, finished(c));
        }
        let terminated = c.pointer("/state/terminated");
        let waiting_reason = text(c, "/state/waiting/reason");
        if terminated.is_some() && int(c, "/state/terminated/exitCode") == 0 {
            continue;
        } else if restartable(&name) && c["started"] == true {
            if c["ready"] == true {
                ready += 1;
            }
            continue;
        } else if terminated.is_some() {
            let why = text(c, "/state/terminated/reason");
            reason = if why.is_empty() {
                match int(c, "/state/terminated/signal") {
                    0 => format!("Init:ExitCode:{}", int(c, "/state/terminated/exitCode")),
                    sig => format!("Init:Signal:{sig}"),
                }
            } else {
                format!("Init:{why}")
            };
        } else if c.pointer("/state/waiting").is_some()
            && !waiting_reason.is_empty()
            && waiting_reason != "PodInitializing"
        {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{init_count}");
        }
        initializing = true;
        break;
    }
    let initialized = list("/status/conditions")
        .iter()
        .any(|c| c["type"] == "Initialized" && c["status"] == "True");
    if !initializing || initialized {
        restarts = init_restarts;
        last_restart = last_init_restart;
        let mut has_running = false;
        for c in list("/status/containerStatuses").iter().rev() {
            restarts += int(c, "/restartCount");
            last_restart = later(last_restart, finished(c));
            let waiting = text(c, "/state/waiting/reason");
            let terminated = c.pointer("/state/terminated");
            let why = text(c, "/state/terminated/reason");
            if c.pointer("/state/waiting").is_some() && !waiting.is_empty() {
                reason = waiting;
            } else if terminated.is_some() && !why.is_empty() {
                reason = why;
            } else if terminated.is_some() {
                reason = match int(c, "/state/terminated/signal") {
                    0 => format!("ExitCode:{}", int(c, "/state/terminated/exitCode")),
                    sig => format!("Signal:{sig}"),
                };
            } else if c["ready"] == true && c.pointer("/state/running").is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = list("/status/conditions")
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.into();
        }
    }
    let deleted = pod
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|d| !d.is_null());
    if deleted && str_at(pod, "/status/reason") == "NodeLost" {
        reason = "Unknown".into();
    } else if deleted && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }
    let restarts = match last_restart {
        Some(at) if restarts != 0 => format!(
            "{restarts} ({} ago)",
            crate::table::human_duration(now - at)
        ),
        _ => restarts.to_string(),
    };
    (format!("{ready}/{total}"), reason, restarts)
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
    let (ready, status, restarts) = print_pod(obj, now);
    vec![
        json!(ready),
        json!(status),
        json!(restarts),
        age(obj, now),
        none_if_empty(str_at(obj, "/status/podIP")),
        none_if_empty(str_at(obj, "/spec/nodeName")),
        none_if_empty(str_at(obj, "/status/nominatedNodeName")),
        json!("<none>"),
    ]
}

#[cfg(test)]
mod print_tests {
    use super::*;

    fn at(t: &str) -> i64 {
        t.parse::<jiff::Timestamp>().unwrap().as_second()
    }

    #[test]
    fn a_crash_looping_pod_prints_as_kubectl_shows_it() {
        let pod = json!({
            "spec": {"containers": [{"name": "main"}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "main", "ready": false, "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2025-01-01T00:00:00Z"}},
            }]},
        });
        let now = at("2025-01-01T00:05:00Z");
        assert_eq!(
            print_pod(&pod, now),
            ("0/1".into(), "CrashLoopBackOff".into(), "3 (5m ago)".into())
        );
    }

    #[test]
    fn init_containers_and_deletion_show_in_the_status() {
        let mut pod = json!({
            "metadata": {"deletionTimestamp": "2025-01-01T00:00:00Z"},
            "spec": {"initContainers": [{"name": "a"}, {"name": "b"}], "containers": [{"name": "main"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "a", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                {"name": "b", "restartCount": 0, "state": {"running": {}}},
            ]},
        });
        assert_eq!(print_pod(&pod, 0).1, "Terminating");
        pod["metadata"] = json!({});
        assert_eq!(print_pod(&pod, 0).1, "Init:1/2");
        pod["status"]["initContainerStatuses"][1]["state"] =
            json!({"waiting": {"reason": "ImagePullBackOff"}});
        assert_eq!(print_pod(&pod, 0).1, "Init:ImagePullBackOff");
        // A finished pod that is deleted keeps its phase's word.
        let done = json!({
            "metadata": {"deletionTimestamp": "2025-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "main"}]},
            "status": {"phase": "Succeeded", "containerStatuses": [
                {"name": "main", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            ]},
        });
        assert_eq!(
            print_pod(&done, 0),
            ("0/1".into(), "Completed".into(), "0".into())
        );
    }
}

#[cfg(test)]
mod quantity_tests {
    use super::*;

    #[test]
    fn quantities_in_nanos() {
        assert_eq!(quantity_nanos("100m"), Some(100_000_000));
        assert_eq!(quantity_nanos("1"), Some(1_000_000_000));
        assert_eq!(quantity_nanos("0.5"), Some(500_000_000));
        assert_eq!(quantity_nanos("64Mi"), Some(64 * (1 << 20) * 1_000_000_000));
        assert_eq!(quantity_nanos("2e3"), Some(2_000 * 1_000_000_000));
        assert_eq!(quantity_nanos("1G"), quantity_nanos("1000M"));
        assert_eq!(quantity_nanos("abc"), None);
        assert_eq!(quantity_nanos(""), None);
    }

    #[test]
    fn a_running_pod_changes_only_its_images_and_deadline() {
        let old =
            json!({"containers": [{"name": "c", "image": "a:1"}], "serviceAccountName": "default"});
        let image = json!({"containers": [{"name": "c", "image": "a:2"}], "serviceAccountName": "default",
            "activeDeadlineSeconds": 30});
        assert!(validate_pod_update(&old, &image).is_empty());
        let account =
            json!({"containers": [{"name": "c", "image": "a:1"}], "serviceAccountName": "other"});
        let causes = validate_pod_update(&old, &account);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "spec");
        assert!(causes[0].message.starts_with(
            "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        ));
        assert!(
            causes[0].message.contains(
                "- \tServiceAccountName: \"default\",\n+ \tServiceAccountName: \"other\","
            )
        );
        let more =
            json!({"containers": [{"name": "c", "image": "a:1"}, {"name": "d", "image": "b"}]});
        assert_eq!(
            validate_pod_update(&old, &more)[0].message,
            "Forbidden: pod updates may not add or remove containers"
        );
    }

    #[test]
    fn qos_classes() {
        let pod = |resources: Value| json!({"containers": [{"name": "c", "resources": resources}]});
        assert_eq!(qos_class(&pod(json!({}))), "BestEffort");
        assert_eq!(
            qos_class(&pod(json!({"requests": {"cpu": "0"}}))),
            "BestEffort"
        );
        assert_eq!(
            qos_class(&pod(json!({"requests": {"memory": "64Mi"}}))),
            "Burstable"
        );
        let same = json!({"cpu": "500m", "memory": "1Gi"});
        assert_eq!(
            qos_class(&pod(json!({"requests": same, "limits": same}))),
            "Guaranteed"
        );
        assert_eq!(
            qos_class(&pod(
                json!({"requests": {"cpu": "0.5", "memory": "1024Mi"}, "limits": same})
            )),
            "Guaranteed"
        );
        assert_eq!(
            qos_class(&pod(json!({"limits": {"cpu": "1"}}))),
            "Burstable"
        );
    }
}
