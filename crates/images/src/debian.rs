//! The course's Debian-based images, built offline from Debian's packages when no registry
//! is reachable: `mmdebstrap` makes the root from the same suite and package set the
//! official image is made from, and `Store::import` writes it into the store under the
//! reference it reproduces, annotated as rebuilt.
//!
//! What each official image is made of:
//! - `debian:<suite>` and `debian:<suite>-slim` are debuerreotype's builds: debootstrap's
//!   `minbase` variant (Priority: required, and apt; their `rootfs.manifest` lists the
//!   packages), `CMD ["bash"]` and Debian's `PATH`
//!   (`debuerreotype/docker-debian-artifacts:<suite>/oci/blobs/image-config.json`); the
//!   slim one drops documentation, man and info pages and locales as dpkg installs them
//!   (`debuerreotype/debuerreotype:scripts/.slimify-excludes`, `.slimify-includes`);
//! - `buildpack-deps:<suite>-curl` is `debian:<suite>` with `ca-certificates curl gnupg
//!   netbase wget` installed (`docker-library/buildpack-deps:debian/<suite>/curl/Dockerfile`).

use crate::{Error, ImageConfig, NewImage, Reference, Result, Store};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};

/// The annotation that says an image was rebuilt here, and how.
pub const REBUILT: &str = "dev.kubelab.image.rebuilt";

/// One Debian-based image the course runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipe {
    /// The reference it reproduces.
    pub reference: &'static str,
    pub suite: &'static str,
    /// Packages installed on top of `minbase`.
    pub include: &'static [&'static str],
    /// Documentation, manuals and locales left out, as the `-slim` images do.
    pub slim: bool,
}

/// The course's Debian-based images.
pub const COURSE: &[Recipe] = &[
    Recipe {
        reference: "docker.io/library/debian:trixie-slim",
        suite: "trixie",
        include: &[],
        slim: true,
    },
    Recipe {
        reference: "docker.io/library/buildpack-deps:trixie-curl",
        suite: "trixie",
        include: &["ca-certificates", "curl", "gnupg", "netbase", "wget"],
        slim: false,
    },
];

/// What dpkg leaves out of a slim image (`path-exclude`), and keeps of that
/// (`path-include`), after debuerreotype's slimify lists.
const SLIM_EXCLUDE: &[&str] = &[
    "/usr/share/doc/*",
    "/usr/share/info/*",
    "/usr/share/linda/*",
    "/usr/share/lintian/overrides/*",
    "/usr/share/locale/*",
    "/usr/share/man/*",
    "/usr/share/doc/kde/HTML/*/*",
    "/usr/share/gnome/help/*/*",
    "/usr/share/omf/*/*-*.emf",
];
const SLIM_INCLUDE: &[&str] = &[
    "/usr/share/doc/*/copyright",
    "/usr/share/doc/kde/HTML/C/*",
    "/usr/share/gnome/help/*/C/*",
    "/usr/share/locale/all_languages",
    "/usr/share/locale/currency/*",
    "/usr/share/locale/l10n/*",
    "/usr/share/locale/languages",
    "/usr/share/locale/locale.alias",
    "/usr/share/omf/*/*-C.emf",
];

/// Debian's default `PATH`, as the images set it.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The archive the roots are made from: the suite, its updates and its security updates.
pub(crate) fn sources(suite: &str, mirror: &str, security: &str) -> Vec<String> {
    vec![
        format!("deb {mirror} {suite} main"),
        format!("deb {mirror} {suite}-updates main"),
        format!("deb {security} {suite}-security main"),
    ]
}

