//! The plugin against an in-memory cluster: ApplyConfiguration and JSON patch mutations,
//! params, match conditions, variables, failure policies with kube's messages, and
//! reinvocation through the chain.

use super::*;
use crate::testing::MemoryContext;
use crate::Chain;
use apimachinery::UserInfo;
use serde_json::json;

fn policy(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1beta1", "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": name, "uid": format!("uid-{name}"), "generation": 1}, "spec": spec})
}

fn binding(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1beta1", "kind": "MutatingAdmissionPolicyBinding",
        "metadata": {"name": name}, "spec": spec})
}

fn pods() -> Value {
    json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}]})
}

fn apply(expression: &str) -> Value {
    json!({"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": expression}})
}

fn json_patch(expression: &str) -> Value {
    json!({"patchType": "JSONPatch", "jsonPatch": {"expression": expression}})
}

fn pod(ns: &str) -> AdmissionRequest {
    AdmissionRequest::new(
        Operation::Create,
        ("", "v1", "Pod"),
        "pods",
        ns,
        "web",
        UserInfo::new("alice", vec!["system:authenticated".into()]),
    )
    .with_object(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": ns, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]}}))
}

fn plugin(objects: &[Value]) -> MutatingAdmissionPolicy {
    let p = MutatingAdmissionPolicy::default();
    p.policies().replace_all(objects);
    p
}

fn cluster() -> MemoryContext {
    let ctx = MemoryContext::new();
    ctx.put_namespace("prod", json!({"env": "prod"}), "Active");
    ctx
}

fn spec(mutations: Value, extra: Value) -> Value {
    let mut s = json!({"failurePolicy": "Fail", "matchConstraints": pods(), "reinvocationPolicy": "Never", "mutations": mutations});
    if let (Some(s), Some(extra)) = (s.as_object_mut(), extra.as_object()) {
        s.extend(extra.clone());
    }
    s
}

#[tokio::test]
async fn an_apply_configuration_adds_a_label_and_a_sidecar() {
    let p = plugin(&[
        policy(
            "sidecar",
            spec(
                json!([apply(
                    r#"Object{metadata: Object.metadata{labels: {"injected": "true"}},
                       spec: Object.spec{containers: [Object.spec.containers{name: "proxy", image: "envoy:1"}]}}"#
                )]),
                json!({}),
            ),
        ),
        binding("sidecar", json!({"policyName": "sidecar"})),
    ]);
    let mut req = pod("prod");
    p.admit(&mut req, &cluster()).await.unwrap();
    let obj = req.object.unwrap();
    assert_eq!(obj["metadata"]["labels"], json!({"app": "web", "injected": "true"}));
    assert_eq!(
        obj["spec"]["containers"],
        json!([{"name": "app", "image": "nginx"}, {"name": "proxy", "image": "envoy:1"}])
    );
    // The change asks the chain for a second round.
    assert!(req.reinvocation.should_reinvoke);
}

#[tokio::test]
async fn json_patches_with_params_variables_and_match_conditions() {
    let ctx = cluster();
    ctx.serve_kind("", "v1", "ConfigMap", "configmaps");
    ctx.put(
        "",
        "configmaps",
        json!({"metadata": {"name": "team", "namespace": "prod"}, "data": {"team": "blue"}}),
    );
    let p = plugin(&[
        policy(
            "team",
            spec(
                json!([json_patch(
                    r#"[JSONPatch{op: "add", path: "/metadata/labels/" + jsonpatch.escapeKey(variables.key), value: params.data.team}]"#
                )]),
                json!({
                    "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
                    "variables": [{"name": "key", "expression": "'example.com/team'"}],
                    "matchConditions": [{"name": "not-system", "expression": "!object.metadata.name.startsWith('kube-')"}]
                }),
            ),
        ),
        binding(
            "team",
            json!({"policyName": "team", "paramRef": {"name": "team", "parameterNotFoundAction": "Deny"}}),
        ),
    ]);
    let mut req = pod("prod");
    p.admit(&mut req, &ctx).await.unwrap();
    assert_eq!(req.object.unwrap()["metadata"]["labels"]["example.com/team"], "blue");

    // A match condition that is false leaves the object alone.
    let mut req = pod("prod");
    req.object.as_mut().unwrap()["metadata"]["name"] = json!("kube-x");
    p.admit(&mut req, &ctx).await.unwrap();
    assert!(req.object.unwrap()["metadata"]["labels"].get("example.com/team").is_none());

    // Without the param, parameterNotFoundAction: Deny refuses with kube's text.
    ctx.remove("", "configmaps", "prod", "team");
    let e = p.admit(&mut pod("prod"), &ctx).await.unwrap_err();
    assert_eq!((e.code, e.reason), (403, StatusReason::Forbidden));
    assert_eq!(
        e.message,
        "policy 'team' with binding 'team' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction"
    );
}

