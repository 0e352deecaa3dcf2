//! The webhook backend (`--audit-webhook-config-file`, a kubeconfig naming the receiver):
//! events POSTed as an `audit.k8s.io/v1` EventList through kubeward's outbound client, each
//! call retried with kube's webhook policy from `--audit-webhook-initial-backoff`.
//!
//! `--audit-webhook-mode` as kube's:
//! - `batch` (default): events go to a bounded buffer (`--audit-webhook-batch-buffer-size`)
//!   and are sent in batches of up to `--audit-webhook-batch-max-size`, or whatever arrived
//!   within `--audit-webhook-batch-max-wait`, throttled (`-throttle-qps`, `-throttle-burst`).
//!   A full buffer never blocks a request: the event is dropped, counted
//!   (`Counters::webhook_dropped`, kube's `apiserver_audit_error_total{plugin="buffered"}`)
//!   and logged. A batch the receiver did not take after the retries is counted in
//!   `Counters::webhook_errors` and logged.
//! - `blocking`: each event is sent before the request goes on; a failure is counted and
//!   logged, and the request proceeds. The wait is bounded by the calls' timeout and retries.
//! - `blocking-strict`: as `blocking`, but a failure to store the RequestReceived event
//!   fails the request (500), as kube's.

use super::Counters;
use bytes::Bytes;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};

/// How many batches may be on their way at once; beyond that the buffer fills.
const MAX_SENDS_IN_FLIGHT: usize = 8;

/// `--audit-webhook-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Batch,
    Blocking,
    BlockingStrict,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "batch" => Ok(Mode::Batch),
            "blocking" => Ok(Mode::Blocking),
            "blocking-strict" => Ok(Mode::BlockingStrict),
            other => Err(format!("invalid audit webhook mode {other:?}, allowed modes are \"batch\", \"blocking\", \"blocking-strict\"")),
        }
    }
}

/// The webhook backend's flags, with kube's defaults.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    pub config_file: PathBuf,
    pub mode: Mode,
    pub initial_backoff: Duration,
    pub buffer_size: usize,
    pub max_batch_size: usize,
    pub max_batch_wait: Duration,
    pub throttle_enable: bool,
    pub throttle_qps: f64,
    pub throttle_burst: usize,
}

impl WebhookOptions {
    pub fn new(config_file: PathBuf) -> Self {
        WebhookOptions {
            config_file,
            mode: Mode::Batch,
            initial_backoff: Duration::from_secs(10),
            buffer_size: 10_000,
            max_batch_size: 400,
            max_batch_wait: Duration::from_secs(30),
            throttle_enable: true,
            throttle_qps: 10.0,
            throttle_burst: 15,
        }
    }
}

/// The running webhook backend; see the module docs.
pub struct WebhookBackend {
    pub mode: Mode,
    target: Arc<outbound::Target>,
    /// The batch buffer (batch mode).
    queue: Option<mpsc::Sender<Bytes>>,
    counters: Arc<Counters>,
    last_drop_log: Mutex<Option<Instant>>,
}

impl WebhookBackend {
    /// Reads the kubeconfig and, in batch mode, starts the batcher (needs a tokio runtime).
    pub fn start(options: &WebhookOptions, counters: Arc<Counters>) -> Result<Self, String> {
        let config = outbound::kubeconfig::load(&options.config_file)
            .map_err(|e| format!("audit webhook {}: {e}", options.config_file.display()))?;
        let backoff = outbound::Backoff::with_initial_delay(options.initial_backoff);
        let target = outbound::Target::new(&config, outbound::Options::default(), backoff)
            .map_err(|e| format!("audit webhook {}: {e}", options.config_file.display()))?;
        let target = Arc::new(target);
        let queue = (options.mode == Mode::Batch).then(|| {
            let (tx, rx) = mpsc::channel(options.buffer_size.max(1));
            tokio::spawn(batcher(rx, target.clone(), options.clone(), counters.clone()));
            tx
        });
        Ok(WebhookBackend { mode: options.mode, target, queue, counters, last_drop_log: Mutex::new(None) })
    }

    /// Hands one event (its JSON) to the backend. Batch mode never waits; blocking modes
    /// send it now. False when a blocking send failed.
    pub async fn process(&self, event: Bytes) -> bool {
        if let Some(queue) = &self.queue {
            if queue.try_send(event).is_err() {
                self.dropped();
            }
            return true;
        }
        match send(&self.target, &[event]).await {
            Ok(()) => true,
            Err(e) => {
                let n = self.counters.webhook_errors.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::error!(error = %e, errors_total = n, "audit webhook failed; 1 event not stored");
                false
            }
        }
    }

