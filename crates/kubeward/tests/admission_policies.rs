//! ValidatingAdmissionPolicies end to end (issue 18) through kubectl 1.33: the kinds as
//! kube serves them (columns, status type checking, kube's 422s, a non-compiling
//! expression refused), and the issue's three seed policies each refusing with kube's
//! exact message: no `latest` tags outside dev namespaces, replicas at most the
//! namespace's param (a ConfigMap, then a custom resource), only the team's group may
//! touch objects labelled with their team (the authorizer library). Then the Warn and
//! Audit actions (a `Warning:` line, the audit event's annotation) and failurePolicy
//! Ignore against Fail on a runtime error. Last, admission webhooks with CEL
//! `matchConditions` and `reinvocationPolicy: IfNeeded`, against the test webhook.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::more::webhook::Webhook;
use support::more::{self, retry, Cluster};
use support::{kubectl_or_missing, words, Kubectl, Output, Server};

fn create(server: &Server, k: &Kubectl, name: &str, yaml: &str) -> Output {
    let f = server.file(name, yaml);
    k.run(&["create", "-f", f.to_str().expect("utf-8")])
}

#[track_caller]
fn created(server: &Server, k: &Kubectl, name: &str, yaml: &str) {
    create(server, k, name, yaml).assert_ok();
}

/// Retries `f` until it succeeds: a new policy is enforced once the server's informer has
/// seen it (kube's policies are eventually consistent the same way).
#[track_caller]
fn until(what: &str, mut f: impl FnMut() -> (bool, String)) {
    let (ok, last) = retry(Duration::from_secs(10), &mut f);
    assert!(ok, "{what}: {last}");
}

const NO_LATEST: &str = r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: no-latest-tag
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["pods"]
    namespaceSelector:
      matchExpressions:
      - {key: env, operator: NotIn, values: ["dev"]}
  validations:
  - expression: "object.spec.containers.all(c, !c.image.endsWith(':latest') && c.image.contains(':'))"
    messageExpression: "'images must name a tag other than latest outside dev namespaces: ' + object.spec.containers.map(c, c.image).join(', ')"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: no-latest-tag-binding
spec:
  policyName: no-latest-tag
  validationActions: [Deny]
"#;

