//! kube's connect subresources through the real front door: `kubectl logs` reads a Pod's log
//! from a kubelet (here a fake one on loopback that checks kubeward's client certificate),
//! with kube's answers for every step before the kubelet (no container named, no node yet, a
//! node that is missing, bad options); `kubectl exec` and the proxies answer kube's errors up
//! to the connection kubeward does not relay yet; RBAC decides on `pods/log` as on any
//! subresource; the legacy `bindings` resource binds a Pod.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;
use support::more::{Cluster, FlagServer};
use support::Kubectl;

/// What a fake kubelet saw: each request's target and the CN of the client certificate.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A kubelet on 127.0.0.1 serving `/containerLogs/...` over TLS with a certificate for
/// `sans`, requiring a client certificate signed by `ca`. Container `app` has two lines of
/// log; any other container is "not running" (the kubelet's 500).
fn fake_kubelet(ca: &pki::Ca, sans: &[&str]) -> (u16, Seen) {
    let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
    let serving = ca.issue_serving("kubelet", &sans).expect("serving cert");
    let certs: Vec<_> =
        rustls_pemfile::certs(&mut serving.cert_pem.as_bytes()).collect::<Result<_, _>>().expect("cert pem");
    let key = rustls_pemfile::private_key(&mut serving.key_pem.as_bytes()).expect("key pem").expect("a key");
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut ca.cert_pem.as_bytes()) {
        roots.add(c.expect("ca pem")).expect("add ca");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .expect("client verifier");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .expect("server config");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind kubelet");
    let port = listener.local_addr().expect("addr").port();
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let (config, sink) = (config.clone(), sink.clone());
            thread::spawn(move || {
                let _ = serve_one(config, tcp, &sink);
            });
        }
    });
    (port, seen)
}

/// One request on one connection, answered and closed.
fn serve_one(
    config: Arc<rustls::ServerConfig>,
    tcp: std::net::TcpStream,
    seen: &Mutex<Vec<(String, String)>>,
) -> std::io::Result<()> {
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let target = head.split_whitespace().nth(1).unwrap_or_default().to_string();
    let cn = tls
        .conn
        .peer_certificates()
        .and_then(|c| c.first().cloned())
        .map(|der| {
            let text = String::from_utf8_lossy(der.as_ref()).to_string();
            if text.contains("kube-apiserver-kubelet-client") {
                "kube-apiserver-kubelet-client"
            } else {
                "other"
            }
            .to_string()
        })
        .unwrap_or_default();
    seen.lock().expect("seen").push((target.clone(), cn));
    if target.starts_with("/exec/default/web/app?command=cat")
        && head.to_ascii_lowercase().contains("\r\nupgrade: spdy/3.1")
    {
        // The upgrade, then every byte echoed until the peer closes.
        let answer = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\
                      X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n";
        tls.write_all(answer.as_bytes())?;
        tls.flush()?;
        let rest = buf[buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4..].to_vec();
        if !rest.is_empty() {
            tls.write_all(&rest)?;
            tls.flush()?;
        }
        loop {
            let n = tls.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            tls.write_all(&chunk[..n])?;
            tls.flush()?;
        }
    }
    let (status, body) = if target.starts_with("/containerLogs/default/web/app") {
        ("200 OK", "line 1\nline 2\n")
    } else {
        ("500 Internal Server Error", "container \"sidecar\" in pod \"web\" is not running")
    };
    let answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(answer.as_bytes())?;
    tls.flush()?;
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Ok(())
}

/// Sends `path` as a SPDY upgrade request over a connection of its own with the admin's
/// certificate, then `payload` once switched; answers (HTTP status, response head, bytes read
/// back after the head).
fn upgrade_and_echo(server: &FlagServer, path: &str, payload: &[u8]) -> (u16, String, Vec<u8>) {
    let pki_dir = server.data_path().join("pki");
    let read = |name: &str| std::fs::read(pki_dir.join(name)).expect("pki file");
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut &read("ca.crt")[..]) {
        roots.add(c.expect("ca pem")).expect("add ca");
    }
    let certs: Vec<_> =
        rustls_pemfile::certs(&mut &read("admin.crt")[..]).collect::<Result<_, _>>().expect("cert");
    let key = rustls_pemfile::private_key(&mut &read("admin.key")[..]).expect("key").expect("a key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(certs, key)
        .expect("client config");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let authority = server.url().trim_start_matches("https://").to_string();
    let tcp = std::net::TcpStream::connect(&authority).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("tls");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\
         X-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n"
    );
    tls.write_all(request.as_bytes()).expect("send");
    tls.flush().expect("flush");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tls.read(&mut chunk).expect("read the answer");
        assert!(n > 0, "closed before an answer: {}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let mut back = buf[head_end..].to_vec();
    if status == 101 {
        tls.write_all(payload).expect("send payload");
        tls.flush().expect("flush");
        while back.len() < payload.len() {
            let n = tls.read(&mut chunk).expect("read echo");
            if n == 0 {
                break;
            }
            back.extend_from_slice(&chunk[..n]);
        }
    }
    (status, head, back)
}

