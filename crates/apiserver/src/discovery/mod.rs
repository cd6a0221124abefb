//! API discovery: the v1.33 resource table and the documents built from it.
//!
//! The table (`resources.txt`) is data; this module parses it once and renders `/api`,
//! `/api/v1`, `/apis`, `/apis/<group>`, `/apis/<group>/<version>` and aggregated discovery
//! (`apidiscovery.k8s.io/v2`) in upstream field order (apimachinery
//! `pkg/apis/meta/v1/types.go`, `pkg/apis/apidiscovery/v2/types.go`). It serves nothing itself.

use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const TABLE: &str = include_str!("resources.txt");

/// The verbs of a CRD-served resource, in apiextensions' order
/// (`customresource_discovery_controller.go`).
pub const CRD_VERBS: &[&str] = &[
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];

/// One row of the table: a resource or subresource in one group version.
#[derive(Debug, Clone)]
pub struct ApiResource {
    pub group: &'static str,
    pub version: &'static str,
    /// `pods` or `pods/log`.
    pub name: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub kind: &'static str,
    pub verbs: Vec<&'static str>,
    pub short_names: Vec<&'static str>,
    pub categories: Vec<&'static str>,
    /// For subresources whose kind is in another group version (`pods/eviction`).
    pub kind_gv: Option<(&'static str, &'static str)>,
    /// The storage group version when it differs, for the storage version hash.
    pub storage_gv: Option<(&'static str, &'static str)>,
}

impl ApiResource {
    pub fn is_subresource(&self) -> bool {
        self.name.contains('/')
    }

    /// The resource part of `pods/log`.
    pub fn resource(&self) -> &'static str {
        self.name.split('/').next().unwrap_or(self.name)
    }

    pub fn subresource(&self) -> Option<&'static str> {
        self.name.split_once('/').map(|(_, s)| s)
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `storageversionhash.go`: base64(sha256("group/version/kind")[:8]).
    pub fn storage_version_hash(&self) -> String {
        let (g, v) = self.storage_gv.unwrap_or((self.group, self.version));
        let digest = Sha256::digest(format!("{g}/{v}/{}", self.kind).as_bytes());
        base64::engine::general_purpose::STANDARD.encode(&digest[..8])
    }

    /// `APIResource` in wire order.
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("singularName".into(), json!(self.singular));
        m.insert("namespaced".into(), json!(self.namespaced));
        if let Some((g, v)) = self.kind_gv {
            m.insert("group".into(), json!(g));
            m.insert("version".into(), json!(v));
        }
        m.insert("kind".into(), json!(self.kind));
        m.insert("verbs".into(), json!(self.verbs));
        if !self.short_names.is_empty() {
            m.insert("shortNames".into(), json!(self.short_names));
        }
        if !self.categories.is_empty() {
            m.insert("categories".into(), json!(self.categories));
        }
        // Only stored resources have a storage version; they are exactly the watchable ones.
        if !self.is_subresource() && self.verbs.contains(&"watch") {
            m.insert(
                "storageVersionHash".into(),
                json!(self.storage_version_hash()),
            );
        }
        Value::Object(m)
    }
}

/// A group version and its resources, in table order.
#[derive(Debug)]
pub struct GroupVersion {
    pub group: &'static str,
    pub version: &'static str,
    pub resources: Vec<ApiResource>,
}

