//! A pod's status as the kubelet reports it (`kubelet_pods.go`, `generateAPIPodStatus`):
//! phase, conditions, container statuses, addresses and start time, computed from plain
//! inputs so that it can be checked without running anything.

use k8s_openapi::api::core::v1::Container;
use serde_json::{Value, json};

/// Everything a pod's status is computed from.
pub(crate) struct PodStatusInput<'a> {
    pub containers: Containers<'a>,
    pub pod_ip: &'a str,
    pub host_ip: &'a str,
    /// When the pod started on this node: its `startTime`, and the transition time of the
    /// conditions that have held since.
    pub start_time: &'a str,
    /// The time of this report: the readiness conditions' transition time while the
    /// containers run.
    pub now: &'a str,
    /// The pod's `restartPolicy` (`Always` when unset).
    pub restart_policy: &'a str,
}

/// How far the pod's containers got.
pub(crate) enum Containers<'a> {
    /// The pod could not be set up: no container was created, and each waits with this
    /// reason (`ErrImagePull`, `CreateContainerConfigError`, ...) and message.
    NotCreated {
        containers: &'a [Container],
        reason: &'a str,
        message: &'a str,
    },
    /// Every container was started; how each is doing now.
    Started(&'a [ContainerReport]),
}

/// One started container as its status reports it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ContainerReport {
    pub name: String,
    /// The image as the runtime names it (`docker.io/library/debian:trixie-slim`).
    pub image: String,
    /// `<repository>@<digest>`, as containerd reports it.
    pub image_id: String,
    /// The current run's `containerID`.
    pub id: String,
    pub restarts: u32,
    /// How the previous run ended, once the container has restarted (`lastState`).
    pub last: Option<Terminated>,
    pub state: RunState,
    /// Running, and its startup probe (if any) has succeeded.
    pub started: bool,
    /// Started, and its readiness probe (if any) has succeeded.
    pub ready: bool,
}

/// A started container's current state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RunState {
    Running {
        started_at: String,
    },
    Terminated(Terminated),
    /// Ended and to be started again once its back-off is over (`CrashLoopBackOff`); the
    /// run that ended is its `lastState` (`convertToAPIContainerStatuses`,
    /// `pkg/kubelet/kubelet_pods.go`).
    Waiting {
        reason: String,
        message: String,
    },
}

/// A run of a container that has ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Terminated {
    pub exit_code: i32,
    /// The termination message (`message`, left out when empty).
    pub message: String,
    pub started_at: String,
    pub finished_at: String,
    pub container_id: String,
}

impl Terminated {
    /// In `ContainerStateTerminated`'s field order, `message` omitted when empty.
    fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("exitCode".into(), json!(self.exit_code));
        let reason = if self.exit_code == 0 {
            "Completed"
        } else {
            "Error"
        };
        m.insert("reason".into(), json!(reason));
        if !self.message.is_empty() {
            m.insert("message".into(), json!(self.message));
        }
        m.insert("startedAt".into(), json!(self.started_at));
        m.insert("finishedAt".into(), json!(self.finished_at));
        m.insert("containerID".into(), json!(self.container_id));
        Value::Object(m)
    }
}

impl ContainerReport {
    fn running(&self) -> bool {
        matches!(self.state, RunState::Running { .. })
    }

    fn to_json(&self) -> Value {
        let state = match &self.state {
            RunState::Running { started_at } => json!({"running": {"startedAt": started_at}}),
            RunState::Terminated(t) => json!({"terminated": t.to_json()}),
            RunState::Waiting { reason, message } => {
                json!({"waiting": {"reason": reason, "message": message}})
            }
        };
        let last_state = match &self.last {
            Some(t) => json!({"terminated": t.to_json()}),
            None => json!({}),
        };
        json!({
            "containerID": self.id,
            "image": self.image,
            "imageID": self.image_id,
            "lastState": last_state,
            "name": self.name,
            "ready": self.ready,
            "restartCount": self.restarts,
            "started": self.started,
            "state": state,
        })
    }
}

/// Why the `Ready` and `ContainersReady` conditions are false.
enum NotReady<'a> {
    /// Every container has finished (`PodCompleted`).
    Completed,
    /// These containers are not running (`ContainersNotReady`).
    Containers(Vec<&'a str>),
}

