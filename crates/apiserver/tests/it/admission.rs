//! Pod defaulting and ServiceAccount admission as FIDELITY.md §3 records them, and Service
//! ClusterIP allocation.

use super::clients::cluster;
use apiserver::UserInfo;
use k8s_openapi::api::core::v1::{Pod, Service, ServiceAccount};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

async fn create_pod(api: &Api<Pod>, spec: Value) -> Value {
    let pod: Pod =
        serde_json::from_value(json!({"metadata": {"name": spec["name"]}, "spec": spec["spec"]}))
            .unwrap();
    serde_json::to_value(api.create(&PostParams::default(), &pod).await.unwrap()).unwrap()
}

#[tokio::test]
async fn service_account_volume_and_automount_precedence() {
    let c = cluster().await;
    let client = kube::Client::new(c.service_as(UserInfo::admin()), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let p = create_pod(&pods, json!({"name": "a", "spec": {"containers": [{"name": "c", "image": "curlimages/curl:8.8.0"}]}})).await;
    let spec = &p["spec"];
    assert_eq!(spec["serviceAccountName"], "default");
    let vol = spec["volumes"].as_array().unwrap().last().unwrap();
    let vol_name = vol["name"].as_str().unwrap();
    assert!(
        vol_name.starts_with("kube-api-access-") && vol_name.len() == "kube-api-access-".len() + 5
    );
    assert!(
        vol_name["kube-api-access-".len()..]
            .chars()
            .all(|ch| "bcdfghjklmnpqrstvwxz2456789".contains(ch))
    );
    assert_eq!(
        vol["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        3607
    );
    assert_eq!(vol["projected"]["defaultMode"], 420);
    let mount = spec["containers"][0]["volumeMounts"]
        .as_array()
        .unwrap()
        .last()
        .unwrap();
    assert_eq!(
        mount,
        &json!({"name": vol_name, "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
    );
    assert_eq!(spec["containers"][0]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(spec["tolerations"].as_array().unwrap().len(), 2);
    assert_eq!(
        p["status"],
        json!({"phase": "Pending", "qosClass": "BestEffort"})
    );

    // The pod's own setting wins over the ServiceAccount's.
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    sas.create(
        &PostParams::default(),
        &serde_json::from_value(
            json!({"metadata": {"name": "quiet"}, "automountServiceAccountToken": false}),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let off = create_pod(&pods, json!({"name": "b", "spec": {"serviceAccountName": "quiet", "containers": [{"name": "c", "image": "busybox"}]}})).await;
    assert!(off["spec"].get("volumes").is_none(), "{}", off["spec"]);
    let on = create_pod(&pods, json!({"name": "d", "spec": {"serviceAccountName": "quiet", "automountServiceAccountToken": true, "containers": [{"name": "c", "image": "busybox"}]}})).await;
    assert_eq!(on["spec"]["volumes"].as_array().unwrap().len(), 1);
    assert_eq!(on["spec"]["containers"][0]["imagePullPolicy"], "Always");

    // A missing ServiceAccount is a 403 from admission.
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "e"}, "spec": {"serviceAccountName": "ghost", "containers": [{"name": "c", "image": "busybox"}]}})).unwrap();
    let kube::Error::Api(s) = pods.create(&PostParams::default(), &pod).await.unwrap_err() else {
        panic!("expected a Status")
    };
    assert_eq!(s.code, 403);
    assert!(
        s.message.ends_with(
            r#"error looking up service account default/ghost: serviceaccount "ghost" not found"#
        ),
        "{}",
        s.message
    );
}

#[tokio::test]
async fn services_get_a_cluster_ip() {
    let c = cluster().await;
    let client = kube::Client::new(c.service_as(UserInfo::admin()), "default");
    let svcs: Api<Service> = Api::namespaced(client, "default");
    let svc: Service = serde_json::from_value(
        json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}),
    )
    .unwrap();
    let s = serde_json::to_value(svcs.create(&PostParams::default(), &svc).await.unwrap()).unwrap();
    let ip = s["spec"]["clusterIP"].as_str().unwrap();
    assert!(
        ip.starts_with("10.43.") && ip != "10.43.0.1" && ip != "10.43.0.10",
        "{ip}"
    );
    assert_eq!(
        s["spec"]["ports"][0],
        json!({"protocol": "TCP", "port": 80, "targetPort": 80})
    );
    let taken: Service = serde_json::from_value(json!({"metadata": {"name": "dup"}, "spec": {"clusterIP": "10.43.0.1", "ports": [{"port": 80}]}})).unwrap();
    let kube::Error::Api(st) = svcs
        .create(&PostParams::default(), &taken)
        .await
        .unwrap_err()
    else {
        panic!("expected a Status")
    };
    assert_eq!((st.code, st.reason.as_str()), (422, "Invalid"));
}
