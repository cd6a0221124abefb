//! Kinds whose difference from the generic registry is data alone: the fields a list
//! selects on (each kind's `GetAttrs`/field label conversion), the printer columns
//! (`pkg/printers/internalversion/printers.go`) and, for Secret, one defaulter
//! (`SetDefaults_Secret`). Kinds with behaviour of their own have modules of their own.

use super::{Strategy, default};
use crate::object;
use crate::status::{Cause, field};
use crate::table::{AGE, Column, NAME, Printer, age, count, none_if_empty, str_at};
use serde_json::{Value, json};

/// A kind described by data: `Generic` when every field is empty.
#[derive(Debug)]
pub(crate) struct Plain {
    /// Whether the strategy sets `metadata.generation`.
    pub(crate) generation: bool,
    pub(crate) field_labels: &'static [&'static str],
    pub(crate) printer: Option<&'static Printer>,
    /// Fields a defaulter fills when they are unset.
    pub(crate) defaults: &'static [(&'static str, &'static str)],
    /// What decoding the v1 object into the internal one changes (a conversion function).
    pub(crate) convert: fn(&mut Value),
    /// The kind's `Validate` of a new object (`Strategy::validate`).
    pub(crate) validate: fn(&Value) -> Vec<Cause>,
    /// The kind's `ValidateUpdate` (`Strategy::validate_update`): old, then new.
    pub(crate) validate_update: fn(&Value, &Value) -> Vec<Cause>,
}

impl Plain {
    /// Stored as sent, `Name`/`Created At` columns.
    pub(crate) const GENERIC: Plain = Plain {
        generation: false,
        field_labels: &[],
        printer: None,
        defaults: &[],
        convert: |_| {},
        validate: |_| Vec::new(),
        validate_update: |_, _| Vec::new(),
    };
}

impl Strategy for Plain {
    fn defaults(&self, obj: &mut Value) {
        (self.convert)(obj);
        if let Some(m) = obj.as_object_mut() {
            for (key, value) in self.defaults {
                default(m, key, json!(value));
            }
        }
    }

    fn has_generation(&self) -> bool {
        self.generation
    }

    fn validate(&self, obj: &Value) -> Vec<Cause> {
        (self.validate)(obj)
    }

    fn validate_update(&self, old: &Value, new: &Value) -> Vec<Cause> {
        (self.validate_update)(old, new)
    }

    fn field_labels(&self) -> &'static [&'static str] {
        self.field_labels
    }

    fn printer(&self) -> Option<&'static Printer> {
        self.printer
    }
}

/// `printConfigMap`.
pub(crate) static CONFIG_MAP: Plain = Plain {
    printer: Some(&Printer {
        columns: &[NAME, CONFIG_MAP_DATA, AGE],
        cells: |obj, now| {
            let entries = count(obj.get("data")) + count(obj.get("binaryData"));
            vec![json!(entries), age(obj, now)]
        },
    }),
    ..Plain::GENERIC
};
const CONFIG_MAP_DATA: Column = Column::field("Data", "string", "core/v1.ConfigMap.data", 0);

/// `printEndpoints`: every address with every port of its subset.
pub(crate) static ENDPOINTS: Plain = Plain {
    printer: Some(&Printer {
        columns: &[NAME, ENDPOINTS_COLUMN, AGE],
        cells: |obj, now| {
            let mut eps = Vec::new();
            for subset in items(obj.get("subsets")) {
                for a in items(subset.get("addresses")) {
                    for p in items(subset.get("ports")) {
                        let ip = a["ip"].as_str().unwrap_or("");
                        eps.push(format!("{ip}:{}", p["port"].as_i64().unwrap_or(0)));
                    }
                }
            }
            vec![none_if_empty(&eps.join(",")), age(obj, now)]
        },
    }),
    ..Plain::GENERIC
};
const ENDPOINTS_COLUMN: Column =
    Column::field("Endpoints", "string", "core/v1.Endpoints.subsets", 0);

