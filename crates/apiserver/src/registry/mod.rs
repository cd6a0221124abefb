//! The generic registry: create, get, list, update, patch, delete for every resource in
//! the discovery table, over the store, with strategies and admission.
//!
//! Mirrors `apiserver pkg/registry/generic/registry/store.go` in behaviour (names,
//! generateName, uid, optimistic concurrency, graceful namespace deletion) and error
//! shapes. It takes and returns plain values; `http` does the wire.

mod decode;
pub(crate) mod kinds;
pub use decode::FieldValidation;
pub(crate) use kinds::pod::bind as bind_pod;
pub mod managed;
pub mod patch;
pub mod strategy;
pub mod typecheck;
pub mod validate;

use crate::admission;
use crate::discovery::ApiResource;
use crate::object;
use crate::status::{ApiError, GroupResource, field};
use crate::store::{Store, StoreError, resource_key};
use serde_json::{Value, json};
use std::sync::Arc;

/// Who writes, and how: the field manager, whether this is a server-side apply, and
/// whether it is a dry run (`dryRun=All`: checked and answered, not stored).
#[derive(Debug, Clone)]
pub struct Writer {
    pub manager: String,
    pub apply: bool,
    pub dry_run: bool,
    /// For an apply: the configuration as sent (its field set is the applier's).
    pub config: Option<Value>,
    /// An apply's `force=true`: it takes conflicting fields from their managers.
    pub force: bool,
}

impl Writer {
    /// A write by the server's own components (bootstrap, controllers).
    pub fn internal(manager: &str) -> Writer {
        Writer {
            manager: manager.into(),
            apply: false,
            dry_run: false,
            config: None,
            force: false,
        }
    }
}

/// The `managedFields` of an object the server answers without storing it (an access or
/// token review, a TokenRequest): upstream's create handler runs the field manager on the
/// decoded request before the REST storage answers (`apiserver
/// pkg/endpoints/handlers/create.go`), so the answer records the request's own fields as an
/// `Update` by `manager`, under `subresource` when there is one.
pub fn record_request_fields(
    res: &ApiResource,
    subresource: Option<&str>,
    request: &Value,
    answer: &mut Value,
    manager: &str,
) {
    // The create handler's live object is a new, empty one of the kind
    // (`scope.Creater.New`), so an Update records only what differs from a zero value: a
    // field the request leaves at its zero (as a protobuf body writes every field) is
    // not the caller's.
    let zero = canonical(res, Value::Object(Default::default()));
    let mut fields = canonical(res, request.clone());
    let writer = Writer::internal(manager);
    record_managed_fields(res, subresource, Some(&zero), &mut fields, &writer);
    if let Some(mf) = object::meta(&fields).and_then(|m| m.get("managedFields")) {
        object::meta_mut(answer).insert("managedFields".into(), mf.clone());
    }
}

/// The type managed fields are computed with, and the apiVersion they are recorded at
/// (the kind's, so a TokenRequest's and not its ServiceAccount's).
fn managed_type(res: &ApiResource) -> (crate::schema::Type, String) {
    let (group, version) = res.kind_gv.unwrap_or((res.group, res.version));
    let ty = if crate::crds::serving(res).is_some() {
        crate::schema::Type::Deduced
    } else {
        // A kind outside k8s.io/api (kube-aggregator's APIService) is walked as deduced.
        crate::schema::SCHEMA
            .kind_type(group, version, res.kind)
            .unwrap_or(crate::schema::Type::Deduced)
    };
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    (ty, api_version)
}

/// The part of the object a write on `subresource` owns.
fn managed_scope<'a>(res: &ApiResource, subresource: Option<&'a str>) -> managed::Scope<'a> {
    match subresource {
        Some("status") => managed::Scope::Status,
        Some(other) => managed::Scope::Other(other),
        None => managed::Scope::Main {
            strip_status: strategy::has_status(res),
        },
    }
}

/// Records `writer`'s fields in `next`'s `metadata.managedFields`.
fn record_managed_fields(
    res: &ApiResource,
    subresource: Option<&str>,
    old: Option<&Value>,
    next: &mut Value,
    writer: &Writer,
) {
    let (ty, api_version) = managed_type(res);
    let write = managed::Write {
        manager: &writer.manager,
        apply: writer.apply,
        config: writer.config.as_ref(),
        scope: managed_scope(res, subresource),
        api_version: &api_version,
    };
    let mf = managed::update(&ty, old, next, &write);
    let m = object::meta_mut(next);
    if mf.as_array().is_some_and(|a| a.is_empty()) {
        m.shift_remove("managedFields");
    } else {
        m.insert("managedFields".into(), mf);
    }
}

