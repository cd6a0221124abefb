//! `kube` over TLS with the admin kubeconfig, and bearer tokens from TokenRequest.

use super::clients::cluster;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

async fn admin_client(c: &apiserver::Cluster) -> Client {
    let kc = Kubeconfig::from_yaml(&c.admin_kubeconfig()).unwrap();
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

async fn token_client(c: &apiserver::Cluster, token: &str) -> Client {
    let mut config = Config::new(c.url().parse().unwrap());
    config.root_cert = Some(vec![c.state.pki.server_ca.cert_der.to_vec()]);
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

#[tokio::test]
async fn service_account_token_authenticates_and_rbac_applies() {
    let c = cluster().await;
    let admin = admin_client(&c).await;
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), "default");
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
    let token = tr.status.unwrap().token;
    let client = token_client(&c, &token).await;
    // Discovery is open to every authenticated user.
    client.apiserver_version().await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let kube::Error::Api(status) = pods.list(&ListParams::default()).await.unwrap_err() else {
        panic!("expected a Status")
    };
    assert_eq!(status.code, 403);

    // Deleting the ServiceAccount invalidates its tokens: 401.
    sas.delete("default", &Default::default()).await.unwrap();
    let kube::Error::Api(status) = client.apiserver_version().await.unwrap_err() else {
        panic!("expected a Status")
    };
    assert_eq!(status.code, 401);
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
