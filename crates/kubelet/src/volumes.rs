//! Pod volumes on the host, laid out as the kubelet lays them out: projected service
//! account token, configMap, secret and downwardAPI volumes written by the atomic writer
//! (`pkg/volume/util/atomic_writer.go`: files in a `..<timestamp>` directory, `..data`
//! pointing at it, one symlink per file), emptyDir as a plain directory.

use crate::env::field_ref;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{
    ConfigMap, DownwardAPIVolumeFile, KeyToPath, Pod, ProjectedVolumeSource, Secret,
    ServiceAccount, ServiceAccountTokenProjection, Volume,
};
use kube::api::{Api, PostParams};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("volume {volume:?}: {detail}")]
    Source { volume: String, detail: String },
    #[error("writing volume {volume:?}")]
    Io {
        volume: String,
        #[source]
        source: std::io::Error,
    },
    #[error("requesting the service account token for volume {volume:?}")]
    Token {
        volume: String,
        #[source]
        source: kube::Error,
    },
}

/// The atomic writer: `files` appear at once, as symlinks through `..data`.
pub fn write_atomic(
    dir: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    mode: u32,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let stamp = jiff::Timestamp::now()
        .strftime("..%Y_%m_%d_%H_%M_%S.")
        .to_string();
    let ts = dir.join(format!(
        "{stamp}{}",
        std::process::id() ^ jiff::Timestamp::now().subsec_nanosecond() as u32
    ));
    std::fs::create_dir(&ts)?;
    std::fs::set_permissions(&ts, std::fs::Permissions::from_mode(0o755))?;
    for (path, data) in files {
        let file = ts.join(path);
        if let Some(p) = file.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::write(&file, data)?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode))?;
    }
    let tmp_link = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp_link);
    std::os::unix::fs::symlink(ts.file_name().expect("named"), &tmp_link)?;
    std::fs::rename(&tmp_link, dir.join("..data"))?;
    for path in files.keys() {
        let top = path.split('/').next().unwrap_or(path);
        let link = dir.join(top);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(format!("..data/{top}"), &link)?;
        }
    }
    Ok(())
}

fn select(
    items: Option<&Vec<KeyToPath>>,
    data: BTreeMap<String, Vec<u8>>,
    volume: &str,
) -> Result<BTreeMap<String, Vec<u8>>, VolumeError> {
    match items {
        None => Ok(data),
        Some(items) => {
            let mut out = BTreeMap::new();
            for it in items {
                let v = data.get(&it.key).ok_or_else(|| VolumeError::Source {
                    volume: volume.into(),
                    detail: format!("configmap or secret has no key {:?}", it.key),
                })?;
                out.insert(it.path.clone(), v.clone());
            }
            Ok(out)
        }
    }
}

fn config_map_data(cm: &ConfigMap) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = cm
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    out.extend(
        cm.binary_data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone())),
    );
    out
}

fn secret_data(s: &Secret) -> BTreeMap<String, Vec<u8>> {
    s.data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}

/// A ConfigMap's or Secret's data for a volume: empty when missing and `optional`, an
/// error naming it otherwise.
async fn fetch<K: crate::NamespacedObject>(
    cx: &Context<'_>,
    ns: &str,
    name: &str,
    optional: Option<bool>,
    volume: &str,
    data: fn(&K) -> BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, Vec<u8>>, VolumeError> {
    // Only a missing object is absent; another failure to read it fails the volume.
    let found = Api::<K>::namespaced(cx.client.clone(), ns)
        .get_opt(name)
        .await
        .map_err(|e| VolumeError::Source {
            volume: volume.into(),
            detail: e.to_string(),
        })?;
    match found {
        Some(obj) => Ok(data(&obj)),
        None if optional == Some(true) => Ok(BTreeMap::new()),
        None => Err(VolumeError::Source {
            volume: volume.into(),
            detail: format!(
                "{} {name:?} not found",
                K::kind(&Default::default()).to_lowercase()
            ),
        }),
    }
}

/// Everything a pod's volumes read from the API.
pub struct Context<'a> {
    pub client: &'a kube::Client,
    pub pod: &'a Pod,
    pub pod_ip: &'a str,
    pub host_ip: &'a str,
}

/// Writes every volume of the pod under `dir/<volume name>` and returns their host paths.
pub async fn prepare(
    cx: &Context<'_>,
    dir: &Path,
) -> Result<BTreeMap<String, PathBuf>, VolumeError> {
    let ns = cx.pod.metadata.namespace.clone().unwrap_or_default();
    let mut out = BTreeMap::new();
    let volumes: Vec<Volume> = cx
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.clone())
        .unwrap_or_default();
    for v in volumes {
        let path = dir.join(&v.name);
        write_volume(cx, &ns, &v, &path).await?;
        out.insert(v.name.clone(), path);
    }
    Ok(out)
}