    /// Counts a drop and logs it (at most once a second, with the running total).
    fn dropped(&self) {
        let n = self.counters.webhook_dropped.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = self.last_drop_log.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            *last = Some(Instant::now());
            tracing::error!(dropped_total = n, "audit webhook buffer is full: event dropped");
        }
    }
}

/// The events as one `audit.k8s.io/v1` EventList, without parsing them again.
fn event_list(events: &[Bytes]) -> Vec<u8> {
    let total: usize = events.iter().map(|e| e.len() + 1).sum();
    let mut body = Vec::with_capacity(total + 96);
    body.extend_from_slice(br#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":["#);
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(e);
    }
    body.extend_from_slice(b"]}");
    body
}

/// POSTs the events, retried per the target's backoff; an answer other than 2xx fails.
async fn send(target: &outbound::Target, events: &[Bytes]) -> Result<(), String> {
    match target.post_json(event_list(events)).await {
        Ok(r) if r.status.is_success() => Ok(()),
        Ok(r) => Err(format!("the receiver answered {}", r.status.as_u16())),
        Err(e) => Err(e.to_string()),
    }
}

/// Batch mode: collects up to the batch size or the wait, then sends on a task of its own.
async fn batcher(
    mut rx: mpsc::Receiver<Bytes>,
    target: Arc<outbound::Target>,
    options: WebhookOptions,
    counters: Arc<Counters>,
) {
    let sends = Arc::new(Semaphore::new(MAX_SENDS_IN_FLIGHT));
    let mut throttle = Throttle::new(options.throttle_qps, options.throttle_burst);
    let max = options.max_batch_size.max(1);
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + options.max_batch_wait;
        while batch.len() < max {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(e)) => batch.push(e),
                _ => break,
            }
        }
        if options.throttle_enable {
            throttle.wait().await;
        }
        let Ok(permit) = sends.clone().acquire_owned().await else { return };
        let (target, counters) = (target.clone(), counters.clone());
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = send(&target, &batch).await {
                let n = counters.webhook_errors.fetch_add(batch.len() as u64, Ordering::Relaxed)
                    + batch.len() as u64;
                tracing::error!(error = %e, events = batch.len(), errors_total = n, "audit webhook failed; events not stored");
            }
        });
    }
}

/// A token bucket: `qps` per second, up to `burst` at once (client-go's rate limiter).
struct Throttle {
    qps: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Throttle {
    fn new(qps: f64, burst: usize) -> Self {
        let burst = burst.max(1) as f64;
        Throttle {
            qps: if qps > 0.0 { qps } else { f64::INFINITY },
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    async fn wait(&mut self) {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.qps).min(self.burst);
        self.last = now;
        if self.tokens < 1.0 {
            let wait = Duration::from_secs_f64(((1.0 - self.tokens) / self.qps).min(60.0));
            tokio::time::sleep(wait).await;
            self.tokens = 1.0;
            self.last = Instant::now();
        }
        self.tokens -= 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_list_wraps_events() {
        let list = event_list(&[Bytes::from_static(b"{\"a\":1}"), Bytes::from_static(b"{\"b\":2}")]);
        let v: serde_json::Value = serde_json::from_slice(&list).unwrap();
        assert_eq!(v["kind"], "EventList");
        assert_eq!(v["apiVersion"], "audit.k8s.io/v1");
        assert_eq!(v["items"], serde_json::json!([{"a": 1}, {"b": 2}]));
    }

    #[test]
    fn modes_parse_as_kube_names_them() {
        assert_eq!("blocking-strict".parse::<Mode>(), Ok(Mode::BlockingStrict));
        assert!("strict".parse::<Mode>().unwrap_err().contains("allowed modes"));
    }

    #[tokio::test]
    async fn a_full_buffer_counts_and_never_blocks() {
        // A receiver that accepts connections and never answers holds the one send.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let kc = dir.path().join("kc");
        std::fs::write(
            &kc,
            format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://{addr}/audit\nusers:\n- name: u\n  user: {{}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n"),
        )
        .unwrap();
        let mut options = WebhookOptions::new(kc);
        options.buffer_size = 2;
        options.max_batch_size = 1;
        let counters = Arc::new(Counters::default());
        let backend = WebhookBackend::start(&options, counters.clone()).unwrap();
        let started = Instant::now();
        for _ in 0..(MAX_SENDS_IN_FLIGHT + 20) {
            assert!(backend.process(Bytes::from_static(b"{}")).await);
            tokio::task::yield_now().await;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "a full buffer never blocks");
        let dropped = counters.webhook_dropped.load(Ordering::Relaxed);
        assert!(dropped >= 10, "drops are counted: {dropped}");
    }
}
