//! The Event's JSON written by hand in one pass, as Go's `encoding/json` writes kube's
//! `audit.k8s.io/v1` Event: fields in the struct's order, `omitempty` as declared, strings
//! escaped as Go escapes them (`\"`, `\\`, `\n` `\r` `\t` `\b` `\f`, other controls and `<`,
//! `>`, `&`, U+2028, U+2029 as `\uXXXX`). Every request pays this when audited, so it avoids
//! serde's per-field machinery and a second escaping pass; request and response objects
//! (levels Request and above) go through serde_json and then Go's escaping.

use super::event::{Record, REASON_ANNOTATION};
use super::policy::Stage;
use apimachinery::UserInfo;
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;

impl Record {
    /// The event at `stage` as one JSON line (without the newline), as kube writes it.
    pub fn to_json(&self, stage: Stage, at: DateTime<Utc>) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        self.write_json(stage, at, &mut out);
        out
    }

    /// [`Record::to_json`] appended to `out` (a buffer reused across events).
    pub fn write_json(&self, stage: Stage, at: DateTime<Utc>, out: &mut Vec<u8>) {
        let captured = self.capture.as_ref().map(|c| c.snapshot());
        let info = &self.info;
        out.extend_from_slice(br#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":""#);
        out.extend_from_slice(self.level().as_str().as_bytes());
        out.extend_from_slice(br#"","auditID":"#);
        push_str(out, &self.id);
        out.extend_from_slice(br#","stage":""#);
        out.extend_from_slice(stage.as_str().as_bytes());
        out.extend_from_slice(br#"","requestURI":"#);
        push_str(out, &self.uri);
        out.extend_from_slice(br#","verb":"#);
        push_str(out, &info.verb);
        out.extend_from_slice(br#","user":"#);
        RECENT.with(|r| r.borrow_mut().user(out, self.user.as_ref()));
        if let Some(i) = &self.impersonated {
            out.extend_from_slice(br#","impersonatedUser":"#);
            push_user(out, Some(i));
        }
        if !self.source_ips.is_empty() {
            out.extend_from_slice(br#","sourceIPs":"#);
            RECENT.with(|r| r.borrow_mut().ips(out, &self.source_ips));
        }
        if !self.user_agent.is_empty() {
            out.extend_from_slice(br#","userAgent":"#);
            RECENT.with(|r| push_recent(&mut r.borrow_mut().agent, out, &self.user_agent));
        }
        if info.is_resource_request {
            let (mut name, mut namespace, mut uid, mut rv) =
                (info.name.as_str(), info.namespace.as_str(), "", "");
            if let Some(c) = &captured {
                if name.is_empty() {
                    name = &c.name;
                }
                if namespace.is_empty() {
                    namespace = &c.namespace;
                }
                uid = &c.uid;
                rv = &c.resource_version;
            }
            out.extend_from_slice(br#","objectRef":"#);
            let mut o = Obj::open(out);
            for (k, v) in [
                ("resource", info.resource.as_str()),
                ("namespace", namespace),
                ("name", name),
                ("uid", uid),
                ("apiGroup", &info.api_group),
                ("apiVersion", &info.api_version),
                ("resourceVersion", rv),
                ("subresource", &info.subresource),
            ] {
                o.str_omitempty(k, v);
            }
            o.close();
        }
        if let Some(s) = &self.response_status {
            out.extend_from_slice(br#","responseStatus":{"metadata":{}"#);
            for (k, v) in [("status", &s.status), ("message", &s.message), ("reason", &s.reason)] {
                if !v.is_empty() {
                    out.extend_from_slice(b",\"");
                    out.extend_from_slice(k.as_bytes());
                    out.extend_from_slice(b"\":");
                    push_str(out, v);
                }
            }
            if let Some(d) = &s.details {
                out.extend_from_slice(br#","details":"#);
                push_value(out, d);
            }
            if s.code != 0 {
                out.extend_from_slice(br#","code":"#);
                push_u32(out, s.code.into());
            }
            out.push(b'}');
        }
        if let Some(v) = captured.as_ref().and_then(|c| c.object.as_deref()) {
            out.extend_from_slice(br#","requestObject":"#);
            push_value(out, v);
        }
        if let Some(v) = &self.response_object {
            out.extend_from_slice(br#","responseObject":"#);
            push_value(out, v);
        }
        out.extend_from_slice(br#","requestReceivedTimestamp":"#);
        push_micro_time(out, self.received);
        out.extend_from_slice(br#","stageTimestamp":"#);
        push_micro_time(out, if stage == Stage::RequestReceived { self.received } else { at });
        let noted = self.notes.annotations();
        if !self.annotations.is_empty() || !noted.is_empty() {
            // Sorted by key, as Go writes a map.
            out.extend_from_slice(br#","annotations":"#);
            let mut o = Obj::open(out);
            if noted.is_empty() {
                for (k, v) in &self.annotations {
                    // The keys are kubeward's own constants (`authorization.k8s.io/...`).
                    o.key(k);
                    if *k == REASON_ANNOTATION {
                        RECENT.with(|r| push_recent(&mut r.borrow_mut().reason, o.out, v));
                    } else {
                        push_str(o.out, v);
                    }
                }
            } else {
                // Admission's keys (`POLICY/KEY`) come from input: escaped, merged in order.
                let mut all: Vec<(&str, &str)> =
                    self.annotations.iter().map(|(k, v)| (*k, v.as_ref())).collect();
                for (k, v) in &noted {
                    if !self.annotations.contains_key(k.as_str()) {
                        all.push((k, v));
                    }
                }
                all.sort_by(|a, b| a.0.cmp(b.0));
                for (k, v) in all {
                    o.key_escaped(k);
                    push_str(o.out, v);
                }
            }
            o.close();
        }
        out.push(b'}');
    }
}

thread_local! {
    /// The last user, User-Agent and authorization reason written on this thread and their
    /// JSON: consecutive requests mostly repeat them (one client, one binding), and copying
    /// costs less than escaping again.
    static RECENT: std::cell::RefCell<Recent> = std::cell::RefCell::new(Recent::default());
}

#[derive(Default)]
struct Recent {
    user: Option<(Arc<UserInfo>, Vec<u8>)>,
    ips: (Vec<IpAddr>, Vec<u8>),
    agent: (String, Vec<u8>),
    reason: (String, Vec<u8>),
}

impl Recent {
    /// The user's JSON; the records of one user share its copy (`Record::set_user`), so the
    /// same copy is recognised without comparing its fields.
    fn user(&mut self, out: &mut Vec<u8>, user: Option<&Arc<UserInfo>>) {
        let Some(u) = user else { return push_user(out, None) };
        match &self.user {
            Some((last, json)) if Arc::ptr_eq(last, u) || **last == **u => out.extend_from_slice(json),
            _ => {
                let mut json = Vec::with_capacity(128);
                push_user(&mut json, Some(u));
                out.extend_from_slice(&json);
                self.user = Some((Arc::clone(u), json));
            }
        }
    }
}

impl Recent {
    fn ips(&mut self, out: &mut Vec<u8>, ips: &[IpAddr]) {
        if self.ips.0 != ips {
            self.ips.0.clear();
            self.ips.0.extend_from_slice(ips);
            let json = &mut self.ips.1;
            json.clear();
            json.push(b'[');
            for (n, ip) in ips.iter().enumerate() {
                if n > 0 {
                    json.push(b',');
                }
                push_ip(json, ip);
            }
            json.push(b']');
        }
        out.extend_from_slice(&self.ips.1);
    }
}

/// A string's JSON from `slot` when it is the string written last, else written and kept.
fn push_recent(slot: &mut (String, Vec<u8>), out: &mut Vec<u8>, s: &str) {
    if slot.0 != s {
        slot.0.clear();
        slot.0.push_str(s);
        slot.1.clear();
        push_str(&mut slot.1, s);
    }
    out.extend_from_slice(&slot.1);
}

/// An object being written: commas between fields.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    fn open(out: &'a mut Vec<u8>) -> Obj<'a> {
        out.push(b'{');
        Obj { out, first: true }
    }

    /// A key known to need no escaping (the Event's own field names).
    fn key(&mut self, k: &'static str) {
        self.comma();
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// A key from input (a user's `extra`), escaped.
    fn key_escaped(&mut self, k: &str) {
        self.comma();
        push_str(self.out, k);
        self.out.push(b':');
    }

    fn comma(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    fn str(&mut self, k: &'static str, v: &str) {
        self.key(k);
        push_str(self.out, v);
    }

    fn str_omitempty(&mut self, k: &'static str, v: &str) {
        if !v.is_empty() {
            self.str(k, v);
        }
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// authentication/v1 UserInfo: every field `omitempty`; `{}` for no user.
fn push_user(out: &mut Vec<u8>, user: Option<&UserInfo>) {
    let mut o = Obj::open(out);
    if let Some(u) = user {
        o.str_omitempty("username", &u.name);
        o.str_omitempty("uid", &u.uid);
        if !u.groups.is_empty() {
            o.key("groups");
            push_strs(o.out, &u.groups);
        }
        if !u.extra.is_empty() {
            o.key("extra");
            let mut e = Obj::open(o.out);
            for (k, v) in &u.extra {
                e.key_escaped(k);
                push_strs(e.out, v);
            }
            e.close();
        }
    }
    o.close();
}

fn push_strs(out: &mut Vec<u8>, list: &[String]) {
    out.push(b'[');
    for (i, s) in list.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, s);
    }
    out.push(b']');
}

fn push_ip(out: &mut Vec<u8>, ip: &IpAddr) {
    out.push(b'"');
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_u32(out, octet.into());
            }
        }
        IpAddr::V6(v6) => {
            use std::io::Write;
            let _ = write!(out, "{v6}");
        }
    }
    out.push(b'"');
}

/// A number in decimal, without the formatting machinery.
fn push_u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A JSON value through serde_json, then Go's HTML-safe escaping of its strings.
fn push_value(out: &mut Vec<u8>, v: &Value) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, v).is_err() {
        out.truncate(start);
        out.extend_from_slice(b"null");
        return;
    }
    go_html_escape(out, start);
}

/// A second (its date and second of the day) and its text (`"2006-01-02T15:04:05`).
type SecondText = (Option<(chrono::NaiveDate, u32)>, [u8; 20]);

thread_local! {
    /// The last second written: events come many a second.
    static LAST_SECOND: std::cell::Cell<SecondText> =
        const { std::cell::Cell::new((None, [0; 20])) };
}

/// metav1.MicroTime: `"2006-01-02T15:04:05.000000Z"`.
fn push_micro_time(out: &mut Vec<u8>, t: DateTime<Utc>) {
    fn put(b: &mut [u8], at: usize, width: usize, mut n: u32) {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    // The date and the second of the day, read without calendar arithmetic.
    let n = t.naive_utc();
    let key = Some((n.date(), n.time().num_seconds_from_midnight()));
    let (cached, mut head) = LAST_SECOND.get();
    if cached != key {
        head = *b"\"0000-00-00T00:00:00";
        put(&mut head, 1, 4, n.year().clamp(0, 9999) as u32);
        put(&mut head, 6, 2, n.month());
        put(&mut head, 9, 2, n.day());
        put(&mut head, 12, 2, n.hour());
        put(&mut head, 15, 2, n.minute());
        put(&mut head, 18, 2, n.second());
        LAST_SECOND.set((key, head));
    }
    let mut tail = *b".000000Z\"";
    put(&mut tail, 1, 6, (n.nanosecond() % 1_000_000_000) / 1000);
    out.extend_from_slice(&head);
    out.extend_from_slice(&tail);
}

/// What a byte needs in a Go JSON string: 0 nothing, `u` `\u00XX`, else the short escape's
/// letter; 0xE2 may begin U+2028 or U+2029.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[b'<' as usize] = b'u';
    t[b'>' as usize] = b'u';
    t[b'&' as usize] = b'u';
    t[0xE2] = 0xE2;
    t
};

/// Whether none of eight bytes needs a look: no control byte, `"`, `\\`, `<`, `>`, `&`, and
/// no byte of a multi-byte character (which might be U+2028 or U+2029).
fn plain8(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Every zero byte of `v` has its high bit set in this mask; a borrow may set it for a
    // byte above one too, which only sends the word to the byte-by-byte look.
    #[inline(always)]
    fn zero_byte(v: u64) -> u64 {
        v.wrapping_sub(ONES) & !v & HIGH
    }
    let bad = (x & HIGH)
        | (x.wrapping_sub(0x20 * ONES) & !x & HIGH)
        | zero_byte(x ^ (0x22 * ONES))
        | zero_byte(x ^ (0x5C * ONES))
        | zero_byte(x ^ (0x3C * ONES))
        | zero_byte(x ^ (0x3E * ONES))
        | zero_byte(x ^ (0x26 * ONES));
    bad == 0
}

/// The index of the first byte that needs a look, eight bytes at a time.
fn first_special(bytes: &[u8]) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let word = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        if !plain8(word) {
            break;
        }
        at += 8;
    }
    bytes[at..].iter().position(|&b| ESCAPE[b as usize] != 0).map(|i| at + i)
}

/// A string as Go's `encoding/json` writes it, quotes included.
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Plain runs are skipped eight bytes at a time and copied whole.
    let mut run = 0;
    let mut i = 0;
    while let Some(offset) = first_special(&bytes[i..]) {
        i += offset;
        let b = bytes[i];
        if ESCAPE[b as usize] == 0xE2 {
            let sep = bytes.get(i + 1) == Some(&0x80) && matches!(bytes.get(i + 2), Some(0xA8 | 0xA9));
            if !sep {
                i += 1;
                continue;
            }
            out.extend_from_slice(&bytes[run..i]);
            out.extend_from_slice(if bytes[i + 2] == 0xA8 { b"\\u2028" } else { b"\\u2029" });
            i += 3;
            run = i;
            continue;
        }
        out.extend_from_slice(&bytes[run..i]);
        match ESCAPE[b as usize] {
            b'u' => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]),
            c => out.extend_from_slice(&[b'\\', c]),
        }
        i += 1;
        run = i;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// Go's `encoding/json` escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings; outside
/// strings they cannot occur in JSON, so the bytes of `buf[start..]` are rewritten wholesale.
fn go_html_escape(buf: &mut Vec<u8>, start: usize) {
    let special = |b: &u8| matches!(b, b'<' | b'>' | b'&' | 0xE2);
    if !buf[start..].iter().any(special) {
        return;
    }
    let bytes = buf.split_off(start);
    let out = buf;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            0xE2 if bytes.get(i + 1) == Some(&0x80) && matches!(bytes.get(i + 2), Some(0xA8 | 0xA9)) => {
                out.extend_from_slice(if bytes[i + 2] == 0xA8 { b"\\u2028" } else { b"\\u2029" });
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> String {
        let mut out = Vec::new();
        push_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_escape_as_go() {
        assert_eq!(q("plain"), r#""plain""#);
        assert_eq!(q("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(q("\n\r\t\u{8}\u{c}\u{1}\u{1f}"), r#""\n\r\t\b\f\u0001\u001f""#);
        assert_eq!(q("<a&b>"), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(q("x\u{2028}y\u{2029}z\u{2022}é"), "\"x\\u2028y\\u2029z\u{2022}é\"");
        // Whatever the string, the output reads back as the same string.
        for s in ["", "ü\u{0}\u{7f}\"", "\u{2028}\u{2028}", "€<", "abcdefgh\"ijklmnop<qrstuvwx\u{1}yz"] {
            assert_eq!(serde_json::from_str::<String>(&q(s)).unwrap(), s);
        }
    }

    #[test]
    fn eight_byte_scan_finds_every_special_byte() {
        for special in [b'"', b'\\', b'<', b'>', b'&', 0x00, 0x1f, 0x80, 0xE2] {
            for at in 0..8 {
                let mut w = *b"abcdefgh";
                w[at] = special;
                assert!(!plain8(u64::from_le_bytes(w)), "{special:#x} at {at}");
            }
        }
        for plain in [*b"abcdefgh", *b"        ", *b"~!#$%'()", *b"\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f"] {
            assert!(plain8(u64::from_le_bytes(plain)), "{plain:?}");
        }
        // A long string with escapes at every offset.
        for at in 0..24 {
            let mut s = "x".repeat(24);
            s.replace_range(at..at + 1, "<");
            assert_eq!(q(&s), format!("\"{}\\u003c{}\"", &s[..at], &s[at + 1..]));
        }
    }

    #[test]
    fn recent_values_are_reused_only_when_equal() {
        let mut r = Recent::default();
        let jane = Arc::new(UserInfo::new("jane", vec!["dev".into()]));
        let joe = Arc::new(UserInfo::new("jane", vec!["ops".into()]));
        let jane_again = Arc::new(UserInfo::new("jane", vec!["dev".into()]));
        let mut out = Vec::new();
        for u in [Some(&jane), Some(&joe), Some(&jane_again), Some(&jane), None] {
            r.user(&mut out, u);
            out.push(b' ');
        }
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "::1".parse().unwrap());
        for ips in [vec![a], vec![a, b], vec![a]] {
            r.ips(&mut out, &ips);
            out.push(b' ');
        }
        for s in ["a \"b\"", "a \"c\"", "a \"c\""] {
            push_recent(&mut r.reason, &mut out, s);
            out.push(b' ');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"username":"jane","groups":["dev"]} {"username":"jane","groups":["ops"]} {"username":"jane","groups":["dev"]} {"username":"jane","groups":["dev"]} {} ["10.0.0.1"] ["10.0.0.1","::1"] ["10.0.0.1"] "a \"b\"" "a \"c\"" "a \"c\"" "#
        );
    }

    #[test]
    fn micro_times() {
        let mut out = Vec::new();
        for t in ["2026-12-06T18:34:45.123456789Z", "2026-12-06T18:34:45.000001Z", "1999-01-02T03:04:05Z"] {
            let t = DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
            push_micro_time(&mut out, t);
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""2026-12-06T18:34:45.123456Z""2026-12-06T18:34:45.000001Z""1999-01-02T03:04:05.000000Z""#
        );
    }

    #[test]
    fn numbers_and_addresses() {
        let mut out = Vec::new();
        for n in [0, 7, 200, 404, 65535] {
            push_u32(&mut out, n);
            out.push(b' ');
        }
        push_ip(&mut out, &"10.0.255.1".parse().unwrap());
        push_ip(&mut out, &"::1".parse().unwrap());
        assert_eq!(String::from_utf8(out).unwrap(), r#"0 7 200 404 65535 "10.0.255.1""::1""#);
    }

    #[test]
    fn values_get_go_escaping() {
        let mut out = b"x".to_vec();
        push_value(&mut out, &serde_json::json!({"a": "<b>", "c": [1, "\u{2029}"]}));
        assert_eq!(String::from_utf8(out).unwrap(), r#"x{"a":"\u003cb\u003e","c":[1,"\u2029"]}"#);
    }
}
