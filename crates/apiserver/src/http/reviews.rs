//! The virtual resources that answer a question instead of storing an object:
//! SelfSubjectAccessReview, SubjectAccessReview, LocalSubjectAccessReview,
//! SelfSubjectRulesReview, SelfSubjectReview, TokenReview, and TokenRequest.
//!
//! Mirrors `pkg/registry/authorization/*/rest.go`, `pkg/registry/authentication/*/storage.go`
//! and `pkg/registry/core/serviceaccount/storage/token.go`: the request comes back with
//! `status` filled in.

use super::Ctx;
use crate::State;
use crate::discovery::ApiResource;
use crate::discovery::DISCOVERY;
use crate::object;
use crate::rbac::{Attributes, Decision};
use crate::status::{ApiError, GroupResource, field};
use crate::tokens::{self, Ref, TokenSpec};
use crate::user::UserInfo;
use serde_json::{Map, Value, json};

pub fn is_review(res: &ApiResource) -> bool {
    matches!(res.group, "authorization.k8s.io" | "authentication.k8s.io")
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn attributes_from<'a>(spec: &'a Value, namespace_override: Option<&'a str>) -> Attributes<'a> {
    if let Some(ra) = spec.get("resourceAttributes").filter(|v| v.is_object()) {
        Attributes {
            verb: str_at(ra, "/verb"),
            resource_request: true,
            namespace: namespace_override.unwrap_or(str_at(ra, "/namespace")),
            api_group: str_at(ra, "/group"),
            resource: str_at(ra, "/resource"),
            subresource: str_at(ra, "/subresource"),
            name: str_at(ra, "/name"),
            path: "",
        }
    } else {
        let nra = spec.get("nonResourceAttributes").unwrap_or(&Value::Null);
        Attributes {
            verb: str_at(nra, "/verb"),
            path: str_at(nra, "/path"),
            ..Attributes::default()
        }
    }
}

fn access_status(d: &Decision) -> Value {
    match d {
        Decision::Allow(reason) if reason.is_empty() => json!({"allowed": true}),
        Decision::Allow(reason) => json!({"allowed": true, "reason": reason}),
        Decision::Deny(reason) if reason.is_empty() => json!({"allowed": false}),
        Decision::Deny(reason) => json!({"allowed": false, "reason": reason}),
    }
}

fn respond(res: &ApiResource, mut body: Value, status: Value) -> Value {
    let root = body.as_object_mut().expect("checked object");
    root.insert("status".into(), status);
    let meta = root.entry("metadata").or_insert_with(|| json!({}));
    if let Some(m) = meta.as_object_mut() {
        m.entry("creationTimestamp").or_insert(Value::Null);
    }
    crate::registry::canonical(res, body)
}

fn user_info_json(u: &UserInfo) -> Value {
    let mut m = Map::new();
    m.insert("username".into(), json!(u.name));
    if !u.uid.is_empty() {
        m.insert("uid".into(), json!(u.uid));
    }
    m.insert("groups".into(), json!(u.groups));
    if !u.extra.is_empty() {
        m.insert("extra".into(), json!(u.extra));
    }
    Value::Object(m)
}

pub async fn create(
    state: &State,
    ctx: &Ctx,
    res: &ApiResource,
    ns: &str,
    body: Value,
) -> Result<Value, ApiError> {
    let spec = body.get("spec").cloned().unwrap_or(json!({}));
    let answer = |status| respond(res, body.clone(), status);
    Ok(match res.kind {
        "SelfSubjectAccessReview" => {
            let a = attributes_from(&spec, None);
            with_request_fields(
                ctx,
                res,
                &body,
                answer(access_status(&state.authz.authorize(&ctx.user, &a))),
            )
        }
        "SubjectAccessReview" | "LocalSubjectAccessReview" => with_request_fields(
            ctx,
            res,
            &body,
            answer(subject_access(state, res, ns, &spec)?),
        ),
        "TokenReview" => {
            if str_at(&spec, "/token").is_empty() {
                // `pkg/registry/authentication/tokenreview/storage.go`, `Create`.
                return Err(ApiError::bad_request(
                    "token is required for TokenReview in authentication",
                ));
            }
            with_request_fields(ctx, res, &body, answer(token_review(state, &spec).await))
        }
        // These answer a new object rather than the request's: no spec, no managedFields
        // (`pkg/registry/authorization/selfsubjectrulesreview/rest.go`), and a review of
        // oneself made now (`pkg/registry/authentication/selfsubjectreview/rest.go`).
        "SelfSubjectRulesReview" => respond(
            res,
            json!({"metadata": {}, "spec": {}}),
            rules(state, &ctx.user, &spec)?,
        ),
        "SelfSubjectReview" => respond(
            res,
            json!({"metadata": {"creationTimestamp": object::now()}}),
            json!({"userInfo": user_info_json(&ctx.user)}),
        ),
        other => return Err(ApiError::internal(format!("no review handler for {other}"))),
    })
}

/// The answer with the request's own fields recorded as the caller's `Update`.
fn with_request_fields(ctx: &Ctx, res: &ApiResource, request: &Value, mut answer: Value) -> Value {
    let manager =
        crate::registry::managed::manager_name(ctx.param("fieldManager"), &ctx.user_agent);
    crate::registry::record_request_fields(res, None, request, &mut answer, &manager);
    crate::registry::canonical(res, answer)
}

/// SubjectAccessReview and LocalSubjectAccessReview: what the named user or groups may do.
fn subject_access(
    state: &State,
    res: &ApiResource,
    ns: &str,
    spec: &Value,
) -> Result<Value, ApiError> {
    let user = str_at(spec, "/user");
    let groups: Vec<&str> = spec
        .get("groups")
        .and_then(Value::as_array)
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if user.is_empty() && groups.is_empty() {
        return Err(ApiError::invalid(
            res.group,
            res.kind,
            "",
            vec![field::invalid(
                "spec.user",
                "\"\"",
                "at least one of user or group must be specified",
            )],
        ));
    }
    let subject = UserInfo {
        name: user.into(),
        uid: str_at(spec, "/uid").into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        extra: Default::default(),
    };
    let local = (res.kind == "LocalSubjectAccessReview").then_some(ns);
    let a = attributes_from(spec, local);
    Ok(access_status(&state.authz.authorize(&subject, &a)))
}

/// SelfSubjectRulesReview: the rules that apply to the caller in a namespace.
fn rules(state: &State, user: &UserInfo, spec: &Value) -> Result<Value, ApiError> {
    let namespace = str_at(spec, "/namespace").to_string();
    let (rules, errors) = state.authz.rules_for(user, &namespace);
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    if user.in_group(crate::user::SYSTEM_MASTERS) {
        resource_rules.push(json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}));
        non_resource_rules.push(json!({"verbs": ["*"], "nonResourceURLs": ["*"]}));
    }
    for (_, r) in rules {
        let r = serde_json::to_value(&r).map_err(ApiError::internal)?;
        if r.get("nonResourceURLs").is_some() {
            non_resource_rules
                .push(json!({"verbs": r["verbs"], "nonResourceURLs": r["nonResourceURLs"]}));
        } else {
            let mut m = Map::new();
            m.insert("verbs".into(), r["verbs"].clone());
            for k in ["apiGroups", "resources", "resourceNames"] {
                if let Some(v) = r.get(k) {
                    m.insert(k.into(), v.clone());
                }
            }
            resource_rules.push(Value::Object(m));
        }
    }
    let mut status = json!({
        "resourceRules": resource_rules,
        "nonResourceRules": non_resource_rules,
        "incomplete": !errors.is_empty(),
    });
    if !errors.is_empty() {
        status["evaluationError"] = json!(errors.join(", "));
    }
    Ok(status)
}

