//! The differential suite: requests sent to the reference control plane (real
//! kube-apiserver v1.33.3, `backends::control_plane`) and to the embedded server, whose
//! answers must be the same — status, content type and body — after the snapshot
//! redactions (`harness::redact`) and nothing more.
//!
//! Cases are data: `cases/*.yaml`, one file per area, run in order, each file in a
//! namespace of its own created on both servers first. `tests/differential.rs` runs them
//! all; `known.rs` holds the differences not yet fixed, each of which must still differ.

pub mod case;
pub mod k3s;
pub mod known;
pub mod replay;
pub mod server;
pub mod tally;

pub use case::{Case, CaseFile, Identity};
pub use server::{Answer, Server};
pub use tally::Tally;

/// The two answers of a case as one text each — status line, content type, then the
/// redacted body — and their unified diff when they differ.
pub fn compare(
    reference: &Answer,
    embedded: &Answer,
    ctx: &harness::redact::Context,
) -> Option<String> {
    let want = reference.render(ctx);
    let got = embedded.render(ctx);
    if want == got {
        return None;
    }
    // Compact JSON is one line: diff it pretty, and say when only the layout differs.
    let (want_shown, got_shown) = (pretty(&want), pretty(&got));
    let mut out = String::new();
    if want_shown == got_shown {
        out.push_str("(the same JSON, written differently)\n");
        let (want_shown, got_shown) = (want.clone(), got.clone());
        out.push_str(&unified(&want_shown, &got_shown));
    } else {
        out.push_str(&unified(&want_shown, &got_shown));
    }
    if !out.contains("\n@@") && !out.starts_with("@@") && !out.contains("@@") {
        // No line differs: the difference is in bytes a line diff does not show.
        out.push_str(&format!("reference: {want:?}\nembedded:  {got:?}\n"));
    }
    Some(out)
}

fn unified(want: &str, got: &str) -> String {
    similar::TextDiff::from_lines(want, got)
        .unified_diff()
        .context_radius(3)
        .header("reference (kube-apiserver v1.33.3)", "embedded")
        .to_string()
}

/// A rendered answer with a JSON body pretty-printed (key order kept).
fn pretty(rendered: &str) -> String {
    let Some((head, body)) = rendered.split_once("\n\n") else {
        return rendered.to_string();
    };
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => format!(
            "{head}\n\n{}\n",
            serde_json::to_string_pretty(&v).expect("values serialize")
        ),
        Err(_) => rendered.to_string(),
    }
}
