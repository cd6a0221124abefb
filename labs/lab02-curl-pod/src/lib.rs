//! Lab 2: find the API server from inside a pod.
//! Its scenario is `scenarios/02-curl-pod/`.

use std::path::PathBuf;

/// The scenario's folder.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/02-curl-pod")
}

/// The lab, checked.
pub fn lab() -> harness::Lab {
    harness::Lab::from_dir(&dir()).unwrap_or_else(|e| panic!("{e}"))
}
