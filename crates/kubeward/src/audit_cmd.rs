//! `kubeward audit`: who did what, read from the audit log (JSON format) in time order:
//! the rotated files (gzipped or not, by the time in their names) and then the current
//! one, filtered by user, verb, resource, namespace, age and decision, as a table one reads
//! at a glance (time, user, verb, resource/name, namespace, code, decision and the binding
//! that allowed it or why it was refused) or as the events themselves (`-o json`), and
//! `--follow` to keep reading as the server writes (across rotations).
//!
//! One row per request: the ResponseComplete (or Panic) event; RequestReceived is skipped;
//! a ResponseStarted event is shown when it is an error (a failed authentication has only
//! that one), and then its request's ResponseComplete is not shown again.

use crate::audit_flags::go_duration;
use crate::cli::CliError;
use apiserver::audit::log::backups;
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::Value;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often `--follow` looks for new lines.
const FOLLOW_EVERY: Duration = Duration::from_millis(250);
/// IDs of shown ResponseStarted events remembered to skip their ResponseComplete.
const MAX_REMEMBERED: usize = 100_000;

#[derive(Args)]
pub struct AuditArgs {
    /// The audit log to read (default: `audit.log` in the data directory).
    #[arg(long, conflicts_with = "data_dir")]
    log: Option<PathBuf>,
    /// The data directory of `kubeward up`.
    #[arg(long, env = "KUBEWARD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Requests by this user (or made as this user by impersonation).
    #[arg(long)]
    user: Option<String>,
    /// Requests with this verb (get, list, watch, create, update, patch, delete, ...).
    #[arg(long)]
    verb: Option<String>,
    /// `pods`, `pods/log`, `deployments.apps`, or a non-resource path such as `/healthz`.
    #[arg(long)]
    resource: Option<String>,
    /// Requests in this namespace.
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// Only requests received within this long (`30s`, `5m`, `1h`, `2d`).
    #[arg(long, value_parser = go_duration)]
    since: Option<Duration>,
    /// `allow` or `deny` (refused by authorization, or failed authentication).
    #[arg(long, value_parser = ["allow", "deny"])]
    decision: Option<String>,
    /// Keep reading as the server writes.
    #[arg(short, long)]
    follow: bool,
    /// `table` or `json` (the events, one a line).
    #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
    output: String,
}

pub async fn run(a: AuditArgs) -> Result<(), CliError> {
    tokio::task::spawn_blocking(move || read(a)).await.map_err(|e| CliError(e.to_string()))?
}

fn read(a: AuditArgs) -> Result<(), CliError> {
    let path = match (&a.log, &a.data_dir) {
        (Some(p), _) => p.clone(),
        (None, Some(d)) => d.join("audit.log"),
        (None, None) => PathBuf::from(".kubeward").join("audit.log"),
    };
    if !path.exists() && backups(&path).is_empty() {
        return Err(CliError(format!("no audit log at {} (see --log and --data-dir)", path.display())));
    }
    let filter = Filter::new(&a)?;
    let mut view = View::new(&a.output, filter);
    let cutoff = a.since.and_then(|d| chrono::Duration::from_std(d).ok()).map(|d| Utc::now() - d);
    // The current file is opened before the backups are listed: when the server rotates it
    // meanwhile, its events are still read through this handle, and the backup it became
    // (named after the moment of rotation, later than this one) is left out. Listing first
    // lost the events of a file rotated between the listing and the opening.
    let opened = Utc::now();
    let mut current = match std::fs::File::open(&path) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(CliError(format!("{}: {e}", path.display()))),
    };
    let mut old = backups(&path);
    old.reverse();
    for (file, rotated) in old {
        if current.is_some() && rotated > opened {
            continue;
        }
        // Every event of a rotated file was written before the file was rotated.
        if cutoff.is_some_and(|c| rotated < c) {
            continue;
        }
        let reader = open(&file).map_err(|e| CliError(format!("{}: {e}", file.display())))?;
        view.lines(reader);
    }
    let mut offset = 0;
    if let Some(f) = current.as_mut() {
        offset = view.lines_from(f, 0);
    }
    view.flush();
    if view.seen_lines > 0 && view.json_lines == 0 {
        eprintln!("kubeward: {} holds no JSON events (--audit-log-format=legacy?)", path.display());
    }
    if a.follow {
        follow(&path, current, offset, &mut view);
    }
    Ok(())
}

