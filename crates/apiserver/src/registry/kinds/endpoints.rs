//! Endpoints: its printer columns (`printEndpoints`).

use super::Strategy;
use crate::object;
use crate::table::{age, age_col, col, doc, name_col, none_if_empty};
use serde_json::{Value, json};

#[derive(Debug)]
pub(crate) struct Endpoints;

impl Strategy for Endpoints {
    fn table_row(&self, obj: &Value, now: i64) -> Option<(Vec<Value>, Vec<Value>)> {
        let name = json!(object::name(obj));
        Some({
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
            (
                vec![
                    name_col(),
                    col("Endpoints", "string", doc("core/v1.Endpoints.subsets"), 0),
                    age_col(),
                ],
                vec![name, none_if_empty(&eps.join(",")), age(obj, now)],
            )
        })
    }
}
