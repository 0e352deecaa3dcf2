//! kube-apiserver's audit flags (`--audit-policy-file`, `--audit-log-*`,
//! `--audit-webhook-*`) with kube's names, meanings and defaults, turned into the server's
//! [`apiserver::audit::AuditOptions`].

use apiserver::audit::{log, webhook, AuditOptions};
use clap::{ArgAction, Args};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct AuditFlags {
    /// audit.k8s.io/v1 Policy saying what each request records (default: Metadata for every
    /// request, never a body).
    #[arg(long)]
    pub audit_policy_file: Option<PathBuf>,
    /// Megabytes a log file may reach before it is rotated (0: 100).
    #[arg(long, default_value_t = 0)]
    pub audit_log_maxsize: u64,
    /// Rotated log files kept (0: all).
    #[arg(long, default_value_t = 0)]
    pub audit_log_maxbackup: usize,
    /// Days a rotated log file is kept, by the time in its name (0: no limit).
    #[arg(long, default_value_t = 0)]
    pub audit_log_maxage: u64,
    /// gzip rotated log files.
    #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", action = ArgAction::Set)]
    pub audit_log_compress: bool,
    /// `json` (one audit.k8s.io/v1 Event a line) or `legacy` (kube's one-line text).
    #[arg(long, default_value = "json", value_parser = ["json", "legacy"])]
    pub audit_log_format: String,
    /// kubeconfig naming the audit webhook receiver.
    #[arg(long)]
    pub audit_webhook_config_file: Option<PathBuf>,
    /// `batch` (buffered, asynchronous), `blocking` (each event sent before the request goes
    /// on) or `blocking-strict` (as blocking; a failed RequestReceived event fails the request).
    #[arg(long, default_value = "batch", value_parser = ["batch", "blocking", "blocking-strict"])]
    pub audit_webhook_mode: String,
    /// Wait before the first retry of a failed webhook call (Go duration).
    #[arg(long, default_value = "10s", value_parser = go_duration)]
    pub audit_webhook_initial_backoff: Duration,
    /// Events the batch buffer holds; beyond it events are dropped and counted.
    #[arg(long, default_value_t = 10_000)]
    pub audit_webhook_batch_buffer_size: usize,
    /// Most events in one batch.
    #[arg(long, default_value_t = 400)]
    pub audit_webhook_batch_max_size: usize,
    /// Longest an event waits for its batch to fill (Go duration).
    #[arg(long, default_value = "30s", value_parser = go_duration)]
    pub audit_webhook_batch_max_wait: Duration,
    /// Throttle batch sends.
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub audit_webhook_batch_throttle_enable: bool,
    /// Batches sent per second at most.
    #[arg(long, default_value_t = 10.0)]
    pub audit_webhook_batch_throttle_qps: f64,
    /// Batches sent at once after a quiet time.
    #[arg(long, default_value_t = 15)]
    pub audit_webhook_batch_throttle_burst: usize,
}

impl AuditFlags {
    /// The server's audit options; `log_path` is `--audit-log-path`.
    pub fn options(&self, log_path: Option<PathBuf>) -> AuditOptions {
        AuditOptions {
            policy_file: self.audit_policy_file.clone(),
            log: log_path.map(|path| log::LogOptions {
                path,
                max_size_mb: self.audit_log_maxsize,
                max_backups: self.audit_log_maxbackup,
                max_age_days: self.audit_log_maxage,
                compress: self.audit_log_compress,
                format: if self.audit_log_format == "legacy" {
                    log::Format::Legacy
                } else {
                    log::Format::Json
                },
            }),
            webhook: self.audit_webhook_config_file.clone().map(|file| webhook::WebhookOptions {
                mode: self.audit_webhook_mode.parse().unwrap_or_default(),
                initial_backoff: self.audit_webhook_initial_backoff,
                buffer_size: self.audit_webhook_batch_buffer_size,
                max_batch_size: self.audit_webhook_batch_max_size,
                max_batch_wait: self.audit_webhook_batch_max_wait,
                throttle_enable: self.audit_webhook_batch_throttle_enable,
                throttle_qps: self.audit_webhook_batch_throttle_qps,
                throttle_burst: self.audit_webhook_batch_throttle_burst,
                ..webhook::WebhookOptions::new(file)
            }),
        }
    }
}

/// A Go duration (`1h30m`, `10s`, `250ms`); `d` for days is accepted too.
pub fn go_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?} (use e.g. 30s, 5m, 1h30m)");
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        let n: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "d" => 86_400.0,
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(go_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(go_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(go_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "10", "1x", "s", "-1s", "1e400h"] {
            assert!(go_duration(bad).is_err(), "{bad}");
        }
    }
}
