//! The scenario file as written, deserialized with source locations (serde-saphyr's
//! `Spanned`), and turned into checked actions.

use crate::{Action, ObjectRef, Pos, ScenarioError, Via, WaitFor};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::path::Path;

fn pos(l: &serde_saphyr::Location) -> Pos {
    Pos {
        line: l.line() as u32,
        column: l.column() as u32,
    }
}

fn yaml_error(file: &Path, e: &serde_saphyr::Error) -> ScenarioError {
    let p = e.location().map(|l| pos(&l)).unwrap_or_default();
    // The library's message may carry its own location and a source snippet; keep the
    // first line, which says what is wrong.
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("").trim();
    // serde-saphyr words it `error: line 4 column 5: unknown field ...`; the position is
    // already in front, so keep only what is wrong.
    let mut message = first.strip_prefix("error: ").unwrap_or(first);
    if let Some(rest) = message.strip_prefix("line ")
        && let Some(i) = rest.find(": ")
        && rest[..i].contains(" column ")
    {
        message = &rest[i + 2..];
    }
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    };
    ScenarioError {
        file: file.to_path_buf(),
        pos: p,
        message,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    title: String,
    summary: String,
    #[serde(default)]
    goals: Vec<String>,
    steps: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawStep {
    name: Option<String>,
    narration: Option<String>,
    show: Option<Spanned<String>>,
    apply: Option<Spanned<String>>,
    delete: Option<Spanned<String>>,
    wait: Option<Spanned<RawWait>>,
    exec: Option<Spanned<RawExec>>,
    proxy: Option<Spanned<RawProxy>>,
    http: Option<Spanned<RawHttp>>,
    get: Option<Spanned<RawGet>>,
    can_i: Option<Spanned<RawCanI>>,
    logs: Option<Spanned<RawLogs>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWait {
    pod: Option<String>,
    job: Option<String>,
    #[serde(rename = "for")]
    condition: Option<String>,
    resource: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExec {
    pod: String,
    container: Option<String>,
    run: String,
    #[serde(default)]
    exit: i32,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProxy {
    port: Option<u16>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    #[serde(default = "get_method")]
    method: String,
    path: String,
    #[serde(default = "proxy_via")]
    via: String,
    /// With `via: token`, the ServiceAccount whose token is sent (default `default`).
    #[serde(rename = "as")]
    as_sa: Option<String>,
}

fn get_method() -> String {
    "GET".into()
}

fn proxy_via() -> String {
    "proxy".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGet {
    resource: String,
    name: String,
    #[serde(default = "json_output")]
    output: String,
}

fn json_output() -> String {
    "json".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLogs {
    pod: String,
    container: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCanI {
    verb: String,
    resource: String,
    #[serde(rename = "as")]
    as_user: Option<String>,
}

pub struct Step {
    pub name: Option<String>,
    pub narration: Option<String>,
    /// The selection of output lines the course shows, where it is written.
    pub show: Option<(String, Pos)>,
    pub pos: Pos,
    /// The action, where it is written, and a slug for its snapshot name; or what is wrong.
    pub action: Result<(Action, Pos, String), String>,
}

pub struct Raw {
    pub title: String,
    pub summary: String,
    pub goals: Vec<String>,
    pub steps: Vec<Step>,
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    out.trim_end_matches('-').to_string()
}

/// A candidate action: its key, where it is written, and the action and slug or what is
/// wrong with it.
type Candidate<'a> = (&'a str, Pos, Result<(Action, String), String>);

const ACTIONS: &str = "apply, delete, wait, exec, proxy, http, get, can-i, logs";

/// The one action a step has, where it is written, and a slug for its snapshot name; or
/// what is wrong: no action, or more than one.
fn action(r: RawStep) -> Result<(Action, Pos, String), String> {
    let mut found: Vec<Candidate<'_>> = [
        r.apply.map(apply),
        r.delete.map(delete),
        r.wait.map(wait),
        r.exec.map(exec),
        r.logs.map(logs),
        r.proxy.map(proxy),
        r.http.map(http),
        r.get.map(get),
        r.can_i.map(can_i),
    ]
    .into_iter()
    .flatten()
    .collect();
    match found.len() {
        0 => Err(format!("no action: a step has exactly one of {ACTIONS}")),
        1 => {
            let (_, p, got) = found.pop().expect("one");
            got.map(|(a, s)| (a, p, s))
        }
        _ => Err(format!(
            "more than one action ({}): a step has exactly one",
            found
                .iter()
                .map(|(k, _, _)| *k)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// An `apply: FILE` step.
fn apply(a: Spanned<String>) -> Candidate<'static> {
    (
        "apply",
        pos(&a.referenced),
        Ok((
            Action::Apply {
                file: a.value.clone(),
            },
            format!("apply-{}", slug(&a.value)),
        )),
    )
}

/// A `delete: FILE` step.
fn delete(a: Spanned<String>) -> Candidate<'static> {
    (
        "delete",
        pos(&a.referenced),
        Ok((
            Action::Delete {
                file: a.value.clone(),
            },
            format!("delete-{}", slug(&a.value)),
        )),
    )
}

/// A `wait` step: for a pod to be ready or to have succeeded, a job to complete, or an object to exist.
fn wait(w: Spanned<RawWait>) -> Candidate<'static> {
    let p = pos(&w.referenced);
    let v = w.value;
    let got = match (v.pod, v.job, v.resource, v.name, v.condition.as_deref()) {
        (Some(pod), None, None, None, None | Some("ready")) => Ok((WaitFor::PodReady(pod.clone()), format!("wait-{}", slug(&pod)))),
        (Some(pod), None, None, None, Some("succeeded")) => Ok((WaitFor::PodSucceeded(pod.clone()), format!("wait-{}", slug(&pod)))),
        (None, Some(job), None, None, None | Some("complete")) => Ok((WaitFor::JobComplete(job.clone()), format!("wait-{}", slug(&job)))),
        (None, None, Some(resource), Some(name), None | Some("exists")) => {
            Ok((WaitFor::Exists { resource, name: name.clone() }, format!("wait-{}", slug(&name))))
        }
        _ => Err("a wait names one pod (for: ready or succeeded), one job (for: complete), or a resource and name (for: exists)".to_string()),
    };
    ("wait", p, got.map(|(w, s)| (Action::Wait(w), s)))
}

/// An `exec` step: a shell command in a pod and the exit code it must end with. A command
/// written as a YAML block (`run: |`) loses the newline the block ends with: it is shown
/// quoted, and a learner types it without one.
fn exec(e: Spanned<RawExec>) -> Candidate<'static> {
    let mut v = e.value;
    v.run.truncate(v.run.trim_end().len());
    if v.run.lines().any(|l| l == crate::SCRIPT_END) {
        return (
            "exec",
            pos(&e.referenced),
            Err(format!(
                "exec run: a line {:?} would end the here-document the script is typed as",
                crate::SCRIPT_END
            )),
        );
    }
    (
        "exec",
        pos(&e.referenced),
        Ok((
            Action::Exec {
                pod: v.pod.clone(),
                container: v.container,
                run: v.run.clone(),
                exit: v.exit,
            },
            format!("exec-{}", slug(&v.run)),
        )),
    )
}

/// A `logs` step: what a pod's container has written.
fn logs(l: Spanned<RawLogs>) -> Candidate<'static> {
    let v = l.value;
    let slug = match &v.container {
        Some(c) => format!("logs-{}-{}", slug(&v.pod), slug(c)),
        None => format!("logs-{}", slug(&v.pod)),
    };
    (
        "logs",
        pos(&l.referenced),
        Ok((
            Action::Logs {
                pod: v.pod,
                container: v.container,
            },
            slug,
        )),
    )
}

/// A `proxy` step, on port 8001 unless it names another.
fn proxy(p: Spanned<RawProxy>) -> Candidate<'static> {
    (
        "proxy",
        pos(&p.referenced),
        Ok((
            Action::Proxy {
                port: p.value.port.unwrap_or(8001),
            },
            "proxy".into(),
        )),
    )
}

/// An `http` step: a request through the proxy, straight to the server, or with a
/// ServiceAccount's token.
fn http(h: Spanned<RawHttp>) -> Candidate<'static> {
    let v = h.value;
    let via = match (v.via.as_str(), &v.as_sa) {
        ("proxy", None) => Ok(Via::Proxy),
        ("direct", None) => Ok(Via::Direct),
        ("token", sa) => Ok(Via::Token {
            service_account: sa.clone().unwrap_or_else(|| "default".into()),
        }),
        ("proxy" | "direct", Some(_)) => Err(format!(
            "http via {:?} sends no token, so `as` has no meaning; use via: token",
            v.via
        )),
        (other, _) => Err(format!(
            "http via {other:?}: expected proxy, direct or token"
        )),
    };
    let method = v.method.to_uppercase();
    let got = via.and_then(|via| {
        if !v.path.starts_with('/') {
            return Err(format!("http path {:?} must start with /", v.path));
        }
        Ok((
            Action::Http {
                method: method.clone(),
                path: v.path.clone(),
                via,
            },
            format!("http-{}", slug(&v.path)),
        ))
    });
    ("http", pos(&h.referenced), got)
}

/// A `get` step, with JSON or YAML output, kubectl's table, or a JSONPath template
/// (`jsonpath={.spec.volumes[*].name}`, which kubectl checks when it runs).
fn get(g: Spanned<RawGet>) -> Candidate<'static> {
    let v = g.value;
    let jsonpath = v
        .output
        .strip_prefix("jsonpath=")
        .is_some_and(|t| t.starts_with('{') && t.ends_with('}'));
    let got = if jsonpath || matches!(v.output.as_str(), "json" | "yaml" | "table") {
        Ok((
            Action::Get {
                resource: v.resource.clone(),
                name: v.name.clone(),
                output: v.output,
            },
            format!("get-{}-{}", slug(&v.resource), slug(&v.name)),
        ))
    } else {
        Err(format!(
            "get output {:?}: expected json, yaml, table or jsonpath={{...}}",
            v.output
        ))
    };
    ("get", pos(&g.referenced), got)
}

/// A `can-i` step: a verb on a resource, perhaps as another user.
fn can_i(c: Spanned<RawCanI>) -> Candidate<'static> {
    let v = c.value;
    (
        "can-i",
        pos(&c.referenced),
        Ok((
            Action::CanI {
                verb: v.verb.clone(),
                resource: v.resource.clone(),
                as_user: v.as_user,
            },
            format!("can-i-{}-{}", slug(&v.verb), slug(&v.resource)),
        )),
    )
}

