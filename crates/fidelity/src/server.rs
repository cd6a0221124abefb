//! One server under test, as each identity reaches it, and its raw answers.

use crate::case::{Case, Identity};
use http_body_util::BodyExt;
use std::collections::HashMap;

/// What a server answered: status, content type and body bytes.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Answer {
    /// The answer as compared: the status, the content type, then the body after the
    /// snapshot redactions (JSON structurally, the rest line by line).
    pub fn render(&self, ctx: &harness::redact::Context) -> String {
        let body = match std::str::from_utf8(&self.body) {
            Ok(text) => harness::redact::redact(text, ctx),
            // A protobuf answer is compared as the JSON it encodes, redacted (its times and
            // uids are bytes that differ between any two runs), with its managedFields,
            // which the snapshot redactions hide, compared apart, their times left out.
            // (Its length is not compared: a resourceVersion's digits, and the length
            // prefixes around them, depend on how many writes came before.)
            // A protobuf watch is compared as its events, decoded the same way.
            Err(_) if self.content_type.ends_with(";stream=watch") => {
                match apiserver::protobuf_watch_as_json(&self.body) {
                    Some(events) => {
                        let text = events
                            .iter()
                            .map(|e| serde_json::to_string_pretty(e).expect("values serialize"))
                            .collect::<Vec<_>>()
                            .join("\n");
                        format!(
                            "<protobuf watch, decoded:>\n{}",
                            harness::redact::redact(&text, ctx)
                        )
                    }
                    None => format!(
                        "<{} bytes, not a watch: {:02x?}>",
                        self.body.len(),
                        self.body
                    ),
                }
            }
            Err(_) => match self
                .content_type
                .starts_with("application/vnd.kubernetes.protobuf")
                .then(|| apiserver::protobuf_as_json(&self.body))
                .flatten()
            {
                Some(json) => {
                    let text = serde_json::to_string_pretty(&json).expect("values serialize");
                    let mut managed = Vec::new();
                    managed_fields(&json, &mut managed);
                    format!(
                        "<protobuf, decoded:>\n{}\n<its managedFields, without times:>\n{}",
                        harness::redact::redact(&text, ctx),
                        serde_json::to_string_pretty(&managed).expect("values serialize")
                    )
                }
                _ => format!("<{} bytes, not UTF-8: {:02x?}>", self.body.len(), self.body),
            },
        };
        format!(
            "{}\ncontent-type: {}\n\n{body}",
            self.status, self.content_type
        )
    }
}

/// Every `managedFields` entry in `v` (its objects' and list items'), in order, without
/// its `time`.
fn managed_fields(v: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("managedFields", serde_json::Value::Array(entries)) => {
                        out.extend(entries.iter().map(|e| {
                            let mut e = e.clone();
                            if let Some(m) = e.as_object_mut() {
                                m.shift_remove("time");
                            }
                            e
                        }))
                    }
                    _ => managed_fields(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| managed_fields(i, out)),
        _ => {}
    }
}

/// A server and a client per identity.
pub struct Server {
    pub name: &'static str,
    clients: HashMap<(Identity, String), kube::Client>,
    admin: kube::config::Kubeconfig,
    /// Applied to every body this server answers (the reference's `k3s::rewrites`).
    rewrites: Vec<crate::k3s::Rewrite>,
    /// The `continue` token of this server's last list answer, for `$continue`.
    last_continue: std::sync::Mutex<String>,
    /// The admin kubeconfig as a file, and kubectl's cache, for kubectl cases; removed
    /// with the server, and swept by the next run if this one is killed first.
    files: Files,
}

/// A scratch folder (`backends::fresh_dir`) removed when dropped.
struct Files(std::path::PathBuf);

impl Files {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Server {
    pub fn new(
        name: &'static str,
        admin: kube::config::Kubeconfig,
        rewrites: Vec<crate::k3s::Rewrite>,
    ) -> Result<Server, String> {
        let files = Files(
            backends::fresh_dir(&format!("fidelity-kubectl-{name}"))
                .map_err(|e| format!("{name}: a folder for its kubeconfig: {e}"))?,
        );
        harness::kubeconfig::write(&files.path().join("kubeconfig"), &admin)
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(Server {
            name,
            clients: HashMap::new(),
            admin,
            rewrites,
            last_continue: std::sync::Mutex::new(String::new()),
            files,
        })
    }

