//! RoleBinding and ClusterRoleBinding: their printer columns (`printRoleBinding`).

use super::Strategy;
use crate::table::{AGE, Column, NAME, Printer, age, str_at};
use serde_json::{Value, json};

#[derive(Debug)]
pub(crate) struct RoleBinding;

impl Strategy for RoleBinding {
    fn printer(&self) -> Option<&'static Printer> {
        Some(&PRINTER)
    }
}

static PRINTER: Printer = Printer {
    columns: &[
        NAME,
        Column::field("Role", "string", "rbac/v1.RoleBinding.roleRef", 0),
        AGE,
        Column::text("Users", "string", "Users in the roleBinding", 1),
        Column::text("Groups", "string", "Groups in the roleBinding", 1),
        Column::text(
            "ServiceAccounts",
            "string",
            "ServiceAccounts in the roleBinding",
            1,
        ),
    ],
    cells,
};

/// The cells of one object's row after its name.
fn cells(obj: &Value, now: i64) -> Vec<Value> {
    let subjects = obj
        .get("subjects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
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
