//! Kubeconfig files, read and written with kube's types (`kube::config::Kubeconfig`):
//! every backend hands the runner one, and the runner reads the current context's server
//! and CA from it the way clients do.

use base64::Engine as _;
use kube::config::Kubeconfig;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    #[error("reading {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing {path}: {detail}")]
    Parse { path: String, detail: String },
    #[error("writing {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the kubeconfig's current context names no {what}")]
    Missing { what: &'static str },
}

/// The kubeconfig as YAML, as kubectl writes one.
pub fn to_yaml(kc: &Kubeconfig) -> String {
    serde_saphyr::to_string(kc).expect("a kubeconfig serializes")
}

/// Writes `kc` to `path`, readable by its owner only (it holds a private key).
pub fn write(path: &Path, kc: &Kubeconfig) -> Result<(), KubeconfigError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |source| KubeconfigError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    f.write_all(to_yaml(kc).as_bytes()).map_err(fail)
}

/// Reads the kubeconfig at `path`.
pub fn read(path: &Path) -> Result<Kubeconfig, KubeconfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| KubeconfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    Kubeconfig::from_yaml(&text).map_err(|e| KubeconfigError::Parse {
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// The current context's cluster: its server URL and CA certificate (PEM).
pub fn server_and_ca(kc: &Kubeconfig) -> Result<(String, String), KubeconfigError> {
    let (server, ca) = server_and_optional_ca(kc)?;
    let ca = ca.ok_or(KubeconfigError::Missing {
        what: "certificate-authority-data",
    })?;
    Ok((server, ca))
}

/// The current context's server URL and CA certificate (PEM), if it embeds one (a
/// cluster whose certificate a public CA signs may not).
pub fn server_and_optional_ca(
    kc: &Kubeconfig,
) -> Result<(String, Option<String>), KubeconfigError> {
    let context = kc
        .current_context
        .as_deref()
        .and_then(|name| kc.contexts.iter().find(|c| c.name == name))
        .and_then(|c| c.context.as_ref())
        .ok_or(KubeconfigError::Missing { what: "context" })?;
    let cluster = kc
        .clusters
        .iter()
        .find(|c| c.name == context.cluster)
        .and_then(|c| c.cluster.as_ref())
        .ok_or(KubeconfigError::Missing { what: "cluster" })?;
    let server = cluster
        .server
        .clone()
        .ok_or(KubeconfigError::Missing { what: "server" })?;
    let ca = cluster
        .certificate_authority_data
        .as_deref()
        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
        .and_then(|d| String::from_utf8(d).ok());
    Ok((server, ca))
}

/// Sets the current context's namespace.
pub fn set_namespace(kc: &mut Kubeconfig, namespace: &str) -> Result<(), KubeconfigError> {
    let name = kc.current_context.clone();
    let context = kc
        .contexts
        .iter_mut()
        .find(|c| Some(&c.name) == name.as_ref())
        .and_then(|c| c.context.as_mut())
        .ok_or(KubeconfigError::Missing { what: "context" })?;
    context.namespace = Some(namespace.into());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kubeconfig_reads_back_with_its_server_and_ca() {
        let yaml = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: UEVN\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\nusers:\n- name: u\n  user:\n    token: t\n";
        let kc = Kubeconfig::from_yaml(yaml).unwrap();
        assert_eq!(
            server_and_ca(&kc).unwrap(),
            ("https://127.0.0.1:6443".to_string(), "PEM".to_string())
        );
        let again = Kubeconfig::from_yaml(&to_yaml(&kc)).unwrap();
        assert_eq!(server_and_ca(&again).unwrap(), server_and_ca(&kc).unwrap());
        assert!(to_yaml(&kc).contains("current-context: x"));
    }
}
