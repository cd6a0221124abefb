//! Integration tests of the embedded API server: in-process through `kube`, over TLS
//! through `kube`, and with the real `kubectl` and `curl` binaries.

mod clients;
mod inprocess;
mod kubectl;
mod tls;
