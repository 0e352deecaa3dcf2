//! MutatingAdmissionPolicies end to end (issue 18) through kubectl 1.33: the kinds as kube
//! 1.34 serves them (v1beta1 and v1alpha1, columns, defaults, kube's 422s), a policy
//! adding a label and a sidecar container by ApplyConfiguration (the container defaulted
//! as kube defaults it), a JSON patch taking its value from a param, failurePolicy Fail
//! against Ignore with kube's message, and reinvocation: an `IfNeeded` policy runs again
//! after a later policy changed the object, a `Never` one does not.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::more::{retry, Cluster};
use support::{kubectl_or_missing, words, Kubectl, Output, Server};

fn create(server: &Server, k: &Kubectl, name: &str, yaml: &str) -> Output {
    let f = server.file(name, yaml);
    k.run(&["create", "-f", f.to_str().expect("utf-8")])
}

#[track_caller]
fn created(server: &Server, k: &Kubectl, name: &str, yaml: &str) {
    create(server, k, name, yaml).assert_ok();
}

/// Retries `f` until it succeeds: a new policy applies once the server's informer has
/// seen it (kube's policies are eventually consistent the same way).
#[track_caller]
fn until(what: &str, mut f: impl FnMut() -> (bool, String)) {
    let (ok, last) = retry(Duration::from_secs(10), &mut f);
    assert!(ok, "{what}: {last}");
}

/// A policy over pod creates and its binding.
fn policy(name: &str, extra: &str, mutations: &str) -> String {
    format!(
        r#"apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingAdmissionPolicy
metadata:
  name: {name}
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["pods"]
{extra}  mutations:
{mutations}
---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: {name}-binding
spec:
  policyName: {name}
"#
    )
}

const SIDECAR: &str = r#"  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: >
        Object{
          metadata: Object.metadata{labels: {"injected": "proxy"}},
          spec: Object.spec{containers: [Object.spec.containers{name: "proxy", image: "envoy:1.30"}]}
        }
"#;

#[test]
fn the_kinds_are_served_as_kube_serves_them() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    let out = k.ok(&["api-resources", "--api-group", "admissionregistration.k8s.io"]);
    let lines = words(&out.stdout);
    for want in [
        "mutatingadmissionpolicies admissionregistration.k8s.io/v1beta1 false MutatingAdmissionPolicy",
        "mutatingadmissionpolicybindings admissionregistration.k8s.io/v1beta1 false MutatingAdmissionPolicyBinding",
    ] {
        assert!(lines.iter().any(|l| l == want), "{want}: {out}");
    }
    let out = k.ok(&["api-versions"]);
    for v in ["admissionregistration.k8s.io/v1alpha1", "admissionregistration.k8s.io/v1beta1"] {
        assert!(out.stdout.lines().any(|l| l == v), "{v}: {out}");
    }
    created(&server, &k, "sidecar.yaml", &policy("sidecar", "  reinvocationPolicy: Never\n", SIDECAR));
    let out = k.ok(&["get", "mutatingadmissionpolicies"]);
    let lines = words(&out.stdout);
    assert_eq!(lines[0], "NAME MUTATIONS PARAMKIND AGE", "{out}");
    assert!(lines[1].starts_with("sidecar 1 <unset> "), "{out}");
    let out = k.ok(&["get", "mutatingadmissionpolicybindings"]);
    assert!(words(&out.stdout)[1].starts_with("sidecar-binding sidecar <unset> "), "{out}");
    // kube's defaults; the same object through v1alpha1.
    let p = support::get_json(&k, &["mutatingadmissionpolicy", "sidecar"]);
    assert_eq!(p["apiVersion"], "admissionregistration.k8s.io/v1beta1");
    assert_eq!(p["spec"]["failurePolicy"], "Fail");
    assert_eq!(p["spec"]["matchConstraints"]["matchPolicy"], "Equivalent");
    assert_eq!(p["metadata"]["generation"], 1);
    let alpha = support::get_json(
        &k,
        &["mutatingadmissionpolicies.v1alpha1.admissionregistration.k8s.io", "sidecar"],
    );
    assert_eq!(alpha["apiVersion"], "admissionregistration.k8s.io/v1alpha1");
    assert_eq!(alpha["spec"], p["spec"]);
    let out = k.ok(&["get", "api-extensions", "-o", "name"]);
    assert!(out.stdout.contains("mutatingadmissionpolicy.admissionregistration.k8s.io/sidecar"), "{out}");

    // kube's 422s: a result of the wrong type, a delete rule, no reinvocationPolicy.
    let bad = policy(
        "bad",
        "",
        "  - patchType: ApplyConfiguration\n    applyConfiguration:\n      expression: \"'x'\"\n",
    )
    .replace("operations: [\"CREATE\"]", "operations: [\"DELETE\"]");
    let out = create(&server, &k, "bad.yaml", bad.split("---").next().unwrap_or_default());
    out.assert_code(1);
    for want in [
        r#"The MutatingAdmissionPolicy "bad" is invalid: "#,
        r#"spec.matchConstraints.resourceRules.operations: Unsupported value: "DELETE": supported values: "*", "CONNECT", "CREATE", "UPDATE""#,
        r#"spec.mutations[0].applyConfiguration.expression: Invalid value: "'x'": must evaluate to Object but got string"#,
        "spec.reinvocationPolicy: Required value",
    ] {
        assert!(out.stderr.contains(want), "{want}: {out}");
    }
}

