//! `kubeward snapshot save FILE` and `kubeward snapshot restore FILE`.
//!
//! - A control plane on a managed etcd saves etcd's own snapshot (Maintenance.Snapshot, the
//!   file `etcdctl snapshot restore` reads); restoring one runs `etcdctl snapshot restore`
//!   into a new member's data directory (`--cluster-init`).
//! - A server on the embedded store (stopped: the store has one writer) saves every key at
//!   one revision in kubeward's portable form: a header line
//!   `{"kind":"KubewardSnapshot","version":1,...}` and one line `{"key":...,"value":base64}`
//!   a key. The stored bytes are the same in both stores, so that form restores into an
//!   empty embedded store, or (`--cluster-init`) into a new managed etcd: how a
//!   single-machine cluster moves from the embedded store onto a managed etcd, in place
//!   (same data directory, same PKI) or elsewhere.

use super::NodeConfig;
use crate::cli::{CliError, UpArgs};
use base64::Engine;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use storage::Store;

const KIND: &str = "KubewardSnapshot";
/// A snapshot's keys and stored values.
type Entries = Vec<(String, Vec<u8>)>;
/// Keys per page while saving.
const PAGE: usize = 1000;
/// The largest line of a snapshot file read back (one object, base64).
const MAX_LINE: usize = 64 << 20;

#[derive(Args)]
pub struct SnapshotArgs {
    #[command(subcommand)]
    command: SnapshotCommand,
}

// Parsed once per process: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum SnapshotCommand {
    /// Save the store of a data directory to FILE (etcd's snapshot for a managed etcd;
    /// kubeward's portable form for the embedded store, whose server must be stopped).
    Save {
        file: PathBuf,
        #[arg(long, default_value = ".kubeward", env = "KUBEWARD_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Restore FILE into a data directory's empty store: the embedded one, or with
    /// `--cluster-init` a new managed etcd member (then `kubeward up` serves it).
    Restore {
        file: PathBuf,
        #[command(flatten)]
        up: UpArgs,
    },
}

