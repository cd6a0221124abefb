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

use crate::debian::{REBUILT, begin, run_mmdebstrap, sources};
use crate::{Error, ImageConfig, NewImage, Result, Store};
use std::collections::HashMap;
use std::io::Read;
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

/// distroless's users, groups and name service switch (`base/base.bzl`'s `passwd`,
/// `group` and `nsswitch.conf`).
const PASSWD: &str = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";
const GROUP: &str = "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n";
const NSSWITCH: &str = "passwd:         files\ngroup:          files\nshadow:         files\ngshadow:        files\n\nhosts:          files dns\nnetworks:       files\n\nprotocols:      db files\nservices:       db files\nethers:         db files\nrpc:            db files\n\nnetgroup:       nis\n";

fn kept(path: &Path) -> bool {
    let p = path.to_string_lossy();
    let p = p.trim_start_matches("./");
    KEPT.iter()
        .any(|k| p == *k || p.starts_with(&format!("{k}/")) || k.starts_with(&format!("{p}/")))
}

/// Builds the image from `kubectl` (the binary) and stores it.
pub fn build(
    store: &Store,
    kubectl: &Path,
    mirror: &str,
    security: &str,
    created: &str,
) -> Result<crate::Image> {
    let (reference, work) = begin(store, REFERENCE)?;
    let failed = |message: String| Error::Build {
        reference: reference.whole(),
        message,
    };
    let bookworm = work.path().join("bookworm.tar");
    let mut args = vec![
        "--variant=minbase".to_string(),
        "--quiet".to_string(),
        "--include=ca-certificates,netbase,tzdata".to_string(),
        "bookworm".to_string(),
        bookworm.display().to_string(),
    ];
    args.extend(sources("bookworm", mirror, security));
    run_mmdebstrap(&args).map_err(failed)?;
    let layer = work.path().join("layer.tar");
    write_layer(&bookworm, kubectl, &layer).map_err(|e| failed(e.to_string()))?;
    store.import(&NewImage {
        reference,
        config: ImageConfig {
            entrypoint: vec!["/bin/kubectl".into()],
            env: vec![
                (
                    "PATH".into(),
                    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
                ),
                ("SSL_CERT_FILE".into(), "/etc/ssl/certs/ca-certificates.crt".into()),
            ],
            ..ImageConfig::default()
        },
        layers: vec![layer],
        created: created.to_string(),
        created_by: "cargo xtask images: distroless static's files from Debian bookworm, kubectl v1.33.3".into(),
        annotations: HashMap::from([(
            REBUILT.to_string(),
            "offline, by `cargo xtask images`: distroless static's files from Debian bookworm packages and kubectl v1.33.3 built from its Go module; not the published image's bytes".to_string(),
        )]),
    })
}

/// One tar: what distroless keeps of `bookworm`, its users, its empty directories, and
/// `/bin/kubectl`.
fn write_layer(bookworm: &Path, kubectl: &Path, out: &Path) -> std::io::Result<()> {
    let mut b = tar::Builder::new(std::fs::File::create(out)?);
    let mut source = tar::Archive::new(std::fs::File::open(bookworm)?);
    for entry in source.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        if !kept(&path) {
            continue;
        }
        let mut header = entry.header().clone();
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        b.append_data(&mut header, &path, data.as_slice())?;
    }
    let dir = |b: &mut tar::Builder<std::fs::File>, path: &str, mode: u32, id: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(mode);
        h.set_uid(id);
        h.set_gid(id);
        h.set_mtime(0);
        h.set_size(0);
        b.append_data(&mut h, path, std::io::empty())
    };
    let file = |b: &mut tar::Builder<std::fs::File>, path: &str, mode: u32, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, path, data)
    };
    dir(&mut b, "tmp", 0o1777, 0)?;
    dir(&mut b, "root", 0o700, 0)?;
    dir(&mut b, "home/nonroot", 0o700, 65532)?;
    dir(&mut b, "bin", 0o755, 0)?;
    file(&mut b, "etc/passwd", 0o644, PASSWD.as_bytes())?;
    file(&mut b, "etc/group", 0o644, GROUP.as_bytes())?;
    file(&mut b, "etc/nsswitch.conf", 0o644, NSSWITCH.as_bytes())?;
    file(&mut b, "bin/kubectl", 0o755, &std::fs::read(kubectl)?)?;
    b.into_inner()?.sync_all()
}
