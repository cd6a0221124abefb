//! No acknowledged write is lost: many clients, each on its own TLS connection, write one
//! object at once with every patch type, PUTs and status writes, and a watch started
//! before them sees each resourceVersion exactly once, in order.

use super::admin_client;
use super::clients::cluster;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;
use std::collections::BTreeSet;

/// Writers per kind of write, and writes per writer.
const WRITERS: usize = 4;
const WRITES: usize = 3;

/// One write by writer `w`, its `i`-th: the key it adds and the acknowledged object.
async fn write(cms: &Api<ConfigMap>, kind: &str, w: usize, i: usize) -> (String, ConfigMap) {
    let key = format!("{kind}-{w}-{i}");
    let pp = PatchParams::default();
    let acked = match kind {
        "merge" => cms
            .patch("race", &pp, &Patch::Merge(json!({"data": {&key: "v"}})))
            .await
            .unwrap(),
        "strategic" => cms
            .patch("race", &pp, &Patch::Strategic(json!({"data": {&key: "v"}})))
            .await
            .unwrap(),
        "json" => {
            let p: json_patch::Patch = serde_json::from_value(json!([
                {"op": "add", "path": format!("/data/{key}"), "value": "v"}
            ]))
            .unwrap();
            cms.patch("race", &pp, &Patch::Json::<()>(p)).await.unwrap()
        }
        "apply" => {
            // Each writer is its own field manager and applies every label it owns so
            // far, so its earlier labels stay (server-side apply semantics).
            let labels: serde_json::Map<String, serde_json::Value> = (0..=i)
                .map(|j| (format!("{kind}-{w}-{j}"), json!("v")))
                .collect();
            let pp = PatchParams::apply(&format!("writer-{w}"));
            cms.patch(
                "race",
                &pp,
                &Patch::Apply(json!({
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "race", "labels": labels},
                })),
            )
            .await
            .unwrap()
        }
        "put" => loop {
            // A PUT carries the resourceVersion it read: a write in between is a 409,
            // and the client reads again (the semantics of update stay optimistic).
            let mut cm = cms.get("race").await.unwrap();
            cm.metadata
                .annotations
                .get_or_insert_default()
                .insert(key.clone(), "v".into());
            match cms.replace("race", &PostParams::default(), &cm).await {
                Ok(cm) => break cm,
                Err(kube::Error::Api(s)) if s.code == 409 => continue,
                Err(e) => panic!("{e}"),
            }
        },
        other => unreachable!("{other}"),
    };
    (key, acked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_lose_nothing_and_a_watch_sees_every_version() {
    let c = cluster().await;
    let admin = admin_client(&c).await;
    let cms: Api<ConfigMap> = Api::namespaced(admin.clone(), "default");
    let created = cms
        .create(
            &PostParams::default(),
            // `data` must exist for JSON patches to add to it (an empty map is dropped,
            // as Go's `omitempty` drops it).
            &serde_json::from_value(json!({"metadata": {"name": "race"}, "data": {"seed": "v"}}))
                .unwrap(),
        )
        .await
        .unwrap();
    let start: u64 = created.metadata.resource_version.unwrap().parse().unwrap();

    // The watch starts before any writer.
    let watched = cms
        .watch(
            &WatchParams::default().fields("metadata.name=race"),
            &start.to_string(),
        )
        .await
        .unwrap()
        .boxed();

    let kinds = ["merge", "strategic", "json", "apply", "put"];
    let (keys, versions) = write_at_once(&c, &kinds).await;
    assert_eq!(keys.len(), kinds.len() * WRITERS * WRITES);

    let last = cms.get("race").await.unwrap();
    nothing_acknowledged_is_lost(&last, &keys);
    the_watch_sees_every_version(watched, last, versions).await;
}

/// Runs every writer of every kind at once; returns the keys they added and the versions
/// acknowledged, no version acknowledged twice.
async fn write_at_once(
    c: &apiserver::Cluster,
    kinds: &[&'static str],
) -> (Vec<String>, BTreeSet<u64>) {
    let mut tasks = Vec::new();
    for &kind in kinds {
        for w in 0..WRITERS {
            // A client of its own: its own connection, as separate programs would be.
            let cms: Api<ConfigMap> = Api::namespaced(admin_client(c).await, "default");
            tasks.push(tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0..WRITES {
                    acked.push(write(&cms, kind, w, i).await);
                }
                acked
            }));
        }
    }
    let mut keys = Vec::new();
    let mut versions = BTreeSet::new();
    for t in tasks {
        for (key, cm) in t.await.unwrap() {
            keys.push(key);
            let rv: u64 = cm.metadata.resource_version.unwrap().parse().unwrap();
            assert!(versions.insert(rv), "two writes acknowledged with rv {rv}");
        }
    }
    (keys, versions)
}

