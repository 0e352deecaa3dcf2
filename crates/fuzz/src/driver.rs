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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
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

/// Targets running now, on any thread.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// A panic on a thread of no running target while one ran: a parser's own thread (the YAML
/// reader's) whose panic became an error when it was joined. libFuzzer's hook aborts on any
/// panic of any thread; this driver counts them too.
static OTHER_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Installs, once, a panic hook that records the panics of fuzzed calls (and of any thread
/// while a target runs) and leaves every other panic to the hook that was there.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let message = || {
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
                format!("{message} at {at}")
            };
            if CATCHING.with(Cell::get) {
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(message()));
            } else if RUNNING.load(Ordering::SeqCst) > 0 {
                let mut other = OTHER_PANIC.lock().unwrap_or_else(|e| e.into_inner());
                other.get_or_insert_with(|| {
                    format!("{} (on thread {:?})", message(), std::thread::current().name())
                });
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs the target once; the panic's message when it panicked.
/// A panic counts even when the code under test caught it (CEL's evaluation catches its
/// own; the YAML reader's thread turns one into an error): libFuzzer's hook would abort.
pub fn execute(target: &Target, input: &[u8]) -> Option<String> {
    install_hook();
    // One target at a time in the process, so that a panic on another thread is this one's.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    LAST_PANIC.with(|p| p.borrow_mut().take());
    OTHER_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
    RUNNING.fetch_add(1, Ordering::SeqCst);
    CATCHING.with(|c| c.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    CATCHING.with(|c| c.set(false));
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    let own = LAST_PANIC.with(|p| p.borrow_mut().take());
    let other = OTHER_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
    match (result, own.or(other)) {
        (Ok(()), None) => None,
        (_, Some(message)) => Some(message),
        (Err(_), None) => Some("panic".into()),
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
    // The budget is the mutants': slow seeds on a loaded machine do not eat it.
    let mutating = Instant::now();
    while mutating.elapsed() < opts.budget && report.crashes.len() < opts.max_crashes {
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

    /// Panics the target's own code catches, or that happen on a thread it spawns, count.
    #[test]
    fn caught_panics_and_panics_on_other_threads_count() {
        fn caught(data: &[u8]) {
            if data == b"bad" {
                let _ = panic::catch_unwind(|| panic!("caught inside"));
            }
        }
        fn threaded(data: &[u8]) {
            if data == b"bad" {
                let _ = std::thread::spawn(|| panic!("on a parser thread")).join();
            }
        }
        for (run, text) in [(caught as fn(&[u8]), "caught inside at "), (threaded, "on a parser thread at ")]
        {
            let target = Target { name: "hidden", run, dict: &[], max_len: None };
            assert_eq!(execute(&target, b"good"), None);
            let message = execute(&target, b"bad").expect("the panic counts");
            assert!(message.starts_with(text), "{message}");
            assert_eq!(execute(&target, b"good"), None);
        }
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