/// Reads new lines as they come, reopening the file when it was rotated.
fn follow(path: &Path, mut current: Option<std::fs::File>, mut offset: u64, view: &mut View) {
    loop {
        std::thread::sleep(FOLLOW_EVERY);
        if let Some(f) = current.as_mut() {
            offset = view.lines_from(f, offset);
        }
        let on_disk = std::fs::metadata(path).ok();
        let ours = current.as_ref().and_then(|f| f.metadata().ok());
        let rotated = match (&on_disk, &ours) {
            (Some(d), Some(o)) => d.ino() != o.ino() || d.len() < offset,
            (Some(_), None) => true,
            _ => false,
        };
        if rotated {
            if let Some(f) = current.as_mut() {
                view.lines_from(f, offset);
            }
            current = std::fs::File::open(path).ok();
            offset = 0;
            if let Some(f) = current.as_mut() {
                offset = view.lines_from(f, 0);
            }
        }
        view.flush();
    }
}

fn open(path: &Path) -> std::io::Result<Box<dyn Read>> {
    let f = std::fs::File::open(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(flate2::read::GzDecoder::new(f)))
    } else {
        Ok(Box::new(f))
    }
}

/// Which events are shown.
struct Filter {
    user: Option<String>,
    verb: Option<String>,
    resource: Option<ResourceFilter>,
    namespace: Option<String>,
    since: Option<DateTime<Utc>>,
    decision: Option<String>,
}

enum ResourceFilter {
    Path(String),
    Resource { resource: String, group: Option<String>, sub: Option<String> },
}

impl Filter {
    fn new(a: &AuditArgs) -> Result<Filter, CliError> {
        let resource = a.resource.as_deref().map(|r| {
            if r.starts_with('/') {
                return ResourceFilter::Path(r.to_string());
            }
            let (main, sub) = match r.split_once('/') {
                Some((m, s)) => (m, Some(s.to_string())),
                None => (r, None),
            };
            let (resource, group) = match main.split_once('.') {
                Some((res, g)) => (res.to_string(), Some(g.to_string())),
                None => (main.to_string(), None),
            };
            ResourceFilter::Resource { resource, group, sub }
        });
        let since = match a.since {
            Some(d) => Some(Utc::now() - chrono::Duration::from_std(d).map_err(|e| CliError(e.to_string()))?),
            None => None,
        };
        Ok(Filter {
            user: a.user.clone(),
            verb: a.verb.clone(),
            resource,
            namespace: a.namespace.clone(),
            since,
            decision: a.decision.clone(),
        })
    }

    fn accepts(&self, ev: &Value) -> bool {
        let s = |p: &str| ev.pointer(p).and_then(Value::as_str).unwrap_or_default();
        if let Some(u) = &self.user {
            if s("/user/username") != u && s("/impersonatedUser/username") != u {
                return false;
            }
        }
        if self.verb.as_deref().is_some_and(|v| v != s("/verb")) {
            return false;
        }
        if self.namespace.as_deref().is_some_and(|n| n != s("/objectRef/namespace")) {
            return false;
        }
        if self.resource.as_ref().is_some_and(|r| !r.accepts(ev)) {
            return false;
        }
        if let Some(since) = self.since {
            let received = DateTime::parse_from_rfc3339(s("/requestReceivedTimestamp")).ok();
            if received.is_none_or(|t| t.with_timezone(&Utc) < since) {
                return false;
            }
        }
        match self.decision.as_deref() {
            Some("allow") => decision(ev) == "allow",
            Some("deny") => decision(ev) == "deny",
            _ => true,
        }
    }
}

impl ResourceFilter {
    fn accepts(&self, ev: &Value) -> bool {
        let s = |p: &str| ev.pointer(p).and_then(Value::as_str).unwrap_or_default();
        match self {
            ResourceFilter::Path(p) => {
                let path = s("/requestURI").split('?').next().unwrap_or_default();
                ev.get("objectRef").is_none() && path.starts_with(p.as_str())
            }
            ResourceFilter::Resource { resource, group, sub } => {
                s("/objectRef/resource") == resource
                    && group.as_deref().is_none_or(|g| g == s("/objectRef/apiGroup"))
                    && sub.as_deref().is_none_or(|x| x == s("/objectRef/subresource"))
            }
        }
    }
}

