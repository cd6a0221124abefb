//! Containers in an image's own root: the course's Debian image (`cargo xtask images`
//! builds it into the image store where no registry is reachable), its files and
//! programs, a writable layer per container that neither the host's image nor another
//! container sees, and `kubectl exec`'s way in: joining a running container's root.

use images::{Owner, Reference, Store};
use podbox::{ContainerSpec, ImageRoot, Sandbox, SandboxSpec};
use std::os::unix::fs::chown;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

const IMAGE: &str = "docker.io/library/debian:trixie-slim";

/// The image's root, owned by the pod's root; `None` (after saying how to get it) when
/// the image is not in the store.
fn image_root() -> Option<PathBuf> {
    let store = Store::user_default().expect("the image store opens");
    let reference: Reference = IMAGE.parse().unwrap();
    let Some(image) = store.image(&reference).expect("the store reads") else {
        testkit::skip(format!(
            "{IMAGE} is not in the image store {}; build it with `cargo xtask images`",
            store.root().display()
        ));
        return None;
    };
    let (uid, gid) = podbox::pod_root_ids();
    Some(
        store
            .rootfs_owned(&image, Owner::Ids(uid, gid))
            .expect("the image unpacks"),
    )
}

/// A writable layer (upper and work directories) owned by the pod's root.
fn writable_layer(dir: &Path) -> (String, String) {
    let (uid, gid) = podbox::pod_root_ids();
    let mut out = Vec::new();
    for name in ["upper", "work"] {
        let p = dir.join(name);
        std::fs::create_dir(&p).unwrap();
        chown(&p, Some(uid), Some(gid)).unwrap();
        out.push(p.display().to_string());
    }
    (out[0].clone(), out[1].clone())
}

fn container(lower: &Path, layer: &(String, String), script: &str) -> ContainerSpec {
    ContainerSpec {
        argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: vec![(
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        )],
        cwd: "/".into(),
        image: Some(ImageRoot {
            lower: lower.display().to_string(),
            upper: layer.0.clone(),
            work: layer.1.clone(),
        }),
        ..ContainerSpec::default()
    }
}

