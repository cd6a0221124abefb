//! Decoding checks: the body must decode into the kind's `k8s-openapi` type, and with
//! `fieldValidation=Strict` it may carry no field that type lacks; names must be valid.
//!
//! Upstream decodes into Go structs (apimachinery `pkg/runtime/serializer/json`); the
//! `k8s-openapi` types are generated from the same OpenAPI schema, so a field the Rust type
//! drops on a round trip is a field the Go struct does not have.

use crate::status::{Cause, field};
use serde_json::Value;

macro_rules! typed {
    ($gvk:expr, $value:expr, { $($g:literal $v:literal $k:literal => $t:ty,)* }) => {
        match $gvk {
            $( ($g, $v, $k) => Some(roundtrip::<$t>($value)), )*
            _ => None,
        }
    };
}

fn roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(
    v: &Value,
) -> Result<Value, String> {
    let typed: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// Decodes `value` as the kind's type and re-encodes it; `None` when the kind has no
/// `k8s-openapi` type here (its body is then only checked for being an object).
pub fn decode(
    group: &str,
    version: &str,
    kind: &str,
    value: &Value,
) -> Option<Result<Value, String>> {
    use k8s_openapi::api::*;
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
    use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apireg;
    typed!((group, version, kind), value, {
        "" "v1" "Binding" => core::v1::Binding,
        "" "v1" "ConfigMap" => core::v1::ConfigMap,
        "" "v1" "Endpoints" => core::v1::Endpoints,
        "" "v1" "Event" => core::v1::Event,
        "" "v1" "LimitRange" => core::v1::LimitRange,
        "" "v1" "Namespace" => core::v1::Namespace,
        "" "v1" "Node" => core::v1::Node,
        "" "v1" "PersistentVolumeClaim" => core::v1::PersistentVolumeClaim,
        "" "v1" "PersistentVolume" => core::v1::PersistentVolume,
        "" "v1" "Pod" => core::v1::Pod,
        "" "v1" "PodTemplate" => core::v1::PodTemplate,
        "" "v1" "ReplicationController" => core::v1::ReplicationController,
        "" "v1" "ResourceQuota" => core::v1::ResourceQuota,
        "" "v1" "Secret" => core::v1::Secret,
        "" "v1" "ServiceAccount" => core::v1::ServiceAccount,
        "" "v1" "Service" => core::v1::Service,
        "apiregistration.k8s.io" "v1" "APIService" => apireg::APIService,
        "apiextensions.k8s.io" "v1" "CustomResourceDefinition" => apiext::CustomResourceDefinition,
        "apps" "v1" "ControllerRevision" => apps::v1::ControllerRevision,
        "apps" "v1" "DaemonSet" => apps::v1::DaemonSet,
        "apps" "v1" "Deployment" => apps::v1::Deployment,
        "apps" "v1" "ReplicaSet" => apps::v1::ReplicaSet,
        "apps" "v1" "StatefulSet" => apps::v1::StatefulSet,
        "events.k8s.io" "v1" "Event" => events::v1::Event,
        "authentication.k8s.io" "v1" "SelfSubjectReview" => authentication::v1::SelfSubjectReview,
        "authentication.k8s.io" "v1" "TokenReview" => authentication::v1::TokenReview,
        "authentication.k8s.io" "v1" "TokenRequest" => authentication::v1::TokenRequest,
        "authorization.k8s.io" "v1" "LocalSubjectAccessReview" => authorization::v1::LocalSubjectAccessReview,
        "authorization.k8s.io" "v1" "SelfSubjectAccessReview" => authorization::v1::SelfSubjectAccessReview,
        "authorization.k8s.io" "v1" "SelfSubjectRulesReview" => authorization::v1::SelfSubjectRulesReview,
        "authorization.k8s.io" "v1" "SubjectAccessReview" => authorization::v1::SubjectAccessReview,
        "autoscaling" "v1" "HorizontalPodAutoscaler" => autoscaling::v1::HorizontalPodAutoscaler,
        "autoscaling" "v2" "HorizontalPodAutoscaler" => autoscaling::v2::HorizontalPodAutoscaler,
        "batch" "v1" "CronJob" => batch::v1::CronJob,
        "batch" "v1" "Job" => batch::v1::Job,
        "certificates.k8s.io" "v1" "CertificateSigningRequest" => certificates::v1::CertificateSigningRequest,
        "networking.k8s.io" "v1" "IngressClass" => networking::v1::IngressClass,
        "networking.k8s.io" "v1" "Ingress" => networking::v1::Ingress,
        "networking.k8s.io" "v1" "IPAddress" => networking::v1::IPAddress,
        "networking.k8s.io" "v1" "NetworkPolicy" => networking::v1::NetworkPolicy,
        "networking.k8s.io" "v1" "ServiceCIDR" => networking::v1::ServiceCIDR,
        "policy" "v1" "PodDisruptionBudget" => policy::v1::PodDisruptionBudget,
        "policy" "v1" "Eviction" => policy::v1::Eviction,
        "rbac.authorization.k8s.io" "v1" "ClusterRoleBinding" => rbac::v1::ClusterRoleBinding,
        "rbac.authorization.k8s.io" "v1" "ClusterRole" => rbac::v1::ClusterRole,
        "rbac.authorization.k8s.io" "v1" "RoleBinding" => rbac::v1::RoleBinding,
        "rbac.authorization.k8s.io" "v1" "Role" => rbac::v1::Role,
        "storage.k8s.io" "v1" "CSIDriver" => storage::v1::CSIDriver,
        "storage.k8s.io" "v1" "CSINode" => storage::v1::CSINode,
        "storage.k8s.io" "v1" "CSIStorageCapacity" => storage::v1::CSIStorageCapacity,
        "storage.k8s.io" "v1" "StorageClass" => storage::v1::StorageClass,
        "storage.k8s.io" "v1" "VolumeAttachment" => storage::v1::VolumeAttachment,
        "admissionregistration.k8s.io" "v1" "MutatingWebhookConfiguration" => admissionregistration::v1::MutatingWebhookConfiguration,
        "admissionregistration.k8s.io" "v1" "ValidatingAdmissionPolicy" => admissionregistration::v1::ValidatingAdmissionPolicy,
        "admissionregistration.k8s.io" "v1" "ValidatingAdmissionPolicyBinding" => admissionregistration::v1::ValidatingAdmissionPolicyBinding,
        "admissionregistration.k8s.io" "v1" "ValidatingWebhookConfiguration" => admissionregistration::v1::ValidatingWebhookConfiguration,
        "scheduling.k8s.io" "v1" "PriorityClass" => scheduling::v1::PriorityClass,
        "coordination.k8s.io" "v1" "Lease" => coordination::v1::Lease,
        "node.k8s.io" "v1" "RuntimeClass" => node::v1::RuntimeClass,
        "discovery.k8s.io" "v1" "EndpointSlice" => discovery::v1::EndpointSlice,
        "flowcontrol.apiserver.k8s.io" "v1" "FlowSchema" => flowcontrol::v1::FlowSchema,
        "flowcontrol.apiserver.k8s.io" "v1" "PriorityLevelConfiguration" => flowcontrol::v1::PriorityLevelConfiguration,
    })
}

/// Paths (`spec.foo`, `spec.containers[0].bar`) present in `input` but not in `decoded`:
/// the fields the type does not know. Nulls are skipped (Go decodes them as zero values).
pub fn unknown_fields(input: &Value, decoded: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(input, decoded, "", &mut out);
    out
}

fn walk(input: &Value, decoded: &Value, path: &str, out: &mut Vec<String>) {
    match (input, decoded) {
        (Value::Object(i), Value::Object(d)) => {
            for (k, v) in i {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match d.get(k) {
                    Some(dv) => walk(v, dv, &p, out),
                    None if v.is_null() => {}
                    None => {
                        // A typed map (labels, data) keeps all its keys; a missing key is a
                        // field the struct does not have.
                        out.push(p);
                    }
                }
            }
        }
        (Value::Array(i), Value::Array(d)) => {
            for (n, (iv, dv)) in i.iter().zip(d).enumerate() {
                walk(iv, dv, &format!("{path}[{n}]"), out);
            }
        }
        _ => {}
    }
}

/// `IsDNS1123Subdomain`: lowercase RFC 1123 labels joined by dots, at most 253 characters.
pub fn dns1123_subdomain(path: &str, value: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push(field::invalid(
            path,
            &crate::status::quote(value),
            "must be no more than 253 characters",
        ));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !value.split('.').all(label_ok) {
        errs.push(field::invalid(
            path,
            &crate::status::quote(value),
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ));
    }
    errs
}

/// `IsDNS1123Label`: for namespaces, services and pods' hostnames.
pub fn dns1123_label(path: &str, value: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(field::invalid(
            path,
            &crate::status::quote(value),
            "must be no more than 63 characters",
        ));
    }
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if !ok {
        errs.push(field::invalid(
            path,
            &crate::status::quote(value),
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        ));
    }
    errs
}

