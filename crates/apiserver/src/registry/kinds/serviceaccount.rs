//! ServiceAccount: its printer columns (`printServiceAccount`).

use super::Strategy;
use crate::object;
use crate::table::{age, age_col, col, count, doc, name_col};
use serde_json::{Value, json};

#[derive(Debug)]
pub(crate) struct ServiceAccount;

impl Strategy for ServiceAccount {
    fn table_row(&self, obj: &Value, now: i64) -> Option<(Vec<Value>, Vec<Value>)> {
        let name = json!(object::name(obj));
        Some((
            vec![
                name_col(),
                col(
                    "Secrets",
                    "string",
                    doc("core/v1.ServiceAccount.secrets"),
                    0,
                ),
                age_col(),
            ],
            vec![name, json!(count(obj.get("secrets"))), age(obj, now)],
        ))
    }
}
