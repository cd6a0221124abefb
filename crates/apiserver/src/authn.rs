//! Authentication: client certificates signed by the client CA, and service-account bearer
//! tokens whose bound objects still exist. Anonymous access is off, as on k3s
//! (`anonymous-auth=false`), so a request with neither gets the 401 Status.
//!
//! Token checks mirror `pkg/serviceaccount/claims.go` (`Validate`): the ServiceAccount must
//! exist with the token's uid, and a pod-bound token's pod too, not being deleted. Why a
//! token failed goes to the log only; the client sees `Unauthorized`, as upstream.

use crate::discovery::DISCOVERY;
use crate::registry::Registry;
use crate::tokens::{self, Claims, KeyCell};
use crate::user::UserInfo;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    #[error(transparent)]
    Token(#[from] tokens::TokenError),
    #[error("service account token has been invalidated")]
    Invalidated,
    #[error("service account UID ({stored}) does not match claim ({claimed})")]
    ServiceAccountUid { stored: String, claimed: String },
    #[error("pod UID ({stored}) does not match service account pod ref claim ({claimed})")]
    PodUid { stored: String, claimed: String },
    #[error("signing key unavailable: {0}")]
    Key(#[from] crate::tokens::KeyError),
}

fn uid(obj: &Value) -> &str {
    obj.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Checks a bearer token and returns the service account's user.
pub async fn bearer(reg: &Registry, keys: &KeyCell, token: &str) -> Result<UserInfo, AuthnError> {
    let key = keys.get().await?;
    let now = jiff::Timestamp::now().as_second();
    let claims: Claims = tokens::verify(key, token, now)?;
    let k = &claims.kubernetes;
    let sa = reg
        .find(
            DISCOVERY.served("", "serviceaccounts"),
            &k.namespace,
            &k.serviceaccount.name,
        )
        .ok_or(AuthnError::Invalidated)?;
    if uid(&sa) != k.serviceaccount.uid {
        return Err(AuthnError::ServiceAccountUid {
            stored: uid(&sa).into(),
            claimed: k.serviceaccount.uid.clone(),
        });
    }
    let mut user =
        UserInfo::service_account(&k.namespace, &k.serviceaccount.name, &k.serviceaccount.uid);
    if let Some(pod_ref) = &k.pod {
        let pod = reg
            .find(DISCOVERY.served("", "pods"), &k.namespace, &pod_ref.name)
            .ok_or(AuthnError::Invalidated)?;
        if uid(&pod) != pod_ref.uid {
            return Err(AuthnError::PodUid {
                stored: uid(&pod).into(),
                claimed: pod_ref.uid.clone(),
            });
        }
        if pod
            .pointer("/metadata/deletionTimestamp")
            .is_some_and(|d| !d.is_null())
        {
            // Upstream allows a 60 s leeway after deletionTimestamp; the embedded kubelet
            // removes deleted pods within their grace period, so any deleting pod is gone.
            return Err(AuthnError::Invalidated);
        }
        user.extra.insert(
            "authentication.kubernetes.io/pod-name".into(),
            vec![pod_ref.name.clone()],
        );
        user.extra.insert(
            "authentication.kubernetes.io/pod-uid".into(),
            vec![pod_ref.uid.clone()],
        );
    }
    if let Some(node) = &k.node {
        user.extra.insert(
            "authentication.kubernetes.io/node-name".into(),
            vec![node.name.clone()],
        );
        user.extra.insert(
            "authentication.kubernetes.io/node-uid".into(),
            vec![node.uid.clone()],
        );
    }
    if let Some(jti) = &claims.jti {
        user.extra.insert(
            "authentication.kubernetes.io/credential-id".into(),
            vec![format!("JTI={jti}")],
        );
    }
    Ok(user)
}

/// Who a verified client certificate speaks for.
pub enum Peer {
    /// A certificate of the client CA: its user.
    User(UserInfo),
    /// A certificate of the request-header CA: an authenticating proxy of this name,
    /// which names the user in `X-Remote-*` headers (`request_header`).
    Proxy(String),
}

/// The peer of a client certificate the TLS layer verified against the client CA and the
/// request-header CA (`request_header_ca`, DER): which one signed it is the one whose
/// subject is its issuer.
pub fn peer(der: &[u8], request_header_ca: &[u8]) -> Option<Peer> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let (_, ca) = X509Certificate::from_der(request_header_ca).ok()?;
    if cert.issuer().as_raw() == ca.subject().as_raw() {
        let cn = cert.subject().iter_common_name().next()?.as_str().ok()?;
        return Some(Peer::Proxy(cn.to_string()));
    }
    from_certificate(der).map(Peer::User)
}

/// The user an authenticating proxy names (`k8s.io/apiserver
/// pkg/authentication/request/headerrequest/requestheader.go`): the first non-empty
/// `X-Remote-User`, every `X-Remote-Group`, and each `X-Remote-Extra-<key>` (the key
/// unescaped and lower-cased), from the request's `x-remote-*` headers (names lower-case);
/// `None` when the proxy is not allowed or names nobody, and the next authenticator is
/// asked. The certificate's own identity is never the user.
pub fn request_header(proxy: &str, headers: &[(String, String)]) -> Option<UserInfo> {
    if !crate::pki::REQUEST_HEADER_ALLOWED_NAMES.contains(&proxy) {
        tracing::info!(
            proxy,
            "request header authentication: the proxy is not in the allowed names"
        );
        return None;
    }
    fn values<'a>(headers: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
        headers
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    let name = values(headers, "x-remote-user").find(|v| !v.is_empty())?;
    let groups: Vec<&str> = values(headers, "x-remote-group").collect();
    let mut user = UserInfo::authenticated(name, &groups);
    for (header, value) in headers {
        if let Some(key) = header.strip_prefix("x-remote-extra-") {
            // `url.PathUnescape`; a malformed escape stays as written.
            let key = percent_encoding::percent_decode_str(key)
                .decode_utf8_lossy()
                .to_lowercase();
            user.extra.entry(key).or_default().push(value.clone());
        }
    }
    Some(user)
}

/// The user named by a verified client certificate: CN is the user, each O a group.
pub fn from_certificate(der: &[u8]) -> Option<UserInfo> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_string();
    let groups: Vec<&str> = cert
        .subject()
        .iter_organization()
        .filter_map(|o| o.as_str().ok())
        .collect();
    let mut user = UserInfo::authenticated(&cn, &groups);
    // The certificate's fingerprint as the credential id (k8s.io/apiserver
    // pkg/authentication/request/x509/x509.go, `CommonNameUserConversion`).
    use sha2::Digest;
    let fingerprint: String = sha2::Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    user.extra.insert(
        "authentication.kubernetes.io/credential-id".into(),
        vec![format!("X509SHA256={fingerprint}")],
    );
    Some(user)
}

