//! watch: a chunked stream of `{"type":...,"object":...}` lines. From resourceVersion
//! "" or "0" it opens with ADDED events for the current state; from a newer revision it
//! replays history; a compacted revision gets an ERROR event carrying a 410 Expired Status.
//! Bookmarks when asked for; the stream ends at timeoutSeconds or when the client leaves.
//! Each event's object in the negotiated output: as stored, a Table, or its metadata alone
//! (`PartialObjectMetadata`, cut from the stored bytes).

use super::read::{list_objects, Filter};
use crate::context::Ctx;
use crate::negotiate::{Metadata, Output};
use crate::objects::{decode_kv, json_bytes, watch_status};
use crate::partial;
use crate::response::Body;
use apimachinery::status::go_json;
use apimachinery::StatusError;
use bytes::Bytes;
use futures::StreamExt;
use http::{header, HeaderValue, Response};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use registry::ResourceType;
use serde_json::{json, Value};
use std::time::Duration;
use storage::{EventType, KeyValue};
use tokio::sync::mpsc;

const BOOKMARK_INTERVAL: Duration = Duration::from_secs(30);

struct Encoder {
    rt: &'static ResourceType,
    output: Output,
    /// Whether a Table event went out: kube sends the column definitions in the first one only.
    columns_sent: std::sync::atomic::AtomicBool,
}

impl Encoder {
    fn event(&self, kind: &str, obj: &Value) -> Bytes {
        let object = match self.output {
            Output::Table(v) => {
                let rv = obj.pointer("/metadata/resourceVersion").cloned().unwrap_or(json!(""));
                let mut t = registry::table::table_with(
                    self.rt,
                    std::slice::from_ref(obj),
                    json!({"resourceVersion": rv}),
                    chrono::Utc::now(),
                    v.include,
                );
                t["apiVersion"] = json!(format!("meta.k8s.io/{}", v.version));
                if self.columns_sent.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    t["columnDefinitions"] = Value::Null;
                }
                t
            }
            Output::Metadata(m) => partial::item_value(obj, m),
            _ => obj.clone(),
        };
        let mut line = go_json(&json!({"type": kind, "object": object}));
        line.push('\n');
        Bytes::from(line)
    }

    /// An event around an object's JSON bytes, without parsing them.
    fn event_raw(&self, kind: &str, object: &[u8]) -> Bytes {
        let mut line = Vec::with_capacity(object.len() + 32);
        line.extend_from_slice(b"{\"type\":\"");
        line.extend_from_slice(kind.as_bytes());
        line.extend_from_slice(b"\",\"object\":");
        line.extend_from_slice(object);
        line.extend_from_slice(b"}\n");
        Bytes::from(line)
    }

    /// An event from a stored object's bytes: the bytes themselves, or the metadata cut out
    /// of them for `PartialObjectMetadata`.
    fn event_stored(&self, kind: &str, kv: &KeyValue) -> Option<Bytes> {
        let object = match self.output {
            Output::Metadata(m) => partial::item_bytes(kv, m)?,
            _ => json_bytes(kv)?,
        };
        Some(self.event_raw(kind, &object))
    }

    fn bookmark(&self, rv: u64) -> Bytes {
        self.bookmark_with(rv, false)
    }

    /// A bookmark; `initial_end` marks the end of the initial events (`sendInitialEvents`) with
    /// kube's `k8s.io/initial-events-end` annotation.
    fn bookmark_with(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        // kube converts the bookmark's empty object as any other.
        let obj = match self.output {
            Output::Metadata(m) => {
                json!({"kind": Metadata::ITEM_KIND, "apiVersion": m.api_version(), "metadata": meta})
            }
            _ => json!({"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": meta}),
        };
        let mut line = go_json(&json!({"type": "BOOKMARK", "object": obj}));
        line.push('\n');
        Bytes::from(line)
    }

    fn error(&self, e: &StatusError) -> Bytes {
        let mut line = go_json(&json!({"type": "ERROR", "object": e.to_value()}));
        line.push('\n');
        Bytes::from(line)
    }
}

