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

/// What goes into one distroless layer besides whole packages.
pub(crate) struct Layer<'a> {
    /// A root `mmdebstrap` made, as a tarball, with `packages` installed in it.
    pub root: &'a Path,
    /// Packages whose every file dpkg lists goes into the layer.
    pub packages: &'a [&'a str],
    /// Single files of the root kept besides (and the directories above them).
    pub kept: &'a [&'a str],
    /// Directories of the image's own (mode 0755, root's).
    pub dirs: &'a [&'a str],
    /// Symbolic links: path, target.
    pub symlinks: &'a [(&'a str, &'a str)],
    /// Files of the image's own: path, mode, contents.
    pub files: Vec<(&'a str, u32, Vec<u8>)>,
}

/// Builds `gcr.io/distroless/python3-debian13` and stores it.
pub fn build_python(
    store: &Store,
    mirror: &str,
    security: &str,
    created: &str,
) -> Result<crate::Image> {
    let (reference, work) = begin(store, PYTHON)?;
    let failed = |message: String| Error::Build {
        reference: reference.whole(),
        message,
    };
    let trixie = work.path().join("trixie.tar");
    let mut args = vec![
        "--variant=minbase".to_string(),
        "--quiet".to_string(),
        format!("--include={},ca-certificates", PYTHON_PACKAGES.join(",")),
        "trixie".to_string(),
        trixie.display().to_string(),
    ];
    args.extend(sources("trixie", mirror, security));
    run_mmdebstrap(&args).map_err(failed)?;
    let layer = work.path().join("layer.tar");
    write_layer(
        &Layer {
            root: &trixie,
            packages: PYTHON_PACKAGES,
            kept: &["etc/ssl/certs/ca-certificates.crt"],
            dirs: &[],
            symlinks: &[
                ("usr/bin/python", "/usr/bin/python3.13"),
                ("usr/bin/python3", "/usr/bin/python3.13"),
            ],
            files: Vec::new(),
        },
        &layer,
    )
    .map_err(|e| failed(e.to_string()))?;
    store.import(&NewImage {
        reference,
        config: ImageConfig {
            entrypoint: vec!["/usr/bin/python3.13".into()],
            env: vec![
                ("PATH".into(), PATH.into()),
                ("SSL_CERT_FILE".into(), SSL_CERT_FILE.into()),
                ("LANG".into(), "C.UTF-8".into()),
            ],
            working_dir: "/".into(),
            user: "0".into(),
            ..ImageConfig::default()
        },
        layers: vec![layer],
        created: created.to_string(),
        created_by: "cargo xtask images: distroless python3-debian13's packages from Debian trixie".into(),
        annotations: HashMap::from([(
            REBUILT.to_string(),
            "offline, by `cargo xtask images`: distroless python3-debian13's package set from Debian trixie; not the published image's bytes".to_string(),
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

/// One tar: `layer`'s packages and kept files from its root, distroless's users and
/// directories, and its own links and files.
pub(crate) fn write_layer(layer: &Layer<'_>, out: &Path) -> std::io::Result<()> {
    let files = package_files(layer.root, layer.packages)?;
    let kept = |p: &str| {
        files.contains(p)
            || layer.kept.iter().any(|k| {
                p == *k || p.starts_with(&format!("{k}/")) || k.starts_with(&format!("{p}/"))
            })
    };
    let mut b = tar::Builder::new(std::fs::File::create(out)?);
    let mut source = tar::Archive::new(std::fs::File::open(layer.root)?);
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
