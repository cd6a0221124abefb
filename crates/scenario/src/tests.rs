use super::*;

const CURL: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: curl\nspec:\n  containers:\n  - name: main\n    image: curlimages/curl:8.8.0\n    command: [sleep, \"9999999\"]\n";

fn parse_str(text: &str) -> Result<Scenario, ScenarioError> {
    parse(
        Path::new("scenarios/03-ca"),
        Path::new("scenarios/03-ca/scenario.yaml"),
        text,
        &|name| match name {
            "curl.yaml" => Some(CURL.to_string()),
            "broken.yaml" => Some("apiVersion: v1\nkind: Pod\nmetadata: {}\n".to_string()),
            _ => None,
        },
    )
}

fn error(text: &str) -> String {
    parse_str(text).unwrap_err().to_string()
}

const GOOD: &str = r#"title: CA verification
summary: Verify the API server with the service-account CA.
goals:
  - Find the three service-account files.
steps:
  - apply: curl.yaml
    narration: Start a pod with curl.
  - wait: {pod: curl}
  - exec: {pod: curl, run: "ls /var/run/secrets/kubernetes.io/serviceaccount"}
  - exec: {pod: curl, run: "curl -sS https://kubernetes", exit: 60}
    name: untrusted
  - proxy: {}
  - http: {path: /apis/batch/v1}
  - can-i: {verb: list, resource: pods, as: "system:serviceaccount:default:default"}
  - logs: {pod: curl, container: main}
  - get: {resource: pod, name: curl, output: "jsonpath={.spec.volumes[*].name}"}
  - delete: curl.yaml
"#;

#[test]
fn a_good_scenario() {
    let s = parse_str(GOOD).unwrap();
    assert_eq!(s.title, "CA verification");
    assert_eq!(s.goals, ["Find the three service-account files."]);
    let names: Vec<&str> = s.steps.iter().map(|st| st.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "01-apply-curl-yaml",
            "02-wait-curl",
            "03-exec-ls-var-run-secrets-kubernetes-io-service",
            "04-untrusted",
            "05-proxy",
            "06-http-apis-batch-v1",
            "07-can-i-list-pods",
            "08-logs-curl-main",
            "09-get-pod-curl",
            "10-delete-curl-yaml",
        ]
    );
    assert_eq!(
        s.steps[7].action,
        Action::Logs {
            pod: "curl".into(),
            container: Some("main".into())
        }
    );
    assert_eq!(
        s.steps[3].action,
        Action::Exec {
            pod: "curl".into(),
            container: None,
            run: "curl -sS https://kubernetes".into(),
            exit: 60
        }
    );
    assert_eq!(
        s.steps[0].narration.as_deref(),
        Some("Start a pod with curl.")
    );
    assert_eq!(
        s.steps[2].pos,
        Pos {
            line: 9,
            column: 11
        }
    );
    assert_eq!(
        s.manifests[0].objects,
        [ObjectRef {
            api_version: "v1".into(),
            kind: "Pod".into(),
            name: "curl".into()
        }]
    );
}