/// `printLease`: the holder, empty when none.
pub(crate) static LEASE: Plain = Plain {
    printer: Some(&Printer {
        columns: &[NAME, LEASE_HOLDER, AGE],
        cells: |obj, now| vec![json!(str_at(obj, "/spec/holderIdentity")), age(obj, now)],
    }),
    ..Plain::GENERIC
};
const LEASE_HOLDER: Column = Column::field(
    "Holder",
    "string",
    "coordination/v1.LeaseSpec.holderIdentity",
    0,
);

/// Event (core/v1): `ToSelectableFields` (`pkg/registry/core/event/strategy.go`).
pub(crate) static EVENT: Plain = Plain {
    field_labels: &[
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ],
    ..Plain::GENERIC
};

/// Node: its field label and `printNode`.
pub(crate) static NODE: Plain = Plain {
    field_labels: &["spec.unschedulable"],
    printer: Some(&Printer {
        columns: NODE_COLUMNS,
        cells: node_cells,
    }),
    ..Plain::GENERIC
};
const NODE_COLUMNS: &[Column] = &[
    NAME,
    Column::text("Status", "string", "The status of the node", 0),
    Column::text("Roles", "string", "The roles of the node", 0),
    AGE,
    Column::field(
        "Version",
        "string",
        "core/v1.NodeSystemInfo.kubeletVersion",
        0,
    ),
    Column::field("Internal-IP", "string", "core/v1.NodeStatus.addresses", 1),
    Column::field("External-IP", "string", "core/v1.NodeStatus.addresses", 1),
    Column::field("OS-Image", "string", "core/v1.NodeSystemInfo.osImage", 1),
    Column::field(
        "Kernel-Version",
        "string",
        "core/v1.NodeSystemInfo.kernelVersion",
        1,
    ),
    Column::field(
        "Container-Runtime",
        "string",
        "core/v1.NodeSystemInfo.containerRuntimeVersion",
        1,
    ),
];

fn node_cells(obj: &Value, now: i64) -> Vec<Value> {
    let ready = items(obj.pointer("/status/conditions"))
        .find(|c| c["type"] == "Ready")
        .map_or("Unknown", |c| {
            if c["status"] == "True" {
                "Ready"
            } else {
                "NotReady"
            }
        });
    let labels = object::labels(obj);
    let roles: Vec<&str> = labels
        .keys()
        .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
        .collect();
    let internal = items(obj.pointer("/status/addresses"))
        .find(|a| a["type"] == "InternalIP")
        .and_then(|a| a["address"].as_str())
        .unwrap_or("");
    let info = |field: &str| str_at(obj, &format!("/status/nodeInfo/{field}")).to_string();
    vec![
        json!(ready),
        none_if_empty(&roles.join(",")),
        age(obj, now),
        json!(info("kubeletVersion")),
        none_if_empty(internal),
        json!("<none>"),
        none_if_empty(&info("osImage")),
        none_if_empty(&info("kernelVersion")),
        none_if_empty(&info("containerRuntimeVersion")),
    ]
}

/// RoleBinding: `printRoleBinding`; ClusterRoleBinding: `printClusterRoleBinding`. The
/// same cells; the columns describe `roleRef` as rbac/v1beta1 documents it
/// (`pkg/printers/internalversion/printers.go` takes `rbacv1beta1.*{}.SwaggerDoc()`) and
/// name their own kind in the subject columns.
pub(crate) static ROLE_BINDING: Plain = Plain {
    printer: Some(&ROLE_BINDING_PRINTER),
    validate_update: role_ref_unchanged,
    ..Plain::GENERIC
};
pub(crate) static CLUSTER_ROLE_BINDING: Plain = Plain {
    printer: Some(&CLUSTER_ROLE_BINDING_PRINTER),
    validate_update: role_ref_unchanged,
    ..Plain::GENERIC
};
/// Role: `ValidateRole`'s rules (namespaced).
pub(crate) static ROLE: Plain = Plain {
    validate: |obj| policy_rules(obj, true),
    validate_update: |_, new| policy_rules(new, true),
    ..Plain::GENERIC
};
/// ClusterRole: `ValidateClusterRole`'s rules.
pub(crate) static CLUSTER_ROLE: Plain = Plain {
    validate: |obj| policy_rules(obj, false),
    validate_update: |_, new| policy_rules(new, false),
    ..Plain::GENERIC
};

