//! k3s's CustomResourceDefinitions and their custom resources, served as
//! apiextensions-apiserver serves them.

use super::clients::{cluster, raw, request};
use serde_json::{Value, json};

const CHARTS: &str = "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts";

#[tokio::test]
async fn k3s_definitions_are_installed_and_discovered() {
    let c = cluster().await;
    let (code, crds) = raw(
        &c,
        "GET",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        "",
        "",
    )
    .await;
    assert_eq!(code, 200);
    let names: Vec<&str> = crds["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "addons.k3s.cattle.io",
            "etcdsnapshotfiles.k3s.cattle.io",
            "helmchartconfigs.helm.cattle.io",
            "helmcharts.helm.cattle.io"
        ]
    );
    let established = &crds["items"][3]["status"]["conditions"][1];
    assert_eq!(
        (&established["type"], &established["status"]),
        (&json!("Established"), &json!("True"))
    );

    let (_, root) = raw(&c, "GET", "/", "", "").await;
    let paths: Vec<&str> = root["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for p in [
        "/apis/helm.cattle.io",
        "/apis/helm.cattle.io/v1",
        "/apis/k3s.cattle.io",
        "/apis/k3s.cattle.io/v1",
    ] {
        assert!(paths.contains(&p), "{p} missing from /");
    }
    let (_, group) = raw(&c, "GET", "/apis/k3s.cattle.io", "", "").await;
    assert_eq!(
        group["preferredVersion"]["groupVersion"],
        "k3s.cattle.io/v1"
    );
}

#[tokio::test]
async fn custom_resources_are_unstructured_with_sorted_keys() {
    let c = cluster().await;
    created_with_sorted_keys(&c).await;
    patched_without_strategic_merge(&c).await;

    // No protobuf for custom resources.
    let (code, status) = raw(
        &c,
        "POST",
        CHARTS,
        "application/vnd.kubernetes.protobuf",
        "x",
    )
    .await;
    assert_eq!(code, 415);
    assert_eq!(
        status["message"],
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml"
    );
}