/// A plain HTTP server on 127.0.0.1 answering each request with its method, target and body.
fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind echo");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        for mut tcp in listener.incoming().flatten() {
            thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match tcp.read(&mut chunk) {
                        Ok(n) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                        _ => return,
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let length = head
                    .to_ascii_lowercase()
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    match tcp.read(&mut chunk) {
                        Ok(n) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                        _ => return,
                    }
                }
                let line = head.lines().next().unwrap_or_default();
                let body = String::from_utf8_lossy(&buf[head_end..head_end + length]);
                let credentials = head.to_ascii_lowercase().contains("\r\nauthorization:");
                let text =
                    format!("{} body={body} credentials={credentials}\n", line.trim_end_matches(" HTTP/1.1"));
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Echo: yes\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = tcp.write_all(answer.as_bytes());
            });
        }
    });
    port
}

fn apply(server: &FlagServer, k: &Kubectl, name: &str, yaml: &str) {
    let file = server.file(name, yaml);
    k.ok(&["apply", "-f", &file.display().to_string()]);
}

/// A Node whose kubelet listens on 127.0.0.1:`port`.
fn node(server: &FlagServer, k: &Kubectl, name: &str, port: u16) {
    apply(
        server,
        k,
        &format!("{name}.yaml"),
        &format!("apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n"),
    );
    let status = format!(
        r#"{{"status":{{"addresses":[{{"type":"InternalIP","address":"127.0.0.1"}}],"daemonEndpoints":{{"kubeletEndpoint":{{"Port":{port}}}}}}}}}"#
    );
    k.ok(&["patch", "node", name, "--subresource=status", "--type=merge", "-p", &status]);
}

