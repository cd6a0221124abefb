//! Bad input, systematically: a bounded property test throws arbitrary requests at the
//! in-process router — paths, query strings, headers and bodies (JSON, YAML, protobuf,
//! the four patch types), as the admin, a service account and an anonymous client — and
//! checks that the server never panics, never answers 500, and refuses with a proper
//! `Status` (or, for a path no API owns, Go's plain `404 page not found`).
//!
//! The inputs are built from Kubernetes' own vocabulary (resources, fields, patch
//! directives, query parameters) so that they reach deep into decoding, validation,
//! patching and selectors rather than stopping at the router. `CASES` fixes the number
//! of requests; a failure prints the shrunk request that caused it.

use super::clients::cluster;
use apiserver::UserInfo;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use std::time::Duration;
use tower::ServiceExt;

/// Requests per run: about 10 s in a debug build on 2 cores. `KUBELAB_FUZZ_CASES` asks for
/// more, and `KUBELAB_FUZZ_SEED` for another sequence of requests (the default sequence is
/// fixed, so that a run in CI is reproducible).
const CASES: u32 = 20_000;
const SEED: u64 = 0x006b_7562_656c_6162;

#[derive(Debug, Clone)]
struct Req {
    who: Who,
    method: &'static str,
    path: String,
    query: String,
    content_type: &'static str,
    accept: &'static str,
    body: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum Who {
    Admin,
    ServiceAccount,
    Anonymous,
    BadToken,
}

const SEGMENTS: &[&str] = &[
    "api",
    "apis",
    "v1",
    "v2",
    "namespaces",
    "default",
    "kube-system",
    "nope",
    "pods",
    "configmaps",
    "secrets",
    "services",
    "serviceaccounts",
    "nodes",
    "batch",
    "jobs",
    "apps",
    "deployments",
    "rbac.authorization.k8s.io",
    "roles",
    "clusterroles",
    "rolebindings",
    "apiextensions.k8s.io",
    "customresourcedefinitions",
    "helm.cattle.io",
    "helmcharts",
    "status",
    "exec",
    "log",
    "binding",
    "token",
    "scale",
    "kube-root-ca.crt",
    "kubelab-node",
    "openapi",
    "v3",
    "version",
    "healthz",
    "livez",
    "readyz",
    "metrics",
    ".well-known",
    "openid-configuration",
    "openid",
    "jwks",
    "authentication.k8s.io",
    "selfsubjectreviews",
    "authorization.k8s.io",
    "selfsubjectaccessreviews",
    "selfsubjectrulesreviews",
    "tokenreviews",
    "watch",
    "%zz",
    "%2F",
    "a+b",
    "..",
    ".",
    "",
    "UPPER",
    "x:y",
    "🙂",
    "%00",
];

const QUERY_KEYS: &[&str] = &[
    "watch",
    "labelSelector",
    "fieldSelector",
    "limit",
    "continue",
    "resourceVersion",
    "resourceVersionMatch",
    "timeoutSeconds",
    "dryRun",
    "fieldManager",
    "fieldValidation",
    "force",
    "pretty",
    "gracePeriodSeconds",
    "propagationPolicy",
    "sendInitialEvents",
    "allowWatchBookmarks",
    "container",
    "follow",
    "tailLines",
    "limitBytes",
    "previous",
    "timestamps",
    "sinceSeconds",
    "command",
    "stdin",
    "stdout",
    "tty",
    "verbose",
    "exclude",
    "includeObject",
];

const QUERY_VALUES: &[&str] = &[
    "",
    "true",
    "false",
    "0",
    "1",
    "-1",
    "abc",
    "99999999999999999999",
    "a=b",
    "a===b",
    "a in (b,c)",
    "!a",
    "a,b",
    "metadata.name=x",
    "spec.nodeName!=",
    "All",
    "Strict",
    "Warn",
    "Foreground",
    "Orphan",
    "NotOlderThan",
    "Exact",
    "%zz",
    "a+b",
    "+",
    " ",
    "eyJydiI6MX0",
    "Object",
    "None",
];

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json",
    "application/json",
    "application/json",
    "application/yaml",
    "application/yaml",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/json-patch+json",
    "application/apply-patch+yaml",
    "application/vnd.kubernetes.protobuf",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/json-patch+json",
    "application/apply-patch+yaml",
    "application/apply-patch+cbor",
    "text/plain",
    "application/json; charset=utf-8",
    "garbage/;;;",
    "",
];

