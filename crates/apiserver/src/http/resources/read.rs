//! Reads: get (with server-side printing), list (selectors, `limit` and `continue`, as
//! `apiserver pkg/endpoints/handlers/get.go` and `pkg/storage` page a list).

use super::super::request::{ApiRequest, Ctx};
use super::super::respond::respond;
use crate::State;
use crate::discovery::ApiResource;
use crate::object;
use crate::registry::Target;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use axum::response::Response;
use base64::Engine;
use http::StatusCode;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// One object, or a one-row `Table` of it.
pub(super) fn get(state: &State, req: &ApiRequest, t: &Target<'_>) -> Result<Response, ApiError> {
    let obj = state.registry.get(t.res, t.namespace, t.name)?;
    if crate::table::wants_table(&req.ctx.accept) {
        let table = crate::table::table(
            t.res,
            &[(*obj).clone()],
            None,
            req.ctx.param("includeObject"),
        );
        return Ok(respond(&req.ctx, StatusCode::OK, &table));
    }
    Ok(respond(&req.ctx, StatusCode::OK, &obj))
}

/// Objects matching the request's selectors, in one namespace or all.
pub(super) fn selected(
    state: &State,
    ctx: &Ctx,
    t: &Target<'_>,
) -> Result<Vec<Arc<Value>>, ApiError> {
    let labels = LabelSelector::parse(ctx.param("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(ctx.param("fieldSelector").unwrap_or(""), t.res)?;
    let (items, _) = state.registry.list(t.res, Some(t.namespace));
    Ok(items
        .into_iter()
        .filter(|o| labels.matches(&object::labels(o)) && fields.matches(o))
        .collect())
}

pub(super) fn list_object(
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
        "apiVersion": res.api_version(),
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

pub(super) fn list(state: &State, req: &ApiRequest, t: &Target<'_>) -> Result<Response, ApiError> {
    let (ctx, res) = (&req.ctx, t.res);
    let mut items = selected(state, ctx, t)?;
    let rv = state.registry.current_rv();
    let limit: usize = match ctx.param("limit") {
        Some(l) if !l.is_empty() => l
            .parse::<i64>()
            .map_err(|e| ApiError::bad_request(go_parse_int_error(l, &e)))?
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

/// `strconv.ParseInt`'s error, as the query-parameter conversion of ListOptions reports it
/// (apimachinery `pkg/runtime/conversion.go`, `Convert_Slice_string_To_int64`).
fn go_parse_int_error(text: &str, e: &std::num::ParseIntError) -> String {
    use std::num::IntErrorKind;
    let why = match e.kind() {
        IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => "value out of range",
        _ => "invalid syntax",
    };
    format!(
        "strconv.ParseInt: parsing {}: {why}",
        crate::status::quote(text)
    )
}