#[tokio::test]
async fn failure_policies_decide_what_an_error_does() {
    let failing = |fail: &str| {
        spec(
            json!([
                json_patch(r#"[JSONPatch{op: "replace", path: "/spec/nope/x", value: 1}]"#),
                apply(r#"Object{metadata: Object.metadata{labels: {"after": "error"}}}"#)
            ]),
            json!({"failurePolicy": fail}),
        )
    };
    let p = plugin(&[policy("bad", failing("Fail")), binding("bad-binding", json!({"policyName": "bad"}))]);
    let e = p.admit(&mut pod("prod"), &cluster()).await.unwrap_err();
    assert_eq!((e.code, e.reason), (403, StatusReason::Invalid));
    assert!(
        e.message.starts_with("policy 'bad' with binding 'bad-binding' denied request: JSON Patch: "),
        "{}",
        e.message
    );
    let causes = &e.details.as_ref().unwrap().causes;
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].message, e.message);

    // Ignore: the failed mutation is skipped, the next one applies.
    let p = plugin(&[policy("bad", failing("Ignore")), binding("bad-binding", json!({"policyName": "bad"}))]);
    let mut req = pod("prod");
    p.admit(&mut req, &cluster()).await.unwrap();
    assert_eq!(req.object.unwrap()["metadata"]["labels"]["after"], "error");

    // An expression error has kube's text; atomic lists are refused.
    let p = plugin(&[
        policy(
            "eval",
            spec(json!([apply("Object{metadata: Object.metadata{labels: {'x': object.metadata.nope}}}")]), json!({})),
        ),
        binding("b", json!({"policyName": "eval"})),
        policy(
            "atomic",
            spec(
                json!([apply(
                    "Object{spec: Object.spec{containers: [Object.spec.containers{name: 'app', args: ['-v']}]}}"
                )]),
                json!({}),
            ),
        ),
        binding("c", json!({"policyName": "atomic"})),
    ]);
    let e = p.admit(&mut pod("prod"), &cluster()).await.unwrap_err();
    let causes: Vec<&str> = e.details.as_ref().unwrap().causes.iter().map(|c| c.message.as_str()).collect();
    assert_eq!(
        causes,
        vec![
            "policy 'atomic' with binding 'c' denied request: error applying patch: invalid ApplyConfiguration: may not mutate atomic arrays, maps or structs: .spec.containers[0].args",
            "policy 'eval' with binding 'b' denied request: expression 'Object{metadata: Object.metadata{labels: {'x': object.metadata.nope}}}' resulted in error: no such key: nope",
        ]
    );
}

#[tokio::test]
async fn deletes_and_policy_kinds_are_left_alone() {
    let p = plugin(&[
        policy(
            "all",
            spec(json!([apply("Object{metadata: Object.metadata{labels: {'x': 'y'}}}")]), json!({})),
        ),
        binding("all", json!({"policyName": "all"})),
    ]);
    assert!(!p.handles(Operation::Delete));
    let mut req = AdmissionRequest::new(
        Operation::Create,
        ("admissionregistration.k8s.io", "v1beta1", "MutatingAdmissionPolicy"),
        "mutatingadmissionpolicies",
        "",
        "all",
        UserInfo::default(),
    )
    .with_object(json!({"metadata": {"name": "all"}}));
    p.admit(&mut req, &cluster()).await.unwrap();
    assert_eq!(req.object.unwrap(), json!({"metadata": {"name": "all"}}));
}

/// Counts its calls and changes the object once: an in-tree plugin after the policy.
#[derive(Default)]
struct Relabel {
    calls: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl MutatingPlugin for Relabel {
    fn name(&self) -> &'static str {
        "Relabel"
    }
    fn handles(&self, _op: Operation) -> bool {
        true
    }
    async fn admit(
        &self,
        req: &mut AdmissionRequest,
        _ctx: &dyn AdmissionContext,
    ) -> Result<(), StatusError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Some(o) = req.object.as_mut() {
            o["metadata"]["labels"]["later"] = json!("yes");
        }
        Ok(())
    }
}

#[tokio::test]
async fn if_needed_policies_run_again_after_a_later_change() {
    // Counts the labels it saw: a second run sees `later`.
    let counting = |name: &str, reinvocation: &str| {
        policy(
            name,
            spec(
                json!([apply(&format!(
                    "Object{{metadata: Object.metadata{{labels: {{'{name}': string(size(object.metadata.labels))}}}}}}"
                ))]),
                json!({"reinvocationPolicy": reinvocation}),
            ),
        )
    };
    let p = plugin(&[
        counting("again", "IfNeeded"),
        binding("again", json!({"policyName": "again"})),
        counting("once", "Never"),
        binding("once", json!({"policyName": "once"})),
    ]);
    let relabel = Arc::new(Relabel::default());
    let chain = Chain::from_plugins(vec![Arc::new(p), relabel.clone()], vec![]);
    let mut req = pod("prod");
    chain.admit(&mut req, &cluster()).await.unwrap();
    let labels = req.object.unwrap()["metadata"]["labels"].clone();
    // First round: `again` saw {app}, `once` saw {app, again}; the second round runs
    // `again` alone, over {app, again, once, later}.
    assert_eq!(labels, json!({"app": "web", "again": "4", "once": "2", "later": "yes"}));
    assert_eq!(relabel.calls.load(std::sync::atomic::Ordering::SeqCst), 2);
}
