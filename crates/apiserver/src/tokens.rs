//! Service-account JWTs: the RS256 signing key, issuing bound tokens and checking them.
//!
//! Mirrors `kubernetes/kubernetes:pkg/serviceaccount/claims.go` and `jwt.go` (FIDELITY.md §4):
//! header `{"alg":"RS256","kid":...}`, claims serialized with sorted keys as go-jose does,
//! the 3607-second request extended to a year with `warnafter`. Checking that the bound
//! objects still exist is the caller's job (`authn`), since it needs the store.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};

/// `--service-account-issuer` on k3s.
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// `--api-audiences` on k3s: the issuer and the program name.
pub const API_AUDIENCES: &[&str] = &["https://kubernetes.default.svc.cluster.local", "k3s"];
/// `WarnOnlyBoundTokenExpirationSeconds` (60*60+7).
pub const WARN_ONLY_EXPIRATION_SECONDS: i64 = 3607;
/// `ExpirationExtensionSeconds` (24*365*60*60).
pub const EXTENDED_EXPIRATION_SECONDS: i64 = 24 * 365 * 60 * 60;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token issuer {0:?} is not this cluster's")]
    WrongIssuer(String),
    #[error("token audiences {0:?} do not include this server's")]
    WrongAudience(Vec<String>),
    #[error("signing key generation failed")]
    KeyGen(#[source] rsa::Error),
}

/// The RS256 key pair; generated once per cluster on a background thread.
pub struct SaKey {
    signing: SigningKey<Sha256>,
    verifying: VerifyingKey<Sha256>,
    kid: String,
    private_pem: String,
}

