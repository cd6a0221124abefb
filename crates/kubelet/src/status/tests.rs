//! Unit tests of the pod status: phases, conditions and container statuses from plain
//! inputs.

use super::*;

const START: &str = "2025-01-01T00:00:00Z";
const NOW: &str = "2025-01-01T00:01:00Z";

fn input<'a>(containers: Containers<'a>) -> PodStatusInput<'a> {
    PodStatusInput {
        containers,
        pod_ip: "10.42.0.2",
        host_ip: "10.42.0.1",
        start_time: START,
        now: NOW,
        restart_policy: "Never",
    }
}

fn terminated(exit_code: i32) -> Terminated {
    Terminated {
        exit_code,
        message: String::new(),
        started_at: START.into(),
        finished_at: NOW.into(),
        container_id: "kubelab://1".into(),
    }
}

fn report(name: &str, state: RunState) -> ContainerReport {
    let running = matches!(state, RunState::Running { .. });
    ContainerReport {
        started: running,
        ready: running,
        name: name.into(),
        image: "docker.io/library/busybox:1.36".into(),
        image_id: "docker.io/library/busybox@sha256:00".into(),
        id: "kubelab://1".into(),
        restarts: 0,
        last: None,
        state,
    }
}

/// Each condition as (type, status, reason, message), `-` where absent.
fn conditions(status: &Value) -> Vec<[String; 4]> {
    let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            [
                text(&c["type"]),
                text(&c["status"]),
                text(&c["reason"]),
                text(&c["message"]),
            ]
        })
        .collect()
}

fn row(kind: &str, status: &str, reason: &str, message: &str) -> [String; 4] {
    [kind, status, reason, message].map(String::from)
}

#[test]
fn a_pod_that_could_not_start_is_pending_with_waiting_containers() {
    let containers: Vec<Container> = serde_json::from_value(json!([
        {"name": "web", "image": "nginx:1.27"},
        {"name": "side", "image": "nginx:1.27"},
    ]))
    .unwrap();
    let status = pod_status(&input(Containers::NotCreated {
        containers: &containers,
        reason: "ErrImagePull",
        message: "no such image",
    }));
    assert_eq!(status["phase"], "Pending");
    let not_ready = "containers with unready status: [web side]";
    assert_eq!(
        conditions(&status),
        [
            row("PodReadyToStartContainers", "True", "-", "-"),
            row("Initialized", "True", "-", "-"),
            row("Ready", "False", "ContainersNotReady", not_ready),
            row("ContainersReady", "False", "ContainersNotReady", not_ready),
            row("PodScheduled", "True", "-", "-"),
        ]
    );
    assert_eq!(status["conditions"][2]["lastTransitionTime"], START);
    let web = &status["containerStatuses"][0];
    assert_eq!(
        web["state"],
        json!({"waiting": {"reason": "ErrImagePull", "message": "no such image"}})
    );
    assert_eq!(web["ready"], false);
    assert_eq!(web["image"], "nginx:1.27");
    assert!(web.get("containerID").is_none());
    assert_eq!(status["podIP"], "10.42.0.2");
    assert_eq!(status["hostIPs"], json!([{"ip": "10.42.0.1"}]));
    assert_eq!(status["startTime"], START);
}

#[test]
fn running_pods_are_ready_until_a_container_exits() {
    let running = RunState::Running {
        started_at: START.into(),
    };
    let both = [report("a", running.clone()), report("b", running.clone())];
    let status = pod_status(&input(Containers::Started(&both)));
    assert_eq!(status["phase"], "Running");
    assert!(conditions(&status).iter().all(|c| c[1] == "True"));
    assert_eq!(status["conditions"][2]["lastTransitionTime"], NOW);
    assert_eq!(
        status["containerStatuses"][0]["state"],
        json!({"running": {"startedAt": START}})
    );

    let mut restarted = report("b", RunState::Terminated(terminated(1)));
    restarted.restarts = 2;
    restarted.last = Some(terminated(1));
    let one_down = [report("a", running), restarted];
    let status = pod_status(&input(Containers::Started(&one_down)));
    assert_eq!(status["phase"], "Running");
    let not_ready = "containers with unready status: [b]";
    assert_eq!(
        conditions(&status)[2],
        row("Ready", "False", "ContainersNotReady", not_ready)
    );
    let b = &status["containerStatuses"][1];
    assert_eq!(b["restartCount"], 2);
    assert_eq!(b["state"]["terminated"]["reason"], "Error");
    assert_eq!(b["lastState"]["terminated"]["exitCode"], 1);
}

