//! The records the harness collects (`record.rs`) and their rendering into BENCHMARKS.md: the
//! whole report, or (`bench/run --only`) some sections spliced into an existing one
//! (`splice.rs`). This file owns the section list, the report's frame (machine, notes) and the
//! small sections; the Aims table (`aims.rs`), the request path (`request.rs`), the writes
//! (`writes.rs`), the cost rows (`crate::overhead`), custom resources, failover and the peer
//! have files of their own.

mod aims;
mod custom;
mod failover;
mod peer;
mod policies;
mod record;
mod request;
mod splice;
mod writes;

pub use policies::WITH_POLICIES;
pub use record::Record;
pub use splice::splice;

use aims::{aims, section_aim};
use request::{find_request, request, rps_of};
use writes::{writes, writes_at};

use crate::criterion::Estimate;
use crate::stats::growth_exponent;
use std::fmt::Write;

/// Everything needed to render the report.
pub struct Input {
    pub records: Vec<Record>,
    pub criterion: Vec<Estimate>,
    pub smoke: bool,
}

/// A section of the report: its name (as `bench/run --only` takes it) and renderer.
type Section = (&'static str, fn(&mut String, &Input));

/// The sections after the Aims table, in report order.
const SECTIONS: [Section; 11] = [
    ("request", |o, i| request(o, &i.records)),
    ("audit", |o, i| audit(o, &i.records)),
    ("revocation", |o, i| {
        crate::overhead::section(
            o,
            &i.records,
            "revocation",
            "## Revocation check cost",
            "The GET of the request path with a client certificate against kubeward whose certificate \
             revocation list (kube-system/kubeward-cert-revocations) holds a thousand serials and a hundred \
             subjects, none the client's, and against the same build with an empty list.",
            Some(crate::overhead::REVOCATION_MAX_COST),
        )
    }),
    ("limits", |o, i| {
        crate::overhead::section(
            o,
            &i.records,
            "limits",
            "## Request limits cost",
            "The GET of the request path as the bearer-token user (not exempt from seats) against kubeward with kube's \
             in-flight limits (`--max-requests-inflight 400 --max-mutating-requests-inflight 200`, fair between users), \
             and against the same build with both at 0 (no pools).",
            Some(crate::overhead::LIMITS_MAX_COST),
        )
    }),
    ("writes", |o, i| {
        writes(o, &i.records);
        failover::section(o, &i.records);
        policies::section(o, &i.records);
    }),
    ("peer", |o, i| peer::section(o, &i.records)),
    ("custom", |o, i| custom::section(o, &i.records)),
    ("fanout", |o, i| fanout(o, &i.records)),
    ("scale", |o, i| scale(o, &i.records)),
    ("dashboard", |o, i| dashboard(o, &i.records)),
    ("micro", |o, i| micro(o, &i.criterion)),
];

/// The audit section: two cost rows, so that the one issue 14's aim names (the policy
/// evaluation) is measured alone: both of its servers write the same events and differ only
/// in the policy that decides them; the other row is what writing the log costs at all.
fn audit(out: &mut String, r: &[Record]) {
    use crate::overhead::{has_rows, section, AUDIT_LOG, AUDIT_MAX_COST, AUDIT_POLICY};
    if !has_rows(r, AUDIT_POLICY) && !has_rows(r, AUDIT_LOG) {
        return;
    }
    let _ = writeln!(
        out,
        "## Audit cost\n\nTwo rows. **Audit policy evaluation** is the one issue 14's aim names (at most 5% of a GET): \
         both servers write the audit log, one deciding its events by a realistic policy of 17 rules \
         (bench/audit-policy.yaml, shaped like the policy kube's GCE and kubeadm setups install: noisy system \
         users and health checks dropped by users, groups, verbs, resources, namespaces and nonResourceURLs, \
         Secrets and ConfigMaps at Metadata, reads at Request, writes at RequestResponse, RequestReceived \
         omitted, a catch-all Metadata rule last; the bench's ConfigMap GET matches its 14th rule), the other by one \
         rule (bench/audit-policy-metadata.yaml: `level: Metadata`, RequestReceived omitted) that gives the same \
         events for that GET, so the difference is the evaluation alone (the note under it compares the two logs). \
         **Audit log** is what auditing costs at all: the realistic policy and the log against the same build \
         without audit; it has no aim of its own.\n"
    );
    section(
        out,
        r,
        AUDIT_POLICY,
        "### Audit policy evaluation",
        "The GET of the request path against kubeward with `--audit-log-path` and `--audit-policy-file \
         bench/audit-policy.yaml` (17 rules), and against the same build with `--audit-log-path` and \
         `--audit-policy-file bench/audit-policy-metadata.yaml` (one rule, the same events).",
        Some(AUDIT_MAX_COST),
    );
    section(
        out,
        r,
        AUDIT_LOG,
        "### Audit log",
        "The GET of the request path against kubeward with `--audit-log-path` and `--audit-policy-file \
         bench/audit-policy.yaml`, and against the same build without audit.",
        None,
    );
}

/// The names `--only` accepts.
pub fn section_names() -> Vec<&'static str> {
    SECTIONS.iter().map(|(n, _)| *n).collect()
}

