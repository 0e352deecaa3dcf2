//! The string formats kube checks in custom resources (kube-openapi's `strfmt.Default`
//! registry, limited to the formats apiextensions-apiserver keeps), and kube's stripping of
//! the formats it does not check (`StripUnsupportedFormatsPostProcessor`).

use base64::Engine;
use chrono::NaiveDate;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

/// Formats kube checks (normalized: dashes removed, as go-openapi names them).
const SUPPORTED: [&str; 26] = [
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
    "k8sshortname",
    "k8slongname",
];

/// The format kube keeps on a schema of `types` (`[integer, string]` for int-or-string):
/// string formats kube checks, `int32`/`int64` for integers, `float`/`double` for numbers.
pub fn effective_format<'a>(types: &[&str], format: &'a str) -> &'a str {
    if format.is_empty() {
        return format;
    }
    let single = if types.len() == 1 { types[0] } else { "" };
    let keep = match single {
        "" | "string" => SUPPORTED.contains(&format.replace('-', "").as_str()),
        "integer" => format == "int32" || format == "int64",
        "number" => format == "float" || format == "double",
        _ => false,
    };
    if keep {
        format
    } else {
        ""
    }
}

/// Whether the strfmt registry knows `format` (only string formats; `int32` etc. are not
/// string formats, so the format validator does not apply to them).
pub fn known(format: &str) -> bool {
    !format.is_empty() && SUPPORTED.contains(&format.replace('-', "").as_str())
}

fn re(cell: &'static OnceLock<regex::Regex>, pattern: &str) -> &'static regex::Regex {
    cell.get_or_init(|| {
        regex::Regex::new(pattern).unwrap_or_else(|_| regex::Regex::new("$^").expect("literal regex"))
    })
}

fn is_hostname(s: &str) -> bool {
    static RX: OnceLock<regex::Regex> = OnceLock::new();
    let rx = re(
        &RX,
        r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$",
    );
    rx.is_match(s) && s.len() <= 255 && s.split('.').all(|p| p.len() <= 63)
}

fn is_uuid(s: &str, version: Option<char>) -> bool {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let groups: Vec<&str> = s.split('-').collect();
    let dashes_ok = match groups.len() {
        1 => true,
        _ => {
            // dashes are optional, each at its own place
            let mut pos = 0;
            let mut ok = true;
            for (i, g) in groups.iter().enumerate() {
                pos += g.len();
                let allowed = [8, 12, 16, 20];
                if i + 1 < groups.len() && !allowed.contains(&pos) {
                    ok = false;
                }
            }
            ok
        }
    };
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) || !dashes_ok {
        return false;
    }
    match version {
        None => true,
        Some(v) => {
            let b: Vec<char> = hex.chars().collect();
            b[12] == v && (v == '3' || matches!(b[16].to_ascii_lowercase(), '8' | '9' | 'a' | 'b'))
        }
    }
}

fn is_email(s: &str) -> bool {
    // net/mail.ParseAddress accepts `Name <a@b>` and bare `a@b`.
    let addr = match (s.find('<'), s.rfind('>')) {
        (Some(i), Some(j)) if i < j && s[j + 1..].trim().is_empty() => &s[i + 1..j],
        _ => s.trim(),
    };
    let Some((local, domain)) = addr.rsplit_once('@') else { return false };
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let local_ok = if local.starts_with('"') && local.ends_with('"') && local.len() >= 2 {
        true
    } else {
        !local.is_empty() && local.split('.').all(|p| !p.is_empty() && p.chars().all(atext))
    };
    let domain_ok = !domain.is_empty() && domain.split('.').all(|p| !p.is_empty() && p.chars().all(atext));
    local_ok && domain_ok
}

fn is_mac(s: &str) -> bool {
    // net.ParseMAC: 6, 8 or 20 octets as xx:xx.., xx-xx.. or xxxx.xxxx..
    let octets = |sep: char| -> Option<usize> {
        let parts: Vec<&str> = s.split(sep).collect();
        parts.iter().all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit())).then_some(parts.len())
    };
    let n = if s.len() >= 14 && s.as_bytes().get(4) == Some(&b'.') {
        let parts: Vec<&str> = s.split('.').collect();
        parts
            .iter()
            .all(|p| p.len() == 4 && p.chars().all(|c| c.is_ascii_hexdigit()))
            .then_some(parts.len() * 2)
    } else if s.contains(':') {
        octets(':')
    } else {
        octets('-')
    };
    matches!(n, Some(6 | 8 | 20))
}

