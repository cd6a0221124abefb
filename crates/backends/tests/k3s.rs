//! The k3s backend on a host without Docker: it fails at once and says what to do. On a
//! host with Docker, the CI workflow `.github/workflows/k3s.yml` runs every lab on it.

use std::time::{Duration, Instant};

fn docker_present() -> bool {
    std::env::var_os("DOCKER_HOST").is_some()
        || std::path::Path::new("/var/run/docker.sock").exists()
}

#[tokio::test]
async fn without_docker_k3s_fails_fast_and_says_what_to_do() {
    if docker_present() {
        // Not a missing tool: this host has what the test is about the absence of.
        eprintln!(
            "not run: a Docker engine is present; .github/workflows/k3s.yml runs the labs on k3s"
        );
        return;
    }
    let backend = backends::by_name("k3s").unwrap();
    assert_eq!(backend.name(), "k3s");
    let started = Instant::now();
    let err = match backend.start().await {
        Ok(_) => panic!("k3s started without a Docker engine"),
        Err(e) => e.to_string(),
    };
    assert!(started.elapsed() < Duration::from_secs(10), "{err}");
    assert!(err.starts_with("starting the k3s cluster: "), "{err}");
    assert!(err.contains("needs a Docker engine"), "{err}");
    assert!(err.contains("KUBELAB_BACKEND=embedded"), "{err}");
    // Nothing is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("kubelab-k3s-conf-{}-", std::process::id()))
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn backends_by_name() {
    assert_eq!(backends::by_name("embedded").unwrap().name(), "embedded");
    let unknown = backends::by_name("minikube").err().unwrap();
    assert_eq!(
        unknown.to_string(),
        "unknown backend \"minikube\": the backends are embedded, control-plane, k3s or kubeconfig"
    );
    assert_eq!(
        backends::by_name("kubeconfig").unwrap().name(),
        "kubeconfig"
    );
}
