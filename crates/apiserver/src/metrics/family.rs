//! The metric types behind `/metrics`, cheap on the request path: a counter or histogram is
//! a set of atomics; a labeled family finds its series in a map read through an `ArcSwap`
//! (no lock), and takes a lock only the first time a label set is seen (a new map is then
//! published). The number of series per family is capped, so label values from requests
//! cannot grow memory without bound: past the cap, new label sets are not recorded.

use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A family's most series.
pub const MAX_SERIES: usize = 10_000;

/// A family's map. Label sets are few and come from static names, so a fast hash serves
/// (SipHash took ~500 instructions a lookup, a fifth of a ConfigMap create's metrics).
type SeriesMap<K, S> = HashMap<K, Arc<S>, foldhash::fast::RandomState>;

/// Series of one metric by label set.
pub struct Family<K, S> {
    series: ArcSwap<SeriesMap<K, S>>,
    insert: Mutex<()>,
}

impl<K: Eq + Hash + Clone, S: Default> Default for Family<K, S> {
    fn default() -> Self {
        Self { series: ArcSwap::from_pointee(SeriesMap::default()), insert: Mutex::new(()) }
    }
}

impl<K: Eq + Hash + Clone, S: Default> Family<K, S> {
    /// The series of `key`, made on first use; `None` past [`MAX_SERIES`].
    pub fn get(&self, key: &K) -> Option<Arc<S>> {
        if let Some(s) = self.series.load().get(key) {
            return Some(s.clone());
        }
        // A poisoned lock guards no data of its own: the map is replaced whole.
        let _guard = self.insert.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.series.load_full();
        if let Some(s) = current.get(key) {
            return Some(s.clone());
        }
        if current.len() >= MAX_SERIES {
            return None;
        }
        let mut next: SeriesMap<K, S> = (*current).clone();
        let s = Arc::new(S::default());
        next.insert(key.clone(), s.clone());
        self.series.store(Arc::new(next));
        Some(s)
    }

    /// Every series, for rendering.
    pub fn snapshot(&self) -> Vec<(K, Arc<S>)> {
        self.series.load().iter().map(|(k, s)| (k.clone(), s.clone())).collect()
    }
}

/// A monotonic counter.
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// kube's `apiserver_request_duration_seconds` buckets.
pub const DURATION_BUCKETS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0,
    20.0, 30.0, 45.0, 60.0,
];

/// The admission metrics' buckets: kube's (5 ms to 2.5 s) and, below them, six per decade
/// (1, 1.5, 2, 3, 5, 7) from 5 µs. kube's own start at 5 ms, where every in-process plugin
/// falls into the first bucket; the finer ones let a p99 of an in-process policy be told
/// from a webhook call's, to within a factor of 1.7. Every kube bound is kept, so a query
/// written against kube's buckets reads the same.
pub const ADMISSION_BUCKETS: [f64; 24] = [
    5e-6, 7e-6, 1e-5, 1.5e-5, 2e-5, 3e-5, 5e-5, 7e-5, 1e-4, 1.5e-4, 2e-4, 3e-4, 5e-4, 7e-4, 1e-3, 1.5e-3,
    2e-3, 3e-3, 0.005, 0.025, 0.1, 0.5, 1.0, 2.5,
];

/// A histogram's bucket bounds (upper, inclusive, increasing).
pub trait Buckets: Send + Sync + 'static {
    const BOUNDS: &'static [f64];
}

/// [`DURATION_BUCKETS`].
pub struct RequestBuckets;
impl Buckets for RequestBuckets {
    const BOUNDS: &'static [f64] = &DURATION_BUCKETS;
}

/// [`ADMISSION_BUCKETS`].
pub struct AdmissionBuckets;
impl Buckets for AdmissionBuckets {
    const BOUNDS: &'static [f64] = &ADMISSION_BUCKETS;
}

/// A histogram of durations over `B`'s bounds (counts per bucket, not cumulative, summed
/// when rendered).
pub struct Histogram<B: Buckets = RequestBuckets> {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum_nanos: AtomicU64,
    bounds: std::marker::PhantomData<B>,
}

