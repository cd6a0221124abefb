//! The store and unpacking, on images built here: layers as tar streams, a manifest and a
//! config written with oci-spec's builders.

mod common;

use common::{Entry, layer, read, store_image};
use images::{Reference, Store};
use oci_spec::image::{DescriptorBuilder, ImageIndexBuilder, MediaType, PlatformBuilder};
use std::fs;
use std::io::Write;
use std::path::Path;

#[test]
fn references_are_read_as_containerd_reads_them() {
    let r: Reference = "busybox".parse().unwrap();
    assert_eq!(r.whole(), "docker.io/library/busybox:latest");
    let r: Reference = "registry.k8s.io/kubectl:v1.33.3".parse().unwrap();
    assert_eq!(
        (r.registry(), r.repository()),
        ("registry.k8s.io", "kubectl")
    );
}

#[test]
fn an_image_is_stored_resolved_and_unpacked_with_its_whiteouts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let lower = layer(&[
        Entry::Dir("etc/", 0o755),
        Entry::File("etc/os-release", "lower\n"),
        Entry::File("etc/gone", "x"),
        Entry::Dir("var/cache/", 0o755),
        Entry::File("var/cache/old", "x"),
        Entry::Dir("ro/", 0o555),
        Entry::Link("bin", "usr/bin"),
    ]);
    let upper = layer(&[
        Entry::File("etc/os-release", "upper\n"),
        Entry::File("etc/.wh.gone", ""),
        Entry::File("var/cache/new", "y"),
        Entry::File("var/cache/.wh..wh..opq", ""),
        Entry::File("ro/inside", "z"),
        Entry::Device("dev/null"),
    ]);
    let digest = store_image(&store, "example.test/app:1", &[lower, upper]);
    let image = store
        .image(&"example.test/app:1".parse().unwrap())
        .unwrap()
        .expect("stored");
    assert_eq!(image.manifest_digest, digest);
    assert_eq!(image.id(), format!("example.test/app@{digest}"));
    assert_eq!(image.config.entrypoint, ["/bin/sh", "-c"]);
    assert_eq!(image.config.env[1], ("EMPTY".to_string(), String::new()));
    assert_eq!(
        (
            image.config.working_dir.as_str(),
            image.config.user.as_str()
        ),
        ("/work", "1000:1000")
    );

    let root = store.rootfs(&image).unwrap();
    assert_eq!(read(&root, "etc/os-release").as_deref(), Some("upper\n"));
    assert_eq!(read(&root, "etc/gone"), None);
    assert_eq!(
        read(&root, "var/cache/old"),
        None,
        "the opaque directory hides the lower layer"
    );
    assert_eq!(
        read(&root, "var/cache/new").as_deref(),
        Some("y"),
        "but keeps its own layer's"
    );
    assert_eq!(read(&root, "ro/inside").as_deref(), Some("z"));
    assert!(!root.join("dev/null").exists(), "device nodes are skipped");
    assert_eq!(
        fs::read_link(root.join("bin")).unwrap(),
        Path::new("usr/bin")
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(root.join("ro")).unwrap().permissions().mode() & 0o777,
        0o555
    );
    // Unpacked once: asking again gives the same root without unpacking.
    fs::write(root.join("marker"), "").ok();
    assert!(store.rootfs(&image).unwrap().join("marker").exists());
    assert!(
        store
            .image(&"example.test/other:1".parse().unwrap())
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_layer_cannot_write_outside_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let evil = layer(&[Entry::Raw(b"../escaped", "x")]);
    store_image(&store, "example.test/evil:1", &[evil]);
    let image = store
        .image(&"example.test/evil:1".parse().unwrap())
        .unwrap()
        .unwrap();
    let err = store.rootfs(&image).unwrap_err().to_string();
    assert!(err.contains("leaves the root"), "{err}");
    assert!(!dir.path().join("store/rootfs/escaped").exists());
}

#[test]
fn a_whiteout_cannot_delete_through_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("precious"), "keep").unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let target = outside.to_str().unwrap();
    let lower = layer(&[Entry::Link("escape", target)]);
    let upper = layer(&[Entry::File("escape/.wh.precious", "")]);
    store_image(&store, "example.test/escape:1", &[lower, upper]);
    let image = store
        .image(&"example.test/escape:1".parse().unwrap())
        .unwrap()
        .unwrap();
    let err = store.rootfs(&image).unwrap_err().to_string();
    assert!(err.contains("a whiteout outside the root"), "{err}");
    assert_eq!(
        fs::read_to_string(outside.join("precious")).unwrap(),
        "keep"
    );
}

