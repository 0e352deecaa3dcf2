//! What one client may hold of the server, as kube-apiserver bounds it, and a little more:
//! - requests in flight ([`inflight`]): `--max-requests-inflight` for reads and
//!   `--max-mutating-requests-inflight` for writes, taken after authentication and
//!   impersonation (so the user is known and an unauthenticated flood holds nothing), shared
//!   fairly between users; long-running requests (watches) and the exempt ones (members of
//!   `system:masters`, health probes: APF's `exempt` and `probes` flow schemas) take no seat;
//! - the deadline of a request (`--request-timeout`, kube's `WithRequestDeadline` and
//!   `WithTimeoutForNonLongRunningRequests`: a shorter `?timeout=` is honoured, a longer one
//!   is cut, a malformed one is a 400) and of a watch (`timeoutSeconds`, or
//!   `--min-request-timeout` randomised between one and two times itself);
//! - watches per user and in total, connections per client address and in total
//!   ([`counted`]); the connection timeouts live in `server.rs`;
//! - the classification of each request by API Priority and Fairness's FlowSchemas
//!   ([`flowcontrol`]), answered in kube's headers; it takes no seat of its own.

pub mod counted;
pub mod flowcontrol;
pub mod inflight;

use apimachinery::{RequestInfo, StatusError, UserInfo};
use counted::{Counted, Over, Slot};
use inflight::{FairPool, Seat};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The limits' settings, named after kube-apiserver's flags where it has them.
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// `--max-requests-inflight` (0: no limit).
    pub max_requests_inflight: usize,
    /// `--max-mutating-requests-inflight` (0: no limit).
    pub max_mutating_requests_inflight: usize,
    /// `--request-timeout`: the longest a non-long-running request may take.
    pub request_timeout: Duration,
    /// `--min-request-timeout`: the shortest default length of a watch.
    pub min_request_timeout: Duration,
    /// `--max-watches`: watches open at once.
    pub max_watches: usize,
    /// `--max-watches-per-user`.
    pub max_watches_per_user: usize,
    /// `--max-connections`: connections open at once.
    pub max_connections: usize,
    /// `--max-connections-per-ip`.
    pub max_connections_per_ip: usize,
    /// From the end of the TLS handshake to the first request's headers.
    pub first_request_timeout: Duration,
    /// A connection with no request in flight for this long is closed (kube's `IdleTimeout`).
    pub idle_timeout: Duration,
    /// HTTP/2 PING interval, and how long an answer may take before the connection is closed.
    pub keepalive_interval: Duration,
    pub keepalive_timeout: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_requests_inflight: 400,
            max_mutating_requests_inflight: 200,
            request_timeout: Duration::from_secs(60),
            min_request_timeout: Duration::from_secs(1800),
            max_watches: 10_000,
            max_watches_per_user: 1_000,
            max_connections: 10_000,
            max_connections_per_ip: 2_000,
            first_request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(90),
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(20),
        }
    }
}

/// kube's answer to a request refused for load: 429 with `Retry-After: 1`.
pub fn too_many_requests() -> StatusError {
    StatusError::too_many_requests("Too many requests, please try again later.", 1)
}

/// kube's 504 for a request past its deadline.
pub fn deadline_exceeded() -> StatusError {
    StatusError::timeout("request did not complete within requested timeout - context deadline exceeded", 0)
}

/// The limits in force while the server runs.
pub struct Limits {
    pub config: LimitsConfig,
    readonly: Option<Arc<FairPool>>,
    mutating: Option<Arc<FairPool>>,
    watches: Arc<Counted<Arc<str>>>,
    pub connections: Arc<Counted<IpAddr>>,
}

/// Which pool a request sits in (the `request_kind` label of kube's in-flight gauge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    ReadOnly,
    Mutating,
}

impl Limits {
    pub fn new(config: LimitsConfig) -> Self {
        let pool = |n: usize| (n > 0).then(|| FairPool::new(n, n.max(inflight::QUEUE_PER_USER) * 4));
        Self {
            readonly: pool(config.max_requests_inflight),
            mutating: pool(config.max_mutating_requests_inflight),
            watches: Counted::new(config.max_watches_per_user, config.max_watches),
            connections: Counted::new(config.max_connections_per_ip, config.max_connections),
            config,
        }
    }

