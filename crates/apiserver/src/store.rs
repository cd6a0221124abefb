//! The object store: every object of every resource, a global resourceVersion, and the
//! event history that watches replay.
//!
//! Like etcd behind the real API server, the store knows nothing of kinds or validation:
//! it keeps JSON objects under (resource, namespace, name), stamps `resourceVersion` and
//! enforces optimistic concurrency. Strategies and admission live in `registry`.

use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// How many events the store remembers for watches that start from an old resourceVersion.
const HISTORY: usize = 4096;

/// The storage key of a resource: `group/resource`, e.g. `/pods` or `batch/jobs`.
pub type ResourceKey = String;

pub fn resource_key(group: &str, resource: &str) -> ResourceKey {
    format!("{group}/{resource}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as a watch sees it.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventType,
    pub resource: ResourceKey,
    pub namespace: String,
    pub name: String,
    pub rv: u64,
    pub object: Arc<Value>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    #[error("object already exists")]
    AlreadyExists,
    #[error("object not found")]
    NotFound,
    #[error(
        "the object has been modified; please apply your changes to the latest version and try again"
    )]
    Conflict,
    /// `oldest` is the oldest resourceVersion a watch may start from (the watch cache's
    /// "oldest - 1", `k8s.io/apiserver/pkg/storage/cacher/watch_cache.go`,
    /// `getAllEventsSinceLocked`).
    #[error("too old resource version: {requested} ({oldest})")]
    TooOld { requested: u64, oldest: u64 },
}

type Key = (ResourceKey, String, String);

/// The key of `name` in `namespace` (`""` for cluster-scoped objects).
fn key(resource: &str, namespace: &str, name: &str) -> Key {
    (resource.into(), namespace.into(), name.into())
}

#[derive(Debug, Default)]
struct Inner {
    rv: u64,
    objects: BTreeMap<Key, Arc<Value>>,
    history: VecDeque<Event>,
    /// The resourceVersion the watch caches start at (`start_watch_cache`): no watch
    /// starts before it, as upstream's caches list once when the server starts.
    cache_start: u64,
}

/// The store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Mutex<Inner>>,
    events: broadcast::Sender<Event>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

/// Stamps `metadata.resourceVersion`, keeping the metadata's order: Go field order for
/// typed objects, sorted keys for unstructured ones (custom resources arrive sorted, and a
/// typed object never is: it has `uid` and `creationTimestamp`).
fn set_rv(obj: &mut Value, rv: u64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        let fresh = !meta.contains_key("resourceVersion");
        let sorted = meta.keys().is_sorted();
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        if fresh && sorted {
            meta.sort_keys();
        } else if fresh {
            crate::object::order_metadata(meta);
        }
    }
}

/// The object's `metadata.resourceVersion` as a number, if it has one.
pub fn object_rv(obj: &Value) -> Option<u64> {
    obj.pointer("/metadata/resourceVersion")?
        .as_str()?
        .parse()
        .ok()
}

