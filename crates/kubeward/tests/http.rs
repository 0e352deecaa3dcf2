//! HTTP-level checks with `curl`: status codes and kube's exact `Status` bodies for
//! authentication failures, authorization denials, missing objects, conflicts, bad bodies and
//! oversized bodies. Skipped, with a note, when `curl` is not installed.

mod support;

use std::path::PathBuf;
use support::Server;

/// Who a request is made as.
enum As {
    Anonymous,
    /// Certificate and key files.
    Cert(PathBuf, PathBuf),
}

struct Reply {
    code: u16,
    content_type: String,
    body: String,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The body as kube writes it: compact JSON and a trailing newline (not checked).
    fn assert_status(&self, code: u16, expected: &str) {
        assert_eq!(self.code, code, "{}", self.body);
        assert_eq!(self.body.trim_end(), expected, "exact Status body");
        assert!(self.content_type.starts_with("application/json"), "content type {:?}", self.content_type);
    }
}

struct Curl<'a> {
    server: &'a Server,
    n: std::cell::Cell<u32>,
}

impl<'a> Curl<'a> {
    fn new(server: &'a Server) -> Option<Self> {
        if !support::have_program("curl") {
            support::missing("curl");
            return None;
        }
        Some(Curl { server, n: std::cell::Cell::new(0) })
    }

    fn admin(&self) -> As {
        let pki = self.server.pki_dir();
        As::Cert(pki.join("admin.crt"), pki.join("admin.key"))
    }

    fn files(&self, name: &str, cert: &str, key: &str) -> As {
        let dir = self.server.scratch("certs");
        let (c, k) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
        std::fs::write(&c, cert).expect("write cert");
        std::fs::write(&k, key).expect("write key");
        As::Cert(c, k)
    }

    fn user(&self, user: &str, groups: &[&str]) -> As {
        let (cert, key) = self.server.issue_client(user, groups);
        self.files(user, &cert, &key)
    }

    fn request(&self, who: &As, method: &str, path: &str, body: Option<&[u8]>, headers: &[&str]) -> Reply {
        let n = self.n.get() + 1;
        self.n.set(n);
        let dir = self.server.scratch("curl");
        let out = dir.join(format!("{n}.out"));
        let mut cmd = std::process::Command::new("curl");
        cmd.args(["-sS", "-X", method, "-A", "kubeward-e2e", "-o"])
            .arg(&out)
            .args(["-w", "%{http_code}\n%{content_type}"])
            .arg("--cacert")
            .arg(self.server.pki_dir().join("ca.crt"));
        if let As::Cert(c, k) = who {
            cmd.arg("--cert").arg(c).arg("--key").arg(k);
        }
        for h in headers {
            cmd.args(["-H", h]);
        }
        if let Some(b) = body {
            let f = dir.join(format!("{n}.in"));
            std::fs::write(&f, b).expect("write body");
            cmd.arg("--data-binary").arg(format!("@{}", f.display()));
            if b.len() > 1 << 20 {
                // The server answers 413 before the upload ends and then resets the HTTP/2
                // stream; Go clients (kubectl) read the answer, curl 7.88 reports error 92.
                cmd.arg("--http1.1");
            }
            if !headers.iter().any(|h| h.to_ascii_lowercase().starts_with("content-type:")) {
                cmd.args(["-H", "Content-Type: application/json"]);
            }
        }
        cmd.arg(format!("{}{path}", self.server.url));
        let res = support::run(cmd, support::COMMAND_TIMEOUT);
        res.assert_ok();
        let mut meta = res.stdout.lines();
        let code = meta.next().and_then(|c| c.trim().parse().ok()).unwrap_or_else(|| panic!("{res}"));
        let content_type = meta.next().unwrap_or_default().to_string();
        let body = std::fs::read_to_string(&out).unwrap_or_default();
        Reply { code, content_type, body }
    }

    fn get(&self, who: &As, path: &str) -> Reply {
        self.request(who, "GET", path, None, &[])
    }
}

const UNAUTHORIZED: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#;