/// One section alone, or `None` for an unknown name.
pub fn render_section(input: &Input, name: &str) -> Option<String> {
    let (_, f) = SECTIONS.iter().find(|(n, _)| *n == name)?;
    let mut out = String::new();
    f(&mut out, input);
    Some(out)
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a > 0.0 {
        format!("{:.0}%", 100.0 * a / b)
    } else {
        "n/a".into()
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

pub(crate) fn verdict(pass: Option<bool>) -> &'static str {
    match pass {
        Some(true) => "pass",
        Some(false) => "**miss**",
        None => "not measured at this size",
    }
}

/// Renders the whole report.
pub fn render(input: &Input) -> String {
    render_filtered(input, &section_names())
}

/// `doc` with the named sections of `input` in place of its own, each with a line under its
/// heading saying which run it comes from; the Aims table and every other line are kept.
pub fn splice_sections(doc: &str, input: &Input, names: &[&str]) -> String {
    let provenance = provenance(&input.records, names);
    let mut doc = doc.to_string();
    for (i, (name, _)) in SECTIONS.iter().enumerate().filter(|(_, (n, _))| names.contains(n)) {
        let Some(text) = render_section(input, name) else { continue };
        // Every `## ` heading of the section says which run it comes from.
        let text: String = text
            .lines()
            .map(|l| if l.starts_with("## ") { format!("{l}\n\n{provenance}\n") } else { format!("{l}\n") })
            .collect();
        let later: Vec<String> = SECTIONS[i + 1..]
            .iter()
            .filter_map(|(n, _)| render_section(input, n))
            .filter_map(|t| t.lines().next().map(str::to_string))
            .collect();
        let later: Vec<&str> = later.iter().map(String::as_str).collect();
        doc = splice(&doc, &text, &later);
    }
    doc
}

fn provenance(r: &[Record], names: &[&str]) -> String {
    let (commit, date) = r
        .iter()
        .find_map(|x| match x {
            Record::Machine { commit, date, .. } => Some((commit.as_str(), date.as_str())),
            _ => None,
        })
        .unwrap_or(("unknown", "unknown"));
    format!(
        "_From `bench/run --only {}` at commit `{commit}` ({date}), same machine; the Aims table and the \
         sections without such a line come from the run under Machine._",
        names.join(",")
    )
}

/// The report with only the named sections after the Aims table.
pub fn render_filtered(input: &Input, names: &[&str]) -> String {
    let mut out = String::new();
    let r = &input.records;
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Generated by `bench/run`{}. Machines here are shared and noisy: read the ratios, which come \
         from one run on one machine, more than the absolute figures.\n",
        if input.smoke { " --smoke (tiny sizes, ~1 s per row: not figures to quote)" } else { "" }
    );
    machine(&mut out, r);
    aims(&mut out, r);
    for (_, f) in SECTIONS.iter().filter(|(n, _)| names.contains(n)) {
        f(&mut out, input);
    }
    let notes: Vec<&str> = r
        .iter()
        .filter_map(|x| match x {
            Record::Note { text, section: None } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let missing: Vec<String> = r
        .iter()
        .filter_map(|x| match x {
            Record::Missing { section, .. } if section == "custom" || section == "peer" => None,
            Record::Missing { section, what, reason } => Some(format!("- {section}: {what}: n/a ({reason})")),
            _ => None,
        })
        .collect();
    if !notes.is_empty() || !missing.is_empty() {
        let _ = writeln!(out, "## Notes\n");
        for m in missing {
            let _ = writeln!(out, "{m}");
        }
        for n in notes {
            let _ = writeln!(out, "- {n}");
        }
        let _ = writeln!(out);
    }
    out
}

fn machine(out: &mut String, r: &[Record]) {
    let _ = writeln!(out, "## Machine\n");
    for x in r {
        if let Record::Machine { nproc, cpu, memory, kernel, date, commit } = x {
            let _ = writeln!(out, "- date: {date}\n- commit: `{commit}`\n- cpu: {cpu} ({nproc} online)");
            let _ = writeln!(out, "- memory: {memory}\n- kernel: {kernel}");
        }
    }
    for x in r {
        if let Record::Tool { name, version } = x {
            let _ = writeln!(out, "- {name}: {version}");
        }
    }
    let _ = writeln!(out);
}

fn rss_of(r: &[Record], w: &str) -> Option<u64> {
    r.iter().find_map(|x| match x {
        Record::Rss { what, kib } if what == w => Some(*kib),
        _ => None,
    })
}

fn fanout(out: &mut String, r: &[Record]) {
    let _ = writeln!(out, "## Watch fan-out\n");
    for x in r {
        if let Record::Fanout { result: f } = x {
            let _ = writeln!(
                out,
                "{} watchers on one collection (HTTP/2, 100 streams per connection), {} creates one at a time; \
                 latency from the create's acknowledgement to delivery ({} of {} deliveries seen).\n",
                f.watchers, f.writes, f.delivered, f.watchers * f.writes
            );
            let _ = writeln!(out, "| figure | p50 | p99 |\n|---|---|---|");
            let _ = writeln!(
                out,
                "| until every watcher has the event | {:.2} ms | {:.2} ms |",
                f.all_p50_ms, f.all_p99_ms
            );
            let _ = writeln!(out, "| one delivery | {:.2} ms | {:.2} ms |", f.each_p50_ms, f.each_p99_ms);
            let _ = writeln!(
                out,
                "| every watcher, from the create being sent | {:.2} ms | {:.2} ms |\n",
                f.sent_all_p50_ms, f.sent_all_p99_ms
            );
            let _ = writeln!(
                out,
                "Server RSS {} before the watches, {} with them open: {:.1} KiB per watcher.\n",
                mib(f.rss_before_kib),
                mib(f.rss_after_kib),
                f.per_watcher_kib
            );
        }
    }
}

fn scale(out: &mut String, r: &[Record]) {
    let _ = writeln!(out, "## Scale\n\n| process | idle RSS | ratio to kubeward |\n|---|---|---|");
    let kw = rss_of(r, "kubeward idle").unwrap_or(0);
    for x in r {
        if let Record::Rss { what, kib } = x {
            let _ = writeln!(out, "| {what} | {} | {} |", mib(*kib), ratio(kw as f64, *kib as f64));
        }
    }
    let _ = writeln!(out, "\n| stored objects | time to /readyz | RSS when ready |\n|---|---|---|");
    for x in r {
        if let Record::Ready { objects, ms, rss_kib } = x {
            let _ = writeln!(out, "| {objects} | {ms:.0} ms | {} |", mib(*rss_kib));
        }
    }
    let _ = writeln!(out, "\n| objects listed | requests | p50 ms | p99 ms |\n|---|---|---|---|");
    let mut pts = Vec::new();
    for x in r {
        if let Record::ListLatency { objects, p50_ms, p99_ms, requests } = x {
            let _ = writeln!(out, "| {objects} | {requests} | {p50_ms:.2} | {p99_ms:.2} |");
            pts.push((*objects as f64, *p50_ms));
        }
    }
    match growth_exponent(&pts) {
        Some(k) => {
            let _ = writeln!(
                out,
                "\nLIST p50 grows like N^{k:.2} (least-squares fit of log latency over log N).\n"
            );
        }
        None => {
            let _ = writeln!(out);
        }
    }
    section_notes(out, r, "scale");
}

/// Issue 15's aim for the dashboard's first page.
const DASHBOARD_AIM: &str =
    "dashboard: first page's first table row in under 300 ms (median) with 10k objects";
/// The size the aim speaks of.
const DASHBOARD_AIM_OBJECTS: u64 = 10_000;

fn dashboard(out: &mut String, r: &[Record]) {
    let _ = writeln!(
        out,
        "## Dashboard\n\nThe dashboard's first list page (`kubeward dashboard` in desktop mode as the admin, \
         a namespace's ConfigMaps, 100 rows a page) loaded in Debian's chromium, headless, each load a new \
         tab of a signed-in profile; the time runs from navigation start to the first table row in the page \
         (bench/dashboard/first-page.mjs, one warm-up load not counted). Release build unless a note \
         below says otherwise.\n\n\
         | ConfigMaps in the namespace | loads | rows | median | p95 | max |\n|---|---|---|---|---|---|"
    );
    let mut best: Option<(u64, f64, f64)> = None;
    for x in r {
        if let Record::DashboardFirstPage { objects, loads, rows, median_ms, p95_ms, max_ms } = x {
            let _ = writeln!(
                out,
                "| {objects} | {loads} | {rows} | {median_ms:.1} ms | {p95_ms:.1} ms | {max_ms:.1} ms |"
            );
            if best.is_none_or(|(n, _, _)| *objects > n) {
                best = Some((*objects, *median_ms, *p95_ms));
            }
        }
    }
    let _ = writeln!(out);
    section_notes(out, r, "dashboard");
    let measured = match best {
        Some((n, median, p95)) => {
            let pass = (n >= DASHBOARD_AIM_OBJECTS).then_some(median < 300.0);
            (format!("median {median:.0} ms, p95 {p95:.0} ms ({n} objects)"), pass)
        }
        None => ("-".into(), None),
    };
    section_aim(out, DASHBOARD_AIM, measured);
}

/// The notes recorded for `section` (`bench-util note --section`), as a list.
pub(crate) fn section_notes(out: &mut String, r: &[Record], section: &str) {
    let mut any = false;
    for x in r {
        if let Record::Note { text, section: Some(s) } = x {
            if s == section {
                let _ = writeln!(out, "- {text}");
                any = true;
            }
        }
    }
    if any {
        let _ = writeln!(out);
    }
}

fn micro(out: &mut String, est: &[Estimate]) {
    let _ = writeln!(out, "## Micro-benchmarks (criterion)\n");
    if est.is_empty() {
        let _ = writeln!(out, "Not run.\n");
        return;
    }
    let _ = writeln!(out, "| benchmark | median | mean |\n|---|---|---|");
    for e in est {
        let _ = writeln!(out, "| {} | {} | {} |", e.id, human_ns(e.median_ns), human_ns(e.mean_ns));
    }
    let _ = writeln!(out);
}

fn human_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} us", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

#[cfg(test)]
mod tests {
    use super::aims::{ETCD_READ_AIM, ETCD_WRITE_AIM};
    use super::*;
    use crate::stats::Summary;

    fn req(target: &str, conc: u32, rps: f64) -> Record {
        Record::Request {
            target: target.into(),
            object: "get".into(),
            auth: "cert".into(),
            proto: "h2".into(),
            conc,
            rps,
            p50_ms: 0.5,
            p99_ms: 2.0,
            errors: 0,
            tool: "oha".into(),
            server_cpu_us: None,
        }
    }

    #[test]
    fn ratios_and_verdicts() {
        let summary = |per_sec, p99_ms| Summary { count: 1, per_sec, p99_ms, ..Summary::default() };
        let writes = |target: &str, clients, per_sec, p99_ms| Record::Writes {
            target: target.into(),
            clients,
            value_bytes: 10,
            summary: summary(per_sec, p99_ms),
            server_cpu_ms: Vec::new(),
            admission: None,
        };
        let records = vec![
            req("kubeward", 64, 60.0),
            req("bare", 64, 100.0),
            writes("embedded", 1, 90.0, 1.0),
            writes("etcd", 1, 100.0, 1.0),
            writes("embedded", 16, 200.0, 2.0),
            writes("etcd", 16, 100.0, 3.0),
            writes("embedded", 64, 200.0, 5.0),
            writes("etcd", 64, 100.0, 4.0),
            Record::Rss { what: "kubeward idle".into(), kib: 20 * 1024 },
            Record::ListLatency { objects: 1000, p50_ms: 1.0, p99_ms: 1.0, requests: 1 },
            Record::ListLatency { objects: 10000, p50_ms: 10.0, p99_ms: 10.0, requests: 1 },
            Record::Missing {
                section: "request".into(),
                what: "bearer token rows".into(),
                reason: "flag missing".into(),
            },
        ];
        let md = render(&Input { records, criterion: vec![], smoke: false });
        assert!(md.contains("| GET >= 85% of bare hyper+rustls at 64 conns | worst get row at 64 conns: 60% (cert h2) | **miss**"), "{md}");
        assert!(md.contains("| LIST >= 85% of bare hyper+rustls at 64 conns | - | not measured"), "{md}");
        assert!(
            md.contains(
                "1: 90 vs 100/s (90%), p99 1.0 vs 1.0 ms; 16: 200 vs 100/s (200%), p99 2.0 vs 3.0 ms; \
                 64: 200 vs 100/s (200%), p99 5.0 vs 4.0 ms | **miss**"
            ),
            "{md}"
        );
        assert!(md.contains("| request limits cost <= 3% of GET at 64 conns | - |"), "{md}");
        assert!(md.contains("| idle RSS < 30 MiB | 20.0 MiB | pass |"), "{md}");
        assert!(md.contains("N^1.00"), "{md}");
        assert!(md.contains("n/a (flag missing)"), "{md}");
        assert!(md.contains("| get | cert | h2 | 64 | 60 | 0.50 | 2.00 | 100 |"), "{md}");
        assert!(md.contains(&format!("| {ETCD_WRITE_AIM} | - | not measured at this size |")), "{md}");
    }

    #[test]
    fn creates_pass_only_when_every_client_count_keeps_up() {
        let w = |target: &str, clients, per_sec, p99_ms| Record::Writes {
            target: target.into(),
            clients,
            value_bytes: 10,
            summary: Summary { count: 1, per_sec, p99_ms, ..Summary::default() },
            server_cpu_ms: Vec::new(),
            admission: None,
        };
        let mut records = Vec::new();
        for c in [1, 16, 64] {
            records.push(w("embedded", c, 100.0, 1.0));
            records.push(w("etcd", c, 100.0, 1.0));
        }
        let md = render(&Input { records: records.clone(), criterion: vec![], smoke: false });
        assert!(md.contains("64: 100 vs 100/s (100%), p99 1.0 vs 1.0 ms | pass |"), "{md}");
        records.retain(|r| !matches!(r, Record::Writes { clients: 16, target, .. } if target == "etcd"));
        let md = render(&Input { records, criterion: vec![], smoke: false });
        assert!(
            md.contains("| creates/s >= etcd puts/s and p99 no worse, at 1, 16 and 64 clients | 1: "),
            "{md}"
        );
        assert!(
            !md.contains("64: 100 vs 100/s (100%), p99 1.0 vs 1.0 ms | pass |"),
            "a missing row is no pass: {md}"
        );
    }

    #[test]
    fn etcd_rows_and_aims() {
        let writes = |target: &str, clients, per_sec, cpu: &[(&str, f64)]| Record::Writes {
            target: target.into(),
            clients,
            value_bytes: 10,
            summary: Summary { count: 1, per_sec, ..Summary::default() },
            server_cpu_ms: cpu.iter().map(|(n, ms)| ((*n).to_owned(), *ms)).collect(),
            admission: None,
        };
        let records = vec![
            writes("etcd", 16, 1000.0, &[("etcd", 0.1)]),
            writes("kubeward-etcd", 16, 850.0, &[("kubeward", 0.2), ("etcd", 0.15)]),
            writes("etcd", 64, 2000.0, &[]),
            writes("kubeward-etcd", 64, 1000.0, &[]),
            req("kubeward-etcd", 64, 95.0),
            req("kubeward-embedded", 64, 100.0),
            req("kubeward-etcd", 1, 50.0),
            req("kubeward-embedded", 1, 100.0),
        ];
        let md = render(&Input { records, criterion: vec![], smoke: false });
        let write_aim = format!(
            "| {ETCD_WRITE_AIM} | 16 clients: 850 vs 1000 (85%), 64 clients: 1000 vs 2000 (50%) | **miss** |"
        );
        assert_eq!(md.matches(&write_aim).count(), 2, "in the Aims table and the writes section: {md}");
        assert!(md.contains("| 16 | - | - | 1000 | 0.00 | n/a | 850 | 0.00 | 85% | on etcd: kubeward 0.200 + etcd 0.150; etcd alone: etcd 0.100 |"), "{md}");
        assert!(
            md.contains(&format!("| {ETCD_READ_AIM} | worst row: 50% (get cert h2 1 conns) | **miss** |")),
            "{md}"
        );
        assert!(md.contains("| get | cert | h2 | 64 | 95 | 0.50 | 2.00 | 100 | 0.50 | 2.00 | 95% |"), "{md}");
    }

    #[test]
    fn only_sections_replace_their_own_and_keep_the_rest() {
        let machine = Record::Machine {
            nproc: "2".into(),
            cpu: "c".into(),
            memory: "m".into(),
            kernel: "k".into(),
            date: "D".into(),
            commit: "abc".into(),
        };
        let op = |name: &str, per_sec| Record::Op {
            op: name.into(),
            clients: 1,
            body_bytes: 10,
            rounds: 1,
            summary: Summary { count: 1, per_sec, ..Summary::default() },
            server_cpu_ms: None,
        };
        let input = Input {
            records: vec![machine, op("configmap-create", 100.0), op("custom-create", 80.0)],
            criterion: vec![],
            smoke: false,
        };
        let doc = "# Benchmarks\n\n## Aims\n\nold aims\n\n## Durable writes\n\nw\n\n## Watch fan-out\n\nf\n\n## Notes\n\n- n\n";
        let out = splice_sections(doc, &input, &["custom"]);
        let at = out.find("## Custom resources and server-side apply").unwrap();
        assert!(
            out.find("## Durable writes").unwrap() < at && at < out.find("## Watch fan-out").unwrap(),
            "{out}"
        );
        assert!(out.contains("_From `bench/run --only custom` at commit `abc` (D)"), "{out}");
        assert!(out.contains("1.25x (80%) | <= 1.5x | pass |"), "{out}");
        assert!(out.contains("old aims") && out.contains("\nw\n") && out.contains("- n"), "{out}");
        // A second run replaces the section instead of adding one.
        let again = splice_sections(&out, &input, &["custom"]);
        assert_eq!(again, out);
    }

    #[test]
    fn the_dashboard_section_judges_the_largest_run() {
        // The line bench/dashboard/first-page.mjs prints.
        let line = r#"{"kind":"dashboard_first_page","objects":10000,"loads":20,"rows":100,"median_ms":180.5,"p95_ms":320.1,"max_ms":400}"#;
        let big: Record = serde_json::from_str(line).unwrap();
        let small = Record::DashboardFirstPage {
            objects: 100,
            loads: 3,
            rows: 100,
            median_ms: 500.0,
            p95_ms: 600.0,
            max_ms: 700.0,
        };
        let md = |records| {
            render_section(&Input { records, criterion: vec![], smoke: true }, "dashboard").unwrap()
        };
        let out = md(vec![small.clone(), big]);
        assert!(out.contains("| 10000 | 20 | 100 | 180.5 ms | 320.1 ms | 400.0 ms |"), "{out}");
        assert!(
            out.contains(&format!("| {DASHBOARD_AIM} | median 180 ms, p95 320 ms (10000 objects) | pass |")),
            "{out}"
        );
        let out = md(vec![small]);
        assert!(out.contains("(100 objects) | not measured at this size |"), "{out}");
        assert!(md(vec![]).contains(&format!("| {DASHBOARD_AIM} | - | not measured at this size |")));
    }

    #[test]
    fn records_round_trip_as_json_lines() {
        let line = r#"{"kind":"rss","what":"etcd idle","kib":1234}"#;
        let rec: Record = serde_json::from_str(line).unwrap();
        assert!(matches!(rec, Record::Rss { kib: 1234, .. }));
    }
}
