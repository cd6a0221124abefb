//! Pulling an image from a registry over the OCI distribution API, anonymously, through
//! `oci-client`: the manifest the reference names (an image index or a manifest), this
//! platform's manifest from an index, then the config and each layer not yet stored, every
//! one checked against its digest as it enters the store.
//!
//! Registries on `localhost` or a loopback address are spoken to in plain HTTP, as
//! containerd's resolver does by default (`containerd/remotes/docker/config`,
//! `MatchLocalhost`); every other registry over HTTPS.

use crate::store::{Image, Store, this_platform};
use crate::{Error, Result};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest;
use oci_client::secrets::RegistryAuth;
use oci_spec::distribution::Reference;
use oci_spec::image::{
    Descriptor, DescriptorBuilder, Digest, ImageIndex, ImageManifest, MediaType,
};
use std::str::FromStr;

/// The manifest media types a pull accepts, OCI's and Docker's.
const ACCEPTED: &[&str] = &[
    manifest::OCI_IMAGE_INDEX_MEDIA_TYPE,
    manifest::IMAGE_MANIFEST_LIST_MEDIA_TYPE,
    manifest::OCI_IMAGE_MEDIA_TYPE,
    manifest::IMAGE_MANIFEST_MEDIA_TYPE,
];

/// How far a pull has come: bytes of config and layers fetched, of all that are needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullProgress {
    pub done: u64,
    pub total: u64,
}

/// Whether `registry` (`host[:port]`) is this machine.
fn is_local(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => registry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A registry client for `reference`'s registry, as pulls use it.
pub fn registry_client(reference: &Reference) -> oci_client::Client {
    // reqwest without a provider of its own uses the process's: ring, as the workspace does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let registry = reference.resolve_registry().to_string();
    let protocol = if is_local(&registry) {
        ClientProtocol::HttpsExcept(vec![registry])
    } else {
        ClientProtocol::Https
    };
    oci_client::Client::new(ClientConfig {
        protocol,
        connect_timeout: Some(std::time::Duration::from_secs(10)),
        // A registry that stops sending fails the pull rather than holding it forever.
        read_timeout: Some(std::time::Duration::from_secs(60)),
        ..ClientConfig::default()
    })
}

fn failed(reference: &Reference, e: impl std::error::Error) -> Error {
    let mut message = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = c.source();
    }
    Error::Pull {
        reference: reference.whole(),
        message,
    }
}

/// The media type a manifest's JSON names.
fn media_type_of(bytes: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    Some(v.get("mediaType")?.as_str()?.to_string())
}

fn is_index(media_type: &str) -> bool {
    media_type == manifest::OCI_IMAGE_INDEX_MEDIA_TYPE
        || media_type == manifest::IMAGE_MANIFEST_LIST_MEDIA_TYPE
}