fn is_isbn10(s: &str) -> bool {
    let d: Vec<char> = s.chars().filter(|c| *c != '-' && *c != ' ').collect();
    if d.len() != 10 {
        return false;
    }
    let mut sum = 0;
    for (i, c) in d.iter().enumerate() {
        let v = match c {
            '0'..='9' => *c as u32 - '0' as u32,
            'X' if i == 9 => 10,
            _ => return false,
        };
        sum += (i as u32 + 1) * v;
    }
    sum % 11 == 0
}

fn is_isbn13(s: &str) -> bool {
    let d: Vec<u32> =
        s.chars().filter(|c| *c != '-' && *c != ' ').map(|c| c.to_digit(10).unwrap_or(99)).collect();
    if d.len() != 13 || d.iter().any(|v| *v > 9) {
        return false;
    }
    let sum: u32 = d[..12].iter().enumerate().map(|(i, v)| if i % 2 == 0 { *v } else { v * 3 }).sum();
    (10 - sum % 10) % 10 == d[12]
}

fn is_credit_card(s: &str) -> bool {
    static RX: OnceLock<regex::Regex> = OnceLock::new();
    let rx = re(
        &RX,
        r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)[0-9]{12}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11}|6[27][0-9]{14})$",
    );
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if !rx.is_match(&digits) {
        return false;
    }
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let mut v = c.to_digit(10).unwrap_or(0);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

fn is_request_uri(s: &str) -> bool {
    // url.ParseRequestURI: an absolute URI or an absolute path, no fragment handling.
    if s.starts_with('/') {
        return !s.contains(' ');
    }
    let Some((scheme, _)) = s.split_once(':') else { return false };
    !scheme.is_empty()
        && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !s.contains(' ')
}

fn is_duration(s: &str) -> bool {
    if go_duration(s) {
        return true;
    }
    static RX: OnceLock<regex::Regex> = OnceLock::new();
    let rx = re(&RX, r"(([0-9]+)\s*([A-Za-zµ]+))");
    let units: [&[&str]; 8] = [
        &["ns", "nano"],
        &["us", "µs", "micro"],
        &["ms", "milli"],
        &["s", "sec"],
        &["m", "min"],
        &["h", "hr", "hour"],
        &["d", "day"],
        &["w", "wk", "week"],
    ];
    rx.captures_iter(s).any(|c| {
        let unit = c.get(3).map(|m| m.as_str().trim().to_lowercase()).unwrap_or_default();
        units.iter().any(|vs| {
            vs.iter()
                .enumerate()
                .any(|(i, v)| (i == vs.len() - 1 && unit.starts_with(v)) || unit.eq_ignore_ascii_case(v))
        })
    })
}

/// `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or `0`.
fn go_duration(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    if s.is_empty() {
        return false;
    }
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return false;
        }
        rest = &rest[num_len..];
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .iter()
            .find(|u| rest.starts_with(**u) && !rest[u.len()..].starts_with(|c: char| c.is_alphabetic()));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

