//! The OpenAPI documents: `/openapi/v2`, the `/openapi/v3` index and one v3 document per
//! path it lists, as kube-apiserver v1.33.3 serves them for k3s's set of APIs.
//!
//! Upstream builds them at start-up from definitions generated out of the API's Go types
//! (`pkg/generated/openapi/zz_generated.openapi.go`) and the routes it installs
//! (`k8s.io/kube-openapi/pkg/builder3`, `builder`); for one release and one set of APIs
//! they are fixed bytes. `documents.gz` holds those bytes, generated from the reference
//! control plane by `cargo xtask gen-openapi` (never edited by hand), and this module
//! serves them, hashed as upstream hashes them: the uppercase hex SHA-512 of a document's
//! bytes (`k8s.io/kube-openapi/pkg/handler3/handler.go`, `computeETag`). Custom resources
//! defined after start-up have no document here (only k3s's CRDs, installed at start, do).

use sha2::Digest;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::LazyLock;

/// One served document, JSON and protobuf, and its hash (its ETag in both forms).
pub struct Document {
    pub bytes: Vec<u8>,
    /// The protobuf form (gnostic's `openapi_v2.Document` or `openapi_v3.Document`).
    pub proto: Vec<u8>,
    pub hash: String,
}

/// Every document, read once from `documents.gz` on first use.
pub struct Documents {
    pub v2: Document,
    /// By the path the `/openapi/v3` index lists (`api/v1`, `apis/batch/v1`...).
    pub v3: BTreeMap<String, Document>,
    /// The `/openapi/v3` index, as the aggregator writes it (`json.Marshal` of the
    /// merged root: paths sorted, compact; `kube-aggregator
    /// pkg/controllers/openapiv3/aggregator/aggregator.go`, `handleDiscovery`).
    pub index: Vec<u8>,
}

pub static DOCUMENTS: LazyLock<Documents> = LazyLock::new(|| {
    Documents::read(include_bytes!("documents.gz")).expect("documents.gz is generated")
});

impl Document {
    fn new(bytes: Vec<u8>, proto: Vec<u8>) -> Document {
        let hash = format!("{:X}", sha2::Sha512::digest(&bytes));
        Document { bytes, proto, hash }
    }
}

impl Documents {
    /// Parses the generated file: gzip of records, each a line `<name> <length>` and
    /// that many bytes (`xtask/src/openapi_gen.rs`).
    fn read(gz: &[u8]) -> Result<Documents, String> {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut raw)
            .map_err(|e| format!("inflating: {e}"))?;
        let mut records: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut rest = raw.as_slice();
        while !rest.is_empty() {
            let line_end = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or("a record without its header line")?;
            let header = std::str::from_utf8(&rest[..line_end]).map_err(|e| e.to_string())?;
            let (name, len) = header
                .split_once(' ')
                .ok_or_else(|| format!("a header {header:?} without a length"))?;
            let len: usize = len.parse().map_err(|e| format!("{header:?}: {e}"))?;
            let body = rest
                .get(line_end + 1..line_end + 1 + len)
                .ok_or_else(|| format!("{name}: shorter than {len} bytes"))?;
            rest = &rest[line_end + 1 + len..];
            records.insert(name.to_string(), body.to_vec());
        }
        let paths: Vec<String> = records
            .keys()
            .filter_map(|k| k.strip_prefix("v3/").map(String::from))
            .collect();
        fn take(records: &mut BTreeMap<String, Vec<u8>>, name: &str) -> Result<Vec<u8>, String> {
            records
                .remove(name)
                .ok_or_else(|| format!("no record {name:?}"))
        }
        let v2 = Document::new(take(&mut records, "v2")?, take(&mut records, "v2.pb")?);
        let mut v3 = BTreeMap::new();
        for path in paths {
            let json = take(&mut records, &format!("v3/{path}"))?;
            let proto = take(&mut records, &format!("v3.pb/{path}"))?;
            v3.insert(path, Document::new(json, proto));
        }
        if let Some(name) = records.keys().next() {
            return Err(format!("an unknown record {name:?}"));
        }
        let index = index(&v3);
        Ok(Documents { v2, v3, index })
    }
}

/// `{"paths":{"<path>":{"serverRelativeURL":"/openapi/v3/<path>?hash=<hash>"},...}}`
/// (`k8s.io/kube-openapi/pkg/handler3/handler.go`, `constructServerRelativeURL`).
fn index(v3: &BTreeMap<String, Document>) -> Vec<u8> {
    let paths: serde_json::Map<String, serde_json::Value> = v3
        .iter()
        .map(|(path, doc)| {
            (
                path.clone(),
                serde_json::json!({"serverRelativeURL": server_relative_url(path, &doc.hash)}),
            )
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "paths": paths })).expect("values serialize")
}

/// Where a document is, with its hash.
pub fn server_relative_url(path: &str, hash: &str) -> String {
    format!("/openapi/v3/{path}?hash={hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_version_served_has_a_document() {
        let docs = &*DOCUMENTS;
        for gv in &crate::discovery::DISCOVERY.versions {
            let path = if gv.group.is_empty() {
                format!("api/{}", gv.version)
            } else {
                format!("apis/{}/{}", gv.group, gv.version)
            };
            assert!(
                docs.v3.contains_key(&path),
                "no OpenAPI v3 document for {path}"
            );
        }
        assert!(docs.v2.bytes.starts_with(br#"{"swagger":"2.0""#));
    }

    #[test]
    fn a_bad_file_is_an_error() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"v2 2\n{}v2.pb 0\nv3/api 10\n{}").unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(
            Documents::read(&gz).err().as_deref(),
            Some("v3/api: shorter than 10 bytes")
        );
    }
}
