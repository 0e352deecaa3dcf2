//! The plugin against an in-memory cluster: kube's messages, codes, warnings and audit
//! annotations, params, match conditions, variables, the authorizer library and the
//! failure policies.

use super::*;
use crate::testing::MemoryContext;
use apimachinery::UserInfo;
use serde_json::json;

fn policy(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "uid": format!("uid-{name}"), "generation": 1}, "spec": spec})
}

fn binding(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name}, "spec": spec})
}

fn deployments() -> Value {
    json!({"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["deployments"]}]})
}

fn deployment(ns: &str, replicas: i64) -> AdmissionRequest {
    AdmissionRequest::new(
        Operation::Create,
        ("apps", "v1", "Deployment"),
        "deployments",
        ns,
        "web",
        UserInfo::new("alice", vec!["dev".into(), "system:authenticated".into()]),
    )
    .with_object(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns, "labels": {"team": "blue"}},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}}}}))
}

fn plugin(objects: &[Value]) -> ValidatingAdmissionPolicy {
    let p = ValidatingAdmissionPolicy::default();
    p.policies().replace_all(objects);
    p
}

fn cluster() -> MemoryContext {
    let ctx = MemoryContext::new();
    ctx.put_namespace("prod", json!({"env": "prod"}), "Active");
    ctx.put_namespace("dev", json!({"env": "dev"}), "Active");
    ctx
}

#[tokio::test]
async fn a_failed_validation_is_refused_with_kubes_message_and_code() {
    let p = plugin(&[
        policy(
            "max-replicas",
            json!({"failurePolicy": "Fail", "matchConstraints": deployments(),
            "validations": [{"expression": "object.spec.replicas <= 5"}]}),
        ),
        binding("max-replicas-binding", json!({"policyName": "max-replicas", "validationActions": ["Deny"]})),
    ]);
    let ctx = cluster();
    p.validate(&deployment("prod", 3), &ctx).await.unwrap();
    let e = p.validate(&deployment("prod", 7), &ctx).await.unwrap_err();
    let message = "ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-binding' denied request: failed expression: object.spec.replicas <= 5";
    assert_eq!((e.code, e.reason), (422, StatusReason::Invalid));
    assert_eq!(e.message, format!("deployments.apps \"web\" is forbidden: {message}"));
    let details = e.details.as_ref().unwrap();
    assert_eq!(details.causes.len(), 1);
    assert_eq!(details.causes[0].message, message);
    // Policies and bindings themselves are never checked.
    let own = AdmissionRequest::new(
        Operation::Create,
        ("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy"),
        "validatingadmissionpolicies",
        "",
        "x",
        UserInfo::default(),
    );
    p.validate(&own, &ctx).await.unwrap();
}

#[tokio::test]
async fn messages_reasons_warnings_and_audit() {
    let spec = json!({"matchConstraints": deployments(), "validations": [
        {"expression": "object.spec.replicas <= 5", "messageExpression": "'replicas ' + string(object.spec.replicas) + ' > 5'", "reason": "Forbidden"},
        {"expression": "object.metadata.name != 'web'", "message": "  no web  "}
    ]});
    let p = plugin(&[
        policy("p", spec.clone()),
        binding("deny", json!({"policyName": "p", "validationActions": ["Deny"]})),
    ]);
    let e = p.validate(&deployment("prod", 7), &cluster()).await.unwrap_err();
    assert_eq!((e.code, e.reason), (403, StatusReason::Forbidden));
    assert!(e.message.ends_with("denied request: replicas 7 > 5"), "{}", e.message);

    let p = plugin(&[
        policy("p", spec),
        binding("warn", json!({"policyName": "p", "validationActions": ["Warn", "Audit"]})),
    ]);
    let req = deployment("prod", 7);
    p.validate(&req, &cluster()).await.unwrap();
    assert_eq!(
        req.warnings(),
        vec![
            "Validation failed for ValidatingAdmissionPolicy 'p' with binding 'warn': replicas 7 > 5",
            "Validation failed for ValidatingAdmissionPolicy 'p' with binding 'warn': no web",
        ]
    );
    // One annotation per key: the first failure's.
    assert_eq!(
        req.annotations(),
        vec![(
            VALIDATION_FAILURE_KEY.to_string(),
            r#"[{"message":"replicas 7 \u003e 5","policy":"p","binding":"warn","expressionIndex":0,"validationActions":["Warn","Audit"]}]"#.to_string()
        )]
    );
}

