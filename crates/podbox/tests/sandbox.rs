//! Pods as processes: namespaces, the filesystem view, isolation, and clean-up.

use podbox::{ContainerSpec, Mount, Sandbox, SandboxSpec};
use std::process::{Command, Output, Stdio};

fn sandbox(name: &str) -> Sandbox {
    Sandbox::create(&SandboxSpec {
        hostname: name.into(),
        ..Default::default()
    })
    .expect("sandbox starts")
}

fn spec(script: &str) -> ContainerSpec {
    ContainerSpec {
        argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: vec![("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into())],
        cwd: "/".into(),
        mounts: Vec::new(),
        tty: false,
        image: None,
        join: None,
        user: None,
    }
}

fn run(sb: &Sandbox, spec: &ContainerSpec) -> Output {
    sb.command(spec)
        .unwrap()
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn sh(sb: &Sandbox, script: &str) -> (i32, String, String) {
    let out = run(sb, &spec(script));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn pod_namespaces() {
    let sb = sandbox("curl-pod");
    let (code, out, err) = sh(
        &sb,
        "cat /proc/sys/kernel/hostname; echo $$; id -u; cat /proc/net/dev | tail -n +3 | cut -d: -f1",
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines[0], "curl-pod");
    assert!(
        lines[1].parse::<u32>().unwrap() > 1,
        "the container is not PID 1: the pod's reaper is"
    );
    assert_eq!(lines[2], "0", "root inside the pod");
    assert_eq!(&lines[3..], ["lo"], "only loopback");
    // Two containers of one pod share its namespaces.
    let (_, a, _) = sh(
        &sb,
        "readlink /proc/self/ns/net /proc/self/ns/uts /proc/self/ns/pid",
    );
    let (_, b, _) = sh(
        &sb,
        "readlink /proc/self/ns/net /proc/self/ns/uts /proc/self/ns/pid",
    );
    assert_eq!(a, b);
    // Exit codes come through.
    assert_eq!(sh(&sb, "exit 3").0, 3);
}

#[test]
fn filesystem_is_read_only_but_tmp_and_volumes() {
    let sb = sandbox("fs");
    let (code, _, err) = sh(&sb, "touch /etc/podbox-test");
    assert_ne!(code, 0);
    assert!(err.contains("Read-only file system"), "{err}");
    assert_ne!(sh(&sb, "echo x > /podbox-test").0, 0);
    assert_eq!(sh(&sb, "echo x > /tmp/ok && cat /tmp/ok").1, "x\n");
    // /tmp is the pod's own, not the host's.
    assert_eq!(sh(&sb, "ls -A /tmp | wc -l").1.trim(), "0");

    let dir = std::env::temp_dir().join(format!("podbox-vol-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("token"), "secret").unwrap();
    let mut s = spec(
        "cat /var/run/secrets/kubernetes.io/serviceaccount/token; touch /var/run/secrets/kubernetes.io/serviceaccount/x",
    );
    s.mounts.push(Mount {
        source: dir.display().to_string(),
        target: "/var/run/secrets/kubernetes.io/serviceaccount".into(),
        read_only: true,
    });
    let out = run(&sb, &s);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "secret");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Read-only file system"));
    assert!(!dir.join("x").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_route_out_of_the_pod() {
    let Some(curl) =
        testkit::host_tool("curl", testkit::install::CURL).map(|p| p.display().to_string())
    else {
        return;
    };
    // A server on the host's loopback is not the pod's loopback.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sb = sandbox("net");
    let (code, _, err) = sh(
        &sb,
        &format!("{curl} -sS --max-time 3 http://127.0.0.1:{port}/"),
    );
    assert_eq!(code, 7, "{err}");
    let (code, _, err) = sh(&sb, &format!("{curl} -sS --max-time 3 http://10.0.2.2:80/"));
    assert_eq!(code, 7, "{err}");
    assert!(
        err.contains("Network is unreachable") || err.contains("Couldn't connect"),
        "{err}"
    );
    let (_, routes, _) = sh(&sb, "tail -n +2 /proc/net/route | wc -l");
    assert_eq!(routes.trim(), "0", "no routes at all");
}

fn processes_with(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline"))
            && String::from_utf8_lossy(&cmd).contains(marker)
        {
            found.push(pid);
        }
    }
    found
}

fn wait_gone(marker: &str) -> bool {
    for _ in 0..1000 {
        if processes_with(marker).is_empty() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

#[test]
fn dropping_the_sandbox_kills_its_processes() {
    let sb = sandbox("doomed");
    let mut child = sb
        .command(&spec("exec sleep 4242.25"))
        .unwrap()
        .spawn()
        .unwrap();
    for _ in 0..1000 {
        if !processes_with("4242.25").is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        !processes_with("4242.25").is_empty(),
        "the container started"
    );
    drop(sb);
    assert!(wait_gone("4242.25"), "container process survived its pod");
    let status = child.wait().unwrap();
    assert!(!status.success());
}

/// Not a test of its own: the host process that `sigkill_of_the_host_kills_its_pods` kills.
#[test]
#[ignore = "run by sigkill_of_the_host_kills_its_pods as the process it kills"]
fn host_for_sigkill() {
    let sb = sandbox("orphan");
    let mut child = sb
        .command(&spec("exec sleep 4242.5"))
        .unwrap()
        .spawn()
        .unwrap();
    println!("started");
    // The parent test kills this process long before the sleep ends.
    std::thread::sleep(std::time::Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn sigkill_of_the_host_kills_its_pods() {
    use std::io::{BufRead, BufReader};
    let mut host = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "host_for_sigkill", "--ignored", "--nocapture"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(host.stdout.take().unwrap());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 && !line.contains("started") {
        line.clear();
    }
    for _ in 0..1000 {
        if !processes_with("4242.5").is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        !processes_with("4242.5").is_empty(),
        "the pod's process started"
    );
    host.kill().unwrap();
    host.wait().unwrap();
    assert!(
        wait_gone("4242.5"),
        "a pod process outlived the SIGKILLed host"
    );
}

#[test]
fn missing_program_is_a_clear_error() {
    let sb = sandbox("bad");
    let mut s = spec("");
    s.argv = vec!["no-such-program".into()];
    let out = run(&sb, &s);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(r#"exec: "no-such-program": executable file not found in $PATH"#)
    );
}

/// The API server is reachable in the pod at 10.43.0.1:443 and by its cluster DNS names,
/// TLS end to end; nothing else is.
#[test]
fn api_server_through_the_bridge() {
    let Some(curl) =
        testkit::host_tool("curl", testkit::install::CURL).map(|p| p.display().to_string())
    else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("podbox-api-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sa")).unwrap();
    let sock = dir.join("apiserver.sock");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cluster = rt
        .block_on(apiserver::Cluster::start(apiserver::Config {
            socket: Some(sock.clone()),
            ..Default::default()
        }))
        .unwrap();
    std::fs::write(dir.join("sa/ca.crt"), &cluster.pki().server_ca.cert_pem).unwrap();
    let records = dir.join("dns");
    std::fs::write(&records, "kubernetes.default.svc.cluster.local 10.43.0.1\n").unwrap();
    let resolv = dir.join("resolv.conf");
    std::fs::write(&resolv, "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n").unwrap();
    let sb = Sandbox::create(&SandboxSpec {
        hostname: "curl".into(),
        addresses: vec!["10.42.0.9".parse().unwrap()],
        api: Some(podbox::ApiBridge {
            service_ip: "10.43.0.1".parse().unwrap(),
            socket: sock.display().to_string(),
        }),
        dns: Some(podbox::ClusterDns {
            service_ip: "10.43.0.10".parse().unwrap(),
            records: records.display().to_string(),
        }),
    })
    .unwrap();
    let mut s = spec("");
    s.mounts.push(Mount {
        source: dir.join("sa").display().to_string(),
        target: "/var/run/secrets/kubernetes.io/serviceaccount".into(),
        read_only: true,
    });
    s.mounts.push(Mount {
        source: resolv.display().to_string(),
        target: "/etc/resolv.conf".into(),
        read_only: true,
    });
    let run_sh = |script: &str| {
        let mut s = s.clone();
        s.argv = vec!["/bin/sh".into(), "-c".into(), script.into()];
        let out = run(&sb, &s);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, err) = run_sh(&format!("{curl} -sS https://kubernetes"));
    assert_eq!(code, 60, "{err}");
    assert!(
        err.starts_with(
            "curl: (60) SSL certificate problem: self-signed certificate in certificate chain"
        ),
        "{err}"
    );
    let (code, out, err) = run_sh(&format!(
        "{curl} -s --cacert /var/run/secrets/kubernetes.io/serviceaccount/ca.crt https://kubernetes"
    ));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\"reason\": \"Unauthorized\"") && out.ends_with('}'),
        "{out}"
    );
    let (code, out, _) = run_sh(&format!(
        "{curl} -s --cacert /var/run/secrets/kubernetes.io/serviceaccount/ca.crt https://10.43.0.1/version"
    ));
    assert_eq!(code, 0);
    assert!(out.contains("Unauthorized"));
    // A name the cluster does not know does not resolve.
    let (code, _, _) = run_sh(&format!(
        "{curl} -sS https://nope.default.svc.cluster.local"
    ));
    assert_eq!(code, 6);
    drop(sb);
    rt.block_on(cluster.shutdown());
    let _ = std::fs::remove_dir_all(&dir);
}