fn is_date(s: &str) -> bool {
    s.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn is_date_time(s: &str) -> bool {
    static RX: OnceLock<regex::Regex> = OnceLock::new();
    let rx = re(&RX, r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$");
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let parts: Vec<&str> = lower.split('t').collect();
    if parts.len() < 2 || !is_date(parts[0]) {
        return false;
    }
    match rx.captures(parts[1]) {
        Some(c) => {
            let g = |i| c.get(i).map(|m| m.as_str()).unwrap_or_default();
            g(1) <= "23" && g(2) <= "59" && g(3) <= "59"
        }
        None => false,
    }
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else { return false };
    let Ok(bits) = bits.parse::<u8>() else { return false };
    match parse_ip_sloppy(ip) {
        Some(IpAddr::V4(_)) => bits <= 32,
        Some(IpAddr::V6(_)) => bits <= 128,
        None => false,
    }
}

/// `netutils.ParseIPSloppy`: leading zeros allowed in IPv4 octets.
fn parse_ip_sloppy(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<Ipv6Addr>() {
        return Some(IpAddr::V6(ip));
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 3 || !p.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        octets[i] = p.parse().ok()?;
    }
    Some(IpAddr::V4(Ipv4Addr::from(octets)))
}

fn is_rgb_color(s: &str) -> bool {
    static RX: OnceLock<regex::Regex> = OnceLock::new();
    re(&RX, r"^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$").is_match(s)
}

fn is_name(s: &str, max: usize, dots: bool) -> bool {
    let label = |p: &str| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !p.starts_with('-')
            && !p.ends_with('-')
    };
    s.len() <= max && if dots { s.split('.').all(label) } else { label(s) }
}

/// Whether `s` is valid in `format` (a format [`known`] accepts).
pub fn validates(format: &str, s: &str) -> bool {
    match format.replace('-', "").as_str() {
        "uri" => is_request_uri(s),
        "email" => is_email(s),
        "hostname" => is_hostname(s),
        "ipv4" => matches!(parse_ip_sloppy(s), Some(IpAddr::V4(_))) && s.contains('.'),
        "ipv6" => s.parse::<Ipv6Addr>().is_ok(),
        "cidr" => is_cidr(s),
        "mac" => is_mac(s),
        "uuid" => is_uuid(s, None),
        "uuid3" => is_uuid(s, Some('3')),
        "uuid4" => is_uuid(s, Some('4')),
        "uuid5" => is_uuid(s, Some('5')),
        "isbn" => is_isbn10(s) || is_isbn13(s),
        "isbn10" => is_isbn10(s),
        "isbn13" => is_isbn13(s),
        "creditcard" => is_credit_card(s),
        "ssn" => {
            static RX: OnceLock<regex::Regex> = OnceLock::new();
            re(&RX, r"^\d{3}[- ]?\d{2}[- ]?\d{4}$").is_match(s)
        }
        "hexcolor" => {
            static RX: OnceLock<regex::Regex> = OnceLock::new();
            re(&RX, r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$").is_match(s)
        }
        "rgbcolor" => is_rgb_color(s),
        "byte" => base64::engine::general_purpose::STANDARD.decode(s).is_ok(),
        "password" => true,
        "date" => is_date(s),
        "datetime" => is_date_time(s),
        "duration" => is_duration(s),
        "bsonobjectid" => s.len() == 24 && s.chars().all(|c| c.is_ascii_hexdigit()),
        "k8sshortname" => is_name(s, 63, false),
        "k8slongname" => is_name(s, 253, true),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_check_as_strfmt() {
        for (f, ok, bad) in [
            ("email", "a.b@example.com", "not-an-email"),
            ("hostname", "example.com", "-bad-.com"),
            ("ipv4", "10.0.0.1", "10.0.0"),
            ("ipv6", "::1", "1.2.3.4"),
            ("cidr", "10.0.0.0/8", "10.0.0.0/33"),
            ("mac", "01:23:45:67:89:ab", "01:23:45"),
            ("uuid", "123e4567-e89b-12d3-a456-426614174000", "123e4567"),
            ("uuid4", "123e4567-e89b-42d3-a456-426614174000", "123e4567-e89b-12d3-a456-426614174000"),
            ("byte", "aGVsbG8=", "!!"),
            ("date", "2024-02-29", "2023-02-29"),
            ("date-time", "2024-01-02T15:04:05Z", "2024-01-02 15:04:05"),
            ("duration", "1h30m", "forever"),
            ("uri", "https://example.com/x", "example"),
            ("isbn10", "0321751043", "0321751044"),
            ("isbn13", "978-0321751041", "978-0321751042"),
            ("hexcolor", "#FFF", "FFFF"),
            ("rgbcolor", "rgb(1, 2, 255)", "rgb(1,2,256)"),
            ("k8s-short-name", "my-name", "My-Name"),
            ("k8s-long-name", "a.b-c", "a..b"),
            ("bsonobjectid", "507f1f77bcf86cd799439011", "507f1f77"),
        ] {
            assert!(validates(f, ok), "{f} {ok}");
            assert!(!validates(f, bad), "{f} {bad}");
        }
        assert!(validates("duration", "5 minutes"));
    }

    #[test]
    fn unsupported_formats_are_stripped() {
        assert_eq!(effective_format(&["string"], "date-time"), "date-time");
        assert_eq!(effective_format(&["string"], "int-or-string"), "");
        assert_eq!(effective_format(&["integer"], "int32"), "int32");
        assert_eq!(effective_format(&["integer"], "uint64"), "");
        assert_eq!(effective_format(&["number"], "double"), "double");
        assert_eq!(effective_format(&["boolean"], "x"), "");
        assert_eq!(effective_format(&["integer", "string"], "email"), "email");
    }
}
