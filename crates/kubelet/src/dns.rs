//! Cluster DNS for the pods: the records (every Service's names) that each pod's resolver
//! answers from, rewritten whenever the Services change.

use crate::Kubelet;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, ListParams};
use kube::runtime::watcher;
use std::sync::Arc;

impl Kubelet {
    /// Cluster DNS follows the Services: every pod's records file is rewritten when one
    /// changes, and the pods' resolvers read it on each query. Runs until the watch ends.
    pub(crate) async fn keep_dns_records(self: Arc<Self>) {
        let services: Api<Service> = Api::all(self.client.clone());
        let mut changes = watcher(services, watcher::Config::default()).boxed();
        while let Some(ev) = changes.next().await {
            if matches!(
                ev,
                Ok(watcher::Event::Apply(_))
                    | Ok(watcher::Event::Delete(_))
                    | Ok(watcher::Event::InitDone)
            ) {
                let records = self.dns_records().await;
                let uids: Vec<String> = self
                    .targets
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .values()
                    .map(|t| t.uid.clone())
                    .collect();
                for uid in uids {
                    let _ = std::fs::write(
                        self.config.runtime_dir.join("pods").join(uid).join("dns"),
                        &records,
                    );
                }
            }
        }
    }

    /// Cluster DNS records: every Service's names.
    pub(crate) async fn dns_records(&self) -> String {
        let services: Api<Service> = Api::all(self.client.clone());
        let mut out = String::new();
        for s in services
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default()
        {
            let (Some(name), Some(ns)) =
                (s.metadata.name.as_deref(), s.metadata.namespace.as_deref())
            else {
                continue;
            };
            if let Some(ip) = s
                .spec
                .as_ref()
                .and_then(|sp| sp.cluster_ip.as_deref())
                .filter(|ip| *ip != "None")
            {
                out.push_str(&format!("{name}.{ns}.svc.cluster.local {ip}\n"));
            }
        }
        out
    }
}
