use super::*;
use crate::testing::MemoryContext;
use apimachinery::UserInfo;
use serde_json::json;

fn ctx(labels: Value) -> MemoryContext {
    let ctx = MemoryContext::new();
    ctx.put_namespace("ns", labels, "Active");
    ctx
}

fn pod(spec: Value) -> AdmissionRequest {
    AdmissionRequest::new(Operation::Create, ("", "v1", "Pod"), "pods", "ns", "", UserInfo::default())
        .with_object(json!({"metadata": {"name": "x", "namespace": "ns"}, "spec": spec}))
}

#[tokio::test]
async fn restricted_message_matches_kube() {
    let ctx = ctx(json!({"pod-security.kubernetes.io/enforce": "restricted"}));
    let e = PodSecurity
        .validate(&pod(json!({"containers": [{"name": "c", "image": "nginx"}]})), &ctx)
        .await
        .unwrap_err();
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        "pods \"x\" is forbidden: violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false (container \"c\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container \"c\" must set securityContext.capabilities.drop=[\"ALL\"]), runAsNonRoot != true (pod or container \"c\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container \"c\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
    );
}

#[tokio::test]
async fn compliant_restricted_pod_passes() {
    let ctx = ctx(
        json!({"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "v1.30"}),
    );
    let spec = json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "volumes": [{"name": "t", "projected": {"sources": []}}, {"name": "e", "emptyDir": {}}],
        "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}]});
    PodSecurity.validate(&pod(spec), &ctx).await.unwrap();
}

#[tokio::test]
async fn baseline_checks() {
    let ctx = ctx(
        json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.29"}),
    );
    let spec = json!({"hostNetwork": true, "hostPID": true,
        "securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]},
        "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
        "initContainers": [{"name": "i", "securityContext": {"privileged": true}}],
        "containers": [{"name": "a", "ports": [{"containerPort": 80, "hostPort": 8080}],
                        "securityContext": {"capabilities": {"add": ["NET_ADMIN", "CHOWN", "SYS_ADMIN"]}, "procMount": "Unmasked"}},
                       {"name": "b", "securityContext": {"privileged": true, "seccompProfile": {"type": "Unconfined"}}}]});
    let e = PodSecurity.validate(&pod(spec), &ctx).await.unwrap_err();
    assert_eq!(
        e.message,
        "pods \"x\" is forbidden: violates PodSecurity \"baseline:v1.29\": host namespaces (hostNetwork, hostPID), hostPort (container \"a\" uses hostPort 8080), privileged (containers \"i\", \"b\" must not set securityContext.privileged=true), procMount (container \"a\" must not set securityContext.procMount to \"Unmasked\"), forbidden sysctls (kernel.msgmax), non-default capabilities (container \"a\" must not include \"NET_ADMIN\", \"SYS_ADMIN\" in securityContext.capabilities.add), hostPath volumes (volume \"root\"), seccompProfile (container \"b\" must not set securityContext.seccompProfile.type to \"Unconfined\")"
    );
}

#[tokio::test]
async fn restricted_volumes_and_run_as_user() {
    let ctx = ctx(json!({"pod-security.kubernetes.io/enforce": "restricted"}));
    let spec = json!({"securityContext": {"runAsNonRoot": true, "runAsUser": 0, "seccompProfile": {"type": "Localhost"}},
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}, {"name": "n", "nfs": {"server": "s", "path": "/"}}],
        "containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]});
    let e = PodSecurity.validate(&pod(spec), &ctx).await.unwrap_err();
    assert_eq!(
        e.message,
        "pods \"x\" is forbidden: violates PodSecurity \"restricted:latest\": restricted volume types (volumes \"h\", \"n\" use restricted volume types \"hostPath\", \"nfs\"), runAsUser=0 (pod must not set runAsUser=0)"
    );
}

#[tokio::test]
async fn privileged_or_unlabelled_namespace_allows_everything() {
    let ctx = ctx(json!({}));
    PodSecurity
        .validate(&pod(json!({"hostNetwork": true, "containers": [{"name": "c"}]})), &ctx)
        .await
        .unwrap();
}

#[tokio::test]
async fn warn_label_and_workloads_produce_warnings() {
    let ctx = ctx(
        json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"}),
    );
    let req = pod(json!({"containers": [{"name": "c", "securityContext": {"allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}}]}));
    PodSecurity.validate(&req, &ctx).await.unwrap();
    assert!(req.warnings().is_empty());
    let req = pod(json!({"containers": [{"name": "c"}]}));
    PodSecurity.validate(&req, &ctx).await.unwrap();
    assert_eq!(req.warnings().len(), 1);
    assert!(req.warnings()[0]
        .starts_with("would violate PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false"));

    let deploy = AdmissionRequest::new(Operation::Create, ("apps", "v1", "Deployment"), "deployments", "ns", "", UserInfo::default())
        .with_object(json!({"metadata": {"name": "d"}, "spec": {"template": {"metadata": {}, "spec": {"hostPID": true, "containers": [{"name": "c"}]}}}}));
    PodSecurity.validate(&deploy, &ctx).await.unwrap();
    let w = deploy.warnings();
    assert_eq!(w[0], "would violate PodSecurity \"baseline:latest\": host namespaces (hostPID)");
    assert!(w[1].starts_with("would violate PodSecurity \"restricted:latest\": host namespaces (hostPID), allowPrivilegeEscalation"));
}

#[test]
fn labels_parse_with_kube_fallbacks() {
    let l = json!({"pod-security.kubernetes.io/enforce": "bogus", "pod-security.kubernetes.io/enforce-version": "v1.x"});
    assert_eq!(policy_from_labels(Some(&l), "enforce").to_string(), "restricted:latest");
    assert_eq!(policy_from_labels(None, "enforce").to_string(), "privileged:latest");
}