#[test]
fn authentication() {
    let server = Server::start();
    let Some(curl) = Curl::new(&server) else { return };

    let r = curl.get(&As::Anonymous, "/healthz");
    assert_eq!((r.code, r.body.as_str()), (200, "ok"));
    for path in ["/livez", "/readyz"] {
        assert_eq!(curl.get(&As::Anonymous, path).code, 200, "{path}");
    }

    // Anonymous requests are only let in for health checks.
    curl.get(&As::Anonymous, "/api/v1/pods").assert_status(401, UNAUTHORIZED);
    curl.get(&As::Anonymous, "/api/v1/namespaces/default/configmaps").assert_status(401, UNAUTHORIZED);

    // A certificate from another CA (even naming the admin) is refused per request, not at TLS.
    let other = pki::Ca::generate("someone-else").expect("other CA");
    let cert = other.issue_client("kubeward-admin", &[]).expect("cert");
    let stranger = curl.files("stranger", &cert.cert_pem, &cert.key_pem);
    curl.get(&stranger, "/api/v1/pods").assert_status(401, UNAUTHORIZED);

    // The admin's certificate works.
    let r = curl.get(&curl.admin(), "/api/v1/namespaces");
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(r.json()["kind"], "NamespaceList");

    // The identity comes from the certificate: CN is the user, O the groups.
    let jane = curl.user("jane", &["devs", "qa"]);
    let r = curl.request(
        &jane,
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        Some(br#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#),
        &[],
    );
    assert_eq!(r.code, 201, "{}", r.body);
    let info = &r.json()["status"]["userInfo"];
    assert_eq!(info["username"], "jane", "{}", r.body);
    let groups = info["groups"].as_array().cloned().unwrap_or_default();
    for g in ["devs", "qa", "system:authenticated"] {
        assert!(groups.iter().any(|x| x == g), "{g} missing: {}", r.body);
    }
}

#[test]
fn authorization_messages() {
    let server = Server::start();
    let Some(curl) = Curl::new(&server) else { return };
    let jane = curl.user("jane", &["devs"]);

    curl.get(&jane, "/api/v1/namespaces/default/pods").assert_status(
        403,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"jane\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}"#,
    );
    curl.get(&jane, "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin").assert_status(
        403,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"clusterroles.rbac.authorization.k8s.io \"admin\" is forbidden: User \"jane\" cannot get resource \"clusterroles\" in API group \"rbac.authorization.k8s.io\" at the cluster scope","reason":"Forbidden","details":{"name":"admin","group":"rbac.authorization.k8s.io","kind":"clusterroles"},"code":403}"#,
    );
    // Authenticated users may discover the API (system:discovery) but not read /metrics.
    assert_eq!(curl.get(&jane, "/api").code, 200);
    assert_eq!(curl.get(&jane, "/version").code, 200);

    // Impersonation is itself authorized with the `impersonate` verb.
    let r = curl.request(
        &jane,
        "GET",
        "/api/v1/namespaces/default/pods",
        None,
        &["Impersonate-User: kubeward-admin"],
    );
    r.assert_status(
        403,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"users \"kubeward-admin\" is forbidden: User \"jane\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope","reason":"Forbidden","details":{"name":"kubeward-admin","kind":"users"},"code":403}"#,
    );
    let admin = curl.admin();
    let r = curl.request(&admin, "GET", "/api/v1/namespaces/default/pods", None, &["Impersonate-User: jane"]);
    assert_eq!(r.code, 403, "the admin impersonating jane has jane's rights: {}", r.body);
}