pub fn parse(file: &Path, text: &str) -> Result<Raw, ScenarioError> {
    let f: File = serde_saphyr::from_str(text).map_err(|e| yaml_error(file, &e))?;
    let steps = f
        .steps
        .into_iter()
        .map(|s| {
            let p = pos(&s.referenced);
            let r = s.value;
            let (name, narration) = (r.name.clone(), r.narration.clone());
            let show = r
                .show
                .as_ref()
                .map(|s| (s.value.clone(), pos(&s.referenced)));
            Step {
                name,
                narration,
                show,
                pos: p,
                action: action(r),
            }
        })
        .collect();
    Ok(Raw {
        title: f.title,
        summary: f.summary,
        goals: f.goals,
        steps,
    })
}

#[derive(Deserialize)]
struct Meta {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Object {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
    metadata: Option<Meta>,
}

/// The objects of a (multi-document) manifest; each needs apiVersion, kind and a name.
pub fn manifest_objects(file: &Path, text: &str) -> Result<Vec<ObjectRef>, ScenarioError> {
    let docs: Vec<Spanned<Object>> =
        serde_saphyr::from_multiple(text).map_err(|e| yaml_error(file, &e))?;
    let mut out = Vec::new();
    for d in docs {
        let p = pos(&d.referenced);
        let o = d.value;
        let missing = |what: &str| ScenarioError {
            file: file.to_path_buf(),
            pos: p,
            message: format!("a manifest object needs {what}"),
        };
        let name = o
            .metadata
            .and_then(|m| m.name)
            .ok_or_else(|| missing("metadata.name"))?;
        out.push(ObjectRef {
            api_version: o.api_version.ok_or_else(|| missing("apiVersion"))?,
            kind: o.kind.ok_or_else(|| missing("kind"))?,
            name,
        });
    }
    if out.is_empty() {
        return Err(ScenarioError {
            file: file.to_path_buf(),
            pos: Pos { line: 1, column: 1 },
            message: "the manifest holds no object".into(),
        });
    }
    Ok(out)
}
