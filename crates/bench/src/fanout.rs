//! Watch fan-out: N watchers on one collection, a writer creating objects one at a time, and
//! the time from each create's acknowledgement until every watcher has seen its event.

use crate::client::{connect, Conn, Target};
use crate::stats::quantile;
use crate::writes::{configmap_body, ensure_namespace};
use crate::{procfs, BenchError};
use bytes::{Buf, Bytes, BytesMut};
use http::Method;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to run.
#[derive(Clone, Debug)]
pub struct FanoutConfig {
    pub namespace: String,
    pub watchers: usize,
    pub streams_per_conn: usize,
    pub writes: usize,
    pub interval: Duration,
    pub data_bytes: usize,
    /// The server's pid, to read its memory before and after the watches open.
    pub server_pid: Option<u32>,
    pub timeout: Duration,
}

/// What was measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FanoutResult {
    pub watchers: usize,
    pub writes: usize,
    /// Deliveries seen (watchers x writes when nothing was lost).
    pub delivered: usize,
    /// Per write: acknowledgement until the last watcher had the event.
    pub all_p50_ms: f64,
    pub all_p99_ms: f64,
    /// Per delivery: acknowledgement until one watcher had the event.
    pub each_p50_ms: f64,
    pub each_p99_ms: f64,
    /// Per write, from the create request being sent (events often beat the acknowledgement).
    pub sent_all_p50_ms: f64,
    pub sent_all_p99_ms: f64,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub per_watcher_kib: f64,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow, rename = "object")]
    object: EventObject<'a>,
}

#[derive(Deserialize)]
struct EventObject<'a> {
    #[serde(borrow)]
    metadata: Meta<'a>,
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(borrow, default)]
    name: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default, rename = "resourceVersion")]
    resource_version: Option<std::borrow::Cow<'a, str>>,
}

fn err(what: &str, e: impl std::fmt::Display) -> BenchError {
    BenchError::Decode { what: what.into(), detail: e.to_string() }
}

async fn current_rv(conn: &mut Conn, ns: &str) -> Result<String, BenchError> {
    let body = conn
        .expect_ok(Method::GET, &format!("/api/v1/namespaces/{ns}/configmaps?limit=1"), Bytes::new(), false)
        .await?;
    let list: EventObject = serde_json::from_slice(&body).map_err(|e| err("list", e))?;
    list.metadata.resource_version.map(|c| c.into_owned()).ok_or_else(|| err("list", "no resourceVersion"))
}

/// Reads one watch stream until it has `want` events named `prefix-*` or the deadline passes.
async fn watch_one(
    mut conn: Conn,
    path: String,
    prefix: String,
    want: usize,
    opened: Arc<AtomicUsize>,
    deadline: tokio::time::Instant,
) -> Result<Vec<(String, Instant)>, BenchError> {
    let resp = conn.send(Method::GET, &path, &[], Bytes::new()).await?;
    if !resp.status().is_success() {
        return Err(BenchError::Status { what: path, status: resp.status().as_u16(), body: String::new() });
    }
    opened.fetch_add(1, Ordering::Release);
    let mut body = resp.into_body();
    let mut buf = BytesMut::new();
    let mut seen = Vec::with_capacity(want);
    while seen.len() < want {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(f)) => f?,
            Ok(None) | Err(_) => break,
        };
        let Ok(data) = frame.into_data() else { continue };
        let now = Instant::now();
        buf.extend_from_slice(&data);
        while let Some(nl) = buf.iter().position(|b| *b == b'\n') {
            let line = buf.split_to(nl + 1);
            if let Ok(ev) = serde_json::from_slice::<Event>(&line) {
                if let Some(name) = ev.object.metadata.name.filter(|n| n.starts_with(prefix.as_str())) {
                    seen.push((name.into_owned(), now));
                }
            }
        }
        if buf.remaining() > (64 << 20) {
            return Err(err("watch stream", "line longer than 64 MiB"));
        }
    }
    Ok(seen)
}