impl std::fmt::Debug for SaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SaKey {
    fn generate() -> Result<SaKey, TokenError> {
        let private =
            RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(TokenError::KeyGen)?;
        let public = RsaPublicKey::from(&private);
        let der = public
            .to_public_key_der()
            .expect("an RSA public key always encodes as PKIX DER");
        // `keyIDFromPublicKey`: base64url(sha256(PKIX DER)) without padding.
        let kid = B64.encode(Sha256::digest(der.as_bytes()));
        let private_pem = private
            .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .expect("an RSA private key always encodes as PKCS#8")
            .to_string();
        Ok(SaKey {
            signing: SigningKey::<Sha256>::new(private),
            verifying: VerifyingKey::<Sha256>::new(public),
            kid,
            private_pem,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JSON Web Key, as `/openid/v1/jwks` lists it: go-jose's field
    /// order (`use`, `kty`, `kid`, `alg`, `n`, `e`), `use: sig` and the key id
    /// (`pkg/serviceaccount/openidmetadata.go`, `publicJWKSFromKeys`); `n` and `e` are the
    /// big-endian modulus and exponent, base64url without padding.
    pub fn jwk(&self) -> Value {
        use rsa::traits::PublicKeyParts;
        let public: &RsaPublicKey = self.verifying.as_ref();
        json!({
            "use": "sig",
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "n": B64.encode(public.n().to_bytes_be()),
            "e": B64.encode(public.e().to_bytes_be()),
        })
    }

    /// The private key as PKCS#8 PEM (for tests that forge tokens with the right key).
    pub fn private_pem(&self) -> &str {
        &self.private_pem
    }
}

/// The signing key could not be made.
#[derive(Debug, Clone, thiserror::Error)]
#[error("generating the service-account signing key: {0}")]
pub struct KeyError(String);

/// A handle on the signing key that starts generating it at once and waits only when used.
#[derive(Clone, Debug, Default)]
pub struct KeyCell(Arc<OnceLock<Result<SaKey, KeyError>>>);

impl KeyCell {
    /// Starts RSA key generation on a background thread.
    pub fn spawn() -> KeyCell {
        let cell = KeyCell::default();
        let bg = cell.clone();
        std::thread::Builder::new()
            .name("sa-keygen".into())
            .spawn(move || {
                bg.0.get_or_init(|| SaKey::generate().map_err(|e| KeyError(e.to_string())));
            })
            .expect("spawning a thread");
        cell
    }

    /// The key, waiting (off the async executor) for generation to finish.
    pub async fn get(&self) -> Result<&SaKey, KeyError> {
        if let Some(k) = self.0.get() {
            return k.as_ref().map_err(Clone::clone);
        }
        let cell = self.0.clone();
        tokio::task::spawn_blocking(move || {
            cell.get_or_init(|| SaKey::generate().map_err(|e| KeyError(e.to_string())));
        })
        .await
        .map_err(|e| KeyError(e.to_string()))?;
        self.0
            .get()
            .expect("initialised above")
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// An object reference inside the `kubernetes.io` claim.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Ref {
    pub name: String,
    pub uid: String,
}

/// What a token is bound to, and for how long.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    pub namespace: String,
    pub service_account: Ref,
    pub pod: Option<Ref>,
    pub node: Option<Ref>,
    pub audiences: Vec<String>,
    pub expiration_seconds: i64,
}

/// The `kubernetes.io` private claim.
#[derive(Debug, Clone, Deserialize)]
pub struct KubernetesClaim {
    pub namespace: String,
    pub serviceaccount: Ref,
    #[serde(default)]
    pub pod: Option<Ref>,
    #[serde(default)]
    pub node: Option<Ref>,
    #[serde(default)]
    pub warnafter: Option<i64>,
}

/// The claims this server checks.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub iss: String,
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    pub exp: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
    pub iat: i64,
    pub sub: String,
    #[serde(default)]
    pub jti: Option<String>,
    #[serde(rename = "kubernetes.io")]
    pub kubernetes: KubernetesClaim,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// An issued token and its real expiry (seconds since the epoch).
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    pub expires_at: i64,
}

/// Signs a token for `spec` at time `now` (seconds since the epoch).
pub fn issue(key: &SaKey, spec: &TokenSpec, now: i64) -> Issued {
    let mut exp = now + spec.expiration_seconds;
    let mut warnafter = None;
    // `claims.go`: a pod-bound token requested for exactly 3607 s, for the API server's own
    // audiences, is extended to a year with `warnafter` at the requested expiry
    // (`--service-account-extend-token-expiration`, on by default).
    let for_api = spec
        .audiences
        .iter()
        .all(|a| API_AUDIENCES.contains(&a.as_str()));
    if spec.pod.is_some() && spec.expiration_seconds == WARN_ONLY_EXPIRATION_SECONDS && for_api {
        warnafter = Some(exp);
        exp = now + EXTENDED_EXPIRATION_SECONDS;
    }
    let r = |r: &Ref| json!({"name": r.name, "uid": r.uid});
    // Keys in sorted order: go-jose marshals the claims through a map.
    let mut k8s = serde_json::Map::new();
    k8s.insert("namespace".into(), json!(spec.namespace));
    if let Some(node) = &spec.node {
        k8s.insert("node".into(), r(node));
    }
    if let Some(pod) = &spec.pod {
        k8s.insert("pod".into(), r(pod));
    }
    k8s.insert("serviceaccount".into(), r(&spec.service_account));
    if let Some(w) = warnafter {
        k8s.insert("warnafter".into(), json!(w));
    }
    let claims = json!({
        "aud": spec.audiences,
        "exp": exp,
        "iat": now,
        "iss": ISSUER,
        "jti": uuid::Uuid::new_v4().to_string(),
        "kubernetes.io": Value::Object(k8s),
        "nbf": now,
        "sub": format!("system:serviceaccount:{}:{}", spec.namespace, spec.service_account.name),
    });
    Issued {
        token: sign(key, &claims),
        expires_at: exp,
    }
}

/// Signs arbitrary claims with the cluster key (also used by tests to forge bad tokens).
pub fn sign(key: &SaKey, claims: &Value) -> String {
    let header = json!({"alg": "RS256", "kid": key.kid});
    let signing_input = format!(
        "{}.{}",
        B64.encode(serde_json::to_vec(&header).expect("json")),
        B64.encode(serde_json::to_vec(claims).expect("json"))
    );
    let sig = key.signing.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", B64.encode(sig.to_bytes()))
}

/// Checks signature, issuer, audience and time of a token. `now` is seconds since the epoch.
pub fn verify(key: &SaKey, token: &str, now: i64) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header: Value = B64
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(TokenError::Malformed)?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(TokenError::BadSignature);
    }
    let sig_bytes = B64.decode(s).map_err(|_| TokenError::Malformed)?;
    let sig = Signature::try_from(sig_bytes.as_slice()).map_err(|_| TokenError::BadSignature)?;
    let signing_input = &token[..h.len() + 1 + p.len()];
    key.verifying
        .verify(signing_input.as_bytes(), &sig)
        .map_err(|_| TokenError::BadSignature)?;
    let payload = B64.decode(p).map_err(|_| TokenError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
    if claims.iss != ISSUER {
        return Err(TokenError::WrongIssuer(claims.iss));
    }
    if !claims
        .aud
        .iter()
        .any(|a| API_AUDIENCES.contains(&a.as_str()))
    {
        return Err(TokenError::WrongAudience(claims.aud));
    }
    if now >= claims.exp {
        return Err(TokenError::Expired);
    }
    if let Some(nbf) = claims.nbf
        && now < nbf
    {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests;
