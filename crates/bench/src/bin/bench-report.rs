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
    /// Markdown appended as the profiling notes (what the largest cost of a miss was).
    #[arg(long)]
    notes: Option<String>,
}

fn main() -> std::process::ExitCode {
    cli::main_with(async {
        let a = Args::parse();
        let text = std::fs::read_to_string(&a.results)
            .map_err(|e| BenchError::File { path: a.results.clone(), source: e })?;
        let mut records = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let rec: Record = serde_json::from_str(line).map_err(|e| BenchError::Decode {
                what: format!("{} line {}", a.results, i + 1),
                detail: e.to_string(),
            })?;
            records.push(rec);
        }
        let criterion =
            a.criterion.as_deref().map(|d| criterion::collect(std::path::Path::new(d))).unwrap_or_default();
        let mut md = render(&Input { records, criterion, smoke: a.smoke });
        if let Some(path) = &a.notes {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    md.push_str(&text);
                    md.push('\n');
                }
                Err(e) => eprintln!("{path}: {e} (no profile notes)"),
            }
        }
        std::fs::write(&a.out, md).map_err(|e| BenchError::File { path: a.out.clone(), source: e })?;
        Ok(())
    })
}