const ACCEPTS: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
    "application/json;as=Table;v=v1;g=meta.k8s.io",
    "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    "application/vnd.kubernetes.protobuf;stream=watch",
    "*/*",
    "text/html",
    ";;;",
    "",
];

const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "generateName",
    "labels",
    "annotations",
    "resourceVersion",
    "uid",
    "finalizers",
    "ownerReferences",
    "spec",
    "status",
    "containers",
    "image",
    "command",
    "args",
    "env",
    "value",
    "valueFrom",
    "volumes",
    "volumeMounts",
    "data",
    "stringData",
    "type",
    "rules",
    "verbs",
    "apiGroups",
    "resources",
    "subjects",
    "roleRef",
    "selector",
    "matchLabels",
    "template",
    "replicas",
    "ports",
    "port",
    "clusterIP",
    "items",
    "$patch",
    "$setElementOrder/containers",
    "$deleteFromPrimitiveList/finalizers",
    "$retainKeys",
    "serviceAccountName",
    "automountServiceAccountToken",
    "nodeName",
    "conditions",
    "phase",
    "audiences",
    "expirationSeconds",
    "boundObjectRef",
    "user",
    "groups",
    "resourceAttributes",
    "verb",
    "op",
    "path",
    "from",
    "",
];

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(KEYS).prop_map(Value::from),
        prop::sample::select(QUERY_VALUES).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// A valid object of a served kind with one field replaced by an arbitrary value, so that
/// decoding gets past the envelope and validation sees odd values where real ones go.
/// A valid object of the resource's kind (when the test knows one), or of any kind.
fn base_object(resource: &str) -> Option<Value> {
    Some(match resource {
        "configmaps" => {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fz"}, "data": {"a": "b"}})
        }
        "pods" => {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "fz"}, "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}})
        }
        "jobs" => {
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "fz"}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.37"}]}}}})
        }
        "services" => {
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "fz"}, "spec": {"ports": [{"port": 80}]}})
        }
        "roles" => {
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "fz"}, "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]})
        }
        "namespaces" => {
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fz"}})
        }
        "token" => {
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"audiences": ["x"]}})
        }
        "selfsubjectaccessreviews" => {
            json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}})
        }
        "deployments" => {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "fz"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}}}})
        }
        "helmcharts" => {
            json!({"apiVersion": "helm.cattle.io/v1", "kind": "HelmChart", "metadata": {"name": "fz"}, "spec": {"chart": "x"}})
        }
        "secrets" => {
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "fz"}, "stringData": {"a": "b"}})
        }
        _ => return None,
    })
}

fn mutated_object(base: Value) -> impl Strategy<Value = Value> {
    (
        Just(base),
        prop::collection::vec(prop::sample::select(KEYS), 1..4),
        json_value(),
    )
        .prop_map(|(mut obj, path, value)| {
            let mut cur = &mut obj;
            for (i, key) in path.iter().enumerate() {
                if i + 1 == path.len() || !cur.is_object() {
                    if let Some(m) = cur.as_object_mut() {
                        m.insert(key.to_string(), value);
                    }
                    break;
                }
                cur = cur
                    .as_object_mut()
                    .unwrap()
                    .entry(key.to_string())
                    .or_insert_with(|| json!({}));
            }
            obj
        })
}

fn json_patch() -> impl Strategy<Value = Value> {
    let op = (
        prop::sample::select(vec![
            "add", "remove", "replace", "move", "copy", "test", "nope",
        ]),
        prop::collection::vec(prop::sample::select(KEYS), 0..4),
        json_value(),
    )
        .prop_map(|(op, path, value)| {
            let path: String = path.iter().map(|k| format!("/{k}")).collect();
            json!({"op": op, "path": path, "from": "/metadata/labels", "value": value})
        });
    prop::collection::vec(op, 0..4).prop_map(Value::from)
}

