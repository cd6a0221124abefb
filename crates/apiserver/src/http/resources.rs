//! Resource requests: get, list, watch, create, update, patch, delete, deletecollection
//! for every resource in the discovery table, and the subresources served here.
//!
//! Mirrors `apiserver pkg/endpoints/handlers/{get,create,update,patch,delete,watch}.go`:
//! list kinds and metadata, watch event framing, response codes. Storage semantics are in
//! `registry`.

use super::{Ctx, PROTOBUF, read_body, respond, respond_error, reviews};
use crate::State;
use crate::discovery::{ApiResource, DISCOVERY};
use crate::object;
use crate::registry::patch::{self, PatchType};
use crate::registry::{FieldValidation, WriteOutcome};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::{ApiError, GroupResource};
use crate::store::{EventType, resource_key};
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use base64::Engine;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Default watch length when the client gives none (`--min-request-timeout`, 1800 s).
const DEFAULT_WATCH_SECONDS: u64 = 1800;
/// How often a watch that asked for bookmarks gets one.
const BOOKMARK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

pub async fn handle(state: &State, ctx: Ctx, req: Request) -> Response {
    match dispatch(state, &ctx, req).await {
        Ok(r) => r,
        Err(e) => respond_error(&ctx, &e),
    }
}

fn api_version(res: &ApiResource) -> String {
    res.api_version()
}

/// Looks up the resource and checks scope; unknown group versions are plain 404s.
fn resolve<'a>(info: &super::RequestInfo) -> Result<Option<&'a ApiResource>, ApiError> {
    let Some(gv) = DISCOVERY.group_version(&info.api_group, &info.api_version) else {
        return Ok(None);
    };
    let Some(res) = gv.resources.iter().find(|r| r.name == info.resource) else {
        return Err(ApiError::path_not_found());
    };
    // A namespaced resource addressed by name needs a namespace, and a cluster-scoped one
    // has none (there is no such go-restful route).
    let is_namespace_itself = res.name == "namespaces";
    if !is_namespace_itself {
        if res.namespaced && info.namespace.is_empty() && !info.name.is_empty() {
            return Err(ApiError::path_not_found());
        }
        if !res.namespaced && !info.namespace.is_empty() {
            return Err(ApiError::path_not_found());
        }
    }
    Ok(Some(res))
}

fn sub_resource(res: &ApiResource, sub: &str) -> Result<&'static ApiResource, ApiError> {
    DISCOVERY
        .resource(res.group, res.version, &format!("{}/{sub}", res.name))
        .ok_or_else(ApiError::path_not_found)
}

fn method_not_allowed(res: &ApiResource, verb: &str) -> ApiError {
    ApiError::method_not_supported(
        GroupResource {
            group: res.group,
            resource: res.name,
        },
        verb,
    )
}

