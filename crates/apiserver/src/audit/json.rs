//! The Event's JSON written by hand in one pass, as Go's `encoding/json` writes kube's
//! `audit.k8s.io/v1` Event: fields in the struct's order, `omitempty` as declared, strings
//! escaped as Go escapes them (`\"`, `\\`, `\n` `\r` `\t` `\b` `\f`, other controls and `<`,
//! `>`, `&`, U+2028, U+2029 as `\uXXXX`). Every request pays this when audited, so it avoids
//! serde's per-field machinery and a second escaping pass; request and response objects
//! (levels Request and above) go through serde_json and then Go's escaping.

use super::event::Record;
use super::policy::Stage;
use apimachinery::UserInfo;
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde_json::Value;
use std::net::IpAddr;

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
        push_user(out, self.user.as_ref());
        if let Some(i) = &self.impersonated {
            out.extend_from_slice(br#","impersonatedUser":"#);
            push_user(out, Some(i));
        }
        if !self.source_ips.is_empty() {
            out.extend_from_slice(br#","sourceIPs":["#);
            for (n, ip) in self.source_ips.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                push_ip(out, ip);
            }
            out.push(b']');
        }
        if !self.user_agent.is_empty() {
            out.extend_from_slice(br#","userAgent":"#);
            push_str(out, &self.user_agent);
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
                out.extend_from_slice(s.code.to_string().as_bytes());
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
        if !self.annotations.is_empty() {
            // Sorted by key, as Go writes a map.
            out.extend_from_slice(br#","annotations":"#);
            let mut o = Obj::open(out);
            for (k, v) in &self.annotations {
                o.str(k, v);
            }
            o.close();
        }
        out.push(b'}');
    }
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

    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        push_str(self.out, k);
        self.out.push(b':');
    }

    fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        push_str(self.out, v);
    }

    fn str_omitempty(&mut self, k: &str, v: &str) {
        if !v.is_empty() {
            self.str(k, v);
        }
    }

    fn strs(&mut self, k: &str, list: &[String]) {
        self.key(k);
        push_strs(self.out, list);
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
            o.strs("groups", &u.groups);
        }
        if !u.extra.is_empty() {
            o.key("extra");
            let mut e = Obj::open(o.out);
            for (k, v) in &u.extra {
                e.strs(k, v);
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
    use std::io::Write;
    out.push(b'"');
    let _ = write!(out, "{ip}");
    out.push(b'"');
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

/// metav1.MicroTime: `"2006-01-02T15:04:05.000000Z"`.
fn push_micro_time(out: &mut Vec<u8>, t: DateTime<Utc>) {
    let t = t.naive_utc();
    let mut b = *b"\"0000-00-00T00:00:00.000000Z\"";
    let mut put = |at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(1, 4, t.year().clamp(0, 9999) as u32);
    put(6, 2, t.month());
    put(9, 2, t.day());
    put(12, 2, t.hour());
    put(15, 2, t.minute());
    put(18, 2, t.second());
    put(21, 6, (t.nanosecond() % 1_000_000_000) / 1000);
    out.extend_from_slice(&b);
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
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let control = x.wrapping_sub(0x20 * ONES) & !x & HIGH != 0;
    let special = [b'"', b'\\', b'<', b'>', b'&'].iter().any(|&c| has_zero(x ^ (c as u64 * ONES)));
    x & HIGH == 0 && !control && !special
}

/// A string as Go's `encoding/json` writes it, quotes included.
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight plain bytes at a time: most strings need no escape at all.
        if let Some(word) = bytes.get(i..i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            if plain8(u64::from_le_bytes(w)) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let esc = ESCAPE[b as usize];
        if esc == 0 {
            i += 1;
            continue;
        }
        if esc == 0xE2 {
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
        match esc {
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
    fn values_get_go_escaping() {
        let mut out = b"x".to_vec();
        push_value(&mut out, &serde_json::json!({"a": "<b>", "c": [1, "\u{2029}"]}));
        assert_eq!(String::from_utf8(out).unwrap(), r#"x{"a":"\u003cb\u003e","c":[1,"\u2029"]}"#);
    }
}
