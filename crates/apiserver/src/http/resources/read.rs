//! Reads: get (with server-side printing), list (selectors, `limit` and `continue`, as
//! `apiserver pkg/endpoints/handlers/get.go` and `pkg/storage` page a list).

use super::super::negotiate::{Output, resource_output};
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

/// What the request accepts of a resource's route, negotiated before anything else
/// (`NegotiateOutputMediaType` in `handlers/get.go`): a 406 refuses the rest.
pub(super) fn accepted(
    ctx: &Ctx,
    res: &ApiResource,
    collection_get: bool,
) -> Result<Output, ApiError> {
    let custom = crate::crds::serving(res).is_some();
    resource_output(&ctx.accept, custom, collection_get)
}

/// One object, or a one-row `Table` of it.
pub(super) fn get(state: &State, req: &ApiRequest, t: &Target<'_>) -> Result<Response, ApiError> {
    accepted(&req.ctx, t.res, false)?;
    let obj = state.registry.get(t.res, t.namespace, t.name)?;
    if crate::table::wants_table(&req.ctx.accept) {
        // The table carries the object's resourceVersion (`ConvertToTable` copies it from
        // what it converts, k8s.io/apiserver pkg/registry/rest/table.go).
        let rv = object::meta_str(&obj, "resourceVersion").parse().ok();
        let table =
            crate::table::table(t.res, &[(*obj).clone()], rv, req.ctx.param("includeObject"));
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
    cont: Option<(String, Option<usize>)>,
) -> Value {
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(rv.to_string()));
    if let Some((token, remaining)) = cont {
        meta.insert("continue".into(), json!(token));
        if let Some(remaining) = remaining {
            meta.insert("remainingItemCount".into(), json!(remaining));
        }
    }
    json!({
        "kind": format!("{}List", res.kind),
        "apiVersion": res.api_version(),
        "metadata": Value::Object(meta),
        "items": items,
    })
}

/// The continue token: unpadded base64url of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}`
/// where the key is the last item's storage key after the list's key prefix
/// (`/registry/<resource>[/<namespace>]`, no trailing slash), as
/// `apiserver pkg/storage/continue.go` (`EncodeContinue`) writes it.
fn encode_continue(rv: u64, start: &str) -> String {
    let raw = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{start}\u{0}")});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&raw).expect("json"))
}