/// `mmdebstrap`'s arguments for `recipe`, writing the root as a tarball to `out`.
pub fn mmdebstrap_args(recipe: &Recipe, out: &Path, mirror: &str, security: &str) -> Vec<String> {
    let mut args = vec!["--variant=minbase".to_string(), "--quiet".to_string()];
    if !recipe.include.is_empty() {
        args.push(format!("--include={}", recipe.include.join(",")));
    }
    if recipe.slim {
        for p in SLIM_EXCLUDE {
            args.push(format!("--dpkgopt=path-exclude={p}"));
        }
        for p in SLIM_INCLUDE {
            args.push(format!("--dpkgopt=path-include={p}"));
        }
    }
    args.push(recipe.suite.to_string());
    args.push(out.display().to_string());
    args.extend(sources(recipe.suite, mirror, security));
    args
}

/// The start of a build: the reference parsed and a work directory in the store's.
pub(crate) fn begin(store: &Store, reference: &str) -> Result<(Reference, tempfile::TempDir)> {
    let failed = |message: String| Error::Build {
        reference: reference.to_string(),
        message,
    };
    let parsed: Reference = reference.parse().map_err(|e| failed(format!("{e}")))?;
    let work = tempfile::tempdir_in(store.root().join("tmp"))
        .map_err(|e| failed(format!("making a work directory: {e}")))?;
    Ok((parsed, work))
}

/// Runs `mmdebstrap` with `args`; its last lines when it fails.
pub(crate) fn run_mmdebstrap(args: &[String]) -> std::result::Result<(), String> {
    let out = Command::new("mmdebstrap")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                "mmdebstrap is not installed (apt-get install mmdebstrap)".to_string()
            } else {
                format!("running mmdebstrap: {e}")
            }
        })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
    Err(format!(
        "mmdebstrap {} failed ({}):\n{}",
        args.join(" "),
        out.status,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ))
}

/// Builds `recipe` with mmdebstrap and stores it; `created` is RFC 3339.
pub fn build(
    store: &Store,
    recipe: &Recipe,
    mirror: &str,
    security: &str,
    created: &str,
) -> Result<crate::Image> {
    let (reference, work) = begin(store, recipe.reference)?;
    let failed = |message: String| Error::Build {
        reference: reference.whole(),
        message,
    };
    let tarball = work.path().join("rootfs.tar");
    let args = mmdebstrap_args(recipe, &tarball, mirror, security);
    run_mmdebstrap(&args).map_err(failed)?;
    let annotations = HashMap::from([(
        REBUILT.to_string(),
        format!(
            "offline, from Debian {} packages, by `cargo xtask images` (mmdebstrap); \
             the official image's package set, not its bytes",
            recipe.suite
        ),
    )]);
    store.import(&NewImage {
        reference,
        config: ImageConfig {
            cmd: vec!["bash".into()],
            env: vec![("PATH".into(), PATH.into())],
            ..ImageConfig::default()
        },
        layers: vec![tarball],
        created: created.to_string(),
        created_by: format!("mmdebstrap {}", args.join(" ")),
        annotations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slim_image_leaves_out_what_slimify_does_and_the_curl_image_adds_its_packages() {
        let [slim, curl] = COURSE else {
            panic!("two course images")
        };
        let m = "http://deb.example/debian";
        let s = "http://deb.example/debian-security";
        let args = mmdebstrap_args(slim, Path::new("/x.tar"), m, s);
        assert!(args.contains(&"--dpkgopt=path-exclude=/usr/share/man/*".to_string()));
        assert!(args.contains(&"--dpkgopt=path-include=/usr/share/doc/*/copyright".to_string()));
        assert!(!args.iter().any(|a| a.starts_with("--include")));
        assert_eq!(
            args[args.len() - 5..],
            [
                "trixie",
                "/x.tar",
                "deb http://deb.example/debian trixie main",
                "deb http://deb.example/debian trixie-updates main",
                "deb http://deb.example/debian-security trixie-security main",
            ]
        );
        let args = mmdebstrap_args(curl, Path::new("/x.tar"), m, s);
        assert!(args.contains(&"--include=ca-certificates,curl,gnupg,netbase,wget".to_string()));
        assert!(!args.iter().any(|a| a.starts_with("--dpkgopt")));
    }
}