/// A body for a request to `resource`: its kind's object (intact, or with one field
/// replaced), a patch, arbitrary JSON, YAML-ish text, protobuf-ish or arbitrary bytes.
fn body(resource: &str) -> impl Strategy<Value = Vec<u8>> {
    let base = base_object(resource).unwrap_or_else(|| base_object("configmaps").unwrap());
    let intact = serde_json::to_vec(&base).unwrap();
    prop_oneof![
        Just(Vec::new()),
        Just(intact),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        mutated_object(base.clone()).prop_map(|v| serde_json::to_vec(&v).unwrap()),
        mutated_object(base).prop_map(|v| serde_yaml_like(&v).into_bytes()),
        json_patch().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        "[a-z:{}\\[\\] \n-]{0,64}".prop_map(String::into_bytes),
        // Protobuf: the envelope's magic, then anything.
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|mut b| {
            let mut out = b"k8s\0".to_vec();
            out.append(&mut b);
            out
        }),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// Served resources: (group, version, resource, namespaced).
const RESOURCES: &[(&str, &str, &str, bool)] = &[
    ("", "v1", "pods", true),
    ("", "v1", "configmaps", true),
    ("", "v1", "secrets", true),
    ("", "v1", "services", true),
    ("", "v1", "serviceaccounts", true),
    ("", "v1", "events", true),
    ("", "v1", "namespaces", false),
    ("", "v1", "nodes", false),
    ("batch", "v1", "jobs", true),
    ("apps", "v1", "deployments", true),
    ("rbac.authorization.k8s.io", "v1", "roles", true),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", false),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", true),
    (
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        false,
    ),
    ("helm.cattle.io", "v1", "helmcharts", true),
    ("k3s.cattle.io", "v1", "addons", true),
    ("authentication.k8s.io", "v1", "selfsubjectreviews", false),
    ("authentication.k8s.io", "v1", "tokenreviews", false),
    (
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        false,
    ),
    (
        "authorization.k8s.io",
        "v1",
        "selfsubjectrulesreviews",
        false,
    ),
    ("coordination.k8s.io", "v1", "leases", true),
    ("events.k8s.io", "v1", "events", true),
    ("networking.k8s.io", "v1", "ingresses", true),
];

const NAMES: &[&str] = &[
    "fz",
    "fz",
    "fz",
    "default",
    "kube-root-ca.crt",
    "kubelab-node",
    "kube-system",
    "nope",
    "a+b",
    "UPPER",
    "x.y",
    "-bad-",
    "%zz",
    "",
];

const SUBRESOURCES: &[&str] = &[
    "status",
    "exec",
    "log",
    "binding",
    "token",
    "scale",
    "eviction",
    "attach",
    "proxy",
    "portforward",
    "ephemeralcontainers",
    "nope",
];

/// A well-formed resource path: a collection, an object, or an object's subresource.
fn resource_path() -> impl Strategy<Value = (String, &'static str)> {
    (
        prop::sample::select(RESOURCES),
        prop::sample::select(vec!["default", "default", "kube-system", "fz", "nope"]),
        prop::option::of(prop::sample::select(NAMES)),
        prop::option::weighted(0.3, prop::sample::select(SUBRESOURCES)),
    )
        .prop_map(|((group, version, resource, namespaced), ns, name, sub)| {
            let mut p = if group.is_empty() {
                format!("/api/{version}")
            } else {
                format!("/apis/{group}/{version}")
            };
            if namespaced {
                p.push_str(&format!("/namespaces/{ns}"));
            }
            p.push_str(&format!("/{resource}"));
            let mut target = resource;
            if let Some(name) = name {
                p.push_str(&format!("/{name}"));
                if let Some(sub) = sub {
                    p.push_str(&format!("/{sub}"));
                    target = sub;
                }
            }
            (p, target)
        })
}

/// An object as block YAML (no library: the test feeds the server's YAML decoder).
fn serde_yaml_like(v: &Value) -> String {
    fn go(v: &Value, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, v) in m {
                    match v {
                        Value::Object(c) if !c.is_empty() => {
                            out.push_str(&format!("{pad}{k}:\n"));
                            go(v, indent + 2, out);
                        }
                        Value::Array(a) if !a.is_empty() => {
                            out.push_str(&format!("{pad}{k}:\n"));
                            go(v, indent + 2, out);
                        }
                        _ => out.push_str(&format!("{pad}{k}: {v}\n")),
                    }
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for item in a {
                    out.push_str(&format!("{pad}- {item}\n"));
                }
            }
            other => out.push_str(&format!("{pad}{other}\n")),
        }
    }
    let mut out = String::new();
    go(v, 0, &mut out);
    out
}

