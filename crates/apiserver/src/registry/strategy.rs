//! Per-kind behaviour on create and update: defaults, server-set fields, spec/status split.
//!
//! Mirrors the `PrepareForCreate`/`PrepareForUpdate` strategies of
//! `kubernetes/kubernetes:pkg/registry/<group>/<kind>/strategy.go` and the v1 defaulters
//! (`pkg/apis/core/v1/defaults.go`, `pkg/apis/batch/v1/defaults.go`) for the kinds the
//! course touches. Kinds not listed here are stored as sent, which is what upstream does
//! for kinds without defaults.

use crate::discovery::ApiResource;
use crate::object;
use serde_json::{Map, Value, json};

/// Kinds whose strategy sets `metadata.generation` (1 on create, +1 when the spec changes).
const GENERATION_KINDS: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
    "Ingress",
    "IngressClass",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "CustomResourceDefinition",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "EndpointSlice",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "ReplicationController",
];

/// Kinds with a status subresource: the main resource ignores status changes, and
/// `/status` ignores everything but status (`ResetFieldsFor`).
pub fn has_status(res: &ApiResource) -> bool {
    crate::discovery::DISCOVERY
        .resource(
            res.group,
            res.version,
            &format!("{}/status", res.resource()),
        )
        .is_some()
}

pub fn has_generation(kind: &str) -> bool {
    // Custom resources always have one (apiextensions `customresource/strategy.go`).
    GENERATION_KINDS.contains(&kind) || crate::crds::K3S_CRDS.iter().any(|c| c.kind == kind)
}

fn obj_mut<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    let m = v.as_object_mut().expect("object");
    let e = m.entry(key).or_insert_with(|| json!({}));
    if !e.is_object() {
        *e = json!({});
    }
    e.as_object_mut().expect("object")
}

fn default(m: &mut Map<String, Value>, key: &str, value: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.into(), value);
    }
}

/// Fields every new object of `res` gets before admission and validation.
pub fn prepare_create(res: &ApiResource, obj: &mut Value) {
    if has_status(res) && res.kind != "Namespace" {
        // `PrepareForCreate` clears status; the controllers own it.
        if let Some(m) = obj.as_object_mut() {
            m.shift_remove("status");
        }
    }
    if has_generation(res.kind) {
        object::meta_mut(obj).insert("generation".into(), json!(1));
    }
    match (res.group, res.kind) {
        ("", "Namespace") => {
            default(obj_mut(obj, "spec"), "finalizers", json!(["kubernetes"]));
            obj.as_object_mut()
                .expect("object")
                .insert("status".into(), json!({"phase": "Active"}));
        }
        ("", "Pod") => {
            obj.as_object_mut().expect("object").insert(
                "status".into(),
                json!({"phase": "Pending", "qosClass": "BestEffort"}),
            );
        }
        ("batch", "Job") => generate_job_selector(obj),
        _ => {}
    }
}

/// The v1 defaulters (`SetDefaults_*`), which run while the request is decoded: the fields
/// they fill count as the writer's in `managedFields`, unlike what `prepare_create` sets.
pub fn default_object(res: &ApiResource, obj: &mut Value) {
    match (res.group, res.kind) {
        ("", "Namespace") => {
            // `SetDefaults_Namespace`.
            let name = object::name(obj).to_string();
            let labels = obj_mut(object_meta(obj), "labels");
            labels.insert("kubernetes.io/metadata.name".into(), json!(name));
        }
        ("", "Pod") => default_pod_spec(obj_mut(obj, "spec")),
        ("batch", "Job") => default_job(obj),
        ("", "Service") => default_service(obj_mut(obj, "spec")),
        ("", "Secret") => default(
            obj.as_object_mut().expect("object"),
            "type",
            json!("Opaque"),
        ),
        _ => {}
    }
}

fn object_meta(obj: &mut Value) -> &mut Value {
    object::meta_mut(obj);
    obj.get_mut("metadata").expect("made above")
}

