//! Result types of admission policy expressions at create time (issue 18), through
//! kubectl 1.33: kube's compiler wants the exact type, so an expression typed `dyn` (a
//! field of `object` or of `params` without a schema, a conditional with a `dyn` branch,
//! an optional's `orValue`, `dyn(...)`, a variable typed `dyn`) is refused where a bool
//! or a string is wanted, and a variable has its expression's type. Every expected
//! answer is kube-apiserver 1.34's to the same policy.

mod support;

use support::more::Cluster;
use support::{kubectl_or_missing, Kubectl, Server};

/// Creates a ValidatingAdmissionPolicy (paramKind ConfigMap, three variables) with one
/// validation; kubectl's answer.
fn create(server: &Server, k: &Kubectl, i: usize, expression: &str, message: Option<&str>) -> (bool, String) {
    let message = message.map_or(String::new(), |m| format!("    messageExpression: {m:?}\n"));
    let yaml = format!(
        r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: t{i}
spec:
  failurePolicy: Fail
  paramKind: {{apiVersion: v1, kind: ConfigMap}}
  matchConstraints:
    resourceRules:
    - {{apiGroups: ["apps"], apiVersions: ["v1"], operations: ["CREATE"], resources: ["deployments"]}}
  variables:
  - name: b
    expression: "object.spec.replicas > 1"
  - name: d
    expression: "object.spec.paused"
  - name: s
    expression: "'x'"
  validations:
  - expression: {expression:?}
{message}"#
    );
    let f = server.file(&format!("t{i}.yaml"), &yaml);
    let out = k.run(&["create", "-f", f.to_str().expect("utf-8")]);
    (out.ok(), out.stderr.trim().to_string())
}

#[test]
fn dyn_results_are_refused_and_variables_have_their_expressions_types() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    // (expression, kube's result type error, or None: created)
    let cases: &[(&str, Option<&str>)] = &[
        ("variables.d", Some("must evaluate to bool but got dyn")),
        ("params.x", Some("must evaluate to bool but got dyn")),
        ("params.data['x']", Some("must evaluate to bool but got dyn")),
        ("object.spec.replicas", Some("must evaluate to bool but got dyn")),
        ("object.spec.x[0]", Some("must evaluate to bool but got dyn")),
        ("object.spec.x.y.z", Some("must evaluate to bool but got dyn")),
        ("params.data.x == 'a' ? params.y : false", Some("must evaluate to bool but got dyn")),
        ("has(object.spec.paused) ? object.spec.paused : true", Some("must evaluate to bool but got dyn")),
        ("object.?spec.paused.orValue(false)", Some("must evaluate to bool but got dyn")),
        ("dyn(true)", Some("must evaluate to bool but got dyn")),
        ("object.spec.containers.filter(c, c.x)[0]", Some("must evaluate to bool but got dyn")),
        ("object.spec.x.map(x, x)", Some("must evaluate to bool but got list(dyn)")),
        ("variables.s", Some("must evaluate to bool but got string")),
        ("variables.b", None),
        ("variables.d == true", None),
        ("type(object) == map", None),
        ("int(object.spec.replicas) > 1", None),
        ("object.spec.paused || false", None),
    ];
    for (i, (expression, want)) in cases.iter().enumerate() {
        let (ok, stderr) = create(&server, &k, i, expression, None);
        match want {
            None => assert!(ok, "{expression}: {stderr}"),
            Some(detail) => {
                let quoted = serde_json::to_string(expression).unwrap_or_default();
                let text = format!(
                    "The ValidatingAdmissionPolicy \"t{i}\" is invalid: spec.validations[0].expression: Invalid value: {quoted}: {detail}"
                );
                assert_eq!(stderr, text, "{expression}");
            }
        }
    }
    // A message expression must be a string: a field of params is dyn.
    let (ok, stderr) = create(&server, &k, 100, "true", Some("params.data.msg"));
    assert!(!ok);
    assert_eq!(
        stderr,
        "The ValidatingAdmissionPolicy \"t100\" is invalid: spec.validations[0].messageExpression: Invalid value: \"params.data.msg\": must evaluate to string but got dyn"
    );
    let (ok, stderr) = create(&server, &k, 101, "true", Some("'replicas: ' + string(object.spec.replicas)"));
    assert!(ok, "{stderr}");
}