/// Every acknowledged key is in the last object, as data, a label or an annotation.
fn nothing_acknowledged_is_lost(last: &ConfigMap, keys: &[String]) {
    let data = last.data.clone().unwrap_or_default();
    let labels = last.metadata.labels.clone().unwrap_or_default();
    let annotations = last.metadata.annotations.clone().unwrap_or_default();
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| {
            !(data.contains_key(*k) || labels.contains_key(*k) || annotations.contains_key(*k))
        })
        .collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
}

/// The watch sees each acknowledged version up to `last`'s, once, in order.
async fn the_watch_sees_every_version(
    watched: futures::stream::BoxStream<'_, kube::Result<WatchEvent<ConfigMap>>>,
    last: ConfigMap,
    versions: BTreeSet<u64>,
) {
    // Every acknowledged version, once each, in order, and nothing else.
    let last_rv: u64 = last.metadata.resource_version.unwrap().parse().unwrap();
    let mut seen = Vec::new();
    let mut events = watched;
    while seen.last() != Some(&last_rv) {
        let ev = tokio::time::timeout(std::time::Duration::from_secs(10), events.try_next())
            .await
            .expect("the watch goes on")
            .unwrap()
            .expect("the watch goes on");
        match ev {
            WatchEvent::Modified(cm) => seen.push(
                cm.metadata
                    .resource_version
                    .unwrap()
                    .parse::<u64>()
                    .unwrap(),
            ),
            WatchEvent::Bookmark(_) => {}
            other => panic!("unexpected event {other:?}"),
        }
    }
    let expected: Vec<u64> = versions.into_iter().collect();
    assert_eq!(seen, expected);
}

/// Status writes from many clients (a kubelet's and others') each land: strategic merge
/// patches of `pods/status` conditions merge by type, and a label patch in between
/// keeps them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_status_writes_all_land() {
    let c = cluster().await;
    let admin = admin_client(&c).await;
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "default");
    pods.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]},
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let pods: Api<Pod> = Api::namespaced(admin_client(&c).await, "default");
        tasks.push(tokio::spawn(async move {
            for i in 0..WRITES {
                let kind = format!("kubelab.dev/w{w}-{i}");
                pods.patch_status(
                    "p",
                    &PatchParams::default(),
                    &Patch::Strategic(json!({"status": {"conditions": [
                        {"type": kind, "status": "True"}
                    ]}})),
                )
                .await
                .unwrap();
                pods.patch(
                    "p",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"labels": {format!("w{w}-{i}"): "v"}}})),
                )
                .await
                .unwrap();
            }
        }));
    }
    futures::future::try_join_all(tasks).await.unwrap();
    let pod = pods.get("p").await.unwrap();
    let conditions: BTreeSet<String> = pod
        .status
        .unwrap()
        .conditions
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.type_)
        .filter(|t| t.starts_with("kubelab.dev/"))
        .collect();
    assert_eq!(conditions.len(), 8 * WRITES, "{conditions:?}");
    assert_eq!(pod.metadata.labels.unwrap().len(), 8 * WRITES);
}
