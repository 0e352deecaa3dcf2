//! The log backend (`--audit-log-path`): one event per line, JSON or kube's legacy text,
//! rotated as kube's lumberjack logger rotates it.
//!
//! - A line goes to an in-memory buffer (bounded at [`MAX_BUFFER`]); a writer thread writes
//!   the buffer every [`FLUSH_EVERY`], so a request never waits on the disk. A full buffer
//!   drops the line, counts it (`Counters::log_errors`) and logs it: never silently.
//! - Rotation (`--audit-log-maxsize`, MB; lumberjack's 100 MB when 0): before a line would
//!   take the file past the limit, the file is renamed `<name>-<UTC time>.<ext>` (lumberjack's
//!   `2006-01-02T15-04-05.000`) and a new one opened; a line alone larger than the limit is
//!   dropped and counted, as lumberjack refuses it.
//! - After each rotation (and at start) the old files are milled on a thread of their own, as
//!   lumberjack's `millRunOnce`: beyond `--audit-log-maxbackup` (newest kept) or older than
//!   `--audit-log-maxage` days (by the time in their name) they are removed; with
//!   `--audit-log-compress` the rest are gzipped to `<backup>.gz` and the plain file removed.
//!
//! Files are created mode 0600. Events buffered when the process exits (up to 50 ms) are
//! lost.

use super::Counters;
use chrono::{DateTime, NaiveDateTime, Utc};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, Mutex, Weak};
use std::time::Duration;

/// How often buffered lines are written out, and the buffer's bound.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
const MAX_BUFFER: usize = 16 * 1024 * 1024;
/// lumberjack's size limit when none is given, in megabytes.
const DEFAULT_MAX_SIZE_MB: u64 = 100;
/// lumberjack's backup time format (`2006-01-02T15-04-05.000`).
const BACKUP_TIME_FORMAT: &str = "%Y-%m-%dT%H-%M-%S%.3f";
const COMPRESS_SUFFIX: &str = ".gz";

/// `--audit-log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    Legacy,
}

/// The log backend's flags.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub path: PathBuf,
    /// `--audit-log-maxsize` in megabytes (0: lumberjack's 100).
    pub max_size_mb: u64,
    /// `--audit-log-maxbackup` (0: keep all).
    pub max_backups: usize,
    /// `--audit-log-maxage` in days (0: no age limit).
    pub max_age_days: u64,
    /// `--audit-log-compress`.
    pub compress: bool,
    pub format: Format,
}

/// The running log backend; see the module docs.
pub struct LogBackend {
    buf: Arc<Mutex<Vec<u8>>>,
    pub format: Format,
    counters: Arc<Counters>,
}

impl LogBackend {
    /// Opens (appends to) the file and starts the writer and mill threads.
    pub fn open(options: &LogOptions, counters: Arc<Counters>) -> std::io::Result<Self> {
        let max_size =
            options.max_size_mb.checked_mul(1 << 20).filter(|n| *n > 0).unwrap_or(DEFAULT_MAX_SIZE_MB << 20);
        let file = open_append(&options.path)?;
        let size = file.metadata()?.len();
        let (mill_tx, mill_rx) = mpsc::sync_channel::<()>(1);
        let mill = Mill {
            path: options.path.clone(),
            max_backups: options.max_backups,
            max_age_days: options.max_age_days,
            compress: options.compress,
        };
        std::thread::Builder::new().name("audit-log-mill".into()).spawn(move || {
            mill.run();
            while mill_rx.recv().is_ok() {
                mill.run();
            }
        })?;
        let buf = Arc::new(Mutex::new(Vec::<u8>::with_capacity(64 * 1024)));
        let mut writer = Writer {
            path: options.path.clone(),
            file,
            size,
            max_size,
            mill: mill_tx,
            counters: counters.clone(),
        };
        let weak = Arc::downgrade(&buf);
        std::thread::Builder::new().name("audit-log".into()).spawn(move || writer.run(weak))?;
        Ok(LogBackend { buf, format: options.format, counters })
    }

    /// Queues one line (without its newline).
    pub fn write(&self, line: &[u8]) {
        let Ok(mut b) = self.buf.lock() else { return };
        if b.len() + line.len() + 1 > MAX_BUFFER {
            drop(b);
            let n = self.counters.log_errors.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::error!(dropped_total = n, "audit log is behind: buffer full, event dropped");
            }
            return;
        }
        b.extend_from_slice(line);
        b.push(b'\n');
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).mode(0o600).open(path)
}

struct Writer {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    mill: mpsc::SyncSender<()>,
    counters: Arc<Counters>,
}

