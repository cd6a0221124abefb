//! One module per kind with behaviour of its own, as upstream keeps one strategy per kind
//! (`pkg/registry/<group>/<kind>/strategy.go`, with the kind's v1 defaulters and its
//! printer columns from `pkg/printers/internalversion/printers.go`). A kind without a
//! module behaves as [`Generic`]: stored as sent, `Name`/`Created At` columns.

mod configmap;
mod custom;
mod endpoints;
mod event;
mod job;
mod namespace;
mod node;
pub(crate) mod pod;
mod rolebinding;
mod secret;
pub(crate) mod service;
mod serviceaccount;

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

    /// Whether a new object keeps the status it was sent (or that `prepare_create` sets).
    fn keeps_status_on_create(&self) -> bool {
        false
    }

    /// What the REST storage does on create beyond the strategy, reading or allocating
    /// in the registry (a Service's ClusterIP).
    fn allocate(&self, _reg: &Registry, _obj: &mut Value) -> Result<(), ApiError> {
        Ok(())
    }

    /// Whether the strategy sets `metadata.generation` (1 on create, +1 when the spec
    /// changes).
    fn has_generation(&self) -> bool {
        false
    }

    /// A deletion that is not immediate (`CheckGracefulDelete`, finalizers): the object
    /// as it lingers, or `None` to delete it now.
    fn delete(
        &self,
        _reg: &Registry,
        _target: &Target<'_>,
        _current: &Value,
        _grace_period: Option<i64>,
    ) -> Result<Option<Arc<Value>>, ApiError> {
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

/// Kinds whose strategy sets `metadata.generation` and has no module of its own.
const GENERATION_KINDS: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
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

/// A kind without behaviour of its own.
#[derive(Debug)]
pub(crate) struct Generic {
    generation: bool,
}

impl Strategy for Generic {
    fn has_generation(&self) -> bool {
        self.generation
    }
}

/// The strategy of `res`'s kind.
pub(crate) fn strategy(res: &ApiResource) -> &'static dyn Strategy {
    static GENERIC: Generic = Generic { generation: false };
    static WITH_GENERATION: Generic = Generic { generation: true };
    if let Some(crd) = crate::crds::serving(res) {
        return crd;
    }
    match (res.group, res.kind) {
        ("", "Pod") => &pod::Pod,
        ("", "Service") => &service::Service,
        ("", "Namespace") => &namespace::Namespace,
        ("", "Secret") => &secret::Secret,
        ("", "ConfigMap") => &configmap::ConfigMap,
        ("", "ServiceAccount") => &serviceaccount::ServiceAccount,
        ("", "Endpoints") => &endpoints::Endpoints,
        ("", "Event") => &event::Event,
        ("", "Node") => &node::Node,
        ("batch", "Job") => &job::Job,
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            &rolebinding::RoleBinding
        }
        (_, kind) if GENERATION_KINDS.contains(&kind) => &WITH_GENERATION,
        _ => &GENERIC,
    }
}

/// `m[key]` as an object, made one if it is missing or not an object.
pub(crate) fn obj_mut<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !v.is_object() {
        *v = json!({});
    }
    let m = v.as_object_mut().expect("made an object above");
    let e = m.entry(key).or_insert_with(|| json!({}));
    if !e.is_object() {
        *e = json!({});
    }
    e.as_object_mut().expect("made an object above")
}

/// Sets `m[key]` unless it holds a non-null value (how the defaulters treat zero values).
pub(crate) fn default(m: &mut Map<String, Value>, key: &str, value: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.into(), value);
    }
}
