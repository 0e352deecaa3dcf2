//! `/metrics` in Prometheus' text format, with kube-apiserver's metric names and labels:
//! - `apiserver_request_total{verb,dry_run,group,version,resource,subresource,scope,component,code}`
//!   and `apiserver_request_duration_seconds` (kube's buckets; long-running requests are
//!   counted, not timed), for every request, refused ones included;
//! - `apiserver_current_inflight_requests{request_kind}` (seats taken, limits/),
//!   `apiserver_flowcontrol_nominal_limit_seats{priority_level}` (each limited APF level's
//!   share of the server's seats; one series per PriorityLevelConfiguration),
//!   `apiserver_longrunning_requests{verb="WATCH"}`;
//! - `authentication_attempts{result}` and `apiserver_authorization_decisions_total{decision}`;
//! - `apiserver_storage_objects{resource}`, counted every minute as kube counts it;
//! - `apiserver_admission_step_admission_duration_seconds{operation,rejected,type}` and
//!   `apiserver_admission_controller_admission_duration_seconds{name,operation,rejected,type}`
//!   (k8s.io/apiserver `admission/metrics`): each admission phase's and each plugin's time,
//!   over kube's buckets and finer ones below them ([`family::ADMISSION_BUCKETS`]).
//!
//! Label values come from the catalog (static names), so requests for unknown resources
//! share one blank series and no request can add series without bound. The reading side is
//! authorized like any non-resource URL: RBAC on `/metrics` (`system:monitoring`).

pub mod family;

use crate::state::State;
use admission::{Operation, Step};
use apimachinery::RequestInfo;
use family::{AdmissionBuckets, Counter, Family, Histogram};

use std::sync::Arc;
use std::time::Duration;

/// How often `apiserver_storage_objects` is counted again (kube: every minute).
pub const STORAGE_COUNT_INTERVAL: Duration = Duration::from_secs(60);

/// The labels of a request but its code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct RequestLabels {
    pub verb: &'static str,
    pub dry_run: bool,
    pub group: &'static str,
    pub version: &'static str,
    pub resource: &'static str,
    pub subresource: &'static str,
    pub scope: &'static str,
}

/// The response codes counted without a lookup; others go to a small list.
const COMMON_CODES: [u16; 20] =
    [200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 406, 409, 410, 413, 415, 422, 429, 500, 503, 504];

/// One request label set's series: its latency histogram and its count per code (one map
/// lookup per request for both metrics).
#[derive(Default)]
pub struct RequestSeries {
    durations: Histogram,
    common: [Counter; COMMON_CODES.len()],
    other: std::sync::Mutex<Vec<(u16, u64)>>,
}

impl RequestSeries {
    fn count(&self, code: u16) {
        match COMMON_CODES.iter().position(|c| *c == code) {
            Some(i) => self.common[i].inc(),
            None => {
                // Rare codes only; the list holds whole entries, so a poisoned lock is usable.
                let mut other = self.other.lock().unwrap_or_else(|e| e.into_inner());
                match other.iter_mut().find(|(c, _)| *c == code) {
                    Some((_, n)) => *n += 1,
                    None => other.push((code, 1)),
                }
            }
        }
    }

    /// Counts by code, those seen only.
    fn codes(&self) -> Vec<(u16, u64)> {
        let mut out: Vec<(u16, u64)> = COMMON_CODES
            .iter()
            .zip(&self.common)
            .map(|(c, n)| (*c, n.get()))
            .filter(|(_, n)| *n > 0)
            .collect();
        out.extend(self.other.lock().unwrap_or_else(|e| e.into_inner()).iter().copied());
        out.sort_unstable();
        out
    }
}

/// Every metric the server keeps.
#[derive(Default)]
pub struct Metrics {
    requests: Family<RequestLabels, RequestSeries>,
    authentication: [Counter; 3],
    authorization: [Counter; 2],
    storage_objects: arc_swap::ArcSwap<Vec<(String, i64)>>,
    admission: Arc<AdmissionMetrics>,
}

/// An admission plugin's labels (`name` empty for a whole phase).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct AdmissionLabels {
    name: &'static str,
    step: Step,
    operation: Operation,
    rejected: bool,
}

/// The admission chain's times, fed by the chain itself ([`admission::Observer`]).
#[derive(Default)]
pub struct AdmissionMetrics {
    steps: Family<AdmissionLabels, Histogram<AdmissionBuckets>>,
    controllers: Family<AdmissionLabels, Histogram<AdmissionBuckets>>,
}

impl admission::Observer for AdmissionMetrics {
    fn controller(
        &self,
        name: &'static str,
        step: Step,
        operation: Operation,
        elapsed: Duration,
        rejected: bool,
    ) {
        if let Some(h) = self.controllers.get(&AdmissionLabels { name, step, operation, rejected }) {
            h.observe(elapsed);
        }
    }

    fn step(&self, step: Step, operation: Operation, elapsed: Duration, rejected: bool) {
        if let Some(h) = self.steps.get(&AdmissionLabels { name: "", step, operation, rejected }) {
            h.observe(elapsed);
        }
    }
}