fn pod(server: &FlagServer, k: &Kubectl, name: &str, node: &str, containers: &[&str]) {
    let node = if node.is_empty() { String::new() } else { format!("  nodeName: {node}\n") };
    let containers: String =
        containers.iter().map(|c| format!("  - name: {c}\n    image: busybox:1.36\n")).collect();
    apply(
        server,
        k,
        &format!("pod-{name}.yaml"),
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n{node}  containers:\n{containers}"
        ),
    );
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn logs_come_from_the_kubelet_and_the_other_connect_subresources_answer_as_kube() {
    let kubelet_ca = pki::Ca::generate("e2e-kubelet-ca").expect("kubelet CA");
    let (port, seen) = fake_kubelet(&kubelet_ca, &["127.0.0.1"]);
    // A kubelet whose certificate does not name the address it is reached at.
    let (bad_port, bad_seen) = fake_kubelet(&kubelet_ca, &["kubelet.invalid"]);
    let client = kubelet_ca.issue_client("kube-apiserver-kubelet-client", &[]).expect("kubelet client cert");
    let ca_pem = kubelet_ca.cert_pem.clone();
    let server = FlagServer::start(move |dir| {
        vec![
            "--kubelet-client-certificate".into(),
            write(dir, "kubelet-client.crt", &client.cert_pem),
            "--kubelet-client-key".into(),
            write(dir, "kubelet-client.key", &client.key_pem),
            "--kubelet-certificate-authority".into(),
            write(dir, "kubelet-ca.crt", &ca_pem),
        ]
    });
    let k = server.admin();
    node(&server, &k, "n1", port);
    node(&server, &k, "n2", bad_port);
    pod(&server, &k, "web", "n1", &["app", "sidecar"]);
    pod(&server, &k, "pending", "", &["app"]);
    pod(&server, &k, "lost", "ghost", &["app"]);
    pod(&server, &k, "elsewhere", "n2", &["app"]);

    // kubectl logs: the kubelet's answer, read with kubeward's client certificate.
    let out = k.ok(&["logs", "web", "-c", "app"]);
    assert_eq!(out.stdout, "line 1\nline 2\n", "{out}");
    let out = k.ok(&["logs", "web", "-c", "app", "--tail=1", "--timestamps", "--limit-bytes=100"]);
    assert_eq!(out.stdout, "line 1\nline 2\n", "{out}");
    let targets = seen.lock().expect("seen").clone();
    assert_eq!(
        targets,
        vec![
            ("/containerLogs/default/web/app".to_string(), "kube-apiserver-kubelet-client".to_string()),
            (
                "/containerLogs/default/web/app?limitBytes=100&tailLines=1&timestamps=true".to_string(),
                "kube-apiserver-kubelet-client".to_string()
            ),
        ]
    );
    // The kubelet's 500 is kube's InternalError with the kubelet's text.
    let out = k.run(&["logs", "web", "-c", "sidecar"]);
    assert!(!out.ok(), "{out}");
    assert!(
        out.stderr
            .contains(r#"Internal error occurred: container \"sidecar\" in pod \"web\" is not running"#)
            || out
                .stderr
                .contains(r#"Internal error occurred: container "sidecar" in pod "web" is not running"#),
        "{out}"
    );
    // A Pod not on a node yet has no log: kube's 204, so kubectl prints nothing.
    let out = k.ok(&["logs", "pending"]);
    assert_eq!(out.stdout, "", "{out}");

    // A kubelet whose serving certificate does not verify is not read, unless asked.
    let out = k.run(&["logs", "elsewhere"]);
    assert!(!out.ok(), "a kubelet with a certificate for another name was trusted: {out}");
    assert!(bad_seen.lock().expect("seen").is_empty(), "the request reached the unverified kubelet");
    let out = k.run(&["logs", "elsewhere", "--insecure-skip-tls-verify-backend"]);
    // The fake kubelet has no log for this Pod: its 500 shows the request got there.
    assert!(out.stderr.contains("is not running"), "{out}");
    assert_eq!(bad_seen.lock().expect("seen").len(), 1);

    // kube's answers before the kubelet, as a client sees them.
    let log = |path: &str| server.admin_curl(&format!("/api/v1/namespaces/default/pods/{path}"), &[]);
    let http = log("web/log");
    assert_eq!(http.status, 400, "{http}");
    assert_eq!(
        http.json()["message"],
        "a container name must be specified for pod web, choose one of: [app sidecar]",
        "{http}"
    );
    let http = log("web/log?container=nope");
    assert_eq!(
        (http.status, http.json()["message"].as_str()),
        (400, Some("container nope is not valid for pod web"))
    );
    let http = log("nope/log");
    assert_eq!(
        (http.status, http.json()["message"].as_str()),
        (404, Some("pods \"nope\" not found")),
        "{http}"
    );
    let http = log("lost/log");
    assert_eq!(
        (http.status, http.json()["message"].as_str()),
        (404, Some("nodes \"ghost\" not found")),
        "{http}"
    );
    let http = log("web/log?container=app&tailLines=-1&sinceSeconds=0");
    assert_eq!(http.status, 422, "{http}");
    assert_eq!(
        http.json()["message"],
        "PodLogOptions \"web\" is invalid: [tailLines: Invalid value: -1: must be greater than or equal to 0, sinceSeconds: Invalid value: 0: must be greater than 0]",
        "{http}"
    );
    let http = log("web/log?container=app&limitBytes=many");
    assert_eq!((http.status, http.json()["reason"].as_str()), (400, Some("BadRequest")), "{http}");

    // exec: kube's errors up to the kubelet, then the kubelet's own answer to the upgrade.
    let out = k.run(&["exec", "pending", "--", "ls"]);
    assert!(out.stderr.contains("pod pending does not have a host assigned"), "{out}");
    let before = seen.lock().expect("seen").len();
    let out = k.run(&["exec", "web", "-c", "app", "--", "ls", "-l"]);
    assert!(!out.ok(), "{out}");
    let targets = seen.lock().expect("seen")[before..].to_vec();
    assert!(!targets.is_empty(), "kubectl exec never reached the kubelet: {out}");
    for (target, cn) in &targets {
        assert_eq!(target, "/exec/default/web/app?command=ls&command=-l&error=1&output=1", "{out}");
        assert_eq!(cn, "kube-apiserver-kubelet-client");
    }
    // An upgrade the kubelet accepts joins the two connections: bytes go through both ways.
    let echoed = upgrade_and_echo(
        &server,
        "/api/v1/namespaces/default/pods/web/exec?container=app&command=cat&stdin=true&stdout=true",
        b"hello kubelet",
    );
    assert_eq!(echoed.0, 101, "{}", echoed.1);
    assert!(
        echoed.1.to_ascii_lowercase().contains("x-stream-protocol-version: v4.channel.k8s.io"),
        "{}",
        echoed.1
    );
    assert_eq!(echoed.2, b"hello kubelet");
    let last = seen.lock().expect("seen").last().cloned().unwrap_or_default();
    assert_eq!(last.0, "/exec/default/web/app?command=cat&input=1&output=1");
    let http = server.admin_curl(
        "/api/v1/namespaces/default/pods/web/exec?container=app&command=ls&stdout=true",
        &["-X", "POST"],
    );
    assert_eq!(
        (http.status, http.json()["message"].as_str()),
        (400, Some("Upgrade request required")),
        "{http}"
    );
    let http = server.admin_curl("/api/v1/namespaces/default/pods/web/exec?command=ls", &["-X", "PUT"]);
    assert_eq!(http.status, 405, "{http}");
    // The proxies: a Pod without an IP and a node on loopback are not proxied to (kube's 400).
    let http = server.admin_curl("/api/v1/namespaces/default/pods/web/proxy/metrics", &[]);
    assert_eq!((http.status, http.json()["message"].as_str()), (400, Some("address not allowed")), "{http}");
    let http = server.admin_curl("/api/v1/nodes/n1/proxy/healthz", &[]);
    assert_eq!((http.status, http.json()["message"].as_str()), (400, Some("address not allowed")), "{http}");
    let http = server.admin_curl("/api/v1/nodes/ftp:n1:21/proxy/", &[]);
    assert_eq!(
        (http.status, http.json()["message"].as_str()),
        (400, Some("invalid node request \"ftp:n1:21\""))
    );

    // Admission sees the CONNECT: a policy on pods/exec refuses shells before the kubelet.
    apply(
        &server,
        &k,
        "no-shell.yaml",
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n  name: no-shell\n\
         spec:\n  failurePolicy: Fail\n  matchConstraints:\n    resourceRules:\n    - apiGroups: [\"\"]\n\
         \x20     apiVersions: [\"v1\"]\n      operations: [\"CONNECT\"]\n      resources: [\"pods/exec\"]\n\
         \x20 validations:\n  - expression: \"!object.command.exists(c, c == 'sh')\"\n    message: no shells\n\
         ---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\n\
         metadata:\n  name: no-shell-binding\nspec:\n  policyName: no-shell\n  validationActions: [Deny]\n",
    );
    let denied =
        "ValidatingAdmissionPolicy 'no-shell' with binding 'no-shell-binding' denied request: no shells";
    let (ok, last) = support::more::retry(Duration::from_secs(20), || {
        let out = k.run(&["exec", "web", "-c", "app", "--", "sh", "-c", "id"]);
        (out.stderr.contains(denied), out.to_string())
    });
    assert!(ok, "{last}");
    let before = seen.lock().expect("seen").len();
    let out = k.run(&["exec", "web", "-c", "app", "--", "sh", "-c", "id"]);
    assert!(out.stderr.contains(denied), "{out}");
    assert_eq!(seen.lock().expect("seen").len(), before, "a refused exec reached the kubelet");

    // services/proxy: the request goes to an endpoint backed by a Pod with that IP.
    let echo = echo_server();
    apply(
        &server,
        &k,
        "echo.yaml",
        &format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: echo\nspec:\n  ports:\n  - name: http\n    port: 80\n\
             \x20   targetPort: {echo}\n---\napiVersion: v1\nkind: Endpoints\nmetadata:\n  name: echo\nsubsets:\n\
             - addresses:\n  - ip: 127.0.0.1\n    targetRef: {{kind: Pod, namespace: default, name: backend}}\n\
             \x20 ports:\n  - name: http\n    port: {echo}\n"
        ),
    );
    pod(&server, &k, "backend", "", &["app"]);
    k.ok(&[
        "patch",
        "pod",
        "backend",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"podIP":"127.0.0.1","podIPs":[{"ip":"127.0.0.1"}]}}"#,
    ]);
    let out = k.ok(&["get", "--raw", "/api/v1/namespaces/default/services/echo:80/proxy/hello/?x=1"]);
    assert_eq!(out.stdout.trim(), "GET /hello/?x=1 body= credentials=false", "{out}");
    let http = server.admin_curl(
        "/api/v1/namespaces/default/services/http:echo:http/proxy/submit",
        &["-X", "POST", "--data", "abc", "-i"],
    );
    assert!(http.body.contains("POST /submit body=abc credentials=false"), "{http}");
    assert!(http.body.to_ascii_lowercase().contains("x-echo: yes"), "{http}");
    let http = server.admin_curl("/api/v1/namespaces/default/services/echo:81/proxy/", &[]);
    assert_eq!(
        (http.status, http.json()["message"].as_str()),
        (503, Some("no service port 81 found for service \"echo\"")),
        "{http}"
    );

    // RBAC: reading Pods is not reading their logs.
    k.ok(&["create", "role", "pod-reader", "--verb=get,list", "--resource=pods"]);
    k.ok(&["create", "rolebinding", "pod-reader", "--role=pod-reader", "--user=viewer"]);
    let viewer = server.kubectl_user("viewer", &[]);
    viewer.ok(&["get", "pod", "web"]);
    let out = viewer.run(&["logs", "web", "-c", "app"]);
    assert!(
        out.stderr.contains(
            r#"User "viewer" cannot get resource "pods/log" in API group "" in the namespace "default""#
        ),
        "{out}"
    );
    assert_eq!(viewer.run(&["auth", "can-i", "get", "pods", "--subresource=log"]).stdout.trim(), "no");

    // The legacy bindings resource (kube's LegacyBindingREST) binds the Pod its Binding names.
    pod(&server, &k, "unbound", "", &["app"]);
    let body = r#"{"apiVersion":"v1","kind":"Binding","metadata":{"name":"unbound"},"target":{"kind":"Node","name":"n1"}}"#;
    let http = server.admin_curl(
        "/api/v1/namespaces/default/bindings",
        &["-X", "POST", "-H", "Content-Type: application/json", "--data", body],
    );
    assert_eq!(http.status, 201, "{http}");
    assert_eq!(k.ok(&["get", "pod", "unbound", "-o", "jsonpath={.spec.nodeName}"]).stdout, "n1");
    let resources = k.ok(&["api-resources", "--api-group=", "-o", "name"]).stdout;
    assert!(resources.lines().any(|l| l == "bindings"), "{resources}");
}

