//! Authorization: the `system:masters` privileged group, then RBAC over the stored Roles,
//! ClusterRoles and bindings; default deny.
//!
//! Mirrors `kubernetes/kubernetes:plugin/pkg/auth/authorizer/rbac/rbac.go` (rule matching,
//! reasons, binding descriptions) and `pkg/apis/rbac/v1/evaluation_helpers.go`. The HTTP
//! layer turns a denial into the 403 Status; this module knows nothing of HTTP.

use crate::discovery::DISCOVERY;
use crate::registry::Registry;
use crate::user::{SYSTEM_MASTERS, UserInfo};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, PolicyRule, RoleBinding, Subject};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

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

/// The RBAC objects as of one resourceVersion of the registry, parsed once: what
/// upstream's authorizer reads from its informers' caches.
#[derive(Debug, Default)]
struct Snapshot {
    cluster_bindings: Vec<ClusterRoleBinding>,
    cluster_roles: HashMap<String, Vec<PolicyRule>>,
    bindings: HashMap<String, Vec<RoleBinding>>,
    roles: HashMap<(String, String), Vec<PolicyRule>>,
}

impl Snapshot {
    fn read(reg: &Registry) -> Snapshot {
        let rules_of = |o: &Value| -> Vec<PolicyRule> {
            o.get("rules")
                .cloned()
                .and_then(|r| serde_json::from_value(r).ok())
                .unwrap_or_default()
        };
        let mut snap = Snapshot {
            cluster_bindings: load(reg, "clusterrolebindings", None),
            ..Snapshot::default()
        };
        for o in list(reg, "clusterroles") {
            snap.cluster_roles
                .insert(crate::object::name(&o).to_string(), rules_of(&o));
        }
        for o in list(reg, "roles") {
            let key = (
                crate::object::meta_str(&o, "namespace").to_string(),
                crate::object::name(&o).to_string(),
            );
            snap.roles.insert(key, rules_of(&o));
        }
        for b in load::<RoleBinding>(reg, "rolebindings", None) {
            let ns = b.metadata.namespace.clone().unwrap_or_default();
            snap.bindings.entry(ns).or_default().push(b);
        }
        snap
    }

    fn cluster_role_rules(&self, name: &str) -> Result<&[PolicyRule], String> {
        self.cluster_roles
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| not_found("clusterrole", name))
    }

    fn role_rules(&self, namespace: &str, name: &str) -> Result<&[PolicyRule], String> {
        self.roles
            .get(&(namespace.to_string(), name.to_string()))
            .map(Vec::as_slice)
            .ok_or_else(|| not_found("role", name))
    }
}

fn list(reg: &Registry, resource: &str) -> Vec<Arc<Value>> {
    reg.list(
        DISCOVERY.served("rbac.authorization.k8s.io", resource),
        None,
    )
    .0
}

/// A snapshot and the registry resourceVersion it was read at.
type Cached = (u64, Arc<Snapshot>);

/// What `visit_rules` hands its visitor: a rule with a function naming its source, or an
/// error met resolving a binding's role.
type Visited<'a> = Result<(&'a PolicyRule, &'a dyn Fn() -> String), String>;

/// The RBAC authorizer over the registry's Roles and bindings.
#[derive(Debug, Clone)]
pub struct Authorizer {
    registry: Registry,
    cache: Arc<Mutex<Option<Cached>>>,
}

impl Authorizer {
    pub fn new(registry: Registry) -> Authorizer {
        Authorizer {
            registry,
            cache: Arc::default(),
        }
    }

    /// The RBAC objects now: the cached snapshot unless anything was written since.
    fn snapshot(&self) -> Arc<Snapshot> {
        let rv = self.registry.current_rv();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        match &*cache {
            Some((at, snap)) if *at == rv => snap.clone(),
            _ => {
                let snap = Arc::new(Snapshot::read(&self.registry));
                *cache = Some((rv, snap.clone()));
                snap
            }
        }
    }

    /// Visits the rules that apply to `user` in `namespace` (cluster-wide first), as
    /// `VisitRulesFor` does (kubernetes pkg/registry/rbac/validation/rule.go): `visit`
    /// gets each rule with a function naming its source, or an error; it returns false to
    /// stop.
    fn visit_rules(
        &self,
        user: &UserInfo,
        namespace: &str,
        visit: &mut dyn FnMut(Visited<'_>) -> bool,
    ) {
        let snap = self.snapshot();
        for b in &snap.cluster_bindings {
            let Some(subject) = b
                .subjects
                .iter()
                .flatten()
                .find(|s| applies_to(user, s, ""))
            else {
                continue;
            };
            let source = || {
                format!(
                    "ClusterRoleBinding {} of {} {} to {}",
                    crate::status::quote(b.metadata.name.as_deref().unwrap_or_default()),
                    b.role_ref.kind,
                    crate::status::quote(&b.role_ref.name),
                    describe_subject(subject, "")
                )
            };
            if !visit_all(snap.cluster_role_rules(&b.role_ref.name), &source, visit) {
                return;
            }
        }
        if namespace.is_empty() {
            return;
        }
        for b in snap.bindings.get(namespace).into_iter().flatten() {
            let Some(subject) = b
                .subjects
                .iter()
                .flatten()
                .find(|s| applies_to(user, s, namespace))
            else {
                continue;
            };
            let source = || {
                format!(
                    "RoleBinding {} of {} {} to {}",
                    crate::status::quote(&format!(
                        "{}/{namespace}",
                        b.metadata.name.as_deref().unwrap_or_default()
                    )),
                    b.role_ref.kind,
                    crate::status::quote(&b.role_ref.name),
                    describe_subject(subject, namespace)
                )
            };
            let rules = if b.role_ref.kind == "ClusterRole" {
                snap.cluster_role_rules(&b.role_ref.name)
            } else {
                snap.role_rules(namespace, &b.role_ref.name)
            };
            if !visit_all(rules, &source, visit) {
                return;
            }
        }
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
        self.visit_rules(user, namespace, &mut |got| {
            match got {
                Ok((rule, source)) => rules.push((source(), rule.clone())),
                Err(e) => errors.push(e),
            }
            true
        });
        (rules, errors)
    }

    /// The decision for `user` doing `a`: the first rule that allows it, as
    /// `RBACAuthorizer.Authorize` stops at it.
    pub fn authorize(&self, user: &UserInfo, a: &Attributes<'_>) -> Decision {
        // The privileged-group authorizer the API server puts before RBAC.
        if user.in_group(SYSTEM_MASTERS) {
            return Decision::Allow(String::new());
        }
        let mut allowed = None;
        let mut errors = Vec::new();
        self.visit_rules(user, a.namespace, &mut |got| match got {
            Ok((rule, source)) if rule_allows(a, rule) => {
                allowed = Some(source());
                false
            }
            Ok(_) => true,
            Err(e) => {
                errors.push(e);
                true
            }
        });
        if let Some(source) = allowed {
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

/// Visits each rule of a binding's role, or its error; false when the visitor stopped.
fn visit_all(
    rules: Result<&[PolicyRule], String>,
    source: &dyn Fn() -> String,
    visit: &mut dyn FnMut(Visited<'_>) -> bool,
) -> bool {
    match rules {
        Ok(rules) => rules.iter().all(|r| visit(Ok((r, source)))),
        Err(e) => visit(Err(e)),
    }
}

#[cfg(test)]
mod tests;
