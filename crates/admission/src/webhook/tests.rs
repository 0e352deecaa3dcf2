//! Webhook plugins against a real HTTPS server on 127.0.0.1.

use super::*;
use crate::testing::MemoryContext;
use apimachinery::UserInfo;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use std::sync::Arc;
use tokio::net::TcpListener;

type Handler = Arc<dyn Fn(Value) -> Value + Send + Sync>;

/// Starts an HTTPS server answering every AdmissionReview with `handler(request)`; requests to
/// `/slow` wait two seconds first. Returns the base URL and the CA bundle (base64 PEM).
async fn server(handler: Handler) -> (String, String) {
    let ca = pki::Ca::generate("webhook-ca").unwrap();
    let cert = ca.issue_serving("localhost", &["127.0.0.1".into(), "hook.ns.svc".into()]).unwrap();
    let chain: Vec<_> = rustls_pemfile::certs(&mut cert.cert_pem.as_bytes()).map(|c| c.unwrap()).collect();
    let key = rustls_pemfile::private_key(&mut cert.key_pem.as_bytes()).unwrap().unwrap();
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let handler = handler.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let handler = handler.clone();
                    async move {
                        let slow = req.uri().path() == "/slow";
                        let body = req.into_body().collect().await?.to_bytes();
                        if slow {
                            tokio::time::sleep(Duration::from_secs(2)).await;
                        }
                        let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let out = handler(review["request"].clone());
                        let answer = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": out});
                        Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from(
                            answer.to_string(),
                        ))))
                    }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), svc).await;
            });
        }
    });
    let bundle = base64::engine::general_purpose::STANDARD.encode(ca.cert_pem.as_bytes());
    (format!("https://127.0.0.1:{}", addr.port()), bundle)
}

fn config(ctx: &MemoryContext, resource: &str, kind: &str, webhook: Value) {
    ctx.put(
        GROUP,
        resource,
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
        "metadata": {"name": "cfg"}, "webhooks": [webhook]}),
    );
}

fn webhook(name: &str, url: &str, ca: &str, extra: Value) -> Value {
    let mut w = json!({"name": name, "clientConfig": {"url": url, "caBundle": ca},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
        "sideEffects": "None", "admissionReviewVersions": ["v1"]});
    if let (Some(w), Some(e)) = (w.as_object_mut(), extra.as_object()) {
        w.extend(e.clone());
    }
    w
}

fn pod_create() -> AdmissionRequest {
    AdmissionRequest::new(
        Operation::Create,
        ("", "v1", "Pod"),
        "pods",
        "ns",
        "p",
        UserInfo::new("alice", vec![]),
    )
    .with_object(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": {}}),
    )
}

#[tokio::test]
async fn validating_webhook_denial_uses_kube_message() {
    let (url, ca) = server(Arc::new(|r: Value| {
        json!({"uid": r["uid"], "allowed": false, "status": {"code": 403, "reason": "Forbidden", "message": "no pods today"}})
    }))
    .await;
    let ctx = MemoryContext::new();
    config(
        &ctx,
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        webhook("deny.example.com", &url, &ca, json!({})),
    );
    let e = ValidatingWebhook::default().validate(&pod_create(), &ctx).await.unwrap_err();
    assert_eq!((e.code, e.reason), (403, apimachinery::StatusReason::Forbidden));
    assert_eq!(e.message, "admission webhook \"deny.example.com\" denied the request: no pods today");
    // an update is not covered by the rule
    let mut upd = pod_create();
    upd.operation = Operation::Update;
    ValidatingWebhook::default().validate(&upd, &ctx).await.unwrap();
}

