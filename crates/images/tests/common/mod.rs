//! Images built here for the tests: layers as tar streams, a manifest and a config
//! written with oci-spec's builders.

#![allow(dead_code)]

use images::{Digest, ImageConfig, NewImage, Store};
use std::fs;
use std::path::Path;

pub enum Entry<'a> {
    File(&'a str, &'a str),
    Dir(&'a str, u32),
    Link(&'a str, &'a str),
    Device(&'a str),
    Raw(&'a [u8], &'a str),
    /// A file owned by this uid and gid, with this mode.
    Owned(&'a str, u32, u32, u32),
}

pub fn layer(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        match e {
            Entry::File(path, text) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(text.len() as u64);
                h.set_cksum();
                b.append_data(&mut h, path, text.as_bytes()).unwrap();
            }
            Entry::Dir(path, mode) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*mode);
                h.set_size(0);
                h.set_cksum();
                b.append_data(&mut h, path, &[][..]).unwrap();
            }
            Entry::Link(path, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, path, target).unwrap();
            }
            Entry::Device(path) => {
                h.set_entry_type(tar::EntryType::Char);
                h.set_mode(0o666);
                h.set_size(0);
                h.set_device_major(1).unwrap();
                h.set_device_minor(3).unwrap();
                h.set_cksum();
                b.append_data(&mut h, path, &[][..]).unwrap();
            }
            Entry::Owned(path, uid, gid, mode) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_uid(u64::from(*uid));
                h.set_gid(u64::from(*gid));
                h.set_mode(*mode);
                h.set_size(1);
                h.set_cksum();
                b.append_data(&mut h, path, &b"x"[..]).unwrap();
            }
            Entry::Raw(name, text) => {
                // A name written as is, bypassing the builder's own path checks.
                let mut h = tar::Header::new_old();
                h.set_uid(0);
                h.set_gid(0);
                h.set_mtime(0);
                h.as_old_mut().name[..name.len()].copy_from_slice(name);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(text.len() as u64);
                h.set_cksum();
                b.append(&h, text.as_bytes()).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// Stores an image of these layers (uncompressed tars) under `reference` through
/// `Store::import` and returns its manifest's digest.
pub fn store_image(store: &Store, reference: &str, layers: &[Vec<u8>]) -> Digest {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let p = dir.path().join(format!("layer-{i}.tar"));
        fs::write(&p, l).unwrap();
        paths.push(p);
    }
    let image = store
        .import(&NewImage {
            reference: reference.parse().unwrap(),
            config: ImageConfig {
                entrypoint: vec!["/bin/sh".into(), "-c".into()],
                cmd: vec!["echo hi".into()],
                env: vec![
                    ("PATH".into(), "/usr/bin:/bin".into()),
                    ("EMPTY".into(), String::new()),
                ],
                working_dir: "/work".into(),
                user: "1000:1000".into(),
            },
            layers: paths,
            created: "2025-01-01T00:00:00Z".into(),
            created_by: "the tests".into(),
            annotations: Default::default(),
        })
        .unwrap();
    image.manifest_digest
}

pub fn read(root: &Path, path: &str) -> Option<String> {
    fs::read_to_string(root.join(path)).ok()
}
