//! Writes: create, update (PUT), patch, delete and deletecollection, as
//! `apiserver pkg/endpoints/handlers/{create,update,patch,delete}.go` answer them: the
//! codes, the `Warning` headers of decoding, the `Status` of an immediate delete.

use super::super::request::{ApiRequest, Ctx};
use super::super::respond::{respond, with_warnings};
use super::read::accepted;
use crate::State;
use crate::discovery::ApiResource;
use crate::object;
use crate::registry::patch::{self, PatchType};
use crate::registry::{FieldValidation, Target, WriteOutcome};
use crate::status::ApiError;
use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use serde_json::{Map, Value, json};

pub(super) fn create(
    state: &State,
    req: &ApiRequest,
    t: &Target<'_>,
) -> Result<Response, ApiError> {
    accepted(&req.ctx, t.res, false)?;
    let (body, outcome) = req.decoded(&state.registry, t.res)?;
    let created = state.registry.create(
        t.res,
        &req.ctx.info.namespace,
        body,
        &writer(&req.ctx, false),
    )?;
    Ok(with_warnings(
        respond(&req.ctx, StatusCode::CREATED, &created),
        &outcome,
    ))
}

/// PUT, on the object or its `status`.
pub(super) fn update(
    state: &State,
    req: &ApiRequest,
    t: &Target<'_>,
    subresource: Option<&str>,
) -> Result<Response, ApiError> {
    accepted(&req.ctx, t.res, false)?;
    let (body, outcome) = req.decoded(&state.registry, t.res)?;
    let updated = state.registry.update(
        t.res,
        subresource,
        t.namespace,
        t.name,
        body,
        &writer(&req.ctx, false),
    )?;
    Ok(with_warnings(
        respond(&req.ctx, StatusCode::OK, &updated),
        &outcome,
    ))
}

pub(super) fn delete(
    state: &State,
    req: &ApiRequest,
    t: &Target<'_>,
) -> Result<Response, ApiError> {
    accepted(&req.ctx, t.res, false)?;
    let (grace, preconditions) = delete_options(&req.ctx, &req.body)?;
    let (obj, lingers) = state.registry.delete_with(
        t.res,
        t.namespace,
        t.name,
        req.ctx.dry_run(),
        grace,
        &preconditions,
    )?;
    if lingers || crate::registry::returns_deleted_object(t.res) {
        return Ok(respond(&req.ctx, StatusCode::OK, &obj));
    }
    Ok(respond(
        &req.ctx,
        StatusCode::OK,
        &delete_status(t.res, &obj),
    ))
}

pub(super) fn delete_collection(
    state: &State,
    req: &ApiRequest,
    t: &Target<'_>,
) -> Result<Response, ApiError> {
    // Negotiated first, then the list options checked (`handlers/delete.go`,
    // `DeleteCollection`).
    accepted(&req.ctx, t.res, false)?;
    super::read::validate_list_options(&req.ctx)?;
    let items = super::read::selected(state, &req.ctx, t)?;
    // The answer is the list as it was listed, before each item's deletion
    // (`registry/store.go`, `DeleteCollection`); an item already gone is no error.
    let mut deleted = Vec::new();
    for item in items {
        let n = object::name(&item).to_string();
        let item_ns = object::meta_str(&item, "namespace").to_string();
        match state
            .registry
            .delete(t.res, &item_ns, &n, req.ctx.dry_run(), None)
        {
            Ok(_) => deleted.push(object::without_type_meta(&item)),
            Err(e) if e.code == 404 => deleted.push(object::without_type_meta(&item)),
            Err(e) => return Err(e),
        }
    }
    let rv = state.registry.current_rv();
    Ok(respond(
        &req.ctx,
        StatusCode::OK,
        &super::read::list_object(t.res, deleted, rv, None),
    ))
}

