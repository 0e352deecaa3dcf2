//! The stable driver: a target run over its seeds, then over mutants of them (and of recent
//! mutants, so mutations stack) until its time budget is spent. Every panic is caught, told
//! apart by where it happened, and its input written to the crash directory; the report says
//! how many inputs ran and how long the slowest took.
//!
//! Without coverage feedback this finds less than libFuzzer per execution; it needs nothing
//! but stable Rust, so it is what CI runs (`tests/smoke.rs`).

use crate::mutate::Mutator;
use crate::targets::Target;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

/// How a run goes.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long mutants are run after the seeds.
    pub budget: Duration,
    /// The mutator's seed (printed by the callers, so a run can be repeated).
    pub seed: u64,
    /// The longest input made.
    pub max_len: usize,
    /// Where crashing inputs are written (`<dir>/<target>/crash-<hash>`); none: not written.
    pub crash_dir: Option<PathBuf>,
    /// The run stops after this many distinct crashes.
    pub max_crashes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self { budget: Duration::from_secs(2), seed: 1, max_len: 16 * 1024, crash_dir: None, max_crashes: 8 }
    }
}

/// One input that made the target panic.
#[derive(Clone, Debug)]
pub struct Crash {
    /// The panic's message and where it was raised.
    pub message: String,
    pub input: Vec<u8>,
    /// Where the input was written.
    pub file: Option<PathBuf>,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct Report {
    pub target: &'static str,
    /// Inputs run, seeds included.
    pub execs: u64,
    pub seeds: usize,
    pub elapsed: Duration,
    /// Distinct panics (by where they were raised).
    pub crashes: Vec<Crash>,
    /// The longest single execution and its input's length.
    pub slowest: (Duration, usize),
}

impl Report {
    pub fn summary(&self) -> String {
        format!(
            "{}: {} execs ({} seeds) in {:.1}s, {} crash(es), slowest {:.0} ms ({} bytes)",
            self.target,
            self.execs,
            self.seeds,
            self.elapsed.as_secs_f64(),
            self.crashes.len(),
            self.slowest.0.as_secs_f64() * 1000.0,
            self.slowest.1,
        )
    }
}

/// The seeds of a target: every file of `dir`, in name order (none when it is missing).
pub fn load_corpus(dir: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    files.sort();
    files.iter().map(std::fs::read).collect()
}

thread_local! {
    /// Set while a target runs on this thread: its panics are recorded, not printed.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once, a panic hook that records the panics of fuzzed calls and leaves every
/// other panic to the hook that was there.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) {
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message} at {at}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs the target once; the panic's message when it panicked.
pub fn execute(target: &Target, input: &[u8]) -> Option<String> {
    install_hook();
    CATCHING.with(|c| c.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    CATCHING.with(|c| c.set(false));
    match result {
        Ok(()) => None,
        Err(_) => Some(LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| "panic".into())),
    }
}

/// FNV-1a, to name crash files.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Runs `target` over `seeds`, then over mutants until the budget is spent or
/// `max_crashes` distinct panics were seen.
pub fn run(target: &Target, seeds: &[Vec<u8>], opts: &Options) -> Report {
    let start = Instant::now();
    let mut report = Report {
        target: target.name,
        execs: 0,
        seeds: seeds.len(),
        elapsed: Duration::ZERO,
        crashes: Vec::new(),
        slowest: (Duration::ZERO, 0),
    };
    let one = |input: &[u8], report: &mut Report| {
        let t = Instant::now();
        let panicked = execute(target, input);
        let took = t.elapsed();
        report.execs += 1;
        if took > report.slowest.0 {
            report.slowest = (took, input.len());
        }
        if let Some(message) = panicked {
            let place = message.rsplit(" at ").next().unwrap_or_default().to_string();
            if !report.crashes.iter().any(|c| c.message.ends_with(&place)) {
                let file = opts.crash_dir.as_ref().and_then(|dir| save(dir, target.name, input));
                report.crashes.push(Crash { message, input: input.to_vec(), file });
            }
        }
    };
    for seed in seeds {
        one(seed, &mut report);
    }
    let fallback = vec![Vec::new()];
    let pool_seeds = if seeds.is_empty() { &fallback } else { seeds };
    let mut mutator = Mutator::new(opts.seed, target.dict, opts.max_len);
    // Recent mutants: mutating them again reaches inputs several edits from any seed.
    let mut recent: Vec<Vec<u8>> = Vec::with_capacity(64);
    while start.elapsed() < opts.budget && report.crashes.len() < opts.max_crashes {
        let base = if recent.is_empty() || mutator.rng.chance(2) {
            pool_seeds.get(mutator.rng.below(pool_seeds.len())).cloned().unwrap_or_default()
        } else {
            recent.get(mutator.rng.below(recent.len())).cloned().unwrap_or_default()
        };
        let mut input = base;
        mutator.mutate(&mut input, pool_seeds);
        one(&input, &mut report);
        if recent.len() < 64 {
            recent.push(input);
        } else {
            let k = mutator.rng.below(recent.len());
            if let Some(slot) = recent.get_mut(k) {
                *slot = input;
            }
        }
    }
    report.elapsed = start.elapsed();
    report
}

fn save(dir: &Path, target: &str, input: &[u8]) -> Option<PathBuf> {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(format!("crash-{:016x}", fnv(input)));
    std::fs::write(&path, input).ok()?;
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boom(data: &[u8]) {
        if data.windows(3).any(|w| w == b"bad") {
            panic!("found bad input");
        }
    }

    #[test]
    fn a_panic_is_caught_with_its_place_and_input() {
        let target = Target { name: "boom", run: boom, dict: &["bad"], max_len: None };
        let dir = std::env::temp_dir().join(format!("kubeward-fuzz-driver-{}", std::process::id()));
        let opts =
            Options { budget: Duration::from_secs(5), crash_dir: Some(dir.clone()), ..Options::default() };
        let report = run(&target, &[b"good".to_vec()], &opts);
        assert_eq!(report.crashes.len(), 1, "{}", report.summary());
        let crash = &report.crashes[0];
        assert!(crash.message.starts_with("found bad input at "), "{}", crash.message);
        assert!(crash.message.contains("driver.rs"), "{}", crash.message);
        assert!(crash.input.windows(3).any(|w| w == b"bad"));
        assert_eq!(std::fs::read(crash.file.as_ref().unwrap()).unwrap(), crash.input);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn seeds_run_first_and_the_budget_ends_the_run() {
        let target = Target { name: "quiet", run: |_| {}, dict: &[], max_len: None };
        let opts = Options { budget: Duration::from_millis(200), ..Options::default() };
        let report = run(&target, &[b"a".to_vec(), b"b".to_vec()], &opts);
        assert!(report.execs > 2 && report.crashes.is_empty());
        assert!(report.elapsed < Duration::from_secs(5));
    }
}