/// TokenReview: who a token authenticates as.
async fn token_review(state: &State, spec: &Value) -> Value {
    let token = str_at(spec, "/token");
    match crate::authn::bearer(&state.registry, &state.keys, token).await {
        Ok(u) => json!({
            "authenticated": true,
            "user": user_info_json(&u),
            "audiences": tokens::API_AUDIENCES,
        }),
        Err(_) => {
            // The union of the token authenticators fails with one error for any token that
            // none accepts (k8s.io/apiserver pkg/authentication/request/bearertoken,
            // `invalidToken`).
            json!({"user": {}, "error": "invalid bearer token"})
        }
    }
}

/// The requested lifetime and audiences, defaulted as `SetDefaults_TokenRequestSpec`
/// defaults them (one hour; the API audiences) and validated.
fn token_spec(spec: &Value) -> Result<(i64, Vec<String>), ApiError> {
    let expiration = spec
        .get("expirationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(3600);
    if expiration < 600 {
        return Err(ApiError::invalid(
            "authentication.k8s.io",
            "TokenRequest",
            "",
            vec![field::invalid(
                "spec.expirationSeconds",
                &expiration.to_string(),
                "may not specify a duration less than 10 minutes",
            )],
        ));
    }
    let audiences: Vec<String> = match spec.get("audiences").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => tokens::API_AUDIENCES
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    Ok((expiration, audiences))
}

/// The pod a token is bound to, and its node: only pods may be bound objects here, and
/// a UID in the reference must be the pod's.
fn bound_pod(
    state: &State,
    ns: &str,
    bound: &Value,
) -> Result<(Option<Ref>, Option<Ref>), ApiError> {
    let reg = &state.registry;
    let kind = str_at(bound, "/kind");
    let name = str_at(bound, "/name");
    if kind != "Pod" {
        return Err(ApiError::bad_request(format!(
            "cannot bind token to object of type {kind}"
        )));
    }
    let pods = GroupResource {
        group: "",
        resource: "pods",
    };
    let p = reg
        .find(DISCOVERY.served("", "pods"), ns, name)
        .ok_or_else(|| ApiError::not_found(pods, name))?;
    let uid = object::meta_str(&p, "uid").to_string();
    let want_uid = str_at(bound, "/uid");
    if !want_uid.is_empty() && want_uid != uid {
        return Err(ApiError::conflict(
            pods,
            name,
            &format!(
                "the UID in the bound object reference ({want_uid}) does not match the UID in record. The object might have been deleted and then recreated"
            ),
        ));
    }
    let node = p
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .and_then(|node_name| {
            let n = reg.find(DISCOVERY.served("", "nodes"), "", node_name)?;
            Some(Ref {
                name: node_name.into(),
                uid: object::meta_str(&n, "uid").into(),
            })
        });
    Ok((
        Some(Ref {
            name: name.into(),
            uid,
        }),
        node,
    ))
}

/// `serviceaccounts/<name>/token`: a TokenRequest for a ServiceAccount, optionally bound to
/// a pod (or secret) by `spec.boundObjectRef`.
pub async fn token_request(
    state: &State,
    ctx: &Ctx,
    ns: &str,
    sa_name: &str,
    body: Value,
) -> Result<Value, ApiError> {
    let reg = &state.registry;
    let sa = reg
        .find(DISCOVERY.served("", "serviceaccounts"), ns, sa_name)
        .ok_or_else(|| {
            ApiError::not_found(
                GroupResource {
                    group: "",
                    resource: "serviceaccounts",
                },
                sa_name,
            )
        })?;
    let spec = body.get("spec").cloned().unwrap_or(json!({}));
    let (expiration, audiences) = token_spec(&spec)?;
    let (pod, node) = match spec.get("boundObjectRef").filter(|b| b.is_object()) {
        Some(bound) => bound_pod(state, ns, bound)?,
        None => (None, None),
    };
    let key = state.keys.get().await.map_err(ApiError::internal)?;
    let now = jiff::Timestamp::now().as_second();
    let issued = tokens::issue(
        key,
        &TokenSpec {
            namespace: ns.into(),
            service_account: Ref {
                name: sa_name.into(),
                uid: object::meta_str(&sa, "uid").into(),
            },
            pod,
            node,
            audiences: audiences.clone(),
            expiration_seconds: expiration,
        },
        now,
    );
    let expires = jiff::Timestamp::from_second(issued.expires_at).map_err(ApiError::internal)?;
    let bound = spec.get("boundObjectRef").cloned().unwrap_or(Value::Null);
    let res = crate::discovery::DISCOVERY
        .resource("", "v1", "serviceaccounts/token")
        .expect("in the table");
    let mut answer = json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": sa_name, "namespace": ns, "creationTimestamp": object::now()},
        "spec": {"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": bound},
        "status": {"token": issued.token, "expirationTimestamp": object::timestamp(expires)},
    });
    // The request as decoded, `expirationSeconds` defaulted (`SetDefaults_TokenRequestSpec`),
    // is what the field manager records, under the `token` subresource.
    let mut request = body;
    if let Some(spec) = request.get_mut("spec").and_then(Value::as_object_mut) {
        spec.entry("expirationSeconds").or_insert(json!(expiration));
    } else if let Some(root) = request.as_object_mut() {
        root.insert("spec".into(), json!({"expirationSeconds": expiration}));
    }
    let manager =
        crate::registry::managed::manager_name(ctx.param("fieldManager"), &ctx.user_agent);
    crate::registry::record_request_fields(res, Some("token"), &request, &mut answer, &manager);
    Ok(crate::registry::canonical(res, answer))
}