/// Server-side apply's field ownership on the object an apply merged over `live`
/// (structured-merge-diff `Updater.Apply`, merge/update.go): what the applier applied
/// before and no longer applies goes unless someone else owns it (`prune`), and taking a
/// field another manager owns with another value is a 409 unless `force` is set.
pub fn apply_ownership(
    res: &ApiResource,
    subresource: Option<&str>,
    live: &Value,
    merged: Value,
    writer: &Writer,
) -> Result<Value, ApiError> {
    // The main resource's kind; another subresource (`scale`) has its own, not checked.
    if let (Some(config), None | Some("status")) = (&writer.config, subresource) {
        check_applied_kind(res, config)?;
    }
    // apimachinery `structuredMergeManager.Apply` (managedfields/internal/structuredmerge.go).
    if writer
        .config
        .as_ref()
        .and_then(|c| c.pointer("/metadata/managedFields"))
        .is_some_and(|mf| !mf.is_null())
    {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    let (ty, api_version) = managed_type(res);
    let write = managed::Write {
        manager: &writer.manager,
        apply: true,
        config: writer.config.as_ref(),
        scope: managed_scope(res, subresource),
        api_version: &api_version,
    };
    let pruned = managed::prune(&ty, live, merged, &write);
    if !writer.force {
        managed::check_conflicts(&ty, live, &pruned, &write)?;
    }
    Ok(pruned)
}

/// An applied configuration must be of the kind and version written: apimachinery
/// `versionCheckManager.Apply` (managedfields/internal/versioncheck.go), whose 400 prints
/// the configuration's `GroupVersionKind` (empty when its apiVersion does not parse).
fn check_applied_kind(res: &ApiResource, config: &Value) -> Result<(), ApiError> {
    let (group, version) = res.kind_gv.unwrap_or((res.group, res.version));
    let text = |k: &str| config.get(k).and_then(Value::as_str).unwrap_or("");
    let kind = text("kind");
    let (g, v) = match text("apiVersion").split('/').collect::<Vec<_>>().as_slice() {
        [""] => ("", ""),
        [v] => ("", *v),
        [g, v] => (*g, *v),
        _ => return Err(ApiError::bad_request("invalid object type: /, Kind=")),
    };
    if (g, v, kind) == (group, version, res.kind) {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "invalid object type: {g}/{v}, Kind={kind}"
    )))
}

/// The object a request names: its resource, namespace ("" when cluster-scoped, or for a
/// collection across namespaces) and name ("" for a collection).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub res: &'a ApiResource,
    pub namespace: &'a str,
    pub name: &'a str,
}

/// What a write returns besides the object: warnings for the `Warning` header.
#[derive(Debug, Default)]
pub struct WriteOutcome {
    pub warnings: Vec<String>,
}

fn gr(res: &ApiResource) -> GroupResource<'static> {
    GroupResource {
        group: res.group,
        resource: res.resource(),
    }
}

fn store_err(res: &ApiResource, name: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::AlreadyExists => ApiError::already_exists(gr(res), name),
        StoreError::NotFound => ApiError::not_found(gr(res), name),
        StoreError::Conflict => ApiError::conflict(gr(res), name, &e.to_string()),
        StoreError::TooOld { .. } => ApiError::gone(e.to_string()),
    }
}

/// The registry over one store; the only way to the objects.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    store: Store,
}