/// A HelmChart is created as written, its keys sorted, with the managed fields
/// structured-merge-diff deduces.
async fn created_with_sorted_keys(c: &apiserver::Cluster) {
    let chart = r#"{"kind":"HelmChart","apiVersion":"helm.cattle.io/v1","metadata":{"name":"demo","labels":{"z":"1","a":"2"}},"spec":{"repo":"https://charts.example","chart":"demo","set":{"b":"1","a":"2"}}}"#;
    let (code, created) = request(
        c,
        "POST",
        CHARTS,
        &[
            ("content-type", "application/json"),
            ("user-agent", "kubectl/v1.33.3 (linux/amd64)"),
        ],
        chart,
    )
    .await;
    assert_eq!(code, 201, "{created}");
    assert!(
        created.starts_with(r#"{"apiVersion":"helm.cattle.io/v1","kind":"HelmChart","metadata":{"creationTimestamp":""#),
        "{created}"
    );
    let v: Value = serde_json::from_str(&created).unwrap();
    let meta_keys: Vec<&String> = v["metadata"].as_object().unwrap().keys().collect();
    let mut sorted = meta_keys.clone();
    sorted.sort();
    assert_eq!(meta_keys, sorted, "{created}");
    assert_eq!(v["metadata"]["generation"], 1);
    assert!(
        created.contains(
            r#""spec":{"chart":"demo","repo":"https://charts.example","set":{"a":"2","b":"1"}}"#
        ),
        "{created}"
    );
    // Managed fields as structured-merge-diff deduces them: every object a map of fields.
    assert_eq!(
        v["metadata"]["managedFields"][0]["fieldsV1"],
        json!({
            "f:metadata": {"f:labels": {".": {}, "f:a": {}, "f:z": {}}},
            "f:spec": {".": {}, "f:chart": {}, "f:repo": {}, "f:set": {".": {}, "f:a": {}, "f:b": {}}},
        })
    );
    assert_eq!(v["metadata"]["managedFields"][0]["manager"], "kubectl");
}

/// No strategic merge patch for custom resources; merge patch works.
async fn patched_without_strategic_merge(c: &apiserver::Cluster) {
    let (code, status) = raw(
        c,
        "PATCH",
        &format!("{CHARTS}/demo"),
        "application/strategic-merge-patch+json",
        r#"{"spec":{"version":"1.0.0"}}"#,
    )
    .await;
    assert_eq!(code, 415);
    assert_eq!(
        status["message"],
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    );
    let (code, patched) = raw(
        c,
        "PATCH",
        &format!("{CHARTS}/demo"),
        "application/merge-patch+json",
        r#"{"spec":{"version":"1.0.0"},"status":{"jobName":"ignored"}}"#,
    )
    .await;
    assert_eq!(code, 200, "{patched}");
    assert_eq!(patched["spec"]["version"], "1.0.0");
    assert_eq!(patched["metadata"]["generation"], 2);
    // HelmChart has a status subresource: the main resource ignores status.
    assert!(patched.get("status").is_none(), "{patched}");
    let (code, patched) = raw(
        c,
        "PATCH",
        &format!("{CHARTS}/demo/status"),
        "application/merge-patch+json",
        r#"{"status":{"jobName":"helm-install-demo"}}"#,
    )
    .await;
    assert_eq!(code, 200, "{patched}");
    assert_eq!(patched["status"]["jobName"], "helm-install-demo");
    assert_eq!(patched["metadata"]["generation"], 2);
}

/// GETs `path` as a server-side-printed Table.
async fn get_table(c: &apiserver::Cluster, path: &str) -> Value {
    let table = [(
        "accept",
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
    )];
    let (_, text) = request(c, "GET", path, &table, "").await;
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn tables_use_the_printer_columns() {
    let c = cluster().await;
    helm_charts_print_their_columns(&c).await;
    definitions_without_columns_print_name_and_age(&c).await;
    etcd_snapshot_files_are_cluster_scoped(&c).await;
}

/// HelmCharts print the columns their definition declares, `Job` at priority 10.
async fn helm_charts_print_their_columns(c: &apiserver::Cluster) {
    let (code, _) = raw(
        c,
        "POST",
        CHARTS,
        "application/json",
        r#"{"metadata":{"name":"traefik"},"spec":{"chart":"traefik","bootstrap":true},"status":{"conditions":[{"type":"Failed","status":"False"}]}}"#,
    )
    .await;
    assert_eq!(code, 201);
    let t = get_table(c, CHARTS).await;
    let columns: Vec<(&str, &str, i64)> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["type"].as_str().unwrap(),
                c["priority"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        columns,
        [
            ("Name", "string", 0),
            ("Repo", "string", 0),
            ("Chart", "string", 0),
            ("Version", "string", 0),
            ("TargetNamespace", "string", 0),
            ("Bootstrap", "boolean", 0),
            ("Failed", "string", 0),
            ("Job", "string", 10),
        ]
    );
    assert_eq!(
        t["columnDefinitions"][6]["description"],
        "Custom resource definition column (in JSONPath format): .status.conditions[?(@.type=='Failed')].status"
    );
    // Status was dropped on create (status subresource), so `Failed` is empty.
    assert_eq!(
        t["rows"][0]["cells"],
        json!(["traefik", null, "traefik", null, null, true, null, null])
    );
}

/// HelmChartConfig declares no printer columns: its table has Name and Age.
async fn definitions_without_columns_print_name_and_age(c: &apiserver::Cluster) {
    let t = get_table(
        c,
        "/apis/helm.cattle.io/v1/namespaces/kube-system/helmchartconfigs",
    )
    .await;
    let names: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Name", "Age"]);
}

/// ETCDSnapshotFile is cluster-scoped.
async fn etcd_snapshot_files_are_cluster_scoped(c: &apiserver::Cluster) {
    let (code, created) = raw(
        c,
        "POST",
        "/apis/k3s.cattle.io/v1/etcdsnapshotfiles",
        "application/json",
        r#"{"metadata":{"name":"on-demand"},"spec":{"snapshotName":"on-demand","nodeName":"kubelab","location":"file:///snap"}}"#,
    )
    .await;
    assert_eq!(code, 201, "{created}");
    assert!(created["metadata"].get("namespace").is_none());
}
