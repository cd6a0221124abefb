//! The kinds that hold a pod template — Deployment, ReplicaSet, StatefulSet, DaemonSet
//! (`apps/v1`) and CronJob: their v1 defaulters (`pkg/apis/apps/v1/defaults.go`,
//! `pkg/apis/batch/v1/defaults.go`, with the pod template's `SetDefaults_PodSpec` and
//! container defaults that the generated defaulters apply to it), and the generation
//! their strategies keep (`pkg/registry/<group>/<kind>/strategy.go`). Printer columns are
//! not modelled yet: tables show `Name`/`Created At`.

use super::{Strategy, default, map_mut, obj_mut};
use serde_json::{Map, Value, json};

/// One workload kind: its own defaulter on `spec`, where its pod template is, and what
/// its strategy's `PrepareForCreate` adds.
#[derive(Debug)]
pub(crate) struct Workload {
    defaults: fn(&mut Map<String, Value>),
    /// The pointer from `spec` to the template's pod spec.
    pod_spec: &'static str,
    prepare_create: fn(&mut Value),
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
};

/// `SetDefaults_ReplicaSet`.
pub(crate) static REPLICA_SET: Workload = Workload {
    defaults: |spec| default(spec, "replicas", json!(1)),
    pod_spec: "/template/spec",
    prepare_create: |_| {},
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
};