impl<B: Buckets> Default for Histogram<B> {
    fn default() -> Self {
        Self {
            buckets: B::BOUNDS.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
            bounds: std::marker::PhantomData,
        }
    }
}

impl<B: Buckets> Histogram<B> {
    pub fn observe(&self, d: std::time::Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = B::BOUNDS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Cumulative bucket counts, then the count and the sum in seconds.
    pub fn read(&self) -> (Vec<u64>, u64, f64) {
        let mut acc = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                acc += b.load(Ordering::Relaxed);
                acc
            })
            .collect();
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        (cumulative, self.count.load(Ordering::Relaxed), sum)
    }
}

/// Prometheus text format: the `# HELP` and `# TYPE` lines of a metric.
pub fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    out.push_str(&format!("# HELP {name} [STABLE] {help}\n# TYPE {name} {kind}\n"));
}

/// `name{a="x",b="y"} value`, label values escaped as the text format wants.
pub fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        out.push('}');
    }
    out.push_str(&format!(" {value}\n"));
}

/// A histogram's `_bucket`, `_sum` and `_count` samples.
pub fn histogram<B: Buckets>(out: &mut String, name: &str, labels: &[(&str, &str)], h: &Histogram<B>) {
    let (cumulative, count, sum) = h.read();
    for (bound, n) in B::BOUNDS.iter().zip(&cumulative) {
        let le = format!("{bound}");
        let mut with_le = labels.to_vec();
        with_le.push(("le", &le));
        sample(out, &format!("{name}_bucket"), &with_le, n);
    }
    let mut inf = labels.to_vec();
    inf.push(("le", "+Inf"));
    sample(out, &format!("{name}_bucket"), &inf, count);
    sample(out, &format!("{name}_sum"), labels, sum);
    sample(out, &format!("{name}_count"), labels, count);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn families_find_or_make_series_up_to_the_cap() {
        let f: Family<u32, Counter> = Family::default();
        f.get(&1).unwrap().inc();
        f.get(&1).unwrap().inc();
        assert_eq!(f.get(&1).unwrap().get(), 2);
        for k in 2..=MAX_SERIES as u32 {
            f.get(&k).unwrap();
        }
        assert!(f.get(&(MAX_SERIES as u32 + 1)).is_none());
        assert_eq!(f.snapshot().len(), MAX_SERIES);
    }

    #[test]
    fn histograms_render_cumulative_buckets() {
        let h: Histogram = Histogram::default();
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_millis(30));
        h.observe(Duration::from_secs(100));
        let mut out = String::new();
        histogram(&mut out, "x_seconds", &[("verb", "GET")], &h);
        assert!(out.contains("x_seconds_bucket{verb=\"GET\",le=\"0.005\"} 1\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{verb=\"GET\",le=\"0.05\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{verb=\"GET\",le=\"60\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{verb=\"GET\",le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_seconds_count{verb=\"GET\"} 3\n"), "{out}");
        let a: Histogram<AdmissionBuckets> = Histogram::default();
        a.observe(Duration::from_micros(60));
        a.observe(Duration::from_millis(3));
        let mut out = String::new();
        histogram(&mut out, "y_seconds", &[], &a);
        assert!(out.contains("y_seconds_bucket{le=\"0.00005\"} 0\n"), "{out}");
        assert!(out.contains("y_seconds_bucket{le=\"0.00007\"} 1\n"), "{out}");
        assert!(out.contains("y_seconds_bucket{le=\"0.0001\"} 1\n"), "{out}");
        assert!(out.contains("y_seconds_bucket{le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("y_seconds_bucket{le=\"2.5\"} 2\n"), "{out}");
        for kube in [0.005, 0.025, 0.1, 0.5, 1.0, 2.5] {
            assert!(ADMISSION_BUCKETS.contains(&kube), "{kube}");
        }
        assert!(ADMISSION_BUCKETS.windows(2).all(|w| w[0] < w[1]));
        let mut s = String::new();
        sample(&mut s, "m", &[("a", "q\"\\\n")], 1);
        assert_eq!(s, "m{a=\"q\\\"\\\\\\n\"} 1\n");
    }
}
