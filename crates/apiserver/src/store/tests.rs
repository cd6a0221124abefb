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
        .update::<()>("/configmaps", "ns", "a", |_| Ok(Some(fresh.clone())))
        .unwrap()
        .unwrap();
    assert_eq!(out["metadata"]["resourceVersion"], "2");
    // A no-op update keeps the resourceVersion.
    let same = (*out).clone();
    let out = s
        .update::<()>("/configmaps", "ns", "a", |_| Ok(Some(same.clone())))
        .unwrap()
        .unwrap();
    assert_eq!(out["metadata"]["resourceVersion"], "2");
}

#[tokio::test]
async fn watch_replays_and_follows() {
    let s = Store::new();
    s.create("/configmaps", "ns", "a", obj("a")).unwrap();
    s.create("/configmaps", "ns", "b", obj("b")).unwrap();
    let Watch {
        replay,
        live: mut rx,
        ..
    } = s.watch(1).unwrap();
    assert_eq!(replay.len(), 1);
    assert_eq!(replay[0].name, "b");
    s.delete("/configmaps", "ns", "a").unwrap();
    let ev = rx.recv().await.unwrap();
    assert_eq!(
        (ev.kind, ev.name.as_str(), ev.rv),
        (EventType::Deleted, "a", 3)
    );
}

/// Many writers read-modify-write one object at once: every write lands, and a watch
/// started before them sees each resourceVersion once, in order.
#[test]
fn concurrent_updates_are_never_lost() {
    const WRITERS: usize = 8;
    const EACH: usize = 50;
    let s = Store::new();
    s.create(
        "/configmaps",
        "ns",
        "race",
        json!({"metadata": {"name": "race"}, "data": {}}),
    )
    .unwrap();
    let Watch {
        live: mut rx,
        rv: start,
        ..
    } = s.watch(0).unwrap();
    let retries = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let (s, retries) = (&s, &retries);
            scope.spawn(move || {
                for i in 0..EACH {
                    let mut attempts = 0;
                    s.update::<()>("/configmaps", "ns", "race", |current| {
                        attempts += 1;
                        let mut next = current.clone();
                        next["data"][format!("k{w}-{i}")] = json!("v");
                        // Give the other writers a chance to land in between.
                        std::thread::yield_now();
                        Ok(Some(next))
                    })
                    .unwrap()
                    .unwrap();
                    retries.fetch_add(attempts - 1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    let last = s.get("/configmaps", "ns", "race").unwrap();
    let data = last["data"].as_object().unwrap();
    assert_eq!(
        data.len(),
        WRITERS * EACH,
        "every acknowledged write is kept"
    );
    let mut seen = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        seen.push(ev.rv);
    }
    let expected: Vec<u64> = (start + 1..=start + (WRITERS * EACH) as u64).collect();
    assert_eq!(seen, expected, "each resourceVersion once, in order");
    eprintln!(
        "{} conflicts retried",
        retries.load(std::sync::atomic::Ordering::Relaxed)
    );
}

#[test]
fn a_stale_precondition_is_a_conflict_not_a_retry() {
    let s = Store::new();
    s.create("/configmaps", "ns", "a", obj("a")).unwrap();
    s.update::<()>("/configmaps", "ns", "a", |c| {
        let mut n = c.clone();
        n["data"] = json!({"x": "1"});
        Ok(Some(n))
    })
    .unwrap()
    .unwrap();
    let mut calls = 0;
    let r = s.update::<()>("/configmaps", "ns", "a", |c| {
        calls += 1;
        let mut n = c.clone();
        n["metadata"]["resourceVersion"] = json!("1");
        Ok(Some(n))
    });
    assert_eq!(r.unwrap_err(), StoreError::Conflict);
    assert_eq!(calls, 1);
}

#[test]
fn a_watch_from_before_the_caches_started_is_too_old() {
    let s = Store::new();
    s.create("/configmaps", "ns", "seeded", obj("seeded"))
        .unwrap();
    s.create("/configmaps", "ns", "also", obj("also")).unwrap();
    s.start_watch_cache();
    s.create("/configmaps", "ns", "later", obj("later"))
        .unwrap();
    let err = s.watch(1).unwrap_err();
    assert_eq!(err.to_string(), "too old resource version: 1 (2)");
    // From where the caches start, every later event.
    let from_start = s.watch(2).unwrap();
    assert_eq!(from_start.replay.len(), 1);
    assert_eq!(from_start.replay[0].rv, 3);
}