/// `SetDefaults_PodSpec` and friends, plus the DefaultTolerationSeconds admission plugin.
pub fn default_pod_spec(spec: &mut Map<String, Value>) {
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
    default(spec, "enableServiceLinks", json!(true));
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

/// `SetDefaults_Service` and the single-stack IPv4 defaults of the Service REST storage.
/// The ClusterIP itself is allocated by the registry, which can see the other Services.
fn default_service(spec: &mut Map<String, Value>) {
    default(spec, "type", json!("ClusterIP"));
    default(spec, "sessionAffinity", json!("None"));
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    if spec.get("type").and_then(Value::as_str) != Some("ExternalName") {
        default(spec, "ipFamilies", json!(["IPv4"]));
        default(spec, "ipFamilyPolicy", json!("SingleStack"));
        default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if headless {
        spec.insert("clusterIPs".into(), json!(["None"]));
    }
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            default(p, "protocol", json!("TCP"));
            if p.get("targetPort").is_none() {
                let port = p.get("port").cloned().unwrap_or(json!(0));
                p.insert("targetPort".into(), port);
            }
        }
    }
}

/// `SetDefaults_Job` and the Job strategy's selector generation.
/// The Job strategy's `generateSelector`: the controller-uid label on selector and
/// template (`pkg/registry/batch/job/strategy.go`).
fn generate_job_selector(obj: &mut Value) {
    let uid = object::meta_str(obj, "uid").to_string();
    let name = object::name(obj).to_string();
    let spec = obj_mut(obj, "spec");
    if spec
        .get("manualSelector")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return;
    }
    spec.insert(
        "selector".into(),
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
    );
    let template = spec.entry("template").or_insert_with(|| json!({}));
    let labels = obj_mut(object_meta(template), "labels");
    labels.insert("batch.kubernetes.io/controller-uid".into(), json!(uid));
    labels.insert("batch.kubernetes.io/job-name".into(), json!(name));
    labels.insert("controller-uid".into(), json!(uid));
    labels.insert("job-name".into(), json!(name));
}

/// `SetDefaults_Job`.
fn default_job(obj: &mut Value) {
    let spec = obj_mut(obj, "spec");
    default(spec, "parallelism", json!(1));
    default(spec, "completions", json!(1));
    default(spec, "backoffLimit", json!(6));
    default(spec, "completionMode", json!("NonIndexed"));
    default(spec, "suspend", json!(false));
    default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    if let Some(tspec) = spec
        .get_mut("template")
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_object_mut)
    {
        default_pod_spec(tspec);
    }
}

/// Carries server-owned fields from `old` to `new` on update: identity, creation time,
/// generation (bumped when the spec changed) and status or spec depending on `subresource`.
pub fn prepare_update(res: &ApiResource, subresource: Option<&str>, old: &Value, new: &mut Value) {
    let keep = [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ];
    let old_meta = object::meta(old).cloned().unwrap_or_default();
    {
        let m = object::meta_mut(new);
        for k in keep {
            match old_meta.get(k) {
                Some(v) => {
                    m.insert(k.into(), v.clone());
                }
                None => {
                    m.shift_remove(k);
                }
            }
        }
    }
    let status_split = has_status(res);
    let root = new.as_object_mut().expect("object");
    match subresource {
        Some("status") => {
            // Only status changes through /status; everything else stays as stored.
            let status = root.shift_remove("status");
            let meta = root.shift_remove("metadata");
            *root = old.as_object().cloned().unwrap_or_default();
            if let Some(s) = status {
                root.insert("status".into(), s);
            }
            if let Some(Value::Object(m)) = meta {
                // Labels and annotations may change through /status too.
                let target = root.entry("metadata").or_insert_with(|| json!({}));
                if let Some(t) = target.as_object_mut() {
                    for k in ["labels", "annotations", "resourceVersion"] {
                        if let Some(v) = m.get(k) {
                            t.insert(k.into(), v.clone());
                        }
                    }
                }
            }
        }
        _ if status_split => {
            match old.get("status") {
                Some(s) => root.insert("status".into(), s.clone()),
                None => root.shift_remove("status"),
            };
        }
        _ => {}
    }
    if has_generation(res.kind) && subresource.is_none() && old.get("spec") != new.get("spec") {
        let g = old_meta
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        object::meta_mut(new).insert("generation".into(), json!(g + 1));
    }
}