async fn dispatch(state: &State, ctx: &Ctx, req: Request) -> Result<Response, ApiError> {
    let info = &ctx.info;
    let Some(res) = resolve(info)? else {
        return Ok(super::plain_not_found());
    };
    let ns = if res.namespaced {
        info.namespace.as_str()
    } else {
        ""
    };
    // `/api/v1/namespaces/<name>`: the object is the namespace.
    let name = info.name.as_str();
    let dry_run = ctx.param("dryRun") == Some("All");

    if !info.subresource.is_empty() {
        let sub = sub_resource(res, &info.subresource)?;
        if !sub.verbs.contains(&info.verb.as_str()) {
            return Err(method_not_allowed(sub, &info.verb));
        }
        return subresource(state, ctx, res, sub, ns, name, req).await;
    }
    if !res.verbs.contains(&info.verb.as_str()) {
        return Err(method_not_allowed(res, &info.verb));
    }
    if reviews::is_review(res) {
        let body = parse_body(ctx, &read_body(req).await?, res)?;
        let out = reviews::create(state, ctx, res, ns, body).await?;
        return Ok(respond(ctx, StatusCode::CREATED, &out));
    }
    match info.verb.as_str() {
        "get" => {
            let obj = state.registry.get(res, ns, name)?;
            if crate::table::wants_table(&ctx.accept) {
                let t =
                    crate::table::table(res, &[(*obj).clone()], None, ctx.param("includeObject"));
                return Ok(respond(ctx, StatusCode::OK, &t));
            }
            Ok(respond(ctx, StatusCode::OK, &obj))
        }
        "list" => list(state, ctx, res, ns),
        "watch" => watch(state, ctx, res, ns, name),
        "create" => {
            let (body, outcome) = decoded_body(state, ctx, res, req).await?;
            let created = state
                .registry
                .create(res, &info.namespace, body, &writer(ctx, false))?;
            Ok(with_warnings(
                respond(ctx, StatusCode::CREATED, &created),
                &outcome,
            ))
        }
        "update" => {
            let (body, outcome) = decoded_body(state, ctx, res, req).await?;
            let updated = state
                .registry
                .update(res, None, ns, name, body, &writer(ctx, false))?;
            Ok(with_warnings(
                respond(ctx, StatusCode::OK, &updated),
                &outcome,
            ))
        }
        "patch" => patch_object(state, ctx, res, None, ns, name, req).await,
        "delete" => {
            let grace = grace_period(ctx, &read_body(req).await?)?;
            let (obj, lingers) = state.registry.delete(res, ns, name, dry_run, grace)?;
            if lingers {
                return Ok(respond(ctx, StatusCode::OK, &obj));
            }
            Ok(respond(ctx, StatusCode::OK, &delete_status(res, &obj)))
        }
        "deletecollection" => {
            let items = selected(state, ctx, res, ns)?;
            let mut deleted = Vec::new();
            for item in items {
                let n = object::name(&item).to_string();
                let item_ns = object::meta_str(&item, "namespace").to_string();
                if let Ok((obj, _)) = state.registry.delete(res, &item_ns, &n, dry_run, None) {
                    deleted.push(object::without_type_meta(&obj));
                }
            }
            let rv = state.registry.store.current_rv();
            Ok(respond(
                ctx,
                StatusCode::OK,
                &list_object(res, deleted, rv, None),
            ))
        }
        other => Err(method_not_allowed(res, other)),
    }
}

/// Binds a pod to a node, as the scheduler does through `pods/binding`
/// (`pkg/registry/core/pod/storage/storage.go`, `assignPod`): sets `spec.nodeName` and
/// the `PodScheduled` condition; a pod already bound is a 409.
fn bind(state: &State, ns: &str, name: &str, binding: &Value) -> Result<(), ApiError> {
    let node = binding
        .pointer("/target/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if node.is_empty() {
        return Err(ApiError::invalid(
            "",
            "Binding",
            name,
            vec![crate::status::field::required("target.name", "")],
        ));
    }
    let pods = DISCOVERY.resource("", "v1", "pods").expect("pods");
    let gr = GroupResource {
        group: "",
        resource: "pods",
    };
    let result = state.registry.store.update(&resource_key("", "pods"), ns, name, |old| {
        if old.pointer("/spec/nodeName").and_then(Value::as_str).is_some_and(|n| !n.is_empty()) {
            return Err(ApiError::conflict(gr, name, &format!("pod {name} is already assigned to node {:?}", old.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or(""))));
        }
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            return Err(ApiError::conflict(gr, name, &format!("pod {name} is being deleted, cannot be assigned to a host")));
        }
        let mut next = old.clone();
        next["spec"]["nodeName"] = json!(node);
        let now = object::now();
        let conditions = next["status"].as_object_mut().map(|s| s.entry("conditions").or_insert_with(|| json!([])));
        if let Some(Value::Array(list)) = conditions {
            list.retain(|c| c["type"] != "PodScheduled");
            list.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now}));
        }
        Ok(Some(crate::registry::canonical(pods, next)))
    });
    match result {
        Ok(r) => r.map(|_| ()),
        Err(_) => Err(ApiError::not_found(gr, name)),
    }
}

/// `gracePeriodSeconds` from the query or the `DeleteOptions` body.
fn grace_period(ctx: &Ctx, body: &Bytes) -> Result<Option<i64>, ApiError> {
    if let Some(q) = ctx.param("gracePeriodSeconds") {
        return q
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("invalid gracePeriodSeconds: {q}")));
    }
    if body.is_empty() {
        return Ok(None);
    }
    let options: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("the DeleteOptions body is not valid JSON: {e}"))
    })?;
    Ok(options.get("gracePeriodSeconds").and_then(Value::as_i64))
}

