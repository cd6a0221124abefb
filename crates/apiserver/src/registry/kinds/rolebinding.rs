//! RoleBinding and ClusterRoleBinding: their printer columns (`printRoleBinding`).

use super::Strategy;
use crate::object;
use crate::table::{age, age_col, col, doc, name_col, str_at};
use serde_json::{Value, json};

#[derive(Debug)]
pub(crate) struct RoleBinding;

impl Strategy for RoleBinding {
    fn table_row(&self, obj: &Value, now: i64) -> Option<(Vec<Value>, Vec<Value>)> {
        let name = json!(object::name(obj));
        Some({
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
            (
                vec![
                    name_col(),
                    col("Role", "string", doc("rbac/v1.RoleBinding.roleRef"), 0),
                    age_col(),
                    col("Users", "string", "Users in the roleBinding", 1),
                    col("Groups", "string", "Groups in the roleBinding", 1),
                    col(
                        "ServiceAccounts",
                        "string",
                        "ServiceAccounts in the roleBinding",
                        1,
                    ),
                ],
                vec![
                    name,
                    json!(role_ref),
                    age(obj, now),
                    json!(of("User")),
                    json!(of("Group")),
                    json!(of("ServiceAccount")),
                ],
            )
        })
    }
}
