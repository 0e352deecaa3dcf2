//! One admission plugin's time inside the server, read from its `/metrics`
//! (`apiserver_admission_controller_admission_duration_seconds`, kube's histogram of each
//! plugin's time, with kubeward's finer buckets below 5 ms): the histogram of admitted
//! CREATEs before a run and after it, and their difference. What the plugin costs a request
//! there is its own time, without the create around it (storage, encoding), which no
//! admission mechanism changes.

use crate::client::{connect, Target};
use crate::BenchError;
use bytes::Bytes;
use http::Method;
use serde::{Deserialize, Serialize};

const METRIC: &str = "apiserver_admission_controller_admission_duration_seconds_bucket";

/// A plugin's histogram: cumulative counts at increasing upper bounds, the last `+Inf`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PluginTime {
    pub plugin: String,
    /// `(le, cumulative count)`; `le` in seconds, `f64::INFINITY` last (serialised as null).
    pub buckets: Vec<(Option<f64>, u64)>,
}

/// Where a quantile falls: its bucket's bounds and the linear interpolation inside it
/// (Prometheus' `histogram_quantile`), in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quantile {
    pub lower: f64,
    pub upper: f64,
    pub estimate: f64,
}

impl PluginTime {
    /// Reads the plugin's admitted-CREATE histogram from the server's `/metrics`.
    pub async fn scrape(target: &Target, plugin: &str) -> Result<Self, BenchError> {
        let mut conn = connect(target).await?;
        let (status, body) = conn.call(Method::GET, "/metrics", &[], Bytes::new()).await?;
        if !status.is_success() {
            return Err(BenchError::Status {
                what: "GET /metrics".into(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
            });
        }
        Ok(Self::parse(&String::from_utf8_lossy(&body), plugin))
    }

    /// The series `{name=plugin, operation="CREATE", rejected="false", type="validate"}`
    /// (or `type="admit"` when the plugin only mutates) from the text format.
    pub fn parse(text: &str, plugin: &str) -> Self {
        let read = |step: &str| -> Vec<(Option<f64>, u64)> {
            let prefix = format!(
                "{METRIC}{{name=\"{plugin}\",operation=\"CREATE\",rejected=\"false\",type=\"{step}\",le=\""
            );
            text.lines()
                .filter_map(|l| l.strip_prefix(prefix.as_str()))
                .filter_map(|rest| {
                    let (le, count) = rest.split_once("\"} ")?;
                    let le = if le == "+Inf" { None } else { Some(le.parse().ok()?) };
                    Some((le, count.trim().parse().ok()?))
                })
                .collect()
        };
        let mut buckets = read("validate");
        if buckets.is_empty() {
            buckets = read("admit");
        }
        Self { plugin: plugin.to_string(), buckets }
    }

    /// The observations made between `before` and `self` (bucket by bucket).
    pub fn since(&self, before: &Self) -> Self {
        let buckets = self
            .buckets
            .iter()
            .map(|(le, n)| {
                let was = before.buckets.iter().find(|(b, _)| b == le).map_or(0, |(_, n)| *n);
                (*le, n.saturating_sub(was))
            })
            .collect();
        Self { plugin: self.plugin.clone(), buckets }
    }

    /// Adds another run's observations (same buckets).
    pub fn add(&mut self, other: &Self) {
        if self.buckets.is_empty() {
            self.buckets = other.buckets.clone();
            return;
        }
        for (le, n) in &mut self.buckets {
            *n += other.buckets.iter().find(|(b, _)| b == le).map_or(0, |(_, m)| *m);
        }
    }

    /// How many observations.
    pub fn count(&self) -> u64 {
        self.buckets.last().map_or(0, |(_, n)| *n)
    }

    /// The `q` quantile (0..1); `None` without observations or when it falls in `+Inf`.
    pub fn quantile(&self, q: f64) -> Option<Quantile> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = q * total as f64;
        let mut lower = 0.0;
        let mut below = 0;
        for (le, n) in &self.buckets {
            let upper = (*le)?;
            if *n as f64 >= rank && *n > below {
                let within = (rank - below as f64) / (*n - below) as f64;
                return Some(Quantile {
                    lower,
                    upper,
                    estimate: lower + (upper - lower) * within.clamp(0.0, 1.0),
                });
            }
            lower = upper;
            below = *n;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# TYPE apiserver_admission_controller_admission_duration_seconds histogram
apiserver_admission_controller_admission_duration_seconds_bucket{name=\"ValidatingAdmissionPolicy\",operation=\"CREATE\",rejected=\"false\",type=\"validate\",le=\"0.00005\"} 10
apiserver_admission_controller_admission_duration_seconds_bucket{name=\"ValidatingAdmissionPolicy\",operation=\"CREATE\",rejected=\"false\",type=\"validate\",le=\"0.0001\"} 90
apiserver_admission_controller_admission_duration_seconds_bucket{name=\"ValidatingAdmissionPolicy\",operation=\"CREATE\",rejected=\"false\",type=\"validate\",le=\"0.001\"} 100
apiserver_admission_controller_admission_duration_seconds_bucket{name=\"ValidatingAdmissionPolicy\",operation=\"CREATE\",rejected=\"false\",type=\"validate\",le=\"+Inf\"} 100
apiserver_admission_controller_admission_duration_seconds_bucket{name=\"ValidatingAdmissionPolicy\",operation=\"CREATE\",rejected=\"true\",type=\"validate\",le=\"+Inf\"} 7
apiserver_admission_controller_admission_duration_seconds_bucket{name=\"ValidatingAdmissionWebhook\",operation=\"CREATE\",rejected=\"false\",type=\"validate\",le=\"0.001\"} 3
";

    #[test]
    fn parses_one_plugins_admitted_creates_and_reads_quantiles() {
        let t = PluginTime::parse(TEXT, "ValidatingAdmissionPolicy");
        assert_eq!(t.buckets, [(Some(5e-5), 10), (Some(1e-4), 90), (Some(1e-3), 100), (None, 100)]);
        assert_eq!(t.count(), 100);
        // p50: rank 50 in (50 µs, 100 µs], 40 of its 80.
        let p50 = t.quantile(0.5).unwrap();
        assert_eq!((p50.lower, p50.upper), (5e-5, 1e-4));
        assert!((p50.estimate - 7.5e-5).abs() < 1e-12, "{p50:?}");
        // p99: rank 99 in (100 µs, 1 ms], 9 of its 10.
        let p99 = t.quantile(0.99).unwrap();
        assert_eq!((p99.lower, p99.upper), (1e-4, 1e-3));
        assert!((p99.estimate - 9.1e-4).abs() < 1e-12, "{p99:?}");
        // Runs subtract and add bucket by bucket.
        let before = PluginTime::parse(
            &TEXT.replace("} 90", "} 50").replace("} 100", "} 60"),
            "ValidatingAdmissionPolicy",
        );
        let run = t.since(&before);
        assert_eq!(run.buckets, [(Some(5e-5), 0), (Some(1e-4), 40), (Some(1e-3), 40), (None, 40)]);
        let mut sum = PluginTime::default();
        sum.add(&run);
        sum.add(&run);
        assert_eq!(sum.count(), 80);
        // No observations, or none below +Inf: no quantile.
        assert_eq!(PluginTime::parse(TEXT, "Nope").quantile(0.99), None);
        let inf = PluginTime { plugin: "x".into(), buckets: vec![(Some(1e-3), 0), (None, 5)] };
        assert_eq!(inf.quantile(0.5), None);
        // The record survives JSON (+Inf as null).
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<PluginTime>(&json).unwrap(), t);
    }
}