#[tokio::test]
async fn mutating_webhook_applies_json_patch_and_sees_the_request() {
    let (url, ca) = server(Arc::new(|r: Value| {
        assert_eq!(r["kind"], json!({"group": "", "version": "v1", "kind": "Pod"}));
        assert_eq!(r["userInfo"]["username"], "alice");
        assert_eq!(r["operation"], "CREATE");
        let patch = json!([{"op": "add", "path": "/metadata/labels", "value": {"injected": r["object"]["metadata"]["name"]}}]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(patch.to_string());
        json!({"uid": r["uid"], "allowed": true, "patchType": "JSONPatch", "patch": b64, "warnings": ["patched"]})
    }))
    .await;
    let ctx = MemoryContext::new();
    config(
        &ctx,
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        webhook("inject.example.com", &url, &ca, json!({})),
    );
    let mut req = pod_create();
    MutatingWebhook::default().admit(&mut req, &ctx).await.unwrap();
    assert_eq!(req.object.as_ref().unwrap()["metadata"]["labels"], json!({"injected": "p"}));
    assert_eq!(req.warnings(), vec!["patched"]);
}

#[tokio::test]
async fn failure_policy_timeout_and_service_refs() {
    let (url, ca) = server(Arc::new(|r: Value| json!({"uid": r["uid"], "allowed": true}))).await;
    let ctx = MemoryContext::new();
    let slow = format!("{url}/slow");
    config(
        &ctx,
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        webhook("slow.example.com", &slow, &ca, json!({"timeoutSeconds": 1, "failurePolicy": "Fail"})),
    );
    let e = ValidatingWebhook::default().validate(&pod_create(), &ctx).await.unwrap_err();
    assert_eq!(e.code, 500);
    assert_eq!(
        e.message,
        format!("Internal error occurred: failed calling webhook \"slow.example.com\": failed to call webhook: Post \"{slow}\": context deadline exceeded")
    );
    config(
        &ctx,
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        webhook("slow.example.com", &slow, &ca, json!({"timeoutSeconds": 1, "failurePolicy": "Ignore"})),
    );
    ValidatingWebhook::default().validate(&pod_create(), &ctx).await.unwrap();

    // A service reference: refused while the Service is missing, called at its endpoint
    // (the certificate checked for hook.ns.svc) once it has one.
    let svc = json!({"name": "svc.example.com", "clientConfig": {"service": {"namespace": "ns", "name": "hook", "path": "/"}, "caBundle": ca},
        "rules": [{"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"]}],
        "sideEffects": "None", "admissionReviewVersions": ["v1"]});
    config(&ctx, "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", svc);
    let e = ValidatingWebhook::default().validate(&pod_create(), &ctx).await.unwrap_err();
    assert!(
        e.message.ends_with("failed calling webhook \"svc.example.com\": service ns/hook not found"),
        "{}",
        e.message
    );
    let port: u16 = url.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap();
    ctx.put(
        "",
        "services",
        json!({"metadata": {"name": "hook", "namespace": "ns"}, "spec": {"ports": [{"port": 443}]}}),
    );
    ctx.put(
        "",
        "endpoints",
        json!({"metadata": {"name": "hook", "namespace": "ns"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": port}]}]}),
    );
    ValidatingWebhook::default().validate(&pod_create(), &ctx).await.unwrap();

    // a CA that did not sign the server certificate fails the TLS handshake
    let other = pki::Ca::generate("other").unwrap();
    let wrong = base64::engine::general_purpose::STANDARD.encode(other.cert_pem.as_bytes());
    config(
        &ctx,
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        webhook("tls.example.com", &url, &wrong, json!({})),
    );
    let e = ValidatingWebhook::default().validate(&pod_create(), &ctx).await.unwrap_err();
    assert!(
        e.message.contains("failed calling webhook \"tls.example.com\": failed to call webhook: Post"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn selectors_skip_unselected_requests() {
    let (url, ca) = server(Arc::new(|r: Value| json!({"uid": r["uid"], "allowed": false}))).await;
    let ctx = MemoryContext::new();
    ctx.put_namespace("ns", json!({"env": "dev"}), "Active");
    let sel = json!({"namespaceSelector": {"matchLabels": {"env": "prod"}}});
    config(
        &ctx,
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        webhook("prod-only", &url, &ca, sel),
    );
    ValidatingWebhook::default().validate(&pod_create(), &ctx).await.unwrap();
    ctx.put_namespace("ns", json!({"env": "prod"}), "Active");
    let e = ValidatingWebhook::default().validate(&pod_create(), &ctx).await.unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (400, "admission webhook \"prod-only\" denied the request without explanation")
    );
    let obj = json!({"objectSelector": {"matchExpressions": [{"key": "skip", "operator": "DoesNotExist"}]}});
    config(
        &ctx,
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        webhook("obj", &url, &ca, obj),
    );
    let mut req = pod_create();
    req.object.as_mut().unwrap()["metadata"]["labels"] = json!({"skip": "yes"});
    ValidatingWebhook::default().validate(&req, &ctx).await.unwrap();
    // dry run against a webhook with side effects is refused
    let fx = webhook("fx", &url, &ca, json!({"sideEffects": "Some"}));
    config(&ctx, "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", fx);
    let e = ValidatingWebhook::default().validate(&pod_create().with_dry_run(true), &ctx).await.unwrap_err();
    assert_eq!(e.message, "admission webhook \"fx\" does not support dry run");
}

#[tokio::test]
async fn one_target_per_client_config_across_requests() {
    let (url, ca) = server(Arc::new(|r: Value| json!({"uid": r["uid"], "allowed": true}))).await;
    let ctx = MemoryContext::new();
    config(
        &ctx,
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        webhook("allow.example.com", &url, &ca, json!({})),
    );
    let plugin = ValidatingWebhook::default();
    for _ in 0..3 {
        plugin.validate(&pod_create(), &ctx).await.unwrap();
    }
    assert_eq!(plugin.clients.len(), 1);
    // Another timeout is another client configuration.
    config(
        &ctx,
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        webhook("allow.example.com", &url, &ca, json!({"timeoutSeconds": 3})),
    );
    plugin.validate(&pod_create(), &ctx).await.unwrap();
    assert_eq!(plugin.clients.len(), 2);
}

#[tokio::test]
async fn match_conditions_decide_before_the_call() {
    let (url, ca) = server(Arc::new(
        |r: Value| json!({"uid": r["uid"], "allowed": false, "status": {"code": 403, "message": "called"}}),
    ))
    .await;
    let ctx = MemoryContext::new();
    let with = |conditions: Value, failure: &str| {
        webhook(
            "cond.example.com",
            &url,
            &ca,
            json!({"matchConditions": conditions, "failurePolicy": failure}),
        )
    };
    let hooks = "validatingwebhookconfigurations";
    let kind = "ValidatingWebhookConfiguration";
    // A false condition skips the webhook.
    config(
        &ctx,
        hooks,
        kind,
        with(json!([{"name": "not-p", "expression": "object.metadata.name != 'p'"}]), "Fail"),
    );
    ValidatingWebhook::default().validate(&pod_create(), &ctx).await.unwrap();
    // True ones call it; the request and the authorizer are there.
    let yes = json!([{"name": "alice", "expression": "request.userInfo.username == 'alice'"},
        {"name": "authz", "expression": "!authorizer.group('').resource('pods').check('delete').allowed()"}]);
    config(&ctx, hooks, kind, with(yes, "Fail"));
    let e = ValidatingWebhook::default().validate(&pod_create(), &ctx).await.unwrap_err();
    assert!(e.message.ends_with("denied the request: called"), "{}", e.message);
    // An error: Fail refuses with kube's Forbidden, Ignore skips.
    let broken = json!([{"name": "broken", "expression": "object.nope == 1"}]);
    config(&ctx, hooks, kind, with(broken.clone(), "Fail"));
    let e = ValidatingWebhook::default().validate(&pod_create(), &ctx).await.unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (403, "pods \"p\" is forbidden: expression 'object.nope == 1' resulted in error: no such key: nope")
    );
    config(&ctx, hooks, kind, with(broken, "Ignore"));
    ValidatingWebhook::default().validate(&pod_create(), &ctx).await.unwrap();
}

fn labeller(label: &'static str, calls: Arc<std::sync::atomic::AtomicUsize>) -> Handler {
    Arc::new(move |r: Value| {
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let labels = r["object"]["metadata"]["labels"].clone();
        let mut out = json!({"uid": r["uid"], "allowed": true});
        if labels.get(label).is_none() {
            let mut next = labels.as_object().cloned().unwrap_or_default();
            next.insert(label.into(), json!("set"));
            let patch = json!([{"op": "add", "path": "/metadata/labels", "value": next}]);
            out["patchType"] = json!("JSONPatch");
            out["patch"] = json!(base64::engine::general_purpose::STANDARD.encode(patch.to_string()));
        }
        out
    })
}

#[tokio::test]
async fn if_needed_webhooks_are_called_again_after_a_later_change() {
    for (policy, expected_first_calls) in [("IfNeeded", 2), ("Never", 1)] {
        let (a_calls, b_calls) = (Arc::new(Default::default()), Arc::new(Default::default()));
        let (a_url, a_ca) = server(labeller("a", Arc::clone(&a_calls))).await;
        let (b_url, b_ca) = server(labeller("b", Arc::clone(&b_calls))).await;
        let ctx = MemoryContext::new();
        for (name, hook) in [
            ("1-first", webhook("a.example.com", &a_url, &a_ca, json!({"reinvocationPolicy": policy}))),
            ("2-second", webhook("b.example.com", &b_url, &b_ca, json!({}))),
        ] {
            ctx.put(
                GROUP,
                "mutatingwebhookconfigurations",
                json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                    "metadata": {"name": name}, "webhooks": [hook]}),
            );
        }
        let chain = crate::Chain::from_plugins(vec![Arc::new(MutatingWebhook::default())], Vec::new());
        let mut req = pod_create();
        chain.admit(&mut req, &ctx).await.unwrap();
        assert_eq!(req.object.as_ref().unwrap()["metadata"]["labels"], json!({"a": "set", "b": "set"}));
        let calls = |c: &Arc<std::sync::atomic::AtomicUsize>| c.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!((calls(&a_calls), calls(&b_calls)), (expected_first_calls, 1), "{policy}");
    }
}

/// A plugin after the webhooks that asks for the second round, changing the object or not.
struct Rerun {
    change: bool,
}

#[async_trait::async_trait]
impl crate::MutatingPlugin for Rerun {
    fn name(&self) -> &'static str {
        "Rerun"
    }
    fn handles(&self, _op: Operation) -> bool {
        true
    }
    async fn admit(
        &self,
        req: &mut AdmissionRequest,
        _ctx: &dyn AdmissionContext,
    ) -> Result<(), StatusError> {
        if !req.reinvocation.is_reinvoke {
            req.reinvocation.should_reinvoke = true;
            if self.change {
                if let Some(o) = req.object.as_mut() {
                    o["metadata"]["annotations"] = json!({"rerun": "yes"});
                }
            }
        }
        Ok(())
    }
}

#[tokio::test]
async fn if_needed_webhooks_are_called_again_only_when_a_later_plugin_changed_the_object() {
    for (change, expected_calls) in [(true, 2), (false, 1)] {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::default());
        let (url, ca) = server(labeller("a", Arc::clone(&calls))).await;
        let ctx = MemoryContext::new();
        ctx.put(
            GROUP,
            "mutatingwebhookconfigurations",
            json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                "metadata": {"name": "cfg"},
                "webhooks": [webhook("a.example.com", &url, &ca, json!({"reinvocationPolicy": "IfNeeded"}))]}),
        );
        let chain = crate::Chain::from_plugins(
            vec![Arc::new(MutatingWebhook::default()), Arc::new(Rerun { change })],
            Vec::new(),
        );
        let mut req = pod_create();
        chain.admit(&mut req, &ctx).await.unwrap();
        assert_eq!(req.object.as_ref().unwrap()["metadata"]["labels"], json!({"a": "set"}));
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), expected_calls, "change: {change}");
    }
    // Without an IfNeeded webhook nothing is kept for the comparison.
    let ctx = MemoryContext::new();
    let mut req = pod_create();
    MutatingWebhook::default().admit(&mut req, &ctx).await.unwrap();
    assert!(req.reinvocation.last_webhook_output.is_none());
}

