//! Audit end to end (issue 14): the default policy (Metadata, never a Secret or a token),
//! `--audit-policy-file` levels, rules and omitStages, the event shape kube writes, the
//! legacy format, rotation with gzip and `kubeward audit` with its filters and `--follow`.
//! The webhook backend is in `audit_webhook.rs`.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::more::{b64_encode, Cluster, FlagServer};
use support::{eventually, run, Server, COMMAND_TIMEOUT};

/// The events of an audit log (JSON lines).
fn events(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The log's events once `done` holds for them (the log is written every 50 ms).
#[track_caller]
fn events_when(log: &Path, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    eventually(Duration::from_secs(10), || Some(events(log)).filter(|e| done(e))).unwrap_or_else(|| {
        panic!("the audit log never showed {what}:\n{}", std::fs::read_to_string(log).unwrap_or_default())
    })
}

fn with_id<'a>(evs: &'a [Value], id: &str) -> Vec<&'a Value> {
    evs.iter().filter(|e| e["auditID"] == id).collect()
}

fn stages(evs: &[&Value]) -> Vec<String> {
    evs.iter().map(|e| e["stage"].as_str().unwrap_or_default().to_string()).collect()
}

fn kubeward(args: &[&str]) -> support::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.args(args);
    run(cmd, COMMAND_TIMEOUT)
}

#[test]
fn default_policy_records_metadata_and_never_a_secret_or_token() {
    let server = Server::start();
    let log = server.data_dir().join("audit.log");
    let admin = server.admin();
    admin.ok(&["create", "secret", "generic", "s1", "--from-literal=password=hunter2-plain"]);
    admin.ok(&["get", "secret", "s1", "-o", "yaml"]);
    admin.ok(&["get", "secrets", "-o", "json"]);
    admin.ok(&["create", "serviceaccount", "robot"]);
    let token = admin.ok(&["create", "token", "robot"]).stdout.trim().to_string();
    let review =
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}});
    let r = server.admin_curl(
        "/apis/authentication.k8s.io/v1/tokenreviews",
        &["-X", "POST", "-H", "Content-Type: application/json", "--data", &review.to_string()],
    );
    assert_eq!(r.status, 201, "{r}");
    server.kubectl_token("robot", &token).run(&["get", "pods"]);
    let r = server.curl(
        "/api/v1/pods",
        &["-H", "Authorization: Bearer bogus-token-xyz", "-H", "Audit-ID: failed-authn-1"],
    );
    assert_eq!(r.status, 401, "{r}");
    let r =
        server.admin_curl("/api/v1/namespaces/default/configmaps", &["-i", "-H", "Audit-ID: my-audit-id-1"]);
    assert!(r.body.to_ascii_lowercase().contains("audit-id: my-audit-id-1"), "kube echoes the Audit-ID: {r}");
    server.kubectl_user("jane", &["dev"]).run(&["get", "pods", "-n", "default"]);
    admin.run(&["get", "configmaps", "--watch", "--request-timeout=1s"]);

    let evs = events_when(&log, "the last requests", |e| {
        with_id(e, "my-audit-id-1").len() == 2
            && e.iter().any(|e| {
                e["user"]["username"] == "jane"
                    && e["stage"] == "ResponseComplete"
                    && e["objectRef"]["resource"] == "pods"
            })
            && e.iter().any(|e| e["verb"] == "watch" && e["stage"] == "ResponseComplete")
    });
    let text = std::fs::read_to_string(&log).unwrap();
    for secret in ["hunter2-plain", &b64_encode("hunter2-plain"), &token, "bogus-token-xyz"] {
        assert!(!text.contains(secret), "the audit log holds a secret: {secret}");
    }
    for e in &evs {
        assert_eq!(e["level"], "Metadata", "{e}");
        assert_eq!((e["kind"].as_str(), e["apiVersion"].as_str()), (Some("Event"), Some("audit.k8s.io/v1")));
        assert!(e.get("requestObject").is_none() && e.get("responseObject").is_none(), "{e}");
    }

    let mine = with_id(&evs, "my-audit-id-1");
    assert_eq!(stages(&mine), ["RequestReceived", "ResponseComplete"]);
    assert!(mine[0].get("responseStatus").is_none() && mine[0].get("annotations").is_none(), "{}", mine[0]);
    assert_eq!(mine[0]["stageTimestamp"], mine[0]["requestReceivedTimestamp"]);
    let done = mine[1];
    assert_eq!(done["responseStatus"], json!({"metadata": {}, "code": 200}));
    assert_eq!(done["verb"], "list");
    assert_eq!(
        done["objectRef"],
        json!({"resource": "configmaps", "namespace": "default", "apiVersion": "v1"})
    );
    assert_eq!(done["annotations"]["authorization.k8s.io/decision"], "allow");
    assert_eq!(
        done["annotations"]["authorization.k8s.io/reason"],
        r#"RBAC: allowed by ClusterRoleBinding "kubeward-admin" of ClusterRole "cluster-admin" to User "kubeward-admin""#
    );
    assert_eq!(done["user"]["username"], "kubeward-admin");
    assert_eq!(done["sourceIPs"], json!(["127.0.0.1"]));
    let keys: Vec<&str> = done.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "kind",
            "apiVersion",
            "level",
            "auditID",
            "stage",
            "requestURI",
            "verb",
            "user",
            "sourceIPs",
            "userAgent",
            "objectRef",
            "responseStatus",
            "requestReceivedTimestamp",
            "stageTimestamp",
            "annotations"
        ],
        "kube's field order"
    );

    let failed = with_id(&evs, "failed-authn-1");
    assert_eq!(stages(&failed), ["ResponseStarted"], "a failed authentication has one event");
    assert_eq!(failed[0]["user"], json!({}));
    assert_eq!(
        failed[0]["responseStatus"],
        json!({"metadata": {}, "message": "Authentication failed, attempted: bearer", "code": 401})
    );

    let created = evs
        .iter()
        .find(|e| {
            e["verb"] == "create"
                && e["objectRef"]["resource"] == "secrets"
                && e["stage"] == "ResponseComplete"
        })
        .unwrap();
    assert_eq!(created["objectRef"]["name"], "s1", "the name comes from the request object at Metadata");
    let jane = evs
        .iter()
        .find(|e| {
            e["user"]["username"] == "jane"
                && e["stage"] == "ResponseComplete"
                && e["objectRef"]["resource"] == "pods"
        })
        .unwrap();
    assert_eq!(jane["annotations"]["authorization.k8s.io/decision"], "forbid");
    assert_eq!(jane["responseStatus"]["reason"], "Forbidden");
    assert_eq!(jane["responseStatus"]["code"], 403);
    let watch: Vec<&Value> = evs.iter().filter(|e| e["verb"] == "watch").collect();
    let watch_id = watch[0]["auditID"].as_str().unwrap();
    assert_eq!(stages(&with_id(&evs, watch_id)), ["RequestReceived", "ResponseStarted", "ResponseComplete"]);
}