/// `allow`, `deny` (refused by authorization or authentication), `error` (an authorizer
/// failed) or `-` (no decision recorded).
fn decision(ev: &Value) -> &'static str {
    match ev.pointer("/annotations/authorization.k8s.io~1decision").and_then(Value::as_str) {
        Some("allow") => "allow",
        Some("forbid") => "deny",
        _ if code(ev) == 401 => "deny",
        _ if ev.pointer("/annotations/authorization.k8s.io~1reason").is_some() => "error",
        _ => "-",
    }
}

fn code(ev: &Value) -> u64 {
    ev.pointer("/responseStatus/code").and_then(Value::as_u64).unwrap_or(0)
}

/// The binding that allowed the request, or why it was refused.
fn why(ev: &Value) -> String {
    let reason =
        ev.pointer("/annotations/authorization.k8s.io~1reason").and_then(Value::as_str).unwrap_or_default();
    if let Some(rbac) = reason.strip_prefix("RBAC: allowed by ") {
        // `ClusterRoleBinding "b" of ClusterRole "r" to Group "g"` (names never hold quotes).
        let parts: Vec<&str> = rbac.split('"').collect();
        if let [kind, name, of_role, role, to_subject, subject, ..] = parts.as_slice() {
            let role_kind = of_role.trim().trim_start_matches("of ").trim();
            let mut out = match (kind.trim(), name.split_once('/')) {
                ("RoleBinding", Some((n, ns))) => format!("RoleBinding {ns}/{n} ({role_kind} {role})"),
                (k, _) => format!("{k} {name} ({role_kind} {role})"),
            };
            let subject_kind = to_subject.trim().trim_start_matches("to ").trim();
            if subject_kind == "Group" {
                out.push_str(&format!(" via Group {subject}"));
            }
            return out;
        }
    }
    if !reason.is_empty() {
        return reason.to_string();
    }
    let message = ev.pointer("/responseStatus/message").and_then(Value::as_str).unwrap_or_default();
    match message.split_once(" is forbidden: ") {
        Some((_, why)) => why.to_string(),
        None if code(ev) >= 400 => message.to_string(),
        None => String::new(),
    }
}

/// One table row.
fn row(ev: &Value) -> [String; 8] {
    let s = |p: &str| ev.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
    let time = DateTime::parse_from_rfc3339(&s("/requestReceivedTimestamp"))
        .map(|t| t.with_timezone(&Utc).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default();
    let mut user = s("/user/username");
    if user.is_empty() {
        user = "(unauthenticated)".into();
    }
    let as_user = s("/impersonatedUser/username");
    if !as_user.is_empty() {
        user = format!("{user} as {as_user}");
    }
    let what = if ev.get("objectRef").is_some() {
        let mut r = s("/objectRef/resource");
        let group = s("/objectRef/apiGroup");
        if !group.is_empty() {
            r = format!("{r}.{group}");
        }
        for part in [s("/objectRef/name"), s("/objectRef/subresource")] {
            if !part.is_empty() {
                r = format!("{r}/{part}");
            }
        }
        r
    } else {
        s("/requestURI").split('?').next().unwrap_or_default().to_string()
    };
    let namespace = match s("/objectRef/namespace") {
        ns if ns.is_empty() => "-".to_string(),
        ns => ns,
    };
    let code = match code(ev) {
        0 => "-".to_string(),
        c => c.to_string(),
    };
    [time, user, s("/verb"), what, namespace, code, decision(ev).to_string(), why(ev)]
}

const HEADER: [&str; 8] = ["TIME", "USER", "VERB", "RESOURCE", "NAMESPACE", "CODE", "DECISION", "WHY"];

/// Chooses the events to show and prints them.
struct View {
    json: bool,
    filter: Filter,
    /// Rows waiting for the column widths (table, until the first flush).
    pending: Vec<[String; 8]>,
    widths: Option<[usize; 8]>,
    started_shown: HashSet<String>,
    seen_lines: u64,
    json_lines: u64,
}

impl View {
    fn new(output: &str, filter: Filter) -> View {
        View {
            json: output == "json",
            filter,
            pending: Vec::new(),
            widths: None,
            started_shown: HashSet::new(),
            seen_lines: 0,
            json_lines: 0,
        }
    }

    fn lines(&mut self, reader: impl Read) {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            self.line(&line);
        }
    }

    /// Reads whole lines from `offset` on; returns the offset after the last whole line.
    fn lines_from(&mut self, f: &mut std::fs::File, offset: u64) -> u64 {
        if f.seek(SeekFrom::Start(offset)).is_err() {
            return offset;
        }
        let mut reader = BufReader::new(f);
        let mut at = offset;
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(n) if line.ends_with('\n') => {
                    at += n as u64;
                    self.line(line.trim_end());
                }
                // A line the server is still writing: read it next time.
                Ok(_) => break,
            }
        }
        at
    }

    fn line(&mut self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        self.seen_lines += 1;
        let Ok(ev) = serde_json::from_str::<Value>(line) else { return };
        self.json_lines += 1;
        let id = ev.get("auditID").and_then(Value::as_str).unwrap_or_default().to_string();
        match ev.get("stage").and_then(Value::as_str) {
            Some("ResponseComplete" | "Panic") => {
                if self.started_shown.remove(&id) {
                    return;
                }
            }
            Some("ResponseStarted") if code(&ev) >= 400 => {
                if self.started_shown.len() >= MAX_REMEMBERED {
                    self.started_shown.clear();
                }
                self.started_shown.insert(id);
            }
            _ => return,
        }
        if !self.filter.accepts(&ev) {
            return;
        }
        if self.json {
            println!("{line}");
        } else {
            self.pending.push(row(&ev));
        }
    }

    /// Prints what is pending; the first flush fixes the column widths.
    fn flush(&mut self) {
        if self.json {
            let _ = std::io::stdout().flush();
            return;
        }
        let widths = *self.widths.get_or_insert_with(|| {
            let mut w = HEADER.map(str::len);
            for r in &self.pending {
                for (i, cell) in r.iter().enumerate() {
                    w[i] = w[i].max(cell.chars().count());
                }
            }
            print_row(&HEADER.map(str::to_string), &w);
            w
        });
        for r in self.pending.drain(..) {
            print_row(&r, &widths);
        }
        let _ = std::io::stdout().flush();
    }
}

