//! Shared helpers: start a cluster, find host tools, write a kubeconfig.

use apiserver::{Cluster, Config};
use std::path::PathBuf;

pub async fn cluster() -> Cluster {
    Cluster::start(Config::default())
        .await
        .expect("cluster starts")
}

/// A host tool on PATH, or `None` after saying what is skipped (a failure in CI).
pub fn tool(name: &str, install: &str) -> Option<PathBuf> {
    testkit::host_tool(name, install)
}

/// A private scratch directory, removed when the last user drops it.
pub type TempDir = std::sync::Arc<tempfile::TempDir>;

pub fn temp_dir() -> TempDir {
    std::sync::Arc::new(tempfile::tempdir().unwrap())
}

/// Sends a request through the router as admin; returns the status and the body as text.
pub async fn request(
    c: &Cluster,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use tower::ServiceExt;
    let mut req = http::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(axum::body::Body::from(body.to_string())).unwrap();
    let resp = c
        .service_as(apiserver::UserInfo::admin())
        .oneshot(req)
        .await
        .unwrap();
    let code = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (code, String::from_utf8_lossy(&bytes).into_owned())
}

/// [`request`] with a content type, the body parsed as JSON (or kept as a string).
pub async fn raw(
    c: &Cluster,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let (code, text) = request(c, method, path, &[("content-type", content_type)], body).await;
    let v = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (code, v)
}