    /// Runs a kubectl case: the host's kubectl with this server's admin kubeconfig and a
    /// cache of its own; the answer is its exit code, then what it printed (standard
    /// output, then standard error after a `[stderr]` line).
    async fn kubectl(&self, case: &Case, args: &str, namespace: &str) -> Result<Answer, String> {
        let args = args.replace("$ns", namespace);
        let words = shlex::split(&args)
            .ok_or_else(|| format!("case {:?}: unbalanced quotes in {args:?}", case.name))?;
        let mut command = std::process::Command::new("kubectl");
        command
            .arg(format!(
                "--kubeconfig={}",
                self.files.path().join("kubeconfig").display()
            ))
            .arg(format!(
                "--cache-dir={}",
                self.files.path().join("cache").display()
            ))
            .args(&words)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let stdin = match &case.body {
            Some(body) => serde_saphyr::to_string(body)
                .map_err(|e| format!("case {:?}: {e}", case.name))?
                .replace("$ns", namespace)
                .into_bytes(),
            None => Vec::new(),
        };
        let name = self.name;
        let output = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = command.spawn()?;
            let mut pipe = child.stdin.take().expect("piped");
            pipe.write_all(&stdin)?;
            drop(pipe);
            child.wait_with_output()
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{name}: running kubectl {args}: {e}"))?;
        let mut body = output.stdout;
        if !output.stderr.is_empty() {
            body.extend_from_slice(b"[stderr]\n");
            body.extend_from_slice(&output.stderr);
        }
        Ok(Answer {
            status: output.status.code().map_or(999, |c| c as u16),
            content_type: "kubectl".into(),
            body: crate::k3s::apply(&self.rewrites, &body),
        })
    }