fn print_row(cells: &[String; 8], widths: &[usize; 8]) {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i == cells.len() - 1 {
            line.push_str(cell);
        } else {
            line.push_str(cell);
            let pad = widths[i].saturating_sub(cell.chars().count()) + 2;
            line.extend(std::iter::repeat_n(' ', pad));
        }
    }
    println!("{}", line.trim_end());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(reason: &str) -> Value {
        json!({"annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": reason},
               "responseStatus": {"code": 200}})
    }

    #[test]
    fn why_names_the_binding() {
        assert_eq!(
            why(&ev(
                r#"RBAC: allowed by ClusterRoleBinding "kubeward-admin" of ClusterRole "cluster-admin" to User "kubeward-admin""#
            )),
            "ClusterRoleBinding kubeward-admin (ClusterRole cluster-admin)"
        );
        assert_eq!(
            why(&ev(r#"RBAC: allowed by RoleBinding "devs/d" of ClusterRole "edit" to Group "dev""#)),
            "RoleBinding d/devs (ClusterRole edit) via Group dev"
        );
        let denied = json!({"annotations": {"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""},
            "responseStatus": {"code": 403, "message": "pods is forbidden: User \"jane\" cannot list resource \"pods\""}});
        assert_eq!(why(&denied), "User \"jane\" cannot list resource \"pods\"");
        assert_eq!(decision(&denied), "deny");
        let unauth = json!({"stage": "ResponseStarted", "responseStatus": {"code": 401, "message": "Authentication failed, attempted: bearer"}});
        assert_eq!(
            (decision(&unauth), why(&unauth).as_str()),
            ("deny", "Authentication failed, attempted: bearer")
        );
    }

    #[test]
    fn rows_read_at_a_glance() {
        let e = json!({"requestReceivedTimestamp": "2026-12-06T18:34:45.123456Z", "verb": "get",
            "user": {"username": "admin"}, "impersonatedUser": {"username": "jane"},
            "objectRef": {"resource": "deployments", "apiGroup": "apps", "namespace": "d", "name": "web", "subresource": "scale"},
            "responseStatus": {"code": 200}});
        let r = row(&e);
        assert_eq!(
            r[..7],
            ["2026-12-06 18:34:45", "admin as jane", "get", "deployments.apps/web/scale", "d", "200", "-"]
        );
    }
}
