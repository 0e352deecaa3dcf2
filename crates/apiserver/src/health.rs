//! kube-apiserver's health endpoints with their named checks (k8s.io/apiserver
//! `pkg/server/healthz`): `/healthz`, `/livez` and `/readyz` run every check and answer `ok`
//! (`?verbose`: one `[+]name ok` line per check, then `<endpoint> check passed`); a failing
//! check makes the answer a 500 listing every check, the failed ones `[-]name failed: reason
//! withheld` (the reason goes to the log only); `?exclude=name` skips a check;
//! `/<endpoint>/<name>` runs one check (`ok`, or `internal server error: <reason>`).
//!
//! The checks reflect the server: `etcd` (and `etcd-readiness` for readyz) asks the store for
//! its revision within 2 s, so a lost etcd fails them; `informer-sync` holds until the
//! controllers' first lists are done; `ping` and `log` always pass; one
//! `poststarthook/<name>` check per kube post-start hook kubeward does the job of
//! (post_start.rs), failing until the step that does it has finished.

use crate::post_start::{PostStartHooks, HOOKS};
use crate::response::{self, Body};
use crate::state::ApiState;
use apimachinery::RequestInfo;
use http::Response;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// kube's `--etcd-healthcheck-timeout` and `--etcd-readycheck-timeout` defaults.
const STORE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The three endpoints.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Endpoint {
    Healthz,
    Livez,
    Readyz,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Self::Healthz => "healthz",
            Self::Livez => "livez",
            Self::Readyz => "readyz",
        }
    }

    /// Its checks, in kube's order.
    fn checks(self) -> Vec<&'static str> {
        let mut checks = match self {
            Self::Healthz | Self::Livez => vec!["ping", "log", "etcd"],
            Self::Readyz => vec!["ping", "log", "etcd", "etcd-readiness", "informer-sync"],
        };
        checks.extend(HOOKS.iter().map(|h| h.check_name()));
        checks
    }
}

/// The endpoint and check a path names: `/readyz` is `(Readyz, None)`, `/readyz/etcd` is
/// `(Readyz, Some("etcd"))`; `None` for other paths.
pub fn route(path: &str) -> Option<(Endpoint, Option<&str>)> {
    let path = path.trim_end_matches('/');
    for e in [Endpoint::Healthz, Endpoint::Livez, Endpoint::Readyz] {
        let Some(rest) = path.strip_prefix('/').and_then(|p| p.strip_prefix(e.name())) else { continue };
        if rest.is_empty() {
            return Some((e, None));
        }
        if let Some(check) = rest.strip_prefix('/') {
            return Some((e, Some(check)));
        }
    }
    None
}

/// One check: `Ok` or why it failed.
async fn check(state: &ApiState, name: &str) -> Result<(), String> {
    match name {
        "ping" | "log" => Ok(()),
        "etcd" | "etcd-readiness" => {
            match tokio::time::timeout(STORE_CHECK_TIMEOUT, state.objects.store().current_revision()).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("context deadline exceeded".into()),
            }
        }
        "informer-sync" => {
            if state.ready.load(Ordering::Acquire) {
                Ok(())
            } else {
                Err("controllers have not finished their first list".into())
            }
        }
        _ => match PostStartHooks::by_check_name(name) {
            Some(hook) if state.hooks.is_done(hook) => Ok(()),
            Some(_) => Err("not finished".into()),
            None => Err(format!("no such check {name}")),
        },
    }
}

fn text(code: u16, body: String) -> Response<Body> {
    let mut resp = response::bytes_response(code, "text/plain; charset=utf-8", body);
    resp.headers_mut().insert("X-Content-Type-Options", http::HeaderValue::from_static("nosniff"));
    resp
}

/// Answers a health request (GET or HEAD of a path [`route`] accepted); 404 for an unknown
/// check, as kube's mux.
pub async fn serve(
    state: &ApiState,
    info: &RequestInfo,
    endpoint: Endpoint,
    one: Option<&str>,
) -> Response<Body> {
    if let Some(name) = one {
        if !endpoint.checks().contains(&name) {
            return response::status_error(
                &apimachinery::StatusError::not_found_path(),
                crate::negotiate::Output::Json,
            );
        }
        return match check(state, name).await {
            Ok(()) => text(200, "ok".into()),
            Err(e) => text(500, format!("internal server error: {e}\n")),
        };
    }
    let mut excluded: Vec<&str> = Vec::new();
    for (_, v) in info.query.iter().filter(|(k, _)| k == "exclude") {
        if !excluded.contains(&v.as_str()) {
            excluded.push(v);
        }
    }
    let mut lines = String::new();
    let mut failed = Vec::new();
    for name in endpoint.checks() {
        if let Some(i) = excluded.iter().position(|e| *e == name) {
            excluded.remove(i);
            lines.push_str(&format!("[+]{name} excluded: ok\n"));
            continue;
        }
        match check(state, name).await {
            Ok(()) => lines.push_str(&format!("[+]{name} ok\n")),
            Err(e) => {
                // The endpoint is public: the reason is for the log only.
                lines.push_str(&format!("[-]{name} failed: reason withheld\n"));
                tracing::info!(check = name, endpoint = endpoint.name(), error = %e, "health check failed");
                failed.push(name);
            }
        }
    }
    if !excluded.is_empty() {
        let quoted: Vec<String> = excluded.iter().map(|e| apimachinery::quote::go_quote(e)).collect();
        lines.push_str(&format!(
            "warn: some health checks cannot be excluded: no matches for {}\n",
            quoted.join(",")
        ));
    }
    if !failed.is_empty() {
        return text(500, format!("{lines}{} check failed\n", endpoint.name()));
    }
    if info.query.iter().any(|(k, _)| k == "verbose") {
        return text(200, format!("{lines}{} check passed\n", endpoint.name()));
    }
    text(200, "ok".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_endpoints_and_checks() {
        assert_eq!(route("/readyz"), Some((Endpoint::Readyz, None)));
        assert_eq!(route("/readyz/"), Some((Endpoint::Readyz, None)));
        assert_eq!(route("/livez/etcd"), Some((Endpoint::Livez, Some("etcd"))));
        assert_eq!(route("/healthz/ping"), Some((Endpoint::Healthz, Some("ping"))));
        assert_eq!(route("/readyzz"), None);
        assert_eq!(route("/version"), None);
        assert!(Endpoint::Readyz.checks().contains(&"informer-sync"));
        assert!(!Endpoint::Livez.checks().contains(&"informer-sync"));
        assert!(Endpoint::Livez.checks().contains(&"poststarthook/crd-informer-synced"));
        assert_eq!(
            route("/readyz/poststarthook/rbac/bootstrap-roles"),
            Some((Endpoint::Readyz, Some("poststarthook/rbac/bootstrap-roles")))
        );
    }
}
