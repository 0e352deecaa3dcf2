//! Latency summaries and the growth exponent fit.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Rate and latency percentiles of one measured run.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub errors: u64,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The value at quantile `q` (0..=1) of sorted samples, by nearest rank.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Summarises latency samples taken over `elapsed`.
pub fn summarize(mut samples: Vec<Duration>, errors: u64, elapsed: Duration) -> Summary {
    samples.sort_unstable();
    let secs = elapsed.as_secs_f64();
    Summary {
        count: samples.len() as u64,
        errors,
        per_sec: if secs > 0.0 { samples.len() as f64 / secs } else { 0.0 },
        p50_ms: ms(quantile(&samples, 0.50)),
        p99_ms: ms(quantile(&samples, 0.99)),
        max_ms: ms(samples.last().copied().unwrap_or_default()),
    }
}

/// Least-squares slope of log(y) over log(x): y grows like x^slope.
pub fn growth_exponent(points: &[(f64, f64)]) -> Option<f64> {
    let pts: Vec<(f64, f64)> =
        points.iter().filter(|(x, y)| *x > 0.0 && *y > 0.0).map(|(x, y)| (x.ln(), y.ln())).collect();
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let s: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&s, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&s, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&s, 1.0), Duration::from_millis(100));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn summary_rate() {
        let s = summarize(vec![Duration::from_millis(2); 10], 1, Duration::from_secs(2));
        assert_eq!(s.count, 10);
        assert_eq!(s.errors, 1);
        assert!((s.per_sec - 5.0).abs() < 1e-9);
        assert!((s.p99_ms - 2.0).abs() < 1e-9);
    }

    #[test]
    fn exponent_of_linear_and_quadratic() {
        let lin = [(1e3, 2.0), (1e4, 20.0), (1e5, 200.0)];
        assert!((growth_exponent(&lin).unwrap() - 1.0).abs() < 1e-9);
        let quad = [(10.0, 100.0), (100.0, 10_000.0)];
        assert!((growth_exponent(&quad).unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(growth_exponent(&[(1.0, 1.0)]), None);
    }
}