/// The request body decoded and checked as an object of `res`, with any warnings.
async fn decoded_body(
    state: &State,
    ctx: &Ctx,
    res: &ApiResource,
    req: Request,
) -> Result<(Value, WriteOutcome), ApiError> {
    let validation = FieldValidation::parse(ctx.param("fieldValidation"))?;
    let mut outcome = WriteOutcome::default();
    let body = parse_body(ctx, &read_body(req).await?, res)?;
    let body = state
        .registry
        .decode_body(res, body, validation, &mut outcome)?;
    Ok((body, outcome))
}

/// The field manager of a request (`fieldManager`, else the User-Agent).
fn writer(ctx: &Ctx, apply: bool) -> crate::registry::Writer {
    crate::registry::Writer {
        manager: crate::registry::managed::manager_name(ctx.param("fieldManager"), &ctx.user_agent),
        apply,
        dry_run: ctx.param("dryRun") == Some("All"),
    }
}

/// The success Status upstream returns when an object is deleted at once
/// (`finalizeDelete` with `ReturnDeletedObject` false).
fn delete_status(res: &ApiResource, obj: &Value) -> Value {
    let mut details = Map::new();
    details.insert("name".into(), json!(object::name(obj)));
    if !res.group.is_empty() {
        details.insert("group".into(), json!(res.group));
    }
    details.insert("kind".into(), json!(res.name));
    details.insert("uid".into(), json!(object::meta_str(obj, "uid")));
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": Value::Object(details),
    })
}

fn with_warnings(mut r: Response, outcome: &WriteOutcome) -> Response {
    for w in &outcome.warnings {
        // `299 - "<text>"`, as `warning.AddWarning` writes it.
        if let Ok(v) = HeaderValue::from_str(&format!("299 - {}", crate::status::quote(w))) {
            r.headers_mut().append("Warning", v);
        }
    }
    r
}

/// Decodes a JSON or YAML body into a value, with upstream's wording for garbage.
fn parse_body(ctx: &Ctx, body: &Bytes, res: &ApiResource) -> Result<Value, ApiError> {
    let ct = ctx.content_type.split(';').next().unwrap_or("").trim();
    let unrecognized = |detail: String| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): {detail}",
            res.kind
        ))
    };
    if body.is_empty() {
        return Err(unrecognized(
            "couldn't get version/kind; json parse error: unexpected end of JSON input".into(),
        ));
    }
    // The serializer's media types, in its order (`negotiation.MediaTypesForSerializer`);
    // custom resources have no protobuf encoding.
    let custom = crate::crds::serving(res).is_some();
    let accepted: &[&str] = if custom {
        &["application/json", "application/yaml"]
    } else {
        &["application/json", "application/yaml", PROTOBUF]
    };
    let v: Value = match ct {
        PROTOBUF if custom => return Err(ApiError::unsupported_media_type(accepted)),
        "application/yaml" | "application/x-yaml" | "text/yaml" => serde_yaml::from_slice(body)
            .map_err(|e| {
                unrecognized(format!("couldn't get version/kind; yaml parse error: {e}"))
            })?,
        "application/json" | "" | "*/*" => serde_json::from_slice(body).map_err(|e| {
            unrecognized(format!("couldn't get version/kind; json parse error: {e}"))
        })?,
        PROTOBUF => {
            let env = crate::schema::proto::read_envelope(body)
                .map_err(|e| unrecognized(e.to_string()))?;
            let ty = crate::schema::SCHEMA
                .object_type(&env.api_version, &env.kind)
                .ok_or_else(|| {
                    unrecognized(format!(
                        "no kind {:?} is registered for version {:?}",
                        env.kind, env.api_version
                    ))
                })?;
            let mut v = crate::schema::proto::decode(&ty, env.raw)
                .map_err(|e| unrecognized(e.to_string()))?;
            if let Some(m) = v.as_object_mut() {
                m.insert("apiVersion".into(), json!(env.api_version));
                m.insert("kind".into(), json!(env.kind));
            }
            v
        }
        _ => return Err(ApiError::unsupported_media_type(accepted)),
    };
    if !v.is_object() {
        return Err(unrecognized(
            "couldn't get version/kind; json parse error: expected an object".into(),
        ));
    }
    Ok(v)
}

