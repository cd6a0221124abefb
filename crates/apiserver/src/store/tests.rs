use super::*;
use serde_json::json;

fn obj(name: &str) -> Value {
    json!({"metadata": {"name": name}})
}

#[test]
fn create_get_list_delete() {
    let s = Store::new();
    s.create("/configmaps", "default", "b", obj("b")).unwrap();
    s.create("/configmaps", "default", "a", obj("a")).unwrap();
    s.create("/configmaps", "kube-system", "c", obj("c"))
        .unwrap();
    assert_eq!(
        s.create("/configmaps", "default", "a", obj("a")),
        Err(StoreError::AlreadyExists)
    );
    let (items, rv) = s.list("/configmaps", Some("default"));
    assert_eq!(rv, 3);
    let names: Vec<_> = items
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(s.list("/configmaps", None).0.len(), 3);
    assert_eq!(s.list("/secrets", None).0.len(), 0);
    let gone = s.delete("/configmaps", "default", "a").unwrap();
    assert_eq!(gone["metadata"]["resourceVersion"], "4");
    assert!(s.get("/configmaps", "default", "a").is_none());
}

#[test]
fn update_checks_resource_version() {
    let s = Store::new();
    s.create("/configmaps", "ns", "a", obj("a")).unwrap();
    let stale = json!({"metadata": {"name": "a", "resourceVersion": "7"}, "data": {"x": "1"}});
    assert_eq!(
        s.update::<()>("/configmaps", "ns", "a", |_| Ok(Some(stale.clone())))
            .unwrap_err(),
        StoreError::Conflict
    );
    let fresh = json!({"metadata": {"name": "a", "resourceVersion": "1"}, "data": {"x": "1"}});
    let out = s
        .update::<()>("/configmaps", "ns", "a", |_| Ok(Some(fresh)))
        .unwrap()
        .unwrap();
    assert_eq!(out["metadata"]["resourceVersion"], "2");
    // A no-op update keeps the resourceVersion.
    let same = (*out).clone();
    let out = s
        .update::<()>("/configmaps", "ns", "a", |_| Ok(Some(same)))
        .unwrap()
        .unwrap();
    assert_eq!(out["metadata"]["resourceVersion"], "2");
}

#[tokio::test]
async fn watch_replays_and_follows() {
    let s = Store::new();
    s.create("/configmaps", "ns", "a", obj("a")).unwrap();
    s.create("/configmaps", "ns", "b", obj("b")).unwrap();
    let (replay, mut rx) = s.watch(1).unwrap();
    assert_eq!(replay.len(), 1);
    assert_eq!(replay[0].name, "b");
    s.delete("/configmaps", "ns", "a").unwrap();
    let ev = rx.recv().await.unwrap();
    assert_eq!(
        (ev.kind, ev.name.as_str(), ev.rv),
        (EventType::Deleted, "a", 3)
    );
}
