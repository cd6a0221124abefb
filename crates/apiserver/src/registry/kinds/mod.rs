//! One module per kind with behaviour of its own, as upstream keeps one strategy per kind
//! (`pkg/registry/<group>/<kind>/strategy.go`, with the kind's v1 defaulters and its
//! printer columns from `pkg/printers/internalversion/printers.go`). Kinds that differ
//! by data alone (printer columns, field labels, a defaulter) are values of
//! [`plain::Plain`]; a kind with neither is [`plain::Plain::GENERIC`]: stored as sent,
//! `Name`/`Created At` columns.

mod custom;
mod definition;
mod job;
mod namespace;
mod plain;
pub(crate) mod pod;
pub(crate) mod service;
mod workload;

use super::{Registry, Target};
use crate::discovery::ApiResource;
use crate::status::ApiError;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// What a kind does differently from the generic registry.
pub(crate) trait Strategy: Sync {
    /// The v1 defaulters (`SetDefaults_*`), which run while a request is decoded: the
    /// fields they fill count as the writer's in `managedFields`.
    fn defaults(&self, _obj: &mut Value) {}

    /// `PrepareForCreate`: server-set fields of a new object. Status is cleared before
    /// this for kinds with a status subresource, unless [`Strategy::keeps_status_on_create`].
    fn prepare_create(&self, _obj: &mut Value) {}

    /// The kind's `Validate` beyond object metadata: the field errors of a new object.
    /// Only the checks written here are made; the rest of upstream's validation is not
    /// modelled yet.
    fn validate(&self, _obj: &Value) -> Vec<crate::status::Cause> {
        Vec::new()
    }

    /// The kind's `ValidateUpdate` beyond object metadata: the field errors of replacing
    /// `old` with `new` on the main resource (not on a subresource). Only the checks
    /// written here are made.
    fn validate_update(&self, _old: &Value, _new: &Value) -> Vec<crate::status::Cause> {
        Vec::new()
    }

    /// Whether a new object keeps the status it was sent (or that `prepare_create` sets).
    fn keeps_status_on_create(&self) -> bool {
        false
    }

    /// What the REST storage does on create beyond the strategy, reading or allocating
    /// in the registry (a Service's ClusterIP); a dry run allocates nothing.
    fn allocate(&self, _reg: &Registry, _obj: &mut Value, _dry_run: bool) -> Result<(), ApiError> {
        Ok(())
    }

    /// Whether the strategy sets `metadata.generation` (1 on create, +1 when the spec
    /// changes).
    fn has_generation(&self) -> bool {
        false
    }

    /// A deletion that is not immediate (`CheckGracefulDelete`, finalizers): the object
    /// as it lingers, or `None` to delete it now.
    fn delete(&self, _deletion: &Deletion<'_>) -> Result<Option<Arc<Value>>, ApiError> {
        Ok(None)
    }

    /// Server-side printing: the kind's columns and cells (`printers.go`); `None` for the
    /// default table convertor's `Name`, `Created At`.
    fn printer(&self) -> Option<&'static crate::table::Printer> {
        None
    }

    /// The kind's column definitions and one object's cells.
    fn table_row(&self, obj: &Value, now: i64) -> Option<(Vec<Value>, Vec<Value>)> {
        Some(self.printer()?.row(obj, now))
    }

    /// The fields a list may select on besides `metadata.name` and `metadata.namespace`
    /// (the kind's `GetAttrs`/field label conversion).
    fn field_labels(&self) -> &'static [&'static str] {
        &[]
    }
}

/// Whether a delete answers with the object deleted instead of a `Status`: the kinds whose
/// REST storage sets `ReturnDeletedObject` in v1.33.3 (`pkg/registry/*/*/storage/
/// storage.go`).
pub(crate) fn returns_deleted_object(res: &ApiResource) -> bool {
    const KINDS: &[(&str, &str)] = &[
        ("", "pods"),
        ("", "services"),
        ("", "serviceaccounts"),
        ("", "namespaces"),
        ("", "persistentvolumes"),
        ("", "persistentvolumeclaims"),
        ("", "resourcequotas"),
        ("", "podtemplates"),
        ("storage.k8s.io", "storageclasses"),
        ("storage.k8s.io", "csidrivers"),
        ("storage.k8s.io", "csinodes"),
        ("storage.k8s.io", "volumeattachments"),
        ("storage.k8s.io", "volumeattributesclasses"),
        ("resource.k8s.io", "resourceclaims"),
        ("resource.k8s.io", "resourceclaimtemplates"),
        ("resource.k8s.io", "resourceslices"),
        ("resource.k8s.io", "deviceclasses"),
        ("resource.k8s.io", "devicetaintrules"),
    ];
    KINDS.contains(&(res.group, res.resource()))
}