/// How long the watch lasts, as kube's `ListResource` sets it (kube ignores `?timeout=` on
/// watches): `timeoutSeconds` (a negative one ends the watch at once), or when unset or zero
/// `--min-request-timeout` randomised between one and two times itself. Bounded by what a
/// timer can hold.
fn timeout_of(ctx: &Ctx) -> Result<Duration, StatusError> {
    Ok(match ctx.info.query_int64("timeoutSeconds")? {
        Some(t) if t < 0 => Duration::ZERO,
        Some(t) if t > 0 => Duration::from_secs(t.unsigned_abs()).min(MAX_WATCH_TIMEOUT),
        _ => ctx.state.limits.watch_timeout(),
    })
}

/// The longest watch kubeward keeps open (a year): kube takes any `timeoutSeconds`; the
/// bound only keeps deadline arithmetic in range.
const MAX_WATCH_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// kube's `validateWatchOptions` (k8s.io/apimachinery `apis/meta/internalversion/validation`):
/// `sendInitialEvents` needs `resourceVersionMatch=NotOlderThan`, which a watch takes only
/// with it; a 422 on `ListOptions.meta.k8s.io ""`.
fn validate_watch_options(ctx: &Ctx, send_initial: Option<bool>) -> Result<(), StatusError> {
    use apimachinery::field::{forbidden, not_supported};
    let rv_match = ctx.info.query_param("resourceVersionMatch").unwrap_or_default();
    let mut causes = Vec::new();
    if send_initial.is_some() && rv_match != "NotOlderThan" {
        causes.push(forbidden(
            "resourceVersionMatch",
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ));
    }
    if !rv_match.is_empty() {
        if send_initial.is_none() {
            causes.push(forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            ));
        }
        if rv_match != "NotOlderThan" {
            causes.push(not_supported("resourceVersionMatch", rv_match, &["NotOlderThan"]));
        }
        if ctx.info.query_param("continue").is_some_and(|c| !c.is_empty()) {
            causes.push(forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden when continue is provided",
            ));
        }
    }
    if causes.is_empty() {
        return Ok(());
    }
    let kind = apimachinery::gvr::GroupKind { group: "meta.k8s.io".into(), kind: "ListOptions".into() };
    Err(StatusError::invalid(&kind, "", causes))
}

