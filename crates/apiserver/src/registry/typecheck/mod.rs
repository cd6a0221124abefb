//! A patch whose result is not of the kind's types, refused as kube-apiserver refuses it,
//! which differs with the patch type (apiserver `pkg/endpoints/handlers/patch.go`):
//!
//! - an apply: structured-merge-diff checks the applied configuration against the kind's
//!   schema before anything is merged (apimachinery
//!   `pkg/util/managedfields/internal/structuredmerge.go`, `Apply`: `failed to create typed
//!   patch object (<namespace>/<name>; <group>/<version>, Kind=<kind>): <errors>`), a
//!   plain error, so a 500 without a reason ([`smd`]); what that lets through (`true` for
//!   a quantity) the conversion of the merged object to the kind's struct refuses, a 500
//!   too (`failed to convert new object ...`, [`convert`]);
//! - a JSON patch or merge patch: the patch library writes the patched object
//!   ([`lazy`], [`jsonpatch`]), which the codec decodes; a decoding error is a 422 naming
//!   the patched text (`field.Invalid(field.NewPath("patch"), string(patchedJS), err)`)
//!   in `encoding/json`'s words (`schema::gojson`);
//! - a strategic merge patch: the merged map is converted to the kind's struct
//!   ([`convert`]); an error is a 422 naming the patch map as `%+v` prints it.

mod convert;
mod gofmt;
mod jsonpatch;
mod lazy;
mod smd;

use crate::discovery::ApiResource;
use crate::schema::{SCHEMA, Type};
use crate::status::{ApiError, field, quote};
use serde_json::Value;

/// `maxJSONPatchOperations` (apiserver `pkg/endpoints/handlers/patch.go`).
const MAX_JSON_PATCH_OPERATIONS: usize = 10000;

/// A plain Go error as `ErrorToAPIStatus` answers it: a 500 with no reason (apimachinery
/// `pkg/api/errors`, apiserver `pkg/endpoints/handlers/responsewriters/status.go`).
fn plain_error(message: String) -> ApiError {
    ApiError {
        code: 500,
        reason: "",
        message,
        details: None,
    }
}

/// What an apply's messages name: the kind's type, its `GroupVersionKind` as Go prints it
/// (`/v1, Kind=ConfigMap`) and the configuration's namespace and name (`objectGVKNN`).
struct Applied {
    ty: Type,
    gvk: String,
    object: String,
}

/// The kind of an applied configuration `config`, when upstream gets as far as its
/// structured-merge-diff checks: once the configuration is known to be of the resource's
/// kind and version (`versionCheckManager`) and to carry no `managedFields`. Refusals of
/// those are `registry::apply_ownership`'s, so a configuration that would get one is let
/// through here.
fn applied_kind(res: &ApiResource, subresource: Option<&str>, config: &Value) -> Option<Applied> {
    if !matches!(subresource, None | Some("status")) {
        return None;
    }
    let (group, version) = res.kind_gv.unwrap_or((res.group, res.version));
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let api_version = text(config.get("apiVersion"));
    let (g, v) = match api_version.split('/').collect::<Vec<_>>().as_slice() {
        [v] => ("", *v),
        [g, v] => (*g, *v),
        _ => return None,
    };
    let managed = config.pointer("/metadata/managedFields");
    if (g, v, text(config.get("kind")).as_str()) != (group, version, res.kind)
        || managed.is_some_and(|m| !m.is_null())
    {
        return None;
    }
    let meta = |k: &str| text(config.pointer(&format!("/metadata/{k}")));
    Some(Applied {
        ty: SCHEMA.kind_type(group, version, res.kind)?,
        gvk: format!("{group}/{version}, Kind={}", res.kind),
        object: format!("{}/{}", meta("namespace"), meta("name")),
    })
}

/// structured-merge-diff's check of an applied configuration before it is merged
/// (`ObjectToTyped` of the patch object, `typed/validate.go`).
pub fn applied(
    res: &ApiResource,
    subresource: Option<&str>,
    config: &Value,
) -> Result<(), ApiError> {
    let Some(a) = applied_kind(res, subresource, config) else {
        return Ok(());
    };
    let errs = smd::validate(&a.ty, None, config);
    if errs.is_empty() {
        return Ok(());
    }
    Err(plain_error(format!(
        "failed to create typed patch object ({}; {}): {}",
        a.object,
        a.gvk,
        smd::errors_text(&errs)
    )))
}

