//! Images made here rather than pulled: layer tarballs and run settings written into the
//! store as an OCI image (gzip layers, a config whose `diff_ids` are the uncompressed
//! layers' digests, a manifest with the caller's annotations), then named.

use crate::store::{Image, Store, hex, platform, sha256_digest};
use crate::{Error, ImageConfig, Result, io};
use oci_spec::distribution::Reference;
use oci_spec::image::{
    ConfigBuilder, DescriptorBuilder, HistoryBuilder, ImageConfigurationBuilder,
    ImageManifestBuilder, MediaType, RootFsBuilder,
};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;

/// What an imported image is made of.
#[derive(Debug, Clone)]
pub struct NewImage {
    pub reference: Reference,
    pub config: ImageConfig,
    /// Uncompressed tar files, lowest layer first.
    pub layers: Vec<PathBuf>,
    /// RFC 3339, for the config's `created` and its history.
    pub created: String,
    /// How the image was made, for its history.
    pub created_by: String,
    /// The manifest's annotations.
    pub annotations: HashMap<String, String>,
}

fn invalid(what: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Invalid {
        what,
        digest: String::new(),
        message: e.to_string(),
    }
}

/// Writes `w` through a SHA-256 of what passes.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    size: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Store {
    /// Writes `new` into the store and names it `new.reference`.
    pub fn import(&self, new: &NewImage) -> Result<Image> {
        let mut layers = Vec::new();
        let mut diff_ids = Vec::new();
        for path in &new.layers {
            let (descriptor, diff_id) = self.import_layer(path)?;
            layers.push(descriptor);
            diff_ids.push(diff_id);
        }
        let c = &new.config;
        let mut run = ConfigBuilder::default()
            .env(
                c.env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>(),
            )
            .cmd(c.cmd.clone());
        if !c.entrypoint.is_empty() {
            run = run.entrypoint(c.entrypoint.clone());
        }
        if !c.working_dir.is_empty() {
            run = run.working_dir(c.working_dir.clone());
        }
        if !c.user.is_empty() {
            run = run.user(c.user.clone());
        }
        let config = ImageConfigurationBuilder::default()
            .architecture(platform().1)
            .os(platform().0)
            .created(new.created.clone())
            .config(run.build().map_err(|e| invalid("image config", e))?)
            .rootfs(
                RootFsBuilder::default()
                    .typ("layers")
                    .diff_ids(diff_ids)
                    .build()
                    .map_err(|e| invalid("image config", e))?,
            )
            .history(vec![
                HistoryBuilder::default()
                    .created(new.created.clone())
                    .created_by(new.created_by.clone())
                    .build()
                    .map_err(|e| invalid("image config", e))?,
            ])
            .build()
            .map_err(|e| invalid("image config", e))?;
        let config_bytes = serde_json::to_vec(&config).map_err(|e| invalid("image config", e))?;
        let config_digest = self.put_blob(&config_bytes)?;
        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(
                DescriptorBuilder::default()
                    .media_type(MediaType::ImageConfig)
                    .size(config_bytes.len() as u64)
                    .digest(config_digest)
                    .build()
                    .map_err(|e| invalid("image manifest", e))?,
            )
            .layers(layers)
            .annotations(new.annotations.clone())
            .build()
            .map_err(|e| invalid("image manifest", e))?;
        let bytes = serde_json::to_vec(&manifest).map_err(|e| invalid("image manifest", e))?;
        let digest = self.put_blob(&bytes)?;
        let top = DescriptorBuilder::default()
            .media_type(MediaType::ImageManifest)
            .size(bytes.len() as u64)
            .digest(digest)
            .build()
            .map_err(|e| invalid("image manifest", e))?;
        self.tag(&new.reference, &top)?;
        self.image(&new.reference)?
            .ok_or_else(|| invalid("image", "stored but not found again"))
    }

    /// One layer: gzip-compressed into the store; its descriptor and `diff_id`.
    fn import_layer(&self, path: &PathBuf) -> Result<(oci_spec::image::Descriptor, String)> {
        let mut file = std::fs::File::open(path).map_err(io("reading layer", path))?;
        let tmp_dir = self.root().join("tmp");
        let tmp = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(io("writing in", &tmp_dir))?;
        let out = Hashing {
            inner: std::io::BufWriter::new(tmp.reopen().map_err(io("opening", tmp.path()))?),
            hash: Sha256::new(),
            size: 0,
        };
        let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
        let mut diff = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file.read(&mut buf).map_err(io("reading layer", path))?;
            if n == 0 {
                break;
            }
            diff.update(&buf[..n]);
            gz.write_all(&buf[..n])
                .map_err(io("compressing layer", path))?;
        }
        let mut out = gz.finish().map_err(io("compressing layer", path))?;
        out.flush().map_err(io("writing", tmp.path()))?;
        let Hashing {
            inner, hash, size, ..
        } = out;
        drop(inner);
        let digest = sha256_digest(&hex(hash.finalize()));
        let stored = std::fs::File::open(tmp.path()).map_err(io("reading", tmp.path()))?;
        self.put_blob_from(stored, &digest)?;
        let descriptor = DescriptorBuilder::default()
            .media_type(MediaType::ImageLayerGzip)
            .size(size)
            .digest(digest)
            .build()
            .map_err(|e| invalid("layer", e))?;
        Ok((descriptor, format!("sha256:{}", hex(diff.finalize()))))
    }
}
