//! ServiceAccount: its printer columns (`printServiceAccount`).

use super::Strategy;
use crate::table::{AGE, Column, NAME, Printer, age, count};
use serde_json::{Value, json};

#[derive(Debug)]
pub(crate) struct ServiceAccount;

impl Strategy for ServiceAccount {
    fn printer(&self) -> Option<&'static Printer> {
        Some(&PRINTER)
    }
}

static PRINTER: Printer = Printer {
    columns: &[
        NAME,
        Column::field("Secrets", "string", "core/v1.ServiceAccount.secrets", 0),
        AGE,
    ],
    cells,
};

/// The cells of one object's row after its name.
fn cells(obj: &Value, now: i64) -> Vec<Value> {
    vec![json!(count(obj.get("secrets"))), age(obj, now)]
}