/// pods/resize through `kubectl patch --subresource=resize`: only the containers' resources
/// change (the generation goes up), and kube's refusals come back as kube words them.
#[test]
fn resize_changes_only_resources_in_place() {
    let server = FlagServer::start(|_| vec![]);
    let k = server.admin();
    apply(
        &server,
        &k,
        "sized.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: sized\nspec:\n  containers:\n  - name: app\n    image: busybox:1.36\n\
         \x20   resources:\n      requests: {cpu: 100m, memory: 64Mi}\n      limits: {cpu: 200m, memory: 64Mi}\n",
    );
    let get = |path: &str| k.ok(&["get", "pod", "sized", "-o", &format!("jsonpath={{{path}}}")]).stdout;
    assert_eq!(get(".status.qosClass"), "Burstable");
    let resize = |patch: &str| k.run(&["patch", "pod", "sized", "--subresource=resize", "-p", patch]);
    let out = resize(
        r#"{"spec":{"containers":[{"name":"app","image":"nginx","resources":{"requests":{"cpu":"150m"},"limits":{"cpu":"300m"}}}]}}"#,
    );
    assert!(out.ok(), "{out}");
    assert_eq!(get(".spec.containers[0].resources.requests.cpu"), "150m");
    assert_eq!(get(".spec.containers[0].resources.limits.cpu"), "300m");
    assert_eq!(get(".spec.containers[0].image"), "busybox:1.36", "a resize changed the image");
    assert_eq!(get(".metadata.generation"), "2");
    let out = resize(r#"{"spec":{"containers":[{"name":"app","resources":{"limits":{"memory":null}}}]}}"#);
    assert!(
        out.stderr.contains(
            r#"The Pod "sized" is invalid: spec.containers[0].resources.limits: Forbidden: resource limits cannot be removed"#
        ),
        "{out}"
    );
    let out = resize(
        r#"{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"250m","memory":"64Mi"}}}]}}"#,
    );
    assert!(out.ok(), "{out}");
    assert_eq!(get(".metadata.generation"), "3");
    let out = resize(
        r#"{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"300m","memory":"64Mi"},"limits":{"cpu":"300m","memory":"64Mi"}}}]}}"#,
    );
    // Requests equal to limits would make the Pod Guaranteed: refused.
    assert!(out.stderr.contains("Pod QOS Class may not change as a result of resizing"), "{out}");
}
