//! Every lab's API traffic, replayed against the reference (`fidelity::replay`): each lab
//! of `scenarios/` runs on the embedded cluster with its traffic recorded, then the
//! recording is sent in order to a fresh reference control plane, and every answer that
//! does not depend on a running pod must be the one the embedded server gave. A listed
//! difference is `replay/<lab folder>/<METHOD> <path?query>` in `known-differences.txt`.
//! `cargo test -p fidelity --test replay -- <text>` runs the labs whose folder contains
//! `<text>` and prints every diff.

use fidelity::replay::{Outcome, Replayer};
use fidelity::{Tally, known};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn main() -> ExitCode {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let bin = match backends::control_plane::binaries() {
        Ok(bin) => bin,
        Err(why) => {
            testkit::skip(why);
            return ExitCode::SUCCESS;
        }
    };
    let known = known::read(&crate_dir().join("known-differences.txt"), "replay/")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut labs: Vec<PathBuf> = std::fs::read_dir(crate_dir().join("../../scenarios"))
        .expect("the scenarios folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("scenario.yaml").is_file())
        .collect();
    labs.sort();
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let mut tally = Tally::default();
    for dir in &labs {
        let folder = dir.file_name().expect("a folder").to_string_lossy();
        if filter.as_deref().is_some_and(|f| !folder.contains(f)) {
            continue;
        }
        rt.block_on(replay_lab(&bin, dir, &known, &mut tally, filter.is_some()))
            .unwrap_or_else(|e| panic!("{folder}: {e}"));
    }
    tally.report("replayed lab traffic", &known, filter.is_none())
}

/// Runs the lab in `dir` on a recorded embedded cluster while a reference starts, then
/// replays the recording against the reference.
async fn replay_lab(
    bin: &Path,
    dir: &Path,
    known: &known::Known,
    tally: &mut Tally,
    show: bool,
) -> Result<(), String> {
    let lab = harness::Lab::from_dir(dir).map_err(|e| e.to_string())?;
    if let Some(why) = harness::missing_host_tool(&lab) {
        testkit::skip(why);
        return Ok(());
    }
    let folder = dir.file_name().expect("a folder").to_string_lossy();
    let recorder = apiserver::Recorder::default();
    let backend = backends::Embedded::recorded(recorder.clone());
    let reference_dir = backends::fresh_dir("replay-reference").map_err(|e| e.to_string())?;
    let (reference, ran) = tokio::join!(
        backends::control_plane::ControlPlane::start(bin, &reference_dir, 0, &|_| {}),
        harness::run(&lab, &backend),
    );
    let reference = reference.map_err(|e| format!("starting the reference: {e:?}"))?;
    let result = async {
        ran.map_err(|e| format!("running the lab: {e}"))?;
        let port = reference.port();
        let mut replayer = Replayer::new(
            reference.kubeconfig(),
            fidelity::k3s::rewrites(port, kubelet::NODE_IP),
        )
        .await?;
        let ctx = harness::redact::Context {
            node_name: apiserver::NODE_NAME.into(),
            node_ip: kubelet::NODE_IP.into(),
        };
        let exchanges = recorder.take();
        if exchanges.is_empty() {
            return Err("the lab sent the API server nothing".to_string());
        }
        for ex in &exchanges {
            let id = format!("replay/{folder}/{} {}", ex.method, ex.uri);
            match replayer.replay(ex, &ctx).await? {
                Outcome::NotCompared(_) => tally.not_compared += 1,
                Outcome::Identical => tally.count(id, None, known, show),
                Outcome::Differs(diff) => tally.count(id, Some(diff), known, show),
            }
        }
        Ok(())
    }
    .await;
    reference.stop().await;
    result
}
