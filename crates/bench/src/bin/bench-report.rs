//! Renders results.jsonl and criterion's estimates into BENCHMARKS.md.

use clap::Parser;
use kubeward_bench::report::{render, Input, Record};
use kubeward_bench::{cli, criterion, BenchError};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    results: String,
    /// target/criterion, when the micro-benchmarks ran.
    #[arg(long)]
    criterion: Option<String>,
    #[arg(long)]
    out: String,
    #[arg(long)]
    smoke: bool,
}

fn main() -> std::process::ExitCode {
    cli::main_with(async {
        let a = Args::parse();
        let text = std::fs::read_to_string(&a.results).map_err(|e| BenchError::File { path: a.results.clone(), source: e })?;
        let mut records = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let rec: Record = serde_json::from_str(line).map_err(|e| BenchError::Decode {
                what: format!("{} line {}", a.results, i + 1),
                detail: e.to_string(),
            })?;
            records.push(rec);
        }
        let criterion = a.criterion.as_deref().map(|d| criterion::collect(std::path::Path::new(d))).unwrap_or_default();
        let md = render(&Input { records, criterion, smoke: a.smoke });
        std::fs::write(&a.out, md).map_err(|e| BenchError::File { path: a.out.clone(), source: e })?;
        Ok(())
    })
}
