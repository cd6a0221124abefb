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
