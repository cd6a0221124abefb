//! Making sure a container's image is on the node before it starts, as the kubelet's image
//! manager does (`pkg/kubelet/images/image_manager.go`, `EnsureImageExists`, v1.33): the
//! pull policy, the events it records (`Pulled`, `Pulling`, `Failed`, `BackOff`,
//! `ErrImageNeverPull`) in its words, and the back-off between failed pulls (10 s doubling
//! to 300 s, the kubelet's `imageBackOff`).

use crate::start::StartFailure;
use crate::{Kubelet, PullEvent, events};
use k8s_openapi::api::core::v1::{Container, Pod};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const BACKOFF_START: Duration = Duration::from_secs(10);
const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Failed pulls by pod uid and image: when the next may be tried, the back-off, and the
/// last failure's message.
#[derive(Debug, Default)]
pub(crate) struct PullBackOff(Mutex<HashMap<String, (Instant, Duration, String)>>);

impl PullBackOff {
    /// The failure that holds the next pull of `key` back, if one does now.
    fn holding(&self, key: &str) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(until, _, _)| Instant::now() < *until)
            .map(|(_, _, message)| message.clone())
    }

    /// A failed pull: the back-off doubles, unless the last failure is older than twice the
    /// longest back-off, which starts it again (`client-go/util/flowcontrol/backoff.go`,
    /// `Next` and `hasExpired`); entries that old are dropped (its `GC`), so pods that
    /// have gone leave nothing behind.
    fn failed(&self, key: &str, message: String) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // An entry's last failure was at `until - d`.
        let expired = |(until, d, _): &(Instant, Duration, String)| {
            now.saturating_duration_since(until.checked_sub(*d).unwrap_or(*until)) > 2 * BACKOFF_MAX
        };
        map.retain(|_, e| !expired(e));
        let next = map
            .get(key)
            .map_or(BACKOFF_START, |(_, d, _)| (*d * 2).min(BACKOFF_MAX));
        map.insert(key.to_string(), (now + next, next, message));
    }

    /// How long until the images of the pod `uid` may be pulled again: the shortest of
    /// its back-offs, none when nothing holds them back.
    pub(crate) fn remaining(&self, uid: &str) -> Duration {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.iter()
            .filter(|(k, _)| k.starts_with(&format!("{uid}_")))
            .map(|(_, (until, _, _))| until.saturating_duration_since(now))
            .min()
            .unwrap_or(Duration::ZERO)
    }
}

/// `applyDefaultImageTag`: `:latest` when the name has neither tag nor digest.
fn with_default_tag(requested: &str) -> String {
    let last = requested.rsplit('/').next().unwrap_or(requested);
    if last.contains(':') || last.contains('@') {
        requested.to_string()
    } else {
        format!("{requested}:latest")
    }
}

/// The pull policy the API server defaulted, or its default: `Always` for `:latest`.
fn policy(c: &Container, image: &str) -> String {
    c.image_pull_policy.clone().unwrap_or_else(|| {
        if image.ends_with(":latest") {
            "Always".into()
        } else {
            "IfNotPresent".into()
        }
    })
}

/// Go's `time.Duration.String()` of a duration truncated to milliseconds.
fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (m, rest_ms) = (ms / 60_000, ms % 60_000);
    let secs = format!("{}.{:03}", rest_ms / 1000, rest_ms % 1000);
    let secs = secs.trim_end_matches('0').trim_end_matches('.');
    if m == 0 {
        format!("{secs}s")
    } else {
        format!("{m}m{secs}s")
    }
}

impl Kubelet {
    /// How long until a pod whose pull failed should try again.
    pub(crate) fn pull_retry_in(&self, pod_uid: &str) -> Duration {
        self.pull_backoff.remaining(pod_uid)
    }

