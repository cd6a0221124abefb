//! The server driven in-process through `kube::Client` (no socket, no TLS).

use super::clients::cluster;
use apiserver::UserInfo;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};

#[tokio::test]
async fn crud_through_kube_in_process() {
    let c = cluster().await;
    let client = Client::new(c.service_as(UserInfo::admin()), "default");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let names: Vec<String> = namespaces
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert_eq!(
        names,
        ["default", "kube-node-lease", "kube-public", "kube-system"]
    );

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let mut cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "settings"}, "data": {"a": "1"}
    }))
    .unwrap();
    let created = cms.create(&PostParams::default(), &cm).await.unwrap();
    assert!(created.metadata.uid.is_some());
    let err = cms.create(&PostParams::default(), &cm).await.unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected a Status")
    };
    assert_eq!(
        (status.code, status.reason.as_str()),
        (409, "AlreadyExists")
    );

    // Optimistic concurrency: a stale resourceVersion is a 409 Conflict.
    cm.metadata.resource_version = Some("1".into());
    let err = cms
        .replace("settings", &PostParams::default(), &cm)
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected a Status")
    };
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));

    let patched = cms
        .patch(
            "settings",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"data": {"b": "2"}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap().len(), 2);

    let applied = cms
        .patch(
            "applied",
            &PatchParams::apply("kubelab-test"),
            &Patch::Apply(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"x": "y"}})),
        )
        .await
        .unwrap();
    assert_eq!(applied.data.unwrap()["x"], "y");

    cms.delete("settings", &DeleteParams::default())
        .await
        .unwrap();
    let err = cms.get("settings").await.unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected a Status")
    };
    assert_eq!(status.message, "configmaps \"settings\" not found");
}

#[tokio::test]
async fn every_namespace_gets_default_service_account_and_root_ca() {
    let c = cluster().await;
    let client = Client::new(c.service_as(UserInfo::admin()), "default");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": "lab"}})).unwrap(),
        )
        .await
        .unwrap();
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "lab");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "lab");
    // The controllers run asynchronously; give them a moment.
    for _ in 0..500 {
        if sas.get_opt("default").await.unwrap().is_some()
            && cms.get_opt("kube-root-ca.crt").await.unwrap().is_some()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(sas.get_opt("default").await.unwrap().is_some());
    let ca = cms.get("kube-root-ca.crt").await.unwrap();
    assert_eq!(ca.data.unwrap()["ca.crt"], c.pki().server_ca.cert_pem);
}

#[tokio::test]
async fn service_account_is_denied_by_default_rbac() {
    let c = cluster().await;
    let sa = UserInfo::service_account("default", "default", "x");
    let client = Client::new(c.service_as(sa), "default");
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), "default");
    let err = pods.list(&ListParams::default()).await.unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected a Status")
    };
    assert_eq!(status.code, 403);
    assert_eq!(
        status.message,
        r#"pods is forbidden: User "system:serviceaccount:default:default" cannot list resource "pods" in API group "" in the namespace "default""#
    );
    let reviews: Api<SelfSubjectAccessReview> = Api::all(client);
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some("list".into()),
                resource: Some("pods".into()),
                namespace: Some("default".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let out = reviews
        .create(&PostParams::default(), &review)
        .await
        .unwrap();
    assert!(!out.status.unwrap().allowed);
}

#[tokio::test]
async fn deleting_a_namespace_removes_its_contents() {
    let c = cluster().await;
    let client = Client::new(c.service_as(UserInfo::admin()), "default");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": "doomed"}})).unwrap(),
        )
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(serde_json::json!({"metadata": {"name": "x"}})).unwrap(),
    )
    .await
    .unwrap();
    let gone = namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .unwrap();
    // The namespace lingers as Terminating while the controller empties it.
    let terminating = gone
        .left()
        .expect("a namespace is returned while it terminates");
    assert_eq!(
        terminating.status.unwrap().phase.as_deref(),
        Some("Terminating")
    );
    for _ in 0..1000 {
        if namespaces.get_opt("doomed").await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(namespaces.get_opt("doomed").await.unwrap().is_none());
    // Its objects went with it.
    assert!(cms.get_opt("x").await.unwrap().is_none());
    // Nothing can be created in a namespace that is gone.
    let kube::Error::Api(s) = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": "y"}})).unwrap(),
        )
        .await
        .unwrap_err()
    else {
        panic!("expected a Status")
    };
    assert_eq!(
        (s.code, s.message.as_str()),
        (404, r#"namespaces "doomed" not found"#)
    );
}

#[tokio::test]
async fn access_and_token_reviews() {
    let c = cluster().await;
    let client = Client::new(c.service_as(UserInfo::admin()), "default");
    subject_access_review_allows_discovery(&client).await;
    // A pod-bound token from TokenRequest: claims of FIDELITY.md §4, accepted by TokenReview.
    let token = pod_bound_token(&client).await;
    token_review_accepts(client, token).await;
}

/// A SubjectAccessReview allows a service account discovery, and says which binding does.
async fn subject_access_review_allows_discovery(client: &Client) {
    use k8s_openapi::api::authorization::v1::{SubjectAccessReview, SubjectAccessReviewSpec};
    let sar: Api<SubjectAccessReview> = Api::all(client.clone());
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some("system:serviceaccount:default:default".into()),
            groups: Some(vec![
                "system:serviceaccounts".into(),
                "system:authenticated".into(),
            ]),
            non_resource_attributes: Some(
                k8s_openapi::api::authorization::v1::NonResourceAttributes {
                    path: Some("/apis".into()),
                    verb: Some("get".into()),
                },
            ),
            ..Default::default()
        },
        ..Default::default()
    };
    let status = sar
        .create(&PostParams::default(), &review)
        .await
        .unwrap()
        .status
        .unwrap();
    assert!(status.allowed);
    assert_eq!(
        status.reason.as_deref(),
        Some(
            r#"RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "system:authenticated""#
        )
    );
}

/// A pod-bound token from TokenRequest carries the claims of FIDELITY.md §4; returns it.
async fn pod_bound_token(client: &Client) -> String {
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), "default");
    let pod = pods
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}})).unwrap(),
        )
        .await
        .unwrap();
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let tr: k8s_openapi::api::authentication::v1::TokenRequest = sas
        .create_subresource(
            "token",
            "default",
            &PostParams::default(),
            &serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {
                "expirationSeconds": 3607,
                "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": pod.metadata.uid.clone().unwrap()},
            }}),
        )
        .await
        .unwrap();
    let token = tr.status.unwrap().token;
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 31_536_000);
    assert_eq!(
        claims["kubernetes.io"]["warnafter"].as_i64().unwrap() - iat,
        3607
    );
    assert_eq!(
        claims["aud"],
        serde_json::json!(["https://kubernetes.default.svc.cluster.local", "k3s"])
    );
    assert_eq!(claims["kubernetes.io"]["pod"]["name"], "p");
    token
}

/// TokenReview accepts the token as the service account it was issued to.
async fn token_review_accepts(client: Client, token: String) {
    use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
    let reviews: Api<TokenReview> = Api::all(client);
    let out = reviews
        .create(
            &PostParams::default(),
            &TokenReview {
                spec: TokenReviewSpec {
                    token: Some(token),
                    audiences: None,
                },
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .status
        .unwrap();
    assert_eq!(out.authenticated, Some(true));
    assert_eq!(
        out.user.unwrap().username.as_deref(),
        Some("system:serviceaccount:default:default")
    );
}