#[test]
fn a_layer_cannot_chmod_or_delete_through_a_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    fs::create_dir_all(outside.join("victim")).unwrap();
    fs::write(outside.join("file"), "keep").unwrap();
    fs::set_permissions(outside.join("file"), fs::Permissions::from_mode(0o600)).unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    // A directory whose mode would be restored at the end, replaced by a symlink out.
    let file = outside.join("file");
    let chmod = layer(&[
        Entry::Dir("x/", 0o777),
        Entry::Link("x", file.to_str().unwrap()),
    ]);
    store_image(&store, "example.test/chmod:1", &[chmod]);
    let image = store
        .image(&"example.test/chmod:1".parse().unwrap())
        .unwrap()
        .unwrap();
    store.rootfs(&image).unwrap();
    let mode = fs::metadata(outside.join("file"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the host file's mode is untouched");
    // A file replacing a directory, through a symlink out of the root.
    let target = outside.to_str().unwrap();
    let delete = layer(&[Entry::Link("evil", target), Entry::File("evil/victim", "x")]);
    store_image(&store, "example.test/delete:1", &[delete]);
    let image = store
        .image(&"example.test/delete:1".parse().unwrap())
        .unwrap()
        .unwrap();
    let err = store.rootfs(&image).unwrap_err().to_string();
    assert!(err.contains("outside the root"), "{err}");
    assert!(
        outside.join("victim").is_dir(),
        "the host directory is still there"
    );
    // A whiteout of no name.
    let bad = layer(&[Entry::File(".wh...", "")]);
    store_image(&store, "example.test/nameless:1", &[bad]);
    let image = store
        .image(&"example.test/nameless:1".parse().unwrap())
        .unwrap()
        .unwrap();
    let err = store.rootfs(&image).unwrap_err().to_string();
    assert!(err.contains("a whiteout of no name"), "{err}");
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let good = store.put_blob(b"hello").unwrap();
    let err = store
        .put_blob_from(&b"hellO"[..], &good)
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not match its digest"), "{err}");
    // A blob changed on disk after it was stored is refused when read.
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(store.blob_path(&good))
        .unwrap();
    f.write_all(b"!").unwrap();
    assert!(store.read_blob(&good).is_err());
}

#[test]
fn a_multi_platform_image_resolves_to_this_machine_s_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let manifest = store_image(
        &store,
        "example.test/single:1",
        &[layer(&[Entry::File("a", "1")])],
    );
    let manifest_desc = store
        .lookup(&"example.test/single:1".parse().unwrap())
        .unwrap()
        .unwrap();
    let mut native = manifest_desc.clone();
    native.set_platform(Some(
        PlatformBuilder::default()
            .os("linux")
            .architecture(images::platform_arch())
            .build()
            .unwrap(),
    ));
    let mut foreign = manifest_desc.clone();
    foreign.set_platform(Some(
        PlatformBuilder::default()
            .os("windows")
            .architecture("amd64")
            .build()
            .unwrap(),
    ));
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(vec![foreign.clone(), native])
        .build()
        .unwrap();
    let bytes = serde_json::to_vec(&index).unwrap();
    let index_digest = store.put_blob(&bytes).unwrap();
    let top = DescriptorBuilder::default()
        .media_type(MediaType::ImageIndex)
        .size(bytes.len() as u64)
        .digest(index_digest.clone())
        .build()
        .unwrap();
    store
        .tag(&"example.test/multi:1".parse().unwrap(), &top)
        .unwrap();
    let image = store
        .image(&"example.test/multi:1".parse().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        (image.digest.clone(), image.manifest_digest.clone()),
        (index_digest, manifest)
    );

    let only_foreign = ImageIndexBuilder::default()
        .schema_version(2u32)
        .manifests(vec![foreign])
        .build()
        .unwrap();
    let bytes = serde_json::to_vec(&only_foreign).unwrap();
    let d = store.put_blob(&bytes).unwrap();
    let top = DescriptorBuilder::default()
        .media_type(MediaType::ImageIndex)
        .size(bytes.len() as u64)
        .digest(d)
        .build()
        .unwrap();
    store
        .tag(&"example.test/foreign:1".parse().unwrap(), &top)
        .unwrap();
    let err = store
        .image(&"example.test/foreign:1".parse().unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("has no manifest for linux/"), "{err}");
}

