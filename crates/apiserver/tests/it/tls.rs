//! `kube` over TLS with the admin kubeconfig, and bearer tokens from TokenRequest.

use super::admin_client;
use super::clients::cluster;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, Config};

async fn token_client(c: &apiserver::Cluster, token: &str) -> Client {
    let mut config = Config::new(c.url().parse().unwrap());
    config.root_cert = Some(vec![c.pki().server_ca.cert_der.to_vec()]);
    config.auth_info.token = Some(token.to_string().into());
    Client::try_from(config).unwrap()
}

#[tokio::test]
async fn admin_over_tls() {
    let c = cluster().await;
    let client = admin_client(&c).await;
    let ns: Api<Namespace> = Api::all(client.clone());
    assert_eq!(
        ns.list(&ListParams::default()).await.unwrap().items.len(),
        4
    );
    let info = client.apiserver_version().await.unwrap();
    assert_eq!((info.major.as_str(), info.minor.as_str()), ("1", "33"));
}

/// A fresh token of `default/default`, through TokenRequest.
async fn default_token(sas: &Api<ServiceAccount>) -> String {
    let tr: TokenRequest = sas
        .create_subresource(
            "token",
            "default",
            &PostParams::default(),
            &serde_json::json!({
                "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}
            }),
        )
        .await
        .unwrap();
    tr.status.unwrap().token
}

#[tokio::test]
async fn service_account_token_authenticates_and_rbac_applies() {
    let c = cluster().await;
    let admin = admin_client(&c).await;
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), "default");
    let token = default_token(&sas).await;
    let client = token_client(&c, &token).await;
    // Discovery is open to every authenticated user.
    client.apiserver_version().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let kube::Error::Api(status) = pods.list(&ListParams::default()).await.unwrap_err() else {
        panic!("expected a Status")
    };
    assert_eq!(status.code, 403);

    // Deleting the ServiceAccount invalidates its tokens: 401 for one not used before; the
    // one used above is in the token cache, trusted for 10 s more as kube-apiserver does.
    let unused = default_token(&sas).await;
    sas.delete("default", &Default::default()).await.unwrap();
    let unused = token_client(&c, &unused).await;
    let kube::Error::Api(status) = unused.apiserver_version().await.unwrap_err() else {
        panic!("expected a Status")
    };
    assert_eq!(status.code, 401);
    client.apiserver_version().await.unwrap();
}

#[tokio::test]
async fn garbage_and_foreign_tokens_are_401() {
    let c = cluster().await;
    for token in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let client = token_client(&c, token).await;
        let kube::Error::Api(status) = client.apiserver_version().await.unwrap_err() else {
            panic!("expected a Status for {token}")
        };
        assert_eq!(
            (status.code, status.message.as_str()),
            (401, "Unauthorized"),
            "{token}"
        );
    }
}

#[tokio::test]
async fn unix_socket_serves_tls_with_client_certs() {
    use http_body_util::{BodyExt, Empty};
    let dir = super::clients::temp_dir();
    let sock = dir.path().join("apiserver.sock");
    let c = apiserver::Cluster::start(apiserver::Config {
        socket: Some(sock.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    let pki = c.pki();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.server_ca.cert_der.clone()).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![pki.admin.cert_der.clone()], pki.admin.key_der())
        .unwrap();
    let stream = tokio::net::UnixStream::connect(&sock).await.unwrap();
    // Pods reach the server as `kubernetes.default.svc`; the name is on the certificate.
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect("kubernetes.default.svc".try_into().unwrap(), stream)
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = http::Request::builder()
        .uri("/api/v1/namespaces/default/serviceaccounts/default")
        .header("host", "kubernetes.default.svc")
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let sa: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(sa["metadata"]["name"], "default");
    c.shutdown().await;
    assert!(!sock.exists());
}

/// A client with the certificate `cert` (and its key), sending `headers` on every request.
fn cert_client(c: &apiserver::Cluster, cert: &apiserver::pki::KeyedCert) -> Client {
    let mut config = Config::new(c.url().parse().unwrap());
    config.root_cert = Some(vec![c.pki().server_ca.cert_der.to_vec()]);
    config.auth_info.client_certificate_data = Some(base64_of(cert.cert_pem.as_bytes()));
    config.auth_info.client_key_data = Some(base64_of(cert.key_pem.as_bytes()).into());
    Client::try_from(config).unwrap()
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `(status, body)` of a SelfSubjectReview sent with `headers`.
async fn whoami(client: &Client, headers: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let mut request = http::Request::post("/apis/authentication.k8s.io/v1/selfsubjectreviews")
        .header("Content-Type", "application/json");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let request = request
        .body(br#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#.to_vec())
        .unwrap();
    let response = client.send(request.map(Into::into)).await.unwrap();
    let status = response.status().as_u16();
    use http_body_util::BodyExt;
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

/// An authenticating proxy (a certificate of the request-header CA, for an allowed name)
/// names the user in `X-Remote-*` headers; without a user, or for a name not allowed, the
/// request is anonymous and refused, and the proxy's own name is never the user.
#[tokio::test]
async fn an_authenticating_proxy_names_the_user() {
    let c = cluster().await;
    let proxy = cert_client(&c, &c.pki().proxy_cert("system:auth-proxy").unwrap());
    let (status, review) = whoami(
        &proxy,
        &[
            ("X-Remote-User", "alice"),
            ("X-Remote-Group", "devs"),
            ("X-Remote-Group", "ops"),
            ("X-Remote-Extra-Scopes", "read"),
            ("X-Remote-Extra-Acme.com%2Fteam", "blue"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{review}");
    assert_eq!(
        review["status"]["userInfo"],
        serde_json::json!({
            "username": "alice",
            "groups": ["devs", "ops", "system:authenticated"],
            "extra": {"acme.com/team": ["blue"], "scopes": ["read"]},
        })
    );
    assert_eq!(whoami(&proxy, &[]).await.0, 401);
    let stranger = cert_client(&c, &c.pki().proxy_cert("someone").unwrap());
    assert_eq!(
        whoami(&stranger, &[("X-Remote-User", "alice")]).await.0,
        401
    );
    // A client certificate's user ignores the headers.
    let admin = admin_client(&c).await;
    let (_, review) = whoami(&admin, &[("X-Remote-User", "alice")]).await;
    assert_eq!(review["status"]["userInfo"]["username"], "system:admin");
}
