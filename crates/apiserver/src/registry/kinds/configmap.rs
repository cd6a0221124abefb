//! ConfigMap: its printer columns (`printConfigMap`).

use super::Strategy;
use crate::table::{AGE, Column, NAME, Printer, age, count};
use serde_json::{Value, json};

#[derive(Debug)]
pub(crate) struct ConfigMap;

impl Strategy for ConfigMap {
    fn printer(&self) -> Option<&'static Printer> {
        Some(&PRINTER)
    }
}

static PRINTER: Printer = Printer {
    columns: &[
        NAME,
        Column::text(
            "Data",
            "string",
            "Number of data entries in the configmap",
            0,
        ),
        AGE,
    ],
    cells,
};

/// The cells of one object's row after its name.
fn cells(obj: &Value, now: i64) -> Vec<Value> {
    vec![
        json!(count(obj.get("data")) + count(obj.get("binaryData"))),
        age(obj, now),
    ]
}