#[test]
fn concurrent_tags_are_all_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let desc = {
        store_image(
            &store,
            "example.test/base:1",
            &[layer(&[Entry::File("a", "1")])],
        );
        store
            .lookup(&"example.test/base:1".parse().unwrap())
            .unwrap()
            .unwrap()
    };
    std::thread::scope(|s| {
        for i in 0..8 {
            let (store, desc) = (store.clone(), desc.clone());
            s.spawn(move || {
                let r: Reference = format!("example.test/t{i}:1").parse().unwrap();
                Store::open(store.root()).unwrap().tag(&r, &desc).unwrap();
            });
        }
    });
    for i in 0..8 {
        let r: Reference = format!("example.test/t{i}:1").parse().unwrap();
        assert!(store.lookup(&r).unwrap().is_some(), "t{i}");
    }
}

#[test]
fn a_root_can_be_given_to_the_pod_s_root() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store_image(
        &store,
        "example.test/owned:1",
        &[layer(&[
            Entry::Dir("etc/", 0o755),
            Entry::File("etc/a", "1"),
        ])],
    );
    let image = store
        .image(&"example.test/owned:1".parse().unwrap())
        .unwrap()
        .unwrap();
    let me = fs::metadata(dir.path()).unwrap();
    // Root can give files to anyone; anyone else only to themselves.
    let (uid, gid) = if me.uid() == 0 {
        (65534, 65534)
    } else {
        (me.uid(), me.gid())
    };
    let root = store
        .rootfs_owned(&image, images::Owner::Ids(uid, gid))
        .unwrap();
    for p in [root.clone(), root.join("etc"), root.join("etc/a")] {
        let m = fs::symlink_metadata(&p).unwrap();
        assert_eq!((m.uid(), m.gid()), (uid, gid), "{}", p.display());
    }
    assert_ne!(
        root,
        store.rootfs(&image).unwrap(),
        "a root of its own per owner"
    );
}

/// What a layer names of a path a later layer replaced is not given: an image whose
/// directory becomes a symlink out of the root (to the unpacker's home, say) cannot have
/// the files beyond it given away.
#[test]
fn only_what_the_root_still_holds_is_given_its_owner() {
    use std::sync::Mutex;
    struct Recorder(Mutex<Vec<images::LayerOwner>>);
    impl images::GiveOwners for Recorder {
        fn name(&self) -> String {
            "recorded".into()
        }
        fn give(
            &self,
            _root: &std::path::Path,
            owners: &[images::LayerOwner],
        ) -> Result<(), String> {
            self.0.lock().unwrap().extend_from_slice(owners);
            Ok(())
        }
        fn remove(&self, root: &std::path::Path) -> Result<(), String> {
            fs::remove_dir_all(root).map_err(|e| e.to_string())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    fs::create_dir(&home).unwrap();
    fs::write(home.join(".bashrc"), "mine").unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let lower = layer(&[
        Entry::Dir("a/", 0o755),
        Entry::Owned("a/.bashrc", 1000, 1000, 0o666),
        Entry::Owned("kept", 7, 8, 0o4755),
        Entry::Owned("gone", 9, 9, 0o644),
        Entry::Owned("root-owned", 0, 0, 0o644),
    ]);
    let upper = layer(&[
        Entry::Link("a", home.to_str().unwrap()),
        Entry::File(".wh.gone", ""),
    ]);
    store_image(&store, "example.test/given:1", &[lower, upper]);
    let image = store
        .image(&"example.test/given:1".parse().unwrap())
        .unwrap()
        .unwrap();
    let recorder = Recorder(Mutex::new(Vec::new()));
    store
        .rootfs_owned(&image, images::Owner::GivenBy(&recorder))
        .unwrap();
    let given = recorder.0.into_inner().unwrap();
    assert_eq!(
        given,
        vec![images::LayerOwner {
            path: "kept".into(),
            uid: 7,
            gid: 8,
            mode: 0o4755
        }]
    );
}

#[test]
fn opening_the_store_sweeps_what_a_killed_unpacking_left() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).unwrap();
    let old = dir.path().join("rootfs/.unpacking-old");
    let young = dir.path().join("rootfs/.unpacking-young");
    fs::create_dir_all(old.join("rootfs/ro")).unwrap();
    fs::set_permissions(old.join("rootfs/ro"), fs::Permissions::from_mode(0o555)).unwrap();
    fs::create_dir_all(&young).unwrap();
    let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    fs::File::open(&old)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();
    Store::open(dir.path()).unwrap();
    assert!(!old.exists(), "a stale unpacking is swept");
    assert!(young.exists(), "one that may still be running stays");
}
