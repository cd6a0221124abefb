//! Kubeconfig files shaped like k3s's `/etc/rancher/k3s/k3s.yaml`
//! (`k3s-io/k3s:pkg/clientaccess/kubeconfig.go`): cluster, user and context all named
//! `default`, certificate data embedded.

use crate::pki::KeyedCert;
use base64::Engine;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
}

/// A kubeconfig for a client-certificate user.
pub fn render(server: &str, ca_pem: &str, client: &KeyedCert) -> String {
    format!(
        "apiVersion: v1\n\
         clusters:\n\
         - cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: default\n\
         contexts:\n\
         - context:\n    cluster: default\n    user: default\n  name: default\n\
         current-context: default\n\
         kind: Config\n\
         preferences: {{}}\n\
         users:\n\
         - name: default\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n",
        ca = b64(ca_pem),
        cert = b64(&client.cert_pem),
        key = b64(&client.key_pem),
    )
}