/// `storage.DecodeContinue` (`apiserver pkg/storage/continue.go`) as the list handler
/// reports its errors (`invalid continue token: ...`): the start key, `/`-rooted.
fn decode_continue(token: &str) -> Result<String, ApiError> {
    const GENERIC: &str = "continue key is not valid";
    let bad = |why: String| ApiError::bad_request(format!("invalid continue token: {why}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|e| bad(format!("{GENERIC}: {}", go_base64_error(&e, token.len()))))?;
    let v: Value = serde_json::from_slice(&raw)
        .map_err(|e| bad(format!("{GENERIC}: {}", go_json_error(&raw, &e))))?;
    let version = v.get("v").and_then(Value::as_str).unwrap_or("");
    if version != "meta.k8s.io/v1" {
        return Err(bad(format!(
            "{GENERIC}: server does not recognize this encoded version {version}"
        )));
    }
    if v.get("rv").and_then(Value::as_i64).unwrap_or(0) == 0 {
        return Err(bad(format!(
            "{GENERIC}: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        )));
    }
    let start = v.get("start").and_then(Value::as_str).unwrap_or("");
    if start.is_empty() {
        return Err(bad(format!(
            "{GENERIC}: encoded start key empty (version meta.k8s.io/v1)"
        )));
    }
    let key = if start.starts_with('/') {
        start.to_string()
    } else {
        format!("/{start}")
    };
    // `path.Clean` must leave it alone: no `..`, `.`, `//` or trailing `/`.
    let unclean = key
        .split('/')
        .skip(1)
        .any(|s| s.is_empty() || s == "." || s == "..");
    if unclean && key != "/" {
        return Err(bad(format!("{GENERIC}: {start}")));
    }
    Ok(key)
}

/// Go's `base64.CorruptInputError` for what Rust's decoder found.
fn go_base64_error(e: &base64::DecodeError, len: usize) -> String {
    let at = match e {
        base64::DecodeError::InvalidByte(at, _) | base64::DecodeError::InvalidLastSymbol(at, _) => {
            *at
        }
        _ => len.saturating_sub(1),
    };
    format!("illegal base64 data at input byte {at}")
}

/// encoding/json's syntax error for the common cases (a bad first character, a truncated
/// document); anything else in serde_json's words.
fn go_json_error(raw: &[u8], e: &serde_json::Error) -> String {
    let first = raw.iter().find(|b| !b" \t\r\n".contains(b));
    match first {
        None => "unexpected end of JSON input".into(),
        Some(&c) if !b"{[\"-0123456789tfn".contains(&c) => {
            format!(
                "invalid character {} looking for beginning of value",
                go_quote_char(c)
            )
        }
        _ if e.is_eof() => "unexpected end of JSON input".into(),
        _ => e.to_string(),
    }
}

/// encoding/json's `quoteChar`: the byte as a rune, quoted as strconv.Quote does.
fn go_quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        _ => {
            let quoted = crate::status::quote(&char::from(c).to_string());
            format!("'{}'", &quoted[1..quoted.len() - 1])
        }
    }
}

/// One page of a list, as the watch cache serves it (`apiserver pkg/storage/cacher`,
/// `GetList`, then `storage.PrepareContinueToken`): the items from the continue key on
/// are walked in key order, the selected kept until `limit`; there is more when items
/// remain after the last one kept, selected or not; `remainingItemCount` is given only
/// when nothing is selected out (its count would be wrong otherwise).
struct Page {
    items: Vec<Arc<Value>>,
    cont: Option<(String, Option<usize>)>,
}

fn page(state: &State, ctx: &Ctx, t: &Target<'_>, limit: usize, rv: u64) -> Result<Page, ApiError> {
    let label_text = ctx.param("labelSelector").unwrap_or("");
    let field_text = ctx.param("fieldSelector").unwrap_or("");
    let labels = LabelSelector::parse(label_text)?;
    let fields = FieldSelector::parse(field_text, t.res)?;
    let (mut all, _) = state.registry.list(t.res, Some(t.namespace));
    // The key after the list's prefix: `/<name>` within a namespace or for a
    // cluster-scoped kind, `/<namespace>/<name>` across namespaces.
    let key = |o: &Value| {
        let ns = object::meta_str(o, "namespace");
        if t.namespace.is_empty() && !ns.is_empty() {
            format!("/{ns}/{}", object::name(o))
        } else {
            format!("/{}", object::name(o))
        }
    };
    all.sort_by_key(|o| key(o));
    let continued = match ctx.param("continue").filter(|t| !t.is_empty()) {
        Some(token) => {
            let start = decode_continue(token)?;
            all.retain(|o| key(o) >= start);
            true
        }
        None => false,
    };
    let mut items = Vec::new();
    let mut more = false;
    for (i, o) in all.iter().enumerate() {
        if labels.matches(&object::labels(o)) && fields.matches(o) {
            items.push(o.clone());
        }
        if limit > 0 && items.len() >= limit {
            more = i + 1 < all.len();
            break;
        }
    }
    let cont = more.then(|| {
        // A first page comes from the watch cache, whose key prefix has no trailing `/`; a
        // continued one from etcd, whose prefix has one (`pkg/storage/etcd3/store.go`).
        let last = key(items.last().expect("limit > 0 items"));
        let last = if continued {
            last[1..].to_string()
        } else {
            last
        };
        let unselected = label_text.is_empty() && field_text.is_empty();
        let remaining = unselected.then(|| all.len() - limit);
        (encode_continue(rv, &last), remaining)
    });
    Ok(Page { items, cont })
}

/// `ValidateListOptions` (apimachinery `pkg/apis/meta/internalversion/validation`), as a
/// list, a watch and a deletecollection check their options before anything else, with
/// the WatchList feature gate off as in v1.33 (apiserver `pkg/features/kube_features.go`:
/// beta, off by default since 1.33).
pub(super) fn validate_list_options(ctx: &Ctx) -> Result<(), ApiError> {
    use crate::status::field;
    let given = |k: &str| ctx.param(k).filter(|v| !v.is_empty());
    let watch = ctx
        .param("watch")
        .is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    let send_initial = ctx.param("sendInitialEvents").is_some();
    let matching = given("resourceVersionMatch");
    let mut errs = Vec::new();
    if watch {
        if send_initial {
            if matching != Some("NotOlderThan") {
                errs.push(field::forbidden(
                    "resourceVersionMatch",
                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                ));
            }
            errs.push(field::forbidden(
                "sendInitialEvents",
                "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
            ));
        }
        if let Some(m) = matching {
            if !send_initial {
                errs.push(field::forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                ));
            }
            if m != "NotOlderThan" {
                errs.push(field::not_supported(
                    "resourceVersionMatch",
                    m,
                    &["NotOlderThan"],
                ));
            }
            if given("continue").is_some() {
                errs.push(field::forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
        }
    } else {
        if let Some(m) = matching {
            if given("resourceVersion").is_none() {
                errs.push(field::forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            if given("continue").is_some() {
                errs.push(field::forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
            if m != "Exact" && m != "NotOlderThan" {
                errs.push(field::not_supported(
                    "resourceVersionMatch",
                    m,
                    &["Exact", "NotOlderThan", ""],
                ));
            }
            if m == "Exact" && ctx.param("resourceVersion") == Some("0") {
                errs.push(field::forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                ));
            }
        }
        if send_initial {
            errs.push(field::forbidden(
                "sendInitialEvents",
                "sendInitialEvents is forbidden for list",
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid("meta.k8s.io", "ListOptions", "", errs))
    }
}

pub(super) fn list(state: &State, req: &ApiRequest, t: &Target<'_>) -> Result<Response, ApiError> {
    let (ctx, res) = (&req.ctx, t.res);
    validate_list_options(ctx)?;
    accepted(ctx, res, true)?;
    let rv = state.registry.current_rv();
    let limit: usize = match ctx.param("limit") {
        Some(l) if !l.is_empty() => l
            .parse::<i64>()
            .map_err(|e| ApiError::bad_request(go_parse_int_error(l, &e)))?
            .max(0) as usize,
        _ => 0,
    };
    let Page { items, cont } = page(state, ctx, t, limit, rv)?;
    let items: Vec<Value> = items.iter().map(|o| object::without_type_meta(o)).collect();
    if crate::table::wants_table(&ctx.accept) {
        let mut t = crate::table::table(res, &items, Some(rv), ctx.param("includeObject"));
        if let Some((token, remaining)) = cont {
            t["metadata"]["continue"] = json!(token);
            if let Some(remaining) = remaining {
                t["metadata"]["remainingItemCount"] = json!(remaining);
            }
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
