//! A lab's API traffic, replayed: what the embedded server received while the lab ran
//! (`apiserver::Recorder`) is sent again, in order and as the same caller, to a fresh
//! reference control plane, and every answer that does not depend on a running pod is
//! compared with the one the embedded server gave.
//!
//! The reference has no node, so its pods never run. What depends on that is named here
//! (`not_compared`) and is not compared: streams (watches, followed logs, exec), and the
//! objects whose status a running pod writes (Pods, and the Jobs and Events that follow
//! them). Writes among them are still sent, so that both servers hold the same objects
//! afterwards; reads are not.

use crate::server::{Answer, exchange, token_of};
use apiserver::{Caller, Exchange};
use std::collections::HashMap;

/// What happened to one recorded exchange.
#[derive(Debug)]
pub enum Outcome {
    Identical,
    /// The unified diff of the two answers.
    Differs(String),
    /// Not compared, and why (one of `not_compared`'s reasons).
    NotCompared(&'static str),
}

/// Why an exchange's answer is not compared, if it depends on a running pod; and whether
/// it is sent at all (writes are, to keep both servers' objects alike).
pub fn not_compared(ex: &Exchange) -> Option<(&'static str, bool)> {
    if ex.answer.is_none() {
        return Some((
            "a stream (a watch, a followed log, exec): its events come from running pods",
            false,
        ));
    }
    let path = ex.uri.split('?').next().unwrap_or("");
    if path.ends_with("/selfsubjectreviews") && bound_to_pod(&ex.caller) {
        return Some((
            "a SelfSubjectReview describes its caller's token, here one bound to a running \
             pod and its node (`kubernetes.io` claims), which the reference has not",
            false,
        ));
    }
    let (resource, subresource) = resource_of(path)?;
    let pod_written = matches!(resource, "pods" | "jobs" | "events");
    if !pod_written {
        return None;
    }
    let creates = ex.method == "POST" && subresource.is_none();
    if creates && resource != "events" {
        // A new Pod or Job is answered before any kubelet or controller saw it.
        return None;
    }
    Some((
        "a Pod's status comes from its running containers, and the Jobs and Events that \
         follow it from that; the reference has no node",
        ex.method != "GET",
    ))
}

/// Whether `caller` sent a service-account token bound to a pod: its claims, read without
/// verifying them, name one (`pkg/serviceaccount/claims.go`, `kubernetes.io.pod`).
fn bound_to_pod(caller: &Caller) -> bool {
    use base64::Engine;
    let Caller::Bearer(token) = caller else {
        return false;
    };
    token
        .split('.')
        .nth(1)
        .and_then(|claims| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(claims.trim_end_matches('='))
                .ok()
        })
        .and_then(|claims| serde_json::from_slice::<serde_json::Value>(&claims).ok())
        .is_some_and(|claims| claims.pointer("/kubernetes.io/pod").is_some())
}

/// The resource and subresource a resource path names:
/// `/api/v1/namespaces/default/pods/curl/exec` → (`pods`, `exec`).
fn resource_of(path: &str) -> Option<(&str, Option<&str>)> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match segments.as_slice() {
        ["api", _version, rest @ ..] => rest,
        ["apis", _group, _version, rest @ ..] => rest,
        _ => return None,
    };
    let rest = match rest {
        ["namespaces", _ns, rest @ ..] if !rest.is_empty() => rest,
        rest => rest,
    };
    match rest {
        [resource] | [resource, _] => Some((resource, None)),
        [resource, _, sub, ..] => Some((resource, Some(sub))),
        [] => None,
    }
}

/// The reference as each recorded caller reaches it.
pub struct Replayer {
    admin_config: kube::Config,
    admin: kube::Client,
    /// Clients by token (a bad token, as recorded) or `sa:<ns>/<name>`, and anonymous.
    clients: HashMap<String, kube::Client>,
    rewrites: Vec<crate::k3s::Rewrite>,
}

