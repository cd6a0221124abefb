//! Bad input gets the upstream Status, never a panic or a 500: every bad-token class, and
//! malformed, unknown-field, unknown-path and wrong-verb requests.

use super::clients::{cluster, raw};
use apiserver::UserInfo;
use apiserver::tokens::{self, API_AUDIENCES, ISSUER};
use serde_json::{Value, json};

async fn status_of(c: &apiserver::Cluster, token: &str) -> u16 {
    let mut config = kube::Config::new(c.url().parse().unwrap());
    config.root_cert = Some(vec![c.pki().server_ca.cert_der.to_vec()]);
    config.auth_info.token = Some(token.to_string().into());
    let client = kube::Client::try_from(config).unwrap();
    match client.apiserver_version().await {
        Ok(_) => 200,
        Err(kube::Error::Api(s)) => {
            assert_eq!(
                s.message,
                if s.code == 401 {
                    "Unauthorized"
                } else {
                    s.message.as_str()
                }
            );
            s.code
        }
        Err(e) => panic!("expected a Status, got {e}"),
    }
}

/// The uid of a core object, read as the admin reads it.
async fn uid(c: &apiserver::Cluster, resource: &str, ns: &str, name: &str) -> String {
    let client = kube::Client::new(c.service_as(UserInfo::admin()), "default");
    let req = http::Request::get(format!("/api/v1/namespaces/{ns}/{resource}/{name}"))
        .body(Vec::new())
        .unwrap();
    let v: Value = client.request(req).await.unwrap();
    v["metadata"]["uid"].as_str().unwrap().to_string()
}

fn claims(sa_uid: &str, now: i64) -> Value {
    json!({
        "aud": API_AUDIENCES, "exp": now + 3600, "iat": now, "iss": ISSUER, "jti": "x", "nbf": now,
        "kubernetes.io": {"namespace": "default", "serviceaccount": {"name": "default", "uid": sa_uid}},
        "sub": "system:serviceaccount:default:default",
    })
}

#[tokio::test]
async fn every_bad_token_class_is_401() {
    let c = cluster().await;
    let sa_uid = uid(&c, "serviceaccounts", "default", "default").await;
    let key = c.service_account_key().await.unwrap();
    let now = jiff::Timestamp::now().as_second();
    let good = tokens::sign(key, &claims(&sa_uid, now));
    assert_eq!(
        status_of(&c, &good).await,
        200,
        "the control token must work"
    );

    let mut expired = claims(&sa_uid, now - 7200);
    expired["exp"] = json!(now - 10);
    let mut not_yet = claims(&sa_uid, now);
    not_yet["nbf"] = json!(now + 3600);
    let mut wrong_aud = claims(&sa_uid, now);
    wrong_aud["aud"] = json!(["https://vault.example"]);
    let mut wrong_iss = claims(&sa_uid, now);
    wrong_iss["iss"] = json!("https://other.example");
    let mut wrong_sa_uid = claims(&sa_uid, now);
    wrong_sa_uid["kubernetes.io"]["serviceaccount"]["uid"] =
        json!("00000000-0000-0000-0000-000000000000");
    let mut tampered = good.clone();
    tampered.truncate(tampered.len() - 4);
    tampered.push_str("AAAA");
    let cases = [
        ("garbage", "garbage".to_string()),
        ("wrong signature", tampered),
        ("expired", tokens::sign(key, &expired)),
        ("not yet valid", tokens::sign(key, &not_yet)),
        ("wrong audience", tokens::sign(key, &wrong_aud)),
        ("wrong issuer", tokens::sign(key, &wrong_iss)),
        (
            "recreated service account",
            tokens::sign(key, &wrong_sa_uid),
        ),
    ];
    for (class, token) in cases {
        assert_eq!(status_of(&c, &token).await, 401, "{class}");
    }
}

#[tokio::test]
async fn deleted_pod_and_service_account_invalidate_tokens() {
    let c = cluster().await;
    let sa_uid = uid(&c, "serviceaccounts", "default", "default").await;
    let admin = kube::Client::new(c.service_as(UserInfo::admin()), "default");
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(admin.clone(), "default");
    pods.create(
        &Default::default(),
        &serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}})).unwrap(),
    )
    .await
    .unwrap();
    let key = c.service_account_key().await.unwrap();
    let now = jiff::Timestamp::now().as_second();
    let mut bound = claims(&sa_uid, now);
    bound["kubernetes.io"]["pod"] =
        json!({"name": "p", "uid": uid(&c, "pods", "default", "p").await});
    let token = tokens::sign(key, &bound);
    assert_eq!(status_of(&c, &token).await, 200);
    let mut wrong_pod_uid = bound.clone();
    wrong_pod_uid["kubernetes.io"]["pod"]["uid"] = json!("other");
    assert_eq!(status_of(&c, &tokens::sign(key, &wrong_pod_uid)).await, 401);
    // Another token for the same pod, not used yet, so not in the token cache.
    let mut unused = bound.clone();
    unused["jti"] = json!("unused");
    let unused = tokens::sign(key, &unused);
    pods.delete("p", &Default::default()).await.unwrap();
    assert_eq!(status_of(&c, &unused).await, 401, "deleted pod");
    // As kube-apiserver, a token that authenticated is trusted for 10 s more (its token
    // cache's success TTL): the one used above still works for now.
    assert_eq!(status_of(&c, &token).await, 200, "cached for 10 s");

    let plain = tokens::sign(key, &claims(&sa_uid, now));
    assert_eq!(status_of(&c, &plain).await, 200);
    let mut fresh = claims(&sa_uid, now);
    fresh["jti"] = json!("fresh");
    let fresh = tokens::sign(key, &fresh);
    let sas: kube::Api<k8s_openapi::api::core::v1::ServiceAccount> =
        kube::Api::namespaced(admin, "default");
    sas.delete("default", &Default::default()).await.unwrap();
    assert_eq!(status_of(&c, &fresh).await, 401, "deleted service account");
    assert_eq!(status_of(&c, &plain).await, 200, "cached for 10 s");
}