fn request() -> impl Strategy<Value = Req> {
    let who = prop_oneof![
        6 => Just(Who::Admin),
        1 => Just(Who::ServiceAccount),
        1 => Just(Who::Anonymous),
        1 => Just(Who::BadToken),
    ];
    let method = prop::sample::select(vec![
        "GET", "GET", "GET", "POST", "POST", "POST", "PUT", "PUT", "PATCH", "PATCH", "PATCH",
        "DELETE", "HEAD", "OPTIONS", "CONNECT",
    ]);
    let path_and_body = prop_oneof![
        3 => resource_path(),
        1 => prop::collection::vec(prop::sample::select(SEGMENTS), 0..8)
            .prop_map(|segs| (format!("/{}", segs.join("/")), "")),
    ]
    .prop_flat_map(|(path, target)| (Just(path), body(target)));
    let query = prop::collection::vec(
        (
            prop::sample::select(QUERY_KEYS),
            prop::sample::select(QUERY_VALUES),
        ),
        0..4,
    )
    .prop_map(|kv| {
        kv.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    });
    (
        who,
        method,
        path_and_body,
        query,
        prop::sample::select(CONTENT_TYPES),
        prop::sample::select(ACCEPTS),
    )
        .prop_map(
            |(who, method, (path, body), query, content_type, accept)| Req {
                who,
                method,
                path,
                query,
                content_type,
                accept,
                body,
            },
        )
}

/// How many answers of each status code a run saw, to show what it reached.
static SEEN: std::sync::Mutex<std::collections::BTreeMap<u16, u32>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// The request `r` as a client sends it, with the router of its identity; `None` for one
/// no client could send.
fn prepare(
    c: &apiserver::Cluster,
    r: &Req,
) -> Option<(axum::Router, http::Request<axum::body::Body>)> {
    let uri = if r.query.is_empty() {
        r.path.clone()
    } else {
        // The query is sent as written, unescaped characters and all, where the URI
        // allows; what it does not allow is escaped.
        format!("{}?{}", r.path, r.query.replace(' ', "%20"))
    };
    let Ok(uri) = uri.parse::<http::Uri>() else {
        return None; // Not a request a client could send.
    };
    let mut req = http::Request::builder()
        .method(r.method)
        .uri(uri)
        .header("user-agent", "fuzz");
    if !r.content_type.is_empty() {
        req = req.header("content-type", r.content_type);
    }
    if !r.accept.is_empty() {
        req = req.header("accept", r.accept);
    }
    let service = match r.who {
        Who::Admin => c.service_as(UserInfo::admin()),
        Who::ServiceAccount => c.service_as(UserInfo::service_account("default", "default", "")),
        Who::Anonymous => c.service(),
        Who::BadToken => {
            req = req.header("authorization", "Bearer not-a-token");
            c.service()
        }
    };
    let req = req.body(axum::body::Body::from(r.body.clone())).unwrap();
    Some((service, req))
}

