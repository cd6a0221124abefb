//! The differential suite (`cargo test -p fidelity`): every case of `cases/*.yaml` sent to
//! the reference control plane and to the embedded server; every answer must be the same
//! after the snapshot redactions, except the cases `known-differences.txt` lists, which
//! must still differ. `cargo test -p fidelity -- <text>` runs the cases whose
//! `area/name` contains `<text>` and prints every diff; `FIDELITY_SHOW=1` prints the known
//! differences' diffs too.

use fidelity::{CaseFile, Server, Tally, compare, known};
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
    let files = CaseFile::read_all(&crate_dir().join("cases")).unwrap_or_else(|e| panic!("{e}"));
    // The replay's differences are `tests/replay.rs`'s.
    let mut known = known::read(&crate_dir().join("known-differences.txt"), "")
        .unwrap_or_else(|e| panic!("{e}"));
    known.retain(|id, _| !id.starts_with("replay/"));
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let tally = rt
        .block_on(run(&bin, &files, &known, filter.as_deref()))
        .unwrap_or_else(|e| panic!("{e}"));
    tally.report("differential suite", &known, filter.is_none())
}

async fn run(
    bin: &Path,
    files: &[CaseFile],
    known: &known::Known,
    filter: Option<&str>,
) -> Result<Tally, String> {
    let reference_dir = backends::fresh_dir("fidelity-reference").map_err(|e| e.to_string())?;
    // The embedded API server without its kubelet: the reference has no node, so pods stay
    // Pending on both, and only answers that do not depend on a running pod are compared.
    let (reference, embedded) = tokio::join!(
        backends::control_plane::ControlPlane::start(bin, &reference_dir, 0, &|_| {}),
        apiserver::Cluster::start(apiserver::Config::default()),
    );
    let reference = reference.map_err(|e| format!("starting the reference: {e:?}"))?;
    let embedded = embedded.map_err(|e| format!("starting the embedded cluster: {e:?}"))?;
    let port = reference.port();
    let servers = Server::new(
        "reference",
        reference.kubeconfig(),
        fidelity::k3s::rewrites(port, kubelet::NODE_IP),
    )
    .and_then(|r| {
        Ok((
            r,
            Server::new("embedded", embedded.admin_kubeconfig(), Vec::new())?,
        ))
    });
    let result = match servers {
        Ok(mut servers) => run_cases(&mut servers, files, known, filter).await,
        Err(e) => Err(e),
    };
    reference.stop().await;
    embedded.shutdown().await;
    result
}

async fn run_cases(
    (reference, embedded): &mut (Server, Server),
    files: &[CaseFile],
    known: &known::Known,
    filter: Option<&str>,
) -> Result<Tally, String> {
    let ctx = harness::redact::Context {
        node_name: apiserver::NODE_NAME.into(),
        node_ip: String::new(),
    };
    let mut tally = Tally::default();
    for file in files {
        let ids: Vec<String> = file
            .cases
            .iter()
            .map(|c| format!("{}/{}", file.area, c.name))
            .collect();
        if filter.is_some_and(|f| !ids.iter().any(|id| id.contains(f))) {
            continue;
        }
        let ns = &file.namespace;
        let (a, b) = tokio::join!(reference.prepare(ns), embedded.prepare(ns));
        a?;
        b?;
        for (case, id) in file.cases.iter().zip(ids) {
            // Every case of a file runs (later cases may need earlier ones); the filter
            // only decides what is reported.
            let (want, got) = tokio::join!(reference.send(case, ns), embedded.send(case, ns));
            let (want, got) = (want?, got?);
            if filter.is_some_and(|f| !id.contains(f)) {
                continue;
            }
            tally.count(id, compare(&want, &got, &ctx), known, filter.is_some());
        }
    }
    Ok(tally)
}
