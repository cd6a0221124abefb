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
    for _ in 0..100 {
        if sas.get_opt("default").await.unwrap().is_some()
            && cms.get_opt("kube-root-ca.crt").await.unwrap().is_some()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(sas.get_opt("default").await.unwrap().is_some());
    let ca = cms.get("kube-root-ca.crt").await.unwrap();
    assert_eq!(ca.data.unwrap()["ca.crt"], c.state.pki.server_ca.cert_pem);
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
