//! Process memory and CPU time from /proc.

use crate::BenchError;

/// Resident set size of `pid` in KiB (VmRSS in /proc/PID/status).
pub fn rss_kib(pid: u32) -> Result<u64, BenchError> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::file(&path, e))?;
    parse_vmrss(&text).ok_or_else(|| BenchError::Decode { what: path, detail: "no VmRSS line".into() })
}

/// CPU time `pid` has used so far (user + system, all threads), from /proc/PID/stat.
pub fn cpu_time(pid: u32) -> Result<std::time::Duration, BenchError> {
    // Linux reports these in USER_HZ, 100 per second on every architecture it exposes.
    cpu_ticks(pid).map(|ticks| std::time::Duration::from_millis(ticks * 10))
}

/// CPU time `pid` has used so far (user + system), in clock ticks (`getconf CLK_TCK`).
pub fn cpu_ticks(pid: u32) -> Result<u64, BenchError> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::file(&path, e))?;
    parse_cpu_ticks(&text).ok_or_else(|| BenchError::Decode { what: path, detail: "no utime/stime".into() })
}

/// utime and stime are fields 14 and 15; the command name (field 2) may hold spaces and
/// parentheses, so the fields are counted after its last closing parenthesis.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

fn parse_vmrss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vmrss() {
        assert_eq!(parse_vmrss("Name:\tx\nVmRSS:\t  12345 kB\nVmSwap: 0 kB\n"), Some(12345));
        assert_eq!(parse_vmrss("Name:\tx\n"), None);
    }

    #[test]
    fn parses_cpu_ticks() {
        let stat = "42 (a) b) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 3 0 100 1000 200";
        assert_eq!(parse_cpu_ticks(stat), Some(280));
        let stat = "123 (kube ward) S 1 2 3 4 5 6 7 8 9 10 250 40 0 0 20 0 1 0";
        assert_eq!(parse_cpu_ticks(stat), Some(290));
        assert_eq!(parse_cpu_ticks("42 (x) S 1"), None);
    }

    #[test]
    fn own_cpu_time_grows() {
        let before = cpu_time(std::process::id()).unwrap();
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < std::time::Duration::from_millis(60) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(cpu_time(std::process::id()).unwrap() > before);
    }

    #[test]
    fn own_rss_is_positive() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
    }
}