const POLICY: &str = r#"apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  nonResourceURLs: [/healthz*, /version]
- level: None
  users: [nobody-special]
- level: Metadata
  verbs: [watch]
  omitStages: [ResponseComplete]
- level: RequestResponse
  resources:
  - group: ""
    resources: [configmaps]
    resourceNames: [full]
- level: RequestResponse
  omitManagedFields: true
  resources:
  - group: ""
    resources: [configmaps]
    resourceNames: [trimmed]
- level: Request
  verbs: [create]
  resources:
  - group: ""
    resources: [configmaps]
- level: Request
  namespaces: [vault]
  resources:
  - group: ""
    resources: [secrets]
- level: Metadata
  userGroups: [dev]
- level: RequestResponse
"#;

fn policy_server(policy: &str, extra: &[&str]) -> FlagServer {
    let policy = policy.to_string();
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    FlagServer::start(move |dir| {
        let p = dir.join("policy.yaml");
        std::fs::write(&p, policy).expect("write policy");
        let mut flags = vec!["--audit-policy-file".to_string(), p.display().to_string()];
        flags.extend(extra);
        flags
    })
}

#[test]
fn policy_levels_rules_and_omitted_stages() {
    let server = policy_server(POLICY, &[]);
    let log = server.data_path().join("audit.log");
    let admin = server.admin();
    server.curl("/healthz", &[]);
    server.curl("/version", &[]);
    admin.ok(&["create", "configmap", "full", "--from-literal=a=1"]);
    admin.ok(&["get", "configmap", "full", "-o", "json"]);
    let trimmed = server.file(
        "trimmed.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: trimmed\ndata:\n  b: \"2\"\n",
    );
    admin.ok(&["apply", "--server-side", "-f", trimmed.to_str().unwrap()]);
    admin.ok(&["get", "configmap", "trimmed", "-o", "json"]);
    admin.ok(&["create", "namespace", "vault"]);
    admin.ok(&["create", "secret", "generic", "kept", "-n", "vault", "--from-literal=k=explicitly-asked"]);
    admin.ok(&["create", "secret", "generic", "hidden", "--from-literal=k=never-written"]);
    admin.ok(&["create", "serviceaccount", "robot"]);
    let token = admin.ok(&["create", "token", "robot"]).stdout.trim().to_string();
    server.kubectl_user("jane", &["dev"]).run(&["get", "pods"]);
    admin.run(&["get", "configmaps", "--watch", "--request-timeout=1s"]);

    let evs = events_when(&log, "the watch and jane's request", |e| {
        e.iter().any(|e| e["verb"] == "watch") && e.iter().any(|e| e["user"]["username"] == "jane")
    });
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("never-written") && !text.contains(&b64_encode("never-written")), "secret body");
    assert!(!text.contains(&token), "a bearer token in the audit log");
    assert!(evs.iter().all(|e| e["stage"] != "RequestReceived"), "the policy omits RequestReceived");
    assert!(evs.iter().all(|e| !e["requestURI"].as_str().unwrap().starts_with("/healthz")));
    assert!(evs.iter().all(|e| e["requestURI"] != "/version"));

    let find = |verb: &str, resource: &str, name: &str| -> &Value {
        evs.iter()
            .find(|e| {
                e["verb"] == verb && e["objectRef"]["resource"] == resource && e["objectRef"]["name"] == name
            })
            .unwrap_or_else(|| panic!("no {verb} {resource}/{name} in {evs:#?}"))
    };
    let create = find("create", "configmaps", "full");
    assert_eq!(create["level"], "Request", "resourceNames do not match a create (no name in the URL)");
    assert_eq!(create["requestObject"]["data"], json!({"a": "1"}));
    assert!(create.get("responseObject").is_none());
    let get_full = find("get", "configmaps", "full");
    assert_eq!(get_full["level"], "RequestResponse");
    assert_eq!(get_full["responseObject"]["data"], json!({"a": "1"}));
    assert!(get_full["responseObject"]["metadata"]["managedFields"].is_array(), "{get_full}");
    assert!(get_full.get("requestObject").is_none());
    let get_trimmed = find("get", "configmaps", "trimmed");
    assert_eq!(get_trimmed["responseObject"]["data"], json!({"b": "2"}));
    assert!(get_trimmed["responseObject"]["metadata"].get("managedFields").is_none(), "omitManagedFields");
    let apply = find("patch", "configmaps", "trimmed");
    assert_eq!(apply["requestObject"]["data"], json!({"b": "2"}), "the apply patch as sent");
    assert!(apply["responseObject"]["metadata"].get("managedFields").is_none());

    let kept = find("create", "secrets", "kept");
    assert_eq!(kept["level"], "Request");
    assert_eq!(kept["requestObject"]["data"]["k"], b64_encode("explicitly-asked"), "a rule naming secrets");
    let hidden = find("create", "secrets", "hidden");
    assert_eq!(hidden["level"], "RequestResponse");
    assert!(hidden.get("requestObject").is_none() && hidden.get("responseObject").is_none(), "{hidden}");
    let tr = evs.iter().find(|e| e["objectRef"]["subresource"] == "token").unwrap();
    assert_eq!(tr["requestObject"]["kind"], "TokenRequest");
    assert_eq!(tr["responseObject"]["kind"], "TokenRequest");
    assert!(tr["responseObject"]["status"].get("token").is_none(), "{tr}");
    assert!(tr["responseObject"]["status"]["expirationTimestamp"].is_string());

    let jane = evs.iter().find(|e| e["user"]["username"] == "jane").unwrap();
    assert_eq!(jane["level"], "Metadata", "userGroups");
    let watch: Vec<&Value> = evs.iter().filter(|e| e["verb"] == "watch").collect();
    assert_eq!(stages(&watch), ["ResponseStarted"], "the rule omits ResponseComplete");
}