impl GroupVersion {
    pub fn group_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// The parsed table.
#[derive(Debug)]
pub struct Discovery {
    pub versions: Vec<GroupVersion>,
}

pub static DISCOVERY: LazyLock<Discovery> =
    LazyLock::new(|| parse(TABLE).expect("resources.txt is valid"));

fn list(field: &'static str) -> Vec<&'static str> {
    if field == "-" {
        Vec::new()
    } else {
        field.split(',').collect()
    }
}

fn parse(table: &'static str) -> Result<Discovery, String> {
    let mut versions: Vec<GroupVersion> = Vec::new();
    for (n, line) in table.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(gv) = line.strip_prefix("@ ") {
            let (group, version) = gv.rsplit_once('/').unwrap_or(("", gv));
            versions.push(GroupVersion {
                group,
                version,
                resources: Vec::new(),
            });
            continue;
        }
        let f: Vec<&'static str> = line.split_whitespace().collect();
        if f.len() < 7 {
            return Err(format!("resources.txt:{}: expected 7 columns", n + 1));
        }
        let gv = versions
            .last_mut()
            .ok_or_else(|| format!("resources.txt:{}: no group version", n + 1))?;
        let verbs = match f[4] {
            "crud" => vec![
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ],
            "gpu" => vec!["get", "patch", "update"],
            "crd" => CRD_VERBS.to_vec(),
            v => list(v),
        };
        let mut r = ApiResource {
            group: gv.group,
            version: gv.version,
            name: f[0],
            singular: if f[1] == "-" { "" } else { f[1] },
            namespaced: f[2] == "ns",
            kind: f[3],
            verbs,
            short_names: list(f[5]),
            categories: list(f[6]),
            kind_gv: None,
            storage_gv: None,
        };
        for extra in &f[7..] {
            let split = |s: &'static str| s.rsplit_once('/').unwrap_or(("", s));
            if let Some(v) = extra.strip_prefix("gv=") {
                r.kind_gv = Some(split(v));
            } else if let Some(v) = extra.strip_prefix("storage=") {
                r.storage_gv = Some(split(v));
            } else {
                return Err(format!("resources.txt:{}: unknown column {extra}", n + 1));
            }
        }
        gv.resources.push(r);
    }
    Ok(Discovery { versions })
}

impl Discovery {
    pub fn group_version(&self, group: &str, version: &str) -> Option<&GroupVersion> {
        self.versions
            .iter()
            .find(|gv| gv.group == group && gv.version == version)
    }

    /// A top-level resource or subresource by its URL name.
    pub fn resource(&self, group: &str, version: &str, name: &str) -> Option<&ApiResource> {
        self.group_version(group, version)?
            .resources
            .iter()
            .find(|r| r.name == name)
    }

    /// A resource the server itself uses, in its group's preferred version: a name the
    /// code spells out, so its absence is a bug in the discovery table.
    pub fn served(&self, group: &str, name: &str) -> &ApiResource {
        self.versions
            .iter()
            .filter(|gv| gv.group == group)
            .find_map(|gv| gv.resources.iter().find(|r| r.name == name))
            .unwrap_or_else(|| panic!("{group}/{name} is not in the discovery table"))
    }

    /// Groups in priority order, each with its versions (preferred first).
    pub fn groups(&self) -> Vec<(&'static str, Vec<&'static str>)> {
        let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
        for gv in self.versions.iter().filter(|gv| !gv.group.is_empty()) {
            match out.iter_mut().find(|(g, _)| *g == gv.group) {
                Some((_, vs)) => vs.push(gv.version),
                None => out.push((gv.group, vec![gv.version])),
            }
        }
        out
    }