/// Objects matching the request's selectors, in one namespace or all.
fn selected(
    state: &State,
    ctx: &Ctx,
    res: &ApiResource,
    ns: &str,
) -> Result<Vec<Arc<Value>>, ApiError> {
    let labels = LabelSelector::parse(ctx.param("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(ctx.param("fieldSelector").unwrap_or(""), res)?;
    let key = resource_key(res.group, res.resource());
    let (items, _) = state
        .registry
        .store
        .list(&key, if ns.is_empty() { None } else { Some(ns) });
    Ok(items
        .into_iter()
        .filter(|o| labels.matches(&object::labels(o)) && fields.matches(o))
        .collect())
}

fn list_object(
    res: &ApiResource,
    items: Vec<Value>,
    rv: u64,
    cont: Option<(String, usize)>,
) -> Value {
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(rv.to_string()));
    if let Some((token, remaining)) = cont {
        meta.insert("continue".into(), json!(token));
        meta.insert("remainingItemCount".into(), json!(remaining));
    }
    json!({
        "kind": format!("{}List", res.kind),
        "apiVersion": api_version(res),
        "metadata": Value::Object(meta),
        "items": items,
    })
}

/// The continue token: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}`,
/// as `apiserver pkg/storage/continue.go` encodes it.
fn encode_continue(rv: u64, start: &str) -> String {
    let raw = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{start}\u{0}")});
    base64::engine::general_purpose::URL_SAFE.encode(serde_json::to_vec(&raw).expect("json"))
}

fn decode_continue(token: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let start = v.get("start").and_then(Value::as_str).ok_or_else(bad)?;
    Ok(start.trim_end_matches('\u{0}').to_string())
}

fn list(state: &State, ctx: &Ctx, res: &ApiResource, ns: &str) -> Result<Response, ApiError> {
    let mut items = selected(state, ctx, res, ns)?;
    let rv = state.registry.store.current_rv();
    let limit: usize = match ctx.param("limit") {
        Some(l) if !l.is_empty() => l
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request(format!("invalid limit: {l}")))?
            .max(0) as usize,
        _ => 0,
    };
    let sort_key = |o: &Value| format!("{}/{}", object::meta_str(o, "namespace"), object::name(o));
    if let Some(token) = ctx.param("continue").filter(|t| !t.is_empty()) {
        let start = decode_continue(token)?;
        items.retain(|o| sort_key(o) > start);
    }
    let mut cont = None;
    if limit > 0 && items.len() > limit {
        let remaining = items.len() - limit;
        items.truncate(limit);
        let last = sort_key(items.last().expect("limit > 0"));
        cont = Some((encode_continue(rv, &last), remaining));
    }
    let items: Vec<Value> = items.iter().map(|o| object::without_type_meta(o)).collect();
    if crate::table::wants_table(&ctx.accept) {
        let mut t = crate::table::table(res, &items, Some(rv), ctx.param("includeObject"));
        if let Some((token, remaining)) = cont {
            t["metadata"]["continue"] = json!(token);
            t["metadata"]["remainingItemCount"] = json!(remaining);
        }
        return Ok(respond(ctx, StatusCode::OK, &t));
    }
    Ok(respond(
        ctx,
        StatusCode::OK,
        &list_object(res, items, rv, cont),
    ))
}

fn watch_line(kind: &str, obj: &Value) -> Bytes {
    let mut s = serde_json::to_string(&json!({"type": kind, "object": obj})).expect("json");
    s.push('\n');
    Bytes::from(s)
}