/// Runs the fan-out measurement.
pub async fn run(target: &Target, cfg: &FanoutConfig) -> Result<FanoutResult, BenchError> {
    ensure_namespace(target, &cfg.namespace).await?;
    let mut writer = connect(target).await?;
    let rv = current_rv(&mut writer, &cfg.namespace).await?;
    let rss_before = cfg.server_pid.map(procfs::rss_kib).transpose()?.unwrap_or(0);

    let prefix = format!("fanout-{}-", std::process::id());
    let deadline = tokio::time::Instant::now() + cfg.timeout;
    let opened = Arc::new(AtomicUsize::new(0));
    let path = format!("/api/v1/namespaces/{}/configmaps?watch=1&resourceVersion={rv}", cfg.namespace);
    let mut tasks = Vec::with_capacity(cfg.watchers);
    let mut conn: Option<Conn> = None;
    for i in 0..cfg.watchers {
        if i % cfg.streams_per_conn.max(1) == 0 {
            conn = None;
        }
        let c = match conn.as_ref().and_then(Conn::share) {
            Some(c) => c,
            None => {
                let fresh = connect(target).await?;
                let shared = fresh.share();
                conn = shared;
                fresh
            }
        };
        let fut = watch_one(c, path.clone(), prefix.clone(), cfg.writes, opened.clone(), deadline);
        tasks.push(tokio::spawn(fut));
    }
    while opened.load(Ordering::Acquire) < cfg.watchers {
        if tokio::time::Instant::now() >= deadline {
            return Err(BenchError::Timeout(format!(
                "{} of {} watches opened",
                opened.load(Ordering::Acquire),
                cfg.watchers
            )));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = cfg.server_pid.map(procfs::rss_kib).transpose()?.unwrap_or(0);

    let mut acks = HashMap::with_capacity(cfg.writes);
    for k in 0..cfg.writes {
        let name = format!("{prefix}{k}");
        let path = format!("/api/v1/namespaces/{}/configmaps", cfg.namespace);
        let sent = Instant::now();
        writer.expect_ok(Method::POST, &path, configmap_body(&name, cfg.data_bytes), false).await?;
        acks.insert(name, (sent, Instant::now()));
        tokio::time::sleep(cfg.interval).await;
    }

    let mut each = Vec::with_capacity(cfg.watchers * cfg.writes);
    let mut last: HashMap<String, Duration> = HashMap::with_capacity(cfg.writes);
    let mut last_sent: HashMap<String, Duration> = HashMap::with_capacity(cfg.writes);
    let mut counts: HashMap<String, usize> = HashMap::with_capacity(cfg.writes);
    for t in tasks {
        let seen = t.await.map_err(|e| err("watch task", e))??;
        for (name, at) in seen {
            let Some((sent, ack)) = acks.get(&name) else { continue };
            let d = at.saturating_duration_since(*ack);
            let ds = at.saturating_duration_since(*sent);
            let ls = last_sent.entry(name.clone()).or_default();
            *ls = (*ls).max(ds);
            each.push(d);
            *counts.entry(name.clone()).or_default() += 1;
            let l = last.entry(name).or_default();
            *l = (*l).max(d);
        }
    }
    // A write some watcher never saw counts as the whole timeout.
    let per_write = |m: &HashMap<String, Duration>| {
        let mut v: Vec<Duration> = acks
            .keys()
            .map(|n| match counts.get(n) {
                Some(c) if *c >= cfg.watchers => m.get(n).copied().unwrap_or_default(),
                _ => cfg.timeout,
            })
            .collect();
        v.sort_unstable();
        v
    };
    let all = per_write(&last);
    let all_sent = per_write(&last_sent);
    each.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(FanoutResult {
        watchers: cfg.watchers,
        writes: cfg.writes,
        delivered: each.len(),
        all_p50_ms: ms(quantile(&all, 0.5)),
        all_p99_ms: ms(quantile(&all, 0.99)),
        each_p50_ms: ms(quantile(&each, 0.5)),
        each_p99_ms: ms(quantile(&each, 0.99)),
        sent_all_p50_ms: ms(quantile(&all_sent, 0.5)),
        sent_all_p99_ms: ms(quantile(&all_sent, 0.99)),
        rss_before_kib: rss_before,
        rss_after_kib: rss_after,
        per_watcher_kib: rss_after.saturating_sub(rss_before) as f64 / cfg.watchers.max(1) as f64,
    })
}