/// `authentication_attempts`' results.
#[derive(Clone, Copy)]
pub enum AuthnResult {
    Success = 0,
    Failure = 1,
    Error = 2,
}

const AUTHN_RESULTS: [&str; 3] = ["success", "failure", "error"];

impl Metrics {
    /// Counts (and times, unless long-running) one answered request.
    pub fn observe(&self, labels: RequestLabels, code: u16, elapsed: Duration, long_running: bool) {
        let Some(series) = self.requests.get(&labels) else { return };
        series.count(code);
        if !long_running {
            series.durations.observe(elapsed);
        }
    }

    pub fn authentication(&self, result: AuthnResult) {
        self.authentication[result as usize].inc();
    }

    pub fn authorization(&self, allowed: bool) {
        self.authorization[usize::from(!allowed)].inc();
    }

    /// What the admission chain reports its times to.
    pub fn admission_observer(&self) -> Arc<dyn admission::Observer> {
        self.admission.clone()
    }

    /// Replaces the stored-object counts.
    pub fn set_storage_objects(&self, counts: Vec<(String, i64)>) {
        self.storage_objects.store(Arc::new(counts));
    }
}

/// The labels kube gives a request (`metrics.MonitorRequest`): the verb as kube reports it
/// (`CanonicalVerb` and `cleanVerb`: LIST for a collection GET, WATCH, APPLY for a
/// server-side apply, else the HTTP method), `dry_run`, and the resource's names from the
/// catalog. A non-resource request is labeled by its path's first segment.
pub fn request_labels(
    state: &State,
    info: &RequestInfo,
    method: &http::Method,
    apply: bool,
) -> RequestLabels {
    let dry_run = info.query_param("dryRun").is_some_and(|d| !d.is_empty());
    let scope = if !info.name.is_empty() || info.verb == "create" {
        "resource"
    } else if !info.namespace.is_empty() {
        "namespace"
    } else if info.is_resource_request {
        "cluster"
    } else {
        ""
    };
    let verb = match info.verb.as_str() {
        "watch" => "WATCH",
        "list" => "LIST",
        _ if *method == http::Method::GET || *method == http::Method::HEAD => {
            if scope == "resource" || scope.is_empty() {
                "GET"
            } else {
                "LIST"
            }
        }
        _ if *method == http::Method::PATCH && apply => "APPLY",
        _ => method_name(method),
    };
    let blank = RequestLabels { verb, dry_run, group: "", version: "", resource: "", subresource: "", scope };
    if !info.is_resource_request {
        return RequestLabels { subresource: non_resource_label(&info.path), ..blank };
    }
    let Some(rt) = state.catalog.lookup(&info.api_group, &info.api_version, &info.resource) else {
        return blank;
    };
    let subresource = rt.subresource(&info.subresource).map(|s| s.name).unwrap_or("");
    RequestLabels { group: rt.group, version: rt.version, resource: rt.plural, subresource, ..blank }
}

fn method_name(m: &http::Method) -> &'static str {
    match *m {
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::CONNECT => "CONNECT",
        http::Method::GET | http::Method::HEAD => "GET",
        _ => "OTHER",
    }
}

/// A bounded label for a non-resource path (kube puts the path in `subresource`).
fn non_resource_label(path: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "/healthz",
        "/livez",
        "/readyz",
        "/metrics",
        "/version",
        "/api",
        "/apis",
        "/openapi/v2",
        "/openapi/v3",
    ];
    KNOWN
        .iter()
        .rev()
        .find(|p| path == **p || path.strip_prefix(**p).is_some_and(|r| r.starts_with('/')))
        .copied()
        .unwrap_or("other")
}