fn watch(
    state: &State,
    ctx: &Ctx,
    res: &ApiResource,
    ns: &str,
    name: &str,
) -> Result<Response, ApiError> {
    let labels = LabelSelector::parse(ctx.param("labelSelector").unwrap_or(""))?;
    let mut fields = FieldSelector::parse(ctx.param("fieldSelector").unwrap_or(""), res)?;
    if !name.is_empty() {
        fields.require_name(name);
    }
    let rv_param = ctx.param("resourceVersion").unwrap_or("");
    let since: u64 = if rv_param.is_empty() {
        0
    } else {
        rv_param
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv_param}")))?
    };
    let send_initial = ctx
        .param("sendInitialEvents")
        .and_then(super::request_info::parse_bool);
    let bookmarks = ctx
        .param("allowWatchBookmarks")
        .and_then(super::request_info::parse_bool)
        .unwrap_or(false);
    let timeout = ctx
        .param("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(DEFAULT_WATCH_SECONDS);
    let key = resource_key(res.group, res.resource());
    let store = state.registry.store.clone();
    let crate::store::Watch {
        replay,
        live: mut rx,
        rv: watch_rv,
    } = store
        .watch(since)
        .map_err(|e| ApiError::gone(e.to_string()))?;
    let ns_filter = ns.to_string();
    let matches = move |o: &Value| {
        (ns_filter.is_empty() || object::meta_str(o, "namespace") == ns_filter)
            && labels.matches(&object::labels(o))
            && fields.matches(o)
    };
    // Initial state: synthetic ADDED events for "" and "0", or when asked to.
    let mut initial: Vec<Bytes> = Vec::new();
    let mut start_rv = watch_rv;
    if since == 0 && send_initial != Some(false) {
        let (items, rv) = store.list(&key, if ns.is_empty() { None } else { Some(ns) });
        start_rv = rv;
        for o in items.iter().filter(|o| matches(o)) {
            initial.push(watch_line("ADDED", o));
        }
    } else {
        for e in replay
            .iter()
            .filter(|e| e.resource == key && matches(&e.object))
        {
            initial.push(watch_line(e.kind.as_str(), &e.object));
        }
    }
    let bookmark = {
        let kind = res.kind.to_string();
        let api_version = api_version(res);
        move |rv: u64, end_of_initial: bool| {
            let mut meta = Map::new();
            meta.insert("resourceVersion".into(), json!(rv.to_string()));
            meta.insert("creationTimestamp".into(), Value::Null);
            if end_of_initial {
                meta.insert(
                    "annotations".into(),
                    json!({"k8s.io/initial-events-end": "true"}),
                );
            }
            watch_line(
                "BOOKMARK",
                &json!({"kind": kind, "apiVersion": api_version, "metadata": meta}),
            )
        }
    };
    if send_initial == Some(true) && bookmarks {
        initial.push(bookmark(start_rv, true));
    }
    let stream = async_stream(initial, move |tx| async move {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(timeout);
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + BOOKMARK_EVERY, BOOKMARK_EVERY);
        let mut last_rv = start_rv;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                _ = tick.tick(), if bookmarks => {
                    if tx.send(bookmark(last_rv, false)).await.is_err() { break; }
                }
                ev = rx.recv() => match ev {
                    Ok(e) => {
                        if e.rv <= start_rv || e.resource != key {
                            continue;
                        }
                        last_rv = e.rv;
                        if !matches(&e.object) {
                            continue;
                        }
                        let kind = match e.kind { EventType::Added => "ADDED", EventType::Modified => "MODIFIED", EventType::Deleted => "DELETED" };
                        if tx.send(watch_line(kind, &e.object)).await.is_err() { break; }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        // The client fell too far behind; end the watch so it re-lists,
                        // as upstream does when its watch cache overflows.
                        let status = ApiError::gone("too old resource version").to_status();
                        let _ = tx.send(watch_line("ERROR", &status)).await;
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
    });
    let mut r = Response::new(Body::from_stream(stream));
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    h.insert(
        "Audit-Id",
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("uuid"),
    );
    Ok(r)
}

/// A byte stream of `first` followed by whatever `producer` sends.
fn async_stream<F, Fut>(
    first: Vec<Bytes>,
    producer: F,
) -> impl futures::Stream<Item = Result<Bytes, std::convert::Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Bytes>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    tokio::spawn(producer(tx));
    let head = futures::stream::iter(first.into_iter().map(Ok));
    let tail = futures::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|b| (Ok(b), rx)) },
    );
    futures::StreamExt::chain(head, tail)
}

