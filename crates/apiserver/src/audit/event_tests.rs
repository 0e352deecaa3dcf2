use super::*;
use crate::audit::policy::RequestAuditConfig;
use serde_json::json;

fn record(method: &str, uri: &str) -> Record {
    let (path, query) = uri.split_once('?').map(|(p, q)| (p, Some(q))).unwrap_or((uri, None));
    let info = Arc::new(RequestInfo::new(method, path, query));
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("user-agent", "kubectl/v1.33.0 (linux/amd64) kubernetes/abc")
        .header("audit-id", "8d2a3b8e-0000-4000-8000-000000000001")
        .body(())
        .unwrap();
    let id = crate::audit_flow::audit_id(req.headers());
    let mut rec = Record::start(&info, id.to_str().unwrap(), &req, "127.0.0.1".parse().unwrap());
    rec.received =
        DateTime::parse_from_rfc3339("2026-12-06T18:34:45.123456789Z").unwrap().with_timezone(&Utc);
    rec.config = Some(RequestAuditConfig { level: Level::Metadata, ..RequestAuditConfig::NONE });
    rec
}

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-06T18:34:45.200Z").unwrap().with_timezone(&Utc)
}

#[test]
fn metadata_event_in_kube_shape() {
    let mut rec = record("GET", "/api/v1/namespaces/d/pods/web?timeout=32s");
    rec.user = Some(Arc::new(UserInfo::new("jane", vec!["dev".into(), "system:authenticated".into()])));
    rec.annotations.insert(
        REASON_ANNOTATION,
        "RBAC: allowed by RoleBinding \"r/d\" of Role \"v\" to User \"jane\"".into(),
    );
    rec.annotations.insert(DECISION_ANNOTATION, "allow".into());
    rec.response_status = Some(ResponseStatus { code: 200, ..Default::default() });
    let line = String::from_utf8(rec.to_json(Stage::ResponseComplete, at())).unwrap();
    assert_eq!(
        line,
        concat!(
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"8d2a3b8e-0000-4000-8000-000000000001","#,
            r#""stage":"ResponseComplete","requestURI":"/api/v1/namespaces/d/pods/web?timeout=32s","verb":"get","#,
            r#""user":{"username":"jane","groups":["dev","system:authenticated"]},"sourceIPs":["127.0.0.1"],"#,
            r#""userAgent":"kubectl/v1.33.0 (linux/amd64) kubernetes/abc","#,
            r#""objectRef":{"resource":"pods","namespace":"d","name":"web","apiVersion":"v1"},"#,
            r#""responseStatus":{"metadata":{},"code":200},"#,
            r#""requestReceivedTimestamp":"2026-12-06T18:34:45.123456Z","stageTimestamp":"2026-12-06T18:34:45.200000Z","#,
            r#""annotations":{"authorization.k8s.io/decision":"allow","#,
            r#""authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"r/d\" of Role \"v\" to User \"jane\""}}"#
        )
    );
}