fn run(sb: &Sandbox, spec: &ContainerSpec) -> (i32, String, String) {
    let out: Output = sb
        .command(spec)
        .unwrap()
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_container_runs_in_the_image_s_root() {
    let Some(lower) = image_root() else { return };
    runs_in_the_image_s_root(&lower);
    // Root runs pods as nobody; an unprivileged user runs them as itself, with a store of
    // its own: the same again as one.
    if testkit::is_root() {
        let store = tempfile::tempdir().unwrap();
        let theirs = store.path().join("images");
        let reference: Reference = IMAGE.parse().unwrap();
        Store::user_default()
            .unwrap()
            .copy_image(&reference, &Store::open(&theirs).unwrap())
            .unwrap();
        testkit::chown_tree(store.path(), (testkit::NOBODY, testkit::NOBODY));
        testkit::run_as_nobody(
            "in_the_image_s_root_as_an_unprivileged_user",
            &[("KUBELAB_IMAGES", theirs.as_path())],
        );
    }
}

#[test]
#[ignore = "run by a_container_runs_in_the_image_s_root as an unprivileged user"]
fn in_the_image_s_root_as_an_unprivileged_user() {
    let lower = image_root().expect("the store the root test made");
    runs_in_the_image_s_root(&lower);
}

fn runs_in_the_image_s_root(lower: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let layer = writable_layer(dir.path());
    let sb = Sandbox::create(&SandboxSpec {
        hostname: "debian".into(),
        ..Default::default()
    })
    .unwrap();
    let (code, out, err) = run(
        &sb,
        &container(
            lower,
            &layer,
            "grep ^PRETTY_NAME= /etc/os-release; id; ls /; ls /dev; cat /proc/1/cmdline | tr '\\0' ' '; echo; test -w /sys && echo sys-writable || echo sys-read-only",
        ),
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"");
    assert_eq!(lines[1], "uid=0(root) gid=0(root) groups=0(root)");
    let mut expected: Vec<String> = std::fs::read_dir(lower)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    let listed: Vec<&str> = lines[2..2 + expected.len()].to_vec();
    assert_eq!(
        listed, expected,
        "the image's top-level directories, nothing of the host's"
    );
    let dev: Vec<&str> = lines[2 + expected.len()..]
        .iter()
        .take_while(|l| !l.contains(' '))
        .copied()
        .collect();
    for d in [
        "full", "null", "ptmx", "pts", "random", "shm", "stderr", "tty", "urandom", "zero",
    ] {
        assert!(dev.contains(&d), "/dev/{d} in {dev:?}");
    }
    assert!(out.trim_end().ends_with("sys-read-only"), "{out}");
}

#[test]
fn each_container_writes_to_a_layer_of_its_own_and_exec_joins_it() {
    let Some(lower) = image_root() else { return };
    let dir = tempfile::tempdir().unwrap();
    let a_dir = dir.path().join("a");
    let b_dir = dir.path().join("b");
    std::fs::create_dir_all(&a_dir).unwrap();
    std::fs::create_dir_all(&b_dir).unwrap();
    let (a_layer, b_layer) = (writable_layer(&a_dir), writable_layer(&b_dir));
    let sb = Sandbox::create(&SandboxSpec {
        hostname: "writer".into(),
        ..Default::default()
    })
    .unwrap();
    // A long-running container writes to its root, then waits.
    let mut a = sb
        .command(&container(
            &lower,
            &a_layer,
            "echo mine > /written && echo ready && exec sleep 30",
        ))
        .unwrap()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(a.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "ready\n");
    // `kubectl exec`: a process joining the running container's root sees what it wrote.
    let exec = ContainerSpec {
        argv: vec!["cat".into(), "/written".into()],
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        cwd: "/".into(),
        join: Some(a.id()),
        ..ContainerSpec::default()
    };
    let (code, out, err) = run(&sb, &exec);
    assert_eq!((code, out.as_str()), (0, "mine\n"), "{err}");
    // Another container of the image has a root of its own; the image itself is unchanged.
    let (code, out, _) = run(
        &sb,
        &container(
            &lower,
            &b_layer,
            "cat /written 2>&1; ls /written 2>/dev/null | wc -l",
        ),
    );
    assert_eq!(code, 0);
    assert!(out.ends_with("0\n"), "{out}");
    assert!(
        !lower.join("written").exists(),
        "the image's root is not written"
    );
    assert!(
        Path::new(&a_layer.0).join("written").exists(),
        "the container's layer holds it"
    );
    let _ = a.kill();
    let _ = a.wait();
}

/// As root, a pod maps a range of ids: the image's files keep their owners, and a
/// container runs as the user, group and groups its spec names (`kubectl exec` too);
/// what it may not touch, it may not.
#[test]
fn as_root_a_container_runs_as_the_user_it_names() {
    if !testkit::is_root() {
        testkit::skip("a pod maps a range of ids only when the host runs as root");
        return;
    }
    assert!(podbox::maps_id_range());
    let store = Store::user_default().expect("the image store opens");
    let reference: Reference = IMAGE.parse().unwrap();
    let Some(image) = store.image(&reference).expect("the store reads") else {
        testkit::skip(format!(
            "{IMAGE} is not in the image store; `cargo xtask images`"
        ));
        return;
    };
    let (uid, gid) = podbox::pod_root_ids();
    assert_eq!((uid, gid), (podbox::ROOT_ID_BASE, podbox::ROOT_ID_BASE));
    let lower = store
        .rootfs_owned(&image, Owner::Shifted(uid, gid))
        .expect("the image unpacks");
    // On the host, the image's root-owned files belong to the range's first id, and the
    // group `shadow` of /etc/shadow (42 in Debian) to the range's 42nd.
    use std::os::unix::fs::MetadataExt;
    let shadow = std::fs::metadata(lower.join("etc/shadow")).unwrap();
    assert_eq!((shadow.uid(), shadow.gid()), (uid, gid + 42));
    let dir = tempfile::tempdir().unwrap();
    let layer = writable_layer(dir.path());
    let sb = Sandbox::create(&SandboxSpec::default()).unwrap();
    let mut spec = container(
        &lower,
        &layer,
        "id -u; id -g; id -G; stat -c '%u:%g' /etc/shadow; cat /etc/shadow >/dev/null 2>&1 && echo read || echo refused; touch /made 2>/dev/null && echo wrote || echo read-only; touch /tmp/mine && stat -c '%u:%g' /tmp/mine",
    );
    spec.user = Some(podbox::User {
        uid: 1000,
        gid: 1000,
        groups: vec![1000, 27],
    });
    let (code, out, err) = run(&sb, &spec);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out, "1000\n1000\n1000 27\n0:42\nrefused\nread-only\n1000:1000\n",
        "{err}"
    );
    // Root in the same pod is root of the image's files.
    std::fs::create_dir_all(dir.path().join("r")).unwrap();
    let as_root = container(
        &lower,
        &writable_layer(&dir.path().join("r")),
        "id; cat /etc/shadow >/dev/null && echo read",
    );
    let (code, out, err) = run(&sb, &as_root);
    assert_eq!(
        (code, out.as_str()),
        (0, "uid=0(root) gid=0(root) groups=0(root)\nread\n"),
        "{err}"
    );
}
