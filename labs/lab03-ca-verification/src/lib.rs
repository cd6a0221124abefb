//! Lab 3: verify the API server's certificate with the service-account CA.
//! Its scenario is `scenarios/03-ca-verification/`.

use std::path::PathBuf;

/// The scenario's folder.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/03-ca-verification")
}

/// The lab, checked.
pub fn lab() -> harness::Lab {
    harness::Lab::from_dir(&dir()).unwrap_or_else(|e| panic!("{e}"))
}
