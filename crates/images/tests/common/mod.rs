//! Images built here for the tests: layers as tar streams, a manifest and a config
//! written with oci-spec's builders.

#![allow(dead_code)]

use images::{Digest, Reference, Store};
use oci_spec::image::{
    ConfigBuilder, DescriptorBuilder, ImageConfigurationBuilder, ImageManifestBuilder, MediaType,
    RootFsBuilder,
};
use std::fs;
use std::path::Path;

pub enum Entry<'a> {
    File(&'a str, &'a str),
    Dir(&'a str, u32),
    Link(&'a str, &'a str),
    Device(&'a str),
    Raw(&'a [u8], &'a str),
}

pub fn layer(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
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
    b.into_inner().unwrap().finish().unwrap()
}

/// Stores an image of these layers under `reference` and returns its manifest's digest.
pub fn store_image(store: &Store, reference: &str, layers: &[Vec<u8>]) -> Digest {
    let mut descriptors = Vec::new();
    for l in layers {
        let d = store.put_blob(l).unwrap();
        descriptors.push(
            DescriptorBuilder::default()
                .media_type(MediaType::ImageLayerGzip)
                .size(l.len() as u64)
                .digest(d)
                .build()
                .unwrap(),
        );
    }
    let config = ImageConfigurationBuilder::default()
        .architecture(images::platform_arch())
        .os("linux")
        .config(
            ConfigBuilder::default()
                .entrypoint(vec!["/bin/sh".to_string(), "-c".to_string()])
                .cmd(vec!["echo hi".to_string()])
                .env(vec!["PATH=/usr/bin:/bin".to_string(), "EMPTY".to_string()])
                .working_dir("/work")
                .user("1000:1000")
                .build()
                .unwrap(),
        )
        .rootfs(
            RootFsBuilder::default()
                .typ("layers")
                .diff_ids(Vec::<String>::new())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let config_bytes = serde_json::to_vec(&config).unwrap();
    let config_digest = store.put_blob(&config_bytes).unwrap();
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(
            DescriptorBuilder::default()
                .media_type(MediaType::ImageConfig)
                .size(config_bytes.len() as u64)
                .digest(config_digest)
                .build()
                .unwrap(),
        )
        .layers(descriptors)
        .build()
        .unwrap();
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
    let manifest_digest = store.put_blob(&manifest_bytes).unwrap();
    let desc = DescriptorBuilder::default()
        .media_type(MediaType::ImageManifest)
        .size(manifest_bytes.len() as u64)
        .digest(manifest_digest.clone())
        .build()
        .unwrap();
    store
        .tag(&reference.parse::<Reference>().unwrap(), &desc)
        .unwrap();
    manifest_digest
}

pub fn read(root: &Path, path: &str) -> Option<String> {
    fs::read_to_string(root.join(path)).ok()
}
