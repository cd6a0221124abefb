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
