//! `/openapi/v3`: the index and one document per group version, listing every resource's
//! operations with their `x-kubernetes-group-version-kind` and query parameters.
//!
//! kubectl reads these to learn that the server validates fields itself
//! (`kubectl@v0.33.0:pkg/cmd/util/... QueryParamVerifierV3`, `supportsQueryParamV3`: the
//! PATCH operation of the kind must list `fieldValidation`). The documents carry paths and
//! operations only; component schemas are not served yet, so `kubectl explain` gets an
//! error from them rather than a wrong answer.

use crate::discovery::{ApiResource, DISCOVERY, GroupVersion};
use serde_json::{Map, Value, json};

fn gv_path(gv: &GroupVersion) -> String {
    if gv.group.is_empty() {
        format!("api/{}", gv.version)
    } else {
        format!("apis/{}/{}", gv.group, gv.version)
    }
}

/// The index: `{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=..."}}}`.
pub fn index() -> Value {
    let mut paths = Map::new();
    for gv in &DISCOVERY.versions {
        let p = gv_path(gv);
        let hash = format!("{:016X}", fnv(&p));
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn operation(res: &ApiResource, action: &str, params: &[&str]) -> Value {
    let (g, v) = res.kind_gv.unwrap_or((res.group, res.version));
    json!({
        "operationId": format!("{action}{}", res.kind),
        "parameters": params.iter().map(|p| param(p)).collect::<Vec<_>>(),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": g, "version": v, "kind": res.kind},
    })
}

/// The query parameters of a write.
const WRITE: [&str; 4] = ["dryRun", "fieldManager", "fieldValidation", "pretty"];

/// The operations on one object (`.../{name}`).
fn item_operations(res: &ApiResource) -> Map<String, Value> {
    let mut ops = Map::new();
    for verb in &res.verbs {
        let (method, op) = match *verb {
            "get" => ("get", operation(res, "get", &["pretty"])),
            "update" => ("put", operation(res, "put", &WRITE)),
            "patch" => (
                "patch",
                operation(
                    res,
                    "patch",
                    &[
                        "dryRun",
                        "fieldManager",
                        "fieldValidation",
                        "force",
                        "pretty",
                    ],
                ),
            ),
            "delete" => ("delete", operation(res, "delete", &["dryRun", "pretty"])),
            _ => continue,
        };
        ops.insert(method.into(), op);
    }
    ops
}

/// The operations on a collection.
fn collection_operations(res: &ApiResource) -> Map<String, Value> {
    let mut ops = Map::new();
    for verb in &res.verbs {
        let (method, op) = match *verb {
            "list" => (
                "get",
                operation(
                    res,
                    "list",
                    &[
                        "labelSelector",
                        "fieldSelector",
                        "limit",
                        "continue",
                        "watch",
                    ],
                ),
            ),
            "create" => ("post", operation(res, "post", &WRITE)),
            "deletecollection" => (
                "delete",
                operation(res, "deletecollection", &["labelSelector"]),
            ),
            _ => continue,
        };
        ops.insert(method.into(), op);
    }
    ops
}

/// The document of one group version, or `None` for an unknown one.
pub fn group_version(path: &str) -> Option<Value> {
    let gv = DISCOVERY.versions.iter().find(|gv| gv_path(gv) == path)?;
    let mut paths = Map::new();
    for res in &gv.resources {
        let prefix = if res.namespaced {
            format!("/{path}/namespaces/{{namespace}}/{}", res.resource())
        } else {
            format!("/{path}/{}", res.resource())
        };
        let item = match res.subresource() {
            Some(sub) => format!("{prefix}/{{name}}/{sub}"),
            None => format!("{prefix}/{{name}}"),
        };
        let item_ops = item_operations(res);
        if !item_ops.is_empty() {
            paths.insert(item, Value::Object(item_ops));
        }
        if res.is_subresource() {
            continue;
        }
        let coll_ops = collection_operations(res);
        if !coll_ops.is_empty() {
            paths.insert(prefix, Value::Object(coll_ops));
        }
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": crate::version::GIT_VERSION},
        "paths": paths,
        "components": {},
    }))
}