#[test]
fn finished_pods_succeed_or_fail_by_exit_codes() {
    let done = [
        report("a", RunState::Terminated(terminated(0))),
        report("b", RunState::Terminated(terminated(0))),
    ];
    let status = pod_status(&input(Containers::Started(&done)));
    assert_eq!(status["phase"], "Succeeded");
    assert_eq!(
        conditions(&status),
        [
            row("PodReadyToStartContainers", "False", "-", "-"),
            row("Initialized", "True", "-", "-"),
            row("Ready", "False", "PodCompleted", "-"),
            row("ContainersReady", "False", "PodCompleted", "-"),
            row("PodScheduled", "True", "-", "-"),
        ]
    );
    assert_eq!(
        status["containerStatuses"][0]["state"]["terminated"]["reason"],
        "Completed"
    );

    let failed = [
        report("a", RunState::Terminated(terminated(0))),
        report("b", RunState::Terminated(terminated(2))),
    ];
    let status = pod_status(&input(Containers::Started(&failed)));
    assert_eq!(status["phase"], "Failed");
}

#[test]
fn containers_to_restart_keep_the_pod_running_as_get_phase_does() {
    let phase = |policy: &str, states: Vec<RunState>| {
        let reports: Vec<ContainerReport> = states
            .into_iter()
            .enumerate()
            .map(|(i, s)| report(&format!("c{i}"), s))
            .collect();
        let mut i = input(Containers::Started(&reports));
        i.restart_policy = policy;
        pod_status(&i)["phase"].as_str().unwrap().to_string()
    };
    let exited = |code| RunState::Terminated(terminated(code));
    let backing_off = || RunState::Waiting {
        reason: "CrashLoopBackOff".into(),
        message: "back-off 10s restarting failed container=c0 pod=p_ns(uid)".into(),
    };
    // Always: every container is in the process of restarting.
    assert_eq!(phase("Always", vec![exited(0), exited(0)]), "Running");
    assert_eq!(phase("Always", vec![backing_off()]), "Running");
    // OnFailure: done when all succeeded, restarting while one failed.
    assert_eq!(phase("OnFailure", vec![exited(0), exited(0)]), "Succeeded");
    assert_eq!(phase("OnFailure", vec![exited(0), exited(1)]), "Running");
    assert_eq!(phase("OnFailure", vec![backing_off()]), "Running");
    // Never: a failure is final.
    assert_eq!(phase("Never", vec![exited(0), exited(1)]), "Failed");
}

#[test]
fn a_container_in_back_off_waits_with_its_last_run_as_last_state() {
    let mut waiting = report(
        "main",
        RunState::Waiting {
            reason: "CrashLoopBackOff".into(),
            message: "back-off 20s restarting failed container=main pod=p_ns(uid)".into(),
        },
    );
    waiting.restarts = 2;
    waiting.last = Some(terminated(1));
    let reports = [waiting];
    let mut i = input(Containers::Started(&reports));
    i.restart_policy = "Always";
    let status = pod_status(&i);
    let c = &status["containerStatuses"][0];
    assert_eq!(
        c["state"],
        json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s restarting failed container=main pod=p_ns(uid)"}})
    );
    assert_eq!(c["lastState"]["terminated"]["exitCode"], 1);
    assert_eq!((&c["ready"], &c["started"]), (&json!(false), &json!(false)));
    assert_eq!(
        conditions(&status)[2],
        row(
            "Ready",
            "False",
            "ContainersNotReady",
            "containers with unready status: [main]"
        )
    );
}