#[test]
fn a_garbled_policy_refuses_to_start_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Everything\n- level: None\n  omitStages: [Done]\n").unwrap();
    let data = dir.path().join("data");
    let out = kubeward(&[
        "up",
        "--data-dir",
        data.to_str().unwrap(),
        "--secure-port",
        "0",
        "--audit-policy-file",
        policy.to_str().unwrap(),
    ]);
    assert!(!out.ok() && !out.timed_out, "{out}");
    out.assert_stderr_contains(&format!("invalid audit policy {}:", policy.display()));
    out.assert_stderr_contains(r#"line 4: rules[0].level: Unsupported value: "Everything": supported values: "None", "Metadata", "Request", "RequestResponse""#);
    out.assert_stderr_contains(
        r#"line 6: rules[1].omitStages[0]: Invalid value: "Done": allowed stages are"#,
    );
    std::fs::write(
        &policy,
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n  verbs: [get\n",
    )
    .unwrap();
    let out = kubeward(&[
        "up",
        "--data-dir",
        data.to_str().unwrap(),
        "--secure-port",
        "0",
        "--audit-policy-file",
        policy.to_str().unwrap(),
    ]);
    assert!(!out.ok() && !out.timed_out, "{out}");
    out.assert_stderr_contains("line ");
}

#[test]
fn legacy_format_is_kubes_text_line() {
    let server = FlagServer::start(|_| vec!["--audit-log-format".into(), "legacy".into()]);
    let log = server.data_path().join("audit.log");
    server.admin_curl("/api/v1/namespaces", &["-H", "Audit-ID: legacy-1", "-A", "curl-test"]);
    let line = eventually(Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines().find(|l| l.contains(r#"id="legacy-1" stage="ResponseComplete""#)).map(str::to_string)
    })
    .expect("the legacy line");
    let (time, rest) = line.split_once(" AUDIT: ").unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
    assert_eq!(
        rest,
        r#"id="legacy-1" stage="ResponseComplete" ip="127.0.0.1" method="list" user="kubeward-admin" groups="\"kubeward:admins\",\"system:authenticated\"" as="<self>" asgroups="<lookup>" user-agent="curl-test" namespace="<none>" uri="/api/v1/namespaces" response="200""#
    );
    let out = kubeward(&["audit", "--log", log.to_str().unwrap()]);
    out.assert_ok().assert_stderr_contains("holds no JSON events");
}

#[test]
fn rotation_keeps_max_backups_gzipped_and_audit_reads_them_in_order() {
    let policy = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n  resources:\n  - group: \"\"\n    resources: [configmaps]\n    resourceNames: [big]\n- level: None\n";
    let server = policy_server(
        policy,
        &["--audit-log-maxsize", "1", "--audit-log-maxbackup", "2", "--audit-log-compress"],
    );
    let log = server.data_path().join("audit.log");
    let data = server.file("data.txt", &"x".repeat(300_000));
    server.admin().ok(&["create", "configmap", "big", &format!("--from-file=data={}", data.display())]);
    for i in 0..12 {
        let r = server.admin_curl(
            "/api/v1/namespaces/default/configmaps/big",
            &["-H", &format!("Audit-ID: get-{i:02}"), "-o", "/dev/null"],
        );
        assert_eq!(r.status, 200, "{r}");
    }
    let names = eventually(Duration::from_secs(15), || {
        let names = backup_names(&log);
        (names.len() == 2 && names.iter().all(|n| n.ends_with(".log.gz"))).then_some(names)
    })
    .unwrap_or_else(|| panic!("two gzipped backups: {:?}", backup_names(&log)));
    for n in &names {
        // audit-2026-12-06T18-34-45.123.log.gz
        let ts = n.strip_prefix("audit-").and_then(|r| r.strip_suffix(".log.gz")).unwrap();
        assert!(chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H-%M-%S%.3f").is_ok(), "{n}");
    }
    eventually(Duration::from_secs(10), || with_id(&events(&log), "get-11").first().map(|_| ()))
        .expect("the last GET");
    let out = kubeward(&["audit", "--log", log.to_str().unwrap(), "-o", "json"]);
    out.assert_ok();
    let ids: Vec<String> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["auditID"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.len() >= 6 && ids.len() < 12, "the oldest file was removed: {ids:?}");
    let first: usize = ids[0].trim_start_matches("get-").parse().unwrap();
    let expected: Vec<String> = (first..12).map(|i| format!("get-{i:02}")).collect();
    assert_eq!(ids, expected, "every kept event, in time order");
    for f in std::fs::read_dir(server.data_path()).unwrap().flatten() {
        let name = f.file_name().to_string_lossy().into_owned();
        if name.starts_with("audit") {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(f.metadata().unwrap().permissions().mode() & 0o777, 0o600, "{name}");
        }
    }
}

fn backup_names(log: &Path) -> Vec<String> {
    let dir = log.parent().expect("the log's directory");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the log's directory")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("audit-"))
        .collect();
    names.sort();
    names
}

#[test]
fn kubeward_audit_filters_and_follows() {
    let server = Server::start();
    let dir = server.data_dir().to_path_buf();
    let admin = server.admin();
    admin.ok(&["create", "namespace", "team"]);
    admin.ok(&["create", "configmap", "settings", "-n", "team", "--from-literal=a=1"]);
    let jane = server.kubectl_user("jane", &["dev"]);
    jane.run(&["get", "secrets", "-n", "team"]);
    admin.ok(&["create", "rolebinding", "devs", "-n", "team", "--clusterrole=view", "--group=dev"]);
    jane.ok(&["get", "configmaps", "-n", "team"]);
    let log = dir.join("audit.log");
    events_when(&log, "jane's list", |e| {
        e.iter().any(|e| {
            e["user"]["username"] == "jane"
                && e["verb"] == "list"
                && e["objectRef"]["resource"] == "configmaps"
                && e["stage"] == "ResponseComplete"
        })
    });
    let audit = |args: &[&str]| {
        let mut all = vec!["audit", "--data-dir", dir.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = kubeward(&all);
        out.assert_ok();
        support::words(&out.stdout)
    };
    let rows = audit(&["--user", "jane", "--decision", "deny"]);
    assert_eq!(rows[0], "TIME USER VERB RESOURCE NAMESPACE CODE DECISION WHY");
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows[1].ends_with(r#"jane list secrets team 403 deny User "jane" cannot list resource "secrets" in API group "" in the namespace "team""#), "{}", rows[1]);
    let rows = audit(&["--user", "jane", "--decision", "allow", "--resource", "configmaps"]);
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(
        rows[1].ends_with(
            "jane list configmaps team 200 allow RoleBinding team/devs (ClusterRole view) via Group dev"
        ),
        "{}",
        rows[1]
    );
    let rows = audit(&["--verb", "create", "-n", "team"]);
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert!(rows[1].contains("kubeward-admin create configmaps/settings team 201 allow ClusterRoleBinding kubeward-admin (ClusterRole cluster-admin)"), "{}", rows[1]);
    assert!(
        rows[2].contains("create rolebindings.rbac.authorization.k8s.io/devs team 201 allow"),
        "{}",
        rows[2]
    );
    let rows = audit(&["--resource", "rolebindings.rbac.authorization.k8s.io", "--since", "1h"]);
    assert_eq!(rows.len(), 2, "{rows:#?}");
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(audit(&["--since", "1s"]).len(), 1, "only the header: nothing that recent");
    let out = kubeward(&[
        "audit",
        "--data-dir",
        dir.to_str().unwrap(),
        "--user",
        "jane",
        "-n",
        "team",
        "-o",
        "json",
    ]);
    let lines: Vec<Value> = out.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|e| e["stage"] == "ResponseComplete" && e["user"]["username"] == "jane"));
    let out = kubeward(&["audit", "--data-dir", dir.to_str().unwrap(), "--decision", "maybe"]);
    assert!(!out.ok());

    // --follow prints requests as they are written.
    let mut follow = Command::new(env!("CARGO_BIN_EXE_kubeward"))
        .args([
            "audit",
            "--data-dir",
            dir.to_str().unwrap(),
            "--follow",
            "--user",
            "jane",
            "-n",
            "team",
            "-o",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kubeward audit --follow");
    let stdout = follow.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    for _ in 0..2 {
        rx.recv_timeout(Duration::from_secs(10)).expect("the existing events");
    }
    jane.ok(&["get", "configmap", "settings", "-n", "team"]);
    let line = rx.recv_timeout(Duration::from_secs(10)).expect("the new event, followed");
    let ev: Value = serde_json::from_str(&line).unwrap();
    assert_eq!((ev["verb"].as_str(), ev["objectRef"]["name"].as_str()), (Some("get"), Some("settings")));
    let _ = follow.kill();
    let _ = follow.wait();
}