impl Store {
    /// Pulls `reference` into the store and names it so; `progress` hears of each chunk.
    pub async fn pull(
        &self,
        reference: &Reference,
        progress: &(dyn Fn(PullProgress) + Send + Sync),
    ) -> Result<Image> {
        let client = registry_client(reference);
        let auth = RegistryAuth::Anonymous;
        let (top_bytes, top_digest) = client
            .pull_manifest_raw(reference, &auth, ACCEPTED)
            .await
            .map_err(|e| failed(reference, e))?;
        let top_digest = self.keep(reference, &top_bytes, &top_digest)?;
        let top_type =
            media_type_of(&top_bytes).unwrap_or_else(|| manifest::OCI_IMAGE_MEDIA_TYPE.into());
        let manifest_bytes = if is_index(&top_type) {
            let index: ImageIndex = parse(reference, "image index", &top_bytes)?;
            let chosen = this_platform(reference, &index)?;
            let by_digest = reference.clone_with_digest(chosen.digest().to_string());
            let (bytes, digest) = client
                .pull_manifest_raw(&by_digest, &auth, ACCEPTED)
                .await
                .map_err(|e| failed(reference, e))?;
            self.keep(&by_digest, &bytes, &digest)?;
            bytes
        } else {
            top_bytes.clone()
        };
        let manifest: ImageManifest = parse(reference, "image manifest", &manifest_bytes)?;
        let mut blobs: Vec<&Descriptor> = vec![manifest.config()];
        blobs.extend(manifest.layers());
        let total = blobs.iter().map(|d| d.size()).sum();
        let mut done = 0;
        for blob in blobs {
            if !self.has_blob(blob.digest()) {
                self.fetch(&client, reference, blob).await?;
            }
            done += blob.size();
            progress(PullProgress { done, total });
        }
        let top = DescriptorBuilder::default()
            .media_type(MediaType::from(top_type.as_str()))
            .size(top_bytes.len() as u64)
            .digest(top_digest)
            .build()
            .map_err(|e| failed(reference, e))?;
        self.tag(reference, &top)?;
        self.image(reference)?.ok_or_else(|| Error::Pull {
            reference: reference.whole(),
            message: "the image was stored but cannot be read back".into(),
        })
    }

    /// Stores a manifest's bytes, checked against the digest the registry gave and the one
    /// the reference names, if any.
    fn keep(&self, reference: &Reference, bytes: &[u8], digest: &str) -> Result<Digest> {
        let given = Digest::from_str(digest).map_err(|e| failed(reference, e))?;
        self.put_blob_from(bytes, &given)?;
        if let Some(named) = reference.digest()
            && named != given.to_string()
        {
            return Err(Error::DigestMismatch {
                expected: named.to_string(),
                actual: given.to_string(),
                size: bytes.len() as u64,
            });
        }
        Ok(given)
    }

    /// One blob, downloaded to a temporary file, then admitted (its digest checked).
    async fn fetch(
        &self,
        client: &oci_client::Client,
        reference: &Reference,
        blob: &Descriptor,
    ) -> Result<()> {
        let tmp = tempfile::NamedTempFile::new_in(self.root().join("tmp"))
            .map_err(crate::io("downloading into", &self.root().join("tmp")))?;
        let file =
            tokio::fs::File::from_std(tmp.reopen().map_err(crate::io("opening", tmp.path()))?);
        let digest = blob.digest().to_string();
        let bounded = Bounded {
            inner: file,
            left: blob.size(),
        };
        client
            .pull_blob(reference, digest.as_str(), bounded)
            .await
            .map_err(|e| failed(reference, e))?;
        let file = std::fs::File::open(tmp.path()).map_err(crate::io("reading", tmp.path()))?;
        self.put_blob_from(file, blob.digest())?;
        Ok(())
    }
}

/// A download cut off at its descriptor's size: a registry that sends more is refused
/// before it fills the disk (the digest would refuse it only at the end).
struct Bounded {
    inner: tokio::fs::File,
    left: u64,
}

impl tokio::io::AsyncWrite for Bounded {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if buf.len() as u64 > self.left {
            return std::task::Poll::Ready(Err(std::io::Error::other(
                "the registry sent more bytes than the descriptor's size",
            )));
        }
        let written = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = &written {
            self.left -= *n as u64;
        }
        written
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    reference: &Reference,
    what: &'static str,
    bytes: &[u8],
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Invalid {
        what,
        digest: reference.whole(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::Bounded;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_download_stops_at_its_descriptor_s_size() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let inner = tokio::fs::File::from_std(tmp.reopen().unwrap());
        let mut w = Bounded { inner, left: 5 };
        w.write_all(b"hello").await.unwrap();
        let err = w.write_all(b"!").await.unwrap_err();
        assert!(
            err.to_string()
                .contains("more bytes than the descriptor's size")
        );
        w.flush().await.unwrap();
        assert_eq!(std::fs::read(tmp.path()).unwrap(), b"hello");
    }
}
