//! The kinds that hold a pod template — Deployment, ReplicaSet, StatefulSet, DaemonSet
//! (`apps/v1`) and CronJob: their v1 defaulters (`pkg/apis/apps/v1/defaults.go`,
//! `pkg/apis/batch/v1/defaults.go`, with the pod template's `SetDefaults_PodSpec` and
//! container defaults that the generated defaulters apply to it), and the generation
//! their strategies keep (`pkg/registry/<group>/<kind>/strategy.go`). Printer columns are
//! not modelled yet: tables show `Name`/`Created At`.

use super::{Strategy, default, map_mut, obj_mut};
use crate::status::{Cause, field};
use serde_json::{Map, Value, json};

/// One workload kind: its own defaulter on `spec`, where its pod template is, what its
/// strategy's `PrepareForCreate` adds, and whether its spec is validated as a
/// ReplicaSet-like one (a selector over its pod template).
#[derive(Debug)]
pub(crate) struct Workload {
    defaults: fn(&mut Map<String, Value>),
    /// The pointer from `spec` to the template's pod spec.
    pod_spec: &'static str,
    prepare_create: fn(&mut Value),
    /// `ValidateDeploymentSpec` / `ValidateReplicaSetSpec`'s checks of replicas, selector
    /// and template (the other kinds' validation is not modelled yet).
    selects: bool,
}

impl Strategy for Workload {
    fn defaults(&self, obj: &mut Value) {
        (self.defaults)(obj_mut(obj, "spec"));
        let pod = obj.pointer_mut(&format!("/spec{}", self.pod_spec));
        if let Some(pod) = pod.and_then(Value::as_object_mut) {
            super::pod::default_pod_spec(pod);
        }
    }

    fn prepare_create(&self, obj: &mut Value) {
        (self.prepare_create)(obj);
    }

    fn has_generation(&self) -> bool {
        true
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        if !self.selects {
            return Vec::new();
        }
        validate_selecting_spec(obj.get("spec").unwrap_or(&Value::Null))
    }
}

/// `ValidateDeploymentSpec` and `ValidateReplicaSetSpec` (`pkg/apis/apps/validation/
/// validation.go`), as far as modelled: `replicas` not negative, a selector required, the
/// template's labels matched by it (`ValidatePodTemplateSpecForReplicaSet`: a missing
/// selector is `labels.Nothing()`, which matches nothing), and the template's containers.
fn validate_selecting_spec(spec: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(replicas) = spec.get("replicas").and_then(Value::as_i64)
        && replicas < 0
    {
        causes.push(field::invalid(
            "spec.replicas",
            &replicas.to_string(),
            "must be greater than or equal to 0",
        ));
    }
    let selector = spec.get("selector").filter(|s| !s.is_null());
    if selector.is_none() {
        causes.push(field::required("spec.selector", ""));
    }
    let labels = spec.pointer("/template/metadata/labels");
    let matches = match selector {
        None => false,
        Some(selector) => selects(selector, labels).unwrap_or(true),
    };
    if !matches {
        causes.push(field::invalid(
            "spec.template.metadata.labels",
            &crate::status::go_string_map(labels.and_then(Value::as_object)),
            "`selector` does not match template `labels`",
        ));
    }
    causes.extend(super::pod::validate_containers(
        spec.pointer("/template/spec/containers"),
        "spec.template.spec.containers",
    ));
    causes
}

/// Whether a `LabelSelector` matches `labels` (`metav1.LabelSelectorAsSelector`, then
/// `Matches`); `None` for the empty selector, which selects everything and is not checked
/// against the template.
fn selects(selector: &Value, labels: Option<&Value>) -> Option<bool> {
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let match_labels = selector.get("matchLabels").and_then(Value::as_object);
    let expressions = selector.get("matchExpressions").and_then(Value::as_array);
    if match_labels.is_none_or(Map::is_empty) && expressions.is_none_or(Vec::is_empty) {
        return None;
    }
    let by_label = match_labels
        .into_iter()
        .flatten()
        .all(|(k, v)| label(k) == v.as_str());
    let by_expression = expressions.into_iter().flatten().all(|e| {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        match e.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => label(key).is_some_and(|v| values.contains(&v)),
            "NotIn" => label(key).is_none_or(|v| !values.contains(&v)),
            "Exists" => label(key).is_some(),
            "DoesNotExist" => label(key).is_none(),
            _ => false,
        }
    });
    Some(by_label && by_expression)
}