#[tokio::test]
async fn equivalent_resources_match_and_are_sent_at_the_matched_version() {
    let (url, ca) = server(Arc::new(|r: Value| {
        let ok = r["kind"] == json!({"group": "example.com", "version": "v2", "kind": "Widget"})
            && r["requestKind"] == json!({"group": "example.com", "version": "v1", "kind": "Widget"})
            && r["object"]["apiVersion"] == "example.com/v2";
        json!({"uid": r["uid"], "allowed": false, "status": {"code": 403, "message": format!("seen as v2: {ok}")}})
    }))
    .await;
    let ctx = MemoryContext::new();
    let widgets = |v: &str| KindResource {
        group: "example.com".into(),
        version: v.into(),
        resource: "widgets".into(),
        kind: "Widget".into(),
        namespaced: true,
    };
    ctx.equivalent(vec![widgets("v1"), widgets("v2")]);
    ctx.put_namespace("ns", json!({}), "Active");
    let v2_rule = json!({"rules": [{"operations": ["CREATE"], "apiGroups": ["example.com"], "apiVersions": ["v2"], "resources": ["widgets"]}]});
    let hooks = "validatingwebhookconfigurations";
    let kind = "ValidatingWebhookConfiguration";
    config(&ctx, hooks, kind, webhook("w.example.com", &url, &ca, v2_rule.clone()));
    let req = AdmissionRequest::new(
        Operation::Create,
        ("example.com", "v1", "Widget"),
        "widgets",
        "ns",
        "w",
        UserInfo::default(),
    )
    .with_object(json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}));
    let e = ValidatingWebhook::default().validate(&req, &ctx).await.unwrap_err();
    assert!(e.message.ends_with("seen as v2: true"), "{}", e.message);
    let mut exact = webhook("w.example.com", &url, &ca, v2_rule);
    exact["matchPolicy"] = json!("Exact");
    config(&ctx, hooks, kind, exact);
    ValidatingWebhook::default().validate(&req, &ctx).await.unwrap();
}

