//! `cargo xtask lab`: list the labs, or walk one step by step on a fresh cluster, showing
//! each command, its output, and whether it matches the verified snapshot.

use anyhow::{Context, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Exit codes of `lab N`, in one place.
pub mod exit {
    pub const MATCH: i32 = 0;
    pub const DIFFERS: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const BACKEND: i32 = 3;
}

pub struct Found {
    pub lab: harness::Lab,
    /// The lab crate's snapshot folder.
    pub snapshots: PathBuf,
}

/// Every lab under `scenarios/`, by number.
pub fn discover(root: &Path) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("scenarios"))
        .context("reading scenarios/")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("scenario.yaml").is_file())
        .collect();
    dirs.sort();
    for d in dirs {
        let lab = harness::Lab::from_dir(&d).map_err(|e| anyhow::anyhow!("{e}"))?;
        let prefix = format!("lab{:02}-", lab.number);
        let snapshots = std::fs::read_dir(root.join("labs"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
            })
            .map(|p| p.join("snapshots"))
            .unwrap_or_default();
        out.push(Found { lab, snapshots });
    }
    Ok(out)
}

/// One line per lab: number, title, summary.
pub fn list(labs: &[Found], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for f in labs {
        writeln!(
            out,
            "{:>2}  {:<20} {}",
            f.lab.number, f.lab.scenario.title, f.lab.scenario.summary
        )?;
    }
    Ok(())
}

/// The verified text of a step: the snapshot file's body after insta's header.
pub(crate) fn verified(snapshots: &Path, name: &str) -> Option<String> {
    let snapshot = insta::Snapshot::from_file(&snapshots.join(format!("{name}.snap"))).ok()?;
    // insta keeps the text without its final newline; the transcripts end with one.
    Some(format!("{}\n", snapshot.as_text()?))
}

/// How a step's output compares with its verified snapshot.
#[derive(Debug, PartialEq)]
enum Outcome {
    Match,
    /// The snapshot's name and a -/+ diff.
    Differs(String, String),
    /// No snapshot of this name yet.
    Unverified(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Match => writeln!(f, "✓ matches the verified output"),
            Outcome::Differs(name, diff) => {
                write!(f, "✗ differs from the verified output ({name}):\n{diff}")
            }
            Outcome::Unverified(name) => writeln!(f, "✗ no verified output for {name} yet"),
        }
    }
}

fn compare(found: &Found, name: &str, actual: &str) -> Outcome {
    match verified(&found.snapshots, name) {
        Some(expected) if expected.trim_end() == actual.trim_end() => Outcome::Match,
        Some(expected) => Outcome::Differs(name.to_string(), diff(&expected, actual)),
        None => Outcome::Unverified(name.to_string()),
    }
}

pub(crate) fn diff(expected: &str, actual: &str) -> String {
    let d = similar::TextDiff::from_lines(expected, actual);
    let mut out = String::new();
    for change in d.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => "- ",
            similar::ChangeTag::Insert => "+ ",
            similar::ChangeTag::Equal => continue,
        };
        out.push_str(sign);
        out.push_str(change.value());
        if !change.value().ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// How `lab N` was asked to walk.
#[derive(Debug, Default, clap::Args)]
pub struct Options {
    /// Run every step without pausing
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The cluster to run on: embedded, control-plane, k3s or kubeconfig [default: KUBELAB_BACKEND, else
    /// embedded]
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
    /// Start at step K; earlier steps run silently (and are still checked)
    #[arg(long = "step", value_name = "K")]
    pub from_step: Option<usize>,
    /// Leave the cluster up afterwards and print its KUBECONFIG; Ctrl-C stops it
    #[arg(long)]
    pub keep: bool,
    /// Finish in an interactive shell in the lab's pod
    #[arg(long)]
    pub shell: bool,
}

/// The pod and container a `--shell` opens: those of the lab's last `exec` step.
/// The shell opens right after that step, before any clean-up steps delete the pod.
fn shell_target(scenario: &scenario::Scenario) -> Option<(usize, &str, Option<&str>)> {
    scenario
        .steps
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, s)| match &s.action {
            scenario::Action::Exec { pod, container, .. } => {
                Some((i, pod.as_str(), container.as_deref()))
            }
            _ => None,
        })
}

/// `kubectl exec -it POD [-c C] -- sh` against the lab's cluster, on this terminal.
fn open_shell(kubeconfig: &Path, pod: &str, container: Option<&str>) -> Result<()> {
    println!("Opening a shell in pod {pod}; leave it with `exit` to finish the lab.");
    let mut cmd = std::process::Command::new("kubectl");
    cmd.env("KUBECONFIG", kubeconfig).args(["exec", "-it", pod]);
    if let Some(c) = container {
        cmd.args(["-c", c]);
    }
    cmd.args(["--", "sh"]);
    cmd.status()
        .context("running kubectl exec -it (is kubectl on PATH?)")?;
    Ok(())
}