/// `SetDefaults_Deployment`.
pub(crate) static DEPLOYMENT: Workload = Workload {
    defaults: |spec| {
        default(spec, "replicas", json!(1));
        let strategy = map_mut(spec, "strategy");
        default(strategy, "type", json!("RollingUpdate"));
        if strategy["type"] == "RollingUpdate" {
            let rolling = map_mut(strategy, "rollingUpdate");
            default(rolling, "maxUnavailable", json!("25%"));
            default(rolling, "maxSurge", json!("25%"));
        }
        default(spec, "revisionHistoryLimit", json!(10));
        default(spec, "progressDeadlineSeconds", json!(600));
    },
    pod_spec: "/template/spec",
    prepare_create: |_| {},
    selects: true,
};

/// `SetDefaults_ReplicaSet`.
pub(crate) static REPLICA_SET: Workload = Workload {
    defaults: |spec| default(spec, "replicas", json!(1)),
    pod_spec: "/template/spec",
    prepare_create: |_| {},
    selects: true,
};

/// `SetDefaults_DaemonSet`.
pub(crate) static DAEMON_SET: Workload = Workload {
    defaults: |spec| {
        let strategy = map_mut(spec, "updateStrategy");
        default(strategy, "type", json!("RollingUpdate"));
        if strategy["type"] == "RollingUpdate" {
            let rolling = map_mut(strategy, "rollingUpdate");
            default(rolling, "maxUnavailable", json!(1));
            default(rolling, "maxSurge", json!(0));
        }
        default(spec, "revisionHistoryLimit", json!(10));
    },
    pod_spec: "/template/spec",
    // `spec.templateGeneration` starts at 1 (`pkg/registry/apps/daemonset/strategy.go`)
    // and v1 carries it as an annotation (`pkg/apis/apps/v1/conversion.go`).
    prepare_create: |obj| {
        let meta = crate::object::meta_mut(obj);
        let annotations = map_mut(meta, "annotations");
        annotations
            .entry("deprecated.daemonset.template.generation")
            .or_insert(json!("1"));
    },
    selects: false,
};

/// `SetDefaults_StatefulSet` (StatefulSetAutoDeletePVC is on in v1.33; MaxUnavailable-
/// StatefulSet is not).
pub(crate) static STATEFUL_SET: Workload = Workload {
    defaults: |spec| {
        default(spec, "podManagementPolicy", json!("OrderedReady"));
        let strategy = map_mut(spec, "updateStrategy");
        if strategy.get("type").is_none_or(|t| t == "") {
            strategy.insert("type".into(), json!("RollingUpdate"));
            map_mut(strategy, "rollingUpdate");
        }
        if strategy["type"] == "RollingUpdate"
            && let Some(rolling) = strategy
                .get_mut("rollingUpdate")
                .and_then(Value::as_object_mut)
        {
            default(rolling, "partition", json!(0));
        }
        let retention = map_mut(spec, "persistentVolumeClaimRetentionPolicy");
        default(retention, "whenDeleted", json!("Retain"));
        default(retention, "whenScaled", json!("Retain"));
        default(spec, "replicas", json!(1));
        default(spec, "revisionHistoryLimit", json!(10));
    },
    pod_spec: "/template/spec",
    prepare_create: |_| {},
    selects: false,
};

/// `SetDefaults_CronJob`; its job template's pod spec is defaulted too (the Job's own
/// defaulter is not: `JobTemplateSpec` is not a Job).
pub(crate) static CRON_JOB: Workload = Workload {
    defaults: |spec| {
        default(spec, "concurrencyPolicy", json!("Allow"));
        default(spec, "suspend", json!(false));
        default(spec, "successfulJobsHistoryLimit", json!(3));
        default(spec, "failedJobsHistoryLimit", json!(1));
    },
    pod_spec: "/jobTemplate/spec/template/spec",
    prepare_create: |_| {},
    selects: false,
};