/// kube-apiserver's token authentication cache: a token that authenticated is trusted for
/// 10 s without checking it again; failures are not cached (`tokencache.New(..., 10s, 0)`
/// in kubernetes pkg/kubeapiserver/authenticator/config.go, with
/// k8s.io/apiserver pkg/authentication/token/cache). So, as upstream, a deleted
/// ServiceAccount's or pod's token works for up to 10 s more.
#[derive(Debug, Default)]
pub struct TokenCache(std::sync::Mutex<std::collections::HashMap<[u8; 32], Cached>>);

#[derive(Debug, Clone)]
struct Cached {
    user: std::sync::Arc<UserInfo>,
    until: std::time::Instant,
}

const SUCCESS_TTL: std::time::Duration = std::time::Duration::from_secs(10);
/// Beyond this many entries, expired ones are dropped when a new one comes.
const CACHE_SWEEP_AT: usize = 4096;

impl TokenCache {
    /// The user `token` authenticates as: from the cache while fresh, else `bearer`.
    pub async fn bearer(
        &self,
        reg: &Registry,
        keys: &KeyCell,
        token: &str,
    ) -> Result<std::sync::Arc<UserInfo>, AuthnError> {
        use sha2::Digest;
        let key: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let now = std::time::Instant::now();
        if let Some(hit) = self.lock().get(&key).filter(|c| c.until > now) {
            return Ok(hit.user.clone());
        }
        let user = std::sync::Arc::new(bearer(reg, keys, token).await?);
        let mut cache = self.lock();
        if cache.len() >= CACHE_SWEEP_AT {
            cache.retain(|_, c| c.until > now);
        }
        cache.insert(
            key,
            Cached {
                user: user.clone(),
                until: now + SUCCESS_TTL,
            },
        );
        Ok(user)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<[u8; 32], Cached>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
