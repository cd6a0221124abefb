//! Integration tests of the embedded API server: in-process through `kube`, over TLS
//! through `kube`, and with the real `kubectl` and `curl` binaries.

mod admission;
mod clients;
mod concurrency;
mod crds;
mod curl;
mod fuzz;
mod health;
mod inprocess;
mod kubectl;
mod negative;
mod oidc;
mod tls;

/// A client of `c` over TLS with its admin kubeconfig, as `kubectl` connects.
async fn admin_client(c: &apiserver::Cluster) -> kube::Client {
    let kc = c.admin_kubeconfig();
    let options = kube::config::KubeConfigOptions::default();
    let config = kube::Config::from_custom_kubeconfig(kc, &options)
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}