/// Sends one request and checks the answer; `Err` says what is wrong with it.
async fn check(c: &apiserver::Cluster, r: &Req) -> Result<(), String> {
    let Some((service, req)) = prepare(c, r) else {
        return Ok(());
    };
    // On a task of its own, so that a handler that never yields (a loop) is seen as one
    // instead of hanging the run, and a panic is reported with the request.
    let resp = tokio::time::timeout(Duration::from_secs(5), tokio::spawn(service.oneshot(req)))
        .await
        .map_err(|_| "no answer within 5 s".to_string())?
        .map_err(|e| format!("the handler panicked: {e}"))?
        .unwrap();
    let status = resp.status().as_u16();
    *SEEN.lock().unwrap().entry(status).or_default() += 1;
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    // Streams (watches, followed logs) may not end; a second of them is enough.
    let body = match tokio::time::timeout(
        Duration::from_secs(1),
        axum::body::to_bytes(resp.into_body(), 16 << 20),
    )
    .await
    {
        Ok(b) => b.map_err(|e| format!("reading the body: {e}"))?,
        Err(_) if status == 200 => return Ok(()),
        Err(_) => return Err(format!("{status} whose body does not end")),
    };
    if status >= 500 && status != 501 && status != 503 {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    if status < 400 || r.method == "HEAD" {
        return Ok(());
    }
    check_refusal(r, status, &content_type, &body)
}

/// A refusal is a Status in the negotiated format, or Go's plain 404 for a path no API
/// handler owns (and the plain answers of the health and OIDC handlers), or the OpenAPI
/// handlers' bare status (a path the index does not list, a media type they do not offer).
fn check_refusal(r: &Req, status: u16, content_type: &str, body: &[u8]) -> Result<(), String> {
    if content_type.is_empty() && body.is_empty() && r.path.starts_with("/openapi/") {
        return Ok(());
    }
    if content_type.starts_with("text/plain") {
        let text = String::from_utf8_lossy(body);
        let plain = text == "404 page not found\n"
            || text.ends_with("method is not allowed\n")
            || r.path.contains("healthz")
            || r.path.contains("livez")
            || r.path.contains("readyz");
        return if plain {
            Ok(())
        } else {
            Err(format!("{status} in plain text: {text}"))
        };
    }
    if content_type.starts_with("application/json") {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| format!("{status} with a body that is not JSON ({e})"))?;
        if v["kind"] != "Status" || v["code"] != status || v["status"] != "Failure" {
            return Err(format!("{status} whose body is not its Status: {v}"));
        }
        return Ok(());
    }
    if content_type.starts_with("application/yaml") {
        let text = String::from_utf8_lossy(body);
        let v: Value = serde_saphyr::from_str(&text)
            .map_err(|e| format!("{status} with a body that is not YAML ({e}): {text}"))?;
        // goyaml.v2 cannot write some strings; upstream then answers its error as a 500
        // Status, keeping an error's own HTTP status (`SerializeObject`).
        let code_ok = v["code"] == status
            || (v["code"] == 500
                && v["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("yaml: ")));
        if v["kind"] != "Status" || !code_ok || v["status"] != "Failure" {
            return Err(format!(
                "{status} whose YAML body is not its Status: {text}"
            ));
        }
        return Ok(());
    }
    if content_type.starts_with("application/vnd.kubernetes.protobuf") {
        if !body.starts_with(b"k8s\0") {
            return Err(format!("{status} whose protobuf body lacks the envelope"));
        }
        return Ok(());
    }
    Err(format!("{status} with content type {content_type:?}"))
}

#[test]
fn arbitrary_requests_get_proper_answers() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let c = rt.block_on(cluster());
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let cases = env("KUBELAB_FUZZ_CASES").map_or(CASES, |n| n as u32);
    let seed = env("KUBELAB_FUZZ_SEED").unwrap_or(SEED);
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        // Shrinking a failure is quick; each case is one in-process request.
        max_shrink_iters: 2000,
        ..Config::default()
    });
    let started = std::time::Instant::now();
    let result = runner.run(&request(), |r| {
        rt.block_on(check(&c, &r)).map_err(TestCaseError::fail)
    });
    eprintln!(
        "{cases} requests (seed {seed}) in {:.1} s; answers by status: {:?}",
        started.elapsed().as_secs_f64(),
        SEEN.lock().unwrap()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// `+` in a path is a literal `+` (only a query string turns `+` into a space).
#[tokio::test]
async fn a_plus_in_a_path_is_a_plus() {
    let c = cluster().await;
    let admin = c.service_as(UserInfo::admin());
    let create = http::Request::builder()
        .method("POST")
        .uri("/api/v1/namespaces/default/configmaps")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            r#"{"metadata":{"name":"a"},"data":{"k":"v"}}"#,
        ))
        .unwrap();
    assert_eq!(admin.clone().oneshot(create).await.unwrap().status(), 201);
    let get = |uri: &str| {
        http::Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    // `a+b` names the object `a+b`, which does not exist (and is not `a b`).
    let resp = admin
        .clone()
        .oneshot(get("/api/v1/namespaces/default/configmaps/a+b"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["message"], r#"configmaps "a+b" not found"#);
    // In the query, `+` is a space: `labelSelector=a+in+(x)` is `a in (x)`.
    let resp = admin
        .oneshot(get(
            "/api/v1/namespaces/default/configmaps?labelSelector=k+in+(v)",
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}