/// `path.IsValidPathSegmentName`: RBAC objects may be named `system:basic-user`.
pub fn path_segment(path: &str, value: &str) -> Vec<Cause> {
    let q = crate::status::quote(value);
    if value == "." || value == ".." {
        return vec![field::invalid(path, &q, &format!("may not be {q}"))];
    }
    for bad in ["/", "%"] {
        if value.contains(bad) {
            return vec![field::invalid(
                path,
                &q,
                &format!("may not contain '{bad}'"),
            )];
        }
    }
    Vec::new()
}

/// The name rule of each kind's `ValidateObjectMeta` call.
pub fn object_name(group: &str, kind: &str, name: &str) -> Vec<Cause> {
    const PATH: &str = "metadata.name";
    match (group, kind) {
        ("rbac.authorization.k8s.io", _) => path_segment(PATH, name),
        // `version.group`, the core group's `v1.` included (kube-aggregator
        // pkg/apis/apiregistration/validation/validation.go, `ValidateAPIService`).
        ("apiregistration.k8s.io", "APIService") => path_segment(PATH, name),
        ("", "Namespace") | ("", "Service") => dns1123_label(PATH, name),
        _ => dns1123_subdomain(PATH, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_found_with_paths() {
        let input = json!({"metadata": {"name": "x", "labelz": {}}, "data": {"a": "b"},
            "spec": {"containers": [{"name": "c", "imag": "x"}]}});
        let decoded = decode("", "v1", "Pod", &input).unwrap().unwrap();
        assert_eq!(
            unknown_fields(&input, &decoded),
            ["metadata.labelz", "data", "spec.containers[0].imag"]
        );
    }

    #[test]
    fn type_errors_are_reported() {
        let bad = json!({"metadata": {"name": 3}});
        assert!(decode("", "v1", "ConfigMap", &bad).unwrap().is_err());
    }

    #[test]
    fn names() {
        assert!(dns1123_subdomain("metadata.name", "my-job.v1").is_empty());
        assert_eq!(dns1123_subdomain("metadata.name", "My_Job").len(), 1);
        assert_eq!(dns1123_label("metadata.name", "a.b").len(), 1);
    }
}
