//! `cargo xtask images`: the course's images built offline from Debian's packages into the
//! user's image store (`images::debian`), for machines that reach no registry.

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

pub fn run(options: &Options) -> Result<i32> {
    let store = images::Store::user_default().context("opening the image store")?;
    let wanted: Vec<&images::debian::Recipe> = match &options.only {
        None => images::debian::COURSE.iter().collect(),
        Some(only) => {
            let asked: images::Reference = only
                .parse()
                .with_context(|| format!("{only:?} is not an image reference"))?;
            let found: Vec<_> = images::debian::COURSE
                .iter()
                .filter(|r| r.reference == asked.whole())
                .collect();
            if found.is_empty() {
                let known: Vec<&str> = images::debian::COURSE.iter().map(|r| r.reference).collect();
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
    for recipe in wanted {
        let started = Instant::now();
        let spinner = Spinner::start(format!("{}: mmdebstrap {}", recipe.reference, recipe.suite));
        let image =
            images::debian::build(&store, recipe, &options.mirror, &options.security, &created)?;
        drop(spinner);
        println!(
            "{}  {}  {:.1} MB  {:.1} s",
            recipe.reference,
            image.digest,
            image.size as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(0)
}