/// The `/metrics` document.
pub fn render(state: &State) -> String {
    use crate::limits::RequestKind;
    let m = &state.metrics;
    let mut out = String::with_capacity(16 * 1024);
    family::header(
        &mut out,
        "apiserver_request_total",
        "counter",
        "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
    );
    let mut requests = m.requests.snapshot();
    requests
        .sort_by_key(|(l, _)| (l.group, l.resource, l.subresource, l.verb, l.scope, l.version, l.dry_run));
    for (l, series) in &requests {
        for (code, n) in series.codes() {
            let code = code.to_string();
            family::sample(&mut out, "apiserver_request_total", &with_component(l, Some(&code)), n);
        }
    }
    family::header(
        &mut out,
        "apiserver_request_duration_seconds",
        "histogram",
        "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
    );
    for (l, series) in &requests {
        if series.durations.read().1 > 0 {
            family::histogram(
                &mut out,
                "apiserver_request_duration_seconds",
                &with_component(l, None),
                &series.durations,
            );
        }
    }
    family::header(
        &mut out,
        "apiserver_current_inflight_requests",
        "gauge",
        "Maximal number of currently used inflight request limit of this apiserver per request kind in last second.",
    );
    for (kind, label) in [(RequestKind::Mutating, "mutating"), (RequestKind::ReadOnly, "readOnly")] {
        family::sample(
            &mut out,
            "apiserver_current_inflight_requests",
            &[("request_kind", label)],
            state.limits.inflight(kind),
        );
    }
    family::header(
        &mut out,
        "apiserver_flowcontrol_nominal_limit_seats",
        "gauge",
        "Nominal number of execution seats configured for each priority level",
    );
    let server_limit = (state.limits.config.max_requests_inflight
        + state.limits.config.max_mutating_requests_inflight) as u64;
    for (level, seats) in state.flowcontrol.nominal_limits(server_limit) {
        family::sample(
            &mut out,
            "apiserver_flowcontrol_nominal_limit_seats",
            &[("priority_level", &level)],
            seats,
        );
    }
    family::header(
        &mut out,
        "apiserver_longrunning_requests",
        "gauge",
        "Gauge of all active long-running apiserver requests broken out by verb.",
    );
    family::sample(
        &mut out,
        "apiserver_longrunning_requests",
        &[("verb", "WATCH")],
        state.limits.watches_open(),
    );
    family::header(&mut out, "authentication_attempts", "counter", "Counter of authenticated attempts.");
    for (i, result) in AUTHN_RESULTS.iter().enumerate() {
        family::sample(&mut out, "authentication_attempts", &[("result", result)], m.authentication[i].get());
    }
    family::header(&mut out, "apiserver_authorization_decisions_total", "counter", "Total number of terminal decisions made by an authorizer split by authorizer type, name, and decision.");
    for (i, decision) in ["allowed", "denied"].iter().enumerate() {
        family::sample(
            &mut out,
            "apiserver_authorization_decisions_total",
            &[("decision", decision)],
            m.authorization[i].get(),
        );
    }
    family::header(
        &mut out,
        "apiserver_storage_objects",
        "gauge",
        "Number of stored objects at the time of last check split by kind. In case of a fetching error, the value will be -1.",
    );
    for (resource, n) in m.storage_objects.load().iter() {
        family::sample(&mut out, "apiserver_storage_objects", &[("resource", resource)], n);
    }
    render_admission(&mut out, &m.admission);
    out
}

fn render_admission(out: &mut String, m: &AdmissionMetrics) {
    for (name, help, family, named) in [
        (
            "apiserver_admission_controller_admission_duration_seconds",
            "Admission controller latency histogram in seconds, identified by name and broken out for each operation and API resource and type (validate or admit).",
            &m.controllers,
            true,
        ),
        (
            "apiserver_admission_step_admission_duration_seconds",
            "Admission sub-step latency histogram in seconds, broken out for each operation and API resource and step type (validate or admit).",
            &m.steps,
            false,
        ),
    ] {
        family::header(out, name, "histogram", help);
        let mut series = family.snapshot();
        series.sort_by_key(|(l, _)| (l.name, l.step.as_str(), l.operation.as_str(), l.rejected));
        for (l, h) in &series {
            let mut labels = Vec::with_capacity(4);
            if named {
                labels.push(("name", l.name));
            }
            labels.extend([
                ("operation", l.operation.as_str()),
                ("rejected", if l.rejected { "true" } else { "false" }),
                ("type", l.step.as_str()),
            ]);
            family::histogram(out, name, &labels, h);
        }
    }
}

fn with_component<'a>(l: &'a RequestLabels, code: Option<&'a str>) -> Vec<(&'static str, &'a str)> {
    let mut labels = Vec::with_capacity(9);
    if let Some(c) = code {
        labels.push(("code", c));
    }
    labels.extend([
        ("component", "apiserver"),
        ("dry_run", if l.dry_run { "All" } else { "" }),
        ("group", l.group),
        ("resource", l.resource),
        ("scope", l.scope),
        ("subresource", l.subresource),
        ("verb", l.verb),
        ("version", l.version),
    ]);
    labels
}

/// Counts the stored objects of every served resource now and every
/// [`STORAGE_COUNT_INTERVAL`] (`apiserver_storage_objects`; -1 when the count fails).
pub fn start_storage_counter(state: &State) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(STORAGE_COUNT_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let mut counts = Vec::new();
            for rt in state.catalog.all().into_iter().filter(|r| r.stored && !r.converts()) {
                // A page of one and the count of the rest (kube's remainingItemCount, counted by
                // the store): listing every object copied each key and value of the store at
                // every tick (at 100k ConfigMaps a transient 13 MB that the heap kept).
                let n = match state.objects.list(rt, "", None, 1).await {
                    Ok(page) => i64::try_from(page.items.len() as u64 + page.remaining.unwrap_or(0))
                        .unwrap_or(i64::MAX),
                    Err(_) => -1,
                };
                let name = if rt.group.is_empty() {
                    rt.plural.to_string()
                } else {
                    format!("{}.{}", rt.plural, rt.group)
                };
                counts.push((name, n));
            }
            counts.sort();
            state.metrics.set_storage_objects(counts);
        }
    });
}
