//! A fixed-count GET load at a fixed rate: the load of the instruction cost rows
//! (`overhead.rs`), which count a server's instructions under valgrind, where oha's rates do not
//! fit (the server runs ~50x slower) and oha may not be installed.
//!
//! Request `i` of a run (0-based, over all connections) starts no earlier than `i / rate`
//! seconds after the run's start, each connection sending one request at a time. The run ends
//! when `requests` have been answered or failed.

use crate::client::{connect, Conn, Target};
use crate::stats::{summarize, Summary};
use crate::BenchError;
use bytes::Bytes;
use http::Method;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// When request `seq` of a run at `rate` requests/s may start, after the run's start.
pub fn start_offset(seq: u64, rate: f64) -> Duration {
    if rate > 0.0 && rate.is_finite() {
        Duration::from_secs_f64(seq as f64 / rate)
    } else {
        Duration::ZERO
    }
}

/// Opens `conns` connections at once.
pub async fn open(target: &Target, conns: usize) -> Result<Vec<Conn>, BenchError> {
    let tasks: Vec<_> = (0..conns.max(1))
        .map(|_| {
            let target = target.clone();
            tokio::spawn(async move { connect(&target).await })
        })
        .collect();
    let mut open = Vec::with_capacity(tasks.len());
    for t in tasks {
        open.push(
            t.await
                .map_err(|e| BenchError::Decode { what: "connect task".into(), detail: e.to_string() })??,
        );
    }
    Ok(open)
}

/// Sends `requests` GETs of `path` over `conns` fresh connections at `rate` requests/s (0: as
/// fast as answered); answered requests with a non-2xx status or a transport failure count as
/// errors (a failed connection is opened again). Each connection sends its first request as
/// soon as it is open (a server that handshakes slowly, as under valgrind, must not drop
/// connections idle since their handshake: kubeward's first-request timeout).
pub async fn run_gets(
    target: &Target,
    path: &str,
    conns: usize,
    requests: u64,
    rate: f64,
) -> Result<Summary, BenchError> {
    let slots = (0..conns.max(1)).map(|_| None).collect();
    Ok(run(target, path, slots, requests, rate).await?.0)
}

/// [`run_gets`] over connections already open, which are handed back open, so that the
/// caller decides when the server sees them closed (the instruction rows count a server's
/// instructions per request with no handshake or teardown in the counted window).
pub async fn run_gets_on(
    target: &Target,
    path: &str,
    conns: Vec<Conn>,
    requests: u64,
    rate: f64,
) -> Result<(Summary, Vec<Conn>), BenchError> {
    run(target, path, conns.into_iter().map(Some).collect(), requests, rate).await
}

async fn run(
    target: &Target,
    path: &str,
    slots: Vec<Option<Conn>>,
    requests: u64,
    rate: f64,
) -> Result<(Summary, Vec<Conn>), BenchError> {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(slots.len());
    for slot in slots {
        let (target, next, path) = (target.clone(), next.clone(), path.to_string());
        tasks.push(tokio::spawn(async move {
            let mut conn = match slot {
                Some(conn) => conn,
                None => connect(&target).await?,
            };
            let mut samples = Vec::new();
            let mut errors = 0u64;
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= requests {
                    break;
                }
                tokio::time::sleep_until((start + start_offset(seq, rate)).into()).await;
                let t = Instant::now();
                match conn.call(Method::GET, &path, &[], Bytes::new()).await {
                    Ok((status, _)) if status.is_success() => samples.push(t.elapsed()),
                    Ok((status, body)) => {
                        if errors < 3 {
                            let body = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                            eprintln!("GET {path}: {status}: {body}");
                        }
                        errors += 1;
                    }
                    Err(e) => {
                        if errors < 3 {
                            eprintln!("GET {path}: {e}");
                        }
                        errors += 1;
                        conn = connect(&target).await?;
                    }
                }
            }
            Ok::<_, BenchError>((samples, errors, conn))
        }));
    }
    let mut samples = Vec::new();
    let mut errors = 0;
    let mut open = Vec::with_capacity(tasks.len());
    for t in tasks {
        let (s, e, conn) =
            t.await.map_err(|e| BenchError::Decode { what: "load task".into(), detail: e.to_string() })??;
        samples.extend(s);
        errors += e;
        open.push(conn);
    }
    Ok((summarize(samples, errors, start.elapsed()), open))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_spaced_by_the_rate() {
        assert_eq!(start_offset(0, 100.0), Duration::ZERO);
        assert_eq!(start_offset(250, 100.0), Duration::from_millis(2500));
        assert_eq!(start_offset(7, 0.0), Duration::ZERO, "rate 0: as fast as answered");
        assert_eq!(start_offset(7, f64::INFINITY), Duration::ZERO);
    }
}
