use super::*;
use serde_json::Value;

/// The v1.33 reference documents, copied from `shared/reference/discovery/` (see the
/// README there for their provenance).
const CORE_V1_PRETTY: &str = include_str!("../../tests/fixtures/discovery/api__v1.pretty.json");
const CORE_V1_COMPACT: &str = include_str!("../../tests/fixtures/discovery/api__v1.compact.json");
const APIS_PRETTY: &str = include_str!("../../tests/fixtures/discovery/apis.pretty.json");

#[test]
fn core_v1_matches_reference_byte_for_byte() {
    let gv = DISCOVERY.group_version("", "v1").unwrap();
    let doc = DISCOVERY.resource_list(gv);
    assert_eq!(serde_json::to_string_pretty(&doc).unwrap(), CORE_V1_PRETTY);
    assert_eq!(serde_json::to_string(&doc).unwrap() + "\n", CORE_V1_COMPACT);
}

#[test]
fn group_list_is_the_reference_then_k3s_crd_groups() {
    let mut list = DISCOVERY.group_list();
    let groups = list["groups"].as_array_mut().unwrap();
    let crd_groups: Vec<Value> = groups.split_off(groups.len() - 2);
    assert_eq!(serde_json::to_string_pretty(&list).unwrap(), APIS_PRETTY);
    let names: Vec<&str> = crd_groups
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["helm.cattle.io", "k3s.cattle.io"]);
}

#[test]
fn crd_served_resources_list_as_apiextensions_does() {
    let gv = DISCOVERY.group_version("helm.cattle.io", "v1").unwrap();
    let expected = concat!(
        r#"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"helm.cattle.io/v1","resources":["#,
        r#"{"name":"helmchartconfigs","singularName":"helmchartconfig","namespaced":true,"kind":"HelmChartConfig","verbs":["delete","deletecollection","get","list","patch","create","update","watch"],"storageVersionHash":"#,
    );
    let got = serde_json::to_string(&DISCOVERY.resource_list(gv)).unwrap();
    assert!(got.starts_with(expected), "{got}");
    assert!(
        got.contains(r#"{"name":"helmcharts/status","singularName":"","namespaced":true,"kind":"HelmChart","verbs":["get","patch","update"]}"#),
        "{got}"
    );
}

#[test]
fn batch_v1_matches_fidelity_wire_order() {
    let gv = DISCOVERY.group_version("batch", "v1").unwrap();
    let expected = concat!(
        r#"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"batch/v1","resources":["#,
        r#"{"name":"cronjobs","singularName":"cronjob","namespaced":true,"kind":"CronJob","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["cj"],"categories":["all"],"storageVersionHash":"sd5LIXh4Fjs="},"#,
        r#"{"name":"cronjobs/status","singularName":"","namespaced":true,"kind":"CronJob","verbs":["get","patch","update"]},"#,
        r#"{"name":"jobs","singularName":"job","namespaced":true,"kind":"Job","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"categories":["all"],"storageVersionHash":"mudhfqk/qZY="},"#,
        r#"{"name":"jobs/status","singularName":"","namespaced":true,"kind":"Job","verbs":["get","patch","update"]}]}"#
    );
    assert_eq!(
        serde_json::to_string(&DISCOVERY.resource_list(gv)).unwrap(),
        expected
    );
}

#[test]
fn group_document_for_batch() {
    let expected = r#"{"kind":"APIGroup","apiVersion":"v1","name":"batch","versions":[{"groupVersion":"batch/v1","version":"v1"}],"preferredVersion":{"groupVersion":"batch/v1","version":"v1"}}"#;
    assert_eq!(
        serde_json::to_string(&DISCOVERY.group("batch").unwrap()).unwrap(),
        expected
    );
    assert!(DISCOVERY.group("nonexistent.group").is_none());
}

#[test]
fn storage_hashes_follow_storage_version() {
    let v1 = DISCOVERY
        .resource("autoscaling", "v1", "horizontalpodautoscalers")
        .unwrap();
    let v2 = DISCOVERY
        .resource("autoscaling", "v2", "horizontalpodautoscalers")
        .unwrap();
    assert_eq!(v1.storage_version_hash(), v2.storage_version_hash());
    let ev = DISCOVERY.resource("events.k8s.io", "v1", "events").unwrap();
    let core = DISCOVERY.resource("", "v1", "events").unwrap();
    assert_eq!(ev.storage_version_hash(), core.storage_version_hash());
}
