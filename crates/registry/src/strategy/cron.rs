//! CronJob schedules, checked as kube checks them: `cron.ParseStandard` of
//! github.com/robfig/cron/v3 (five fields or a descriptor), with that parser's error texts,
//! which kube puts in the `spec.schedule` cause.

/// `(min, max, names)` of the five standard fields: minute, hour, day of month, month, day of week.
type Field = (u32, u32, &'static [(&'static str, u32)]);

const FIELDS: [Field; 5] = [
    (0, 59, &[]),
    (0, 23, &[]),
    (1, 31, &[]),
    (
        1,
        12,
        &[
            ("jan", 1),
            ("feb", 2),
            ("mar", 3),
            ("apr", 4),
            ("may", 5),
            ("jun", 6),
            ("jul", 7),
            ("aug", 8),
            ("sep", 9),
            ("oct", 10),
            ("nov", 11),
            ("dec", 12),
        ],
    ),
    (0, 6, &[("sun", 0), ("mon", 1), ("tue", 2), ("wed", 3), ("thu", 4), ("fri", 5), ("sat", 6)]),
];

/// The parse error of `ParseStandard(spec)`, or `None` when the schedule parses.
pub(crate) fn parse_error(spec: &str) -> Option<String> {
    if spec.is_empty() {
        return Some("empty spec string".into());
    }
    let mut spec = spec;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        // The location is loaded by name; kube refuses TZ in the schedule anyway.
        let Some(i) = spec.find(' ') else {
            return Some(format!("invalid timezone specification: {spec}"));
        };
        spec = spec[i..].trim();
    }
    if spec.starts_with('@') {
        return descriptor_error(spec);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Some(format!("expected exactly 5 fields, found {}: [{}]", fields.len(), fields.join(" ")));
    }
    for (field, (min, max, names)) in fields.iter().zip(FIELDS) {
        for expr in field.split(',').filter(|e| !e.is_empty()) {
            if let Err(e) = range(expr, min, max, names) {
                return Some(e);
            }
        }
    }
    None
}

fn descriptor_error(spec: &str) -> Option<String> {
    match spec {
        "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight" | "@hourly" => None,
        _ => match spec.strip_prefix("@every ") {
            Some(d) => go_duration_error(d).map(|e| format!("failed to parse duration {spec}: {e}")),
            None => Some(format!("unrecognized descriptor: {spec}")),
        },
    }
}

/// `number | number "-" number [ "/" number ]`, or `*`/`?` with an optional step.
fn range(expr: &str, min: u32, max: u32, names: &[(&str, u32)]) -> Result<(), String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let (start, mut end) = if low_and_high[0] == "*" || low_and_high[0] == "?" {
        (min as u64, max as u64)
    } else {
        let start = int_or_name(low_and_high[0], names)?;
        match low_and_high.len() {
            1 => (start, start),
            2 => (start, int_or_name(low_and_high[1], names)?),
            _ => return Err(format!("too many hyphens: {expr}")),
        }
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = parse_uint(range_and_step[1])?;
            if low_and_high.len() == 1 {
                end = max as u64;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < min as u64 {
        return Err(format!("beginning of range ({start}) below minimum ({min}): {expr}"));
    }
    if end > max as u64 {
        return Err(format!("end of range ({end}) above maximum ({max}): {expr}"));
    }
    if start > end {
        return Err(format!("beginning of range ({start}) beyond end of range ({end}): {expr}"));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

fn int_or_name(expr: &str, names: &[(&str, u32)]) -> Result<u64, String> {
    let lower = expr.to_ascii_lowercase();
    match names.iter().find(|(n, _)| *n == lower) {
        Some((_, v)) => Ok(*v as u64),
        None => parse_uint(expr),
    }
}

/// `mustParseInt`: Go's `strconv.Atoi`, then no negatives.
fn parse_uint(expr: &str) -> Result<u64, String> {
    let atoi = |why: &str| {
        format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {}: {why}",
            apimachinery::quote::go_quote(expr)
        )
    };
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(atoi("invalid syntax"));
    }
    let n: i64 = expr.parse().map_err(|_| atoi("value out of range"))?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    Ok(n as u64)
}

/// The error of Go's `time.ParseDuration`, or `None` when `s` is a duration.
fn go_duration_error(s: &str) -> Option<String> {
    let quoted = apimachinery::quote::go_quote(s);
    let rest = s.strip_prefix(['+', '-']).unwrap_or(s);
    if rest == "0" {
        return None;
    }
    if rest.is_empty() {
        return Some(format!("time: invalid duration {quoted}"));
    }
    let mut chars = rest.chars().peekable();
    while chars.peek().is_some() {
        let mut number = String::new();
        while let Some(c) = chars.peek().filter(|c| c.is_ascii_digit() || **c == '.') {
            number.push(*c);
            chars.next();
        }
        if number.is_empty() || number == "." {
            return Some(format!("time: invalid duration {quoted}"));
        }
        let mut unit = String::new();
        while let Some(c) = chars.peek().filter(|c| !c.is_ascii_digit() && **c != '.') {
            unit.push(*c);
            chars.next();
        }
        if unit.is_empty() {
            return Some(format!("time: missing unit in duration {quoted}"));
        }
        if !["ns", "us", "µs", "μs", "ms", "s", "m", "h"].contains(&unit.as_str()) {
            return Some(format!(
                "time: unknown unit {} in duration {quoted}",
                apimachinery::quote::go_quote(&unit)
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_schedules_parse() {
        for ok in [
            "*/5 * * * *",
            "0 0 1 jan-dec mon-fri",
            "@hourly",
            "@every 1h30m",
            "15 2,14 * * ?",
            "0-59/15 * * * *",
        ] {
            assert_eq!(parse_error(ok), None, "{ok}");
        }
    }

    #[test]
    fn errors_read_as_robfig_cron_v3() {
        assert_eq!(
            parse_error("not a schedule").as_deref(),
            Some("expected exactly 5 fields, found 3: [not a schedule]")
        );
        assert_eq!(parse_error("61 * * * *").as_deref(), Some("end of range (61) above maximum (59): 61"));
        assert_eq!(parse_error("0 0 0 * *").as_deref(), Some("beginning of range (0) below minimum (1): 0"));
        assert_eq!(
            parse_error("x * * * *").as_deref(),
            Some(r#"failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax"#)
        );
        assert_eq!(
            parse_error("*/0 * * * *").as_deref(),
            Some("step of range should be a positive number: */0")
        );
        assert_eq!(
            parse_error("5-1 * * * *").as_deref(),
            Some("beginning of range (5) beyond end of range (1): 5-1")
        );
        assert_eq!(parse_error("@sometimes").as_deref(), Some("unrecognized descriptor: @sometimes"));
        assert_eq!(
            parse_error("@every 1d").as_deref(),
            Some(r#"failed to parse duration @every 1d: time: unknown unit "d" in duration "1d""#)
        );
    }
}