#[tokio::test]
async fn params_from_a_configmap_per_namespace() {
    let spec = json!({"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"}, "matchConstraints": deployments(),
        "validations": [{"expression": "object.spec.replicas <= int(params.data.maxReplicas)",
            "messageExpression": "'at most ' + params.data.maxReplicas + ' replicas in ' + request.namespace"}]});
    let p = plugin(&[
        policy("replicas", spec),
        binding(
            "replicas-binding",
            json!({"policyName": "replicas", "validationActions": ["Deny"],
            "paramRef": {"name": "limits", "parameterNotFoundAction": "Deny"}}),
        ),
    ]);
    let ctx = cluster();
    ctx.put("", "configmaps", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "limits", "namespace": "prod"}, "data": {"maxReplicas": "3"}}));
    p.validate(&deployment("prod", 3), &ctx).await.unwrap();
    let e = p.validate(&deployment("prod", 4), &ctx).await.unwrap_err();
    assert!(e.message.ends_with("denied request: at most 3 replicas in prod"), "{}", e.message);
    // No param in `dev`: Deny refuses.
    let e = p.validate(&deployment("dev", 1), &ctx).await.unwrap_err();
    assert!(
        e.message.ends_with("with binding 'replicas-binding' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn match_conditions_variables_and_failure_policies() {
    let spec = |failure: &str| {
        json!({"failurePolicy": failure, "matchConstraints": deployments(),
        "matchConditions": [{"name": "not-dev", "expression": "request.namespace != 'dev'"}],
        "variables": [{"name": "images", "expression": "object.spec.template.spec.containers.map(c, c.image)"},
                      {"name": "broken", "expression": "object.spec.nope"}],
        "validations": [
            {"expression": "variables.images.all(i, !i.endsWith(':latest'))", "message": "no latest tags"},
            {"expression": "variables.broken == 1"}
        ]})
    };
    let deny = binding("b", json!({"policyName": "p", "validationActions": ["Deny"]}));
    let p = plugin(&[policy("p", spec("Fail")), deny.clone()]);
    let ctx = cluster();
    // The match condition skips dev.
    p.validate(&deployment("dev", 1), &ctx).await.unwrap();
    let e = p.validate(&deployment("prod", 1), &ctx).await.unwrap_err();
    assert!(e.message.ends_with("denied request: no latest tags"), "{}", e.message);
    // The second validation's runtime error is its own decision; the first denial wins.
    let p = plugin(&[
        policy(
            "p",
            json!({"failurePolicy": "Fail", "matchConstraints": deployments(),
            "variables": [{"name": "broken", "expression": "object.spec.nope"}],
            "validations": [{"expression": "variables.broken == 1"}]}),
        ),
        deny.clone(),
    ]);
    let e = p.validate(&deployment("prod", 1), &ctx).await.unwrap_err();
    assert!(
        e.message.ends_with(
            "denied request: expression 'variables.broken == 1' resulted in error: composited variable \"broken\" fails to evaluate: no such key: nope"
        ),
        "{}",
        e.message
    );
    let p = plugin(&[
        policy(
            "p",
            json!({"failurePolicy": "Ignore", "matchConstraints": deployments(),
            "validations": [{"expression": "object.spec.nope == 1"}]}),
        ),
        deny,
    ]);
    p.validate(&deployment("prod", 1), &ctx).await.unwrap();
}

#[tokio::test]
async fn the_authorizer_library_asks_the_servers_authorizer() {
    let spec = json!({"matchConstraints": deployments(), "validations": [{
        "expression": "!has(object.metadata.labels.team) || authorizer.group('apps').resource('deployments').namespace(object.metadata.namespace).name(object.metadata.labels.team).check('approve').allowed()",
        "messageExpression": "'only team ' + object.metadata.labels.team + ' may touch these'"}]});
    let p = plugin(&[
        policy("team", spec),
        binding("team", json!({"policyName": "team", "validationActions": ["Deny"]})),
    ]);
    let ctx = cluster();
    let e = p.validate(&deployment("prod", 1), &ctx).await.unwrap_err();
    assert!(e.message.ends_with("denied request: only team blue may touch these"), "{}", e.message);
    ctx.allow("alice", "approve", "apps", "deployments", "blue");
    p.validate(&deployment("prod", 1), &ctx).await.unwrap();
}

#[tokio::test]
async fn policies_are_compiled_once_per_generation() {
    let set = PolicySet::new();
    let p = policy("p", json!({"matchConstraints": deployments(), "validations": [{"expression": "true"}]}));
    set.apply(&p);
    let first = Arc::as_ptr(set.current().policies.get("p").unwrap());
    set.apply(&p);
    assert_eq!(first, Arc::as_ptr(set.current().policies.get("p").unwrap()));
    let mut newer = p.clone();
    newer["metadata"]["generation"] = json!(2);
    set.apply(&newer);
    assert_ne!(first, Arc::as_ptr(set.current().policies.get("p").unwrap()));
    set.remove(&newer);
    assert_eq!(set.len(), (0, 0));
}

/// A variable costing 300 000 units (three comparisons of 1 MB strings) in a moment
/// (a ConfigMap could not hold them; a Deployment's annotations here can).
const COSTLY: &str = "object.metadata.annotations.a == object.metadata.annotations.b || object.metadata.annotations.b == object.metadata.annotations.a || object.metadata.annotations.a == object.metadata.annotations.b";

#[tokio::test]
async fn variables_cost_only_when_read_and_once() {
    let many: Vec<Value> = (0..40).map(|i| json!({"name": format!("v{i}"), "expression": COSTLY})).collect();
    let all = (0..40).map(|i| format!("!variables.v{i}")).collect::<Vec<_>>().join(" && ");
    let run = |variables: Vec<Value>, validations: Vec<Value>| {
        plugin(&[
            policy(
                "p",
                json!({"failurePolicy": "Fail", "matchConstraints": deployments(),
                "variables": variables, "validations": validations}),
            ),
            binding("b", json!({"policyName": "p", "validationActions": ["Deny"]})),
        ])
    };
    let mut req = deployment("prod", 1);
    let big = "x".repeat(1_000_000);
    if let Some(meta) = req.object.as_mut().and_then(|o| o.get_mut("metadata")) {
        meta["annotations"] = json!({"a": big, "b": format!("{}y", &big[1..])});
    }
    let ctx = cluster();
    // Forty read: out of budget.
    let p = run(many.clone(), vec![json!({"expression": all})]);
    let e = p.validate(&req, &ctx).await.unwrap_err();
    assert!(e.message.ends_with(&format!("denied request: {}", evaluate::OUT_OF_BUDGET)), "{}", e.message);
    // Forty not read: nothing.
    let p = run(many, vec![json!({"expression": "true"})]);
    p.validate(&req, &ctx).await.unwrap();
    // One read forty times: once.
    let p = run(
        vec![json!({"name": "v", "expression": COSTLY})],
        vec![json!({"expression": "!variables.v"}); 40],
    );
    p.validate(&req, &ctx).await.unwrap();
}

/// The Namespace is read only for policies whose expressions name `namespaceObject`: a
/// request in a namespace the cluster lacks passes the others, and fails those with kube's 404.
#[tokio::test]
async fn the_namespace_is_read_only_when_an_expression_names_it() {
    let ctx = cluster();
    let plain = plugin(&[
        policy(
            "replicas",
            json!({"matchConstraints": deployments(), "validations": [{"expression": "object.spec.replicas <= 5"}]}),
        ),
        binding("replicas", json!({"policyName": "replicas", "validationActions": ["Deny"]})),
    ]);
    plain.validate(&deployment("ghost", 3), &ctx).await.unwrap();
    let reads = plugin(&[
        policy(
            "env",
            json!({"matchConstraints": deployments(), "validations": [{"expression": "true",
                "messageExpression": "'in ' + namespaceObject.metadata.name"}]}),
        ),
        binding("env", json!({"policyName": "env", "validationActions": ["Deny"]})),
    ]);
    reads.validate(&deployment("prod", 3), &ctx).await.unwrap();
    let e = reads.validate(&deployment("ghost", 3), &ctx).await.unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (404, "namespaces \"ghost\" not found"));
}