/// Checks the options against the lab before any cluster starts; a usage error otherwise.
pub fn check(found: &Found, opts: &Options) -> std::result::Result<(), String> {
    let steps = found.lab.scenario.steps.len();
    if let Some(k) = opts.from_step
        && (k == 0 || k > steps)
    {
        return Err(format!(
            "--step {k}: lab {} has steps 1 to {steps}",
            found.lab.number
        ));
    }
    if opts.shell {
        if shell_target(&found.lab.scenario).is_none() {
            return Err(format!(
                "--shell: lab {} runs nothing in a pod, so there is no pod to open a shell in",
                found.lab.number
            ));
        }
        if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
            return Err("--shell needs a terminal".into());
        }
    }
    Ok(())
}

/// JSON output coloured on a terminal (keys, strings, numbers and literals), plain otherwise.
fn paint(text: &str) -> std::borrow::Cow<'_, str> {
    let looks_json = matches!(text.trim_start().chars().next(), Some('{' | '['));
    if !looks_json || !std::io::stdout().is_terminal() || std::env::var_os("NO_COLOR").is_some() {
        return text.into();
    }
    const KEY: &str = "\x1b[34m";
    const STRING: &str = "\x1b[32m";
    const NUMBER: &str = "\x1b[33m";
    const LITERAL: &str = "\x1b[35m";
    const RESET: &str = "\x1b[0m";
    let mut out = String::with_capacity(text.len() * 2);
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let start = i;
                let mut end = text.len();
                let mut escaped = false;
                for (j, d) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == '"' {
                        end = j + 1;
                        break;
                    }
                }
                let rest = text[end..].trim_start_matches([' ', '\t']);
                let colour = if rest.starts_with(':') { KEY } else { STRING };
                out.push_str(colour);
                out.push_str(&text[start..end]);
                out.push_str(RESET);
            }
            '-' | '0'..='9' => {
                let mut end = i + 1;
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_ascii_digit() || matches!(d, '.' | 'e' | 'E' | '+' | '-') {
                        end = j + 1;
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push_str(NUMBER);
                out.push_str(&text[i..end]);
                out.push_str(RESET);
            }
            't' | 'f' | 'n' => {
                let word = ["true", "false", "null"]
                    .into_iter()
                    .find(|w| text[i..].starts_with(w));
                match word {
                    Some(w) => {
                        for _ in 1..w.len() {
                            chars.next();
                        }
                        out.push_str(LITERAL);
                        out.push_str(w);
                        out.push_str(RESET);
                    }
                    None => out.push(c),
                }
            }
            _ => out.push(c),
        }
    }
    out.into()
}

/// Walks one lab; returns the exit code.
pub fn walk(found: &Found, opts: &Options) -> Result<i32> {
    let backend = match opts.backend.as_deref() {
        None => backends::from_env().map_err(|e| e.to_string()),
        Some(name) => backends::by_name(name).map_err(|e| format!("--backend: {e}")),
    };
    let backend = match backend {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(exit::BACKEND);
        }
    };
    let interactive =
        !opts.yes && std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let lab = &found.lab;
    println!(
        "Lab {}: {}\n{}\n",
        lab.number, lab.scenario.title, lab.scenario.summary
    );
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    // kubelab's node (the embedded cluster's, and the one joined to the reference control
    // plane) runs images from this machine's store.
    if matches!(backend.name(), "embedded" | "control-plane")
        && !crate::pull::ensure(&rt, &crate::pull::images_of(&lab.scenario))?
    {
        return Ok(exit::BACKEND);
    }
    let Some(cluster) = start(&rt, backend.as_ref()) else {
        return Ok(exit::BACKEND);
    };
    let info = cluster.info().clone();
    let mut walk = Walk {
        found,
        opts,
        info: &info,
        interactive,
        differs: 0,
    };
    let result = walk.steps(&rt);
    let spinner = crate::progress::Spinner::start("stopping the cluster".into());
    rt.block_on(cluster.stop());
    drop(spinner);
    result?;
    Ok(if walk.differs == 0 {
        exit::MATCH
    } else {
        exit::DIFFERS
    })
}

/// Starts the backend's cluster behind a spinner and says how long it took; `None`, with
/// the error printed, when it does not start.
fn start(
    rt: &tokio::runtime::Runtime,
    backend: &dyn harness::Backend,
) -> Option<Box<dyn harness::RunningCluster>> {
    let started = std::time::Instant::now();
    let spinner =
        crate::progress::Spinner::start(format!("starting the {} cluster", backend.name()));
    let cluster = rt.block_on(backend.start());
    drop(spinner);
    let cluster = match cluster {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return None;
        }
    };
    eprintln!(
        "{} cluster ready in {:.1} s\n",
        backend.name(),
        started.elapsed().as_secs_f64()
    );
    Some(cluster)
}