#[test]
fn admission_annotations_join_the_decision_sorted_and_escaped() {
    let mut rec = record("POST", "/api/v1/namespaces/d/configmaps");
    rec.annotations.insert(DECISION_ANNOTATION, "allow".into());
    rec.annotations.insert(REASON_ANNOTATION, "RBAC: allowed".into());
    rec.notes.annotate([
        (
            "validation.policy.admission.k8s.io/validation_failure".to_string(),
            "[{\"message\":\"<x>\"}]".to_string(),
        ),
        ("a-policy/key\"q".to_string(), "v".to_string()),
        // A key already set by the authorization filter keeps its value.
        (DECISION_ANNOTATION.to_string(), "forbid".to_string()),
    ]);
    rec.response_status = Some(ResponseStatus { code: 201, ..Default::default() });
    let line = rec.to_json(Stage::ResponseComplete, at());
    let ev: Value = serde_json::from_slice(&line).expect("valid JSON");
    let keys: Vec<&String> = ev["annotations"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "a-policy/key\"q",
            "authorization.k8s.io/decision",
            "authorization.k8s.io/reason",
            "validation.policy.admission.k8s.io/validation_failure"
        ]
    );
    assert_eq!(ev["annotations"]["authorization.k8s.io/decision"], "allow");
    assert_eq!(
        ev["annotations"]["validation.policy.admission.k8s.io/validation_failure"],
        "[{\"message\":\"<x>\"}]"
    );
    // Go's HTML-safe escaping in the value, as in every other string of the event.
    assert!(String::from_utf8_lossy(&line).contains(r#"\u003cx\u003e"#));
}

#[test]
fn request_received_has_no_status_and_its_own_time() {
    let rec = record("GET", "/healthz");
    let ev: Value = serde_json::from_slice(&rec.to_json(Stage::RequestReceived, at())).unwrap();
    assert_eq!(ev["user"], json!({}), "an unauthenticated request has an empty user");
    assert!(ev.get("responseStatus").is_none() && ev.get("objectRef").is_none());
    assert_eq!(ev["stageTimestamp"], ev["requestReceivedTimestamp"]);
    assert_eq!(ev["verb"], "get");
}

#[test]
fn error_status_and_go_escaping() {
    let mut rec = record("DELETE", "/api/v1/namespaces/d/configmaps/x");
    rec.response_status = Some(ResponseStatus {
        code: 404,
        status: "Failure".into(),
        message: "configmaps \"x\" not found <&>".into(),
        reason: "NotFound".into(),
        details: Some(json!({"name": "x", "kind": "configmaps"})),
    });
    let line = String::from_utf8(rec.to_json(Stage::ResponseComplete, at())).unwrap();
    assert!(line.contains(r#""responseStatus":{"metadata":{},"status":"Failure","message":"configmaps \"x\" not found \u003c\u0026\u003e","reason":"NotFound","details":{"name":"x","kind":"configmaps"},"code":404}"#), "{line}");
}

#[test]
fn captured_object_completes_the_reference() {
    let mut rec = record("POST", "/api/v1/namespaces/d/configmaps");
    let config = RequestAuditConfig { level: Level::Request, ..RequestAuditConfig::NONE };
    rec.config = Some(config);
    let capture = Capture::for_request(&config, &rec.info).unwrap();
    capture.object(
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": "v"}}),
    );
    rec.capture = Some(capture);
    let ev: Value = serde_json::from_slice(&rec.to_json(Stage::ResponseComplete, at())).unwrap();
    assert_eq!(
        ev["objectRef"],
        json!({"resource": "configmaps", "namespace": "d", "name": "cm", "apiVersion": "v1"})
    );
    assert_eq!(ev["requestObject"]["data"], json!({"k": "v"}));
    assert_eq!(ev["verb"], "create");
}

#[test]
fn legacy_line_as_kube_event_string() {
    let mut rec = record("GET", "/api/v1/namespaces/d/pods");
    rec.user = Some(Arc::new(UserInfo::new("jane", vec!["dev".into(), "system:authenticated".into()])));
    rec.response_status = Some(ResponseStatus { code: 200, ..Default::default() });
    assert_eq!(
        rec.to_legacy(Stage::ResponseComplete),
        concat!(
            r#"2026-12-06T18:34:45.123456789Z AUDIT: id="8d2a3b8e-0000-4000-8000-000000000001" stage="ResponseComplete" "#,
            r#"ip="127.0.0.1" method="list" user="jane" groups="\"dev\",\"system:authenticated\"" as="<self>" "#,
            r#"asgroups="<lookup>" user-agent="kubectl/v1.33.0 (linux/amd64) kubernetes/abc" namespace="d" "#,
            r#"uri="/api/v1/namespaces/d/pods" response="200""#
        )
    );
    let anon = record("GET", "/version");
    let line = anon.to_legacy(Stage::RequestReceived);
    assert!(
        line.contains(r#"user="<none>" groups="<none>""#)
            && line.ends_with(r#"namespace="<none>" uri="/version" response="<deferred>""#),
        "{line}"
    );
}

#[test]
fn source_ips_as_kube() {
    let remote: IpAddr = "10.0.0.9".parse().unwrap();
    let mut h = http::HeaderMap::new();
    assert_eq!(source_ips(&h, remote), vec![remote]);
    h.insert("x-forwarded-for", "1.2.3.4, bogus, 5.6.7.8".parse().unwrap());
    h.insert("x-real-ip", "1.2.3.4".parse().unwrap());
    let ips: Vec<String> = source_ips(&h, remote).iter().map(|i| i.to_string()).collect();
    assert_eq!(ips, ["1.2.3.4", "5.6.7.8", "10.0.0.9"]);
    h.insert("x-forwarded-for", "10.0.0.9".parse().unwrap());
    h.remove("x-real-ip");
    assert_eq!(source_ips(&h, remote), vec![remote], "the remote address is not repeated");
}

#[test]
fn long_user_agent_is_truncated() {
    let info = Arc::new(RequestInfo::new("GET", "/version", None));
    let req =
        http::Request::builder().uri("/version").header("user-agent", "x".repeat(2000)).body(()).unwrap();
    let rec = Record::start(&info, "an-id", &req, "127.0.0.1".parse().unwrap());
    assert_eq!(rec.user_agent.len(), 1024 + "...TRUNCATED".len());
    assert!(rec.user_agent.ends_with("...TRUNCATED"));
    assert_eq!(rec.id, "an-id");
}

#[test]
fn consecutive_records_of_one_user_share_its_copy() {
    let jane = UserInfo::new("jane", vec!["dev".into()]);
    let joe = UserInfo::new("joe", vec!["dev".into()]);
    let (mut a, mut b, mut c) =
        (record("GET", "/api/v1/pods"), record("GET", "/api/v1/pods"), record("GET", "/api/v1/pods"));
    a.set_user(&jane);
    b.set_user(&jane);
    c.set_user(&joe);
    let (a, b, c) = (a.user.unwrap(), b.user.unwrap(), c.user.unwrap());
    assert!(Arc::ptr_eq(&a, &b), "the same user: one copy");
    assert_eq!((*a).clone(), jane);
    assert_eq!(*c, joe, "another user: its own copy");
    let mut d = record("GET", "/api/v1/pods");
    d.set_user(&jane);
    assert!(!Arc::ptr_eq(&a, d.user.as_ref().unwrap()), "only the last user is shared");
    assert_eq!(**d.user.as_ref().unwrap(), jane);
}