/// A delete the registry hands to the object's kind.
pub(crate) struct Deletion<'a> {
    pub(crate) reg: &'a Registry,
    pub(crate) target: &'a Target<'a>,
    /// The object as stored.
    pub(crate) current: &'a Value,
    /// `DeleteOptions.gracePeriodSeconds`.
    pub(crate) grace_period: Option<i64>,
}

impl Deletion<'_> {
    /// Keeps the object, as `change` leaves it (unchanged when it returns `None`).
    pub(crate) fn linger(
        &self,
        change: impl FnMut(&Value) -> Result<Option<Value>, ApiError>,
    ) -> Result<Option<Arc<Value>>, ApiError> {
        let t = self.target;
        let obj = self.reg.mutate(t.res, t.namespace, t.name, change)?;
        Ok(Some(obj))
    }
}

/// Kinds whose strategy sets `metadata.generation` and has no module of its own (the pod
/// templates' are in `workload`): every
/// `pkg/registry/<group>/<kind>/strategy.go` of v1.33.3 whose `PrepareForCreate` sets
/// `Generation = 1`.
const GENERATION_KINDS: &[&str] = &[
    "Ingress",
    "IngressClass",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "PodTemplate",
    "PriorityClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "EndpointSlice",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "ReplicationController",
];

/// The strategy of `res`'s kind.
pub(crate) fn strategy(res: &ApiResource) -> &'static dyn Strategy {
    use plain::Plain;
    static WITH_GENERATION: Plain = Plain {
        generation: true,
        ..Plain::GENERIC
    };
    if let Some(crd) = crate::crds::serving(res) {
        return crd;
    }
    match (res.group, res.kind) {
        ("", "Pod") => &pod::Pod,
        ("", "Service") => &service::Service,
        ("", "Namespace") => &namespace::Namespace,
        ("", "Secret") => &plain::SECRET,
        ("", "ConfigMap") => &plain::CONFIG_MAP,
        ("", "ServiceAccount") => &plain::SERVICE_ACCOUNT,
        ("", "Endpoints") => &plain::ENDPOINTS,
        ("", "Event") => &plain::EVENT,
        ("", "Node") => &plain::NODE,
        ("coordination.k8s.io", "Lease") => &plain::LEASE,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => &definition::Definition,
        ("batch", "Job") => &job::Job,
        ("apps", "Deployment") => &workload::DEPLOYMENT,
        ("apps", "ReplicaSet") => &workload::REPLICA_SET,
        ("apps", "DaemonSet") => &workload::DAEMON_SET,
        ("apps", "StatefulSet") => &workload::STATEFUL_SET,
        ("batch", "CronJob") => &workload::CRON_JOB,
        ("rbac.authorization.k8s.io", "RoleBinding") => &plain::ROLE_BINDING,
        ("rbac.authorization.k8s.io", "Role") => &plain::ROLE,
        ("rbac.authorization.k8s.io", "ClusterRole") => &plain::CLUSTER_ROLE,
        ("rbac.authorization.k8s.io", "ClusterRoleBinding") => &plain::CLUSTER_ROLE_BINDING,
        (_, kind) if GENERATION_KINDS.contains(&kind) => &WITH_GENERATION,
        _ => &Plain::GENERIC,
    }
}

/// `v[key]` as an object, made one (and `v` too) if it is missing or not an object.
pub(crate) fn obj_mut<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !v.is_object() {
        *v = json!({});
    }
    map_mut(v.as_object_mut().expect("made an object above"), key)
}

/// `m[key]` as an object, made one if it is missing or not an object.
pub(crate) fn map_mut<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let e = m.entry(key).or_insert_with(|| json!({}));
    if !e.is_object() {
        *e = json!({});
    }
    e.as_object_mut().expect("made an object above")
}

/// Sets `m[key]` unless it holds a value: the defaulters test a pointer for `nil` and a
/// string for `""` (Go's strings are never absent; a protobuf body carries them empty), so
/// null, missing and, where a string is defaulted, `""` are unset.
pub(crate) fn default(m: &mut Map<String, Value>, key: &str, value: Value) {
    let unset = match m.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty() && value.is_string(),
        Some(_) => false,
    };
    if unset {
        m.insert(key.into(), value);
    }
}
