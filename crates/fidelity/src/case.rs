//! Case files: `cases/<area>.yaml`, a list of requests run in order.
//!
//! ```yaml
//! cases:
//!   - name: list configmaps
//!     request: GET /api/v1/namespaces/$ns/configmaps
//!   - name: create one as a service account
//!     request: POST /api/v1/namespaces/$ns/configmaps
//!     as: service-account
//!     body: {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
//! ```
//!
//! `$continue` in a path is the `continue` token of the same server's last list answer.
//! `$ns` is the file's namespace (`f-<area>`, created on both servers before its first
//! case). `as` is `admin` (the default), `service-account` (a token of the namespace's
//! `default` ServiceAccount), `bad-token` or `anonymous`. `body` is any YAML value, sent as
//! JSON (or as YAML when a `Content-Type` header says so); `raw` is a body sent as written.
//! `until: <status>` sends the request again until it is answered with that status (what
//! a controller finishes in its own time). `kubectl: <arguments>` runs the host's kubectl instead of sending a request (`$ns`
//! replaced), and compares what it prints.
//! `managed_fields: true` compares `metadata.managedFields` (times redacted), which the
//! snapshot redactions otherwise replace. `unordered: [key]` compares the items of JSON arrays under `key` sorted, where the
//! reference's order is not fixed.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Identity {
    /// `system:admin` in `system:masters`, by client certificate.
    #[default]
    Admin,
    /// A token of `system:serviceaccount:<ns>:default`.
    ServiceAccount,
    /// `Authorization: Bearer` with a token no server issued.
    BadToken,
    /// No credentials at all.
    Anonymous,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// `METHOD /path?query`.
    #[serde(default)]
    pub request: String,
    /// Instead of a request: a kubectl command line (after `kubectl`), run with the host's
    /// kubectl as the admin against each server; its exit code, standard output and
    /// standard error are compared. `body` is its standard input, as YAML.
    #[serde(default)]
    pub kubectl: Option<String>,
    #[serde(default, rename = "as")]
    pub identity: Identity,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    #[serde(default)]
    pub raw: Option<String>,
    /// Keys of JSON arrays whose order the reference does not fix (each case says why):
    /// their items are compared sorted.
    #[serde(default)]
    pub unordered: Vec<String>,
    /// Compare `managedFields` too (times redacted), where the snapshot redactions would
    /// hide them: for the cases about field ownership.
    #[serde(default)]
    pub managed_fields: bool,
    /// Send again (every 100 ms, for up to a minute) until the answer has this status:
    /// for what a controller finishes in its own time, such as a namespace's deletion.
    #[serde(default)]
    pub until: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    cases: Vec<Case>,
}

/// One file's cases and the namespace they run in.
#[derive(Debug, Clone)]
pub struct CaseFile {
    pub path: PathBuf,
    /// `discovery` for `cases/discovery.yaml`.
    pub area: String,
    pub namespace: String,
    pub cases: Vec<Case>,
}

/// A case file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl Case {
    /// Method and path (with `$ns` replaced).
    pub fn method_and_path(&self, namespace: &str) -> (&str, String) {
        let (method, path) = self
            .request
            .split_once(' ')
            .unwrap_or(("GET", &self.request));
        (method, path.trim().replace("$ns", namespace))
    }

    /// The body as sent: `raw`, or `body` as YAML when the content type says so, else JSON.
    pub fn body_bytes(&self, namespace: &str) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.replace("$ns", namespace).into_bytes();
        }
        let Some(body) = &self.body else {
            return Vec::new();
        };
        let yaml = self.content_type().is_some_and(|t| t.contains("yaml"));
        let text = if yaml {
            serde_saphyr::to_string(body).unwrap_or_default()
        } else {
            body.to_string()
        };
        text.replace("$ns", namespace).into_bytes()
    }

    /// The `Content-Type` the case sets, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str())
    }
}

impl CaseFile {
    pub fn read(path: &Path) -> Result<CaseFile, CaseError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CaseError::Read {
            path: shown.clone(),
            source,
        })?;
        let raw: RawFile = serde_saphyr::from_str(&text).map_err(|e| CaseError::Invalid {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        let area = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let mut seen = std::collections::HashSet::new();
        for case in &raw.cases {
            if !seen.insert(case.name.as_str()) {
                return Err(CaseError::Invalid {
                    path: shown,
                    message: format!("two cases are named {:?}", case.name),
                });
            }
            if case.request.is_empty() == case.kubectl.is_none() {
                return Err(CaseError::Invalid {
                    path: shown,
                    message: format!(
                        "case {:?} needs either request or kubectl, not both",
                        case.name
                    ),
                });
            }
            if case.kubectl.is_some()
                && (case.raw.is_some()
                    || !case.headers.is_empty()
                    || case.identity != Identity::Admin)
            {
                return Err(CaseError::Invalid {
                    path: shown,
                    message: format!(
                        "case {:?}: a kubectl case runs as the admin and takes only a body",
                        case.name
                    ),
                });
            }
            if case.body.is_some() && case.raw.is_some() {
                return Err(CaseError::Invalid {
                    path: shown,
                    message: format!("case {:?} has both body and raw", case.name),
                });
            }
        }
        Ok(CaseFile {
            path: path.to_path_buf(),
            namespace: format!("f-{area}"),
            area,
            cases: raw.cases,
        })
    }

    /// Every `*.yaml` in `dir`, by name.
    pub fn read_all(dir: &Path) -> Result<Vec<CaseFile>, CaseError> {
        let entries = std::fs::read_dir(dir).map_err(|source| CaseError::Read {
            path: dir.display().to_string(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        paths.sort();
        paths.iter().map(|p| CaseFile::read(p)).collect()
    }
}
