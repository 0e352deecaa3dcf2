//! Reads criterion's saved estimates (`target/criterion/**/new/estimates.json`).

use serde::{Deserialize, Serialize};
use std::path::Path;

/// One criterion benchmark's central estimates, in nanoseconds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Estimate {
    pub id: String,
    pub median_ns: f64,
    pub mean_ns: f64,
}

#[derive(Deserialize)]
struct Point {
    point_estimate: f64,
}

#[derive(Deserialize)]
struct Estimates {
    mean: Point,
    median: Point,
}

#[derive(Deserialize)]
struct BenchmarkId {
    full_id: String,
}

/// Every benchmark under `root`, sorted by id. Directories without both files are skipped.
pub fn collect(root: &Path) -> Vec<Estimate> {
    let mut out = Vec::new();
    walk(root, 0, &mut out);
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<Estimate>) {
    if depth > 8 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            if let Some(e) = read(&path) {
                out.push(e);
            }
        } else if path.file_name().is_some_and(|n| n != "report" && n != "base" && n != "change") {
            walk(&path, depth + 1, out);
        }
    }
}

fn read(new_dir: &Path) -> Option<Estimate> {
    let est: Estimates = serde_json::from_slice(&std::fs::read(new_dir.join("estimates.json")).ok()?).ok()?;
    let id: BenchmarkId =
        serde_json::from_slice(&std::fs::read(new_dir.join("benchmark.json")).ok()?).ok()?;
    Some(Estimate { id: id.full_id, median_ns: est.median.point_estimate, mean_ns: est.mean.point_estimate })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_saved_estimates() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("rbac").join("allow").join("new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            new.join("estimates.json"),
            r#"{"mean":{"point_estimate":42.5,"standard_error":1},"median":{"point_estimate":40.0}}"#,
        )
        .unwrap();
        std::fs::write(new.join("benchmark.json"), r#"{"group_id":"rbac","full_id":"rbac/allow"}"#).unwrap();
        let base = dir.path().join("rbac").join("allow").join("base");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("estimates.json"), "{}").unwrap();
        let got = collect(dir.path());
        assert_eq!(got, vec![Estimate { id: "rbac/allow".into(), median_ns: 40.0, mean_ns: 42.5 }]);
    }
}