impl Writer {
    fn run(&mut self, buf: Weak<Mutex<Vec<u8>>>) {
        // Two buffers swapped at each flush, so appending never regrows a fresh one.
        let mut chunk: Vec<u8> = Vec::with_capacity(64 * 1024);
        loop {
            std::thread::sleep(FLUSH_EVERY);
            let Some(buf) = buf.upgrade() else { return };
            chunk.clear();
            match buf.lock() {
                Ok(mut b) if !b.is_empty() => std::mem::swap(&mut *b, &mut chunk),
                _ => continue,
            }
            drop(buf);
            if let Err(e) = self.write_lines(&chunk) {
                tracing::error!(error = %e, path = %self.path.display(), "audit log write failed");
            }
            if chunk.capacity() > MAX_BUFFER {
                chunk = Vec::with_capacity(64 * 1024);
            }
        }
    }

    /// Writes whole lines, rotating before a line that would not fit.
    fn write_lines(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        if self.size + chunk.len() as u64 <= self.max_size {
            // The common case: all of it fits.
            self.file.write_all(chunk)?;
            self.size += chunk.len() as u64;
            return Ok(());
        }
        let mut pending = 0..0;
        let mut start = 0;
        while start < chunk.len() {
            let end =
                chunk[start..].iter().position(|b| *b == b'\n').map(|i| start + i + 1).unwrap_or(chunk.len());
            let len = (end - start) as u64;
            if len > self.max_size {
                self.flush_range(chunk, &mut pending)?;
                let n = self.counters.log_errors.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::error!(
                    length = len,
                    max = self.max_size,
                    errors_total = n,
                    "audit event larger than --audit-log-maxsize dropped"
                );
                pending = end..end;
            } else {
                let pending_len = (pending.end - pending.start) as u64;
                if self.size + pending_len + len > self.max_size {
                    self.flush_range(chunk, &mut pending)?;
                    self.rotate()?;
                    pending = start..start;
                }
                pending.end = end;
            }
            start = end;
        }
        self.flush_range(chunk, &mut pending)
    }

    fn flush_range(&mut self, chunk: &[u8], range: &mut std::ops::Range<usize>) -> std::io::Result<()> {
        if range.start == range.end {
            return Ok(());
        }
        self.file.write_all(&chunk[range.clone()])?;
        self.size += (range.end - range.start) as u64;
        *range = range.end..range.end;
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let mut at = Utc::now();
        let mut backup = backup_name(&self.path, at);
        // Two rotations in one millisecond must not overwrite each other.
        while backup.exists()
            || backup.with_extension(format!("{}{COMPRESS_SUFFIX}", ext_of(&self.path))).exists()
        {
            at += chrono::Duration::milliseconds(1);
            backup = backup_name(&self.path, at);
        }
        std::fs::rename(&self.path, &backup)?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        let _ = self.mill.try_send(());
        Ok(())
    }
}

/// The file name's stem and extension as lumberjack splits them (`audit`, `.log`).
fn split_name(path: &Path) -> (String, String) {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match name.rfind('.') {
        Some(i) if i > 0 => (name[..i].to_string(), name[i..].to_string()),
        _ => (name, String::new()),
    }
}

fn ext_of(path: &Path) -> String {
    split_name(path).1.trim_start_matches('.').to_string()
}

/// `<dir>/<stem>-<time><ext>`.
pub fn backup_name(path: &Path, at: DateTime<Utc>) -> PathBuf {
    let (stem, ext) = split_name(path);
    path.with_file_name(format!("{stem}-{}{ext}", at.format(BACKUP_TIME_FORMAT)))
}

/// A rotated file of `path` and the time in its name, if `name` is one.
pub fn backup_time(path: &Path, name: &str) -> Option<DateTime<Utc>> {
    let (stem, ext) = split_name(path);
    let rest = name.strip_prefix(&format!("{stem}-"))?;
    let rest = rest.strip_suffix(COMPRESS_SUFFIX).unwrap_or(rest);
    let ts = rest.strip_suffix(ext.as_str())?;
    NaiveDateTime::parse_from_str(ts, BACKUP_TIME_FORMAT).ok().map(|t| t.and_utc())
}

/// The rotated files of `path`, newest first: (file, time in its name).
pub fn backups(path: &Path) -> Vec<(PathBuf, DateTime<Utc>)> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut out: Vec<(PathBuf, DateTime<Utc>)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            backup_time(path, &name).map(|t| (dir.join(&name), t))
        })
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    out
}

struct Mill {
    path: PathBuf,
    max_backups: usize,
    max_age_days: u64,
    compress: bool,
}

