//! Durations as text: Go's `time.ParseDuration` syntax (how a `format: duration` field
//! is written) and CEL's `string(duration)` form (`"3600s"`).

use chrono::Duration;

/// Parses `[-+]?(<number><unit>)+` with units `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`
/// (`"0"` alone is zero). `None` when malformed or out of range.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(Duration::zero());
    }
    if rest.is_empty() {
        return None;
    }
    let mut total_nanos: i128 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest.get(..digits)?.parse().ok()?;
        rest = rest.get(digits..)?;
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale: f64 = match rest.get(..unit_len)? {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = rest.get(unit_len..)?;
        let nanos = number * scale;
        if !nanos.is_finite() || nanos > i64::MAX as f64 {
            return None;
        }
        total_nanos = total_nanos.checked_add(nanos as i128)?;
    }
    let nanos = i64::try_from(if negative { -total_nanos } else { total_nanos }).ok()?;
    Some(Duration::nanoseconds(nanos))
}

/// CEL's text of a duration: seconds, with up to nine fractional digits (`"1.5s"`).
pub fn format_cel_duration(d: Duration) -> String {
    let nanos = d.num_nanoseconds().map(i128::from).unwrap_or(i128::from(d.num_seconds()) * 1_000_000_000);
    let sign = if nanos < 0 { "-" } else { "" };
    let nanos = nanos.unsigned_abs();
    let (secs, frac) = (nanos / 1_000_000_000, nanos % 1_000_000_000);
    if frac == 0 {
        format!("{sign}{secs}s")
    } else {
        let frac = format!("{frac:09}");
        format!("{sign}{secs}.{}s", frac.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1h30m"), Some(Duration::minutes(90)));
        assert_eq!(parse_go_duration("-1.5s"), Some(Duration::milliseconds(-1500)));
        assert_eq!(parse_go_duration("0"), Some(Duration::zero()));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("1d"), None);
        assert_eq!(parse_go_duration(""), None);
        assert_eq!(format_cel_duration(Duration::hours(1)), "3600s");
        assert_eq!(format_cel_duration(Duration::milliseconds(-1500)), "-1.5s");
    }
}
