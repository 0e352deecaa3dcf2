//! The dashboard's JSON endpoints under `/api/`, each answered by calling the API server with
//! the caller's credential:
//!
//! - `GET /api/whoami`: SelfSubjectReview, and how the person signed in;
//! - `GET /api/namespaces`, `POST /api/namespaces/open`: the namespaces the person can reach
//!   (see [`namespaces`]);
//! - `GET /api/resources?namespace=`: discovery joined with SelfSubjectRulesReview;
//! - `GET /api/yaml?path=&reveal=`: one object as YAML, a Secret's values hidden unless asked;
//! - `POST /api/write?path=&method=&dryRun=`: YAML in, created or replaced (server-side dry
//!   run first when asked);
//! - `/api/kube/<API path>`: any other API call passed on as is, its answer streamed (lists
//!   as Tables, watches);
//! - the "why" and admin endpoints of [`crate::admin`].

use crate::app::{read_request, App, Caller};
use crate::serve::{self, Response};
use crate::upstream::Who;
use apimachinery::status::StatusError;
use bytes::Bytes;
use hyper::body::Incoming;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long discovery is kept.
const DISCOVERY_TTL: Duration = Duration::from_secs(30);
/// At most this many namespaces probed one by one for someone who cannot list them.
const MAX_PROBED: usize = 50;
/// kubeward's list of the namespaces the caller can reach (a kubeward extension).
const REACHABLE: &str = "/apis/kubeward.io/v1alpha1/reachablenamespaces";

/// Routes one authenticated `/api/` request.
pub async fn dispatch(app: &Arc<App>, caller: &Caller, req: http::Request<Incoming>) -> Response {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let q = |k: &str| param(&query, k);
    let result = match (req.method().as_str(), path.as_str()) {
        ("GET", "/api/whoami") => whoami(app, caller).await,
        ("GET", "/api/namespaces") => namespaces(app, caller).await,
        ("POST", "/api/namespaces/open") => open_namespace(app, caller, req).await,
        ("GET", "/api/resources") => resources(app, caller, &q("namespace").unwrap_or_default()).await,
        ("GET", "/api/yaml") => {
            yaml(app, caller, &q("path").unwrap_or_default(), q("reveal").as_deref() == Some("1")).await
        }
        ("POST", "/api/write") => write(app, caller, req, &query).await,
        ("POST", "/api/explain") => crate::admin::explain(app, caller, req).await,
        ("GET", "/api/whocan") => crate::admin::who_can(app, caller, &query).await,
        ("GET", "/api/audit") => crate::admin::audit(app, caller, &query).await,
        (_, p) if p.starts_with("/api/kube/") => return passthrough(app, caller, req).await,
        _ => Err(StatusError::not_found_path()),
    };
    match result {
        Ok(v) => serve::json(200, &v),
        Err(e) => serve::status(&e),
    }
}

/// The value of `key` in a query string, decoded.
pub fn param(query: &str, key: &str) -> Option<String> {
    authn::oidc::http::parse_query(query).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// A SelfSubjectReview with `who`'s credential.
pub async fn self_subject_review(app: &App, who: &Who) -> Result<Value, StatusError> {
    let body = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    app.upstream
        .json(who, http::Method::POST, "/apis/authentication.k8s.io/v1/selfsubjectreviews", Some(&body))
        .await
}

/// A SelfSubjectRulesReview of `namespace`.
pub async fn rules_review(app: &App, who: &Who, namespace: &str) -> Result<Value, StatusError> {
    let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": namespace}});
    app.upstream
        .json(who, http::Method::POST, "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", Some(&body))
        .await
}

/// A SelfSubjectAccessReview of `attributes` (`resourceAttributes` or
/// `nonResourceAttributes` as the key says).
pub async fn access_review(app: &App, who: &Who, key: &str, attributes: Value) -> Result<Value, StatusError> {
    let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {key: attributes}});
    app.upstream
        .json(who, http::Method::POST, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", Some(&body))
        .await
}