    async fn admin_config(&self) -> Result<kube::Config, String> {
        kube::Config::from_custom_kubeconfig(
            self.admin.clone(),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .map_err(|e| format!("{}: reading the admin kubeconfig: {e}", self.name))
    }

    /// Makes the clients of `namespace`: admin, its `default` ServiceAccount's token (from
    /// TokenRequest), a bad token, and none. The namespace is created first.
    pub async fn prepare(&mut self, namespace: &str) -> Result<(), String> {
        let admin_config = self.admin_config().await?;
        let admin = kube::Client::try_from(admin_config.clone()).map_err(|e| e.to_string())?;
        create_namespace(&admin, namespace).await?;
        let token = service_account_token(&admin, namespace)
            .await
            .map_err(|e| format!("{}: {e}", self.name))?;
        let bare = |token: Option<String>| {
            let mut config = admin_config.clone();
            config.auth_info = kube::config::AuthInfo {
                token: token.map(Into::into),
                ..Default::default()
            };
            kube::Client::try_from(config).map_err(|e| e.to_string())
        };
        let key = |i| (i, namespace.to_string());
        self.clients.insert(key(Identity::Admin), admin);
        self.clients
            .insert(key(Identity::ServiceAccount), bare(Some(token))?);
        self.clients.insert(
            key(Identity::BadToken),
            bare(Some(
                "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.c2ln".into(),
            ))?,
        );
        self.clients.insert(key(Identity::Anonymous), bare(None)?);
        Ok(())
    }

    /// Sends one case's request as its identity, in `namespace`.
    pub async fn send(&self, case: &Case, namespace: &str) -> Result<Answer, String> {
        if let Some(args) = &case.kubectl {
            return self.kubectl(case, args, namespace).await;
        }
        let Some(until) = case.until else {
            return self.send_once(case, namespace).await;
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let answer = self.send_once(case, namespace).await?;
            if answer.status == until || std::time::Instant::now() > deadline {
                return Ok(answer);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    async fn send_once(&self, case: &Case, namespace: &str) -> Result<Answer, String> {
        let client = self
            .clients
            .get(&(case.identity, namespace.to_string()))
            .ok_or_else(|| format!("{}: no client for {namespace}", self.name))?;
        let (method, path) = case.method_and_path(namespace);
        let path = path.replace(
            "$continue",
            &self.last_continue.lock().expect("not poisoned"),
        );
        let mut headers: Vec<(String, String)> = vec![(
            "User-Agent".into(),
            "fidelity/v0.1.0 (linux/amd64) kubelab".into(),
        )];
        let body = case.body_bytes(namespace);
        if !body.is_empty() && case.content_type().is_none() {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        headers.extend(case.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        let (status, content_type, body) = exchange(client, method, &path, &headers, body)
            .await
            .map_err(|e| format!("{}: {e}", self.name))?;
        if let Some(token) = continue_token(&body) {
            *self.last_continue.lock().expect("not poisoned") = token;
        }
        let body = reshape(crate::k3s::apply(&self.rewrites, &body), case);
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }
}

async fn create_namespace(admin: &kube::Client, namespace: &str) -> Result<(), String> {
    let body = serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace},
    });
    let request = http::Request::post("/api/v1/namespaces")
        .header("Content-Type", "application/json")
        .body(body.to_string().into_bytes())
        .map_err(|e| e.to_string())?;
    admin
        .request_text(request)
        .await
        .map_err(|e| format!("creating namespace {namespace}: {e}"))?;
    Ok(())
}

/// Sends one request and reads its whole answer: status, content type, body.
pub async fn exchange(
    client: &kube::Client,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Result<(u16, String, Vec<u8>), String> {
    let mut request = http::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let request = request
        .body(kube::client::Body::from(body))
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let response = client
        .send(request)
        .await
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the answer to {method} {path}: {e}"))?
        .to_bytes();
    Ok((status, content_type, body.to_vec()))
}

/// A token of `<namespace>`'s `default` ServiceAccount, once the controllers made it.
async fn service_account_token(admin: &kube::Client, namespace: &str) -> Result<String, String> {
    token_of(admin, namespace, "default").await
}

/// A token of the ServiceAccount `<namespace>/<name>` (TokenRequest, the API server's own
/// audiences), waiting up to 30 s for it to exist.
pub async fn token_of(admin: &kube::Client, namespace: &str, name: &str) -> Result<String, String> {
    let path = format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token");
    let body = serde_json::json!({
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"audiences": []},
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let request = http::Request::post(&path)
            .header("Content-Type", "application/json")
            .body(body.to_string().into_bytes())
            .map_err(|e| e.to_string())?;
        match admin.request_text(request).await {
            Ok(text) => {
                let v: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| format!("a TokenRequest: {e}"))?;
                return v["status"]["token"]
                    .as_str()
                    .map(String::from)
                    .ok_or_else(|| format!("a TokenRequest without a token: {text}"));
            }
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => return Err(format!("a token for {namespace}/{name}: {e}")),
        }
    }
}

/// A list answer's `continue` token.
fn continue_token(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    if !text.contains("\"continue\"") {
        return None;
    }
    let list: serde_json::Value = serde_json::from_str(text).ok()?;
    Some(list.pointer("/metadata/continue")?.as_str()?.to_string())
}

/// `body` as the case compares it: the JSON arrays under its `unordered` keys sorted, and
/// with `managed_fields`, every `managedFields` list wrapped as `{"entries": [...]}`,
/// which the snapshot redactions do not replace (they replace a `managedFields` list)
/// while still redacting the times inside. Re-encoded compactly, so only for cases that
/// ask; other answers are compared as sent.
fn reshape(body: Vec<u8>, case: &Case) -> Vec<u8> {
    if case.unordered.is_empty() && !case.managed_fields {
        return body;
    }
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return body;
    };
    reshape_value(&mut value, case);
    serde_json::to_vec(&value).expect("values serialize")
}

fn reshape_value(value: &mut serde_json::Value, case: &Case) {
    match value {
        serde_json::Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if case.managed_fields && k == "managedFields" && v.is_array() {
                    *v = serde_json::json!({"entries": v.take()});
                    continue;
                }
                if case.unordered.contains(k)
                    && let serde_json::Value::Array(items) = v
                {
                    items.sort_by_key(|item| item.to_string());
                }
                reshape_value(v, case);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|i| reshape_value(i, case)),
        _ => {}
    }
}
