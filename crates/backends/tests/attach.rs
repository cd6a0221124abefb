//! A container's own standard streams, on the embedded cluster and on the control-plane
//! backend alike: `kubectl run -i` and `kubectl run -it` attach to the pod they create,
//! `kubectl attach` joins a running container's input and output, and a `stdinOnce`
//! container reads the end of its input when the first attach's input ends.

mod common;

use common::{in_terminal, kubectl, kubectl_status};

async fn attach_works_on(backend: &str) {
    let cluster = backends::by_name(backend)
        .unwrap()
        .start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let kc = cluster.info().kubeconfig.clone();
    let checks = tokio::task::spawn_blocking(move || {
        let image = "--image=debian:trixie-slim";
        // `kubectl run -i`: standard input through the attach, output back, the pod's exit
        // code as kubectl's, and the pod deleted.
        let (out, err, code) = kubectl_status(
            &kc,
            &[
                "run",
                "-i",
                "--rm",
                "--restart=Never",
                image,
                "once",
                "--",
                "sh",
                "-c",
                "read line; echo \"got $line\"; echo oops >&2; exit 3",
            ],
            "hello\n",
        );
        assert_eq!(code, 3, "{out}{err}");
        assert!(out.starts_with("got hello\n"), "{out}");
        assert!(out.contains("pod \"once\" deleted"), "{out}");
        assert!(err.contains("oops"), "{err}");

        // `kubectl run -it`: a terminal for the container, typed into through kubectl's.
        let (shown, code) = in_terminal(
            &format!(
                "kubectl --kubeconfig {} run -it --rm --restart=Never {image} term -- sh",
                kc.display()
            ),
            "test -t 0 && echo $((6 * 7)); tty; exit 5\n",
        );
        // The shell's answer on a line of its own, after its prompt if it had printed
        // it by then.
        assert!(
            shown
                .split("\r\n")
                .any(|l| l.trim_start_matches("# ") == "42"),
            "{shown}"
        );
        // The container's own terminal, in its own devpts.
        assert!(shown.contains("\r\n/dev/pts/0\r\n"), "{shown}");
        assert_eq!(code, Some(5), "{shown}");

        // `kubectl attach -i` to a running `stdinOnce` container: what it is sent reaches
        // its standard input, whose end it then reads; the attach lasts until its output
        // ends.
        let manifest = reader_manifest();
        let (_, err, code) = kubectl_status(&kc, &["apply", "-f", "-"], &manifest);
        assert_eq!(code, 0, "{err}");
        kubectl(
            &kc,
            &[
                "wait",
                "--for=condition=Ready",
                "pod/reader",
                "--timeout=60s",
            ],
        );
        let (out, err, code) = kubectl_status(&kc, &["attach", "-i", "-q", "reader"], "one\ntwo\n");
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, "line: one\nline: two\ndone\n", "{err}");
        // What it wrote before anyone attached is in its log, not in an attach.
        let log = kubectl(&kc, &["logs", "reader"]);
        assert_eq!(log, "started\nline: one\nline: two\ndone\n");
        kubectl(
            &kc,
            &[
                "wait",
                "--for=jsonpath={.status.phase}=Succeeded",
                "pod/reader",
                "--timeout=60s",
            ],
        );
        // A finished container cannot be attached to.
        let (_, err, code) = kubectl_status(&kc, &["attach", "-i", "reader"], "");
        assert_ne!(code, 0);
        assert!(
            err.contains("cannot attach a container in a completed pod"),
            "{err}"
        );
    })
    .await;
    cluster.stop().await;
    checks.unwrap();
}

fn reader_manifest() -> String {
    r#"apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  restartPolicy: Never
  containers:
  - name: reader
    image: debian:trixie-slim
    stdin: true
    stdinOnce: true
    command: [sh, -c, 'echo started; while read l; do echo "line: $l"; done; echo done']
"#
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn attach_on_the_embedded_cluster() {
    if testkit::host_tool("kubectl", testkit::install::KUBECTL).is_none() {
        return;
    }
    attach_works_on("embedded").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn attach_on_the_control_plane_backend() {
    if !common::ready() {
        return;
    }
    attach_works_on("control-plane").await;
}
