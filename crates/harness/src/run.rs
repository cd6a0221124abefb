//! Running a scenario's steps the way a learner would: with the real `kubectl` and `curl`
//! of the host, against the backend's kubeconfig, recording each command and what it
//! printed.
//!
//! `plan` turns each step into the command line shown and the program run; `shared` is
//! what the runner does on someone else's cluster.

mod plan;
mod shared;

pub use plan::{Plan, PlanKind};
pub use shared::MANAGED_BY;

use crate::backend::ClusterInfo;
use plan::kubectl;
use scenario::{Action, Scenario, Step};
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
    which::which(name).map_err(|_| RunError::MissingTool {
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
    /// The host's `kubectl` when it is a dispatcher, and the kubectl of the cluster's
    /// minor to run in its place (`plan::kubectl_of_minor`).
    kubectl: Option<(std::path::PathBuf, std::path::PathBuf)>,
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

impl<'a> Runner<'a> {
    pub fn new(cluster: &'a ClusterInfo, scenario: &'a Scenario) -> Runner<'a> {
        Runner {
            cluster,
            scenario,
            proxy: None,
            applied: Vec::new(),
            kubectl: cluster.minor.and_then(plan::kubectl_of_minor),
        }
    }

    /// Runs `program` as every step does: against the cluster's kubeconfig, in the
    /// scenario's folder, with `stdin` as its input, or none.
    fn output(
        &self,
        step: &str,
        shown: &str,
        program: &std::path::Path,
        args: &[impl AsRef<std::ffi::OsStr>],
        stdin: Option<&str>,
    ) -> Result<std::process::Output, RunError> {
        let spawn_error = |source| RunError::Spawn {
            step: step.to_string(),
            command: shown.to_string(),
            source,
        };
        let mut child = Command::new(program)
            .args(args)
            .env("KUBECONFIG", &self.cluster.kubeconfig)
            // kubectl's discovery cache, per cluster: servers on a port an earlier
            // cluster used must not see its cached ETags.
            .env("KUBECACHEDIR", self.cluster.workdir.join("kube-cache"))
            .current_dir(&self.scenario.dir)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use std::io::Write;
            // A script is a few lines, within any pipe's buffer; a program that exits
            // without reading it is not an error here (its exit code says what happened).
            let _ = pipe.write_all(input.as_bytes());
        }
        child.wait_with_output().map_err(spawn_error)
    }

    fn run(
        &self,
        step: &Step,
        shown: String,
        program: &std::path::Path,
        args: &[String],
        stdin: Option<&str>,
    ) -> Result<Transcript, RunError> {
        let out = self.output(&step.name, &shown, program, args, stdin)?;
        Ok(Transcript {
            step: step.name.clone(),
            command: shown,
            exit: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: without_client_noise(&String::from_utf8_lossy(&out.stderr)),
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

    /// Runs a planned step as its kind says: to completion, checking its exit code, with a
    /// token, or left running.
    fn run_plan(&mut self, step: &Step, plan: Plan) -> Result<Transcript, RunError> {
        match &plan.kind {
            PlanKind::Run => self.run(
                step,
                plan.shown,
                &plan.program,
                &plan.args,
                plan.stdin.as_deref(),
            ),
            PlanKind::WithToken { service_account } => {
                let service_account = service_account.clone();
                self.run_with_token(step, &service_account, plan)
            }
            PlanKind::Exec { exit } => {
                let exit = *exit;
                let t = self.run(
                    step,
                    plan.shown,
                    &plan.program,
                    &plan.args,
                    plan.stdin.as_deref(),
                )?;
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
            PlanKind::Proxy { port } => self.start_proxy(step, *port, plan),
        }
    }

    /// Runs a curl plan with a fresh token of `service_account` and the cluster CA added to
    /// its arguments, neither of which the transcript shows.
    fn run_with_token(
        &self,
        step: &Step,
        service_account: &str,
        plan: Plan,
    ) -> Result<Transcript, RunError> {
        let fail = |detail: String| RunError::Step {
            step: step.name.clone(),
            detail,
        };
        let token = self.run(
            step,
            format!("kubectl create token {service_account}"),
            &kubectl()?,
            &["create".into(), "token".into(), service_account.to_string()],
            None,
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
        self.run(step, plan.shown, &plan.program, &args, None)
    }

    /// Starts `kubectl proxy` on `port` and reads the line it prints when it is ready.
    fn start_proxy(&mut self, step: &Step, port: u16, plan: Plan) -> Result<Transcript, RunError> {
        // The proxy keeps running for the later steps; the transcript shows its line.
        let spawn_err = |source| RunError::Spawn {
            step: step.name.clone(),
            command: plan.shown.clone(),
            source,
        };
        let mut child = Command::new(&plan.program)
            .args(&plan.args)
            .env("KUBECONFIG", &self.cluster.kubeconfig)
            // kubectl's discovery cache, per cluster: servers on a port an earlier
            // cluster used must not see its cached ETags.
            .env("KUBECACHEDIR", self.cluster.workdir.join("kube-cache"))
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
}
