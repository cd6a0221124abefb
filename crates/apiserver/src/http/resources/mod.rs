//! Resource requests: get, list, watch, create, update, patch, delete, deletecollection
//! for every resource in the discovery table, and the subresources served here.
//!
//! Mirrors `apiserver pkg/endpoints/handlers/{get,create,update,patch,delete,watch}.go`:
//! list kinds and metadata, watch event framing, response codes. What a kind does is the
//! registry's (`registry::kinds`); this module only turns requests into registry calls and
//! their results into answers.

mod read;
mod watch;
mod write;

use super::request::ApiRequest;
use super::respond::{respond, respond_error};
use super::reviews;
use crate::State;
use crate::discovery::{ApiResource, DISCOVERY};
use crate::registry::Target;
use crate::status::{ApiError, GroupResource};
use axum::extract::State as Shared;
use axum::response::Response;
use http::StatusCode;
use serde_json::json;
use std::sync::Arc;

/// The route of every resource path: `/api/v1/...` and `/apis/<group>/<version>/...`.
pub(crate) async fn handle(Shared(state): Shared<Arc<State>>, req: ApiRequest) -> Response {
    match dispatch(&state, req).await {
        Ok(r) => r,
        Err((e, ctx)) => respond_error(&ctx, &e),
    }
}

/// Looks up the resource and checks scope; unknown group versions are plain 404s.
fn resolve(info: &super::RequestInfo) -> Result<Option<&'static ApiResource>, ApiError> {
    let Some(gv) = DISCOVERY.group_version(&info.api_group, &info.api_version) else {
        return Ok(None);
    };
    let Some(res) = gv.resources.iter().find(|r| r.name == info.resource) else {
        return Err(ApiError::path_not_found());
    };
    // A namespaced resource addressed by name needs a namespace, and a cluster-scoped one
    // has none (there is no such go-restful route).
    if res.name != "namespaces" {
        if res.namespaced && info.namespace.is_empty() && !info.name.is_empty() {
            return Err(ApiError::path_not_found());
        }
        if !res.namespaced && !info.namespace.is_empty() {
            return Err(ApiError::path_not_found());
        }
    }
    Ok(Some(res))
}

/// A verb the resource does not serve: a built-in resource has no go-restful route for it
/// (go-restful's 405); the custom resource handler answers `NewMethodNotSupported`
/// (apiextensions-apiserver pkg/apiserver/customresource_handler.go).
fn method_not_allowed(res: &ApiResource, verb: &str) -> ApiError {
    if crate::crds::serving(res).is_none() {
        return ApiError::method_not_allowed_on_route();
    }
    ApiError::method_not_supported(
        GroupResource {
            group: res.group,
            resource: res.name,
        },
        verb,
    )
}

async fn dispatch(
    state: &State,
    req: ApiRequest,
) -> Result<Response, (ApiError, super::request::Ctx)> {
    let res = match resolve(&req.ctx.info) {
        Ok(Some(res)) => res,
        Ok(None) => {
            return Ok(super::discovery::unknown_version(
                &req.ctx.info.api_group,
                &req.ctx,
            ));
        }
        Err(e) => return Err((e, req.ctx)),
    };
    let info = &req.ctx.info;
    let target = Target {
        res,
        namespace: if res.namespaced { &info.namespace } else { "" },
        name: &info.name,
    };
    let answer = if info.subresource.is_empty() {
        resource(state, &req, &target).await
    } else {
        subresource(state, &req, &target).await
    };
    answer.map_err(|e| (e, req.ctx.clone()))
}

async fn resource(state: &State, req: &ApiRequest, t: &Target<'_>) -> Result<Response, ApiError> {
    let verb = req.ctx.info.verb.as_str();
    // go-restful routes a collection's GET, POST and DELETE and an object's GET, PUT, PATCH
    // and DELETE (apiserver pkg/endpoints/installer.go, `registerResourceHandlers`); any
    // other pairing finds no route and answers go-restful's 405.
    let named = !t.name.is_empty();
    if matches!(
        (verb, named),
        ("update" | "patch", false) | ("create", true)
    ) {
        return Err(ApiError::method_not_allowed_on_route());
    }
    if !t.res.verbs.contains(&verb) {
        return Err(method_not_allowed(t.res, verb));
    }
    if reviews::is_review(t.res) {
        let out = reviews::create(state, &req.ctx, t.res, t.namespace, req.object(t.res)?).await?;
        return Ok(respond(&req.ctx, StatusCode::CREATED, &out));
    }
    match verb {
        "get" => read::get(state, req, t),
        "list" => read::list(state, req, t),
        "watch" => watch::watch(state, req, t),
        "create" => write::create(state, req, t),
        "update" => write::update(state, req, t, None),
        "patch" => write::patch(state, req, t, None),
        "delete" => write::delete(state, req, t),
        "deletecollection" => write::delete_collection(state, req, t),
        other => Err(method_not_allowed(t.res, other)),
    }
}

async fn subresource(
    state: &State,
    req: &ApiRequest,
    t: &Target<'_>,
) -> Result<Response, ApiError> {
    let info = &req.ctx.info;
    let sub = DISCOVERY
        .resource(
            t.res.group,
            t.res.version,
            &format!("{}/{}", t.res.name, info.subresource),
        )
        .ok_or_else(ApiError::path_not_found)?;
    let verb = info.verb.as_str();
    if !sub.verbs.contains(&verb) {
        return Err(method_not_allowed(sub, verb));
    }
    let pods = t.res.name == "pods";
    match (sub.subresource(), verb) {
        (Some("status"), "get") => read::get(state, req, t),
        (Some("status"), "update") => write::update(state, req, t, Some("status")),
        (Some("status"), "patch") => write::patch(state, req, t, Some("status")),
        (Some("exec"), "get" | "create") if pods => super::exec::remote(state, req, t, false).await,
        (Some("attach"), "get" | "create") if pods => {
            super::exec::remote(state, req, t, true).await
        }
        (Some("log"), "get") if pods => super::exec::logs(state, &req.ctx, t).await,
        (Some("binding"), "create") if pods => {
            crate::registry::bind_pod(&state.registry, t.namespace, t.name, &req.object(sub)?)?;
            let done = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
            Ok(respond(&req.ctx, StatusCode::CREATED, &done))
        }
        (Some("token"), "create") if t.res.name == "serviceaccounts" => {
            let out =
                reviews::token_request(state, &req.ctx, t.namespace, t.name, req.object(sub)?)
                    .await?;
            Ok(respond(&req.ctx, StatusCode::CREATED, &out))
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
