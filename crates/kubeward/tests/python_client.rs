//! The official Python `kubernetes` client against a real server (tests/python/): the core
//! smoke test and every built-in API group (kinds.py).
//! Needs `python3 -c 'import kubernetes'` to work (scripts/test installs the client); fails
//! otherwise, unless `KUBEWARD_ALLOW_SKIP` allows the skip.

mod support;

use std::process::Command;
use support::Server;

fn python_client_available() -> bool {
    let mut cmd = Command::new("python3");
    cmd.args(["-c", "import kubernetes"]);
    support::have_program("python3") && support::run(cmd, support::COMMAND_TIMEOUT).ok()
}

#[test]
fn python_client_lists_creates_reads() {
    if !python_client_available() {
        support::missing("python kubernetes client");
        return;
    }
    let server = Server::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client_smoke.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).arg(&server.kubeconfig).arg("from-python");
    let out = support::run(cmd, support::COMMAND_TIMEOUT);
    out.assert_ok();
    out.assert_stdout_contains("kubernetes service: 10.96.0.1:443")
        .assert_stdout_contains("configmap: hello from python")
        .assert_stdout_contains("watch: ADDED from-python")
        .assert_stdout_contains("deleted: 404");
    let namespaces = out.stdout.lines().find_map(|l| l.strip_prefix("namespaces: ")).unwrap_or_default();
    assert!(namespaces.split(',').any(|n| n == "kube-system"), "{out}");
}

/// tests/python/kinds.py: every API group beyond the core ones, through the Python client.
#[test]
fn python_client_serves_the_builtin_kinds() {
    if !python_client_available() {
        support::missing("python kubernetes client");
        return;
    }
    let server = Server::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/kinds.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).arg(&server.kubeconfig).arg("kinds");
    let out = support::run(cmd, support::COMMAND_TIMEOUT);
    out.assert_ok();
    out.assert_stdout_contains("apps: daemonset statefulset replicaset controllerrevision")
        .assert_stdout_contains(
            r#"cronjob 422: CronJob.batch "bad" is invalid: spec.schedule: Invalid value: "every day": expected exactly 5 fields, found 2: [every day]"#,
        )
        .assert_stdout_contains(
            r#"job 422: Job.batch "badjob" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never""#,
        )
        .assert_stdout_contains("batch: job cronjob")
        .assert_stdout_contains("core: replicationcontroller persistentvolume persistentvolumeclaim podtemplate componentstatus service-status")
        .assert_stdout_contains("events: events.k8s.io and core v1 share storage")
        .assert_stdout_contains("groups: policy networking storage scheduling node discovery apiregistration")
        .assert_stdout_contains(r#"catch-all 422: PriorityLevelConfiguration.flowcontrol.apiserver.k8s.io "catch-all" is invalid"#)
        .assert_stdout_contains("flowcontrol: flowschema prioritylevelconfiguration");
}
