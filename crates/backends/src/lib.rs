//! The backends labs run on, chosen by `KUBELAB_BACKEND` or `--backend`: `embedded` (the
//! default), `k3s` (a real k3s in Docker); `kubeconfig` is not built yet and says so.

mod embedded;
mod k3s;

pub use embedded::Embedded;
pub use k3s::K3s;

/// The names `by_name` takes.
pub const NAMES: &str = "embedded, k3s or kubeconfig";

/// The backend of that name.
pub fn by_name(name: &str) -> Result<Box<dyn harness::Backend>, String> {
    match name {
        "embedded" => Ok(Box::new(Embedded)),
        "k3s" => Ok(Box::new(K3s)),
        "kubeconfig" => {
            Err("the kubeconfig backend is not built yet; use embedded or k3s".to_string())
        }
        other => Err(format!(
            "unknown backend {other:?}: the backends are {NAMES}"
        )),
    }
}

/// The backend `KUBELAB_BACKEND` names (`embedded` when unset or empty).
pub fn from_env() -> Result<Box<dyn harness::Backend>, String> {
    match std::env::var("KUBELAB_BACKEND").as_deref() {
        Err(_) | Ok("") => Ok(Box::new(Embedded)),
        Ok(name) => by_name(name).map_err(|e| format!("KUBELAB_BACKEND: {e}")),
    }
}
