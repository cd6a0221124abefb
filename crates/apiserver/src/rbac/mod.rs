//! Authorization: the `system:masters` privileged group, then RBAC over the stored Roles,
//! ClusterRoles and bindings; default deny.
//!
//! Mirrors `kubernetes/kubernetes:plugin/pkg/auth/authorizer/rbac/rbac.go` (rule matching,
//! reasons, binding descriptions) and `pkg/apis/rbac/v1/evaluation_helpers.go`. The HTTP
//! layer turns a denial into the 403 Status; this module knows nothing of HTTP.

use crate::discovery::DISCOVERY;
use crate::registry::Registry;
use crate::user::{SYSTEM_MASTERS, UserInfo};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject,
};
use serde::de::DeserializeOwned;

/// What is being asked, as upstream's `authorizer.Attributes`.
#[derive(Debug, Clone, Default)]
pub struct Attributes<'a> {
    pub verb: &'a str,
    pub resource_request: bool,
    pub namespace: &'a str,
    pub api_group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub name: &'a str,
    pub path: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Allowed, with the reason upstream gives (empty for `system:masters`).
    Allow(String),
    /// No rule allows it; the reason is empty unless RBAC hit errors.
    Deny(String),
}

impl Decision {
    #[cfg(test)]
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

/// `forbiddenMessage` from `responsewriters/errors.go`, HTML-escaped as upstream does.
pub fn forbidden_message(user: &str, a: &Attributes<'_>, reason: &str) -> String {
    use crate::status::quote;
    let msg = if !a.resource_request {
        format!(
            "User {} cannot {} path {}",
            quote(user),
            a.verb,
            quote(a.path)
        )
    } else {
        let mut resource = a.resource.to_string();
        if !a.subresource.is_empty() {
            resource = format!("{resource}/{}", a.subresource);
        }
        if a.namespace.is_empty() {
            format!(
                "User {} cannot {} resource {} in API group {} at the cluster scope",
                quote(user),
                a.verb,
                quote(&resource),
                quote(a.api_group)
            )
        } else {
            format!(
                "User {} cannot {} resource {} in API group {} in the namespace {}",
                quote(user),
                a.verb,
                quote(&resource),
                quote(a.api_group),
                quote(a.namespace)
            )
        }
    };
    let mut msg = msg
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    if !reason.is_empty() {
        msg.push_str(": ");
        msg.push_str(reason);
    }
    msg
}

fn load<T: DeserializeOwned>(reg: &Registry, resource: &str, namespace: Option<&str>) -> Vec<T> {
    reg.list(
        DISCOVERY.served("rbac.authorization.k8s.io", resource),
        namespace,
    )
    .0
    .iter()
    .filter_map(|o| serde_json::from_value((**o).clone()).ok())
    .collect()
}

fn has(list: &[String], want: &str) -> bool {
    list.iter().any(|x| x == "*" || x == want)
}

/// `RuleAllows` from `evaluation_helpers.go`.
pub fn rule_allows(a: &Attributes<'_>, rule: &PolicyRule) -> bool {
    if !has(&rule.verbs, a.verb) {
        return false;
    }
    if a.resource_request {
        // `resource/subresource`, compared without building it.
        let names_this = |r: &str| match r.split_once('/') {
            None => a.subresource.is_empty() && r == a.resource,
            Some((res, sub)) => {
                sub == a.subresource
                    && !a.subresource.is_empty()
                    && (res == a.resource || res == "*")
            }
        };
        let groups = rule.api_groups.as_deref().unwrap_or_default();
        let resources = rule.resources.as_deref().unwrap_or_default();
        let names = rule.resource_names.as_deref().unwrap_or_default();
        has(groups, a.api_group)
            && resources.iter().any(|r| r == "*" || names_this(r))
            && (names.is_empty() || names.iter().any(|n| n == a.name))
    } else {
        rule.non_resource_urls
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|u| {
                u == "*"
                    || *u == a.path
                    || (u.ends_with('*') && a.path.starts_with(u.trim_end_matches('*')))
            })
    }
}

/// `appliesToUser`.
fn applies_to(user: &UserInfo, s: &Subject, binding_namespace: &str) -> bool {
    match s.kind.as_str() {
        "User" => s.name == user.name,
        "Group" => user.in_group(&s.name),
        "ServiceAccount" => {
            let ns = s
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(binding_namespace);
            !ns.is_empty() && user.name == format!("system:serviceaccount:{ns}:{}", s.name)
        }
        _ => false,
    }
}

