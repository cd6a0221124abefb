//! The CustomResourceDefinitions every k3s server installs, and how custom resources are
//! served: as `apiextensions-apiserver` serves them, not as built-in kinds.
//!
//! k3s registers `helm.cattle.io/v1` (HelmChart, HelmChartConfig; k3s-io/helm-controller
//! v0.16.13, `pkg/crds/yaml/generated/`, the release k3s v1.33.3 vendors by date) and
//! `k3s.cattle.io/v1` (Addon, ETCDSnapshotFile; k3s-io/api `pkg/crds/yaml/generated/`) at
//! start, whatever `--disable` says (FIDELITY.md §1). Their discovery rows live in
//! `discovery/resources.txt`; this module holds the rest of each definition: printer
//! columns and whether there is a status subresource. The definitions stored here carry
//! names, scope, versions, columns and subresources as k3s's do, but a schema that
//! preserves unknown fields instead of k3s's generated OpenAPI schema, so custom resources
//! are neither pruned nor validated against it.

use crate::discovery::ApiResource;
use serde_json::{Map, Value, json};

/// One `additionalPrinterColumns` entry.
#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub ty: &'static str,
    pub json_path: &'static str,
    pub priority: i64,
}

/// One CustomResourceDefinition (a single served and stored version).
#[derive(Debug)]
pub struct Crd {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub status: bool,
    pub columns: &'static [Column],
}

const fn column(name: &'static str, ty: &'static str, json_path: &'static str) -> Column {
    Column {
        name,
        ty,
        json_path,
        priority: 0,
    }
}

pub static K3S_CRDS: &[Crd] = &[
    Crd {
        group: "helm.cattle.io",
        version: "v1",
        plural: "helmchartconfigs",
        singular: "helmchartconfig",
        kind: "HelmChartConfig",
        namespaced: true,
        status: false,
        columns: &[],
    },
    Crd {
        group: "helm.cattle.io",
        version: "v1",
        plural: "helmcharts",
        singular: "helmchart",
        kind: "HelmChart",
        namespaced: true,
        status: true,
        columns: &[
            column("Repo", "string", ".spec.repo"),
            column("Chart", "string", ".spec.chart"),
            column("Version", "string", ".spec.version"),
            column("TargetNamespace", "string", ".spec.targetNamespace"),
            column("Bootstrap", "boolean", ".spec.bootstrap"),
            column(
                "Failed",
                "string",
                ".status.conditions[?(@.type=='Failed')].status",
            ),
            Column {
                name: "Job",
                ty: "string",
                json_path: ".status.jobName",
                priority: 10,
            },
        ],
    },
    Crd {
        group: "k3s.cattle.io",
        version: "v1",
        plural: "addons",
        singular: "addon",
        kind: "Addon",
        namespaced: true,
        status: false,
        columns: &[
            column("Source", "string", ".spec.source"),
            column("Checksum", "string", ".spec.checksum"),
        ],
    },
    Crd {
        group: "k3s.cattle.io",
        version: "v1",
        plural: "etcdsnapshotfiles",
        singular: "etcdsnapshotfile",
        kind: "ETCDSnapshotFile",
        namespaced: false,
        status: false,
        columns: &[
            column("SnapshotName", "string", ".spec.snapshotName"),
            column("Node", "string", ".spec.nodeName"),
            column("Location", "string", ".spec.location"),
            column("Size", "string", ".spec.size"),
            column("CreationTime", "date", ".spec.creationTime"),
        ],
    },
];

/// The definition serving `res`, when a CRD serves it.
pub fn serving(res: &ApiResource) -> Option<&'static Crd> {
    K3S_CRDS
        .iter()
        .find(|c| c.group == res.group && c.version == res.version && c.plural == res.resource())
}

impl Crd {
    pub fn name(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }

    /// The CustomResourceDefinition object as stored, in Go field order (the type table
    /// has no apiextensions types).
    pub fn object(&self) -> Value {
        let columns: Vec<Value> = self
            .columns
            .iter()
            .map(|c| {
                // `CustomResourceColumnDefinition` field order.
                let mut m = Map::new();
                m.insert("name".into(), json!(c.name));
                m.insert("type".into(), json!(c.ty));
                if c.priority != 0 {
                    m.insert("priority".into(), json!(c.priority));
                }
                m.insert("jsonPath".into(), json!(c.json_path));
                Value::Object(m)
            })
            .collect();
        let mut version = json!({
            "name": self.version,
            "served": true,
            "storage": true,
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
        });
        if self.status {
            version["subresources"] = json!({"status": {}});
        }
        if !columns.is_empty() {
            version["additionalPrinterColumns"] = json!(columns);
        }
        json!({
            "metadata": {"name": self.name()},
            "spec": {
                "group": self.group,
                // `CustomResourceDefinitionNames` field order.
                "names": {
                    "plural": self.plural,
                    "singular": self.singular,
                    "kind": self.kind,
                    "listKind": format!("{}List", self.kind),
                },
                "scope": if self.namespaced { "Namespaced" } else { "Cluster" },
                "versions": [version],
                // Defaulted (apiextensions v1 `SetDefaults_CustomResourceDefinitionSpec`).
                "conversion": {"strategy": "None"},
            },
        })
    }

