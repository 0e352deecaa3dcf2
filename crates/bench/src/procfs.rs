//! Process memory from /proc.

use crate::BenchError;

/// Resident set size of `pid` in KiB (VmRSS in /proc/PID/status).
pub fn rss_kib(pid: u32) -> Result<u64, BenchError> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::file(&path, e))?;
    parse_vmrss(&text).ok_or_else(|| BenchError::Decode { what: path, detail: "no VmRSS line".into() })
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
    fn own_rss_is_positive() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
    }
}