#[test]
fn the_kinds_are_served_as_kube_serves_them() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    created(&server, &k, "no-latest.yaml", NO_LATEST);

    // Columns and the api-extensions category.
    let out = k.ok(&["get", "validatingadmissionpolicies"]);
    let lines = words(&out.stdout);
    assert_eq!(lines[0], "NAME VALIDATIONS PARAMKIND AGE", "{out}");
    assert!(lines[1].starts_with("no-latest-tag 1 <unset> "), "{out}");
    let out = k.ok(&["get", "validatingadmissionpolicybindings"]);
    let lines = words(&out.stdout);
    assert_eq!(lines[0], "NAME POLICYNAME PARAMREF AGE", "{out}");
    assert!(lines[1].starts_with("no-latest-tag-binding no-latest-tag <unset> "), "{out}");
    let out = k.ok(&["get", "api-extensions", "-o", "name"]);
    assert!(
        out.stdout.contains("validatingadmissionpolicy.admissionregistration.k8s.io/no-latest-tag"),
        "{out}"
    );
    let out = k.ok(&["api-resources", "--api-group", "admissionregistration.k8s.io"]);
    assert!(words(&out.stdout).iter().any(|l| l
        == "validatingadmissionpolicies admissionregistration.k8s.io/v1 false ValidatingAdmissionPolicy"));

    // kube's defaults.
    let policy = support::get_json(&k, &["validatingadmissionpolicy", "no-latest-tag"]);
    assert_eq!(policy["spec"]["matchConstraints"]["matchPolicy"], "Equivalent");
    assert_eq!(policy["spec"]["matchConstraints"]["objectSelector"], serde_json::json!({}));
    assert_eq!(policy["spec"]["matchConstraints"]["resourceRules"][0]["scope"], "*");
    assert_eq!(policy["metadata"]["generation"], 1);

    // Type checking against the Pod schema lands in the status, once per generation.
    k.ok(&[
        "patch",
        "validatingadmissionpolicy",
        "no-latest-tag",
        "--type=json",
        "-p",
        r#"[{"op": "add", "path": "/spec/validations/-", "value": {"expression": "object.spec.containerz == null"}}]"#,
    ]);
    until("type checking status", || {
        let p = support::get_json(&k, &["validatingadmissionpolicy", "no-latest-tag"]);
        let ok = p["status"]["observedGeneration"] == 2
            && p["status"]["typeChecking"]["expressionWarnings"][0]["fieldRef"]
                == "spec.validations[1].expression";
        (ok, p["status"].to_string())
    });
    let p = support::get_json(&k, &["validatingadmissionpolicy", "no-latest-tag"]);
    assert_eq!(
        p["status"]["typeChecking"]["expressionWarnings"][0]["warning"],
        "/v1, Kind=Pod: ERROR: <input>:1:12: undefined field 'containerz'\n | object.spec.containerz == null\n | ...........^\n"
    );
    let out = k.ok(&["describe", "validatingadmissionpolicy", "no-latest-tag"]);
    assert!(out.stdout.contains("Observed Generation:  2"), "{out}");

    // An expression that does not compile is refused at create, with kube's text.
    let bad = NO_LATEST
        .replace("name: no-latest-tag\nspec", "name: bad\nspec")
        .replace("c.image.contains(':'))\"", "c.image.contains(':')\"")
        .split("---")
        .next()
        .unwrap_or_default()
        .to_string();
    let out = create(&server, &k, "bad.yaml", &bad);
    out.assert_code(1);
    assert!(
        out.stderr.contains(r#"The ValidatingAdmissionPolicy "bad" is invalid: spec.validations[0].expression: Invalid value: "object.spec.containers.all(c, !c.image.endsWith(':latest') && c.image.contains(':')": compilation failed: ERROR: <input>:1:"#),
        "{out}"
    );
    let out = create(
        &server,
        &k,
        "bad-binding.yaml",
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: bad\nspec:\n  policyName: no-latest-tag\n  validationActions: [Deny, Warn]\n",
    );
    out.assert_code(1);
    assert!(
        out.stderr.contains(r#"The ValidatingAdmissionPolicyBinding "bad" is invalid: spec.validationActions: Invalid value: []admissionregistration.ValidationAction{"Deny", "Warn"}: must not contain both Deny and Warn"#),
        "{out}"
    );
}

#[test]
fn no_latest_tags_outside_dev_namespaces() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    k.ok(&["create", "namespace", "dev"]);
    k.ok(&["label", "namespace", "dev", "env=dev"]);
    k.ok(&["create", "namespace", "prod"]);
    created(&server, &k, "no-latest.yaml", NO_LATEST);
    let message = "ValidatingAdmissionPolicy 'no-latest-tag' with binding 'no-latest-tag-binding' denied request: images must name a tag other than latest outside dev namespaces: nginx:latest";
    until("the policy refuses latest in prod", || {
        let out = k.run(&["run", "web", "-n", "prod", "--image=nginx:latest", "--dry-run=server"]);
        (out.stderr.trim() == format!(r#"The pods "web" is invalid: : {message}"#), out.to_string())
    });
    // Over HTTP: kube's Status, 422 Invalid, the message as its one cause.
    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}"#;
    let http = server.admin_curl(
        "/api/v1/namespaces/prod/pods",
        &["-X", "POST", "-H", "Content-Type: application/json", "-d", pod],
    );
    assert_eq!(http.status, 422, "{}", http.body);
    let status = http.json();
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(
        status["message"],
        "pods \"web\" is forbidden: ValidatingAdmissionPolicy 'no-latest-tag' with binding 'no-latest-tag-binding' denied request: images must name a tag other than latest outside dev namespaces: nginx"
    );
    assert_eq!(
        status["details"]["causes"][0]["message"],
        status["message"].as_str().unwrap_or_default().trim_start_matches("pods \"web\" is forbidden: ")
    );
    // A tag passes; dev namespaces may use latest.
    k.ok(&["run", "web", "-n", "prod", "--image=nginx:1.27"]);
    k.ok(&["run", "web", "-n", "dev", "--image=nginx:latest"]);
    // Updates are checked too.
    let out = k.run(&["set", "image", "pod/web", "-n", "prod", "web=nginx:latest"]);
    out.assert_code(1);
    assert!(
        out.stderr.contains(
            "denied request: images must name a tag other than latest outside dev namespaces: nginx:latest"
        ),
        "{out}"
    );
}

const REPLICA_LIMIT: &str = r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: replica-limit
spec:
  paramKind:
    apiVersion: v1
    kind: ConfigMap
  matchConstraints:
    resourceRules:
    - apiGroups: ["apps"]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["deployments"]
  validations:
  - expression: "object.spec.replicas <= int(params.data.maxReplicas)"
    messageExpression: "'replicas must be at most ' + params.data.maxReplicas + ' in namespace ' + request.namespace"
    reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: replica-limit-binding
spec:
  policyName: replica-limit
  validationActions: [Deny]
  paramRef:
    name: replica-limit
    parameterNotFoundAction: Deny
"#;

#[test]
fn replicas_at_most_the_namespaces_param() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    for ns in ["small", "large", "none"] {
        k.ok(&["create", "namespace", ns]);
    }
    k.ok(&["create", "configmap", "replica-limit", "-n", "small", "--from-literal=maxReplicas=2"]);
    k.ok(&["create", "configmap", "replica-limit", "-n", "large", "--from-literal=maxReplicas=10"]);
    created(&server, &k, "replica-limit.yaml", REPLICA_LIMIT);
    until("the policy reads the namespace's param", || {
        let out = k.run(&[
            "create",
            "deployment",
            "web",
            "-n",
            "small",
            "--image=nginx:1",
            "--replicas=3",
            "--dry-run=server",
        ]);
        let want = "error: failed to create deployment: deployments.apps \"web\" is forbidden: ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit-binding' denied request: replicas must be at most 2 in namespace small";
        (out.stderr.trim() == want, out.to_string())
    });
    // Writing a policy over a paramKind, or a binding naming a param, needs `get` on it.
    let author_role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: policy-author\nrules:\n- apiGroups: [admissionregistration.k8s.io]\n  resources: [validatingadmissionpolicies, validatingadmissionpolicybindings]\n  verbs: [create]\n";
    created(&server, &k, "author.yaml", author_role);
    k.ok(&["create", "clusterrolebinding", "policy-author", "--clusterrole=policy-author", "--user=author"]);
    let author = server.kubectl_user("author", &[]);
    let out = create(
        &server,
        &author,
        "author-policy.yaml",
        &REPLICA_LIMIT
            .replace("name: replica-limit\nspec:\n  paramKind", "name: authored\nspec:\n  paramKind"),
    );
    out.assert_code(1);
    assert!(
        out.stderr.contains(r#"ValidatingAdmissionPolicy.admissionregistration.k8s.io "authored" is invalid: spec.paramKind: Forbidden: user &{author "#),
        "{out}"
    );
    assert!(out.stderr.contains(r#" must have "get" permission on all objects of the referenced paramKind (kind=ConfigMap, apiVersion=v1)"#), "{out}");
    let binding = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: authored\nspec:\n  policyName: replica-limit\n  validationActions: [Deny]\n  paramRef: {name: replica-limit, namespace: small, parameterNotFoundAction: Deny}\n";
    let out = create(&server, &author, "author-binding.yaml", binding);
    out.assert_code(1);
    assert!(
        out.stderr.contains(r#" does not have "get" permission on the object referenced by paramRef"#),
        "{out}"
    );
    k.ok(&["create", "deployment", "web", "-n", "large", "--image=nginx:1", "--replicas=3"]);
    k.ok(&["create", "deployment", "web", "-n", "small", "--image=nginx:1", "--replicas=2"]);
    // Through the deployment itself (a rule on `deployments` does not cover `deployments/scale`).
    let out = k.run(&["patch", "deployment", "web", "-n", "small", "-p", r#"{"spec":{"replicas":5}}"#]);
    out.assert_code(1);
    assert!(out.stderr.contains("denied request: replicas must be at most 2 in namespace small"), "{out}");
    // No param where one is required: kube's configuration error.
    let out = k.run(&["create", "deployment", "web", "-n", "none", "--image=nginx:1"]);
    out.assert_code(1);
    assert_eq!(
        out.stderr.trim(),
        "error: failed to create deployment: deployments.apps \"web\" is forbidden: ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit-binding' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction",
        "{out}"
    );

    // The same limit from a custom resource, one per namespace.
    let crd = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: replicalimits.policy.kubeward.io
spec:
  group: policy.kubeward.io
  scope: Namespaced
  names: {plural: replicalimits, singular: replicalimit, kind: ReplicaLimit}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          maxReplicas: {type: integer}
"#;
    created(&server, &k, "crd.yaml", crd);
    until("the CRD is served", || {
        let out = k.run(&["get", "replicalimits", "-A"]);
        (out.ok(), out.to_string())
    });
    let policy = REPLICA_LIMIT
        .replace("name: replica-limit\nspec:\n  paramKind:\n    apiVersion: v1\n    kind: ConfigMap", "name: crd-limit\nspec:\n  paramKind:\n    apiVersion: policy.kubeward.io/v1\n    kind: ReplicaLimit")
        .replace("int(params.data.maxReplicas)", "params.maxReplicas")
        .replace("params.data.maxReplicas + ' in", "string(params.maxReplicas) + ' in")
        .replace("name: replica-limit-binding\nspec:\n  policyName: replica-limit", "name: crd-limit-binding\nspec:\n  policyName: crd-limit")
        .replace("    name: replica-limit\n    parameterNotFoundAction: Deny", "    name: limit\n    parameterNotFoundAction: Allow");
    created(&server, &k, "crd-limit.yaml", &policy);
    created(
        &server,
        &k,
        "limit.yaml",
        "apiVersion: policy.kubeward.io/v1\nkind: ReplicaLimit\nmetadata:\n  name: limit\n  namespace: large\nmaxReplicas: 4\n",
    );
    until("the custom resource limits replicas", || {
        let out = k.run(&["patch", "deployment", "web", "-n", "large", "-p", r#"{"spec":{"replicas":6}}"#]);
        let want = "ValidatingAdmissionPolicy 'crd-limit' with binding 'crd-limit-binding' denied request: replicas must be at most 4 in namespace large";
        (out.stderr.contains(want), out.to_string())
    });
}

#[test]
fn only_the_teams_group_may_touch_objects_labelled_with_their_team() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    k.ok(&["create", "namespace", "apps"]);
    // Everyone in `developers` may edit the namespace; team membership is an RBAC grant on
    // a virtual resource, `teams.kubeward.io/<team>` with the verb `member`.
    k.ok(&[
        "create",
        "rolebinding",
        "developers-edit",
        "-n",
        "apps",
        "--clusterrole=edit",
        "--group=developers",
    ]);
    for team in ["blue", "green"] {
        let role = format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: team-{team}\nrules:\n- apiGroups: [kubeward.io]\n  resources: [teams]\n  resourceNames: [{team}]\n  verbs: [member]\n"
        );
        created(&server, &k, &format!("team-{team}.yaml"), &role);
        k.ok(&[
            "create",
            "clusterrolebinding",
            &format!("team-{team}"),
            &format!("--clusterrole=team-{team}"),
            &format!("--group={team}"),
        ]);
    }
    let policy = r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: team-ownership
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE", "DELETE"]
      resources: ["configmaps"]
  variables:
  - name: team
    expression: "request.operation == 'DELETE' ? oldObject.metadata.?labels.team.orValue('') : object.metadata.?labels.team.orValue('')"
  validations:
  - expression: "variables.team == '' || authorizer.group('kubeward.io').resource('teams').name(variables.team).check('member').allowed()"
    messageExpression: "'only members of team ' + variables.team + ' may touch objects labelled team=' + variables.team"
    reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: team-ownership
spec:
  policyName: team-ownership
  validationActions: [Deny]
"#;
    created(&server, &k, "team.yaml", policy);
    let alice = server.kubectl_user("alice", &["developers", "blue"]);
    let bob = server.kubectl_user("bob", &["developers", "green"]);
    let message = "ValidatingAdmissionPolicy 'team-ownership' with binding 'team-ownership' denied request: only members of team blue may touch objects labelled team=blue";
    let blue = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: blue-config\n  namespace: apps\n  labels: {team: blue}\ndata: {a: b}\n";
    until("bob is refused blue's objects", || {
        let f = server.file("blue.yaml", blue);
        let out = bob.run(&["create", "-f", f.to_str().expect("utf-8"), "--dry-run=server"]);
        (out.stderr.contains(message), out.to_string())
    });
    let out = create(&server, &bob, "blue.yaml", blue);
    assert!(
        out.stderr.trim().ends_with(&format!("configmaps \"blue-config\" is forbidden: {message}")),
        "{out}"
    );
    create(&server, &alice, "blue.yaml", blue).assert_ok();
    let out = bob.run(&["delete", "configmap", "blue-config", "-n", "apps"]);
    out.assert_code(1);
    assert_eq!(
        out.stderr.trim(),
        format!("Error from server (Forbidden): configmaps \"blue-config\" is forbidden: {message}"),
        "{out}"
    );
    // Unlabelled objects are anyone's.
    bob.ok(&["create", "configmap", "shared", "-n", "apps", "--from-literal=a=b"]);
    alice.ok(&["delete", "configmap", "blue-config", "-n", "apps"]);
}

#[test]
fn warn_and_audit_actions() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    let policy = NO_LATEST.replace("validationActions: [Deny]", "validationActions: [Warn, Audit]");
    created(&server, &k, "no-latest.yaml", &policy);
    let warning = "Warning: Validation failed for ValidatingAdmissionPolicy 'no-latest-tag' with binding 'no-latest-tag-binding': images must name a tag other than latest outside dev namespaces: nginx:latest";
    until("a warning instead of a refusal", || {
        let out = k.run(&["run", "web", "--image=nginx:latest", "--dry-run=server"]);
        (out.ok() && out.stderr.lines().any(|l| l == warning), out.to_string())
    });
    let out = k.ok(&["run", "web", "--image=nginx:latest"]);
    assert_eq!(out.stderr.trim(), warning, "{out}");
    k.ok(&["get", "pod", "web"]);
    // The audit event of that create carries kube's annotation.
    until("the audit event", || {
        let log = std::fs::read_to_string(server.data_dir().join("audit.log")).unwrap_or_default();
        let event = log.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).rfind(|e| {
            e["verb"] == "create"
                && e["objectRef"]["resource"] == "pods"
                && e["responseStatus"]["code"] == 201
        });
        let annotation = event
            .as_ref()
            .and_then(|e| e["annotations"]["validation.policy.admission.k8s.io/validation_failure"].as_str())
            .unwrap_or_default()
            .to_string();
        let want = r#"[{"message":"images must name a tag other than latest outside dev namespaces: nginx:latest","policy":"no-latest-tag","binding":"no-latest-tag-binding","expressionIndex":0,"validationActions":["Warn","Audit"]}]"#;
        (annotation == want, format!("{event:?}"))
    });
}

#[test]
fn failure_policy_ignore_and_fail_on_a_runtime_error() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    let policy = |name: &str, failure: &str| {
        format!(
            r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: {name}
spec:
  failurePolicy: {failure}
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["configmaps"]
    objectSelector:
      matchLabels: {{policy: {name}}}
  validations:
  - expression: "object.data.missing == 'x'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: {name}
spec:
  policyName: {name}
  validationActions: [Deny]
"#
        )
    };
    created(&server, &k, "fail.yaml", &policy("strict", "Fail"));
    created(&server, &k, "ignore.yaml", &policy("lenient", "Ignore"));
    let cm = |name: &str, label: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  labels: {{policy: {label}}}\ndata: {{present: yes-it-is}}\n")
    };
    let message = "ValidatingAdmissionPolicy 'strict' with binding 'strict' denied request: expression 'object.data.missing == 'x'' resulted in error: no such key: missing";
    until("failurePolicy Fail refuses on the error", || {
        let f = server.file("a.yaml", &cm("a", "strict"));
        let out = k.run(&["create", "-f", f.to_str().expect("utf-8"), "--dry-run=server"]);
        (out.stderr.contains(message), out.to_string())
    });
    let out = create(&server, &k, "a.yaml", &cm("a", "strict"));
    assert_eq!(out.stderr.trim(), format!("The configmaps \"a\" is invalid: : {message}"), "{out}");
    // Ignore admits; the object is stored.
    created(&server, &k, "b.yaml", &cm("b", "lenient"));
    k.ok(&["get", "configmap", "b"]);
}

/// A mutating webhook that adds the label `first: "true"` when it is missing.
fn label_first(request: &Value) -> Value {
    label_if_missing(request, "first")
}

/// A mutating webhook that adds the label `second: "true"` when it is missing.
fn label_second(request: &Value) -> Value {
    label_if_missing(request, "second")
}

fn label_if_missing(request: &Value, label: &str) -> Value {
    let labels = request["object"]["metadata"]["labels"].as_object().cloned().unwrap_or_default();
    if labels.contains_key(label) {
        return serde_json::json!({"allowed": true});
    }
    let mut next = labels;
    next.insert(label.to_string(), Value::String("true".into()));
    let patch = serde_json::json!([{"op": "add", "path": "/metadata/labels", "value": next}]);
    serde_json::json!({"allowed": true, "patchType": "JSONPatch", "patch": more::b64_encode(&patch.to_string())})
}

fn deny_all(_: &Value) -> Value {
    serde_json::json!({"allowed": false, "status": {"code": 403, "reason": "Forbidden", "message": "called"}})
}

#[test]
fn webhooks_match_conditions_and_reinvocation() {
    let server = Server::start();
    let Some(k) = kubectl_or_missing(&server, "1.33") else { return };
    let deny = Webhook::start("/deny", deny_all);
    let rule = serde_json::json!([{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}]);
    let config = serde_json::json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "conditions"},
        "webhooks": [{
            "name": "deny.e2e.kubeward.io",
            "clientConfig": {"url": deny.url, "caBundle": more::b64_encode(&deny.ca_pem)},
            "rules": rule,
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "matchConditions": [
                {"name": "guarded-only", "expression": "object.metadata.?labels.guarded.orValue('') == 'yes'"},
                {"name": "not-admins", "expression": "!authorizer.group('').resource('configmaps').check('deletecollection').allowed() || object.metadata.name.startsWith('admin-denied')"},
            ],
        }],
    });
    let f = server.file("conditions.json", &config.to_string());
    k.ok(&["create", "-f", f.to_str().expect("utf-8")]);
    let stored = support::get_json(&k, &["validatingwebhookconfiguration", "conditions"]);
    assert_eq!(stored["webhooks"][0]["matchPolicy"], "Equivalent", "kube's default");
    let guarded = |name: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  labels: {{guarded: \"yes\"}}\n"
        )
    };
    until("the webhook is called when its conditions hold", || {
        let f = server.file("g.yaml", &guarded("admin-denied-1"));
        let out = k.run(&["create", "-f", f.to_str().expect("utf-8"), "--dry-run=server"]);
        (
            out.stderr.contains(r#"admission webhook "deny.e2e.kubeward.io" denied the request: called"#),
            out.to_string(),
        )
    });
    // A false condition skips the call: unguarded objects, and guarded ones of an admin.
    let before = deny.call_count();
    k.ok(&["create", "configmap", "plain", "--from-literal=a=b"]);
    created(&server, &k, "g2.yaml", &guarded("by-admin"));
    assert_eq!(deny.call_count(), before, "a request whose conditions are false reached the webhook");
    // A condition that fails under failurePolicy Fail refuses with kube's Forbidden.
    let mut broken = config.clone();
    broken["webhooks"][0]["matchConditions"] =
        serde_json::json!([{"name": "broken", "expression": "object.data.missing == 'x'"}]);
    broken["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"].clone();
    let f = server.file("broken.json", &broken.to_string());
    k.ok(&["replace", "-f", f.to_str().expect("utf-8")]);
    until("the failing condition refuses", || {
        let out = k.run(&["create", "configmap", "x", "--from-literal=a=b", "--dry-run=server"]);
        let want = "error: failed to create configmap: configmaps \"x\" is forbidden: expression 'object.data.missing == 'x'' resulted in error: no such key: missing";
        (out.stderr.trim() == want, out.to_string())
    });
    // A condition that does not compile is refused at create.
    let mut bad = config.clone();
    bad["metadata"]["name"] = serde_json::json!("bad");
    bad["webhooks"][0]["matchConditions"] = serde_json::json!([{"name": "bad", "expression": "params.x"}]);
    let f = server.file("bad.json", &bad.to_string());
    let out = k.run(&["create", "-f", f.to_str().expect("utf-8")]);
    out.assert_code(1);
    assert!(
        out.stderr.contains(r#"The ValidatingWebhookConfiguration "bad" is invalid: webhooks[0].matchConditions[0].expression: Invalid value: "params.x": compilation failed: ERROR: <input>:1:1: undeclared reference to 'params'"#),
        "{out}"
    );
    k.ok(&["delete", "validatingwebhookconfiguration", "conditions"]);

    // Reinvocation: `first` (IfNeeded) runs before `second`, which changes the object, so
    // `first` is called again; with Never it is not.
    let first = Webhook::start("/first", label_first);
    let second = Webhook::start("/second", label_second);
    let mutating = |name: &str, hook: &Webhook, policy: &str| {
        serde_json::json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": name},
            "webhooks": [{
                "name": format!("{name}.e2e.kubeward.io"),
                "clientConfig": {"url": hook.url, "caBundle": more::b64_encode(&hook.ca_pem)},
                "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["secrets"]}],
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "reinvocationPolicy": policy,
            }],
        })
    };
    for (name, hook, policy) in [("a-first", &first, "IfNeeded"), ("b-second", &second, "Never")] {
        let f = server.file(&format!("{name}.json"), &mutating(name, hook, policy).to_string());
        k.ok(&["create", "-f", f.to_str().expect("utf-8")]);
    }
    until("both webhooks label the secret", || {
        let out = k.run(&[
            "create",
            "secret",
            "generic",
            "probe",
            "--from-literal=a=b",
            "--dry-run=server",
            "-o",
            "json",
        ]);
        let labels: Value = serde_json::from_str(&out.stdout)
            .map(|v: Value| v["metadata"]["labels"].clone())
            .unwrap_or_default();
        (labels == serde_json::json!({"first": "true", "second": "true"}), out.to_string())
    });
    let (f0, s0) = (first.call_count(), second.call_count());
    k.ok(&["create", "secret", "generic", "s1", "--from-literal=a=b"]);
    assert_eq!(
        (first.call_count() - f0, second.call_count() - s0),
        (2, 1),
        "IfNeeded is called again after a change"
    );
    let labels = support::get_json(&k, &["secret", "s1"])["metadata"]["labels"].clone();
    assert_eq!(labels, serde_json::json!({"first": "true", "second": "true"}));
}
