//! distroless's images, rebuilt offline from the Debian packages they are made of
//! (`GoogleContainerTools/distroless`). Every distroless image starts from `static`:
//! whole Debian packages (`static/config.bzl`: `base-files`, `netbase`, `tzdata`,
//! `tzdata-legacy` and `media-types` for debian13), the CA bundle, `/tmp`, and distroless's
//! own users (`common/BUILD.bazel`), `PATH` and `SSL_CERT_FILE`, user 0 and working
//! directory `/` (`static/static.bzl`). `base` adds whole packages of its own
//! (`base/config.bzl`), `cc` more (`cc/config.bzl`), and `python3` the Python ones
//! (`python3/config.bzl`), with `/usr/bin/python` and `/usr/bin/python3` linked to the
//! interpreter, `ENTRYPOINT ["/usr/bin/python3.13"]` and `LANG=C.UTF-8`
//! (`python3/python.bzl`).
//!
//! Here a package's files are those dpkg lists for it in a root `mmdebstrap` installs
//! them into; the archive's files, not distroless's snapshot of it. Not reproduced:
//! distroless's own `/etc/os-release` (Debian's stays) and the `ld.so.cache` its python3
//! image carries (the loader finds the libraries in Debian's multiarch directories, which
//! it searches without one).

use crate::debian::{REBUILT, begin, run_mmdebstrap, sources};
use crate::{Error, ImageConfig, NewImage, Result, Store};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

/// distroless's users, groups and name service switch (`common/BUILD.bazel`'s `passwd`
/// and `group`, `static`'s `nsswitch.conf`).
pub(crate) const PASSWD: &str = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";
pub(crate) const GROUP: &str =
    "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n";
pub(crate) const NSSWITCH: &str = "passwd:         files\ngroup:          files\nshadow:         files\ngshadow:        files\n\nhosts:          files dns\nnetworks:       files\n\nprotocols:      db files\nservices:       db files\nethers:         db files\nrpc:            db files\n\nnetgroup:       nis\n";

/// `static`'s environment.
pub(crate) const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
pub(crate) const SSL_CERT_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The reference the Python image reproduces.
pub const PYTHON: &str = "gcr.io/distroless/python3-debian13:latest";

/// The packages of `python3-debian13`, whole: `static`'s, `base`'s, `cc`'s and
/// `python3`'s, for debian13.
const PYTHON_PACKAGES: &[&str] = &[
    // static
    "base-files",
    "netbase",
    "tzdata",
    "tzdata-legacy",
    "media-types",
    // base
    "libc6",
    "libssl3t64",
    "libzstd1",
    "zlib1g",
    // cc
    "libgomp1",
    "libstdc++6",
    "libgcc-s1",
    "gcc-14-base",
    // python3
    "libbz2-1.0",
    "libdb5.3t64",
    "libexpat1",
    "liblzma5",
    "libsqlite3-0",
    "libuuid1",
    "libncursesw6",
    "libtinfo6",
    "libcom-err2",
    "libcrypt1",
    "libc-bin",
    "libgssapi-krb5-2",
    "libk5crypto3",
    "libkeyutils1",
    "libkrb5-3",
    "libkrb5support0",
    "libnsl2",
    "libreadline8t64",
    "libtirpc3t64",
    "libffi8",
    "libpython3.13-minimal",
    "libpython3.13-stdlib",
    "python3.13-minimal",
    "python3.13-venv",
];

/// One distroless image to rebuild: a root `mmdebstrap` makes of `suite` with `include`
/// installed, of which the image keeps `packages` whole and the `kept` files, with
/// distroless's users and its own directories, links and files, and `static`'s settings
/// (`PATH`, `SSL_CERT_FILE`, user 0, working directory `/`) with `env` after them.
pub(crate) struct Spec<'a> {
    pub reference: &'a str,
    pub suite: &'a str,
    pub include: &'a [&'a str],
    pub packages: &'a [&'a str],
    pub kept: &'a [&'a str],
    /// Directories of the image's own (mode 0755, root's).
    pub dirs: &'a [&'a str],
    /// Symbolic links: path, target.
    pub symlinks: &'a [(&'a str, &'a str)],
    /// Files of the image's own: path, mode, contents.
    pub files: Vec<(&'a str, u32, Vec<u8>)>,
    pub entrypoint: &'a str,
    pub env: &'a [(&'a str, &'a str)],
    /// The history line and the rebuilt annotation: what it was made of.
    pub made_of: &'a str,
}

/// Builds `gcr.io/distroless/python3-debian13` and stores it.
pub fn build_python(
    store: &Store,
    mirror: &str,
    security: &str,
    created: &str,
) -> Result<crate::Image> {
    let mut include = PYTHON_PACKAGES.to_vec();
    include.push("ca-certificates");
    build(
        store,
        Spec {
            reference: PYTHON,
            suite: "trixie",
            include: &include,
            packages: PYTHON_PACKAGES,
            kept: &["etc/ssl/certs/ca-certificates.crt"],
            dirs: &[],
            symlinks: &[
                ("usr/bin/python", "/usr/bin/python3.13"),
                ("usr/bin/python3", "/usr/bin/python3.13"),
            ],
            files: Vec::new(),
            entrypoint: "/usr/bin/python3.13",
            env: &[("LANG", "C.UTF-8")],
            made_of: "distroless python3-debian13's package set from Debian trixie",
        },
        mirror,
        security,
        created,
    )
}