/// Writes one volume at `path`.
async fn write_volume(
    cx: &Context<'_>,
    ns: &str,
    v: &Volume,
    path: &Path,
) -> Result<(), VolumeError> {
    let io = |source| VolumeError::Io {
        volume: v.name.clone(),
        source,
    };
    if v.empty_dir.is_some() {
        std::fs::create_dir_all(path).map_err(io)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).map_err(io)?;
    } else if let Some(cm) = &v.config_map {
        let data =
            fetch::<ConfigMap>(cx, ns, &cm.name, cm.optional, &v.name, config_map_data).await?;
        let files = select(cm.items.as_ref(), data, &v.name)?;
        write_atomic(path, &files, cm.default_mode.unwrap_or(0o644) as u32).map_err(io)?;
    } else if let Some(sec) = &v.secret {
        let name = sec.secret_name.clone().unwrap_or_default();
        let data = fetch::<Secret>(cx, ns, &name, sec.optional, &v.name, secret_data).await?;
        let files = select(sec.items.as_ref(), data, &v.name)?;
        write_atomic(path, &files, sec.default_mode.unwrap_or(0o644) as u32).map_err(io)?;
    } else if let Some(da) = &v.downward_api {
        let files = downward_files(cx, da.items.as_deref());
        write_atomic(path, &files, da.default_mode.unwrap_or(0o644) as u32).map_err(io)?;
    } else if let Some(p) = &v.projected {
        let files = projected_files(cx, ns, &v.name, p).await?;
        write_atomic(path, &files, p.default_mode.unwrap_or(0o644) as u32).map_err(io)?;
    } else {
        return Err(VolumeError::Source {
            volume: v.name.clone(),
            detail: "only emptyDir, configMap, secret, downwardAPI and projected volumes run on the embedded node".into(),
        });
    }
    Ok(())
}

/// The files of downward API `items`: each `fieldRef` rendered.
fn downward_files(
    cx: &Context<'_>,
    items: Option<&[DownwardAPIVolumeFile]>,
) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for item in items.into_iter().flatten() {
        if let Some(f) = &item.field_ref {
            files.insert(
                item.path.clone(),
                field_ref(cx.pod, &f.field_path, cx.pod_ip, cx.host_ip)
                    .unwrap_or_default()
                    .into_bytes(),
            );
        }
    }
    files
}

/// The files of a projected volume: its sources' files together, later ones winning.
async fn projected_files(
    cx: &Context<'_>,
    ns: &str,
    volume: &str,
    p: &ProjectedVolumeSource,
) -> Result<BTreeMap<String, Vec<u8>>, VolumeError> {
    let mut files = BTreeMap::new();
    for src in p.sources.iter().flatten() {
        if let Some(t) = &src.service_account_token {
            let token = service_account_token(cx, ns, volume, t).await?;
            files.insert(t.path.clone(), token.into_bytes());
        }
        if let Some(cm) = &src.config_map {
            let data =
                fetch::<ConfigMap>(cx, ns, &cm.name, cm.optional, volume, config_map_data).await?;
            files.extend(select(cm.items.as_ref(), data, volume)?);
        }
        if let Some(sec) = &src.secret {
            let data =
                fetch::<Secret>(cx, ns, &sec.name, sec.optional, volume, secret_data).await?;
            files.extend(select(sec.items.as_ref(), data, volume)?);
        }
        if let Some(da) = &src.downward_api {
            files.extend(downward_files(cx, da.items.as_deref()));
        }
    }
    Ok(files)
}

/// A token of the pod's service account, bound to the pod, as a projected
/// `serviceAccountToken` source asks for it.
async fn service_account_token(
    cx: &Context<'_>,
    ns: &str,
    volume: &str,
    t: &ServiceAccountTokenProjection,
) -> Result<String, VolumeError> {
    let sa = cx
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.service_account_name.clone())
        .unwrap_or_else(|| "default".into());
    let mut spec = serde_json::json!({
        "expirationSeconds": t.expiration_seconds.unwrap_or(3607),
        "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": cx.pod.metadata.name, "uid": cx.pod.metadata.uid},
    });
    if let Some(aud) = &t.audience {
        spec["audiences"] = serde_json::json!([aud]);
    }
    let req = serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec});
    let tr: TokenRequest = Api::<ServiceAccount>::namespaced(cx.client.clone(), ns)
        .create_subresource("token", &sa, &PostParams::default(), &req)
        .await
        .map_err(|source| VolumeError::Token {
            volume: volume.into(),
            source,
        })?;
    Ok(tr.status.map(|s| s.token).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writer_layout() {
        let dir = std::env::temp_dir().join(format!("kubelet-aw-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let files: BTreeMap<String, Vec<u8>> =
            [("ca.crt", "c"), ("namespace", "default"), ("token", "t")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect();
        write_atomic(&dir, &files, 0o644).unwrap();
        let mut visible: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        visible.sort();
        assert_eq!(visible, ["ca.crt", "namespace", "token"]);
        assert_eq!(
            std::fs::read_link(dir.join("token")).unwrap(),
            PathBuf::from("..data/token")
        );
        let data = std::fs::read_link(dir.join("..data")).unwrap();
        assert!(data.to_string_lossy().starts_with(".."), "{data:?}");
        assert_eq!(
            std::fs::read_to_string(dir.join("namespace")).unwrap(),
            "default"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