#[test]
fn request_errors() {
    let server = Server::start();
    let Some(curl) = Curl::new(&server) else { return };
    let admin = curl.admin();
    let cms = "/api/v1/namespaces/default/configmaps";

    // Unknown resource and missing object.
    let r = curl.get(&admin, "/api/v1/namespaces/default/widgets");
    assert_eq!(r.code, 404, "unknown resource: {}", r.body);
    let r = curl.get(&admin, "/apis/nosuch.example.com/v1/things");
    assert_eq!(r.code, 404, "unknown group: {}", r.body);
    curl.get(&admin, &format!("{cms}/missing")).assert_status(
        404,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"missing\" not found","reason":"NotFound","details":{"name":"missing","kind":"configmaps"},"code":404}"#,
    );
    curl.get(&admin, "/apis/apps/v1/namespaces/default/deployments/web").assert_status(
        404,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \"web\" not found","reason":"NotFound","details":{"name":"web","group":"apps","kind":"deployments"},"code":404}"#,
    );

    // Create, then AlreadyExists.
    let cm = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"1"}}"#;
    let r = curl.request(&admin, "POST", cms, Some(cm), &[]);
    assert_eq!(r.code, 201, "{}", r.body);
    let stale_rv = r.json()["metadata"]["resourceVersion"].as_str().expect("resourceVersion").to_string();
    curl.request(&admin, "POST", cms, Some(cm), &[]).assert_status(
        409,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"cfg\" already exists","reason":"AlreadyExists","details":{"name":"cfg","kind":"configmaps"},"code":409}"#,
    );

    // Optimistic concurrency: an update at the current version wins, a stale one is refused.
    let put = |rv: &str, value: &str| {
        let body = format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"cfg","resourceVersion":"{rv}"}},"data":{{"a":"{value}"}}}}"#
        );
        curl.request(&admin, "PUT", &format!("{cms}/cfg"), Some(body.as_bytes()), &[])
    };
    let r = put(&stale_rv, "2");
    assert_eq!(r.code, 200, "{}", r.body);
    assert_ne!(r.json()["metadata"]["resourceVersion"].as_str(), Some(stale_rv.as_str()));
    put(&stale_rv, "3").assert_status(
        409,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on configmaps \"cfg\": the object has been modified; please apply your changes to the latest version and try again","reason":"Conflict","details":{"name":"cfg","kind":"configmaps"},"code":409}"#,
    );
    assert_eq!(curl.get(&admin, &format!("{cms}/cfg")).json()["data"]["a"], "2");

    // Validation: neither name nor generateName.
    curl.request(&admin, "POST", cms, Some(br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}"#), &[]).assert_status(
        422,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required","reason":"Invalid","details":{"kind":"ConfigMap","causes":[{"reason":"FieldValueRequired","message":"Required value: name or generateName is required","field":"metadata.name"}]},"code":422}"#,
    );

    // Malformed JSON.
    let r = curl.request(
        &admin,
        "POST",
        cms,
        Some(br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"#),
        &[],
    );
    assert_eq!(r.code, 400, "{}", r.body);
    let s = r.json();
    assert_eq!(
        (s["kind"].as_str(), s["reason"].as_str(), s["code"].as_u64()),
        (Some("Status"), Some("BadRequest"), Some(400))
    );

    // Unknown field: rejected with fieldValidation=Strict, dropped without it.
    let bogus = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"strict"},"bogus":1}"#;
    let r = curl.request(&admin, "POST", &format!("{cms}?fieldValidation=Strict"), Some(bogus), &[]);
    assert_eq!(r.code, 400, "{}", r.body);
    let s = r.json();
    assert_eq!(s["reason"], "BadRequest", "{}", r.body);
    assert!(s["message"].as_str().is_some_and(|m| m.contains(r#"unknown field "bogus""#)), "{}", r.body);
    let r = curl.request(&admin, "POST", &format!("{cms}?fieldValidation=Ignore"), Some(bogus), &[]);
    assert_eq!(r.code, 201, "{}", r.body);
    assert!(r.json().get("bogus").is_none(), "{}", r.body);

    // A body over the 3 MiB limit.
    let big = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"x":"{}"}}}}"#,
        "a".repeat(4 << 20)
    );
    curl.request(&admin, "POST", cms, Some(big.as_bytes()), &[]).assert_status(
        413,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Request entity too large: limit is 3145728","reason":"RequestEntityTooLarge","code":413}"#,
    );
    assert_eq!(curl.get(&admin, &format!("{cms}/big")).code, 404, "the oversized object must not be stored");
}

/// The review APIs answer for someone else (SAR, LSAR) and check tokens (TokenReview).
#[test]
fn access_reviews() {
    let server = Server::start();
    let Some(curl) = Curl::new(&server) else { return };
    let admin = curl.admin();
    let review = |path: &str, body: &str| {
        let r = curl.request(&admin, "POST", path, Some(body.as_bytes()), &[]);
        assert_eq!(r.code, 201, "{path}: {}", r.body);
        r.json()
    };
    let sar = |user: &str, group: &str, verb: &str, resource: &str| {
        let body = format!(
            r#"{{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{{"user":"{user}","groups":["{group}"],"resourceAttributes":{{"namespace":"default","verb":"{verb}","resource":"{resource}"}}}}}}"#
        );
        review("/apis/authorization.k8s.io/v1/subjectaccessreviews", &body)
    };
    assert_eq!(sar("jane", "devs", "list", "pods")["status"]["allowed"], false);
    assert_eq!(sar("root", "system:masters", "delete", "secrets")["status"]["allowed"], true);

    let lsar = review(
        "/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews",
        r#"{"apiVersion":"authorization.k8s.io/v1","kind":"LocalSubjectAccessReview","metadata":{"namespace":"default"},"spec":{"user":"kubeward-admin","resourceAttributes":{"namespace":"default","verb":"get","resource":"configmaps"}}}"#,
    );
    assert_eq!(lsar["status"]["allowed"], true, "{lsar}");

    let tr = review(
        "/apis/authentication.k8s.io/v1/tokenreviews",
        r#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"not-a-real-token"}}"#,
    );
    assert_ne!(tr["status"]["authenticated"], true, "{tr}");
}