/// `describeSubject`.
fn describe_subject(s: &Subject, binding_namespace: &str) -> String {
    use crate::status::quote;
    if s.kind == "ServiceAccount" {
        let ns = s
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(binding_namespace);
        format!("{} {}", s.kind, quote(&format!("{}/{ns}", s.name)))
    } else {
        format!("{} {}", s.kind, quote(&s.name))
    }
}

fn not_found(resource: &str, name: &str) -> String {
    format!(
        "{resource}.rbac.authorization.k8s.io {} not found",
        crate::status::quote(name)
    )
}

/// The RBAC authorizer over the registry's Roles and bindings.
#[derive(Debug, Clone)]
pub struct Authorizer {
    registry: Registry,
}

impl Authorizer {
    pub fn new(registry: Registry) -> Authorizer {
        Authorizer { registry }
    }

    fn cluster_role_rules(&self, name: &str) -> Result<Vec<PolicyRule>, String> {
        let obj = self
            .registry
            .find(
                DISCOVERY.served("rbac.authorization.k8s.io", "clusterroles"),
                "",
                name,
            )
            .ok_or_else(|| not_found("clusterrole", name))?;
        let role: ClusterRole =
            serde_json::from_value((*obj).clone()).map_err(|e| e.to_string())?;
        Ok(role.rules.unwrap_or_default())
    }

    fn role_rules(&self, namespace: &str, name: &str) -> Result<Vec<PolicyRule>, String> {
        let obj = self
            .registry
            .find(
                DISCOVERY.served("rbac.authorization.k8s.io", "roles"),
                namespace,
                name,
            )
            .ok_or_else(|| not_found("role", name))?;
        let role: Role = serde_json::from_value((*obj).clone()).map_err(|e| e.to_string())?;
        Ok(role.rules.unwrap_or_default())
    }

    /// Every rule that applies to `user` in `namespace` (cluster-wide rules included), and
    /// the errors met on the way, as `VisitRulesFor` collects them.
    pub fn rules_for(
        &self,
        user: &UserInfo,
        namespace: &str,
    ) -> (Vec<(String, PolicyRule)>, Vec<String>) {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for b in load::<ClusterRoleBinding>(&self.registry, "clusterrolebindings", None) {
            let Some(subject) = b
                .subjects
                .iter()
                .flatten()
                .find(|s| applies_to(user, s, ""))
            else {
                continue;
            };
            let source = format!(
                "ClusterRoleBinding {} of {} {} to {}",
                crate::status::quote(b.metadata.name.as_deref().unwrap_or_default()),
                b.role_ref.kind,
                crate::status::quote(&b.role_ref.name),
                describe_subject(subject, "")
            );
            match self.cluster_role_rules(&b.role_ref.name) {
                Ok(rs) => rules.extend(rs.into_iter().map(|r| (source.clone(), r))),
                Err(e) => errors.push(e),
            }
        }
        if !namespace.is_empty() {
            for b in load::<RoleBinding>(&self.registry, "rolebindings", Some(namespace)) {
                let Some(subject) = b
                    .subjects
                    .iter()
                    .flatten()
                    .find(|s| applies_to(user, s, namespace))
                else {
                    continue;
                };
                let source = format!(
                    "RoleBinding {} of {} {} to {}",
                    crate::status::quote(&format!(
                        "{}/{namespace}",
                        b.metadata.name.as_deref().unwrap_or_default()
                    )),
                    b.role_ref.kind,
                    crate::status::quote(&b.role_ref.name),
                    describe_subject(subject, namespace)
                );
                let got = if b.role_ref.kind == "ClusterRole" {
                    self.cluster_role_rules(&b.role_ref.name)
                } else {
                    self.role_rules(namespace, &b.role_ref.name)
                };
                match got {
                    Ok(rs) => rules.extend(rs.into_iter().map(|r| (source.clone(), r))),
                    Err(e) => errors.push(e),
                }
            }
        }
        (rules, errors)
    }

    /// The decision for `user` doing `a`.
    pub fn authorize(&self, user: &UserInfo, a: &Attributes<'_>) -> Decision {
        // The privileged-group authorizer the API server puts before RBAC.
        if user.in_group(SYSTEM_MASTERS) {
            return Decision::Allow(String::new());
        }
        let (rules, errors) = self.rules_for(user, a.namespace);
        if let Some((source, _)) = rules.iter().find(|(_, r)| rule_allows(a, r)) {
            return Decision::Allow(format!("RBAC: allowed by {source}"));
        }
        let reason = match errors.as_slice() {
            [] => String::new(),
            [one] => format!("RBAC: {one}"),
            many => format!("RBAC: [{}]", many.join(", ")),
        };
        Decision::Deny(reason)
    }
}

#[cfg(test)]
mod tests;