#[test]
fn an_apply_configuration_adds_a_label_and_a_sidecar() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    k.ok(&["create", "namespace", "apps"]);
    created(&server, &k, "sidecar.yaml", &policy("sidecar", "  reinvocationPolicy: Never\n", SIDECAR));
    until("the sidecar is injected", || {
        let out =
            k.run(&["run", "probe", "-n", "apps", "--image=nginx:1.27", "--dry-run=server", "-o", "json"]);
        (out.ok() && out.stdout.contains("envoy:1.30"), out.to_string())
    });
    k.ok(&["run", "web", "-n", "apps", "--image=nginx:1.27", "--labels=app=web"]);
    let pod = support::get_json(&k, &["pod", "web", "-n", "apps"]);
    assert_eq!(pod["metadata"]["labels"], json!({"app": "web", "injected": "proxy"}));
    let containers = pod["spec"]["containers"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = containers.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["web", "proxy"], "{pod}");
    // The added container is defaulted as kube defaults it after a mutation.
    assert_eq!(containers[1]["imagePullPolicy"], "IfNotPresent", "{pod}");
    assert_eq!(containers[1]["terminationMessagePath"], "/dev/termination-log", "{pod}");
}

#[test]
fn a_json_patch_takes_its_value_from_a_param() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    for ns in ["blue", "plain"] {
        k.ok(&["create", "namespace", ns]);
    }
    k.ok(&["create", "configmap", "owner", "-n", "blue", "--from-literal=team=blue-team"]);
    let yaml = policy(
        "owner-label",
        "  reinvocationPolicy: Never\n  paramKind:\n    apiVersion: v1\n    kind: ConfigMap\n  variables:\n  - name: key\n    expression: \"'example.com/owner'\"\n  matchConditions:\n  - name: not-excluded\n    expression: \"!has(object.metadata.labels) || !('skip' in object.metadata.labels)\"\n",
        r#"  - patchType: JSONPatch
    jsonPatch:
      expression: >
        [JSONPatch{op: "add", path: "/metadata/labels", value: {}},
         JSONPatch{op: "add", path: "/metadata/labels/" + jsonpatch.escapeKey(variables.key), value: params.data.team}]
"#,
    ) + "  paramRef:\n    name: owner\n    parameterNotFoundAction: Allow\n";
    created(&server, &k, "owner.yaml", &yaml);
    until("the owner label is added", || {
        let out =
            k.run(&["run", "probe", "-n", "blue", "--image=nginx:1.27", "--dry-run=server", "-o", "json"]);
        (out.ok() && out.stdout.contains("blue-team"), out.to_string())
    });
    k.ok(&["run", "web", "-n", "blue", "--image=nginx:1.27"]);
    let pod = support::get_json(&k, &["pod", "web", "-n", "blue"]);
    assert_eq!(pod["metadata"]["labels"]["example.com/owner"], "blue-team", "{pod}");
    // No param in the namespace (parameterNotFoundAction: Allow): nothing to do.
    k.ok(&["run", "web", "-n", "plain", "--image=nginx:1.27"]);
    let pod = support::get_json(&k, &["pod", "web", "-n", "plain"]);
    assert!(pod["metadata"]["labels"].get("example.com/owner").is_none(), "{pod}");
    // A match condition that does not hold leaves the pod alone.
    k.ok(&["run", "skipped", "-n", "blue", "--image=nginx:1.27", "--labels=skip=yes"]);
    let pod = support::get_json(&k, &["pod", "skipped", "-n", "blue"]);
    assert_eq!(pod["metadata"]["labels"], json!({"skip": "yes"}), "{pod}");
}

