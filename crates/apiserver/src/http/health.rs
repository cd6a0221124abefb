//! `/healthz`, `/livez`, `/readyz` and their per-check paths, with the checks a v1.33
//! kube-apiserver registers.
//!
//! The check names and their order are those of a real kube-apiserver v1.33.1
//! `/readyz?verbose` answer (a kubeadm cluster; k3s runs the same apiserver in process
//! and registers no checks of its own — LIKELY). `/healthz` and `/livez` carry the
//! same checks minus the readiness-only ones (`etcd-readiness`, `informer-sync`,
//! `shutdown`; apiserver `AddReadyzChecks`), as post-start hooks and
//! `autoregister-completion` are boot-sequence checks added to all three
//! (`AddBootSequenceHealthChecks`). Each check is also served at `<endpoint>/<name>`
//! (`healthz.InstallPathHandler`), and those paths are listed by `/`.

use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;

/// Every check in registration order, with whether it is readiness-only.
const CHECKS: &[(&str, bool)] = &[
    ("ping", false),
    ("log", false),
    ("etcd", false),
    ("etcd-readiness", true),
    ("informer-sync", true),
    ("poststarthook/start-apiserver-admission-initializer", false),
    ("poststarthook/generic-apiserver-start-informers", false),
    ("poststarthook/priority-and-fairness-config-consumer", false),
    ("poststarthook/priority-and-fairness-filter", false),
    ("poststarthook/storage-object-count-tracker-hook", false),
    ("poststarthook/start-apiextensions-informers", false),
    ("poststarthook/start-apiextensions-controllers", false),
    ("poststarthook/crd-informer-synced", false),
    ("poststarthook/start-system-namespaces-controller", false),
    (
        "poststarthook/start-cluster-authentication-info-controller",
        false,
    ),
    (
        "poststarthook/start-kube-apiserver-identity-lease-controller",
        false,
    ),
    (
        "poststarthook/start-kube-apiserver-identity-lease-garbage-collector",
        false,
    ),
    (
        "poststarthook/start-legacy-token-tracking-controller",
        false,
    ),
    ("poststarthook/start-service-ip-repair-controllers", false),
    ("poststarthook/rbac/bootstrap-roles", false),
    (
        "poststarthook/scheduling/bootstrap-system-priority-classes",
        false,
    ),
    ("poststarthook/priority-and-fairness-config-producer", false),
    ("poststarthook/bootstrap-controller", false),
    (
        "poststarthook/start-kubernetes-service-cidr-controller",
        false,
    ),
    ("poststarthook/aggregator-reload-proxy-client-cert", false),
    ("poststarthook/start-kube-aggregator-informers", false),
    (
        "poststarthook/apiservice-status-local-available-controller",
        false,
    ),
    (
        "poststarthook/apiservice-status-remote-available-controller",
        false,
    ),
    ("poststarthook/apiservice-registration-controller", false),
    ("poststarthook/apiservice-discovery-controller", false),
    ("poststarthook/kube-apiserver-autoregistration", false),
    ("autoregister-completion", false),
    ("poststarthook/apiservice-openapi-controller", false),
    ("poststarthook/apiservice-openapiv3-controller", false),
    ("shutdown", true),
];

pub const ENDPOINTS: [&str; 3] = ["healthz", "livez", "readyz"];

/// The checks of one endpoint, in order.
fn checks(endpoint: &str) -> impl Iterator<Item = &'static str> + '_ {
    CHECKS
        .iter()
        .filter(move |(_, ready_only)| endpoint == "readyz" || !ready_only)
        .map(|(name, _)| *name)
}

/// Every health path `/` lists.
pub fn paths() -> Vec<String> {
    ENDPOINTS
        .iter()
        .flat_map(|e| {
            std::iter::once(format!("/{e}")).chain(checks(e).map(move |c| format!("/{e}/{c}")))
        })
        .collect()
}

fn text(body: String) -> Response {
    let mut r = super::respond::base_response(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        Bytes::from(body),
    );
    r.headers_mut().insert(
        "X-Content-Type-Options",
        http::HeaderValue::from_static("nosniff"),
    );
    r
}

/// `GET /<endpoint>[/<check>]`, or `None` when no such check exists. Every check passes:
/// the embedded server is up when it answers. `verbose` lists them as upstream does
/// (`healthz.handleRootHealth`); `exclude` names checks to skip.
/// Checks are named with Go's `%q`; Rust's `{:?}` quotes the same for these ASCII names.
pub fn answer(endpoint: &str, check: &str, query: &[(String, String)]) -> Option<Response> {
    if !ENDPOINTS.contains(&endpoint) {
        return None;
    }
    if !check.is_empty() {
        // A single check answers `ok` (`adaptCheckToHandler`).
        return checks(endpoint)
            .any(|c| c == check)
            .then(|| text("ok".into()));
    }
    if !query.iter().any(|(k, _)| k == "verbose") {
        return Some(text("ok".into()));
    }
    // apiserver `pkg/server/healthz/healthz.go`, `handleRootHealth`: excluded checks say
    // so, unknown exclusions get a warning line (names quoted, in the order given).
    let mut excluded: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "exclude")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut out = String::new();
    for c in checks(endpoint) {
        if let Some(at) = excluded.iter().position(|e| *e == c) {
            excluded.remove(at);
            out.push_str(&format!("[+]{c} excluded: ok\n"));
        } else {
            out.push_str(&format!("[+]{c} ok\n"));
        }
    }
    if !excluded.is_empty() {
        let quoted: Vec<String> = excluded.iter().map(|e| format!("{e:?}")).collect();
        out.push_str(&format!(
            "warn: some health checks cannot be excluded: no matches for {}\n",
            quoted.join(", ")
        ));
    }
    out.push_str(&format!("{endpoint} check passed\n"));
    Some(text(out))
}

/// The route of `/healthz`, `/livez`, `/readyz` and their per-check paths: every method
/// alike, as the health handlers ignore it.
pub(crate) async fn route(req: super::request::ApiRequest) -> Response {
    let path = req.ctx.info.path.trim_matches('/');
    let (endpoint, check) = path.split_once('/').unwrap_or((path, ""));
    answer(endpoint, check, &req.ctx.query).unwrap_or_else(super::respond::plain_not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_have_their_checks() {
        assert_eq!(checks("readyz").count(), 35);
        assert_eq!(checks("livez").count(), 32);
        assert!(
            checks("healthz")
                .all(|c| !["etcd-readiness", "informer-sync", "shutdown"].contains(&c))
        );
        let p = paths();
        assert!(p.contains(&"/healthz/poststarthook/rbac/bootstrap-roles".to_string()));
        assert!(p.contains(&"/readyz/shutdown".to_string()));
        assert!(!p.contains(&"/livez/shutdown".to_string()));
        assert_eq!(p.len(), 3 + 32 + 32 + 35);
    }

    #[test]
    fn answers_as_upstream() {
        assert!(answer("healthz", "poststarthook/rbac/bootstrap-roles", &[]).is_some());
        assert!(answer("livez", "shutdown", &[]).is_none());
        assert!(answer("metrics", "", &[]).is_none());
    }
}
