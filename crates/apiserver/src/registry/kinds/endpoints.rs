//! Endpoints: its printer columns (`printEndpoints`).

use super::Strategy;
use crate::table::{AGE, Column, NAME, Printer, age, none_if_empty};
use serde_json::Value;

#[derive(Debug)]
pub(crate) struct Endpoints;

impl Strategy for Endpoints {
    fn printer(&self) -> Option<&'static Printer> {
        Some(&PRINTER)
    }
}

static PRINTER: Printer = Printer {
    columns: &[
        NAME,
        Column::field("Endpoints", "string", "core/v1.Endpoints.subsets", 0),
        AGE,
    ],
    cells,
};

/// The cells of one object's row after its name.
fn cells(obj: &Value, now: i64) -> Vec<Value> {
    let mut eps = Vec::new();
    for subset in obj
        .get("subsets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for a in subset
            .get("addresses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for p in subset
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                eps.push(format!(
                    "{}:{}",
                    a["ip"].as_str().unwrap_or(""),
                    p["port"].as_i64().unwrap_or(0)
                ));
            }
        }
    }
    vec![none_if_empty(&eps.join(",")), age(obj, now)]
}
