//! `GET pods/<name>/log`: PodLogOptions from the query, then the container's log read from its
//! kubelet and streamed (kube's LogREST and LocationStreamer).

use super::{get_object, kubelet_of, pick_container, str_at, MAX_ERROR_BODY};
use crate::context::Ctx;
use crate::response::{self, Body};
use apimachinery::field::{forbidden, invalid_number};
use apimachinery::gvr::GroupKind;
use apimachinery::{GroupResource, StatusError};
use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use registry::ResourceType;

/// `GET pods/<name>/log`.
pub async fn log(ctx: &Ctx, pods: &ResourceType) -> Result<Response<Body>, StatusError> {
    let info = &ctx.info;
    let name = info.name.as_str();
    let opts = LogOptions::from_query(info)?;
    opts.validate(name)?;
    let pod = get_object(ctx, pods, name).await?;
    let container = pick_container(&pod, &opts.container)?;
    let node = str_at(&pod, "/spec/nodeName");
    if node.is_empty() {
        // kube's LocationStreamer without a location: no stream, 204.
        let mut resp = Response::new(response::empty());
        *resp.status_mut() = http::StatusCode::NO_CONTENT;
        return Ok(resp);
    }
    let kubelet = kubelet_of(ctx, node).await?;
    let url = format!(
        "{}/containerLogs/{}/{}/{container}{}",
        kubelet.base(),
        str_at(&pod, "/metadata/namespace"),
        str_at(&pod, "/metadata/name"),
        opts.kubelet_query()
    );
    let client = ctx.state.kubelet.as_ref().ok_or_else(|| {
        StatusError::service_unavailable("kubeward was started without a kubelet client".to_string())
    })?;
    let client = if opts.insecure_skip_tls_verify_backend {
        &client.unverified
    } else {
        client.verified.as_ref().map_err(|e| StatusError::unknown(500, e.clone()))?
    };
    let req = http::Request::get(&url)
        .body(Bytes::new())
        .map_err(|e| StatusError::unknown(500, format!("failed to construct request for {url}, got {e}")))?;
    let resp = client.send_streaming(req).await.map_err(|e| StatusError::unknown(500, e.to_string()))?;
    let status = resp.status().as_u16();
    if !(200..=206).contains(&status) {
        let body = http_body_util::Limited::new(resp.into_body(), MAX_ERROR_BODY)
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        return Err(match status {
            500 => StatusError::internal(&text),
            400 => StatusError::bad_request(text.to_string()),
            _ => StatusError::generic_server_response(
                status,
                "",
                &GroupResource::new("", "pods/log"),
                name,
                &text,
            ),
        });
    }
    let body = resp.into_body().map_err(std::io::Error::other).boxed();
    let mut out = Response::new(body);
    out.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
    Ok(out)
}

/// PodLogOptions as kube decodes them from the query.
#[derive(Debug, Default, PartialEq)]
struct LogOptions {
    container: String,
    follow: bool,
    previous: bool,
    timestamps: bool,
    since_seconds: Option<i64>,
    since_time: Option<chrono::DateTime<chrono::Utc>>,
    tail_lines: Option<i64>,
    limit_bytes: Option<i64>,
    insecure_skip_tls_verify_backend: bool,
    stream: Option<String>,
}

impl LogOptions {
    fn from_query(info: &apimachinery::RequestInfo) -> Result<Self, StatusError> {
        let since_time = match info.query_param("sinceTime") {
            None | Some("") => None,
            Some(v) => Some(
                chrono::DateTime::parse_from_rfc3339(v)
                    .map_err(|_| {
                        StatusError::bad_request(format!(
                            "parsing time {} as \"2006-01-02T15:04:05Z07:00\": cannot parse {} as an RFC 3339 time",
                            apimachinery::status::quote(v),
                            apimachinery::status::quote(v)
                        ))
                    })?
                    .with_timezone(&chrono::Utc),
            ),
        };
        Ok(Self {
            container: info.query_param("container").unwrap_or_default().to_string(),
            follow: info.query_bool("follow"),
            previous: info.query_bool("previous"),
            timestamps: info.query_bool("timestamps"),
            since_seconds: info.query_int64("sinceSeconds")?,
            since_time,
            tail_lines: info.query_int64("tailLines")?,
            limit_bytes: info.query_int64("limitBytes")?,
            insecure_skip_tls_verify_backend: info.query_bool("insecureSkipTLSVerifyBackend"),
            stream: info.query_param("stream").map(str::to_string),
        })
    }

