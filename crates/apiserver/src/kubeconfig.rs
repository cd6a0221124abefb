//! The admin kubeconfig, shaped like k3s's `/etc/rancher/k3s/k3s.yaml`
//! (`k3s-io/k3s:pkg/clientaccess/kubeconfig.go`): cluster, user and context all named
//! `default`, certificate data embedded. Built with kube's types, which clients read.

use crate::pki::KeyedCert;
use base64::Engine;
use kube::config::{
    AuthInfo, Cluster, Context, Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext,
};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

/// A kubeconfig for a client-certificate user.
pub fn admin(server: &str, ca_pem: &str, client: &KeyedCert) -> Kubeconfig {
    let name = "default".to_string();
    Kubeconfig {
        api_version: Some("v1".into()),
        kind: Some("Config".into()),
        clusters: vec![NamedCluster {
            name: name.clone(),
            cluster: Some(Cluster {
                server: Some(server.into()),
                certificate_authority_data: Some(b64(ca_pem)),
                ..Cluster::default()
            }),
            other: Default::default(),
        }],
        auth_infos: vec![NamedAuthInfo {
            name: name.clone(),
            auth_info: Some(AuthInfo {
                client_certificate_data: Some(b64(&client.cert_pem)),
                client_key_data: Some(b64(&client.key_pem).into()),
                ..AuthInfo::default()
            }),
            other: Default::default(),
        }],
        contexts: vec![NamedContext {
            name: name.clone(),
            context: Some(Context {
                cluster: name.clone(),
                user: Some(name.clone()),
                ..Context::default()
            }),
            other: Default::default(),
        }],
        current_context: Some(name),
        ..Kubeconfig::default()
    }
}
