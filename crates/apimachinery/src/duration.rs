//! Durations as kube reads and prints them: `k8s.io/apimachinery/pkg/util/duration` (how
//! ages print in tables, `5m`, `3d4h`) and Go's `time.ParseDuration` (the `?timeout=` of a
//! request), checked: a value past Go's `Duration` range is an error, never a panic.

/// kube's `duration.HumanDuration` of a number of seconds.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    let s = secs;
    let (m, h) = (s / 60, s / 3600);
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        if s % 60 == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{}s", s % 60)
        }
    } else if h < 3 {
        format!("{m}m")
    } else if h < 8 {
        if m % 60 == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{}m", m % 60)
        }
    } else if h < 48 {
        format!("{h}h")
    } else if h < 24 * 8 {
        if h % 24 == 0 {
            format!("{}d", h / 24)
        } else {
            format!("{}d{}h", h / 24, h % 24)
        }
    } else if h < 24 * 365 * 2 {
        format!("{}d", h / 24)
    } else if h < 24 * 365 * 8 {
        let d = h / 24;
        if d % 365 == 0 {
            format!("{}y", d / 365)
        } else {
            format!("{}y{}d", d / 365, d % 365)
        }
    } else {
        format!("{}y", h / 24 / 365)
    }
}

/// Go's `time.Duration`: signed nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoDuration(pub i64);

impl GoDuration {
    /// The duration as a `std` one; `None` when negative.
    pub fn to_std(self) -> Option<std::time::Duration> {
        u64::try_from(self.0).ok().map(std::time::Duration::from_nanos)
    }
}

/// Go's `time.ParseDuration`, with its error texts (`time: invalid duration "x"`, `time:
/// missing unit in duration "x"`, `time: unknown unit "d" in duration "1d"`): a sign, then one
/// or more decimal numbers each with a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`).
/// Every step is checked: a value outside Go's range (about 292 years) is Go's overflow error.
pub fn parse_go_duration(text: &str) -> Result<GoDuration, String> {
    let invalid = || format!("time: invalid duration {}", time_quote(text));
    let mut s = text;
    let mut neg = false;
    if let Some(c) = s.chars().next() {
        if c == '-' || c == '+' {
            neg = c == '-';
            s = &s[1..];
        }
    }
    if s == "0" {
        return Ok(GoDuration(0));
    }
    if s.is_empty() {
        return Err(invalid());
    }
    const LIMIT: u64 = 1 << 63;
    let mut total: u64 = 0;
    while !s.is_empty() {
        let first = s.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        // The integer part: Go's leadingInt refuses more than 63 bits.
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let mut whole: u64 = 0;
        for b in s[..digits].bytes() {
            if whole > LIMIT / 10 {
                return Err(invalid());
            }
            whole = whole * 10 + u64::from(b - b'0');
            if whole > LIMIT {
                return Err(invalid());
            }
        }
        s = &s[digits..];
        // The fraction: digits past what fits are ignored, as Go's leadingFraction does.
        let (mut frac, mut scale, mut frac_digits) = (0u64, 1f64, 0usize);
        if let Some(rest) = s.strip_prefix('.') {
            s = rest;
            frac_digits = s.bytes().take_while(u8::is_ascii_digit).count();
            let mut overflow = false;
            for b in s[..frac_digits].bytes() {
                if overflow {
                    continue;
                }
                if frac > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let next = frac * 10 + u64::from(b - b'0');
                if next > LIMIT {
                    overflow = true;
                    continue;
                }
                frac = next;
                scale *= 10.0;
            }
            s = &s[frac_digits..];
        }
        if digits == 0 && frac_digits == 0 {
            return Err(invalid());
        }
        let unit_len = s.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(s.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", time_quote(text)));
        }
        let unit_text = &s[..unit_len];
        s = &s[unit_len..];
        let unit: u64 = match unit_text {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3600 * 1_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    time_quote(unit_text),
                    time_quote(text)
                ))
            }
        };
        if whole > LIMIT / unit {
            return Err(invalid());
        }
        let mut v = whole * unit;
        if frac > 0 {
            // At most 3.6e12 (one hour in nanoseconds): the cast cannot overflow.
            v += (frac as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(invalid());
            }
        }
        total = total.checked_add(v).filter(|t| *t <= LIMIT).ok_or_else(invalid)?;
    }
    if neg {
        // -(1<<63) is i64::MIN, the one negative value with no positive twin.
        return Ok(GoDuration(0i64.wrapping_sub_unsigned(total)));
    }
    i64::try_from(total).map(GoDuration).map_err(|_| invalid())
}

/// The `time` package's own quoting in its errors: `"` and `\` escaped, bytes of non-ASCII
/// and control characters as `\xHH`.
fn time_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c.is_ascii() && c >= ' ' {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod go_duration_tests {
    use super::*;

    fn ns(s: &str) -> Result<i64, String> {
        parse_go_duration(s).map(|d| d.0)
    }

    #[test]
    fn parses_what_go_parses() {
        assert_eq!(ns("0"), Ok(0));
        assert_eq!(ns("-0"), Ok(0));
        assert_eq!(ns("32s"), Ok(32_000_000_000));
        assert_eq!(ns("1m30s"), Ok(90_000_000_000));
        assert_eq!(ns("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(ns("500ms"), Ok(500_000_000));
        assert_eq!(ns(".5s"), Ok(500_000_000));
        assert_eq!(ns("1µs"), Ok(1_000));
        assert_eq!(ns("-1.5s"), Ok(-1_500_000_000));
        assert_eq!(ns("2562047h47m16.854775807s"), Ok(i64::MAX));
        assert_eq!(ns("-2562047h47m16.854775808s"), Ok(i64::MIN));
        assert_eq!(ns("1.00000000000000000000000000000001s"), Ok(1_000_000_000));
    }

    #[test]
    fn refuses_what_go_refuses_with_its_text() {
        assert_eq!(
            ns("99999999999999999999h"),
            Err("time: invalid duration \"99999999999999999999h\"".into())
        );
        assert_eq!(ns("2562048h"), Err("time: invalid duration \"2562048h\"".into()));
        assert_eq!(
            ns("2562047h47m16.854775808s"),
            Err("time: invalid duration \"2562047h47m16.854775808s\"".into())
        );
        assert_eq!(
            ns("9223372036854775807ns1ns"),
            Err("time: invalid duration \"9223372036854775807ns1ns\"".into())
        );
        assert_eq!(ns("10"), Err("time: missing unit in duration \"10\"".into()));
        assert_eq!(ns("1d"), Err("time: unknown unit \"d\" in duration \"1d\"".into()));
        assert_eq!(ns(""), Err("time: invalid duration \"\"".into()));
        assert_eq!(ns("-"), Err("time: invalid duration \"-\"".into()));
        assert_eq!(ns(".s"), Err("time: invalid duration \".s\"".into()));
        assert_eq!(ns("s"), Err("time: invalid duration \"s\"".into()));
        assert_eq!(ns("1é"), Err("time: unknown unit \"\\xc3\\xa9\" in duration \"1\\xc3\\xa9\"".into()));
        assert!(ns("1h\u{0}").is_err());
    }
}
