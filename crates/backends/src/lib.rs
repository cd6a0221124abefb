//! The backends labs run on, chosen by `KUBELAB_BACKEND` (`embedded`, the default; `k3s`
//! and `kubeconfig` are not built yet and say so).

mod embedded;

pub use embedded::Embedded;

/// The backend `KUBELAB_BACKEND` names.
pub fn from_env() -> Result<Box<dyn harness::Backend>, String> {
    match std::env::var("KUBELAB_BACKEND").as_deref() {
        Err(_) | Ok("") | Ok("embedded") => Ok(Box::new(Embedded)),
        Ok(other @ ("k3s" | "kubeconfig")) => Err(format!(
            "the {other} backend is not built yet; use KUBELAB_BACKEND=embedded"
        )),
        Ok(other) => Err(format!(
            "unknown backend {other:?}: KUBELAB_BACKEND is embedded, k3s or kubeconfig"
        )),
    }
}