    /// kube's `BasicLongRunningRequestCheck`: watches and proxies, and the streaming
    /// subresources. They take no seat and have no request deadline.
    pub fn is_long_running(info: &RequestInfo) -> bool {
        matches!(info.verb.as_str(), "watch" | "proxy")
            || matches!(info.subresource.as_str(), "attach" | "exec" | "proxy" | "log" | "portforward")
    }

    /// The deadline of a non-long-running request: `--request-timeout`, or a shorter positive
    /// `?timeout=`; kube's 400 for a `timeout` that is not a Go duration (or is out of
    /// range). `None` for long-running requests.
    pub fn deadline(&self, info: &RequestInfo) -> Result<Option<Duration>, StatusError> {
        if Self::is_long_running(info) {
            return Ok(None);
        }
        let max = self.config.request_timeout;
        let Some(text) = info.query_param("timeout").filter(|t| !t.is_empty()) else { return Ok(Some(max)) };
        let asked = apimachinery::duration::parse_go_duration(text).map_err(|e| {
            StatusError::bad_request(format!("invalid timeout specified in the request URL - {e}"))
        })?;
        Ok(Some(match asked.to_std() {
            Some(d) if !d.is_zero() && d < max => d,
            _ => max,
        }))
    }

    /// The pool a request of this kind draws from.
    pub fn kind_of(info: &RequestInfo) -> RequestKind {
        match info.verb.as_str() {
            "get" | "list" | "watch" => RequestKind::ReadOnly,
            _ => RequestKind::Mutating,
        }
    }

    /// A seat for the request of `user`, `None` when it takes none (long-running, exempt, or
    /// no limit); 429 when refused.
    pub async fn seat(&self, info: &RequestInfo, user: &UserInfo) -> Result<Option<Seat>, StatusError> {
        if Self::is_long_running(info) || exempt(info, user) {
            return Ok(None);
        }
        let pool = match Self::kind_of(info) {
            RequestKind::ReadOnly => &self.readonly,
            RequestKind::Mutating => &self.mutating,
        };
        let Some(pool) = pool else { return Ok(None) };
        match pool.acquire(&user.name, self.queue_wait()).await {
            Ok(seat) => Ok(Some(seat)),
            Err(why) => {
                tracing::debug!(user = %user.name, ?why, "request refused: too many in flight");
                Err(too_many_requests())
            }
        }
    }

    /// How long a request may wait for a seat (kube gives APF a quarter of the request timeout).
    fn queue_wait(&self) -> Duration {
        self.config.request_timeout / 4
    }

    /// Requests holding a seat now, by kind (the `apiserver_current_inflight_requests` gauge).
    pub fn inflight(&self, kind: RequestKind) -> usize {
        let pool = match kind {
            RequestKind::ReadOnly => &self.readonly,
            RequestKind::Mutating => &self.mutating,
        };
        pool.as_ref().map_or(0, |p| p.in_use())
    }

    /// Requests waiting for a seat now, by kind.
    pub fn waiting(&self, kind: RequestKind) -> usize {
        let pool = match kind {
            RequestKind::ReadOnly => &self.readonly,
            RequestKind::Mutating => &self.mutating,
        };
        pool.as_ref().map_or(0, |p| p.waiting())
    }

    /// A watch of `user`, held until the watch ends; 429 past the per-user or total cap.
    pub fn watch(&self, user: &str) -> Result<Slot<Arc<str>>, StatusError> {
        self.watches.take(Arc::from(user)).map_err(|over| {
            tracing::info!(%user, ?over, "watch refused: too many watches");
            match over {
                Over::PerKey => StatusError::too_many_requests(
                    format!(
                        "Too many requests: user {} has too many watches open",
                        apimachinery::quote::go_quote(user)
                    ),
                    1,
                ),
                Over::Total => too_many_requests(),
            }
        })
    }