#[test]
fn failure_policy_fail_refuses_with_kubes_message_and_ignore_admits() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    k.ok(&["create", "namespace", "apps"]);
    let broken = |name: &str, failure: &str| {
        policy(
            name,
            &format!("  failurePolicy: {failure}\n  reinvocationPolicy: Never\n"),
            r#"  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: "Object{metadata: Object.metadata{labels: {'owner': object.metadata.annotations.owner}}}"
"#,
        )
    };
    created(&server, &k, "fail.yaml", &broken("strict", "Fail"));
    let message = "policy 'strict' with binding 'strict-binding' denied request: expression 'Object{metadata: Object.metadata{labels: {'owner': object.metadata.annotations.owner}}}' resulted in error: no such key: annotations";
    until("the failing policy refuses", || {
        let out = k.run(&["run", "web", "-n", "apps", "--image=nginx:1.27", "--dry-run=server"]);
        // kubectl prints an Invalid Status by its causes (kube's Status is the same).
        (out.stderr.trim() == format!("The pods \"web\" is invalid: : {message}"), out.to_string())
    });
    // Over HTTP: kube's generic policy refusal, 403 with the error's reason.
    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}"#;
    let http = server.admin_curl(
        "/api/v1/namespaces/apps/pods",
        &["-X", "POST", "-H", "Content-Type: application/json", "-d", pod],
    );
    assert_eq!(http.status, 403, "{}", http.body);
    let status: Value = http.json();
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(status["message"], message);
    assert_eq!(status["details"]["causes"][0]["message"], status["message"]);
    assert_eq!(status["details"]["kind"], "pods");
    // An annotated pod passes and is mutated.
    k.ok(&["run", "web", "-n", "apps", "--image=nginx:1.27", "--annotations=owner=ops"]);
    let p = support::get_json(&k, &["pod", "web", "-n", "apps"]);
    assert_eq!(p["metadata"]["labels"]["owner"], "ops");

    // The same error under failurePolicy: Ignore admits the pod unchanged.
    k.ok(&["delete", "mutatingadmissionpolicy", "strict"]);
    created(&server, &k, "ignore.yaml", &broken("lenient", "Ignore"));
    until("the ignored policy admits", || {
        let out = k.run(&["run", "other", "-n", "apps", "--image=nginx:1.27"]);
        (out.ok(), out.to_string())
    });
    let p = support::get_json(&k, &["pod", "other", "-n", "apps"]);
    assert!(p["metadata"]["labels"].get("owner").is_none(), "{p}");
}

#[test]
fn if_needed_policies_run_again_after_a_later_policy_changed_the_object() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    k.ok(&["create", "namespace", "apps"]);
    // Policies run in name order: `a-*` copy the tier label into an annotation before
    // `b-tier` sets the label. Only the IfNeeded copy sees it, in the second round.
    let copy = |name: &str, annotation: &str, reinvocation: &str| {
        policy(
            name,
            &format!("  reinvocationPolicy: {reinvocation}\n"),
            &format!(
                r#"  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: "Object{{metadata: Object.metadata{{annotations: {{'{annotation}': object.metadata.?labels.tier.orValue('none')}}}}}}"
"#
            ),
        )
    };
    created(&server, &k, "a-again.yaml", &copy("a-again", "tier-again", "IfNeeded"));
    created(&server, &k, "a-once.yaml", &copy("a-once", "tier-once", "Never"));
    created(
        &server,
        &k,
        "b-tier.yaml",
        &policy(
            "b-tier",
            "  reinvocationPolicy: Never\n",
            "  - patchType: JSONPatch\n    jsonPatch:\n      expression: \"[JSONPatch{op: 'add', path: '/metadata/labels', value: {'tier': 'gold'}}]\"\n",
        ),
    );
    until("all three policies apply", || {
        let out =
            k.run(&["run", "probe", "-n", "apps", "--image=nginx:1.27", "--dry-run=server", "-o", "json"]);
        (out.ok() && out.stdout.contains("tier-once") && out.stdout.contains("gold"), out.to_string())
    });
    k.ok(&["run", "web", "-n", "apps", "--image=nginx:1.27"]);
    let pod = support::get_json(&k, &["pod", "web", "-n", "apps"]);
    assert_eq!(pod["metadata"]["labels"], json!({"tier": "gold"}), "{pod}");
    assert_eq!(pod["metadata"]["annotations"]["tier-again"], "gold", "{pod}");
    assert_eq!(pod["metadata"]["annotations"]["tier-once"], "none", "{pod}");
}