impl Replayer {
    pub async fn new(
        admin: kube::config::Kubeconfig,
        rewrites: Vec<crate::k3s::Rewrite>,
    ) -> Result<Replayer, String> {
        let admin_config = kube::Config::from_custom_kubeconfig(
            admin,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .map_err(|e| format!("reading the reference's kubeconfig: {e}"))?;
        let admin = kube::Client::try_from(admin_config.clone()).map_err(|e| e.to_string())?;
        Ok(Replayer {
            admin_config,
            admin,
            clients: HashMap::new(),
            rewrites,
        })
    }

    fn bare(&self, token: Option<String>) -> Result<kube::Client, String> {
        let mut config = self.admin_config.clone();
        config.auth_info = kube::config::AuthInfo {
            token: token.map(Into::into),
            ..Default::default()
        };
        kube::Client::try_from(config).map_err(|e| e.to_string())
    }

    /// The client that stands for `caller` on the reference. A token the embedded server
    /// accepted was a ServiceAccount's (its `sub` says which): the reference issues its
    /// own for the same account. One it refused is sent as it was.
    async fn client(&mut self, caller: &Caller, accepted: bool) -> Result<kube::Client, String> {
        let key = match caller {
            Caller::Certificate(user) if user.name == "system:admin" => {
                return Ok(self.admin.clone());
            }
            Caller::Certificate(user) => {
                return Err(format!(
                    "a client certificate of {:?}: the replay knows only system:admin's",
                    user.name
                ));
            }
            Caller::Anonymous => "anonymous".to_string(),
            Caller::Bearer(token) if !accepted => token.clone(),
            Caller::Bearer(token) => {
                let (ns, name) = service_account_of(token)?;
                format!("sa:{ns}/{name}")
            }
        };
        if let Some(client) = self.clients.get(&key) {
            return Ok(client.clone());
        }
        let client = match (caller, key.strip_prefix("sa:")) {
            (_, Some(account)) => {
                let (ns, name) = account.split_once('/').expect("made above");
                let token = token_of(&self.admin, ns, name).await?;
                self.bare(Some(token))?
            }
            (Caller::Bearer(token), None) => self.bare(Some(token.clone()))?,
            _ => self.bare(None)?,
        };
        self.clients.insert(key, client.clone());
        Ok(client)
    }

    /// Sends `ex` to the reference as its caller (unless `not_compared` says it is a read
    /// that depends on a running pod) and compares the answers.
    pub async fn replay(
        &mut self,
        ex: &Exchange,
        ctx: &harness::redact::Context,
    ) -> Result<Outcome, String> {
        let skip = not_compared(ex);
        if let Some((why, false)) = skip {
            return Ok(Outcome::NotCompared(why));
        }
        let client = self.client(&ex.caller, ex.status != 401).await?;
        let (status, content_type, body) =
            exchange(&client, &ex.method, &ex.uri, &ex.headers, ex.body.clone()).await?;
        if let Some((why, _)) = skip {
            return Ok(Outcome::NotCompared(why));
        }
        let want = Answer {
            status,
            content_type,
            body: crate::k3s::apply(&self.rewrites, &body),
        };
        let got = Answer {
            status: ex.status,
            content_type: ex.content_type.clone(),
            body: ex.answer.clone().unwrap_or_default(),
        };
        Ok(match crate::compare(&want, &got, ctx) {
            None => Outcome::Identical,
            Some(diff) => Outcome::Differs(diff),
        })
    }
}

/// The ServiceAccount a token the embedded server issued names in its `sub` claim
/// (`system:serviceaccount:<ns>:<name>`). Read, not verified: the embedded server already
/// verified it.
fn service_account_of(token: &str) -> Result<(String, String), String> {
    use base64::Engine;
    let payload = token
        .split('.')
        .nth(1)
        .ok_or("a bearer token that is not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| format!("a token's payload: {e}"))?;
    let claims: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("a token's claims: {e}"))?;
    let sub = claims["sub"].as_str().unwrap_or("");
    let mut parts = sub.splitn(4, ':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("system"), Some("serviceaccount"), Some(ns), Some(name)) => {
            Ok((ns.to_string(), name.to_string()))
        }
        _ => Err(format!(
            "a token whose subject is not a ServiceAccount: {sub:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_paths() {
        assert_eq!(
            resource_of("/api/v1/namespaces/default/pods/curl/exec"),
            Some(("pods", Some("exec")))
        );
        assert_eq!(
            resource_of("/apis/batch/v1/namespaces/default/jobs"),
            Some(("jobs", None))
        );
        assert_eq!(
            resource_of("/api/v1/namespaces/default"),
            Some(("namespaces", None))
        );
        assert_eq!(
            resource_of("/api/v1/namespaces"),
            Some(("namespaces", None))
        );
        assert_eq!(resource_of("/api/v1/pods"), Some(("pods", None)));
        assert_eq!(resource_of("/apis/batch"), None);
        assert_eq!(resource_of("/version"), None);
    }

    #[test]
    fn a_token_names_its_service_account() {
        use base64::Engine;
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"sub":"system:serviceaccount:default:reader"}"#);
        assert_eq!(
            service_account_of(&format!("e30.{claims}.sig")),
            Ok(("default".into(), "reader".into()))
        );
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"sub":"bob"}"#);
        assert!(service_account_of(&format!("e30.{claims}.sig")).is_err());
    }
}