/// `ValidatePolicyRule` (`pkg/apis/rbac/validation/validation.go`) for each rule: verbs
/// required; non-resource URLs only in cluster rules and never with resources; resource
/// rules name API groups and resources.
fn policy_rules(obj: &Value, namespaced: bool) -> Vec<Cause> {
    let mut causes = Vec::new();
    let rules = obj.get("rules").and_then(Value::as_array);
    for (i, rule) in rules.into_iter().flatten().enumerate() {
        let at = format!("rules[{i}]");
        let list = |key: &str| -> Vec<&str> {
            rule.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect()
        };
        if list("verbs").is_empty() {
            causes.push(field::required(
                &format!("{at}.verbs"),
                "verbs must contain at least one value",
            ));
        }
        let urls = list("nonResourceURLs");
        if !urls.is_empty() {
            let shown = crate::status::go_strings(&urls);
            if namespaced {
                causes.push(field::invalid(
                    &format!("{at}.nonResourceURLs"),
                    &shown,
                    "namespaced rules cannot apply to non-resource URLs",
                ));
            }
            if !list("apiGroups").is_empty()
                || !list("resources").is_empty()
                || !list("resourceNames").is_empty()
            {
                causes.push(field::invalid(
                    &format!("{at}.nonResourceURLs"),
                    &shown,
                    "rules cannot apply to both regular resources and non-resource URLs",
                ));
            }
            continue;
        }
        if rule
            .get("apiGroups")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
        {
            causes.push(field::required(
                &format!("{at}.apiGroups"),
                "resource rules must supply at least one api group",
            ));
        }
        if list("resources").is_empty() {
            causes.push(field::required(
                &format!("{at}.resources"),
                "resource rules must supply at least one resource",
            ));
        }
    }
    causes
}

/// `ValidateRoleBindingUpdate`: `cannot change roleRef`, the new one printed as Go's `%#v`
/// of `rbac.RoleRef`.
fn role_ref_unchanged(old: &Value, new: &Value) -> Vec<Cause> {
    if old.get("roleRef") == new.get("roleRef") {
        return Vec::new();
    }
    let part = |key: &str| crate::status::quote(str_at(new, &format!("/roleRef/{key}")));
    let mut causes = Vec::new();
    causes.push(field::invalid(
        "roleRef",
        &format!(
            "rbac.RoleRef{{APIGroup:{}, Kind:{}, Name:{}}}",
            part("apiGroup"),
            part("kind"),
            part("name")
        ),
        "cannot change roleRef",
    ));
    causes
}
static ROLE_BINDING_PRINTER: Printer = Printer::new(&ROLE_BINDING_COLUMNS, role_binding_cells);
static CLUSTER_ROLE_BINDING_PRINTER: Printer =
    Printer::new(&CLUSTER_ROLE_BINDING_COLUMNS, role_binding_cells);
const ROLE_BINDING_COLUMNS: [Column; 6] = binding_columns(
    "rbac/v1beta1.RoleBinding.roleRef",
    [
        "Users in the roleBinding",
        "Groups in the roleBinding",
        "ServiceAccounts in the roleBinding",
    ],
);
const CLUSTER_ROLE_BINDING_COLUMNS: [Column; 6] = binding_columns(
    "rbac/v1beta1.ClusterRoleBinding.roleRef",
    [
        "Users in the clusterRoleBinding",
        "Groups in the clusterRoleBinding",
        "ServiceAccounts in the clusterRoleBinding",
    ],
);

const fn binding_columns(role_ref: &'static str, subjects: [&'static str; 3]) -> [Column; 6] {
    [
        NAME,
        Column::field("Role", "string", role_ref, 0),
        AGE,
        Column::text("Users", "string", subjects[0], 1),
        Column::text("Groups", "string", subjects[1], 1),
        Column::text("ServiceAccounts", "string", subjects[2], 1),
    ]
}