/// The variables hold only what the snapshot's expressions read (variables, match
/// conditions, messages and audit annotations too), and the decisions are those over
/// the whole objects.
#[tokio::test]
async fn only_what_the_policies_read_is_converted() {
    let p = plugin(&[
        policy(
            "replicas",
            json!({"matchConstraints": deployments(),
            "matchConditions": [{"name": "team", "expression": "object.metadata.labels.team != 'red'"}],
            "variables": [{"name": "spec", "expression": "object.spec"}],
            "validations": [{"expression": "variables.spec.replicas <= 5",
                "messageExpression": "'user ' + request.userInfo.username + ' asked for ' + string(object.spec.replicas)"}],
            "auditAnnotations": [{"key": "kind", "valueExpression": "request.kind.kind"}]}),
        ),
        binding("replicas", json!({"policyName": "replicas", "validationActions": ["Deny"]})),
        policy(
            "name",
            json!({"matchConstraints": deployments(), "validations": [{"expression": "has(object.metadata.name)"}]}),
        ),
        binding("name", json!({"policyName": "name", "validationActions": ["Deny"]})),
    ]);
    let snapshot = p.policies().current();
    let reads = &snapshot.reads;
    let meta = reads.object.field("metadata").unwrap();
    assert!(!meta.is_whole() && meta.field("labels").is_some() && meta.field("name").is_some());
    assert!(meta.field("uid").is_none() && reads.object.field("kind").is_none());
    assert!(reads.object.field("spec").unwrap().is_whole());
    assert!(reads.request.field("userInfo").is_some() && reads.request.field("kind").is_some());
    assert!(reads.request.field("operation").is_none());
    assert_eq!(reads.old_object, kcel::Reads::nothing());
    let ctx = cluster();
    p.validate(&deployment("prod", 3), &ctx).await.unwrap();
    let e = p.validate(&deployment("prod", 7), &ctx).await.unwrap_err();
    assert!(e.message.ends_with("denied request: user alice asked for 7"), "{}", e.message);
    // A policy that reads an object whole makes every request convert it whole.
    let whole = plugin(&[
        policy(
            "all",
            json!({"matchConstraints": deployments(), "validations": [{"expression": "size(object) > 0"}]}),
        ),
        binding("all", json!({"policyName": "all", "validationActions": ["Deny"]})),
    ]);
    assert!(whole.policies().current().reads.object.is_whole());
    whole.validate(&deployment("prod", 7), &ctx).await.unwrap();
}