#[tokio::test]
async fn malformed_bodies_are_400_with_a_status() {
    let c = cluster().await;
    let cms = "/api/v1/namespaces/default/configmaps";
    for (ct, body) in [
        ("application/json", "{not json"),
        ("application/json", ""),
        ("application/json", "[1,2]"),
        ("application/yaml", "a: [unclosed"),
        ("application/vnd.kubernetes.protobuf", "not protobuf"),
    ] {
        let (code, status) = raw(&c, "POST", cms, ct, body).await;
        assert_eq!(code, 400, "{ct} {body:?}: {status}");
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["reason"], "BadRequest");
    }
    let (code, status) = raw(&c, "POST", cms, "text/plain", "x").await;
    assert_eq!(
        (code, status["reason"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );
    assert_eq!(
        status["message"],
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf"
    );
    let (code, status) = raw(
        &c,
        "PATCH",
        &format!("{cms}/kube-root-ca.crt"),
        "application/apply-patch+cbor",
        "x",
    )
    .await;
    // The PATCH route consumes only the patch types: go-restful refuses before the handler.
    assert_eq!(code, 415);
    assert_eq!(status["message"], "415: Unsupported Media Type");
    assert_eq!(status["details"], serde_json::json!({}));
    // A wrong type for a field.
    let (code, status) = raw(
        &c,
        "POST",
        cms,
        "application/json",
        r#"{"metadata":{"name":3}}"#,
    )
    .await;
    assert_eq!(code, 400, "{status}");
}

#[tokio::test]
async fn unknown_fields_follow_field_validation() {
    let c = cluster().await;
    let body = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"dta":{"a":"b"}}"#;
    let (code, status) = raw(
        &c,
        "POST",
        "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
        "application/json",
        body,
    )
    .await;
    assert_eq!(code, 400);
    // As kube-apiserver words it (`transformDecodeError`, handlers/rest.go).
    assert_eq!(
        status["message"],
        r#"ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dta""#
    );
    let (code, obj) = raw(
        &c,
        "POST",
        "/api/v1/namespaces/default/configmaps?fieldValidation=Ignore",
        "application/json",
        body,
    )
    .await;
    assert_eq!(code, 201);
    assert!(obj.get("dta").is_none());
    let (code, status) = raw(
        &c,
        "POST",
        "/api/v1/namespaces/default/configmaps?fieldValidation=Nope",
        "application/json",
        body,
    )
    .await;
    assert_eq!(code, 400, "{status}");
}

#[tokio::test]
async fn unknown_paths_and_wrong_verbs() {
    let c = cluster().await;
    // An unknown resource under a served group version: the go-restful Status.
    let (code, status) = raw(&c, "GET", "/api/v1/namespaces/default/widgets", "", "").await;
    assert_eq!(
        (code, status["message"].as_str()),
        (
            404,
            Some("the server could not find the requested resource")
        )
    );
    assert_eq!(status["details"], json!({}));
    // An unknown group: Go's plain-text 404.
    let (code, body) = raw(&c, "GET", "/apis/nonexistent.group/v1/things", "", "").await;
    assert_eq!(
        (code, body),
        (404, Value::String("404 page not found\n".into()))
    );
    // A verb the resource does not have: namespaces have no deletecollection.
    let (code, status) = raw(&c, "DELETE", "/api/v1/namespaces", "", "").await;
    assert_eq!(code, 405, "{status}");
    assert_eq!(status["reason"], "MethodNotAllowed");
    // Names that are not valid: 422 with causes.
    let (code, status) = raw(
        &c,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        r#"{"metadata":{"name":"Bad_Name"}}"#,
    )
    .await;
    assert_eq!(code, 422);
    assert_eq!(status["details"]["causes"][0]["field"], "metadata.name");
    // A missing object.
    let (code, status) = raw(
        &c,
        "GET",
        "/api/v1/namespaces/default/configmaps/nope",
        "",
        "",
    )
    .await;
    assert_eq!(
        (code, status["message"].as_str()),
        (404, Some("configmaps \"nope\" not found"))
    );
}
