//! A ValidatingAdmissionPolicy's variables are evaluated lazily and once (issue 18), as
//! kube composes them, through kubectl 1.33: a variable that fails but is not read fails
//! nothing (and where it is read, fails with kube's text); forty costly variables not
//! read cost nothing, while reading them all runs out of kube's runtime budget; one
//! costly variable read by forty validations is evaluated once. kube-apiserver 1.34
//! gives the same answers to the same requests.

mod support;

use std::time::Duration;
use support::more::{retry, Cluster};
use support::{kubectl_or_missing, Kubectl, Server};

/// A variable costing 320 000 units in a moment: eight comparisons of two 400 kB strings,
/// which kube's cost model and kubeward's both price at a tenth of a unit per byte.
fn costly() -> String {
    ["object.data.a == object.data.b"; 8].join(" || ")
}

/// A policy over ConfigMap creates, bound for the ConfigMaps labelled `policy: <name>`.
fn policy(name: &str, variables: &[(String, String)], validations: &[String]) -> String {
    let mut out = format!(
        r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: {name}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["configmaps"]
  variables:
"#
    );
    for (n, e) in variables {
        out.push_str(&format!("  - name: {n}\n    expression: {e:?}\n"));
    }
    out.push_str("  validations:\n");
    for v in validations {
        out.push_str(&format!("  - expression: {v:?}\n"));
    }
    out.push_str(&format!(
        r#"---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: {name}
spec:
  policyName: {name}
  validationActions: [Deny]
  matchResources:
    objectSelector:
      matchLabels: {{policy: {name}}}
"#
    ));
    out
}

/// A ConfigMap labelled for `policy` with the data key `key` and two strings of 400 kB
/// that differ in their last byte.
fn configmap_yaml(name: &str, policy: &str, key: &str) -> String {
    let big = "x".repeat(400_000);
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: apps\n  labels: {{policy: {policy}}}\ndata:\n  {key}: b\n  a: {big}\n  b: {}y\n",
        &big[1..]
    )
}

/// Creates the ConfigMap; whether it was, and kubectl's stderr.
fn configmap(server: &Server, k: &Kubectl, name: &str, policy: &str, key: &str) -> (bool, String) {
    let f = server.file(&format!("{name}.yaml"), &configmap_yaml(name, policy, key));
    let out = k.run(&["create", "-f", f.to_str().expect("utf-8")]);
    (out.ok(), out.stderr.trim().to_string())
}

/// Waits until `policy` refuses a probe ConfigMap with `message` (the policy applies once
/// the server's informer has it); the probe is a dry run.
fn until_refused(server: &Server, k: &Kubectl, policy: &str, key: &str, message: &str) {
    let f = server.file("probe.yaml", &configmap_yaml("probe", policy, key));
    let want = format!("The configmaps \"probe\" is invalid: : ValidatingAdmissionPolicy '{policy}' with binding '{policy}' denied request: {message}");
    let (ok, last) = retry(Duration::from_secs(10), || {
        let out = k.run(&["create", "-f", f.to_str().expect("utf-8"), "--dry-run=server"]);
        (out.stderr.trim() == want, out.to_string())
    });
    assert!(ok, "{policy} did not refuse with {want:?}: {last}");
}

#[test]
fn variables_are_evaluated_when_read_and_once() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    k.ok(&["create", "namespace", "apps"]);
    let many: Vec<(String, String)> = (0..40).map(|i| (format!("v{i}"), costly())).collect();
    let mut unused = many.clone();
    unused.push(("bad".into(), "object.data.missing".into()));
    let yaml = [
        policy("unused", &unused, &["!('check' in object.data) || variables.bad == 'x'".into()]),
        policy("memo", &[("v".into(), costly())], &vec!["!variables.v".to_string(); 40]),
        policy(
            "control",
            &many,
            &[(0..40).map(|i| format!("!variables.v{i}")).collect::<Vec<_>>().join(" && ")],
        ),
    ]
    .join("---\n");
    let f = server.file("policies.yaml", &yaml);
    k.ok(&["create", "-f", f.to_str().expect("utf-8")]);

    // Reading all forty runs out of the budget: each costs enough that forty do.
    let budget =
        "validation failed due to running out of cost budget, no further validation rules will be run";
    until_refused(&server, &k, "control", "a", budget);
    // The failing variable, read, fails with kube's text ...
    until_refused(
        &server,
        &k,
        "unused",
        "check",
        "expression '!('check' in object.data) || variables.bad == 'x'' resulted in error: composited variable \"bad\" fails to evaluate: no such key: missing",
    );
    // ... and not read, fails nothing; the forty costly variables, not read, cost nothing.
    let (ok, err) = configmap(&server, &k, "unused-1", "unused", "a");
    assert!(ok, "{err}");
    // One costly variable read by forty validations is evaluated once.
    let (ok, err) = configmap(&server, &k, "memo-1", "memo", "a");
    assert!(ok, "{err}");
    let out = k.ok(&["get", "configmaps", "-n", "apps", "-o", "name"]);
    for name in ["configmap/unused-1", "configmap/memo-1"] {
        assert!(out.stdout.lines().any(|l| l == name), "{name}: {out}");
    }
}