/// `gracePeriodSeconds` (the query's first, as upstream's parameter codec lets it win)
/// and `preconditions` from the query and the `DeleteOptions` body.
fn delete_options(
    ctx: &Ctx,
    body: &Bytes,
) -> Result<(Option<i64>, crate::registry::Preconditions), ApiError> {
    let options: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("the DeleteOptions body is not valid JSON: {e}"))
        })?
    };
    let grace = match ctx.param("gracePeriodSeconds") {
        Some(q) => Some(
            q.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid gracePeriodSeconds: {q}")))?,
        ),
        None => options.get("gracePeriodSeconds").and_then(Value::as_i64),
    };
    let text = |key: &str| {
        options
            .pointer(&format!("/preconditions/{key}"))
            .and_then(Value::as_str)
            .map(String::from)
    };
    let preconditions = crate::registry::Preconditions {
        uid: text("uid"),
        resource_version: text("resourceVersion"),
    };
    Ok((grace, preconditions))
}

/// The field manager of a request (`fieldManager`, else the User-Agent).
fn writer(ctx: &Ctx, apply: bool) -> crate::registry::Writer {
    crate::registry::Writer {
        manager: crate::registry::managed::manager_name(ctx.param("fieldManager"), &ctx.user_agent),
        apply,
        dry_run: ctx.param("dryRun") == Some("All"),
        config: None,
        force: apply && ctx.param("force") == Some("true"),
    }
}

/// The writer of a patch: an apply's carries its configuration as sent, whose field set
/// becomes the applier's.
fn patch_writer(ctx: &Ctx, pt: PatchType, body: &[u8]) -> crate::registry::Writer {
    let mut w = writer(ctx, pt == PatchType::Apply);
    if pt == PatchType::Apply {
        w.config = object::from_yaml(body).ok().filter(Value::is_object);
    }
    w
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

/// The patch type of the request's content type; custom resources take no strategic
/// merge patch (apiextensions `customresource_handler.go`). A 415 lists the types the
/// handler takes, sorted as `sets.String.List()` sorts them.
fn patch_type(ctx: &Ctx, res: &ApiResource) -> Result<PatchType, ApiError> {
    let custom = crate::crds::serving(res).is_some();
    // A built-in kind's PATCH route consumes only the patch types, so go-restful refuses any
    // other before the handler; custom resources have no go-restful route, and their
    // handler names what it accepts, in its own order (apiextensions-apiserver
    // pkg/apiserver/customresource_handler.go, `serveResource`: JSON, merge, apply).
    let refused = || {
        if custom {
            ApiError::unsupported_media_type(&[
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/apply-patch+yaml",
            ])
        } else {
            ApiError::media_type_not_consumed()
        }
    };
    PatchType::from_content_type(&ctx.content_type)
        .filter(|pt| !(custom && *pt == PatchType::Strategic))
        .ok_or_else(refused)
}

/// apimachinery `ValidatePatchOptions` (pkg/apis/meta/v1/validation/validation.go): an
/// apply names its field manager; `force` is for applies only.
fn validate_patch_options(ctx: &Ctx, pt: PatchType) -> Result<(), ApiError> {
    let cause = match pt {
        PatchType::Apply if ctx.param("fieldManager").is_none_or(str::is_empty) => {
            crate::status::field::required("fieldManager", "is required for apply patch")
        }
        PatchType::Apply => return Ok(()),
        _ if ctx.param("force").is_some() => {
            crate::status::field::forbidden("force", "may not be specified for non-apply patch")
        }
        _ => return Ok(()),
    };
    Err(ApiError::invalid(
        "meta.k8s.io",
        "PatchOptions",
        "",
        vec![cause],
    ))
}

/// What a patch request applies, to any object.
struct Patcher<'a> {
    state: &'a State,
    ctx: &'a Ctx,
    res: &'a ApiResource,
    pt: PatchType,
    body: &'a [u8],
    validation: FieldValidation,
    ty: Option<crate::schema::Type>,
    /// A resourceVersion in the patch is a precondition; without one the patch applies to
    /// whatever is current (upstream `patcher`, handlers/patch.go).
    sets_rv: bool,
    /// The subresource patched.
    subresource: Option<&'a str>,
    /// Who writes; for an apply, with its configuration and `force`.
    writer: crate::registry::Writer,
}