/// The merged object of an apply converted to the kind's struct (`toVersioned`: the
/// scheme's `unstructuredToTyped`, apimachinery `pkg/runtime/scheme.go`), which refuses
/// what structured-merge-diff let through (`true` for a quantity, `2.5` for an int32).
pub fn applied_result(
    res: &ApiResource,
    subresource: Option<&str>,
    config: &Value,
    merged: &mut Value,
) -> Result<(), ApiError> {
    let Some(a) = applied_kind(res, subresource, config) else {
        return Ok(());
    };
    match convert::from_unstructured(&a.ty, merged) {
        Some(e) => Err(plain_error(format!(
            "failed to convert new object ({}; {}) to proper version: unable to convert unstructured object to {}: {e}",
            a.object, a.gvk, a.gvk
        ))),
        None => Ok(()),
    }
}

/// `runtime.Encode` of the current object: Go's compact JSON.
fn encoded(current: &Value) -> String {
    lazy::go_compact(&serde_json::to_string(current).unwrap_or_default(), true)
}

/// The text of `current` patched by the JSON patch `patch` (well-formed JSON), as
/// `applyJSPatch` makes it: a patch that does not apply is the generic 422.
pub fn json_patch(current: &Value, patch: &str) -> Result<String, ApiError> {
    let ops = jsonpatch::operations(patch).map_err(refusal)?;
    if ops.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(ApiError {
            code: 413,
            reason: "RequestEntityTooLarge",
            message: format!(
                "Request entity too large: The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {}",
                ops.len()
            ),
            details: None,
        });
    }
    jsonpatch::apply(&encoded(current), &ops).map_err(refusal)
}

fn refusal(r: jsonpatch::Refusal) -> ApiError {
    match r {
        jsonpatch::Refusal::Decode(message) => ApiError::bad_request(message),
        jsonpatch::Refusal::Apply => ApiError::invalid_patch(),
    }
}

/// The text of `current` patched by the merge patch `patch` (well-formed JSON).
pub fn merge_patch(current: &Value, patch: &str) -> Result<String, ApiError> {
    lazy::merge_patch(&encoded(current), patch).map_err(|r| match r {
        lazy::MergeRefusal::BadPatch => ApiError::bad_request("Invalid JSON Patch"),
        lazy::MergeRefusal::NotAnObject(kind) => ApiError::bad_request(format!(
            "error decoding patch: json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
        )),
    })
}

/// The 422 of a patch whose result does not decode: `value` is what upstream names.
fn invalid_patch(value: &str, why: &str) -> ApiError {
    ApiError::invalid(
        "",
        "",
        "",
        vec![field::invalid("patch", &quote(value), why)],
    )
}

/// The patched text of a JSON patch or merge patch decoded as an object of `ty`
/// (`runtime.DecodeInto` of the patched JSON): `apiVersion` and `kind` first, then the
/// kind's fields, in `encoding/json`'s words.
pub fn patched_object(ty: Option<&Type>, text: &str) -> Result<Value, ApiError> {
    use crate::schema::gojson;
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => {
            let why = gojson::syntax_error(text.as_bytes()).unwrap_or_default();
            return Err(invalid_patch(text, &why));
        }
    };
    let (_, kind) = gojson::interpret(&v).map_err(|e| invalid_patch(text, &e))?;
    // The kind's own type; a patch that changed the kind is refused afterwards.
    if let Some(Type::Named(id)) = ty
        && (kind.is_empty() || id.rsplit('.').next() == Some(kind.as_str()))
        && let Some(e) = gojson::type_error(id, &v, &gojson::number_literals(text.as_bytes()))
    {
        return Err(invalid_patch(text, &e));
    }
    Ok(v)
}

/// A strategic merge patch's result `merged` converted to the kind `ty`; `patch` is the
/// patch as decoded, which the 422 prints.
pub fn strategic_result(
    ty: Option<&Type>,
    patch: &Value,
    merged: &mut Value,
) -> Result<(), ApiError> {
    let Some(ty) = ty else {
        return Ok(());
    };
    match convert::from_unstructured(ty, merged) {
        Some(e) => Err(invalid_patch(&gofmt::go_v(patch, gofmt::Ints::Literal), &e)),
        None => Ok(()),
    }
}

/// Go's words for a JSON body that is not an object, decoded into a
/// `map[string]interface{}`: the syntax error of malformed text, else the type error.
pub fn not_a_map(body: &[u8]) -> Option<String> {
    if let Some(e) = crate::schema::gojson::syntax_error(body) {
        return Some(e);
    }
    let first = body.iter().find(|c| !c.is_ascii_whitespace())?;
    let kind = match first {
        b'{' | b'n' => return None,
        b'[' => "array",
        b'"' => "string",
        b't' | b'f' => "bool",
        _ => "number",
    };
    Some(format!(
        "json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
    ))
}
