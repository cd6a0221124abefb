//! Lab scenarios as data: a scenario file (`scenarios/NN-name/scenario.yaml`) and the
//! manifests beside it, parsed and checked before any cluster starts.
//!
//! Every problem is a `ScenarioError` naming the file, line and column. This crate reads
//! only the scenario's own files; running steps is the harness's job.

mod raw;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A position in a file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

/// A scenario or manifest that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}:{}:{}: {message}", file.display(), pos.line, pos.column)]
pub struct ScenarioError {
    pub file: PathBuf,
    pub pos: Pos,
    pub message: String,
}

/// What a `wait` step waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    PodReady(String),
    /// A pod whose containers all ended with 0 and will not restart (phase `Succeeded`).
    PodSucceeded(String),
    JobComplete(String),
    /// An object of `resource` (as kubectl names it: `serviceaccount`, `job`...) exists.
    Exists {
        resource: String,
        name: String,
    },
}

/// How an `http` step reaches the API server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Through the `kubectl proxy` a `proxy` step started.
    Proxy,
    /// Straight to the server URL, without credentials.
    Direct,
    /// Straight to the server URL, trusting the cluster CA, with a token of the
    /// ServiceAccount `service_account` in `default` (`kubectl create token`).
    Token { service_account: String },
}

/// One action of a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `kubectl apply -f <file>`.
    Apply {
        file: String,
    },
    /// `kubectl delete -f <file>`.
    Delete {
        file: String,
    },
    Wait(WaitFor),
    /// A shell command in a pod's container, with the exit code it must end with.
    Exec {
        pod: String,
        container: Option<String>,
        run: String,
        exit: i32,
    },
    /// `kubectl logs <pod> [-c <container>]`.
    Logs {
        pod: String,
        container: Option<String>,
    },
    /// `kubectl proxy` on the host.
    Proxy {
        port: u16,
    },
    /// An HTTP request from the host.
    Http {
        method: String,
        path: String,
        via: Via,
    },
    /// `kubectl get <resource> <name> -o <output>`; `output: table` is kubectl's own table
    /// (no `-o`).
    Get {
        resource: String,
        name: String,
        output: String,
    },
    /// `kubectl auth can-i <verb> <resource> [--as <user>]`.
    CanI {
        verb: String,
        resource: String,
        as_user: Option<String>,
    },
}

/// The word that ends the here-document a script of several lines is typed as
/// (`kubectl exec -i POD -- sh <<'EOF'`): what `Step::shown` reads back, and a line no
/// script may hold.
pub const SCRIPT_END: &str = "EOF";

/// A step: an action, the narration shown before it, and its snapshot name.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `01-apply-curl`: the step number and a slug, unique in the scenario.
    pub name: String,
    pub narration: Option<String>,
    /// `show: "1-20, 150-"`: the output lines (1-based, after the command line) the course
    /// and the walk show of a long output; the rest is shown as `...`. The snapshot always
    /// holds the whole output.
    pub show: Option<Vec<std::ops::RangeInclusive<usize>>>,
    pub action: Action,
    pub pos: Pos,
}

impl Step {
    /// `transcript` (a command line, or a command with a here-document `<<'EOF'` up to its
    /// `EOF` line, then its output) as the course shows it: whole, or the
    /// lines `show` selects with `...` for each run of lines left out.
    pub fn shown(&self, transcript: &str) -> String {
        let Some(show) = &self.show else {
            return transcript.to_string();
        };
        let mut lines = transcript.lines();
        let mut out = String::new();
        if let Some(command) = lines.next() {
            out.push_str(command);
            out.push('\n');
            // A script typed as a here-document is part of the command.
            if command.ends_with(&format!("<<'{SCRIPT_END}'")) {
                for line in lines.by_ref() {
                    out.push_str(line);
                    out.push('\n');
                    if line == SCRIPT_END {
                        break;
                    }
                }
            }
        }
        let mut elided = false;
        for (i, line) in lines.enumerate() {
            if show.iter().any(|r| r.contains(&(i + 1))) {
                out.push_str(line);
                out.push('\n');
                elided = false;
            } else if !elided {
                out.push_str("...\n");
                elided = true;
            }
        }
        out
    }
}

/// Parses `"1-20, 150-"` into inclusive line ranges; an open end runs to the last line.
fn parse_show(text: &str) -> Result<Vec<std::ops::RangeInclusive<usize>>, String> {
    let bad = || {
        format!(
            "show: {text:?} is not a list of line ranges like \"1-20, 150-\" (lines count from 1)"
        )
    };
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let a: usize = a.trim().parse().map_err(|_| bad())?;
        let b: usize = match b.trim() {
            "" => usize::MAX,
            b => b.parse().map_err(|_| bad())?,
        };
        if a == 0 || b < a {
            return Err(bad());
        }
        out.push(a..=b);
    }
    Ok(out)
}

/// An object a manifest creates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

/// A manifest file and the objects in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub file: String,
    pub text: String,
    pub objects: Vec<ObjectRef>,
}