    /// The definition's status once the apiextensions controllers have accepted it: the
    /// naming controller's `NamesAccepted`/`NoConflicts` and the establishing controller's
    /// `Established`/`InitialNamesAccepted` (apiextensions-apiserver
    /// `pkg/controller/status/naming_controller.go`, messages as written there).
    pub fn status(&self, now: &str) -> Value {
        json!({
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now, "reason": "NoConflicts", "message": "no conflicts found"},
                {"type": "Established", "status": "True", "lastTransitionTime": now, "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
            ],
            "acceptedNames": {
                "plural": self.plural,
                "singular": self.singular,
                "kind": self.kind,
                "listKind": format!("{}List", self.kind),
            },
            "storedVersions": [self.version],
        })
    }

    /// Table columns (apiextensions `pkg/registry/customresource/tableconvertor`, `New`):
    /// Name, then the printer columns described as "Custom resource definition column (in
    /// JSONPath format): <path>" when the CRD gives no description, or `Age` when there
    /// are none (`serveDefaultColumnsIfEmpty`).
    pub fn table_columns(&self, name_col: Value, created_doc: &str) -> Vec<Value> {
        let mut out = vec![name_col];
        if self.columns.is_empty() {
            out.push(json!({"name": "Age", "type": "date", "format": "", "description": created_doc, "priority": 0}));
        }
        for c in self.columns {
            out.push(json!({
                "name": c.name,
                "type": c.ty,
                "format": "",
                "description": format!("Custom resource definition column (in JSONPath format): {}", c.json_path),
                "priority": c.priority,
            }));
        }
        out
    }

    /// One row's cells after the name: each column's JSONPath result, `null` when absent.
    pub fn cells(&self, obj: &Value, age: impl Fn(&str) -> String) -> Vec<Value> {
        if self.columns.is_empty() {
            return vec![json!(
                obj.pointer("/metadata/creationTimestamp")
                    .and_then(Value::as_str)
                    .map(&age)
            )];
        }
        self.columns
            .iter()
            .map(|c| match find(obj, c.json_path) {
                None => Value::Null,
                Some(v) => match c.ty {
                    // `PrintResults`: strings as they are, other values as JSON.
                    "string" => json!(match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    }),
                    "integer" => v.as_i64().map_or(Value::Null, |n| json!(n)),
                    "number" => v.as_f64().map_or(Value::Null, |n| json!(n)),
                    "boolean" => v.as_bool().map_or(Value::Null, |b| json!(b)),
                    "date" => v.as_str().map_or(Value::Null, |s| json!(age(s))),
                    _ => Value::Null,
                },
            })
            .collect()
    }
}

/// The first result of a printer column's JSONPath: `.a.b` steps and `[?(@.k=='v')]`
/// filters, the forms these definitions use.
fn find<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = vec![obj];
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("[?(@.") {
            let (cond, after) = r.split_once(")]")?;
            let (key, want) = cond.split_once("==")?;
            let want = want.trim_matches('\'');
            cur = cur
                .into_iter()
                .flat_map(|v| v.as_array().into_iter().flatten())
                .filter(|item| item.get(key).and_then(Value::as_str) == Some(want))
                .collect();
            rest = after;
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            cur = cur.into_iter().filter_map(|v| v.get(key)).collect();
            rest = &r[end..];
        } else {
            return None;
        }
    }
    cur.into_iter().next()
}

/// A custom resource as apiextensions-apiserver writes it: an unstructured map, which Go's
/// `encoding/json` writes with every object's keys sorted.
pub fn sort_keys(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.sort_keys();
            m.values_mut().for_each(sort_keys);
        }
        Value::Array(a) => a.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::DISCOVERY;

    #[test]
    fn every_definition_matches_its_discovery_rows() {
        for crd in K3S_CRDS {
            let res = DISCOVERY
                .resource(crd.group, crd.version, crd.plural)
                .unwrap_or_else(|| panic!("{} is not in resources.txt", crd.name()));
            assert_eq!(res.kind, crd.kind);
            assert_eq!(res.singular, crd.singular);
            assert_eq!(res.namespaced, crd.namespaced);
            assert_eq!(res.verbs, crate::discovery::CRD_VERBS);
            let status =
                DISCOVERY.resource(crd.group, crd.version, &format!("{}/status", crd.plural));
            assert_eq!(status.is_some(), crd.status, "{}", crd.name());
            assert!(std::ptr::eq(serving(res).unwrap(), crd));
        }
    }

    #[test]
    fn json_paths_find_fields_and_filter_lists() {
        let chart = json!({"spec": {"repo": "r", "bootstrap": true}, "status": {"conditions": [
            {"type": "JobCreated", "status": "True"},
            {"type": "Failed", "status": "False"},
        ]}});
        assert_eq!(find(&chart, ".spec.repo"), Some(&json!("r")));
        assert_eq!(find(&chart, ".spec.chart"), None);
        assert_eq!(
            find(&chart, ".status.conditions[?(@.type=='Failed')].status"),
            Some(&json!("False"))
        );
        let crd = &K3S_CRDS[1];
        let cells = crd.cells(&chart, |_| "1s".into());
        assert_eq!(
            cells,
            vec![
                json!("r"),
                Value::Null,
                Value::Null,
                Value::Null,
                json!(true),
                json!("False"),
                Value::Null
            ]
        );
    }

    #[test]
    fn keys_sort_at_every_depth() {
        let mut v = json!({"spec": {"b": 1, "a": [{"d": 1, "c": 2}]}, "apiVersion": "x"});
        sort_keys(&mut v);
        assert_eq!(
            v.to_string(),
            r#"{"apiVersion":"x","spec":{"a":[{"c":2,"d":1}],"b":1}}"#
        );
    }
}
