//! ConfigMap: its printer columns (`printConfigMap`).

use super::Strategy;
use crate::object;
use crate::table::{age, age_col, col, count, name_col};
use serde_json::{Value, json};

#[derive(Debug)]
pub(crate) struct ConfigMap;

impl Strategy for ConfigMap {
    fn table_row(&self, obj: &Value, now: i64) -> Option<(Vec<Value>, Vec<Value>)> {
        let name = json!(object::name(obj));
        Some((
            vec![
                name_col(),
                col(
                    "Data",
                    "string",
                    "Number of data entries in the configmap",
                    0,
                ),
                age_col(),
            ],
            vec![
                name,
                json!(count(obj.get("data")) + count(obj.get("binaryData"))),
                age(obj, now),
            ],
        ))
    }
}