/// A parsed, checked scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub dir: PathBuf,
    pub title: String,
    pub summary: String,
    pub goals: Vec<String>,
    pub steps: Vec<Step>,
    pub manifests: Vec<Manifest>,
}

/// Loads `<dir>/scenario.yaml` and the manifests it names.
pub fn load(dir: &Path) -> Result<Scenario, ScenarioError> {
    let file = dir.join("scenario.yaml");
    let text = std::fs::read_to_string(&file).map_err(|e| ScenarioError {
        file: file.clone(),
        pos: Pos::default(),
        message: format!("cannot read the scenario: {e}"),
    })?;
    parse(dir, &file, &text, &|name| {
        std::fs::read_to_string(dir.join(name)).ok()
    })
}

/// Parses scenario text; `read` returns a manifest's text by file name.
pub fn parse(
    dir: &Path,
    file: &Path,
    text: &str,
    read: &dyn Fn(&str) -> Option<String>,
) -> Result<Scenario, ScenarioError> {
    let raw = raw::parse(file, text)?;
    let mut so_far = SoFar {
        dir,
        file,
        read,
        manifests: Vec::new(),
        created: BTreeSet::new(),
        proxy_started: false,
    };
    let mut steps = Vec::new();
    for (i, rs) in raw.steps.into_iter().enumerate() {
        let n = i + 1;
        let (action, pos, slug) = rs
            .action
            .map_err(|m| so_far.err(rs.pos, format!("step {n}: {m}")))?;
        so_far.check(n, &action, pos)?;
        let show = match &rs.show {
            None => None,
            Some((text, at)) => {
                Some(parse_show(text).map_err(|m| so_far.err(*at, format!("step {n}: {m}")))?)
            }
        };
        steps.push(Step {
            name: format!("{n:02}-{}", rs.name.unwrap_or(slug)),
            narration: rs.narration,
            show,
            action,
            pos,
        });
    }
    Ok(Scenario {
        dir: dir.to_path_buf(),
        title: raw.title,
        summary: raw.summary,
        goals: raw.goals,
        steps,
        manifests: so_far.manifests,
    })
}

/// What the steps parsed so far set up, which each next step is checked against: the
/// manifests they name, the objects the applied ones create, and whether a proxy runs.
struct SoFar<'a> {
    dir: &'a Path,
    file: &'a Path,
    read: &'a dyn Fn(&str) -> Option<String>,
    manifests: Vec<Manifest>,
    /// The lowercase kind and name of every object an applied manifest creates.
    created: BTreeSet<(String, String)>,
    proxy_started: bool,
}

impl SoFar<'_> {
    /// An error at `pos` in the scenario file.
    fn err(&self, pos: Pos, message: String) -> ScenarioError {
        ScenarioError {
            file: self.file.to_path_buf(),
            pos,
            message,
        }
    }

    /// Checks step `n`'s action, written at `pos`, against the steps before it, and
    /// records what it sets up.
    fn check(&mut self, n: usize, action: &Action, pos: Pos) -> Result<(), ScenarioError> {
        match action {
            Action::Apply { file: m } | Action::Delete { file: m } => {
                self.read_manifest(n, m, pos)?;
                if matches!(action, Action::Apply { .. }) {
                    let man = self
                        .manifests
                        .iter()
                        .find(|x| &x.file == m)
                        .expect("just added");
                    for o in &man.objects {
                        self.created.insert((o.kind.to_lowercase(), o.name.clone()));
                    }
                }
            }
            Action::Exec { pod, .. }
            | Action::Logs { pod, .. }
            | Action::Wait(WaitFor::PodReady(pod) | WaitFor::PodSucceeded(pod))
                if !self.created.contains(&("pod".into(), pod.clone())) =>
            {
                return Err(self.err(
                    pos,
                    format!("step {n}: no manifest applied before this step creates pod {pod:?}"),
                ));
            }
            Action::Wait(WaitFor::JobComplete(job))
                if !self.created.contains(&("job".into(), job.clone())) =>
            {
                return Err(self.err(
                    pos,
                    format!("step {n}: no manifest applied before this step creates job {job:?}"),
                ));
            }
            Action::Proxy { .. } => self.proxy_started = true,
            Action::Http {
                via: Via::Proxy, ..
            } if !self.proxy_started => {
                return Err(self.err(
                    pos,
                    format!("step {n}: a request through the proxy needs a proxy step before it"),
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// Reads and checks manifest `m`, named by step `n` at `pos`, unless an earlier step
    /// named it.
    fn read_manifest(&mut self, n: usize, m: &str, pos: Pos) -> Result<(), ScenarioError> {
        if self.manifests.iter().any(|x| x.file == m) {
            return Ok(());
        }
        let Some(text) = (self.read)(m) else {
            return Err(self.err(
                pos,
                format!(
                    "step {n}: manifest {m:?} not found in {}",
                    self.dir.display()
                ),
            ));
        };
        let objects = raw::manifest_objects(&self.dir.join(m), &text)?;
        self.manifests.push(Manifest {
            file: m.to_string(),
            text,
            objects,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests;
