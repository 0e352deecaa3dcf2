//! watch: a chunked stream of `{"type":...,"object":...}` lines. From resourceVersion
//! "" or "0" it opens with ADDED events for the current state; from a newer revision it
//! replays history; a compacted revision gets an ERROR event carrying a 410 Expired Status.
//! Bookmarks when asked for; the stream ends at timeoutSeconds or when the client leaves.
//! Each event's object in the negotiated output: as stored, a Table, or its metadata alone
//! (`PartialObjectMetadata`, cut from the stored bytes). In protobuf
//! (`application/vnd.kubernetes.protobuf;stream=watch`) each event is a length-prefixed
//! `WatchEvent` frame instead of a line (`kube_protobuf::watch_event_frame`).
//!
//! A store event is encoded once per wire shape, not once per watcher: the line (and, for
//! selectors and Tables, the decoded object) is kept in the event's cache
//! (`storage::EventCache`, kube's `cachingObject`), and every watcher asking for the same shape
//! sends the same bytes. Selector filtering stays per watcher.

use super::read::Filter;
use crate::context::Ctx;
use crate::negotiate::{Encoding, Metadata, Output};
use crate::objects::{decode_kv, derived_key, json_bytes, watch_status, Derived, ListFrom};
use crate::partial;
use crate::response::Body;
use apimachinery::status::go_json;
use apimachinery::StatusError;
use bytes::Bytes;
use futures::StreamExt;
use http::{header, HeaderValue, Response};
use http_body_util::BodyExt;
use hyper::body::Frame;
use registry::ResourceType;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use storage::{EventType, KeyValue, WatchEvent};

const BOOKMARK_INTERVAL: Duration = Duration::from_secs(30);

struct Encoder {
    rt: &'static ResourceType,
    output: Output,
    /// Whether a Table event went out: kube sends the column definitions in the first one only.
    columns_sent: std::sync::atomic::AtomicBool,
}