#[test]
fn bad_scenarios_name_file_line_and_column() {
    let cases = [
        (
            "title: t\nsummary: s\nsteps:\n  - aply: curl.yaml\n",
            "scenarios/03-ca/scenario.yaml:4:5: unknown field `aply`, expected one of name, narration, show, apply, delete, wait, exec, proxy, http, get, can-i, logs",
        ),
        (
            "title: t\nsummary: s\nsteps:\n  - apply: nope.yaml\n",
            "scenarios/03-ca/scenario.yaml:4:12: step 1: manifest \"nope.yaml\" not found in scenarios/03-ca",
        ),
        (
            "title: t\nsummary: s\nsteps:\n  - exec: {pod: curl, run: ls}\n",
            "scenarios/03-ca/scenario.yaml:4:11: step 1: no manifest applied before this step creates pod \"curl\"",
        ),
        (
            "title: t\nsummary: s\nsteps:\n  - narration: hello\n",
            "scenarios/03-ca/scenario.yaml:4:5: step 1: no action: a step has exactly one of apply, delete, wait, exec, proxy, http, get, can-i, logs",
        ),
        (
            "title: t\nsummary: s\nsteps:\n  - apply: curl.yaml\n    proxy: {}\n",
            "scenarios/03-ca/scenario.yaml:4:5: step 1: more than one action (apply, proxy): a step has exactly one",
        ),
        (
            "title: t\nsummary: s\nsteps:\n  - http: {path: /api}\n",
            "scenarios/03-ca/scenario.yaml:4:11: step 1: a request through the proxy needs a proxy step before it",
        ),
        (
            "title: t\nsummary: s\nsteps:\n  - proxy: {}\n    show: \"20-3\"\n",
            "scenarios/03-ca/scenario.yaml:5:11: step 1: show: \"20-3\" is not a list of line ranges like \"1-20, 150-\" (lines count from 1)",
        ),
        (
            "title: t\nsummary: s\nsteps:\n  - http: {path: /api, via: direct, as: x}\n",
            "scenarios/03-ca/scenario.yaml:4:5: step 1: http via \"direct\" sends no token, so `as` has no meaning; use via: token",
        ),
        (
            "title: t\nsummary: s\nsteps:\n  - apply: broken.yaml\n",
            "scenarios/03-ca/broken.yaml:1:1: a manifest object needs metadata.name",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(error(text), want, "{text}");
    }
}

#[test]
fn yaml_syntax_and_missing_fields() {
    let e = parse_str("title: t\nsummary: [unclosed\n").unwrap_err();
    assert_eq!(e.file, Path::new("scenarios/03-ca/scenario.yaml"));
    assert!(e.pos.line >= 2, "{e}");
    let e = parse_str("summary: s\nsteps: []\n").unwrap_err();
    assert!(e.message.contains("title"), "{e}");
}

#[test]
fn load_reads_files_from_the_scenario_directory() {
    let dir = std::env::temp_dir().join(format!("scenario-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("curl.yaml"), CURL).unwrap();
    std::fs::write(
        dir.join("scenario.yaml"),
        "title: t\nsummary: s\nsteps:\n  - apply: curl.yaml\n  - wait: {pod: curl}\n",
    )
    .unwrap();
    let s = load(&dir).unwrap();
    assert_eq!(s.steps.len(), 2);
    let missing = load(&dir.join("nope")).unwrap_err();
    assert!(
        missing.message.starts_with("cannot read the scenario"),
        "{missing}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn show_selects_output_lines_and_marks_the_gaps() {
    let s = parse_str(
        "title: t\nsummary: s\nsteps:\n  - proxy: {}\n  - http: {path: /api}\n    show: \"1-2, 5-\"\n",
    )
    .unwrap();
    assert_eq!(s.steps[0].show, None);
    assert_eq!(s.steps[1].show, Some(vec![1..=2, 5..=usize::MAX]));
    let transcript = "$ curl x\na\nb\nc\nd\ne\nf\n";
    assert_eq!(s.steps[1].shown(transcript), "$ curl x\na\nb\n...\ne\nf\n");
    assert_eq!(s.steps[0].shown(transcript), transcript);
    // A here-document belongs to the command, not the output.
    let script = "$ kubectl exec -i p -- sh <<'EOF'\ncd /\nls\nEOF\na\nb\nc\nd\ne\n";
    assert_eq!(
        s.steps[1].shown(script),
        "$ kubectl exec -i p -- sh <<'EOF'\ncd /\nls\nEOF\na\nb\n...\ne\n"
    );
}

#[test]
fn http_via_token_names_a_service_account() {
    let s = parse_str(
        "title: t\nsummary: s\nsteps:\n  - http: {path: /api, via: token}\n  - http: {path: /api, via: token, as: reader}\n",
    )
    .unwrap();
    let via = |i: usize| match &s.steps[i].action {
        Action::Http { via, .. } => via.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        via(0),
        Via::Token {
            service_account: "default".into()
        }
    );
    assert_eq!(
        via(1),
        Via::Token {
            service_account: "reader".into()
        }
    );
}

#[test]
fn a_script_may_not_end_its_own_here_document() {
    let e = error(
        "title: t\nsummary: s\nsteps:\n  - apply: curl.yaml\n  - exec:\n      pod: curl\n      run: |\n        echo a\n        EOF\n        echo b\n",
    );
    assert!(
        e.contains("a line \"EOF\" would end the here-document the script is typed as"),
        "{e}"
    );
}
