//! `registry.k8s.io/kubectl`, built offline: upstream's image is its kubectl binary at
//! `/bin/kubectl` with `ENTRYPOINT ["/bin/kubectl"]`
//! (`kubernetes/kubernetes:build/server-image/kubectl/Dockerfile`, v1.33.3) on the
//! go-runner image (`build/common.sh`, `KUBECTL_BASE_IMAGE`), which is distroless's
//! `static-debian12`: no shell, no libc, only the files of Debian bookworm's `base-files`,
//! `netbase`, `tzdata` and `ca-certificates` and distroless's own users
//! (`GoogleContainerTools/distroless` `base/`).
//!
//! Here those files are taken from a bookworm root that `mmdebstrap` makes, the users are
//! written as distroless writes them, and the binary is kubectl v1.33.3 built from the same
//! Go module as the reference control plane, with upstream's release stamps. go-runner's
//! own `/go-runner`, which the kubectl image never runs, is left out.

use crate::distroless;
use crate::{Error, Result, Store};
use std::path::Path;

/// The reference this builds.
pub const REFERENCE: &str = "registry.k8s.io/kubectl:v1.33.3";

/// What of the bookworm root a distroless static image holds: the packages' files it
/// keeps (os-release and version, netbase's tables, the time zones, the CA bundle).
const KEPT: &[&str] = &[
    "etc/os-release",
    "usr/lib/os-release",
    "etc/debian_version",
    "etc/services",
    "etc/protocols",
    "etc/rpc",
    "etc/ethertypes",
    "usr/share/zoneinfo",
    "etc/ssl/certs/ca-certificates.crt",
];

/// Builds the image from `kubectl` (the binary) and stores it.
pub fn build(
    store: &Store,
    kubectl: &Path,
    mirror: &str,
    security: &str,
    created: &str,
) -> Result<crate::Image> {
    let binary = std::fs::read(kubectl).map_err(|e| Error::Build {
        reference: REFERENCE.to_string(),
        message: format!("reading {}: {e}", kubectl.display()),
    })?;
    distroless::build(
        store,
        distroless::Spec {
            reference: REFERENCE,
            suite: "bookworm",
            include: &["ca-certificates", "netbase", "tzdata"],
            packages: &[],
            kept: KEPT,
            dirs: &["bin"],
            symlinks: &[],
            files: vec![("bin/kubectl", 0o755, binary)],
            entrypoint: "/bin/kubectl",
            env: &[],
            made_of: "distroless static's files from Debian bookworm packages and kubectl v1.33.3 built from its Go module",
        },
        mirror,
        security,
        created,
    )
}
