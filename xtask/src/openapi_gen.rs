//! `cargo xtask gen-openapi`: the OpenAPI documents kube-apiserver v1.33.3 serves, read
//! from the reference control plane and written as `crates/apiserver/src/openapi/documents.gz`,
//! which the embedded server serves from.
//!
//! Upstream builds these documents at start-up from definitions generated out of the API's
//! Go types (`pkg/generated/openapi/zz_generated.openapi.go`) and the routes it installs
//! (`k8s.io/kube-openapi/pkg/builder3`); for a given release and set of APIs they are fixed
//! bytes. The embedded server serves the same APIs (its discovery table is v1.33's), so it
//! serves these bytes, and hashes them as upstream does. The two k3s CRD groups' documents
//! are built by the reference from kubelab's definitions of k3s's CRDs (see
//! `backends::control_plane`), the ones the embedded server installs too.
//!
//! The file is gzip of records, each a line `<name> <length>` and that many bytes: `v2` is
//! `/openapi/v2`, `v3/<path>` the document the `/openapi/v3` index lists as `<path>`;
//! `v2.pb` and `v3.pb/<path>` are the same documents in their protobuf form (gnostic's
//! `openapi_v2.Document` and `openapi_v3.Document`, as upstream's handlers encode them).

use anyhow::{Context, Result, bail};
use sha2::Digest;
use std::io::Write;
use std::path::Path;

/// The file written, relative to the checkout.
pub const OUTPUT: &str = "crates/apiserver/src/openapi/documents.gz";

pub fn run(root: &Path) -> Result<i32> {
    let documents = crate::control_plane::read_from_reference(root, "gen-openapi", read_all)?;
    let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for (name, bytes) in &documents {
        writeln!(out, "{name} {}", bytes.len())?;
        out.write_all(bytes)?;
    }
    let bytes = out.finish()?;
    let path = root.join(OUTPUT);
    std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    eprintln!(
        "wrote {} documents ({} bytes, {} compressed) to {}",
        documents.len(),
        documents.iter().map(|(_, b)| b.len()).sum::<usize>(),
        bytes.len(),
        path.display()
    );
    Ok(0)
}

/// `/openapi/v2`, then every document of the `/openapi/v3` index, each checked against the
/// hash the index gives it.
async fn read_all(client: kube::Client) -> Result<Vec<(String, Vec<u8>)>> {
    let read = |path: String, accept: &'static str| {
        let client = client.clone();
        async move {
            use http_body_util::BodyExt;
            let request = http::Request::get(&path)
                .header("Accept", accept)
                .body(kube::client::Body::empty())?;
            let response = client
                .send(request)
                .await
                .with_context(|| format!("reading {path}"))?;
            if !response.status().is_success() {
                bail!("{path} as {accept}: {}", response.status());
            }
            let body = response
                .into_body()
                .collect()
                .await
                .with_context(|| format!("reading {path}"))?
                .to_bytes();
            anyhow::Ok(body.to_vec())
        }
    };
    let get = |path: String| read(path, "application/json");
    let mut documents = vec![
        ("v2".to_string(), get("/openapi/v2".into()).await?),
        (
            "v2.pb".to_string(),
            read(
                "/openapi/v2".into(),
                "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
            )
            .await?,
        ),
    ];
    let index: serde_json::Value = serde_json::from_slice(&get("/openapi/v3".into()).await?)?;
    let Some(paths) = index["paths"].as_object() else {
        bail!("the /openapi/v3 index has no paths");
    };
    for (name, entry) in paths {
        let url = entry["serverRelativeURL"]
            .as_str()
            .with_context(|| format!("the index entry {name} has no URL"))?;
        let bytes = get(url.to_string()).await?;
        let hash = format!("{:X}", sha2::Sha512::digest(&bytes));
        if !url.ends_with(&format!("?hash={hash}")) {
            bail!("{url}: the document read has the hash {hash}");
        }
        documents.push((format!("v3/{name}"), bytes));
        let proto = read(
            url.to_string(),
            "application/com.github.proto-openapi.spec.v3@v1.0+protobuf",
        )
        .await?;
        documents.push((format!("v3.pb/{name}"), proto));
    }
    Ok(documents)
}
