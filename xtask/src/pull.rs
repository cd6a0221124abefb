//! Before a lab runs on the embedded cluster: the images its manifests name, pulled into
//! the image store with a progress bar if they are not there yet, or a clear word on how
//! to get them when no registry is reachable, rather than pods that wait and a step that
//! times out.

use anyhow::Result;
use serde_json::Value;

/// Every `image` of a container (or init container) in the manifests' objects.
pub fn images_of(scenario: &scenario::Scenario) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in &scenario.manifests {
        for doc in m.text.split("\n---") {
            let Ok(v) = serde_saphyr::from_str::<Value>(doc) else {
                continue;
            };
            collect(&v, &mut out);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn collect(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "containers" || k == "initContainers" {
                    for c in v.as_array().into_iter().flatten() {
                        if let Some(image) = c.get("image").and_then(Value::as_str) {
                            out.push(image.to_string());
                        }
                    }
                } else {
                    collect(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
        _ => {}
    }
}

/// Makes sure `images` are in the store, pulling what is missing with a progress bar;
/// `Ok(false)` after saying why when one cannot be had.
pub fn ensure(rt: &tokio::runtime::Runtime, images: &[String]) -> Result<bool> {
    let store = images::Store::user_default()?;
    for name in images {
        let reference: images::Reference = match name.parse() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: the lab names the image {name:?}, which is not a reference: {e}");
                return Ok(false);
            }
        };
        if store.image(&reference)?.is_some() {
            continue;
        }
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "pulling {msg} {bar:30} {bytes}/{total_bytes} {elapsed}",
            )
            .expect("a valid template"),
        );
        bar.set_message(reference.whole());
        let shown = bar.clone();
        let pulled = rt.block_on(store.pull(&reference, &move |p| {
            shown.set_length(p.total);
            shown.set_position(p.done);
        }));
        bar.finish_and_clear();
        match pulled {
            Ok(image) => eprintln!(
                "pulled {} ({:.1} MB)",
                reference.whole(),
                image.size as f64 / 1e6
            ),
            Err(e) => {
                eprintln!(
                    "error: the lab's image {} is not in the image store ({}) and cannot be pulled: {e}\n\
                     With no registry reachable, build the course's images with `cargo xtask images`.",
                    reference.whole(),
                    store.root().display()
                );
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// A line above the bars, or on stderr when it is not a terminal (where the bars are
/// hidden, and so is what they print).
fn say(bars: &indicatif::MultiProgress, line: String) {
    if bars.is_hidden() {
        eprintln!("{line}");
    } else {
        let _ = bars.println(line);
    }
}

/// Progress bars for the pulls a running cluster's node makes (`cluster up`): one per
/// image while it is fetched, then a line saying how it ended.
pub fn progress_bars() -> backends::PullObserver {
    let bars = indicatif::MultiProgress::new();
    let open: std::sync::Mutex<std::collections::HashMap<String, indicatif::ProgressBar>> =
        Default::default();
    backends::PullObserver::new(move |event| {
        let mut open = open.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            backends::PullEvent::Started { image } => {
                let bar = bars.add(indicatif::ProgressBar::new(0));
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "pulling {msg} {bar:30} {bytes}/{total_bytes} {elapsed}",
                    )
                    .expect("a valid template"),
                );
                bar.set_message(image.clone());
                open.insert(image, bar);
            }
            backends::PullEvent::Progress { image, done, total } => {
                if let Some(bar) = open.get(&image) {
                    bar.set_length(total);
                    bar.set_position(done);
                }
            }
            backends::PullEvent::Pulled { image, size } => {
                if let Some(bar) = open.remove(&image) {
                    bar.finish_and_clear();
                }
                say(
                    &bars,
                    format!("pulled {image} ({:.1} MB)", size as f64 / 1e6),
                );
            }
            backends::PullEvent::Failed { image, error } => {
                if let Some(bar) = open.remove(&image) {
                    bar.finish_and_clear();
                }
                say(
                    &bars,
                    format!(
                        "could not pull {image}: {error}\n(no registry reachable? `cargo xtask images` builds the course's images offline)"
                    ),
                );
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_images_of_pods_and_pod_templates() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let one = scenario::load(&dir.join("01-proxy-access")).unwrap();
        assert_eq!(super::images_of(&one), ["debian:trixie-slim"]);
        let three = scenario::load(&dir.join("03-ca-verification")).unwrap();
        assert_eq!(super::images_of(&three), ["buildpack-deps:trixie-curl"]);
    }
}
