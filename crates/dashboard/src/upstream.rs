//! The API server as the dashboard and the proxy reach it: one pooled HTTPS client trusting
//! the kubeconfig's CA, every call made with the credential of the person it is made for
//! ([`Who`]): their bearer token, or (desktop mode) the kubeconfig's own credential, whose
//! client certificate needs a client of its own. Nothing here holds a credential of the
//! dashboard's own.

use crate::credentials::Kubeconfig;
use apimachinery::status::StatusError;
use bytes::Bytes;
use http_body_util::BodyExt;
use std::sync::Arc;

/// The largest answer read whole (lists are paginated; a watch is streamed).
pub const MAX_BODY: usize = 16 << 20;

/// On whose behalf a call is made.
#[derive(Clone)]
pub enum Who {
    /// A bearer token (pasted, from the auth proxy's header, or an OIDC id_token).
    Bearer(Arc<str>),
    /// The kubeconfig's credential (desktop mode).
    Kubeconfig,
}

impl std::fmt::Debug for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Who::Bearer(_) => "Bearer(<redacted>)",
            Who::Kubeconfig => "Kubeconfig",
        })
    }
}

/// The API server; see the module docs.
pub struct Upstream {
    base: String,
    /// Trusts the kubeconfig's CA; presents no certificate.
    plain: outbound::Client,
    /// Desktop mode: the kubeconfig's credential.
    desktop: Option<Desktop>,
}

struct Desktop {
    client: outbound::Client,
    kubeconfig: Arc<Kubeconfig>,
}

/// A call's answer, its body still to be read.
pub type Streamed = http::Response<hyper::body::Incoming>;

impl Upstream {
    /// The API server of `kc`; with `desktop`, calls for [`Who::Kubeconfig`] carry the
    /// kubeconfig's credential.
    pub fn new(kc: Arc<Kubeconfig>, desktop: bool) -> Result<Self, String> {
        let rest = &kc.rest;
        if rest.insecure_skip_tls_verify {
            return Err("insecure-skip-tls-verify is not supported: name the server's CA".into());
        }
        let options =
            outbound::Options { timeout: std::time::Duration::from_secs(30), max_response_bytes: MAX_BODY };
        let tls = outbound::tls::client_config(rest.ca_pem.as_deref(), None).map_err(|e| e.to_string())?;
        let plain = outbound::Client::new(tls, rest.tls_server_name.as_deref(), options)
            .map_err(|e| e.to_string())?;
        let desktop = if desktop {
            let tls = outbound::tls::client_config(rest.ca_pem.as_deref(), rest.client_cert.as_ref())
                .map_err(|e| e.to_string())?;
            let client = outbound::Client::new(tls, rest.tls_server_name.as_deref(), options)
                .map_err(|e| e.to_string())?;
            Some(Desktop { client, kubeconfig: kc.clone() })
        } else {
            None
        };
        let base = rest.server.to_string().trim_end_matches('/').to_string();
        Ok(Self { base, plain, desktop })
    }

    /// The server's URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// One call, its answer streamed. `path` starts with `/` and may carry a query.
    pub async fn call(
        &self,
        who: &Who,
        method: http::Method,
        path: &str,
        headers: &[(http::HeaderName, String)],
        body: Bytes,
    ) -> Result<Streamed, StatusError> {
        let mut req = http::Request::new(body);
        *req.method_mut() = method;
        *req.uri_mut() = format!("{}{path}", self.base).parse().map_err(|_| {
            StatusError::bad_request(format!("invalid path {}", apimachinery::quote::go_quote(path)))
        })?;
        for (name, value) in headers {
            if let Ok(v) = http::HeaderValue::from_str(value) {
                req.headers_mut().insert(name.clone(), v);
            }
        }
        req.headers_mut()
            .insert(http::header::USER_AGENT, http::HeaderValue::from_static("kubeward-dashboard"));
        let client = match who {
            Who::Bearer(token) => {
                set_bearer(&mut req, token)?;
                &self.plain
            }
            Who::Kubeconfig => {
                let d = self.desktop.as_ref().ok_or_else(|| StatusError::unauthorized("Unauthorized"))?;
                if let Some(src) = &d.kubeconfig.tokens {
                    let token = src.token().await.map_err(|e| {
                        tracing::warn!(error = %e, "the kubeconfig's credential gave no token");
                        StatusError::unauthorized(&format!("the kubeconfig's credential gave no token: {e}"))
                    })?;
                    set_bearer(&mut req, &token)?;
                }
                &d.client
            }
        };
        let resp = client.send_streaming(req).await.map_err(|e| {
            StatusError::service_unavailable(format!("the API server cannot be reached: {e}"))
        })?;
        if resp.status() == http::StatusCode::UNAUTHORIZED {
            if let (Who::Kubeconfig, Some(src)) =
                (who, self.desktop.as_ref().and_then(|d| d.kubeconfig.tokens.as_ref()))
            {
                src.refused().await;
            }
        }
        Ok(resp)
    }

    /// A call whose answer is read whole (at most [`MAX_BODY`]); a non-2xx answer is the
    /// server's Status.
    pub async fn json(
        &self,
        who: &Who,
        method: http::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, StatusError> {
        let mut headers = vec![(http::header::ACCEPT, "application/json".to_string())];
        let body = match body {
            Some(b) => {
                headers.push((http::header::CONTENT_TYPE, "application/json".to_string()));
                Bytes::from(b.to_string())
            }
            None => Bytes::new(),
        };
        let resp = self.call(who, method, path, &headers, body).await?;
        let status = resp.status();
        let bytes = read_body(resp.into_body(), MAX_BODY).await?;
        if !status.is_success() {
            return Err(status_of(status.as_u16(), &bytes));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| StatusError::internal(&format!("the API server's answer is not JSON: {e}")))
    }
}

fn set_bearer(req: &mut http::Request<Bytes>, token: &str) -> Result<(), StatusError> {
    let mut v = http::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| StatusError::unauthorized("Unauthorized"))?;
    v.set_sensitive(true);
    req.headers_mut().insert(http::header::AUTHORIZATION, v);
    Ok(())
}

/// Reads a body whole, up to `limit` bytes.
pub async fn read_body(body: hyper::body::Incoming, limit: usize) -> Result<Bytes, StatusError> {
    http_body_util::Limited::new(body, limit)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| StatusError::service_unavailable(format!("reading the API server's answer: {e}")))
}

/// The Status the API server answered with (its code, reason and message), or one made from
/// the HTTP code when the body is not a Status.
pub fn status_of(code: u16, body: &[u8]) -> StatusError {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let message = v.get("message").and_then(|m| m.as_str()).map(str::to_string).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text: String = text.chars().take(300).collect();
        if text.trim().is_empty() {
            format!("the server answered {code}")
        } else {
            text
        }
    });
    let reason = v
        .get("reason")
        .and_then(|r| r.as_str())
        .map(apimachinery::status::StatusReason::from_wire)
        .unwrap_or_default();
    let mut e = StatusError::bad_request(message);
    e.code = code;
    e.reason = reason;
    e
}