/// `Ready` or `ContainersReady`: true unless `not_ready` says why not.
fn readiness(kind: &str, not_ready: Option<&NotReady<'_>>, time: &str) -> Value {
    let status = if not_ready.is_some() { "False" } else { "True" };
    let mut condition =
        json!({"type": kind, "status": status, "lastProbeTime": null, "lastTransitionTime": time});
    match not_ready {
        None => {}
        Some(NotReady::Completed) => condition["reason"] = json!("PodCompleted"),
        Some(NotReady::Containers(names)) => {
            condition["reason"] = json!("ContainersNotReady");
            condition["message"] = json!(format!(
                "containers with unready status: [{}]",
                names.join(" ")
            ));
        }
    }
    condition
}

/// A condition that has held since the pod started.
fn since_start(kind: &str, status: &str, start_time: &str) -> Value {
    json!({"type": kind, "status": status, "lastProbeTime": null, "lastTransitionTime": start_time})
}

/// The pod's status, as the body of a status merge patch.
pub(crate) fn pod_status(input: &PodStatusInput<'_>) -> Value {
    let (phase, not_ready, ready_time, statuses) = match &input.containers {
        Containers::NotCreated {
            containers,
            reason,
            message,
        } => {
            let names = containers.iter().map(|c| c.name.as_str()).collect();
            let statuses: Vec<Value> = containers
                .iter()
                .map(|c| json!({"name": c.name, "state": {"waiting": {"reason": reason, "message": message}}, "lastState": {}, "ready": false, "restartCount": 0, "image": c.image, "imageID": "", "started": false}))
                .collect();
            // The containers were never ready, so the readiness conditions have held
            // since the start.
            let not_ready = Some(NotReady::Containers(names));
            ("Pending", not_ready, input.start_time, statuses)
        }
        Containers::Started(containers) => {
            let statuses = containers.iter().map(ContainerReport::to_json).collect();
            let (phase, not_ready) = started_phase(containers, input.restart_policy);
            (phase, not_ready, input.now, statuses)
        }
    };
    let start_time = input.start_time;
    let ready_to_start = if phase == "Succeeded" || phase == "Failed" {
        "False"
    } else {
        "True"
    };
    json!({
        "phase": phase,
        "conditions": [
            since_start("PodReadyToStartContainers", ready_to_start, start_time),
            since_start("Initialized", "True", start_time),
            readiness("Ready", not_ready.as_ref(), ready_time),
            readiness("ContainersReady", not_ready.as_ref(), ready_time),
            since_start("PodScheduled", "True", start_time),
        ],
        "hostIP": input.host_ip, "hostIPs": [{"ip": input.host_ip}],
        "podIP": input.pod_ip, "podIPs": [{"ip": input.pod_ip}],
        "startTime": start_time,
        "containerStatuses": statuses,
    })
}

/// The phase of a pod whose containers were started, as `getPhase` computes it
/// (`pkg/kubelet/kubelet_pods.go`) for a pod that is not being stopped: `Running` while one
/// runs; once none does, `Running` still if they are to restart (`Always`, or `OnFailure`
/// with one failed), else `Succeeded` if all exited 0 and `Failed` otherwise. And why it
/// is not ready if it is not.
fn started_phase<'a>(
    containers: &'a [ContainerReport],
    restart_policy: &str,
) -> (&'static str, Option<NotReady<'a>>) {
    let running = containers.iter().filter(|c| c.running()).count();
    // A container waiting to restart counts as stopped; it exited before.
    let stopped = containers.len() - running;
    let succeeded = containers
        .iter()
        .filter(|c| matches!(&c.state, RunState::Terminated(t) if t.exit_code == 0))
        .count();
    // Restarting, under `Always`, is running.
    let phase = if running > 0 || restart_policy == "Always" {
        "Running"
    } else if stopped == succeeded {
        "Succeeded"
    } else if restart_policy == "Never" {
        "Failed"
    } else {
        "Running"
    };
    let not_ready = if containers.iter().all(|c| c.ready) {
        None
    } else if phase == "Succeeded" || phase == "Failed" {
        Some(NotReady::Completed)
    } else {
        Some(NotReady::Containers(
            containers
                .iter()
                .filter(|c| !c.ready)
                .map(|c| c.name.as_str())
                .collect(),
        ))
    };
    (phase, not_ready)
}

#[cfg(test)]
mod tests;