async fn whoami(app: &App, caller: &Caller) -> Result<Value, StatusError> {
    let review = self_subject_review(app, &caller.who).await?;
    let credential = match (&caller.who, caller.session.as_ref()) {
        (Who::Kubeconfig, _) => app.kubeconfig.credential_kind().to_string(),
        _ => caller.kind.to_string(),
    };
    Ok(json!({
        "userInfo": review.pointer("/status/userInfo").cloned().unwrap_or_default(),
        "credential": credential,
        "server": app.upstream.base(),
    }))
}

/// The namespaces the person can reach: all of them when they may list namespaces;
/// otherwise the server's answer to [`REACHABLE`] (kubeward's `reachablenamespaces`, from
/// its rule resolvers); from a server without it (kube-apiserver), those among the candidates
/// (the kubeconfig context's namespace, `--namespace` hints, a service account's own
/// namespace, and those the person opened by name) where a SelfSubjectRulesReview shows a
/// rule beyond the self-reviews everyone holds.
async fn namespaces(app: &App, caller: &Caller) -> Result<Value, StatusError> {
    let listed =
        app.upstream.json(&caller.who, http::Method::GET, "/api/v1/namespaces?limit=500", None).await;
    match listed {
        Ok(list) => {
            let names: Vec<Value> = list
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|i| i.pointer("/metadata/name").cloned())
                .collect();
            let more =
                list.pointer("/metadata/continue").and_then(Value::as_str).is_some_and(|c| !c.is_empty());
            Ok(json!({"canList": true, "items": names, "more": more}))
        }
        Err(e) if e.code == 403 => match reachable(app, caller).await? {
            Some(found) => {
                Ok(json!({"canList": false, "items": found, "source": "server", "listRefused": e.message}))
            }
            None => probe_candidates(app, caller, e).await,
        },
        Err(e) => Err(e),
    }
}