/// A walk through a lab's steps on a running cluster, counting the steps that differ from
/// their verified output (or do not run).
struct Walk<'a> {
    found: &'a Found,
    opts: &'a Options,
    info: &'a harness::ClusterInfo,
    /// Wait for Enter before each step.
    interactive: bool,
    differs: usize,
}

impl Walk<'_> {
    /// Runs every step, opening the shell after the step `--shell` names, then ends as the
    /// options ask. The runner, and the proxy a step started, live until the end; the
    /// runner's `Drop` cleans up before the cluster stops.
    fn steps(&mut self, rt: &tokio::runtime::Runtime) -> Result<()> {
        let (found, info) = (self.found, self.info);
        let lab = &found.lab;
        let first_shown = self.opts.from_step.unwrap_or(1);
        let mut runner = harness::run::Runner::new(info, &lab.scenario);
        runner.prepare()?;
        let shell_after = shell_target(&lab.scenario).filter(|_| self.opts.shell);
        for (i, step) in lab.scenario.steps.iter().enumerate() {
            if let Some((after, pod, container)) = shell_after
                && i == after + 1
            {
                open_shell(&info.kubeconfig, pod, container)?;
            }
            let number = i + 1;
            if number < first_shown {
                self.silent(&mut runner, number, step);
            } else {
                self.shown(&mut runner, number, step)?;
            }
        }
        let shell_last = shell_after.filter(|(after, ..)| after + 1 == lab.scenario.steps.len());
        self.end(rt, shell_last)
    }

    /// The end of the walk, with the runner still up: the shell, when `--shell` opens it after
    /// the last step, then with `--keep` the cluster stays up until Ctrl-C.
    fn end(
        &self,
        rt: &tokio::runtime::Runtime,
        shell_last: Option<(usize, &str, Option<&str>)>,
    ) -> Result<()> {
        if let Some((_, pod, container)) = shell_last {
            open_shell(&self.info.kubeconfig, pod, container)?;
        }
        if self.opts.keep {
            println!(
                "The cluster stays up; in another terminal:\n\n    export KUBECONFIG={}\n\nCtrl-C stops it.",
                self.info.kubeconfig.display()
            );
            rt.block_on(tokio::signal::ctrl_c())
                .context("waiting for Ctrl-C")?;
        }
        Ok(())
    }

    /// Runs step `number`, before the step the walk starts at, without showing it.
    fn silent(&mut self, runner: &mut harness::run::Runner, number: usize, step: &scenario::Step) {
        let name = self.found.lab.snapshot_name(step);
        // Earlier steps run silently to bring the cluster to where step K starts;
        // one that fails is still reported, as what follows depends on it.
        let total = self.found.lab.scenario.steps.len();
        let spinner =
            crate::progress::Spinner::start(format!("step {number}/{total}: {}", step.name));
        let t = runner.step(step);
        drop(spinner);
        match t {
            Ok(t) => match compare(self.found, &name, &t.redacted(&self.info.redact)) {
                Outcome::Match => {}
                other => {
                    self.differs += 1;
                    println!("step {number}: {other}");
                }
            },
            Err(e) => {
                self.differs += 1;
                println!("✗ step {number} ({name}): {e}");
            }
        }
    }

    /// Shows step `number`'s narration and command, waits for Enter when interactive, runs
    /// it, and shows its output and how it compares with the verified output.
    fn shown(
        &mut self,
        runner: &mut harness::run::Runner,
        number: usize,
        step: &scenario::Step,
    ) -> Result<()> {
        let name = self.found.lab.snapshot_name(step);
        let total = self.found.lab.scenario.steps.len();
        println!("step {number}/{total}");
        if let Some(n) = &step.narration {
            println!("{}", n.trim_end());
        }
        match runner.plan(step) {
            Ok(plan) => println!("$ {}", plan.shown),
            Err(e) => {
                println!("✗ {e}");
                self.differs += 1;
                return Ok(());
            }
        }
        if self.interactive {
            print!("  (Enter to run) ");
            std::io::stdout().flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
        }
        let spinner =
            crate::progress::Spinner::start(format!("step {number}/{total}: {}", step.name));
        let t = runner.step(step);
        drop(spinner);
        let t = match t {
            Ok(t) => t,
            Err(e) => {
                println!("✗ {e}");
                self.differs += 1;
                return Ok(());
            }
        };
        // A long output shows the lines the scenario selects; all of it is checked.
        let shown = step.shown(&format!("$\n{}", t.stdout));
        let shown = shown.strip_prefix("$\n").unwrap_or(&shown);
        print!("{}", paint(shown));
        if !shown.is_empty() && !shown.ends_with('\n') {
            println!();
        }
        eprint!("{}", t.stderr);
        let outcome = compare(self.found, &name, &t.redacted(&self.info.redact));
        if outcome != Outcome::Match {
            self.differs += 1;
        }
        println!("{outcome}");
        Ok(())
    }
}
