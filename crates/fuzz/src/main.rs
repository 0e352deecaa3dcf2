//! `kubeward-fuzz`: the stable driver from the command line.
//!
//! ```text
//! kubeward-fuzz list
//! kubeward-fuzz run <target>|all [--seconds N] [--seed S] [--crash-dir DIR]
//! kubeward-fuzz repro <target> <file>...
//! kubeward-fuzz seeds            (re-writes the generated seeds of fuzz/corpus)
//! ```
//!
//! `run` exits 1 when a target panicked; the crashing inputs are written under the crash
//! directory (default `fuzz/artifacts`), where `repro` reads them back.

mod seeds;

use kubeward_fuzz::{driver, targets, Options};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

fn usage() -> ExitCode {
    eprintln!(
        "usage: kubeward-fuzz list | run <target>|all [--seconds N] [--seed S] [--crash-dir DIR] | repro <target> <file>... | seeds"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("list") => {
            for t in targets::all() {
                println!("{}", t.name);
            }
            ExitCode::SUCCESS
        }
        Some("run") => run(&args[1..]),
        Some("repro") => repro(&args[1..]),
        Some("seeds") => match seeds::write_all(&kubeward_fuzz::corpus_root()) {
            Ok(n) => {
                println!("wrote {n} generated seeds");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("writing seeds: {e}");
                ExitCode::FAILURE
            }
        },
        _ => usage(),
    }
}

fn run(args: &[String]) -> ExitCode {
    let Some(which) = args.first() else { return usage() };
    let mut opts = Options {
        budget: Duration::from_secs(60),
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
        crash_dir: Some(kubeward_fuzz::corpus_root().join("../artifacts")),
        ..Options::default()
    };
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        let value = rest.next();
        match (flag.as_str(), value) {
            ("--seconds", Some(v)) => match v.parse::<f64>() {
                Ok(s) if s.is_finite() && s >= 0.0 => opts.budget = Duration::from_secs_f64(s),
                _ => return usage(),
            },
            ("--seed", Some(v)) => match v.parse() {
                Ok(s) => opts.seed = s,
                Err(_) => return usage(),
            },
            ("--crash-dir", Some(v)) => opts.crash_dir = Some(PathBuf::from(v)),
            _ => return usage(),
        }
    }
    let chosen: Vec<&targets::Target> = if which == "all" {
        targets::all().iter().collect()
    } else {
        match targets::find(which) {
            Some(t) => vec![t],
            None => {
                eprintln!("no target {which}; `kubeward-fuzz list` lists them");
                return ExitCode::from(2);
            }
        }
    };
    println!("seed {}", opts.seed);
    let mut failed = false;
    for t in chosen {
        let seeds = match driver::load_corpus(&kubeward_fuzz::corpus_root().join(t.name)) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{}: reading its corpus: {e}", t.name);
                return ExitCode::FAILURE;
            }
        };
        let mut o = opts.clone();
        o.max_len = t.max_len.unwrap_or(o.max_len);
        let report = kubeward_fuzz::run(t, &seeds, &o);
        println!("{}", report.summary());
        for c in &report.crashes {
            failed = true;
            let file = c.file.as_ref().map(|f| f.display().to_string()).unwrap_or_default();
            println!("  CRASH {}: {} ({file})", t.name, c.message);
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn repro(args: &[String]) -> ExitCode {
    let (Some(name), files) = (args.first(), args.get(1..).unwrap_or_default()) else { return usage() };
    let Some(t) = targets::find(name) else { return usage() };
    let mut failed = false;
    for f in files {
        match std::fs::read(f) {
            Ok(input) => match driver::execute(t, &input) {
                Some(message) => {
                    failed = true;
                    println!("{f}: panicked: {message}");
                }
                None => println!("{f}: ok"),
            },
            Err(e) => {
                eprintln!("{f}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