/// The names of [`REACHABLE`]'s list, or `None` from a server that does not serve it.
async fn reachable(app: &App, caller: &Caller) -> Result<Option<Vec<String>>, StatusError> {
    match app.upstream.json(&caller.who, http::Method::GET, REACHABLE, None).await {
        Ok(list) => Ok(Some(
            list.get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|i| i.pointer("/metadata/name").and_then(Value::as_str))
                .map(str::to_string)
                .collect(),
        )),
        Err(e) if e.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// For a server without [`REACHABLE`]: the candidates where the person holds rules.
async fn probe_candidates(app: &App, caller: &Caller, e: StatusError) -> Result<Value, StatusError> {
    let mut candidates: Vec<String> = Vec::new();
    let mut add = |n: &str| {
        if !n.is_empty() && !candidates.iter().any(|c| c == n) {
            candidates.push(n.to_string());
        }
    };
    if let (Who::Kubeconfig, Some(ns)) = (&caller.who, &app.kubeconfig.namespace) {
        add(ns);
    }
    app.namespace_hints.iter().for_each(|n| add(n));
    if let Some(s) = &caller.session {
        s.namespaces.lock().unwrap_or_else(|e| e.into_inner()).iter().for_each(|n| add(n));
    }
    if let Ok(r) = self_subject_review(app, &caller.who).await {
        let user = r.pointer("/status/userInfo/username").and_then(Value::as_str).unwrap_or_default();
        if let Some(ns) = user.strip_prefix("system:serviceaccount:").and_then(|r| r.split(':').next()) {
            add(ns);
        }
    }
    add("default");
    candidates.truncate(MAX_PROBED);
    let probes = candidates.iter().map(|ns| async move {
        let r = rules_review(app, &caller.who, ns).await.ok()?;
        reaches(&r).then(|| ns.clone())
    });
    let found: Vec<String> = futures::future::join_all(probes).await.into_iter().flatten().collect();
    Ok(json!({"canList": false, "items": found, "source": "probed", "probed": candidates,
        "listRefused": e.message}))
}

/// Whether a rules review grants anything beyond the self-reviews every user holds.
fn reaches(review: &Value) -> bool {
    review.pointer("/status/resourceRules").and_then(Value::as_array).into_iter().flatten().any(|rule| {
        let groups: Vec<&str> = rule
            .get("apiGroups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        !groups.iter().all(|g| *g == "authorization.k8s.io" || *g == "authentication.k8s.io")
    })
}

async fn open_namespace(
    app: &App,
    caller: &Caller,
    req: http::Request<Incoming>,
) -> Result<Value, StatusError> {
    let (_, body) = read_request(req).await?;
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    let name = v.get("name").and_then(Value::as_str).unwrap_or_default().trim().to_string();
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(StatusError::bad_request(format!(
            "{} is not a namespace name",
            apimachinery::quote::go_quote(&name)
        )));
    }
    let review = rules_review(app, &caller.who, &name).await?;
    let reachable = reaches(&review);
    if reachable {
        if let Some(s) = &caller.session {
            let mut list = s.namespaces.lock().unwrap_or_else(|e| e.into_inner());
            if !list.contains(&name) && list.len() < MAX_PROBED {
                list.push(name.clone());
            }
        }
    }
    Ok(json!({"name": name, "reachable": reachable}))
}

/// Discovery, kept for [`DISCOVERY_TTL`] (it is the same for everyone who may read it).
pub async fn discovery(app: &App, who: &Who) -> Result<Arc<Vec<crate::access::Resource>>, StatusError> {
    let mut cached = app.discovery.lock().await;
    if let Some((at, r)) = cached.as_ref() {
        if at.elapsed() < DISCOVERY_TTL {
            return Ok(r.clone());
        }
    }
    let accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
    let mut docs = Vec::new();
    for path in ["/api", "/apis"] {
        let headers = [(http::header::ACCEPT, accept.to_string())];
        let resp = app.upstream.call(who, http::Method::GET, path, &headers, Bytes::new()).await?;
        let status = resp.status();
        let body = crate::upstream::read_body(resp.into_body(), crate::upstream::MAX_BODY).await?;
        if !status.is_success() {
            return Err(crate::upstream::status_of(status.as_u16(), &body));
        }
        docs.push(serde_json::from_slice(&body).unwrap_or_default());
    }
    let r = Arc::new(crate::access::resources(&docs));
    *cached = Some((Instant::now(), r.clone()));
    Ok(r)
}

async fn resources(app: &App, caller: &Caller, namespace: &str) -> Result<Value, StatusError> {
    let all = discovery(app, &caller.who).await?;
    if namespace.is_empty() {
        return cluster_resources(app, caller, &all).await;
    }
    let review = rules_review(app, &caller.who, namespace).await?;
    let rules: Vec<Value> =
        review.pointer("/status/resourceRules").and_then(Value::as_array).cloned().unwrap_or_default();
    let scoped: Vec<crate::access::Resource> =
        all.iter().filter(|r| r.namespaced != namespace.is_empty()).cloned().collect();
    let access = crate::access::join(&scoped, &rules);
    Ok(json!({
        "namespace": namespace,
        "incomplete": review.pointer("/status/incomplete").cloned().unwrap_or(Value::Bool(false)),
        "evaluationError": review.pointer("/status/evaluationError").cloned().unwrap_or_default(),
        "resources": access,
    }))
}

/// The verbs asked about for cluster-scoped resources.
const CLUSTER_VERBS: [&str; 7] = ["get", "list", "watch", "create", "update", "patch", "delete"];

/// Cluster-scoped resources: a SelfSubjectRulesReview needs a namespace (and would mix in
/// the rules of that namespace's RoleBindings), so each verb is asked with a
/// SelfSubjectAccessReview, concurrently.
async fn cluster_resources(
    app: &App,
    caller: &Caller,
    all: &[crate::access::Resource],
) -> Result<Value, StatusError> {
    let scoped: Vec<&crate::access::Resource> = all.iter().filter(|r| !r.namespaced).collect();
    let asks = scoped.iter().flat_map(|r| {
        CLUSTER_VERBS.iter().filter(|v| r.verbs.iter().any(|s| s == *v)).map(move |v| async move {
            let attrs = json!({"verb": v, "group": r.group, "resource": r.resource});
            let ok = access_review(app, &caller.who, "resourceAttributes", attrs)
                .await
                .ok()
                .and_then(|a| a.pointer("/status/allowed").and_then(Value::as_bool))
                .unwrap_or(false);
            (r.resource.clone(), r.group.clone(), v.to_string(), ok)
        })
    });
    let answers = futures::future::join_all(asks).await;
    let access: Vec<crate::access::Access> = scoped
        .iter()
        .map(|r| crate::access::Access {
            resource: (*r).clone(),
            held: answers
                .iter()
                .filter(|(res, g, _, ok)| *ok && *res == r.resource && *g == r.group)
                .map(|(_, _, v, _)| v.clone())
                .collect(),
            named: Default::default(),
        })
        .collect();
    Ok(json!({"namespace": "", "incomplete": false, "evaluationError": "", "resources": access}))
}

/// Whether `path` is an API path the dashboard passes on.
fn api_path(path: &str) -> bool {
    (path.starts_with("/api/") || path.starts_with("/apis/") || path == "/api" || path == "/apis")
        && !path.contains("/../")
        && !path.contains("//")
}

async fn yaml(app: &App, caller: &Caller, path: &str, reveal: bool) -> Result<Value, StatusError> {
    if !api_path(path) || path.contains('?') {
        return Err(StatusError::bad_request("not an API object path"));
    }
    let mut obj = app.upstream.json(&caller.who, http::Method::GET, path, None).await?;
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    let secret = obj.get("kind").and_then(Value::as_str) == Some("Secret");
    let mut hidden = false;
    if secret && !reveal {
        for field in ["data", "stringData"] {
            if let Some(d) = obj.get_mut(field).and_then(Value::as_object_mut) {
                for v in d.values_mut() {
                    *v = Value::from("(hidden)");
                    hidden = true;
                }
            }
        }
    }
    let text = apimachinery::yaml::to_string(&obj).map_err(|e| StatusError::internal(&e.to_string()))?;
    Ok(json!({"yaml": text, "hidden": hidden, "secret": secret,
        "resourceVersion": obj.pointer("/metadata/resourceVersion").cloned().unwrap_or_default()}))
}

/// Creates (`method=POST`, `path` empty: found from the YAML's apiVersion and kind) or
/// replaces (`method=PUT`, `path` of the object) from YAML; `dryRun=1` asks the server for a
/// dry run. The answer is the server's object as YAML, or its Status.
async fn write(
    app: &App,
    caller: &Caller,
    req: http::Request<Incoming>,
    query: &str,
) -> Result<Value, StatusError> {
    let (_, body) = read_request(req).await?;
    let obj: Value = apimachinery::yaml::from_slice(&body)
        .map_err(|e| StatusError::bad_request(format!("the YAML does not parse: {e}")))?;
    if !obj.is_object() {
        return Err(StatusError::bad_request("the YAML is not one object"));
    }
    let dry = param(query, "dryRun").as_deref() == Some("1");
    let method = param(query, "method").unwrap_or_else(|| "POST".into());
    let path = match method.as_str() {
        "PUT" => {
            let p = param(query, "path").unwrap_or_default();
            if !api_path(&p) || p.contains('?') {
                return Err(StatusError::bad_request("not an API object path"));
            }
            p
        }
        "POST" => collection_path(app, caller, &obj, &param(query, "namespace").unwrap_or_default()).await?,
        _ => return Err(StatusError::bad_request("method is POST or PUT")),
    };
    let full = if dry {
        format!("{path}?dryRun=All&fieldManager=kubeward-dashboard")
    } else {
        format!("{path}?fieldManager=kubeward-dashboard")
    };
    let m = if method == "PUT" { http::Method::PUT } else { http::Method::POST };
    let mut out = app.upstream.json(&caller.who, m, &full, Some(&obj)).await?;
    if let Some(m) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    let self_path = object_path(app, caller, &out).await.unwrap_or_default();
    let text = apimachinery::yaml::to_string(&out).map_err(|e| StatusError::internal(&e.to_string()))?;
    Ok(json!({"yaml": text, "dryRun": dry, "path": self_path}))
}

/// The collection an object is created in, from discovery.
async fn collection_path(
    app: &App,
    caller: &Caller,
    obj: &Value,
    namespace: &str,
) -> Result<String, StatusError> {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    if api_version.is_empty() || kind.is_empty() {
        return Err(StatusError::bad_request("the object needs apiVersion and kind"));
    }
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let all = discovery(app, &caller.who).await?;
    let r = all
        .iter()
        .find(|r| r.kind == kind && r.group == group && r.version == version)
        .ok_or_else(|| StatusError::bad_request(format!("the server serves no {kind} in {api_version}")))?;
    let base = if group.is_empty() { format!("/api/{version}") } else { format!("/apis/{group}/{version}") };
    if r.namespaced {
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or(namespace);
        if ns.is_empty() {
            return Err(StatusError::bad_request(format!("{kind} is namespaced: name a namespace")));
        }
        Ok(format!("{base}/namespaces/{ns}/{}", r.resource))
    } else {
        Ok(format!("{base}/{}", r.resource))
    }
}

async fn object_path(app: &App, caller: &Caller, obj: &Value) -> Option<String> {
    let name = obj.pointer("/metadata/name").and_then(Value::as_str)?;
    let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
    let c = collection_path(app, caller, obj, ns).await.ok()?;
    Some(format!("{c}/{name}"))
}

/// Passes an API call on with the caller's credential; the answer (a Table, a watch stream,
/// a Status) is relayed as it comes.
async fn passthrough(app: &App, caller: &Caller, req: http::Request<Incoming>) -> Response {
    let path_q = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let Some(api) = path_q.strip_prefix("/api/kube") else {
        return serve::status(&StatusError::not_found_path());
    };
    let api_only = api.split('?').next().unwrap_or_default();
    if !api_path(api_only) {
        return serve::status(&StatusError::not_found_path());
    }
    let method = req.method().clone();
    let mut headers = Vec::new();
    for h in [http::header::ACCEPT, http::header::CONTENT_TYPE] {
        if let Some(v) = req.headers().get(&h).and_then(|v| v.to_str().ok()) {
            headers.push((h, v.to_string()));
        }
    }
    let body = match read_request(req).await {
        Ok((_, b)) => b,
        Err(e) => return serve::status(&e),
    };
    match app.upstream.call(&caller.who, method, api, &headers, body).await {
        Ok(resp) => {
            let status = resp.status();
            let ct = resp.headers().get(http::header::CONTENT_TYPE).cloned();
            let mut out = http::Response::new(serve::relay(resp.into_body()));
            *out.status_mut() = status;
            if let Some(ct) = ct {
                out.headers_mut().insert(http::header::CONTENT_TYPE, ct);
            }
            out
        }
        Err(e) => serve::status(&e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_api_paths_pass() {
        assert!(api_path("/api/v1/namespaces"));
        assert!(api_path("/apis/apps/v1/deployments"));
        assert!(!api_path("/healthz"));
        assert!(!api_path("/api/../metrics"));
        assert!(!api_path("/apis//x"));
    }

    #[test]
    fn self_reviews_alone_reach_nothing() {
        let base = json!({"status": {"resourceRules": [
            {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectrulesreviews"]},
            {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]}]}});
        assert!(!reaches(&base));
        let mut more = base.clone();
        more["status"]["resourceRules"]
            .as_array_mut()
            .unwrap()
            .push(json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}));
        assert!(reaches(&more));
        assert_eq!(param("a=1&path=%2Fapi%2Fv1", "path").as_deref(), Some("/api/v1"));
    }
}