/// An update without a resourceVersion is unconditional: when another writer comes between
/// the server's read and its write, the server tries again on the newer object (kube's
/// GuaranteedUpdate) instead of answering 409. Kubernetes' e2e ResourceQuota test updates a
/// quota this way while the quota controller writes its status.
#[test]
fn unconditional_updates_never_conflict() {
    use support::more::Cluster;
    let server = Server::start();
    if !support::have_program("curl") {
        support::missing("curl");
        return;
    }
    let cms = "/api/v1/namespaces/default/configmaps";
    let create = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"contended"},"data":{"n":"0"}}"#;
    let h = server.admin_curl(cms, &["-X", "POST", "-H", "Content-Type: application/json", "--data", create]);
    assert_eq!(h.status, 201, "{h}");
    let path = format!("{cms}/contended");
    let codes: Vec<u16> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..6)
            .map(|w| {
                let (server, path) = (&server, &path);
                s.spawn(move || {
                    (0..5)
                        .map(|i| {
                            let body = format!(
                                r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"contended"}},"data":{{"n":"{w}-{i}"}}}}"#
                            );
                            let args = ["-X", "PUT", "-H", "Content-Type: application/json", "--data", &body];
                            server.admin_curl(path, &args).status
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("worker")).collect()
    });
    assert!(codes.iter().all(|c| *c == 200), "{codes:?}");
}

/// The review APIs have no Table form: asking for one alone is kube's 406 (Kubernetes' e2e
/// "should return a 406 for a backend which does not implement metadata"); a Table with a
/// JSON fallback gets JSON.
#[test]
fn reviews_refuse_a_table() {
    use support::more::Cluster;
    let server = Server::start();
    if !support::have_program("curl") {
        support::missing("curl");
        return;
    }
    let path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    let body = r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"nonResourceAttributes":{"path":"/","verb":"get"}}}"#;
    let post = |accept: &str| {
        server.admin_curl(
            path,
            &[
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "-H",
                &format!("Accept: {accept}"),
                "--data",
                body,
            ],
        )
    };
    let refused = post("application/json;as=Table;v=v1;g=meta.k8s.io");
    assert_eq!(refused.status, 406, "{refused}");
    assert_eq!(
        refused.body.trim(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf","reason":"NotAcceptable","code":406}"#
    );
    let fallback = post("application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
    assert_eq!(fallback.status, 201, "{fallback}");
    assert_eq!(fallback.json()["status"]["allowed"], true);
}

/// Repeated keys in a JSON body, as kube's strict decoder reports them (after the unknown
/// fields): refused with `fieldValidation=Strict`, a warning by default (Kubernetes' e2e
/// "FieldValidation should detect unknown and duplicate fields of a typed object").
#[test]
fn duplicate_fields_are_refused_when_strict_and_warned_about_otherwise() {
    use support::more::Cluster;
    let server = Server::start();
    if !support::have_program("curl") {
        support::missing("curl");
        return;
    }
    let deployment = |name: &str| {
        format!(
            r#"{{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"name":"{name}"}},"spec":{{"unknownField":"foo","replicas":2,"replicas":3,"selector":{{"matchLabels":{{"app":"x"}}}},"template":{{"metadata":{{"labels":{{"app":"x"}}}},"spec":{{"containers":[{{"name":"c","image":"nginx"}}]}}}}}}}}"#
        )
    };
    let path = "/apis/apps/v1/namespaces/default/deployments";
    let post = |query: &str, body: &str| {
        server.admin_curl(
            &format!("{path}{query}"),
            &["-X", "POST", "-H", "Content-Type: application/json", "--data", body, "-D", "/dev/stderr"],
        )
    };
    let strict = post("?fieldValidation=Strict", &deployment("strict"));
    assert_eq!(strict.status, 400, "{strict}");
    assert!(
        strict.body.contains(r#"Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.unknownField\", duplicate field \"spec.replicas\""#),
        "{strict}"
    );
    let warned = post("", &deployment("warned"));
    assert_eq!(warned.status, 201, "{warned}");
    assert!(warned.out.stderr.contains(r#"duplicate field \"spec.replicas\""#), "{}", warned.out.stderr);
    assert_eq!(warned.json()["spec"]["replicas"], 3, "the last one wins, as in Go");
}