/// Policies whose decisive expressions are all evaluated directly read the objects in
/// place (a message expression, run only on a failure, does not count), with the
/// decisions, messages and errors of converted objects; one interpreted expression
/// converts them for every policy; `authorizer` is bound only when read.
#[tokio::test]
async fn direct_policies_read_the_objects_in_place() {
    let direct = plugin(&[
        policy(
            "replicas",
            json!({"matchConstraints": deployments(),
            "validations": [
                {"expression": "object.spec.replicas <= 5 && request.userInfo.username != 'nobody'",
                 "messageExpression": "'user ' + request.userInfo.username + ' asked for ' + string(object.spec.replicas)"},
                {"expression": "object.spec.nope == 1"}]}),
        ),
        binding("replicas", json!({"policyName": "replicas", "validationActions": ["Deny"]})),
    ]);
    let reads = &direct.policies().current().reads;
    assert!(reads.in_place && !reads.authorizer);
    let ctx = cluster();
    // The direct evaluator gives up on the missing field: the interpreter's error.
    let e = direct.validate(&deployment("prod", 3), &ctx).await.unwrap_err();
    assert!(e.message.contains("no such key: nope"), "{}", e.message);
    let e = direct.validate(&deployment("prod", 7), &ctx).await.unwrap_err();
    assert!(e.message.contains("denied request: user alice asked for 7"), "{}", e.message);

    let interpreted = plugin(&[
        policy(
            "sum",
            json!({"matchConstraints": deployments(),
            "validations": [{"expression": "object.spec.replicas + 1 <= 6"}]}),
        ),
        binding("sum", json!({"policyName": "sum", "validationActions": ["Deny"]})),
        policy(
            "authz",
            json!({"matchConstraints": deployments(),
            "validations": [{"expression": "authorizer.requestResource.check('create').allowed() || true"}]}),
        ),
        binding("authz", json!({"policyName": "authz", "validationActions": ["Deny"]})),
    ]);
    let reads = &interpreted.policies().current().reads;
    assert!(!reads.in_place && reads.authorizer);
    interpreted.validate(&deployment("prod", 5), &ctx).await.unwrap();
    let e = interpreted.validate(&deployment("prod", 6), &ctx).await.unwrap_err();
    assert!(e.message.contains("failed expression: object.spec.replicas + 1 <= 6"), "{}", e.message);
}