#[allow(clippy::too_many_arguments)]
async fn patch_object(
    state: &State,
    ctx: &Ctx,
    res: &ApiResource,
    subresource: Option<&str>,
    ns: &str,
    name: &str,
    req: Request,
) -> Result<Response, ApiError> {
    // The patch types the handler takes, sorted as `sets.String.List()` sorts them; custom
    // resources take no strategic merge patch (apiextensions `customresource_handler.go`).
    let custom = crate::crds::serving(res).is_some();
    let accepted: &[&str] = if custom {
        &[
            "application/apply-patch+yaml",
            "application/json-patch+json",
            "application/merge-patch+json",
        ]
    } else {
        &[
            "application/apply-patch+yaml",
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
        ]
    };
    let pt = PatchType::from_content_type(&ctx.content_type)
        .filter(|pt| !(custom && *pt == PatchType::Strategic))
        .ok_or_else(|| ApiError::unsupported_media_type(accepted))?;
    let body = read_body(req).await?;
    let validation = FieldValidation::parse(ctx.param("fieldValidation"))?;
    let ty = crate::schema::SCHEMA.kind_type(res.group, res.version, res.kind);
    // A resourceVersion in the patch is a precondition; without one the patch applies to
    // whatever is current (upstream `patcher`, handlers/patch.go).
    let patch_sets_rv = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|p| p.pointer("/metadata/resourceVersion").cloned())
        .is_some();
    // Like `GuaranteedUpdate` with `ignoreNotFound` (an apply may create), this tries
    // again whenever another writer got there first.
    loop {
        let mut outcome = WriteOutcome::default();
        let patched = state.registry.guaranteed_update(
            res,
            subresource,
            ns,
            name,
            &writer(ctx, pt == PatchType::Apply),
            |current| {
                // Warnings are those of the attempt that is written.
                outcome = WriteOutcome::default();
                let patched = patch::apply(pt, ty.as_ref(), current, &body)?;
                let mut patched =
                    state
                        .registry
                        .decode_body(res, patched, validation, &mut outcome)?;
                if !patch_sets_rv {
                    let rv = object::meta_str(current, "resourceVersion").to_string();
                    object::meta_mut(&mut patched).insert("resourceVersion".into(), json!(rv));
                }
                Ok(patched)
            },
        );
        match patched {
            Ok(updated) => {
                return Ok(with_warnings(
                    respond(ctx, StatusCode::OK, &updated),
                    &outcome,
                ));
            }
            // Server-side apply creates what does not exist.
            Err(e) if e.code == 404 && pt == PatchType::Apply && subresource.is_none() => {
                let mut outcome = WriteOutcome::default();
                let applied = patch::apply(pt, ty.as_ref(), &json!({}), &body)?;
                let mut applied =
                    state
                        .registry
                        .decode_body(res, applied, validation, &mut outcome)?;
                // The object is the one the URL names (`rest.Update` in
                // registry/generic/registry/store.go checks the name it is given).
                match object::name(&applied) {
                    "" => {
                        object::meta_mut(&mut applied).insert("name".into(), json!(name));
                    }
                    n if n != name => {
                        return Err(ApiError::bad_request(format!(
                            "the name of the object ({n}) does not match the name on the URL ({name})"
                        )));
                    }
                    _ => {}
                }
                match state.registry.create(res, ns, applied, &writer(ctx, true)) {
                    Ok(created) => {
                        return Ok(with_warnings(
                            respond(ctx, StatusCode::CREATED, &created),
                            &outcome,
                        ));
                    }
                    // Created by someone else in between: apply to that object instead.
                    Err(e) if e.code == 409 && e.reason == "AlreadyExists" => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn subresource(
    state: &State,
    ctx: &Ctx,
    res: &ApiResource,
    sub: &ApiResource,
    ns: &str,
    name: &str,
    req: Request,
) -> Result<Response, ApiError> {
    let verb = ctx.info.verb.as_str();
    match (sub.subresource(), verb) {
        (Some("status"), "get") => {
            let obj = state.registry.get(res, ns, name)?;
            Ok(respond(ctx, StatusCode::OK, &obj))
        }
        (Some("status"), "update") => {
            let (body, outcome) = decoded_body(state, ctx, res, req).await?;
            let updated =
                state
                    .registry
                    .update(res, Some("status"), ns, name, body, &writer(ctx, false))?;
            Ok(with_warnings(
                respond(ctx, StatusCode::OK, &updated),
                &outcome,
            ))
        }
        (Some("status"), "patch") => {
            patch_object(state, ctx, res, Some("status"), ns, name, req).await
        }
        (Some("exec"), "get" | "create") if res.name == "pods" => {
            super::exec::exec(state, ctx, ns, name, req).await
        }
        (Some("log"), "get") if res.name == "pods" => super::exec::logs(state, ctx, ns, name).await,
        (Some("binding"), "create") if res.name == "pods" => {
            let body = parse_body(ctx, &read_body(req).await?, sub)?;
            bind(state, ns, name, &body)?;
            Ok(respond(
                ctx,
                StatusCode::CREATED,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
            ))
        }
        (Some("token"), "create") if res.name == "serviceaccounts" => {
            let body = parse_body(ctx, &read_body(req).await?, sub)?;
            let out = reviews::token_request(state, ns, name, body).await?;
            Ok(respond(ctx, StatusCode::CREATED, &out))
        }
        _ => Err(ApiError {
            code: 501,
            reason: "NotImplemented",
            message: format!(
                "the embedded cluster does not serve {} {} yet",
                verb, sub.name
            ),
            details: None,
        }),
    }
}
