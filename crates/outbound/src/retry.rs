//! kube's webhook retry policy (k8s.io/apiserver `pkg/util/webhook/webhook.go`): exponential
//! backoff (`DefaultRetryBackoffWithInitialDelay`: 500 ms, factor 1.5, jitter 0.2, 5 steps,
//! run as `wait.ExponentialBackoffWithContext`) while `DefaultShouldRetry` says the failure
//! is transient.

use crate::client::Response;
use crate::error::Error;
use std::future::Future;
use std::time::Duration;

/// `wait.Backoff`: `steps` attempts in all; before attempt n+1 the wait is
/// `initial * factor^(n-1)`, stretched by up to `jitter` times itself at random.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub factor: f64,
    pub jitter: f64,
    pub steps: u32,
}

impl Backoff {
    /// One attempt, no retry.
    pub const NONE: Backoff = Backoff { initial: Duration::ZERO, factor: 1.0, jitter: 0.0, steps: 1 };

    /// `DefaultRetryBackoffWithInitialDelay(initial)`: factor 1.5, jitter 0.2, 5 steps.
    pub const fn with_initial_delay(initial: Duration) -> Self {
        Backoff { initial, factor: 1.5, jitter: 0.2, steps: 5 }
    }

    /// kube's default for webhooks (`DefaultAuthWebhookRetryBackoff`): 500 ms initial delay.
    pub const fn webhook_default() -> Self {
        Self::with_initial_delay(Duration::from_millis(500))
    }

    /// The wait before each retry, jittered, in order (`steps - 1` of them).
    fn waits(self) -> impl Iterator<Item = Duration> {
        let mut next = self.initial;
        (1..self.steps.max(1)).map(move |_| {
            let wait = next;
            next = next.mul_f64(self.factor.max(0.0));
            if self.jitter > 0.0 {
                wait + wait.mul_f64(rand::random::<f64>() * self.jitter)
            } else {
                wait
            }
        })
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::webhook_default()
    }
}

/// `webhook.DefaultShouldRetry` applied to what the client got: a connection reset by the
/// peer, or an answer that client-go turns into an error kube counts as transient. client-go
/// maps 500 and every other 5xx but 503 and 504 to InternalError, 504 to Timeout, 429 to
/// TooManyRequests (all retried), and any error answer with `Retry-After: N` (N > 0) is
/// retried too (`SuggestsClientDelay`), a 503 included. Refused connections, TLS failures,
/// timeouts and other answers are final.
pub fn should_retry(outcome: &Result<Response, Error>) -> bool {
    match outcome {
        Err(e) => e.is_connection_reset(),
        Ok(resp) => {
            let code = resp.status.as_u16();
            if (200..300).contains(&code) {
                return false;
            }
            let transient = code == 429 || (code >= 500 && code != 503);
            transient || retry_after_seconds(&resp.headers).is_some_and(|s| s > 0)
        }
    }
}

/// The `Retry-After` header as whole seconds (client-go reads only that form).
fn retry_after_seconds(headers: &http::HeaderMap) -> Option<u64> {
    headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
}

/// Runs `attempt` until it gives an answer [`should_retry`] accepts, or the backoff's steps
/// are spent; the last outcome is returned (`WithExponentialBackoff`).
pub async fn with_backoff<F, Fut>(backoff: Backoff, mut attempt: F) -> Result<Response, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Response, Error>>,
{
    let mut waits = backoff.waits();
    loop {
        let outcome = attempt().await;
        if !should_retry(&outcome) {
            return outcome;
        }
        match waits.next() {
            Some(wait) => {
                tracing::debug!(?wait, "retrying the call after a transient failure");
                tokio::time::sleep(wait).await;
            }
            None => return outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use bytes::Bytes;

    fn answer(code: u16, retry_after: Option<&str>) -> Result<Response, Error> {
        let mut headers = http::HeaderMap::new();
        if let Some(v) = retry_after {
            headers.insert(http::header::RETRY_AFTER, v.parse().unwrap());
        }
        Ok(Response {
            status: http::StatusCode::from_u16(code).unwrap(),
            version: http::Version::HTTP_11,
            headers,
            body: Bytes::new(),
        })
    }

    fn failed(kind: ErrorKind) -> Result<Response, Error> {
        Err(Error::new(&http::Method::POST, "https://h/", kind))
    }

    #[test]
    fn default_should_retry() {
        for code in [429, 500, 501, 502, 504, 599] {
            assert!(should_retry(&answer(code, None)), "{code}");
        }
        for code in [200, 201, 204, 301, 400, 401, 403, 404, 409, 422, 503] {
            assert!(!should_retry(&answer(code, None)), "{code}");
        }
        assert!(should_retry(&answer(503, Some("1"))));
        assert!(should_retry(&answer(403, Some("3"))));
        assert!(!should_retry(&answer(503, Some("0"))));
        assert!(!should_retry(&answer(503, Some("Wed, 21 Oct 2015 07:28:00 GMT"))));
        assert!(!should_retry(&answer(200, Some("1"))));
        assert!(should_retry(&failed(ErrorKind::Transport { cause: "reset".into(), reset: true })));
        assert!(!should_retry(&failed(ErrorKind::Transport { cause: "eof".into(), reset: false })));
        let refused = ErrorKind::Dial { authority: "h:1".into(), cause: "refused".into() };
        assert!(!should_retry(&failed(refused)));
        assert!(!should_retry(&failed(ErrorKind::Timeout)));
    }

    #[test]
    fn kube_default_waits() {
        let b = Backoff { jitter: 0.0, ..Backoff::webhook_default() };
        let waits: Vec<u128> = b.waits().map(|d| d.as_micros()).collect();
        assert_eq!(waits, vec![500_000, 750_000, 1_125_000, 1_687_500]);
        for (wait, base) in Backoff::webhook_default().waits().zip([500u64, 750, 1125, 1687]) {
            let ms = wait.as_millis() as u64;
            assert!((base..=base + base / 5 + 1).contains(&ms), "{ms} for {base}");
        }
        assert_eq!(Backoff::NONE.waits().count(), 0);
    }

    #[tokio::test]
    async fn stops_at_success_or_after_the_last_step() {
        let fast = Backoff { initial: Duration::from_millis(1), ..Backoff::webhook_default() };
        let mut calls = 0;
        let out = with_backoff(fast, || {
            calls += 1;
            let code = if calls < 3 { 500 } else { 200 };
            async move { answer(code, None) }
        })
        .await;
        assert_eq!((out.unwrap().status.as_u16(), calls), (200, 3));
        let mut calls = 0;
        let out = with_backoff(fast, || {
            calls += 1;
            async { answer(502, None) }
        })
        .await;
        assert_eq!((out.unwrap().status.as_u16(), calls), (502, 5));
        let mut calls = 0;
        let out = with_backoff(fast, || {
            calls += 1;
            async { answer(400, None) }
        })
        .await;
        assert_eq!((out.unwrap().status.as_u16(), calls), (400, 1));
    }
}