impl Encoder {
    /// Whether the next Table event carries the column definitions (none sent yet).
    fn columns_due(&self) -> bool {
        matches!(self.output, Output::Table(_))
            && !self.columns_sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The event line for a decoded object; a Table carries its column definitions when
    /// `columns` (the first Table event of a watch).
    fn event(&self, kind: &str, obj: &Value, columns: bool) -> Bytes {
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
                if !columns {
                    t["columnDefinitions"] = Value::Null;
                }
                t
            }
            Output::Metadata(m) => partial::item_value(obj, m),
            _ => obj.clone(),
        };
        self.line(kind, &object)
    }

    /// One event in the stream's format: a JSON line, or a protobuf frame. An object without
    /// protobuf (negotiation offers protobuf only for kinds that have it: a server bug) ends up
    /// as an ERROR frame carrying a 500 rather than a frame the client cannot read.
    fn line(&self, kind: &str, object: &Value) -> Bytes {
        if self.output.is_protobuf() {
            let frame = kube_protobuf::watch_event_frame(kind, object).or_else(|error| {
                tracing::warn!(%error, "watch event has no protobuf form");
                let status = StatusError::internal(&format!("unable to encode watch object: {error}"));
                kube_protobuf::watch_event_frame("ERROR", &status.to_value())
            });
            return Bytes::from(frame.unwrap_or_default());
        }
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

    /// A decoded object's event line, noting that a Table's columns went out.
    fn event_once(&self, kind: &str, obj: &Value) -> Bytes {
        let line = self.event(kind, obj, self.columns_due());
        self.columns_sent.store(true, std::sync::atomic::Ordering::Relaxed);
        line
    }

    /// The number naming this encoder's line for an event of `kind` among the shapes a watch
    /// line can take (`Derived::Line`): `stored` for lines spliced from the stored bytes
    /// (watches without selectors), else built from the decoded object; `columns` for a
    /// Table line carrying the column definitions. `None` for a shape with no number (a
    /// meta.k8s.io version this table does not know): such lines are built per watcher.
    fn line_code(&self, kind: &str, stored: bool, columns: bool) -> Option<u32> {
        let kind = match kind {
            "ADDED" => 1,
            "MODIFIED" => 2,
            "DELETED" => 3,
            _ => return None,
        };
        let version = |v: &str| match v {
            "v1" => Some(1),
            "v1beta1" => Some(2),
            _ => None,
        };
        let (output, version, include) = match self.output {
            Output::Json => (1, 0, 0),
            Output::Metadata(Metadata { encoding: Encoding::Protobuf, version: v, .. }) => {
                (5, version(v)?, 0)
            }
            Output::Metadata(m) => (2, version(m.version)?, 0),
            Output::Table(t) => {
                let include = match t.include {
                    registry::table::IncludeObject::None => 1,
                    registry::table::IncludeObject::Metadata => 2,
                    registry::table::IncludeObject::Object => 3,
                };
                (3, version(t.version)?, include)
            }
            Output::Protobuf => (4, 0, 0),
            Output::Yaml => return None,
        };
        Some(
            kind | output << 4
                | version << 8
                | include << 12
                | u32::from(stored) << 16
                | u32::from(columns) << 17,
        )
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
        self.line("BOOKMARK", &obj)
    }

    fn error(&self, e: &StatusError) -> Bytes {
        self.line("ERROR", &e.to_value())
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

/// Objects read per page of the initial events: a watch from "" or "0", or with
/// `sendInitialEvents=true` (client-go's WatchList), streams the collection a page at a time
/// as the client takes it, so the server never holds the whole list, only one page.
const INITIAL_PAGE: usize = 500;

pub async fn watch(ctx: &Ctx, rt: &'static ResourceType) -> Result<Response<Body>, StatusError> {
    let filter = Filter::from_query(&ctx.info, rt)?;
    let output = match ctx.output {
        Output::Yaml => Output::Json,
        // kube's watch converts each event's object; a PartialObjectMetadataList does not
        // fit one object, and kube then sends the object unconverted (watchEmbeddedEncoder),
        // in protobuf when that was asked (a custom resource's event then has no protobuf
        // form: an ERROR frame, see `Encoder::line`).
        Output::Metadata(m) if m.list && m.encoding == Encoding::Protobuf => Output::Protobuf,
        Output::Metadata(m) if m.list => Output::Json,
        Output::Metadata(m) if m.encoding == Encoding::Yaml => {
            Output::Metadata(Metadata { encoding: Encoding::Json, ..m })
        }
        o => o,
    };
    let enc = Encoder { rt, output, columns_sent: false.into() };
    let bookmarks = ctx.info.query_bool("allowWatchBookmarks") && !matches!(output, Output::Table(_));
    let timeout = timeout_of(ctx)?;
    // Held by the watch's body: the watch counts against its user's cap until it ends.
    let slot = ctx.state.limits.watch(&ctx.user().name)?;
    let send_initial =
        ctx.info.query_param("sendInitialEvents").map(|_| ctx.info.query_bool("sendInitialEvents"));
    validate_watch_options(ctx, send_initial)?;

    // Without selectors and with JSON output, events are built from the stored bytes.
    let fast = filter.is_everything()
        && matches!(output, Output::Json | Output::Metadata(Metadata { encoding: Encoding::Json, .. }));
    let requested = ctx.info.query_param("resourceVersion").unwrap_or_default();
    // kube's initial events: asked for (`sendInitialEvents=true`), or the legacy watch from ""
    // or "0"; `sendInitialEvents=false` from "" starts at the latest revision with none.
    let from_now = requested.is_empty() || requested == "0";
    let initial_events = send_initial.unwrap_or(from_now);
    let parse_requested = || {
        requested
            .parse::<u64>()
            .map_err(|_| StatusError::bad_request(format!("invalid resource version: {requested}")))
    };
    let objects = &ctx.state.objects;
    let namespace = &ctx.info.namespace;
    let mut initial = Initial::default();
    let after = if initial_events {
        // The first page now, so that a list that cannot start is the request's Status; the
        // rest at its revision, as the client reads them. `NotOlderThan` a given revision
        // (kube's 504 "Too large resource version" when the store has not reached it).
        let from = if from_now { ListFrom::Latest } else { ListFrom::NotOlderThan(parse_requested()?) };
        let page = objects.list_from(rt, namespace, from, INITIAL_PAGE).await?;
        initial.page = page.items.into_iter();
        initial.next = page.continue_token;
        initial.end_bookmark = send_initial == Some(true) && ctx.info.query_bool("allowWatchBookmarks");
        page.revision
    } else if from_now {
        objects.current_revision().await?
    } else {
        parse_requested()?
    };
    let now = tokio::time::Instant::now();
    let watch = Watch {
        enc,
        filter,
        fast,
        objects: objects.clone(),
        namespace: namespace.clone(),
        initial,
        stream: None,
        last_rv: after,
        deadline: now + timeout,
        next_bookmark: bookmarks.then_some(now + BOOKMARK_INTERVAL),
        done: false,
        _slot: slot,
    };
    let lines = futures::stream::unfold(watch, |w| async move {
        w.next_line().await.map(|(line, w)| (Ok::<_, std::io::Error>(Frame::data(line)), w))
    });
    let mut resp = Response::new(BodyExt::boxed(SyncBody(std::sync::Mutex::new(Box::pin(lines)))));
    // kube names the stream in the media type of every format but JSON.
    let content_type =
        if output.is_protobuf() { kube_protobuf::WATCH_CONTENT_TYPE } else { "application/json" };
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
    Ok(resp)
}

/// The initial events still to send: the rest of the page read last, the continue token of
/// the next page (at the first page's revision), and whether the `sendInitialEvents`
/// bookmark closes them.
#[derive(Default)]
struct Initial {
    page: std::vec::IntoIter<KeyValue>,
    next: Option<String>,
    end_bookmark: bool,
}

/// One watch, as its response body reads it: the initial events page by page, then the
/// store's events from `last_rv` on, until the deadline or the client leaves (hyper drops
/// the body). No task and no queue of its own: the body is polled only as fast as the
/// connection takes its lines, and a watch holds only this state and the store's cursor.
struct Watch {
    enc: Encoder,
    filter: Filter,
    fast: bool,
    objects: crate::objects::Objects,
    namespace: String,
    initial: Initial,
    stream: Option<storage::WatchStream>,
    last_rv: u64,
    deadline: tokio::time::Instant,
    /// When the next periodic bookmark is due (`allowWatchBookmarks`).
    next_bookmark: Option<tokio::time::Instant>,
    done: bool,
    _slot: crate::limits::counted::Slot<std::sync::Arc<str>>,
}

impl Watch {
    /// The next line of the stream, or `None` when it ends.
    async fn next_line(mut self) -> Option<(Bytes, Self)> {
        loop {
            if self.done {
                return None;
            }
            if let Some(kv) = self.initial.page.next() {
                match self.initial_line(&kv) {
                    Some(line) => return Some((line, self)),
                    None => continue,
                }
            }
            if let Some(token) = self.initial.next.take() {
                let rt = self.enc.rt;
                match self.objects.list(rt, &self.namespace, Some(&token), INITIAL_PAGE).await {
                    Ok(page) => {
                        self.initial.page = page.items.into_iter();
                        self.initial.next = page.continue_token;
                    }
                    Err(e) => {
                        // The list's revision left history while the client read: kube's
                        // watch answers a revision it cannot serve with 410 Expired.
                        let e = if e.code == 410 {
                            StatusError::resource_expired(format!(
                                "too old resource version: {}",
                                self.last_rv
                            ))
                        } else {
                            e
                        };
                        return Some((self.end(&e), self));
                    }
                }
                continue;
            }
            if std::mem::take(&mut self.initial.end_bookmark) {
                return Some((self.enc.bookmark_with(self.last_rv, true), self));
            }
            let Some(stream) = self.stream.as_mut() else {
                // A revision no longer in history is an ERROR event carrying 410 Expired, as kube's.
                match self.objects.watch(self.enc.rt, &self.namespace, self.last_rv).await {
                    Ok(s) => self.stream = Some(s),
                    Err(e) => return Some((self.end(&e), self)),
                }
                continue;
            };
            let (deadline, bookmark_at) = (self.deadline, self.next_bookmark);
            let woke = tokio::select! {
                biased;
                _ = tokio::time::sleep_until(deadline) => Woke::Deadline,
                ev = stream.next() => Woke::Event(ev),
                _ = sleep_until_some(bookmark_at) => Woke::Bookmark,
            };
            let ev = match woke {
                Woke::Deadline | Woke::Event(None) => return None,
                Woke::Bookmark => {
                    self.next_bookmark = Some(tokio::time::Instant::now() + BOOKMARK_INTERVAL);
                    return Some((self.enc.bookmark(self.last_rv), self));
                }
                Woke::Event(Some(Ok(ev))) => ev,
                Woke::Event(Some(Err(e))) => {
                    let e = watch_status(self.last_rv, e);
                    return Some((self.end(&e), self));
                }
            };
            self.last_rv = ev.kv.mod_revision;
            if let Some(line) = self.event_line(&ev) {
                return Some((line, self));
            }
        }
    }

    /// The last line: an ERROR event.
    fn end(&mut self, e: &StatusError) -> Bytes {
        self.done = true;
        self.enc.error(e)
    }

    /// An initial ADDED event for a stored object, `None` when the selectors leave it out.
    fn initial_line(&self, kv: &KeyValue) -> Option<Bytes> {
        if self.fast {
            return self.enc.event_stored("ADDED", kv);
        }
        let obj = decode_kv(kv)?;
        self.filter.matches(&obj).then(|| self.enc.event_once("ADDED", &obj))
    }

    /// The line of `kind` for a store event in this watch's shape: taken from the event's
    /// cache when a watcher of the same resource type and shape built it, else built by
    /// `make` and left there for the others.
    fn shared_line(
        &self,
        ev: &WatchEvent,
        kind: &str,
        stored: bool,
        columns: bool,
        make: impl FnOnce() -> Option<Bytes>,
    ) -> Option<Bytes> {
        match self.enc.line_code(kind, stored, columns) {
            Some(code) => Option::clone(
                &ev.cache.get_or_insert_with(derived_key(self.enc.rt, Derived::Line(code)), make),
            ),
            None => make(),
        }
    }

    /// An event's object decoded once for every watcher of this resource type that needs it
    /// decoded (selectors, Tables); with `prev`, the object before the change at the event's
    /// resourceVersion (what kube's watch sends when an object leaves a watcher's selectors).
    fn decoded(&self, ev: &WatchEvent, prev: bool) -> Option<Arc<Option<Value>>> {
        let rt = self.enc.rt;
        Some(match prev {
            false => ev.cache.get_or_insert_with(derived_key(rt, Derived::Decoded), || decode_kv(&ev.kv)),
            true => {
                let before = ev.prev.as_ref()?;
                ev.cache.get_or_insert_with(derived_key(rt, Derived::DecodedPrev), || {
                    decode_kv(&KeyValue { mod_revision: ev.kv.mod_revision, ..before.clone() })
                })
            }
        })
    }

    /// The line for a store event: with selectors, an object entering or leaving them is
    /// ADDED or DELETED, as kube's watch filter sends it; `None` when it concerns no object
    /// the selectors take.
    fn event_line(&self, ev: &WatchEvent) -> Option<Bytes> {
        if self.fast {
            let kind = match ev.event_type {
                EventType::Added => "ADDED",
                EventType::Modified => "MODIFIED",
                EventType::Deleted => "DELETED",
            };
            return self.shared_line(ev, kind, true, false, || self.enc.event_stored(kind, &ev.kv));
        }
        let decoded = self.decoded(ev, false)?;
        let now = Option::as_ref(&decoded)?;
        let now_matches = self.filter.matches(now);
        let decoded_prev = self.decoded(ev, true);
        let before = decoded_prev.as_deref().and_then(Option::as_ref);
        let was_matching = before.is_some_and(|p| self.filter.matches(p));
        let kind = match ev.event_type {
            EventType::Added if now_matches => "ADDED",
            EventType::Modified if now_matches && was_matching => "MODIFIED",
            EventType::Modified if now_matches => "ADDED",
            EventType::Modified if was_matching => "DELETED",
            EventType::Deleted if now_matches => "DELETED",
            _ => return None,
        };
        // An object leaving the selectors: kube sends it as it was, at the event's revision.
        let obj = match (ev.event_type, before) {
            (EventType::Modified, Some(before)) if !now_matches => before,
            _ => now,
        };
        let columns = self.enc.columns_due();
        let line = self.shared_line(ev, kind, false, columns, || Some(self.enc.event(kind, obj, columns)));
        self.enc.columns_sent.store(true, std::sync::atomic::Ordering::Relaxed);
        line
    }
}

/// What a waiting watch woke up for.
enum Woke {
    Deadline,
    Event(Option<Result<storage::WatchEvent, storage::StoreError>>),
    Bookmark,
}

/// Sleeps until `at`, or forever when there is none.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A body over a stream that is `Send` but not `Sync` (the store's watch stream): hyper's
/// boxed body must be both. The mutex is never locked: a body is polled through `&mut`, and
/// `get_mut` reaches the stream without locking, so the wrapper costs nothing per line.
struct SyncBody<S>(std::sync::Mutex<S>);

impl<S> hyper::body::Body for SyncBody<S>
where
    S: futures::Stream<Item = Result<Frame<Bytes>, std::io::Error>> + Unpin,
{
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        // Never locked, so never poisoned; a poisoned mutex would still hold a usable stream.
        let stream = self.0.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        stream.poll_next_unpin(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_watches_carry_partial_objects_and_bookmarks() {
        let rt = registry::Catalog::global().lookup("", "v1", "configmaps").expect("configmaps");
        let output = Output::Metadata(Metadata {
            list: false,
            version: "v1",
            encoding: Encoding::Json,
            errors: Encoding::Json,
        });
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

    /// A protobuf frame's (type, object as JSON).
    fn frame(b: &[u8]) -> (String, Value) {
        use prost::Message;
        let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        assert_eq!(b.len(), 4 + len, "one frame");
        let event =
            k8s_pb::apimachinery::pkg::apis::meta::v1::WatchEvent::decode(&b[4..]).expect("WatchEvent");
        let raw = event.object.and_then(|o| o.raw).expect("object");
        (event.r#type.unwrap_or_default(), kube_protobuf::decode_to_json(&raw).expect("enveloped object"))
    }

    #[test]
    fn protobuf_metadata_watches_send_partial_objects_in_frames() {
        let rt = registry::Catalog::global().lookup("", "v1", "configmaps").expect("configmaps");
        let meta = Metadata {
            list: false,
            version: "v1beta1",
            encoding: Encoding::Protobuf,
            errors: Encoding::Json,
        };
        let enc = Encoder { rt, output: Output::Metadata(meta), columns_sent: false.into() };
        let cm = json!({"kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": "a", "namespace": "d", "resourceVersion": "4"}, "data": {"k": "v"}});
        let (kind, object) = frame(&enc.event("MODIFIED", &cm, false));
        assert_eq!(kind, "MODIFIED");
        assert_eq!(
            object,
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1beta1",
                "metadata": {"name": "a", "namespace": "d", "resourceVersion": "4"}})
        );
        let (kind, mark) = frame(&enc.bookmark(7));
        assert_eq!(
            (kind.as_str(), &mark["kind"], &mark["metadata"]["resourceVersion"]),
            ("BOOKMARK", &json!("PartialObjectMetadata"), &json!("7"))
        );
        // Its lines are cached apart from JSON metadata lines.
        let json_enc = Encoder {
            rt,
            output: Output::Metadata(Metadata { encoding: Encoding::Json, ..meta }),
            columns_sent: false.into(),
        };
        assert_ne!(enc.line_code("ADDED", false, false), json_enc.line_code("ADDED", false, false));
        assert!(enc.line_code("ADDED", false, false).is_some());
    }
}
