//! Auditing as kube-apiserver does it: a policy decides per request what is recorded
//! ([`policy`]), the handler chain fills one [`Record`] per request ([`event`], with the
//! bodies of [`body`]), and at each stage the event goes to the backends: the log file
//! ([`log`]) and the webhook ([`webhook`]).
//!
//! Stages, as kube's audit filter emits them: RequestReceived once the request is
//! authenticated (its policy evaluated), ResponseStarted when the headers of a long-running
//! request (watch) are sent, ResponseComplete when the answer is done (for a watch, when its
//! stream ends), Panic when a handler panicked. A request that fails authentication gets one
//! ResponseStarted event with no user and kube's `Authentication failed, attempted: ...`.
//! Stages the policy omits are skipped; level None records nothing.
//!
//! Without `--audit-policy-file` every request is recorded at level Metadata (kube records
//! nothing without a policy; kubeward keeps its audit trail on by default). The counters
//! ([`Counters`]) are public for /metrics.

pub mod body;
pub mod event;
mod json;
pub mod log;
pub mod policy;
pub mod webhook;

pub use body::Capture;
pub use event::{Record, ResponseStatus};
pub use policy::{Level, Policy, RequestAuditConfig, Stage};

use bytes::Bytes;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The audit flags of the server.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// `--audit-policy-file`; kubeward's Metadata-for-everything policy when `None`.
    pub policy_file: Option<PathBuf>,
    /// The log backend, when `--audit-log-path` is set.
    pub log: Option<log::LogOptions>,
    /// The webhook backend, when `--audit-webhook-config-file` is set.
    pub webhook: Option<webhook::WebhookOptions>,
}

/// What auditing counted, named after kube's metrics; read by /metrics.
#[derive(Debug, Default)]
pub struct Counters {
    /// `apiserver_audit_event_total`: events generated and handed to the backends.
    pub events: AtomicU64,
    /// `apiserver_audit_error_total{plugin="log"}`: events the log did not write (full
    /// buffer, an event larger than the file limit).
    pub log_errors: AtomicU64,
    /// `apiserver_audit_error_total{plugin="webhook"}`: events the webhook receiver did not
    /// take after the retries.
    pub webhook_errors: AtomicU64,
    /// `apiserver_audit_error_total{plugin="buffered"}`: events dropped because the webhook's
    /// batch buffer was full.
    pub webhook_dropped: AtomicU64,
    /// `apiserver_audit_requests_rejected_total`: requests failed because their event could
    /// not be stored (blocking-strict).
    pub requests_rejected: AtomicU64,
}

thread_local! {
    /// Where events are serialized; kept between events (up to [`MAX_KEPT_BUFFER`]).
    static JSON_BUFFER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(4096));
}

/// A larger serialization buffer (a RequestResponse event of a big list) is not kept.
const MAX_KEPT_BUFFER: usize = 256 * 1024;

/// The policy and the backends; one per server.
pub struct Auditor {
    policy: Policy,
    log: Option<log::LogBackend>,
    webhook: Option<webhook::WebhookBackend>,
    pub counters: Arc<Counters>,
}

impl Auditor {
    /// Reads the policy and starts the backends; `None` when no backend is configured.
    pub fn start(options: &AuditOptions) -> Result<Option<Auditor>, String> {
        if options.log.is_none() && options.webhook.is_none() {
            if let Some(p) = &options.policy_file {
                tracing::warn!(policy = %p.display(), "--audit-policy-file without a log or webhook backend: nothing is audited");
            }
            return Ok(None);
        }
        let policy = match &options.policy_file {
            Some(path) => {
                let (policy, ignored) = Policy::load(path).map_err(|e| e.to_string())?;
                for field in ignored {
                    tracing::warn!(policy = %path.display(), %field, "unknown field in the audit policy ignored");
                }
                policy
            }
            None => Policy::default_metadata(),
        };
        let counters = Arc::new(Counters::default());
        let log = match &options.log {
            Some(o) => Some(
                log::LogBackend::open(o, counters.clone())
                    .map_err(|e| format!("audit log {}: {e}", o.path.display()))?,
            ),
            None => None,
        };
        let webhook = match &options.webhook {
            Some(o) => Some(webhook::WebhookBackend::start(o, counters.clone())?),
            None => None,
        };
        Ok(Some(Auditor { policy, log, webhook, counters }))
    }