    /// `/api`: `APIVersions`, no apiVersion key.
    pub fn api_versions(&self, server_address: &str) -> Value {
        json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        })
    }

    /// `/api/v1` or `/apis/<group>/<version>`: `APIResourceList`. The legacy core list has
    /// no apiVersion key (FIDELITY.md §9).
    pub fn resource_list(&self, gv: &GroupVersion) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), json!("APIResourceList"));
        if !gv.group.is_empty() {
            m.insert("apiVersion".into(), json!("v1"));
        }
        m.insert("groupVersion".into(), json!(gv.group_version()));
        m.insert(
            "resources".into(),
            Value::Array(gv.resources.iter().map(ApiResource::to_json).collect()),
        );
        Value::Object(m)
    }

    fn group_json(group: &str, versions: &[&str]) -> Value {
        let gvd = |v: &str| json!({"groupVersion": format!("{group}/{v}"), "version": v});
        json!({
            "name": group,
            "versions": versions.iter().map(|v| gvd(v)).collect::<Vec<_>>(),
            "preferredVersion": gvd(versions[0]),
        })
    }

    /// `/apis`: `APIGroupList`.
    pub fn group_list(&self) -> Value {
        let groups: Vec<Value> = self
            .groups()
            .iter()
            .map(|(g, vs)| Self::group_json(g, vs))
            .collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    /// `/apis/<group>`: `APIGroup`.
    pub fn group(&self, group: &str) -> Option<Value> {
        let groups = self.groups();
        let (g, vs) = groups.iter().find(|(g, _)| *g == group)?;
        let Value::Object(inner) = Self::group_json(g, vs) else {
            unreachable!()
        };
        let mut m = Map::new();
        m.insert("kind".into(), json!("APIGroup"));
        m.insert("apiVersion".into(), json!("v1"));
        m.extend(inner);
        Some(Value::Object(m))
    }

    /// Aggregated discovery (`APIGroupDiscoveryList`, apidiscovery.k8s.io/v2) for the core
    /// group (`legacy`) or for all named groups.
    pub fn aggregated(&self, legacy: bool) -> Value {
        let mut items = Vec::new();
        let groups: Vec<(&str, Vec<&str>)> = if legacy {
            vec![("", vec!["v1"])]
        } else {
            self.groups()
        };
        for (group, versions) in groups {
            let mut vs = Vec::new();
            for v in versions {
                let gv = self.group_version(group, v).expect("listed");
                let mut resources = Vec::new();
                for r in gv.resources.iter().filter(|r| !r.is_subresource()) {
                    // A custom resource's kinds name its group and version
                    // (apiextensions-apiserver pkg/apiserver/customresource_discovery_controller.go,
                    // `sync`); a built-in's leave them empty, meaning the resource's own.
                    let custom_gv = if crate::crds::serving(r).is_some() {
                        (group, v)
                    } else {
                        ("", "")
                    };
                    let subs: Vec<Value> = gv
                        .resources
                        .iter()
                        .filter(|s| s.is_subresource() && s.resource() == r.name)
                        .map(|s| {
                            let (kg, kv) = s.kind_gv.unwrap_or(custom_gv);
                            json!({
                                "subresource": s.subresource(),
                                "responseKind": {"group": kg, "version": kv, "kind": s.kind},
                                "verbs": s.verbs,
                            })
                        })
                        .collect();
                    let mut m = Map::new();
                    m.insert("resource".into(), json!(r.name));
                    m.insert(
                        "responseKind".into(),
                        json!({"group": custom_gv.0, "version": custom_gv.1, "kind": r.kind}),
                    );
                    m.insert(
                        "scope".into(),
                        json!(if r.namespaced {
                            "Namespaced"
                        } else {
                            "Cluster"
                        }),
                    );
                    m.insert("singularResource".into(), json!(r.singular));
                    m.insert("verbs".into(), json!(r.verbs));
                    if !r.short_names.is_empty() {
                        m.insert("shortNames".into(), json!(r.short_names));
                    }
                    if !r.categories.is_empty() {
                        m.insert("categories".into(), json!(r.categories));
                    }
                    if !subs.is_empty() {
                        m.insert("subresources".into(), Value::Array(subs));
                    }
                    resources.push(Value::Object(m));
                }
                vs.push(json!({"version": v, "resources": resources, "freshness": "Current"}));
            }
            let mut meta = Map::new();
            // ObjectMeta's `name` is `omitempty`: the core group's item has none.
            if !group.is_empty() {
                meta.insert("name".into(), json!(group));
            }
            meta.insert("creationTimestamp".into(), Value::Null);
            items.push(json!({"metadata": meta, "versions": vs}));
        }
        json!({
            "kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {},
            "items": items,
        })
    }

    /// Every path `/` lists that comes from the API table.
    pub fn api_paths(&self) -> Vec<String> {
        let mut paths = vec![
            "/api".to_string(),
            "/api/v1".to_string(),
            "/apis".into(),
            "/apis/".into(),
        ];
        for (g, vs) in self.groups() {
            paths.push(format!("/apis/{g}"));
            for v in vs {
                paths.push(format!("/apis/{g}/{v}"));
            }
        }
        paths
    }
}

#[cfg(test)]
mod tests;