    /// Watches open now.
    pub fn watches_open(&self) -> usize {
        self.watches.total_held()
    }

    /// How long a watch without `timeoutSeconds` lasts: kube's
    /// `minRequestTimeout * (1 + rand)`, so that watches of many clients do not all end, and
    /// come back, at once.
    pub fn watch_timeout(&self) -> Duration {
        self.config.min_request_timeout.mul_f64(1.0 + rand::random::<f64>())
    }
}

/// Requests that never wait for a seat: kube's `exempt` flow schema (`system:masters`) and
/// its `probes` one (health checks).
fn exempt(info: &RequestInfo, user: &UserInfo) -> bool {
    if user.groups.iter().any(|g| g == "system:masters") {
        return true;
    }
    !info.is_resource_request && is_health_path(&info.path)
}

/// `/healthz`, `/livez`, `/readyz` and their named checks.
pub fn is_health_path(path: &str) -> bool {
    ["/healthz", "/livez", "/readyz"].iter().any(|p| {
        path.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest == "/" || rest.starts_with('/'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(method: &str, path: &str, query: Option<&str>) -> RequestInfo {
        RequestInfo::new(method, path, query)
    }

    #[test]
    fn deadlines_as_kube_sets_them() {
        let limits = Limits::new(LimitsConfig::default());
        let get = |q| limits.deadline(&info("GET", "/api/v1/namespaces/a/pods/p", q));
        assert_eq!(get(None).unwrap(), Some(Duration::from_secs(60)));
        assert_eq!(get(Some("timeout=5s")).unwrap(), Some(Duration::from_secs(5)));
        assert_eq!(get(Some("timeout=0s")).unwrap(), Some(Duration::from_secs(60)));
        assert_eq!(get(Some("timeout=-5s")).unwrap(), Some(Duration::from_secs(60)));
        assert_eq!(get(Some("timeout=2h")).unwrap(), Some(Duration::from_secs(60)));
        let e = get(Some("timeout=99999999999999999999h")).unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "invalid timeout specified in the request URL - time: invalid duration \"99999999999999999999h\""
        );
        let watch = limits.deadline(&info("GET", "/api/v1/pods", Some("watch=1&timeout=zz"))).unwrap();
        assert_eq!(watch, None, "watches are long-running: no deadline, ?timeout= not read");
    }

    #[test]
    fn watch_timeouts_are_randomised_between_one_and_two_minimums() {
        let limits = Limits::new(LimitsConfig::default());
        for _ in 0..100 {
            let t = limits.watch_timeout();
            assert!(t >= Duration::from_secs(1800) && t <= Duration::from_secs(3600), "{t:?}");
        }
    }

    #[test]
    fn kinds_exemptions_and_health_paths() {
        assert_eq!(Limits::kind_of(&info("GET", "/api/v1/pods", None)), RequestKind::ReadOnly);
        assert_eq!(Limits::kind_of(&info("POST", "/api/v1/namespaces/a/pods", None)), RequestKind::Mutating);
        assert_eq!(
            Limits::kind_of(&info("DELETE", "/api/v1/namespaces/a/pods/p", None)),
            RequestKind::Mutating
        );
        assert!(is_health_path("/readyz/etcd") && is_health_path("/livez") && !is_health_path("/readyzz"));
        let anon = UserInfo::anonymous();
        assert!(exempt(&info("GET", "/readyz", None), &anon));
        assert!(!exempt(&info("GET", "/version", None), &anon));
        let master = UserInfo::new("root", vec!["system:masters".into()]);
        assert!(exempt(&info("POST", "/api/v1/namespaces", None), &master));
    }

    #[tokio::test]
    async fn watches_are_capped_per_user() {
        let limits = Limits::new(LimitsConfig { max_watches_per_user: 2, ..Default::default() });
        let a = limits.watch("alice").unwrap();
        let _b = limits.watch("alice").unwrap();
        let e = limits.watch("alice").err().expect("third refused");
        assert_eq!(e.code, 429);
        assert!(limits.watch("bob").is_ok());
        drop(a);
        assert!(limits.watch("alice").is_ok());
    }
}
