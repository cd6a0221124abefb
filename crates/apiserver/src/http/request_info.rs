//! Parsing a request path and method into what is being asked.
//!
//! Mirrors `apiserver pkg/endpoints/request/requestinfo.go` (`RequestInfoFactory`):
//! `/api/v1/...` and `/apis/<group>/<version>/...` are resource requests, everything else
//! (discovery included) is a non-resource request authorised by path.

use http::Method;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestInfo {
    pub is_resource_request: bool,
    pub path: String,
    pub verb: String,
    pub api_prefix: String,
    pub api_group: String,
    pub api_version: String,
    pub namespace: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
}

/// `watch=true` or `watch=1` style boolean query values (strconv.ParseBool).
pub fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

pub fn request_info(method: &Method, path: &str, query: &[(String, String)]) -> RequestInfo {
    let mut info = RequestInfo {
        path: path.to_string(),
        verb: method.as_str().to_lowercase(),
        ..RequestInfo::default()
    };
    let trimmed = path.trim_matches('/');
    let mut parts: Vec<&str> = if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    };
    if parts.len() < 3 || !(parts[0] == "api" || parts[0] == "apis") {
        return info;
    }
    info.api_prefix = parts[0].to_string();
    parts.remove(0);
    if info.api_prefix == "apis" {
        if parts.len() < 3 {
            return info;
        }
        info.api_group = parts.remove(0).to_string();
    }
    info.api_version = parts.remove(0).to_string();
    info.is_resource_request = true;
    // `/watch/` prefix (deprecated).
    if parts.first() == Some(&"watch") {
        parts.remove(0);
        info.verb = "watch".into();
    } else {
        info.verb = method_verb(method).into();
    }
    if parts.first() == Some(&"namespaces") && parts.len() > 1 {
        info.namespace = parts[1].to_string();
        // `/namespaces/<name>` and `/namespaces/<name>/status|finalize` address the namespace.
        if parts.len() > 2 {
            parts.drain(..2);
        }
    }
    match parts.len() {
        0 => {}
        1 => info.resource = parts[0].into(),
        2 => {
            info.resource = parts[0].into();
            info.name = parts[1].into();
        }
        _ => {
            info.resource = parts[0].into();
            info.name = parts[1].into();
            info.subresource = parts[2].into();
        }
    }
    if info.resource == "namespaces" && info.name == info.namespace && !info.name.is_empty() {
        // Upstream: for `/api/v1/namespaces/<name>`, the namespace is the name.
    }
    let watch = query
        .iter()
        .any(|(k, v)| k == "watch" && parse_bool(v) == Some(true));
    if info.name.is_empty() && info.verb == "get" {
        info.verb = if watch { "watch" } else { "list" }.into();
    } else if watch && info.verb == "get" {
        info.verb = "watch".into();
    }
    if info.name.is_empty() && info.verb == "delete" {
        info.verb = "deletecollection".into();
    }
    info
}

/// The verb a request's method names before list, watch and deletecollection are told
/// apart (`k8s.io/apiserver/pkg/endpoints/request/requestinfo.go`, `NewRequestInfo`); a
/// kubelet's authorizer maps methods the same way (`pkg/kubelet/server/auth.go`,
/// `GetRequestAttributes`).
pub fn method_verb(method: &Method) -> &'static str {
    match *method {
        Method::POST => "create",
        Method::GET | Method::HEAD => "get",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ri(m: Method, p: &str) -> RequestInfo {
        request_info(&m, p, &[])
    }

    #[test]
    fn resource_paths() {
        let i = ri(Method::GET, "/api/v1/namespaces/default/pods");
        assert_eq!(
            (i.verb.as_str(), i.namespace.as_str(), i.resource.as_str()),
            ("list", "default", "pods")
        );
        let i = ri(
            Method::GET,
            "/apis/batch/v1/namespaces/default/jobs/my-job/status",
        );
        assert_eq!(
            (
                i.api_group.as_str(),
                i.name.as_str(),
                i.subresource.as_str()
            ),
            ("batch", "my-job", "status")
        );
        let i = ri(Method::GET, "/api/v1/namespaces/default");
        assert_eq!(
            (i.resource.as_str(), i.name.as_str(), i.namespace.as_str()),
            ("namespaces", "default", "default")
        );
        let i = ri(Method::DELETE, "/api/v1/namespaces/x/configmaps");
        assert_eq!(i.verb, "deletecollection");
        let i = request_info(
            &Method::GET,
            "/api/v1/pods",
            &[("watch".into(), "true".into())],
        );
        assert_eq!(i.verb, "watch");
    }

    #[test]
    fn discovery_is_non_resource() {
        for p in [
            "/",
            "/api",
            "/api/v1",
            "/apis",
            "/apis/batch",
            "/apis/batch/v1",
            "/version",
        ] {
            assert!(!ri(Method::GET, p).is_resource_request, "{p}");
        }
    }
}