fn role_binding_cells(obj: &Value, now: i64) -> Vec<Value> {
    let subjects: Vec<&Value> = items(obj.get("subjects")).collect();
    let of = |kind: &str| -> String {
        subjects
            .iter()
            .filter(|s| s["kind"] == kind)
            .map(|s| match s["namespace"].as_str() {
                Some(ns) if kind == "ServiceAccount" => {
                    format!("{ns}/{}", s["name"].as_str().unwrap_or(""))
                }
                _ => s["name"].as_str().unwrap_or("").to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let role_ref = format!(
        "{}/{}",
        str_at(obj, "/roleRef/kind"),
        str_at(obj, "/roleRef/name")
    );
    vec![
        json!(role_ref),
        age(obj, now),
        json!(of("User")),
        json!(of("Group")),
        json!(of("ServiceAccount")),
    ]
}

/// Secret: `SetDefaults_Secret` (type `Opaque`), its field label and `printSecret`.
pub(crate) static SECRET: Plain = Plain {
    field_labels: &["type"],
    defaults: &[("type", "Opaque")],
    convert: fold_string_data,
    validate: secret_keys,
    validate_update: secret_unchanged,
    printer: Some(&Printer {
        columns: &[
            NAME,
            Column::field("Type", "string", "core/v1.Secret.type", 0),
            Column::field("Data", "string", "core/v1.Secret.data", 0),
            AGE,
        ],
        cells: |obj, now| {
            let data = count(obj.get("data"));
            vec![json!(str_at(obj, "/type")), json!(data), age(obj, now)]
        },
    }),
    ..Plain::GENERIC
};

/// `ValidateSecret` (`pkg/apis/core/validation/validation.go`): the keys a typed Secret
/// must hold — only the types whose checks are written here.
fn secret_keys(obj: &Value) -> Vec<Cause> {
    let required: &[&str] = match str_at(obj, "/type") {
        "kubernetes.io/tls" => &["tls.crt", "tls.key"],
        "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
        "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
        "kubernetes.io/dockercfg" => &[".dockercfg"],
        _ => &[],
    };
    let has = |k: &str| obj.pointer("/data").and_then(|d| d.get(k)).is_some();
    required
        .iter()
        .filter(|k| !has(k))
        .map(|k| field::required(&format!("data[{k}]"), ""))
        .collect()
}

/// `ValidateSecretUpdate`: the type never changes, and an immutable Secret's data and
/// immutability do not either.
fn secret_unchanged(old: &Value, new: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let (old_type, new_type) = (str_at(old, "/type"), str_at(new, "/type"));
    if old_type != new_type {
        causes.push(field::invalid(
            "type",
            &crate::status::quote(new_type),
            "field is immutable",
        ));
    }
    if old.get("immutable") == Some(&json!(true)) {
        if new.get("immutable") != Some(&json!(true)) {
            causes.push(field::forbidden(
                "immutable",
                "field is immutable when `immutable` is set",
            ));
        }
        if old.get("data") != new.get("data") {
            causes.push(field::forbidden(
                "data",
                "field is immutable when `immutable` is set",
            ));
        }
    }
    causes.extend(secret_keys(new));
    causes
}

/// `Convert_v1_Secret_To_core_Secret` (`pkg/apis/core/v1/conversion.go`): `stringData` is
/// written into `data`, over what `data` had, and is never stored.
fn fold_string_data(obj: &mut Value) {
    use base64::Engine;
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    let Some(Value::Object(strings)) = root.shift_remove("stringData") else {
        return;
    };
    if strings.is_empty() {
        return;
    }
    let data = super::obj_mut(obj, "data");
    for (k, v) in strings {
        let text = v.as_str().unwrap_or_default();
        let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
        data.insert(k, json!(encoded));
    }
}

/// `printServiceAccount`.
pub(crate) static SERVICE_ACCOUNT: Plain = Plain {
    printer: Some(&Printer {
        columns: &[NAME, SERVICE_ACCOUNT_SECRETS, AGE],
        cells: |obj, now| vec![json!(count(obj.get("secrets"))), age(obj, now)],
    }),
    ..Plain::GENERIC
};
const SERVICE_ACCOUNT_SECRETS: Column =
    Column::field("Secrets", "string", "core/v1.ServiceAccount.secrets", 0);

/// The elements of an optional JSON array.
fn items(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array).into_iter().flatten()
}
