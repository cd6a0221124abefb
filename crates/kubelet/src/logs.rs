//! Container logs in the CRI format the kubelet keeps (`pkg/kubelet/kuberuntime/logs`):
//! one line per output line, `<RFC 3339 time> <stdout|stderr> <F|P> <text>`, and reading
//! them back for `pods/log` with `timestamps`, `tailLines`, `limitBytes`, `previous` and
//! `follow`.

use crate::attach::{ContainerIo, Output};
use apiserver::runtime::{LogRequest, LogStream};
use bytes::Bytes;
use futures::StreamExt;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Copies one output stream into the log file, a line at a time, and to whoever is
/// attached to it as it comes.
pub(crate) async fn pump(
    mut from: impl AsyncRead + Unpin,
    (output, attached): (Output, std::sync::Arc<ContainerIo>),
    file: std::sync::Arc<tokio::sync::Mutex<tokio::fs::File>>,
) {
    let stream = match output {
        Output::Stdout => "stdout",
        Output::Stderr => "stderr",
    };
    let mut buf = vec![0u8; 16 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        while let Some(i) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=i).collect();
            write_line(&file, stream, "F", &line[..line.len() - 1]).await;
        }
        // The log first: an attach that reads slowly never holds it back.
        attached.publish(output, &buf[..n]).await;
    }
    if !pending.is_empty() {
        write_line(&file, stream, "P", &pending).await;
    }
}

async fn write_line(
    file: &tokio::sync::Mutex<tokio::fs::File>,
    stream: &str,
    tag: &str,
    text: &[u8],
) {
    let mut out = format!("{} {stream} {tag} ", jiff::Timestamp::now()).into_bytes();
    out.extend_from_slice(text);
    out.push(b'\n');
    let mut f = file.lock().await;
    let _ = f.write_all(&out).await;
    let _ = f.flush().await;
}

/// When a CRI log line was written.
fn written(line: &str) -> Option<jiff::Timestamp> {
    line.split(' ').next()?.parse().ok()
}

/// One CRI log line rendered as `kubectl logs` shows it.
fn render(line: &str, timestamps: bool) -> Option<String> {
    let mut parts = line.splitn(4, ' ');
    let (ts, _stream, tag) = (parts.next()?, parts.next()?, parts.next()?);
    let text = parts.next().unwrap_or("");
    let mut out = String::new();
    if timestamps {
        out.push_str(ts);
        out.push(' ');
    }
    out.push_str(text);
    if tag == "F" {
        out.push('\n');
    }
    Some(out)
}

/// The end of a container's log as text, for a termination message taken from the logs
/// (`readLastStringFromContainerLogs`, `pkg/kubelet/kuberuntime/kuberuntime_container.go`):
/// its last `lines` lines, then at most its last `max_bytes` bytes.
pub fn tail_text(path: &Path, lines: usize, max_bytes: usize) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return String::new();
    };
    let all: Vec<&str> = text.lines().collect();
    let rendered: String = all[all.len().saturating_sub(lines)..]
        .iter()
        .filter_map(|l| render(l, false))
        .collect();
    let mut start = rendered.len().saturating_sub(max_bytes);
    while !rendered.is_char_boundary(start) {
        start += 1;
    }
    rendered[start..].to_string()
}

pub fn log_path(dir: &Path, container: &str, previous: bool) -> PathBuf {
    dir.join(format!(
        "{container}.log{}",
        if previous { ".previous" } else { "" }
    ))
}

/// How often a followed log is checked for growth: the kubelet's follower waits on file
/// events (`pkg/kubelet/kuberuntime/logs/logs.go`, fsnotify); a short poll keeps the
/// delay within a few tens of milliseconds.
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// The log as a stream, read as it grows; following, until `alive` turns false and what
/// the run wrote has been read.
pub fn read(
    path: PathBuf,
    req: &LogRequest,
    mut alive: Option<tokio::sync::watch::Receiver<bool>>,
) -> LogStream {
    let timestamps = req.timestamps;
    let follow = req.follow;
    let tail = req.tail_lines;
    let since = req.since;
    let mut budget = req.limit_bytes.unwrap_or(usize::MAX);
    let stream = async_stream(move |tx| async move {
        let Ok(mut file) = tokio::fs::File::open(&path).await else {
            return;
        };
        // Bytes read but not yet a whole line: a line being written waits for its end.
        let mut pending: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let mut first = true;
        loop {
            // Whatever the file holds now.
            loop {
                match file.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => pending.extend_from_slice(&chunk[..n]),
                }
            }
            let complete = pending
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1);
            let whole: Vec<u8> = pending.drain(..complete).collect();
            let text = String::from_utf8_lossy(&whole);
            let mut lines: Vec<&str> = text.lines().collect();
            if first {
                if let Some(n) = tail {
                    lines = lines.split_off(lines.len().saturating_sub(n));
                }
                first = false;
            }
            for l in lines {
                // After the tail is taken, lines older than `since` are skipped
                // (`kuberuntime/logs/logs.go`, `ReadLogs`).
                if since.is_some_and(|since| written(l).is_some_and(|at| at < since)) {
                    continue;
                }
                let Some(mut out) = render(l, timestamps) else {
                    continue;
                };
                if out.len() > budget {
                    out.truncate(budget);
                }
                budget -= out.len();
                if tx.send(Bytes::from(out)).await.is_err() || budget == 0 {
                    return;
                }
            }
            let still_running = alive.as_ref().is_some_and(|a| *a.borrow());
            if !follow || (!still_running && complete == 0) {
                return;
            }
            // Stopped: one more pass reads what it wrote last.
            if still_running
                && let Some(a) = alive.as_mut()
                && let Ok(Err(_)) = tokio::time::timeout(FOLLOW_POLL, a.changed()).await
            {
                // The run is gone (its pod stopped): as good as stopped.
                alive = None;
            }
        }
    });
    stream.boxed()
}

fn async_stream<F, Fut>(producer: F) -> impl futures::Stream<Item = Bytes>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Bytes>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    tokio::spawn(producer(tx));
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn since_skips_older_lines_after_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        std::fs::write(
            &path,
            "2025-01-01T00:00:01Z stdout F one\n2025-01-01T00:00:02Z stdout F two\n2025-01-01T00:00:03Z stdout F three\n",
        )
        .unwrap();
        let read = |req: LogRequest| {
            let stream = super::read(path.clone(), &req, None);
            async move { stream.collect::<Vec<Bytes>>().await.concat() }
        };
        let since = Some("2025-01-01T00:00:02Z".parse().unwrap());
        let all = LogRequest {
            since,
            ..LogRequest::default()
        };
        assert_eq!(read(all).await, b"two\nthree\n");
        let tail = LogRequest {
            since,
            tail_lines: Some(1),
            ..LogRequest::default()
        };
        assert_eq!(read(tail).await, b"three\n");
    }

    #[test]
    fn render_lines() {
        assert_eq!(
            render("2025-01-01T00:00:00.5Z stdout F hello world", false).as_deref(),
            Some("hello world\n")
        );
        assert_eq!(
            render("2025-01-01T00:00:00.5Z stderr P part", true).as_deref(),
            Some("2025-01-01T00:00:00.5Z part")
        );
        assert_eq!(
            render("2025-01-01T00:00:00.5Z stdout F ", false).as_deref(),
            Some("\n")
        );
    }
}
