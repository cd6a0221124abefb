//! `cargo xtask images`: the course's images built offline from Debian's packages into the
//! user's image store, for machines that reach no registry: the Debian-based ones
//! (`images::debian`), `registry.k8s.io/kubectl` (`images::kubectl`, whose binary the
//! reference control plane's build makes) and distroless's Python image
//! (`images::distroless`).

use crate::progress::Spinner;
use anyhow::{Context, Result};
use std::time::Instant;

/// Where the roots' packages come from.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// The Debian archive
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://deb.debian.org/debian"
    )]
    pub mirror: String,
    /// The Debian security archive
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://deb.debian.org/debian-security"
    )]
    pub security: String,
    /// Build only the image of this reference (e.g. debian:trixie-slim)
    #[arg(long, value_name = "REF")]
    pub only: Option<String>,
}

/// One image to build.
enum Build {
    Debian(&'static images::debian::Recipe),
    Kubectl,
    Python,
}

impl Build {
    fn reference(&self) -> &'static str {
        match self {
            Build::Debian(r) => r.reference,
            Build::Kubectl => images::kubectl::REFERENCE,
            Build::Python => images::distroless::PYTHON,
        }
    }
}

pub fn run(root: &std::path::Path, options: &Options) -> Result<i32> {
    let store = images::Store::user_default().context("opening the image store")?;
    let all: Vec<Build> = images::debian::COURSE
        .iter()
        .map(Build::Debian)
        .chain([Build::Kubectl, Build::Python])
        .collect();
    let wanted: Vec<Build> = match &options.only {
        None => all,
        Some(only) => {
            let asked: images::Reference = only
                .parse()
                .with_context(|| format!("{only:?} is not an image reference"))?;
            let (found, others): (Vec<Build>, Vec<Build>) = all
                .into_iter()
                .partition(|b| b.reference() == asked.whole());
            if found.is_empty() {
                let known: Vec<&str> = others.iter().map(Build::reference).collect();
                eprintln!(
                    "error: {} is not one of the course's images: {}",
                    asked.whole(),
                    known.join(", ")
                );
                return Ok(2);
            }
            found
        }
    };
    let created = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    println!(
        "building {} image(s) into {}",
        wanted.len(),
        store.root().display()
    );
    for build in wanted {
        let started = Instant::now();
        let image = match build {
            Build::Debian(recipe) => {
                let _spinner =
                    Spinner::start(format!("{}: mmdebstrap {}", recipe.reference, recipe.suite));
                images::debian::build(&store, recipe, &options.mirror, &options.security, &created)?
            }
            Build::Kubectl => {
                let bin = crate::control_plane::build(root)?.join("kubectl");
                let _spinner = Spinner::start(format!(
                    "{}: distroless static's files from Debian bookworm, and kubectl",
                    images::kubectl::REFERENCE
                ));
                images::kubectl::build(&store, &bin, &options.mirror, &options.security, &created)?
            }
            Build::Python => {
                let _spinner = Spinner::start(format!(
                    "{}: distroless python3's packages from Debian trixie",
                    images::distroless::PYTHON
                ));
                images::distroless::build_python(
                    &store,
                    &options.mirror,
                    &options.security,
                    &created,
                )?
            }
        };
        println!(
            "{}  {}  {:.1} MB  {:.1} s",
            image.reference.whole(),
            image.digest,
            image.size as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(0)
}