    /// Evaluates the policy for the record's request and user (once).
    pub fn evaluate(&self, rec: &mut Record) {
        if rec.config.is_none() {
            rec.config = Some(self.policy.evaluate(rec.user.as_deref(), &rec.info));
        }
    }

    /// Sends the record's event at `stage` to every backend, unless the policy leaves it
    /// out. False when a blocking-strict webhook did not store it.
    pub async fn process(&self, rec: &Record, stage: Stage) -> bool {
        let Some(config) = rec.config else { return true };
        if config.level == Level::None || config.omit_stages.contains(stage) {
            return true;
        }
        self.counters.events.fetch_add(1, Ordering::Relaxed);
        let now = chrono::Utc::now();
        // One serialization for both backends, into this thread's reused buffer.
        let for_webhook = JSON_BUFFER.with(|buf| {
            let mut buf = buf.borrow_mut();
            buf.clear();
            rec.write_json(stage, now, &mut buf);
            if let Some(log) = &self.log {
                match log.format {
                    log::Format::Json => log.write(&buf),
                    log::Format::Legacy => log.write(rec.to_legacy(stage).as_bytes()),
                }
            }
            if buf.capacity() > MAX_KEPT_BUFFER {
                *buf = Vec::new();
            }
            self.webhook.is_some().then(|| Bytes::copy_from_slice(&buf))
        });
        match (&self.webhook, for_webhook) {
            (Some(w), Some(json)) => {
                let stored = w.process(json).await;
                stored || w.mode != webhook::Mode::BlockingStrict
            }
            _ => true,
        }
    }

    /// RequestReceived, once the request is authenticated. False when the event could not
    /// be stored and the request must fail (kube: `failed to store audit event`).
    pub async fn received(&self, rec: &mut Record) -> bool {
        self.evaluate(rec);
        let stored = self.process(rec, Stage::RequestReceived).await;
        if !stored {
            self.counters.requests_rejected.fetch_add(1, Ordering::Relaxed);
        }
        stored
    }
}

/// kube's `getAuthMethods`: what a request that failed authentication tried.
pub fn attempted_auth_methods(
    headers: &http::HeaderMap,
    query: &[(String, String)],
    has_certificate: bool,
) -> String {
    let mut methods = Vec::new();
    let auth =
        headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default().trim();
    let scheme = auth.split(' ').next().unwrap_or_default();
    if scheme.eq_ignore_ascii_case("basic") && auth.contains(' ') {
        methods.push("basic");
    }
    if scheme.eq_ignore_ascii_case("bearer") && auth.split(' ').count() > 1 {
        methods.push("bearer");
    }
    if query.iter().any(|(k, v)| k == "access_token" && !v.trim().is_empty()) {
        methods.push("access_token");
    }
    if has_certificate {
        methods.push("x509");
    }
    if methods.is_empty() {
        "Authentication failed, no credentials provided".to_string()
    } else {
        format!("Authentication failed, attempted: {}", methods.join(", "))
    }
}

/// kube's long-running requests (`BasicLongRunningRequestCheck` with the apiserver's sets):
/// their ResponseStarted is emitted when the headers go out.
pub fn is_long_running(info: &apimachinery::RequestInfo) -> bool {
    matches!(info.verb.as_str(), "watch" | "proxy")
        || matches!(info.subresource.as_str(), "attach" | "exec" | "proxy" | "log" | "portforward")
}
