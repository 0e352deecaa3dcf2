//! Instruction counts of a server running under valgrind's callgrind: the counters are zeroed
//! and dumped from outside (`callgrind_control -z` / `-d`, valgrind's vgdb underneath, which
//! wakes a process blocked in a system call), and each dump's `summary:` line is the number of
//! guest instructions (Ir) all its threads executed since the counters were last zeroed.
//!
//! The server is started by `bench/run` as `valgrind --tool=callgrind
//! --callgrind-out-file=PREFIX ...`; callgrind writes dump `n` to `PREFIX.n`.

use crate::BenchError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Sends one `callgrind_control` command (`-z`, `-d`) to the callgrind process `pid` and
/// waits for it to be done.
fn control(flag: &str, pid: u32) -> Result<(), BenchError> {
    let out = Command::new("callgrind_control")
        .args([flag, &pid.to_string()])
        .output()
        .map_err(|e| BenchError::file("callgrind_control", e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !text.contains("OK") {
        return Err(BenchError::Decode {
            what: format!("callgrind_control {flag} {pid}"),
            detail: format!("{}{}", text.trim(), String::from_utf8_lossy(&out.stderr).trim()),
        });
    }
    Ok(())
}

/// Zeroes the counters of `pid`.
pub fn zero(pid: u32) -> Result<(), BenchError> {
    control("-z", pid)
}

/// Dumps the counters of `pid` (callgrind zeroes them after a dump), reads the instructions
/// executed since the last zero or dump from the new dump file, and returns them with the
/// dump's path.
pub fn dump(pid: u32, prefix: &str) -> Result<(u64, PathBuf), BenchError> {
    let before = latest_dump(prefix)?.map_or(0, |(n, _)| n);
    control("-d", pid)?;
    let (n, path) = latest_dump(prefix)?
        .filter(|(n, _)| *n > before)
        .ok_or_else(|| BenchError::Decode { what: format!("{prefix}.*"), detail: "no new dump".into() })?;
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::file(&path.to_string_lossy(), e))?;
    let ir = summary_ir(&text).ok_or_else(|| BenchError::Decode {
        what: format!("callgrind dump {n} ({})", path.display()),
        detail: "no `events:` with Ir and `summary:` line".into(),
    })?;
    Ok((ir, path))
}

/// The highest-numbered dump `PREFIX.n` and its path.
fn latest_dump(prefix: &str) -> Result<Option<(u64, PathBuf)>, BenchError> {
    let prefix = Path::new(prefix);
    let dir = prefix.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = prefix.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let entries = std::fs::read_dir(dir).map_err(|e| BenchError::file(&dir.to_string_lossy(), e))?;
    Ok(entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            dump_number(&name, &file).map(|n| (n, e.path()))
        })
        .max_by_key(|(n, _)| *n))
}

/// `n` when `file` is `NAME.n`.
fn dump_number(name: &str, file: &str) -> Option<u64> {
    file.strip_prefix(name)?.strip_prefix('.')?.parse().ok()
}

/// The Ir of a callgrind dump: the `summary:` line's value in the column `events:` gives Ir.
pub fn summary_ir(dump: &str) -> Option<u64> {
    let mut events: Option<Vec<&str>> = None;
    for line in dump.lines() {
        if let Some(rest) = line.strip_prefix("events:") {
            events = Some(rest.split_whitespace().collect());
        } else if let Some(rest) = line.strip_prefix("summary:") {
            let at = events.as_ref()?.iter().position(|e| *e == "Ir")?;
            return rest.split_whitespace().nth(at)?.parse().ok();
        }
    }
    None
}

/// Instructions per request from runs of `n` requests each on the same server over connections
/// opened and warmed before them: the median run over `n`. The runs hold no handshake or
/// teardown; what they pay besides their requests is the server's background work while they
/// ran (timers, controllers), which comes in bursts that only add: the median run leaves a
/// burst out. (Measured on this machine, the difference of a run of `2n` and one of `n`, meant
/// to remove fixed costs, had twice the spread of either run alone, and pooling the runs kept
/// the bursts.) `None` when no run counted anything.
pub fn per_request(runs: &[u64], n: u64) -> Option<f64> {
    let mut runs: Vec<u64> = runs.iter().copied().filter(|ir| *ir > 0).collect();
    if n == 0 || runs.is_empty() {
        return None;
    }
    runs.sort_unstable();
    let k = runs.len();
    let median = if k % 2 == 1 { runs[k / 2] as f64 } else { (runs[k / 2 - 1] + runs[k / 2]) as f64 / 2.0 };
    Some(median / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\npid: 13671\n\
        cmd:  python3 -c\npart: 1\n\ndesc: Timerange: Basic block 4421572 - 8843144\n\
        positions: line\nevents: Ir\nsummary: 9779720\n\n\nfn=(1) main\n0 12\n\ntotals: 9865759\n";

    #[test]
    fn the_summary_line_is_the_dump_s_instructions() {
        assert_eq!(summary_ir(DUMP), Some(9_779_720));
        // With more events the Ir column is found by name.
        assert_eq!(summary_ir("events: Bc Ir Bi\nsummary: 5 77 9\n"), Some(77));
        assert_eq!(summary_ir("events: Bc\nsummary: 5\n"), None);
        assert_eq!(summary_ir("summary: 5\n"), None, "no events line");
        assert_eq!(summary_ir("events: Ir\n"), None);
        assert_eq!(summary_ir("events: Ir\nsummary: x\n"), None);
    }

    #[test]
    fn dumps_are_numbered_after_the_prefix() {
        assert_eq!(dump_number("cg-audit-on.out", "cg-audit-on.out.12"), Some(12));
        assert_eq!(dump_number("cg-audit-on.out", "cg-audit-on.out"), None, "the final dump");
        assert_eq!(dump_number("cg-a.out", "cg-a.out.x"), None);
        assert_eq!(dump_number("cg-a.out", "cg-ab.out.1"), None);
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("cg.out");
        for n in [1, 3, 2] {
            std::fs::write(dir.path().join(format!("cg.out.{n}")), DUMP).unwrap();
        }
        std::fs::write(dir.path().join("cg.out"), DUMP).unwrap();
        let (n, path) = latest_dump(&prefix.to_string_lossy()).unwrap().unwrap();
        assert_eq!((n, path), (3, dir.path().join("cg.out.3")));
    }

    #[test]
    fn per_request_is_the_median_run() {
        // A burst of background work in one run is left out.
        assert_eq!(
            per_request(&[78_000_000, 80_500_000, 78_100_000, 77_900_000, 78_050_000], 1000),
            Some(78_050.0)
        );
        assert_eq!(per_request(&[2_000, 1_000, 3_000, 4_000], 10), Some(250.0));
        assert_eq!(per_request(&[0, 0], 1000), None, "runs that counted nothing");
        assert_eq!(per_request(&[5], 0), None);
    }
}