#[tokio::test]
async fn a_fed_source_replaces_the_per_request_list() {
    let (url, ca) = server(Arc::new(|r: Value| {
        json!({"uid": r["uid"], "allowed": false, "status": {"code": 403, "reason": "Forbidden", "message": "fed"}})
    }))
    .await;
    let deny = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "cfg"}, "webhooks": [webhook("deny.example.com", &url, &ca, json!({}))]});
    let plugin = ValidatingWebhook::default();
    let source = plugin.source();
    // Not fed yet: the configurations are listed from the context.
    let listed = MemoryContext::new();
    listed.put(GROUP, "validatingwebhookconfigurations", deny.clone());
    assert!(plugin.validate(&pod_create(), &listed).await.is_err());
    // Fed: the source is the state, whatever the context holds.
    source.replace_all(std::iter::empty());
    plugin.validate(&pod_create(), &listed).await.unwrap();
    let empty = MemoryContext::new();
    source.apply(&deny);
    let e = plugin.validate(&pod_create(), &empty).await.unwrap_err();
    assert_eq!(e.message, "admission webhook \"deny.example.com\" denied the request: fed");
    source.remove(&deny);
    plugin.validate(&pod_create(), &empty).await.unwrap();
    // A mutating configuration is not the validating plugin's.
    let mut mutating = deny.clone();
    mutating["kind"] = json!("MutatingWebhookConfiguration");
    source.apply(&mutating);
    plugin.validate(&pod_create(), &empty).await.unwrap();
}