impl Mill {
    /// lumberjack's `millRunOnce`: remove what is beyond the count or too old, compress the rest.
    fn run(&self) {
        let mut files = backups(&self.path);
        let mut remove = Vec::new();
        if self.max_backups > 0 {
            // A file and its compressed form count once.
            let mut kept: Vec<String> = Vec::new();
            let mut remaining = Vec::new();
            for f in files {
                let name = f.0.to_string_lossy().trim_end_matches(COMPRESS_SUFFIX).to_string();
                if !kept.contains(&name) {
                    kept.push(name);
                }
                if kept.len() > self.max_backups {
                    remove.push(f);
                } else {
                    remaining.push(f);
                }
            }
            files = remaining;
        }
        if self.max_age_days > 0 {
            let cutoff = Utc::now() - chrono::Duration::days(self.max_age_days.min(100_000) as i64);
            let (old, young): (Vec<_>, Vec<_>) = files.into_iter().partition(|f| f.1 < cutoff);
            remove.extend(old);
            files = young;
        }
        for (f, _) in &remove {
            if let Err(e) = std::fs::remove_file(f) {
                tracing::warn!(file = %f.display(), error = %e, "cannot remove an old audit log");
            }
        }
        if self.compress {
            for (f, _) in files.iter().filter(|f| !f.0.to_string_lossy().ends_with(COMPRESS_SUFFIX)) {
                if let Err(e) = compress(f) {
                    tracing::warn!(file = %f.display(), error = %e, "cannot compress an audit log");
                }
            }
        }
    }
}

/// gzips `src` to `src.gz` (mode 0600), then removes `src`.
fn compress(src: &Path) -> std::io::Result<()> {
    let dst = PathBuf::from(format!("{}{COMPRESS_SUFFIX}", src.display()));
    let mut input = File::open(src)?;
    let out = OpenOptions::new().create(true).truncate(true).write(true).mode(0o600).open(&dst)?;
    let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    let copied = std::io::copy(&mut input, &mut gz).and_then(|_| gz.finish()).and_then(|f| f.sync_all());
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&dst);
        return Err(e);
    }
    std::fs::remove_file(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_names_as_lumberjack() {
        let p = Path::new("/var/log/audit.log");
        let t = DateTime::parse_from_rfc3339("2026-12-06T18:34:45.123Z").unwrap().with_timezone(&Utc);
        assert_eq!(backup_name(p, t), Path::new("/var/log/audit-2026-12-06T18-34-45.123.log"));
        assert_eq!(backup_time(p, "audit-2026-12-06T18-34-45.123.log"), Some(t));
        assert_eq!(backup_time(p, "audit-2026-12-06T18-34-45.123.log.gz"), Some(t));
        assert_eq!(backup_time(p, "audit.log"), None);
        assert_eq!(backup_time(p, "other-2026-12-06T18-34-45.123.log"), None);
    }

    fn writer(dir: &Path, max_size: u64) -> (Writer, mpsc::Receiver<()>) {
        let path = dir.join("audit.log");
        let (tx, rx) = mpsc::sync_channel(8);
        let file = open_append(&path).unwrap();
        (Writer { path, file, size: 0, max_size, mill: tx, counters: Arc::new(Counters::default()) }, rx)
    }

    #[test]
    fn rotates_at_line_boundaries_and_drops_oversized_lines() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, rx) = writer(dir.path(), 10);
        w.write_lines(b"aaaa\nbbbb\ncccc\n").unwrap();
        w.write_lines(b"0123456789ABC\ndd\n").unwrap();
        assert_eq!(std::fs::read_to_string(&w.path).unwrap(), "cccc\ndd\n");
        let olds = backups(&w.path);
        assert_eq!(olds.len(), 1);
        assert_eq!(std::fs::read_to_string(&olds[0].0).unwrap(), "aaaa\nbbbb\n");
        assert_eq!(w.counters.log_errors.load(Ordering::Relaxed), 1, "the long line is counted");
        assert!(rx.try_recv().is_ok(), "the mill was woken");
    }

    #[test]
    fn mill_keeps_max_backups_and_compresses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let now = Utc::now();
        for i in 0..4 {
            let t = now - chrono::Duration::minutes(i);
            std::fs::write(backup_name(&path, t), format!("file {i}\n")).unwrap();
        }
        let old = backup_name(&path, now - chrono::Duration::days(3));
        std::fs::write(&old, "old\n").unwrap();
        Mill { path: path.clone(), max_backups: 3, max_age_days: 0, compress: true }.run();
        let left = backups(&path);
        assert_eq!(left.len(), 3, "{left:?}");
        assert!(left.iter().all(|f| f.0.to_string_lossy().ends_with(".log.gz")), "{left:?}");
        let mut text = String::new();
        use std::io::Read;
        flate2::read::GzDecoder::new(File::open(&left[0].0).unwrap()).read_to_string(&mut text).unwrap();
        assert_eq!(text, "file 0\n");
        std::fs::write(&old, "old\n").unwrap();
        Mill { path: path.clone(), max_backups: 0, max_age_days: 1, compress: false }.run();
        assert!(!old.exists(), "older than max age");
        assert_eq!(backups(&path).len(), 3);
    }
}
