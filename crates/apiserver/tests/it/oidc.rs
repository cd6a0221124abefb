//! Service-account issuer discovery: the OIDC metadata and the JWKS that verifies the
//! tokens this cluster signs, readable by every service account.

use super::clients::{cluster, request};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use serde_json::Value;
use tower::ServiceExt;

#[tokio::test]
async fn the_jwks_verifies_a_token_the_cluster_signed() {
    let c = cluster().await;
    let (code, config) = request(&c, "GET", "/.well-known/openid-configuration", &[], "").await;
    assert_eq!(code, 200);
    // The advertised address, k3s's node IP and port 6443, whatever port this one has.
    assert_eq!(
        config,
        r#"{"issuer":"https://kubernetes.default.svc.cluster.local","jwks_uri":"https://10.42.0.1:6443/openid/v1/jwks","response_types_supported":["id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256"]}"#
    );

    assert_eq!(
        request(&c, "POST", "/.well-known/openid-configuration", &[], "").await,
        (405, "POST method is not allowed\n".to_string())
    );

    let (code, token) = request(
        &c,
        "POST",
        "/api/v1/namespaces/default/serviceaccounts/default/token",
        &[("content-type", "application/json")],
        r#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}"#,
    )
    .await;
    assert_eq!(code, 201, "{token}");
    let token: Value = serde_json::from_str(&token).unwrap();
    let jwt = token["status"]["token"].as_str().unwrap();
    let mut parts = jwt.split('.');
    let (h, p, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let header: Value = serde_json::from_slice(&B64.decode(h).unwrap()).unwrap();

    // A service account may read the keys (system:service-account-issuer-discovery).
    let sa = apiserver::UserInfo::service_account("default", "default", "x");
    let req = http::Request::get("/openid/v1/jwks")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = c.service_as(sa).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/jwk-set+json");
    assert_eq!(resp.headers()["cache-control"], "public, max-age=3600");
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let jwks: Value = serde_json::from_slice(&body).unwrap();
    let key = &jwks["keys"][0];
    let fields: Vec<&String> = key.as_object().unwrap().keys().collect();
    assert_eq!(fields, ["use", "kty", "kid", "alg", "n", "e"]);
    assert_eq!(key["kid"], header["kid"]);
    assert_eq!(key["e"], "AQAB");

    let n = rsa::BigUint::from_bytes_be(&B64.decode(key["n"].as_str().unwrap()).unwrap());
    let e = rsa::BigUint::from_bytes_be(&B64.decode(key["e"].as_str().unwrap()).unwrap());
    let public = rsa::RsaPublicKey::new(n, e).unwrap();
    let verifier = VerifyingKey::<sha2::Sha256>::new(public);
    let signature = Signature::try_from(B64.decode(s).unwrap().as_slice()).unwrap();
    verifier
        .verify(format!("{h}.{p}").as_bytes(), &signature)
        .expect("the published key verifies the token");
}