impl Patcher<'_> {
    /// The patch applied to `current` and decoded as the kind, with its warnings.
    fn apply(&self, current: &Value, outcome: &mut WriteOutcome) -> Result<Value, ApiError> {
        let mut patched = patch::apply(self.pt, self.ty.as_ref(), current, self.body)?;
        if self.pt == PatchType::Apply {
            // structured-merge-diff checks the configuration against the kind's schema
            // before it merges it (`registry::typecheck::applied`).
            if let Some(config) = &self.writer.config {
                crate::registry::typecheck::applied(self.res, self.subresource, config)?;
            }
            // Field ownership is settled on the merged object before it is decoded and
            // defaulted (apimachinery `structuredMergeManager.Apply`).
            patched = crate::registry::apply_ownership(
                self.res,
                self.subresource,
                current,
                patched,
                &self.writer,
            )?;
            if let Some(config) = &self.writer.config {
                crate::registry::typecheck::applied_result(
                    self.res,
                    self.subresource,
                    config,
                    &mut patched,
                )?;
            }
        }
        let mut patched =
            self.state
                .registry
                .decode_body(self.res, patched, self.validation, outcome)?;
        let rv = object::meta_str(current, "resourceVersion");
        if !self.sets_rv && !rv.is_empty() {
            object::meta_mut(&mut patched).insert("resourceVersion".into(), json!(rv));
        }
        Ok(patched)
    }

    /// Server-side apply of an object that does not exist: it is created, with the name
    /// the URL gives (`rest.Update` in registry/generic/registry/store.go checks it).
    /// `None` when another writer created it first.
    fn create(&self, t: &Target<'_>) -> Result<Option<Response>, ApiError> {
        let mut outcome = WriteOutcome::default();
        let mut applied = self.apply(&json!({}), &mut outcome)?;
        match object::name(&applied) {
            "" => {
                object::meta_mut(&mut applied).insert("name".into(), json!(t.name));
            }
            n if n != t.name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({})",
                    t.name
                )));
            }
            _ => {}
        }
        match self
            .state
            .registry
            .create(self.res, t.namespace, applied, &self.writer)
        {
            Ok(created) => Ok(Some(with_warnings(
                respond(self.ctx, StatusCode::CREATED, &created),
                &outcome,
            ))),
            Err(e) if e.code == 409 && e.reason == "AlreadyExists" => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// PATCH (all four types) as a guaranteed update: the patch is applied to whatever is
/// current, again if another write lands in between (upstream `patcher`,
/// handlers/patch.go); an apply creates what does not exist. A plain Go error upstream (an
/// apply's typed-patch refusal) is a 500 `Status` without a reason.
pub(super) fn patch(
    state: &State,
    req: &ApiRequest,
    t: &Target<'_>,
    subresource: Option<&str>,
) -> Result<Response, ApiError> {
    let ctx = &req.ctx;
    // go-restful refuses a content type the route does not consume before an `Accept` it
    // cannot answer.
    let pt = patch_type(ctx, t.res)?;
    accepted(ctx, t.res, false)?;
    validate_patch_options(ctx, pt)?;
    let patcher = Patcher {
        state,
        ctx,
        res: t.res,
        pt,
        body: &req.body,
        validation: FieldValidation::parse(ctx.param("fieldValidation"))?,
        ty: crate::schema::SCHEMA.kind_type(t.res.group, t.res.version, t.res.kind),
        sets_rv: serde_json::from_slice::<Value>(&req.body)
            .ok()
            .and_then(|p| p.pointer("/metadata/resourceVersion").cloned())
            .is_some(),
        subresource,
        writer: patch_writer(ctx, pt, &req.body),
    };
    // Like `GuaranteedUpdate` with `ignoreNotFound` (an apply may create), this tries
    // again whenever another writer got there first.
    loop {
        let mut outcome = WriteOutcome::default();
        let patched = state.registry.guaranteed_update(
            t.res,
            subresource,
            t.namespace,
            t.name,
            &patcher.writer,
            |current| {
                // Warnings are those of the attempt that is written.
                outcome = WriteOutcome::default();
                patcher.apply(current, &mut outcome)
            },
        );
        match patched {
            Ok(updated) => {
                return Ok(with_warnings(
                    respond(ctx, StatusCode::OK, &updated),
                    &outcome,
                ));
            }
            Err(e) if e.code == 404 && pt == PatchType::Apply && subresource.is_none() => {
                if let Some(created) = patcher.create(t)? {
                    return Ok(created);
                }
            }
            Err(e) => return Err(e),
        }
    }
}
