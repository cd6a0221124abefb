//! Pulling from a real registry: the CNCF distribution registry (Debian's
//! `docker-registry`) started on loopback, an image pushed to it from one store and pulled
//! into another, digest-verified, unpacked and read back; a corrupted blob refused; an
//! unreachable registry failing at once.

mod common;

use common::{Entry, layer, read, store_image};
use images::{PullProgress, Reference, Store};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A registry serving from a directory, killed when dropped.
struct Registry {
    child: Child,
    port: u16,
    storage: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_registry() -> Option<Registry> {
    let bin = testkit::host_tool("docker-registry", testkit::install::REGISTRY)?;
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("storage");
    let port = free_port();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            storage.display()
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let registry = Registry {
        child,
        port,
        storage,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the registry did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(registry)
}

/// Pushes the image `reference` names in `store` to the same reference on its registry.
async fn push(store: &Store, reference: &Reference) {
    let client = images::registry_client(reference);
    let auth = oci_client::secrets::RegistryAuth::Anonymous;
    client
        .store_auth_if_needed(reference.resolve_registry(), &auth)
        .await;
    let image = store.image(reference).unwrap().unwrap();
    let mut blobs = vec![image.manifest.config().clone()];
    blobs.extend(image.manifest.layers().iter().cloned());
    for b in blobs {
        let data = store.read_blob(b.digest()).unwrap();
        client
            .push_blob(reference, data, b.digest().as_ref())
            .await
            .unwrap();
    }
    let manifest = store.read_blob(&image.manifest_digest).unwrap();
    client
        .push_manifest_raw(
            reference,
            manifest,
            http::HeaderValue::from_static("application/vnd.oci.image.manifest.v1+json"),
        )
        .await
        .unwrap();
}

fn tree_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(tree_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn an_image_pushed_to_a_registry_is_pulled_verified_and_unpacked() {
    let Some(registry) = start_registry() else {
        return;
    };
    let name = format!("127.0.0.1:{}/course/app:1", registry.port);
    let reference: Reference = name.parse().unwrap();
    let source = tempfile::tempdir().unwrap();
    let source = Store::open(source.path()).unwrap();
    let layers = [
        layer(&[
            Entry::Dir("etc/", 0o755),
            Entry::File("etc/os-release", "pulled\n"),
        ]),
        layer(&[Entry::File("hello", "world")]),
    ];
    let digest = store_image(&source, &name, &layers);
    push(&source, &reference).await;

    let dest = tempfile::tempdir().unwrap();
    let dest = Store::open(dest.path()).unwrap();
    let seen = Mutex::new(Vec::new());
    let image = dest
        .pull(&reference, &|p: PullProgress| seen.lock().unwrap().push(p))
        .await
        .unwrap();
    assert_eq!(image.digest, digest);
    assert_eq!(
        image.id(),
        format!("127.0.0.1:{}/course/app@{digest}", registry.port)
    );
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 3, "config and two layers: {seen:?}");
    assert_eq!(seen.last().unwrap().done, seen.last().unwrap().total);
    let root = dest.rootfs(&image).unwrap();
    assert_eq!(read(&root, "etc/os-release").as_deref(), Some("pulled\n"));
    assert_eq!(read(&root, "hello").as_deref(), Some("world"));
    // Stored under its reference: the next lookup needs no registry.
    drop(registry);
    assert!(dest.image(&reference).unwrap().is_some());
}

#[tokio::test]
async fn a_corrupted_blob_is_refused() {
    let Some(registry) = start_registry() else {
        return;
    };
    let name = format!("127.0.0.1:{}/course/bad:1", registry.port);
    let reference: Reference = name.parse().unwrap();
    let source = tempfile::tempdir().unwrap();
    let source = Store::open(source.path()).unwrap();
    store_image(
        &source,
        &name,
        &[layer(&[Entry::File("a", "the real content")])],
    );
    push(&source, &reference).await;
    let image = source.image(&reference).unwrap().unwrap();
    let layer_hex = image.manifest.layers()[0].digest().digest().to_string();
    let data = tree_files(&registry.storage)
        .into_iter()
        .find(|p| p.ends_with("data") && p.parent().unwrap().ends_with(&layer_hex))
        .expect("the registry stores the layer");
    let mut bytes = std::fs::read(&data).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&data, bytes).unwrap();

    let dest = tempfile::tempdir().unwrap();
    let dest = Store::open(dest.path()).unwrap();
    let err = dest
        .pull(&reference, &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("digest"), "{err}");
    assert!(!dest.has_blob(image.manifest.layers()[0].digest()));
    assert!(
        dest.image(&reference).unwrap().is_none(),
        "nothing is named after a failed pull"
    );
}

#[tokio::test]
async fn an_unreachable_registry_fails_at_once() {
    let reference: Reference = format!("127.0.0.1:{}/course/none:1", free_port())
        .parse()
        .unwrap();
    let dest = tempfile::tempdir().unwrap();
    let dest = Store::open(dest.path()).unwrap();
    let started = Instant::now();
    let err = dest
        .pull(&reference, &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.starts_with(&format!("pulling {}", reference.whole())),
        "{err}"
    );
}