/// Builds `spec` and stores it under its reference, annotated as rebuilt.
pub(crate) fn build(
    store: &Store,
    spec: Spec<'_>,
    mirror: &str,
    security: &str,
    created: &str,
) -> Result<crate::Image> {
    let (reference, work) = begin(store, spec.reference)?;
    let failed = |message: String| Error::Build {
        reference: reference.whole(),
        message,
    };
    let root = work.path().join("root.tar");
    let mut args = vec!["--variant=minbase".to_string(), "--quiet".to_string()];
    if !spec.include.is_empty() {
        args.push(format!("--include={}", spec.include.join(",")));
    }
    args.push(spec.suite.to_string());
    args.push(root.display().to_string());
    args.extend(sources(spec.suite, mirror, security));
    run_mmdebstrap(&args).map_err(failed)?;
    let layer = work.path().join("layer.tar");
    write_layer(&root, &spec, &layer).map_err(|e| failed(e.to_string()))?;
    let mut env = vec![
        ("PATH".to_string(), PATH.to_string()),
        ("SSL_CERT_FILE".to_string(), SSL_CERT_FILE.to_string()),
    ];
    env.extend(spec.env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    store.import(&NewImage {
        reference,
        config: ImageConfig {
            entrypoint: vec![spec.entrypoint.to_string()],
            env,
            working_dir: "/".into(),
            user: "0".into(),
            ..ImageConfig::default()
        },
        layers: vec![layer],
        created: created.to_string(),
        created_by: format!("cargo xtask images: {}", spec.made_of),
        annotations: HashMap::from([(
            REBUILT.to_string(),
            format!(
                "offline, by `cargo xtask images`: {}; not the published image's bytes",
                spec.made_of
            ),
        )]),
    })
}

/// `path` as a tar entry names it: relative, without `./` or a trailing `/`.
fn normal(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

/// Every path dpkg lists for `packages` in `root`, under both names a merged-`/usr`
/// root gives it (`/lib/x` is `usr/lib/x`); a package it did not install is an error.
fn package_files(root: &Path, packages: &[&str]) -> std::io::Result<HashSet<String>> {
    let mut lists: HashMap<String, String> = HashMap::new();
    let mut tar = tar::Archive::new(std::fs::File::open(root)?);
    for entry in tar.entries()? {
        let mut entry = entry?;
        let path = normal(&entry.path()?.to_string_lossy());
        let Some(name) = path
            .strip_prefix("var/lib/dpkg/info/")
            .and_then(|n| n.strip_suffix(".list"))
        else {
            continue;
        };
        // `libc6:amd64.list` for a package of several architectures.
        let package = name.split(':').next().unwrap_or(name).to_string();
        if packages.contains(&package.as_str()) {
            let mut text = String::new();
            entry.read_to_string(&mut text)?;
            lists.insert(package, text);
        }
    }
    let mut files = HashSet::new();
    for p in packages {
        let Some(text) = lists.get(*p) else {
            return Err(std::io::Error::other(format!(
                "package {p} is not installed in the root mmdebstrap made"
            )));
        };
        for line in text.lines().map(normal).filter(|l| !l.is_empty()) {
            for alias in ["bin/", "sbin/", "lib/", "lib64/"] {
                if line.starts_with(alias) {
                    files.insert(format!("usr/{line}"));
                }
            }
            files.insert(line);
        }
    }
    Ok(files)
}

/// One tar: `layer`'s packages and kept files from `root`, distroless's users and
/// directories, and its own links and files.
fn write_layer(root: &Path, layer: &Spec<'_>, out: &Path) -> std::io::Result<()> {
    let files = package_files(root, layer.packages)?;
    let kept = |p: &str| {
        files.contains(p)
            || layer.kept.iter().any(|k| {
                p == *k || p.starts_with(&format!("{k}/")) || k.starts_with(&format!("{p}/"))
            })
    };
    let mut b = tar::Builder::new(std::fs::File::create(out)?);
    let mut source = tar::Archive::new(std::fs::File::open(root)?);
    for entry in source.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        if path.to_string_lossy().trim_start_matches("./").is_empty()
            || !kept(&normal(&path.to_string_lossy()))
        {
            continue;
        }
        let mut header = entry.header().clone();
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        b.append_data(&mut header, &path, data.as_slice())?;
    }
    let header = |kind: tar::EntryType, mode: u32, id: u64, size: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(id);
        h.set_gid(id);
        h.set_mtime(0);
        h.set_size(size);
        h
    };
    let dirs = [
        ("tmp", 0o1777, 0),
        ("root", 0o700, 0),
        ("home/nonroot", 0o700, 65532),
    ];
    let own_dirs = layer.dirs.iter().map(|d| (*d, 0o755, 0));
    for (path, mode, id) in dirs.into_iter().chain(own_dirs) {
        b.append_data(
            &mut header(tar::EntryType::Directory, mode, id, 0),
            path,
            std::io::empty(),
        )?;
    }
    let own = [
        ("etc/passwd", 0o644, PASSWD.as_bytes().to_vec()),
        ("etc/group", 0o644, GROUP.as_bytes().to_vec()),
        ("etc/nsswitch.conf", 0o644, NSSWITCH.as_bytes().to_vec()),
    ];
    for (path, mode, data) in own.iter().chain(&layer.files) {
        let mut h = header(tar::EntryType::Regular, *mode, 0, data.len() as u64);
        b.append_data(&mut h, path, data.as_slice())?;
    }
    for (path, target) in layer.symlinks {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0, 0);
        b.append_link(&mut h, path, target)?;
    }
    b.into_inner()?.sync_all()
}