    /// The image `c` runs, pulled if the policy asks and it is not here.
    pub(crate) async fn ensure_image(
        &self,
        pod: &Pod,
        c: &Container,
    ) -> Result<images::Image, StartFailure> {
        let requested = c.image.clone().unwrap_or_default();
        let record = |kind: &'static str, reason: &'static str, message: String| {
            self.container_event(pod, &c.name, kind, reason, message)
        };
        let image = with_default_tag(&requested);
        let reference: images::Reference = match image.parse() {
            Ok(r) => r,
            Err(e) => {
                let message = format!(
                    "Failed to apply default image tag {requested:?}: couldn't parse image name {requested:?}: {e}"
                );
                record("Warning", "InspectFailed", message.clone()).await;
                return Err(StartFailure::new("InvalidImageName", message));
            }
        };
        let store = self.image_store()?;
        let present = store
            .image(&reference)
            .map_err(|e| StartFailure::new("ErrImagePull", e))?;
        let policy = policy(c, &image);
        if let Some(found) = present.as_ref().filter(|_| policy != "Always") {
            let message = format!("Container image {requested:?} already present on machine");
            record("Normal", "Pulled", message).await;
            return Ok(found.clone());
        }
        if policy == "Never" {
            let message =
                format!("Container image {requested:?} is not present with pull policy of Never");
            record("Warning", "ErrImageNeverPull", message.clone()).await;
            return Err(StartFailure::new("ErrImageNeverPull", message));
        }
        let key = format!(
            "{}_{image}",
            pod.metadata.uid.as_deref().unwrap_or_default()
        );
        if let Some(previous) = self.pull_backoff.holding(&key) {
            let message = format!("Back-off pulling image {image:?}");
            record("Normal", "BackOff", message.clone()).await;
            return Err(StartFailure::new(
                "ImagePullBackOff",
                format!("{message}: {previous}"),
            ));
        }
        record("Normal", "Pulling", format!("Pulling image {image:?}")).await;
        let started = Instant::now();
        let pulls = self.config.pulls.clone();
        let whole = reference.whole();
        pulls.tell(PullEvent::Started {
            image: whole.clone(),
        });
        let progress = {
            let (pulls, whole) = (pulls.clone(), whole.clone());
            move |p: images::PullProgress| {
                pulls.tell(PullEvent::Progress {
                    image: whole.clone(),
                    done: p.done,
                    total: p.total,
                })
            }
        };
        let result = store.pull(&reference, &progress).await;
        pulls.tell(match &result {
            Ok(pulled) => PullEvent::Pulled {
                image: whole,
                size: pulled.size,
            },
            Err(e) => PullEvent::Failed {
                image: whole,
                error: e.to_string(),
            },
        });
        match result {
            Ok(pulled) => {
                let took = go_duration(started.elapsed());
                let message = format!(
                    "Successfully pulled image {image:?} in {took} ({took} including waiting). Image size: {} bytes.",
                    pulled.size
                );
                record("Normal", "Pulled", message).await;
                Ok(pulled)
            }
            Err(e) => {
                // The runtime's words, as containerd frames a failed pull over CRI
                // (`internal/cri/server/images/image_pull.go`: "failed to pull and unpack
                // image %q: %w", an unclassified error reaching the kubelet as gRPC's
                // `Unknown`); the cause after it is this runtime's own.
                let message = format!(
                    "rpc error: code = Unknown desc = failed to pull and unpack image {:?}: {e}",
                    reference.whole()
                );
                record(
                    "Warning",
                    "Failed",
                    format!("Failed to pull image {image:?}: {message}"),
                )
                .await;
                self.pull_backoff
                    .failed(&key, format!("ErrImagePull: {message}"));
                Err(StartFailure::new("ErrImagePull", message))
            }
        }
    }

    /// Records an event about container `name` of `pod`.
    async fn container_event(
        &self,
        pod: &Pod,
        name: &str,
        kind: &'static str,
        reason: &'static str,
        message: String,
    ) {
        let field = events::container_field(name);
        self.recorder()
            .record(pod, kind, reason, &message, Some(&field))
            .await;
    }

    /// The node's image store, opened when the kubelet started.
    pub(crate) fn image_store(&self) -> Result<images::Store, StartFailure> {
        self.images
            .clone()
            .map_err(|e| StartFailure::new("ErrImagePull", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_without_tag_or_digest_gets_latest() {
        assert_eq!(with_default_tag("busybox"), "busybox:latest");
        assert_eq!(
            with_default_tag("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
        assert_eq!(with_default_tag("debian:trixie-slim"), "debian:trixie-slim");
        assert_eq!(with_default_tag("x@sha256:ab"), "x@sha256:ab");
    }

    #[test]
    fn durations_print_as_go_prints_them() {
        assert_eq!(go_duration(Duration::from_micros(1500)), "1ms");
        assert_eq!(go_duration(Duration::from_millis(532)), "532ms");
        assert_eq!(go_duration(Duration::from_millis(1234)), "1.234s");
        assert_eq!(go_duration(Duration::from_millis(2000)), "2s");
        assert_eq!(go_duration(Duration::from_millis(123_500)), "2m3.5s");
    }

    #[test]
    fn back_off_doubles_to_five_minutes() {
        let b = PullBackOff::default();
        assert!(b.holding("k").is_none());
        b.failed("uid_x:1", "ErrImagePull: x".into());
        assert_eq!(b.holding("uid_x:1").as_deref(), Some("ErrImagePull: x"));
        assert!(b.remaining("uid") > Duration::from_secs(9));
        assert_eq!(b.remaining("other"), Duration::ZERO);
        for _ in 0..10 {
            b.failed("uid_x:1", "again".into());
        }
        assert!(b.remaining("uid") <= BACKOFF_MAX);
        assert!(b.remaining("uid") > Duration::from_secs(290));
    }
}