pub async fn watch(ctx: &Ctx, rt: &'static ResourceType) -> Result<Response<Body>, StatusError> {
    let filter = Filter::from_query(&ctx.info, rt)?;
    let output = match ctx.output {
        Output::Yaml => Output::Json,
        // kube's watch converts each event's object; a PartialObjectMetadataList does not
        // fit one object, and kube then sends the object unconverted (watchEmbeddedEncoder).
        Output::Metadata(m) if m.list => Output::Json,
        Output::Metadata(m) => Output::Metadata(Metadata { yaml: false, ..m }),
        o => o,
    };
    let enc = Encoder { rt, output, columns_sent: false.into() };
    let bookmarks = ctx.info.query_bool("allowWatchBookmarks") && !matches!(output, Output::Table(_));
    let timeout = timeout_of(ctx)?;
    // Held by the watch's task: the watch counts against its user's cap until it ends.
    let slot = ctx.state.limits.watch(&ctx.user().name)?;
    let send_initial =
        ctx.info.query_param("sendInitialEvents").map(|_| ctx.info.query_bool("sendInitialEvents"));
    validate_watch_options(ctx, send_initial)?;
    let (tx, rx) = mpsc::channel::<Bytes>(64);

    // Without selectors and with JSON output, events are built from the stored bytes.
    let fast = filter.is_everything() && matches!(output, Output::Json | Output::Metadata(_));
    let requested = ctx.info.query_param("resourceVersion").unwrap_or_default();
    let mut initial: Vec<Bytes> = Vec::new();
    // kube's initial events: asked for (`sendInitialEvents=true`), or the legacy watch from ""
    // or "0"; `sendInitialEvents=false` from "" starts at the latest revision with none.
    let from_now = requested.is_empty() || requested == "0";
    let initial_events = send_initial.unwrap_or(from_now);
    let after = if initial_events || from_now {
        let rev = if fast {
            let page = ctx.state.objects.list(rt, &ctx.info.namespace, None, 0).await?;
            initial = page.items.iter().filter_map(|kv| enc.event_stored("ADDED", kv)).collect();
            page.revision
        } else {
            let (items, rv, _) = list_objects(ctx, rt, &filter, 0, None).await?;
            initial = items.iter().map(|o| enc.event("ADDED", o)).collect();
            rv
        };
        if !initial_events {
            initial.clear();
        } else if send_initial == Some(true) && ctx.info.query_bool("allowWatchBookmarks") {
            initial.push(enc.bookmark_with(rev, true));
        }
        rev
    } else {
        requested
            .parse::<u64>()
            .map_err(|_| StatusError::bad_request(format!("invalid resource version: {requested}")))?
    };
    let objects = ctx.state.objects.clone();
    let namespace = ctx.info.namespace.clone();
    tokio::spawn(async move {
        let _slot = slot;
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        for line in initial {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        // A revision no longer in history is an ERROR event carrying 410 Expired, as kube's.
        let mut stream = match objects.watch(rt, &namespace, after).await {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(enc.error(&e)).await;
                return;
            }
        };
        let mut last_rv = after;
        let mut tick = tokio::time::interval(BOOKMARK_INTERVAL);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = tx.closed() => return,
                _ = tick.tick(), if bookmarks => {
                    if tx.send(enc.bookmark(last_rv)).await.is_err() { return; }
                }
                ev = stream.next() => {
                    let Some(ev) = ev else { return };
                    let ev = match ev {
                        Ok(ev) => ev,
                        Err(e) => {
                            let _ = tx.send(enc.error(&watch_status(last_rv, e))).await;
                            return;
                        }
                    };
                    last_rv = ev.kv.mod_revision;
                    if fast {
                        let kind = match ev.event_type {
                            EventType::Added => "ADDED",
                            EventType::Modified => "MODIFIED",
                            EventType::Deleted => "DELETED",
                        };
                        let Some(line) = enc.event_stored(kind, &ev.kv) else { continue };
                        if tx.send(line).await.is_err() { return; }
                        continue;
                    }
                    let Some(obj) = decode_kv(&ev.kv) else { continue };
                    let now_matches = filter.matches(&obj);
                    let was_matching = ev.prev.as_ref().and_then(decode_kv).is_some_and(|p| filter.matches(&p));
                    let kind = match ev.event_type {
                        EventType::Added if now_matches => "ADDED",
                        EventType::Modified if now_matches && was_matching => "MODIFIED",
                        EventType::Modified if now_matches => "ADDED",
                        EventType::Modified if was_matching => "DELETED",
                        EventType::Deleted if now_matches => "DELETED",
                        _ => continue,
                    };
                    if tx.send(enc.event(kind, &obj)).await.is_err() { return; }
                }
            }
        }
    });
    let body = StreamBody::new(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::io::Error>(Frame::data(b)), rx))
    }));
    let mut resp = Response::new(BodyExt::boxed(body));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_watches_carry_partial_objects_and_bookmarks() {
        let rt = registry::Catalog::global().lookup("", "v1", "configmaps").expect("configmaps");
        let output = Output::Metadata(Metadata { list: false, version: "v1", yaml: false });
        let enc = Encoder { rt, output, columns_sent: false.into() };
        let line = |b: Bytes| serde_json::from_slice::<Value>(&b).expect("event JSON");
        let mark = line(enc.bookmark(7));
        assert_eq!(
            mark,
            json!({"type": "BOOKMARK", "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": {"resourceVersion": "7"}}})
        );
        let stored = KeyValue {
            key: "/registry/configmaps/d/a".into(),
            value: Bytes::from_static(br#"{"metadata":{"name":"a"},"data":{"k":"v"}}"#),
            create_revision: 3,
            mod_revision: 4,
        };
        let ev = line(enc.event_stored("MODIFIED", &stored).expect("event"));
        assert_eq!(
            ev,
            json!({"type": "MODIFIED", "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                "metadata": {"resourceVersion": "4", "name": "a"}}})
        );
        let full = Encoder { rt, output: Output::Json, columns_sent: false.into() };
        assert_eq!(line(full.event_stored("ADDED", &stored).expect("event"))["object"]["data"]["k"], "v");
        assert_eq!(line(full.bookmark(7))["object"]["kind"], "ConfigMap");
    }
}
