//! `/version`: the k3s v1.33.3 fields, with a `gitVersion` that says the server is emulated.
//!
//! Field set and order from apimachinery `pkg/version/types.go` (v0.33.0); values from the
//! real k3s v1.33.3+k3s1 capture in FIDELITY.md §1. Build facts (commit, date, Go version)
//! are k3s's: they describe the Kubernetes code being emulated, and the course redacts
//! the build suffix.

use serde_json::{Value, json};

pub const GIT_VERSION: &str = "v1.33.3+kubelab";

pub fn info() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": GIT_VERSION,
        "gitCommit": "236cbf257332b293f444abe6f24d699ff628173e",
        "gitTreeState": "clean",
        "buildDate": "2025-07-26T02:08:27Z",
        "goVersion": "go1.24.4",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}