fn err(e: impl std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

pub async fn snapshot(a: SnapshotArgs) -> Result<(), CliError> {
    match a.command {
        SnapshotCommand::Save { file, data_dir } => save(&file, &data_dir).await,
        SnapshotCommand::Restore { file, up } => restore(&file, up).await,
    }
}

async fn save(file: &Path, data_dir: &Path) -> Result<(), CliError> {
    let data_dir = data_dir.canonicalize().map_err(|e| CliError(format!("{}: {e}", data_dir.display())))?;
    let tmp = file.with_extension("part");
    let mut out = std::fs::File::create(&tmp).map_err(|e| CliError(format!("{}: {e}", tmp.display())))?;
    let said = if let Some(node) = NodeConfig::load(&data_dir)? {
        let etcd = super::admin(&data_dir, &[node.client_url()], std::time::Duration::from_secs(30))?;
        let bytes = etcd.snapshot(&mut out).await.map_err(err)?;
        format!("saved etcd's snapshot of member `{}` ({bytes} bytes) to {}", node.node_name, file.display())
    } else {
        let store = storage::EmbeddedStore::open(&data_dir.join("store")).map_err(|e| {
            CliError(format!(
                "opening the embedded store in {}: {e} (stop its kubeward first: the store has one writer)",
                data_dir.display()
            ))
        })?;
        let (count, revision) = dump(&store, &mut out).await?;
        format!("saved {count} objects at revision {revision} to {}", file.display())
    };
    out.sync_all().map_err(err)?;
    std::fs::rename(&tmp, file).map_err(err)?;
    println!("{said}");
    Ok(())
}

/// Writes every key of `store` at one revision in the portable form.
async fn dump(store: &dyn Store, out: &mut impl Write) -> Result<(usize, u64), CliError> {
    let first = store.list("/", None, PAGE).await.map_err(err)?;
    let revision = first.revision;
    let mut lines = Vec::new();
    let mut page = first;
    loop {
        for kv in &page.items {
            lines.push(
                json!({"key": kv.key, "value": base64::engine::general_purpose::STANDARD.encode(&kv.value)}),
            );
        }
        if !page.remaining {
            break;
        }
        let after = page.items.last().map(|kv| kv.key.clone());
        page = store.list_at("/", after.as_deref(), PAGE, revision).await.map_err(err)?;
    }
    let header = json!({"kind": KIND, "version": 1, "revision": revision, "objects": lines.len()});
    writeln!(out, "{header}").map_err(err)?;
    for line in &lines {
        writeln!(out, "{line}").map_err(err)?;
    }
    Ok((lines.len(), revision))
}

/// The keys and values of a portable snapshot; `None` when FILE is not one.
fn read_portable(file: &Path) -> Result<Option<Entries>, CliError> {
    let f = std::fs::File::open(file).map_err(|e| CliError(format!("{}: {e}", file.display())))?;
    let mut reader = std::io::BufReader::new(f);
    let mut line = String::new();
    let mut read_line = |line: &mut String| -> Result<usize, CliError> {
        line.clear();
        let n = (&mut reader).take(MAX_LINE as u64).read_line(line).map_err(err)?;
        if n >= MAX_LINE {
            return Err(CliError(format!("{}: a line longer than {MAX_LINE} bytes", file.display())));
        }
        Ok(n)
    };
    if read_line(&mut line).is_err() {
        return Ok(None);
    }
    let header: Value = match serde_json::from_str(line.trim()) {
        Ok(v) => v,
        Err(_) => return Ok(None),
    };
    if header.get("kind").and_then(Value::as_str) != Some(KIND) {
        return Ok(None);
    }
    let mut items = Vec::new();
    while read_line(&mut line)? > 0 {
        let v: Value =
            serde_json::from_str(line.trim()).map_err(|e| CliError(format!("{}: {e}", file.display())))?;
        let key = v.get("key").and_then(Value::as_str).unwrap_or_default().to_string();
        let value = v
            .get("value")
            .and_then(Value::as_str)
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .ok_or_else(|| CliError(format!("{}: a line without a base64 value", file.display())))?;
        if !key.starts_with('/') {
            return Err(CliError(format!("{}: a key `{key}` outside the store's key space", file.display())));
        }
        items.push((key, value));
    }
    let expected = header.get("objects").and_then(Value::as_u64).unwrap_or(0);
    if items.len() as u64 != expected {
        return Err(CliError(format!(
            "{}: truncated: {} objects of {expected}",
            file.display(),
            items.len()
        )));
    }
    Ok(Some(items))
}

async fn load(store: &dyn Store, items: Entries) -> Result<usize, CliError> {
    let present = store.list("/", None, 1).await.map_err(err)?;
    if !present.items.is_empty() {
        return Err(CliError("the target store already holds objects: restore into an empty one".into()));
    }
    let count = items.len();
    for (key, value) in items {
        store.create(&key, value.into()).await.map_err(|e| CliError(format!("restoring {key}: {e}")))?;
    }
    Ok(count)
}

async fn restore(file: &Path, up: UpArgs) -> Result<(), CliError> {
    std::fs::create_dir_all(&up.data_dir).map_err(|e| CliError(format!("{}: {e}", up.data_dir.display())))?;
    let data_dir = up.data_dir.canonicalize().map_err(err)?;
    let portable = read_portable(file)?;
    if !up.cluster.cluster_init {
        let Some(items) = portable else {
            return Err(CliError(format!(
                "{} is not a kubeward snapshot: an etcd snapshot restores into a managed etcd (`--cluster-init`)",
                file.display()
            )));
        };
        let store = storage::EmbeddedStore::open(&data_dir.join("store")).map_err(err)?;
        let count = load(&store, items).await?;
        println!("restored {count} objects into the embedded store of {}", data_dir.display());
        return Ok(());
    }
    if NodeConfig::load(&data_dir)?.is_some() {
        return Err(CliError(format!(
            "{} already runs a managed etcd: restore into a new data directory",
            data_dir.display()
        )));
    }
    let node = crate::cli::managed_node(&data_dir, &up)?
        .ok_or_else(|| CliError("--cluster-init did not make a node".into()))?;
    let binary = super::etcd_binary(up.cluster.etcd_binary.as_deref())?;
    if portable.is_none() {
        etcdctl_restore(file, &data_dir, &node)?;
    }
    let started = super::member::start(&data_dir, node.clone(), binary, false).await?;
    let outcome = match portable {
        Some(items) => {
            let store: Arc<dyn Store> = Arc::new(started.store);
            load(store.as_ref(), items).await.map(|n| format!("restored {n} objects into"))
        }
        None => Ok("restored etcd's snapshot into".to_string()),
    };
    started.supervisor.stop().await;
    let what = outcome?;
    println!(
        "{what} the managed etcd member `{}` of {}; serve it with `kubeward up --data-dir {} --bind-address {}`",
        node.node_name,
        data_dir.display(),
        data_dir.display(),
        node.address
    );
    Ok(())
}

/// An etcd snapshot into this node's etcd data directory, by etcd's own tool.
fn etcdctl_restore(file: &Path, data_dir: &Path, node: &NodeConfig) -> Result<(), CliError> {
    let etcd_data = super::etcd_child::EtcdCommand::etcd_data(data_dir);
    if etcd_data.exists() {
        return Err(CliError(format!("{} exists: restore into a new data directory", etcd_data.display())));
    }
    let output = std::process::Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg("snapshot")
        .arg("restore")
        .arg(file)
        .arg(format!("--data-dir={}", etcd_data.display()))
        .arg(format!("--name={}", node.node_name))
        .arg(format!("--initial-cluster={}", node.initial_cluster))
        .arg(format!("--initial-advertise-peer-urls={}", node.peer_url()))
        .arg("--initial-cluster-token=kubeward")
        .output()
        .map_err(|e| {
            CliError(format!(
                "restoring an etcd snapshot needs etcdctl (Debian: apt-get install etcd-client): {e}"
            ))
        })?;
    if !output.status.success() {
        return Err(CliError(format!(
            "etcdctl snapshot restore failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_portable_form_round_trips_between_stores() {
        let dir = tempfile::tempdir().unwrap();
        let from = storage::EmbeddedStore::open(&dir.path().join("a")).unwrap();
        for i in 0..2500 {
            from.create(
                &format!("/registry/configmaps/default/c{i:05}"),
                format!("v{i}").into_bytes().into(),
            )
            .await
            .unwrap();
        }
        let file = dir.path().join("snap");
        let mut out = std::fs::File::create(&file).unwrap();
        let (count, _) = dump(&from, &mut out).await.unwrap();
        drop(out);
        assert_eq!(count, 2500);
        let items = read_portable(&file).unwrap().unwrap();
        let to = storage::EmbeddedStore::open(&dir.path().join("b")).unwrap();
        assert_eq!(load(&to, items.clone()).await.unwrap(), 2500);
        let got = to.get("/registry/configmaps/default/c02499").await.unwrap().unwrap();
        assert_eq!(&got.value[..], b"v2499");
        assert!(load(&to, items).await.unwrap_err().0.contains("already holds objects"));
        // A truncated file is refused, not half restored.
        let text = std::fs::read_to_string(&file).unwrap();
        let cut: String = text.lines().take(10).map(|l| format!("{l}\n")).collect();
        std::fs::write(&file, cut).unwrap();
        assert!(read_portable(&file).unwrap_err().0.contains("truncated"));
    }
}
