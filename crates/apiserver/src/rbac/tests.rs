use super::*;
use serde_json::json;

fn attrs<'a>(
    verb: &'a str,
    ns: &'a str,
    group: &'a str,
    resource: &'a str,
    sub: &'a str,
) -> Attributes<'a> {
    Attributes {
        verb,
        resource_request: true,
        namespace: ns,
        api_group: group,
        resource,
        subresource: sub,
        ..Attributes::default()
    }
}

fn store_with(objects: &[(&str, &str, serde_json::Value)]) -> Registry {
    let reg = Registry::new();
    for (res, ns, o) in objects {
        reg.insert_for_test(
            DISCOVERY.served("rbac.authorization.k8s.io", res),
            ns,
            o.clone(),
        );
    }
    reg
}

#[test]
fn forbidden_messages_match_upstream() {
    let a = attrs("list", "default", "", "pods", "");
    assert_eq!(
        forbidden_message("system:serviceaccount:default:default", &a, ""),
        r#"User "system:serviceaccount:default:default" cannot list resource "pods" in API group "" in the namespace "default""#
    );
    let exec = attrs("create", "ns", "", "pods", "exec");
    assert!(forbidden_message("u", &exec, "").contains(r#"resource "pods/exec""#));
    let cluster = attrs("list", "", "", "nodes", "");
    assert!(forbidden_message("u", &cluster, "").ends_with("at the cluster scope"));
    let path = Attributes {
        verb: "get",
        path: "/<x>&",
        ..Attributes::default()
    };
    assert_eq!(
        forbidden_message("u", &path, "r"),
        r#"User "u" cannot get path "/&lt;x&gt;&amp;": r"#
    );
}

#[test]
fn masters_allowed_everyone_else_denied_by_default() {
    let az = Authorizer::new(Registry::new());
    let a = attrs("delete", "default", "", "pods", "");
    assert!(az.authorize(&UserInfo::admin(), &a).allowed());
    let sa = UserInfo::service_account("default", "default", "u1");
    assert_eq!(az.authorize(&sa, &a), Decision::Deny(String::new()));
}

#[test]
fn role_binding_grants_and_missing_role_is_reported() {
    let s = store_with(&[
        (
            "roles",
            "default",
            json!({"metadata": {"name": "pod-reader", "namespace": "default"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}),
        ),
        (
            "rolebindings",
            "default",
            json!({"metadata": {"name": "read-pods", "namespace": "default"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "default"}]}),
        ),
        (
            "rolebindings",
            "default",
            json!({"metadata": {"name": "dangling", "namespace": "default"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "nope"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}]}),
        ),
    ]);
    let az = Authorizer::new(s);
    let sa = UserInfo::service_account("default", "default", "u1");
    assert_eq!(
        az.authorize(&sa, &attrs("list", "default", "", "pods", "")),
        Decision::Allow(
            r#"RBAC: allowed by RoleBinding "read-pods/default" of Role "pod-reader" to ServiceAccount "default/default""#.into()
        )
    );
    assert_eq!(
        az.authorize(&sa, &attrs("delete", "default", "", "pods", "")),
        Decision::Deny(r#"RBAC: clusterrole.rbac.authorization.k8s.io "nope" not found"#.into())
    );
    // Another namespace's SA with the same name is not the subject.
    let other = UserInfo::service_account("other", "default", "u2");
    assert!(
        !az.authorize(&other, &attrs("list", "default", "", "pods", ""))
            .allowed()
    );
}

#[test]
fn subresources_and_non_resource_urls() {
    let rule: PolicyRule = serde_json::from_value(
        json!({"apiGroups": [""], "resources": ["*/status"], "verbs": ["get"]}),
    )
    .unwrap();
    assert!(rule_allows(
        &attrs("get", "ns", "", "pods", "status"),
        &rule
    ));
    assert!(!rule_allows(&attrs("get", "ns", "", "pods", ""), &rule));
    let nr: PolicyRule = serde_json::from_value(
        json!({"nonResourceURLs": ["/apis/*", "/version"], "verbs": ["get"]}),
    )
    .unwrap();
    let path = |p: &'static str| Attributes {
        verb: "get",
        path: p,
        ..Attributes::default()
    };
    assert!(rule_allows(&path("/apis/batch/v1"), &nr));
    assert!(rule_allows(&path("/version"), &nr));
    assert!(!rule_allows(&path("/versions"), &nr));
    assert!(!rule_allows(&path("/api"), &nr));
}

#[test]
fn bootstrap_policy_parses() {
    let docs: Vec<serde_json::Value> = serde_saphyr::from_str(crate::bootstrap::UPSTREAM).unwrap();
    assert!(
        docs.iter()
            .any(|d| d["metadata"]["name"] == "system:public-info-viewer")
    );
}
