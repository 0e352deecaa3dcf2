//! Renders results.jsonl and criterion's estimates into BENCHMARKS.md: the whole report, or
//! with --only some sections, put in place of the same sections of an existing --out.

use clap::Parser;
use kubeward_bench::report::{render, render_filtered, section_names, splice_sections, Input, Record};
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
    /// Only these sections (comma-separated names, as `bench/run --only` takes them). When
    /// --out exists they replace its own sections and everything else in it is kept;
    /// otherwise --out gets a report of these sections alone.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
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
        let input = Input { records, criterion, smoke: a.smoke };
        let known = section_names();
        if let Some(bad) = a.only.iter().find(|n| !known.contains(&n.as_str())) {
            return Err(BenchError::Decode {
                what: "--only".into(),
                detail: format!("unknown section {bad} (known: {})", known.join(", ")),
            });
        }
        let only: Vec<&str> = a.only.iter().map(String::as_str).collect();
        if !only.is_empty() {
            if let Ok(existing) = std::fs::read_to_string(&a.out) {
                let md = splice_sections(&existing, &input, &only);
                return std::fs::write(&a.out, md)
                    .map_err(|e| BenchError::File { path: a.out.clone(), source: e });
            }
        }
        let mut md = if only.is_empty() { render(&input) } else { render_filtered(&input, &only) };
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