impl Store {
    pub fn new() -> Store {
        let (events, _) = broadcast::channel(HISTORY);
        Store {
            inner: Arc::new(Mutex::new(Inner::default())),
            events,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave `Inner` half-updated in a way that
        // matters more than losing the whole cluster, so poisoning is ignored.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bumps the resourceVersion and records a change to `obj` (already stamped with it).
    fn change(&self, inner: &mut Inner, kind: EventType, key: &Key, obj: Arc<Value>) {
        let (resource, namespace, name) = key.clone();
        self.record(
            inner,
            Event {
                kind,
                resource,
                namespace,
                name,
                rv: inner.rv,
                object: obj,
            },
        );
    }

    fn record(&self, inner: &mut Inner, event: Event) {
        if inner.history.len() == HISTORY {
            inner.history.pop_front();
        }
        inner.history.push_back(event.clone());
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(event);
    }

    /// The current resourceVersion (of the last write).
    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// Starts the watch caches at the current resourceVersion: what the server wrote
    /// before it serves (its seeding) is in their initial list, not in their history.
    pub fn start_watch_cache(&self) {
        let mut inner = self.lock();
        inner.cache_start = inner.rv;
    }

    pub fn get(&self, resource: &str, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.lock()
            .objects
            .get(&key(resource, namespace, name))
            .cloned()
    }

    /// Objects of a resource, in one namespace or all (`namespace == None`), sorted by
    /// namespace then name (etcd key order), with the resourceVersion of the snapshot.
    pub fn list(&self, resource: &str, namespace: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let inner = self.lock();
        let lo = (
            resource.to_string(),
            namespace.unwrap_or("").to_string(),
            String::new(),
        );
        let items = inner
            .objects
            .range(lo..)
            .take_while(|((r, ns, _), _)| r == resource && namespace.is_none_or(|n| n == ns))
            .map(|(_, v)| v.clone())
            .collect();
        (items, inner.rv)
    }

    /// Stores a new object; stamps its resourceVersion.
    pub fn create(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        mut obj: Value,
    ) -> Result<Arc<Value>, StoreError> {
        let mut inner = self.lock();
        let key = key(resource, namespace, name);
        if inner.objects.contains_key(&key) {
            return Err(StoreError::AlreadyExists);
        }
        inner.rv += 1;
        let rv = inner.rv;
        set_rv(&mut obj, rv);
        let obj = Arc::new(obj);
        inner.objects.insert(key.clone(), obj.clone());
        self.change(&mut inner, EventType::Added, &key, obj.clone());
        Ok(obj)
    }

    /// Replaces an object, as upstream's `GuaranteedUpdate` does
    /// (`apiserver pkg/storage/etcd3/store.go`): `try_update` sees the current object and
    /// returns the next one (`None` for no change), without the store's lock held; the
    /// write happens only if the object is still the one it saw, and otherwise
    /// `try_update` runs again on the fresh object. A `resourceVersion` in the returned
    /// object is the caller's precondition: when it is not the current one, the answer is
    /// `Conflict`, never a retry.
    pub fn update<E>(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        mut try_update: impl FnMut(&Value) -> Result<Option<Value>, E>,
    ) -> Result<Result<Arc<Value>, E>, StoreError> {
        let key = key(resource, namespace, name);
        loop {
            let current = self
                .lock()
                .objects
                .get(&key)
                .cloned()
                .ok_or(StoreError::NotFound)?;
            let current_rv = object_rv(&current);
            let mut next = match try_update(&current) {
                Ok(Some(next)) => next,
                Ok(None) => return Ok(Ok(current)),
                Err(e) => return Ok(Err(e)),
            };
            if let Some(want) = object_rv(&next)
                && Some(want) != current_rv
            {
                return Err(StoreError::Conflict);
            }
            // An update that changes nothing is not written (upstream `GuaranteedUpdate`).
            set_rv(&mut next, current_rv.unwrap_or(0));
            if next == *current {
                return Ok(Ok(current));
            }
            let mut inner = self.lock();
            match inner.objects.get(&key) {
                Some(now) if Arc::ptr_eq(now, &current) => {}
                // Written or deleted since it was read: start again from what is there.
                _ => continue,
            }
            inner.rv += 1;
            let rv = inner.rv;
            set_rv(&mut next, rv);
            let next = Arc::new(next);
            inner.objects.insert(key.clone(), next.clone());
            self.change(&mut inner, EventType::Modified, &key, next.clone());
            return Ok(Ok(next));
        }
    }

    /// Removes an object; the DELETED event carries it with a new resourceVersion.
    pub fn delete(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Value>, StoreError> {
        let mut inner = self.lock();
        let key = key(resource, namespace, name);
        let old = inner.objects.remove(&key).ok_or(StoreError::NotFound)?;
        inner.rv += 1;
        let rv = inner.rv;
        let mut gone = (*old).clone();
        set_rv(&mut gone, rv);
        let gone = Arc::new(gone);
        self.change(&mut inner, EventType::Deleted, &key, gone.clone());
        Ok(gone)
    }

    /// Starts a watch: the events after `since` still in history, then a live receiver,
    /// and the resourceVersion the receiver starts after (every later event reaches it).
    /// `since == 0` means "from now". An rv older than the history is `TooOld` (410).
    pub fn watch(&self, since: u64) -> Result<Watch, StoreError> {
        let inner = self.lock();
        let live = self.events.subscribe();
        let now = inner.rv;
        if since == 0 || since >= now {
            return Ok(Watch {
                replay: Vec::new(),
                live,
                rv: now,
            });
        }
        // The oldest event a watch can deliver, less one, as the watch cache words it.
        let oldest = inner
            .history
            .front()
            .map_or(now, |e| e.rv - 1)
            .max(inner.cache_start);
        if since < oldest {
            return Err(StoreError::TooOld {
                requested: since,
                oldest,
            });
        }
        let replay = inner
            .history
            .iter()
            .filter(|e| e.rv > since)
            .cloned()
            .collect();
        Ok(Watch {
            replay,
            live,
            rv: now,
        })
    }
}

/// A started watch: `replay` holds the events up to `rv`, `live` every event after it.
#[derive(Debug)]
pub struct Watch {
    pub replay: Vec<Event>,
    pub live: broadcast::Receiver<Event>,
    pub rv: u64,
}

#[cfg(test)]
mod tests;
