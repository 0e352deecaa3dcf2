//! `kubeward explain ... -f FILE` (issue 18): besides authorization, admission's answer to
//! the write as the user would send it (a dry run): the ValidatingAdmissionPolicy, binding
//! and validation expression that refused it, or the fields a MutatingAdmissionPolicy
//! changed.

mod support;

use std::process::Command;
use std::time::Duration;
use support::more::{retry, Cluster};
use support::{kubectl_or_missing, run, Output, Server};

fn kubeward(server: &Server, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.args(args).arg("--kubeconfig").arg(&server.kubeconfig).env_remove("KUBECONFIG");
    run(cmd, Duration::from_secs(60))
}

const POLICIES: &str = r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: pod-rules
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["pods"]
  validations:
  - expression: "object.spec.containers.all(c, c.image.contains(':'))"
    message: "images must name a tag"
  - expression: "!object.spec.containers.exists(c, c.image.endsWith(':latest'))"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: pod-rules-binding
spec:
  policyName: pod-rules
  validationActions: [Deny]
---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingAdmissionPolicy
metadata:
  name: stamp
spec:
  reinvocationPolicy: Never
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["pods"]
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: "Object{metadata: Object.metadata{labels: {'stamped': 'yes'}}}"
---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: stamp-binding
spec:
  policyName: stamp
"#;

fn pod(image: &str) -> String {
    format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  containers:\n  - name: web\n    image: {image}\n")
}

#[test]
fn explain_names_the_refusing_policy_and_expression() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    k.ok(&["create", "namespace", "prod"]);
    k.ok(&["create", "rolebinding", "alice-edit", "-n", "prod", "--clusterrole=edit", "--user=alice"]);
    let policies = server.file("policies.yaml", POLICIES);
    k.ok(&["create", "-f", policies.to_str().expect("utf-8")]);
    let latest = server.file("latest.yaml", &pod("nginx:latest"));
    let latest = latest.to_str().expect("utf-8");
    let (ok, last) = retry(Duration::from_secs(10), || {
        let out =
            kubeward(&server, &["explain", "create", "pods", "-n", "prod", "--as", "alice", "-f", latest]);
        (out.stdout.contains("admission: refused"), out.to_string())
    });
    assert!(ok, "{last}");
    let out = kubeward(&server, &["explain", "create", "pods", "-n", "prod", "--as", "alice", "-f", latest]);
    out.assert_ok();
    assert!(out.stdout.starts_with("server: allowed"), "{out}");
    for want in [
        "admission: refused (422 Invalid): pods \"web\" is forbidden: ValidatingAdmissionPolicy 'pod-rules' with binding 'pod-rules-binding' denied request: failed expression: !object.spec.containers.exists(c, c.image.endsWith(':latest'))",
        "  policy: ValidatingAdmissionPolicy \"pod-rules\", binding \"pod-rules-binding\"",
        "  validation: spec.validations[1]: !object.spec.containers.exists(c, c.image.endsWith(':latest'))",
    ] {
        assert!(out.stdout.lines().any(|l| l == want), "{want}: {out}");
    }
    // A static message: the validation that has it.
    let untagged = server.file("untagged.yaml", &pod("nginx"));
    let out = kubeward(
        &server,
        &[
            "explain",
            "create",
            "pods",
            "-n",
            "prod",
            "--as",
            "alice",
            "-f",
            untagged.to_str().expect("utf-8"),
        ],
    );
    assert!(
        out.stdout.lines().any(|l| l
            == "  validation: spec.validations[0]: object.spec.containers.all(c, c.image.contains(':'))"),
        "{out}"
    );
    // An admitted write: what the mutating policy changed; nothing was stored.
    let good = server.file("good.yaml", &pod("nginx:1.27"));
    let out = kubeward(
        &server,
        &["explain", "create", "pods", "-n", "prod", "--as", "alice", "-f", good.to_str().expect("utf-8")],
    );
    assert!(
        out.stdout.lines().any(|l| l == "admission: allowed (dry run); admission changed metadata.labels"),
        "{out}"
    );
    let out = k.run(&["get", "pod", "web", "-n", "prod"]);
    assert!(!out.ok(), "the dry run stored the pod: {out}");
}