    /// kube's `ValidatePodLogOptions` (PodLogsQuerySplitStreams off, as kube 1.34's default).
    fn validate(&self, name: &str) -> Result<(), StatusError> {
        let mut causes = Vec::new();
        if let Some(n) = self.tail_lines.filter(|n| *n < 0) {
            causes.push(invalid_number("tailLines", n, "must be greater than or equal to 0"));
        }
        if let Some(n) = self.limit_bytes.filter(|n| *n < 1) {
            causes.push(invalid_number("limitBytes", n, "must be greater than 0"));
        }
        match (self.since_seconds, &self.since_time) {
            (Some(_), Some(_)) => {
                causes.push(forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
            }
            (Some(n), None) if n < 1 => {
                causes.push(invalid_number("sinceSeconds", n, "must be greater than 0"))
            }
            _ => {}
        }
        if self.stream.is_some() {
            causes.push(forbidden("stream", "may not be specified"));
        }
        if causes.is_empty() {
            return Ok(());
        }
        let kind = GroupKind { group: String::new(), kind: "PodLogOptions".into() };
        Err(StatusError::invalid(&kind, name, causes))
    }

    /// The kubelet's query, keys sorted as Go's `url.Values.Encode` writes them.
    fn kubelet_query(&self) -> String {
        let mut params: Vec<(&str, String)> = Vec::new();
        if self.follow {
            params.push(("follow", "true".into()));
        }
        if let Some(n) = self.limit_bytes {
            params.push(("limitBytes", n.to_string()));
        }
        if self.previous {
            params.push(("previous", "true".into()));
        }
        if let Some(n) = self.since_seconds {
            params.push(("sinceSeconds", n.to_string()));
        }
        if let Some(t) = &self.since_time {
            params.push(("sinceTime", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
        }
        if let Some(n) = self.tail_lines {
            params.push(("tailLines", n.to_string()));
        }
        if self.timestamps {
            params.push(("timestamps", "true".into()));
        }
        if params.is_empty() {
            return String::new();
        }
        // The values are numbers, `true` and an RFC 3339 time in UTC: only `:` needs escaping.
        let pairs: Vec<String> =
            params.iter().map(|(k, v)| format!("{k}={}", v.replace(':', "%3A"))).collect();
        format!("?{}", pairs.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_options_are_validated_and_passed_on_as_kube_does() {
        let info =
            |q: &str| apimachinery::RequestInfo::new("GET", "/api/v1/namespaces/d/pods/p/log", Some(q));
        let opts = LogOptions::from_query(&info(
            "follow=1&timestamps=true&previous=false&tailLines=10&limitBytes=5&sinceTime=2026-01-02T03:04:05%2B01:00",
        ))
        .unwrap();
        assert!(opts.follow && opts.timestamps && !opts.previous);
        assert_eq!(
            opts.kubelet_query(),
            "?follow=true&limitBytes=5&sinceTime=2026-01-02T02%3A04%3A05Z&tailLines=10&timestamps=true"
        );
        opts.validate("p").unwrap();

        let err = LogOptions::from_query(&info("tailLines=-1&limitBytes=0&sinceSeconds=0&stream=Stdout"))
            .unwrap()
            .validate("p")
            .unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(
            err.message,
            "PodLogOptions \"p\" is invalid: [tailLines: Invalid value: -1: must be greater than or equal to 0, \
             limitBytes: Invalid value: 0: must be greater than 0, sinceSeconds: Invalid value: 0: must be greater than 0, \
             stream: Forbidden: may not be specified]"
        );
        let both = LogOptions::from_query(&info("sinceSeconds=5&sinceTime=2026-01-02T03:04:05Z")).unwrap();
        assert!(both
            .validate("p")
            .unwrap_err()
            .message
            .contains("at most one of `sinceTime` or `sinceSeconds`"));
        let bad = LogOptions::from_query(&info("tailLines=ten")).unwrap_err();
        assert_eq!(
            (bad.code, bad.message.as_str()),
            (400, "strconv.ParseInt: parsing \"ten\": invalid syntax")
        );
    }
}