pub(crate) use kinds::returns_deleted_object;

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    fn key(res: &ApiResource) -> String {
        resource_key(res.group, res.resource())
    }

    /// The object, if it exists.
    pub fn find(&self, res: &ApiResource, namespace: &str, name: &str) -> Option<Arc<Value>> {
        let ns = if res.namespaced { namespace } else { "" };
        self.store.get(&Self::key(res), ns, name)
    }

    /// Objects of `res` in one namespace or all (`None`), in key order, with the
    /// resourceVersion of the snapshot.
    pub fn list(&self, res: &ApiResource, namespace: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        self.store
            .list(&Self::key(res), namespace.filter(|n| !n.is_empty()))
    }

    /// The resourceVersion of the last write.
    pub fn current_rv(&self) -> u64 {
        self.store.current_rv()
    }

    /// Starts the watch caches where the store is now (see `Store::start_watch_cache`).
    pub fn start_watch_cache(&self) {
        self.store.start_watch_cache();
    }

    /// A watch of every change after `since` (0: from now); 410 when `since` is older
    /// than the history kept.
    pub fn watch(&self, since: u64) -> Result<crate::store::Watch, ApiError> {
        self.store
            .watch(since)
            .map_err(|e| ApiError::gone(e.to_string()))
    }

    /// A change the server itself makes to a stored object (a deletion timestamp, a
    /// binding), as a guaranteed update without the strategy: `change` sees the current
    /// object and returns the next one, or `None` for no change.
    pub(crate) fn mutate(
        &self,
        res: &ApiResource,
        namespace: &str,
        name: &str,
        mut change: impl FnMut(&Value) -> Result<Option<Value>, ApiError>,
    ) -> Result<Arc<Value>, ApiError> {
        let ns = if res.namespaced { namespace } else { "" };
        self.store
            .update(&Self::key(res), ns, name, |old| {
                Ok(change(old)?.map(|next| canonical(res, next)))
            })
            .map_err(|e| store_err(res, name, e))?
    }

    /// Stores `obj` as it is, for unit tests of what reads the registry.
    #[cfg(test)]
    pub(crate) fn insert_for_test(&self, res: &ApiResource, namespace: &str, obj: Value) {
        let name = object::name(&obj).to_string();
        self.store
            .create(&Self::key(res), namespace, &name, obj)
            .expect("a fresh name");
    }

    /// Removes an object at once, whatever its kind's deletion (a controller finishing a
    /// graceful deletion or a namespace).
    pub(crate) fn remove(
        &self,
        res: &ApiResource,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Value>, ApiError> {
        let ns = if res.namespaced { namespace } else { "" };
        self.store
            .delete(&Self::key(res), ns, name)
            .map_err(|e| store_err(res, name, e))
    }

    pub fn get(
        &self,
        res: &ApiResource,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Value>, ApiError> {
        self.store
            .get(&Self::key(res), namespace, name)
            .ok_or_else(|| ApiError::not_found(gr(res), name))
    }

    /// Creates `obj` (already decoded) in `namespace`.
    pub fn create(
        &self,
        res: &ApiResource,
        namespace: &str,
        mut obj: Value,
        writer: &Writer,
    ) -> Result<Arc<Value>, ApiError> {
        let dry_run = writer.dry_run;
        let body_ns = object::meta_str(&obj, "namespace").to_string();
        if res.namespaced && !body_ns.is_empty() && body_ns != namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let name = new_name(res, &obj)?;
        admission::namespace_lifecycle(
            self,
            if res.namespaced { namespace } else { "" },
            res.resource(),
            &name,
        )?;
        stamp_new(res, &mut obj, namespace, &name);
        // As in the create handler: defaults (decoding), then managed fields, then
        // mutating admission, then the strategy's `PrepareForCreate`.
        strategy::default_object(res, &mut obj);
        object::meta_mut(&mut obj).shift_remove("managedFields");
        let mut defaulted = canonical(res, obj.clone());
        record_managed_fields(res, None, None, &mut defaulted, writer);
        if let Some(mf) = object::meta(&defaulted)
            .and_then(|m| m.get("managedFields"))
            .cloned()
        {
            object::meta_mut(&mut obj).insert("managedFields".into(), mf);
        }
        strategy::prepare_create(res, &mut obj);
        kinds::strategy(res).allocate(self, &mut obj, dry_run)?;
        admission::mutate_pod(self, res, namespace, &mut obj)?;
        let mut causes = validate::object_name(res.group, res.kind, &name);
        causes.extend(kinds::strategy(res).validate(&obj));
        if !causes.is_empty() {
            return Err(ApiError::invalid(res.group, res.kind, &name, causes));
        }
        let obj = canonical(res, obj);
        if dry_run {
            return Ok(Arc::new(obj));
        }
        self.store_new(res, namespace, &name, obj)
    }

    /// Writes a new object, already made canonical, to the store.
    fn store_new(
        &self,
        res: &ApiResource,
        namespace: &str,
        name: &str,
        obj: Value,
    ) -> Result<Arc<Value>, ApiError> {
        self.store
            .create(
                &Self::key(res),
                if res.namespaced { namespace } else { "" },
                name,
                obj,
            )
            .map_err(|e| store_err(res, name, e))
    }

    /// Stores an object whole, as another API server wrote it: its fields, status and
    /// `managedFields` are taken as they are; only what each cluster makes afresh is
    /// given now (uid, creation time, resourceVersion, and the managed fields' and
    /// conditions' times left empty). For the objects a fresh cluster holds alike,
    /// generated from the reference control plane (`bootstrap::UPSTREAM`), which seeds a
    /// cluster this way without the cost of deriving what the reference already wrote.
    pub(crate) fn restore(
        &self,
        res: &ApiResource,
        namespace: &str,
        mut obj: Value,
    ) -> Result<Arc<Value>, ApiError> {
        let name = object::name(&obj).to_string();
        stamp_new(res, &mut obj, namespace, &name);
        let now = object::now();
        let untimed = |v: &mut Value, key: &str| {
            if v.get(key).and_then(Value::as_str) == Some("") {
                v[key] = json!(now);
            }
        };
        if let Some(entries) = object::meta_mut(&mut obj)
            .get_mut("managedFields")
            .and_then(Value::as_array_mut)
        {
            entries.iter_mut().for_each(|e| untimed(e, "time"));
        }
        if let Some(conditions) = obj
            .pointer_mut("/status/conditions")
            .and_then(Value::as_array_mut)
        {
            conditions
                .iter_mut()
                .for_each(|c| untimed(c, "lastTransitionTime"));
        }
        self.store_new(res, namespace, &name, canonical(res, obj))
    }

    /// Replaces an object (PUT), on the main resource or a subresource (`status`). A
    /// `resourceVersion` in `obj` is a precondition (409 when stale); without one the
    /// update is unconditional, as upstream allows for every built-in kind.
    pub fn update(
        &self,
        res: &ApiResource,
        subresource: Option<&str>,
        namespace: &str,
        name: &str,
        obj: Value,
        writer: &Writer,
    ) -> Result<Arc<Value>, ApiError> {
        let body_name = object::name(&obj).to_string();
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let body_ns = object::meta_str(&obj, "namespace").to_string();
        if res.namespaced && !body_ns.is_empty() && body_ns != namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        self.guaranteed_update(res, subresource, namespace, name, writer, |_| {
            Ok(obj.clone())
        })
    }

    /// A read-modify-write, as upstream's `GuaranteedUpdate`: `next` sees the current
    /// object and returns the object to write (the strategy's `PrepareForUpdate` and the
    /// managed fields are applied to it here); if another write lands in between, `next`
    /// runs again on the fresh object, so no acknowledged write is overwritten. A
    /// `resourceVersion` in what `next` returns is a precondition: when it is not the
    /// current one the answer is 409 Conflict. Patches, PUTs and every controller's
    /// status write go through here.
    pub fn guaranteed_update(
        &self,
        res: &ApiResource,
        subresource: Option<&str>,
        namespace: &str,
        name: &str,
        writer: &Writer,
        mut next: impl FnMut(&Value) -> Result<Value, ApiError>,
    ) -> Result<Arc<Value>, ApiError> {
        let key = Self::key(res);
        let ns = if res.namespaced { namespace } else { "" };
        let mut prepare = |old: &Value| -> Result<Value, ApiError> {
            let mut obj = next(old)?;
            // A PUT's body and a patched object are decoded, so the v1 defaulters and
            // conversions (a Secret's `stringData`) run on them as on a new object.
            if subresource.is_none() {
                strategy::default_object(res, &mut obj);
            }
            let m = object::meta_mut(&mut obj);
            m.insert("name".into(), json!(name));
            if res.namespaced {
                m.insert("namespace".into(), json!(namespace));
            }
            // managedFields are the server's to write.
            let old_mf = object::meta(old)
                .and_then(|m| m.get("managedFields"))
                .cloned();
            strategy::prepare_update(res, subresource, old, &mut obj);
            let m = object::meta_mut(&mut obj);
            match old_mf {
                Some(mf) => m.insert("managedFields".into(), mf),
                None => m.shift_remove("managedFields"),
            };
            let mut next = canonical(res, obj);
            if subresource.is_none() {
                let causes = kinds::strategy(res).validate_update(old, &next);
                if !causes.is_empty() {
                    return Err(ApiError::invalid(res.group, res.kind, name, causes));
                }
            }
            record_managed_fields(res, subresource, Some(old), &mut next, writer);
            Ok(canonical(res, next))
        };
        if writer.dry_run {
            let old = self.get(res, ns, name)?;
            let next = prepare(&old)?;
            if let Some(want) = crate::store::object_rv(&next)
                && Some(want) != crate::store::object_rv(&old)
            {
                return Err(store_err(res, name, StoreError::Conflict));
            }
            return Ok(Arc::new(next));
        }
        self.store
            .update(&key, ns, name, |old| prepare(old).map(Some))
            .map_err(|e| store_err(res, name, e))?
    }

    /// Deletes an object: at once, or as its kind deletes (a bound pod gracefully, a
    /// namespace through `Terminating`). Returns the object and whether it lingers.
    pub fn delete(
        &self,
        res: &ApiResource,
        namespace: &str,
        name: &str,
        dry_run: bool,
        grace_period: Option<i64>,
    ) -> Result<(Arc<Value>, bool), ApiError> {
        self.delete_with(
            res,
            namespace,
            name,
            dry_run,
            grace_period,
            &Preconditions::default(),
        )
    }

    /// `delete`, checking the `DeleteOptions` preconditions first (`rest.BeforeDelete`:
    /// 409 when the uid or resourceVersion is not the stored one's).
    pub fn delete_with(
        &self,
        res: &ApiResource,
        namespace: &str,
        name: &str,
        dry_run: bool,
        grace_period: Option<i64>,
        preconditions: &Preconditions,
    ) -> Result<(Arc<Value>, bool), ApiError> {
        let ns = if res.namespaced { namespace } else { "" };
        let current = self.get(res, ns, name)?;
        // `GroupResource{Group: gvk.Group, Resource: gvk.Kind}`: the kind, not the resource.
        let gr = crate::status::GroupResource {
            group: res.group,
            resource: res.kind,
        };
        let meta = |key: &str| object::meta_str(&current, key).to_string();
        if let Some(uid) = &preconditions.uid
            && *uid != meta("uid")
        {
            return Err(ApiError::conflict(
                gr,
                name,
                &format!(
                    "the UID in the precondition ({uid}) does not match the UID in record ({}). \
                     The object might have been deleted and then recreated",
                    meta("uid")
                ),
            ));
        }
        if let Some(rv) = &preconditions.resource_version
            && *rv != meta("resourceVersion")
        {
            return Err(ApiError::conflict(
                gr,
                name,
                &format!(
                    "the ResourceVersion in the precondition ({rv}) does not match the \
                     ResourceVersion in record ({}). The object might have been modified",
                    meta("resourceVersion")
                ),
            ));
        }
        if dry_run {
            return Ok((current, false));
        }
        let target = Target {
            res,
            namespace: ns,
            name,
        };
        let deletion = kinds::Deletion {
            reg: self,
            target: &target,
            current: &current,
            grace_period,
        };
        if let Some(lingering) = kinds::strategy(res).delete(&deletion)? {
            return Ok((lingering, true));
        }
        Ok((self.remove(res, ns, name)?, false))
    }
}

/// `DeleteOptions.preconditions`.
#[derive(Debug, Default)]
pub struct Preconditions {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

/// A new object's name: given, or generated from `generateName`.
fn new_name(res: &ApiResource, obj: &Value) -> Result<String, ApiError> {
    let name = object::name(obj);
    let generate = object::meta_str(obj, "generateName");
    if !name.is_empty() {
        return Ok(name.to_string());
    }
    if !generate.is_empty() {
        return Ok(format!("{generate}{}", object::random_suffix()));
    }
    Err(ApiError::invalid(
        res.group,
        res.kind,
        "",
        vec![field::required(
            "metadata.name",
            "name or generateName is required",
        )],
    ))
}

/// The metadata the server sets on every new object (`BeforeCreate` in
/// `registry/rest/create.go`): name, namespace, uid, creation time; what only the
/// server may set is dropped.
fn stamp_new(res: &ApiResource, obj: &mut Value, namespace: &str, name: &str) {
    let m = object::meta_mut(obj);
    m.insert("name".into(), json!(name));
    if res.namespaced {
        m.insert("namespace".into(), json!(namespace));
    } else {
        m.shift_remove("namespace");
    }
    m.insert("uid".into(), json!(object::new_uid()));
    m.insert("creationTimestamp".into(), json!(object::now()));
    m.shift_remove("resourceVersion");
    m.shift_remove("deletionTimestamp");
    m.shift_remove("deletionGracePeriodSeconds");
    m.shift_remove("selfLink");
}

/// The object as the Go API server would store and serve it: `kind` and `apiVersion` set,
/// fields in struct order with Go's zero values (`schema::json`); custom resources with
/// their keys sorted, as unstructured objects are written.
pub fn canonical(res: &ApiResource, mut obj: Value) -> Value {
    let (group, version) = res.kind_gv.unwrap_or((res.group, res.version));
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    object::normalize(&mut obj, res.kind, &api_version);
    if crate::crds::serving(res).is_some() {
        crate::crds::sort_keys(&mut obj);
        return obj;
    }
    match crate::schema::SCHEMA.kind_type(group, version, res.kind) {
        Some(t) => crate::schema::json::encode(&t, &obj),
        None => obj,
    }
}
