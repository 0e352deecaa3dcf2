//! The embedded store's on-disk form: one redb file, `store.redb`, in the data directory.
//!
//! Tables:
//! - `objects`: key (`&str`) to a record: format byte `1`, `create_revision` (u64 LE),
//!   `mod_revision` (u64 LE), then the value bytes.
//! - `meta`: `revision` (the latest write's revision) and `compacted` (the last compaction asked
//!   for), both u64.
//!
//! A batch of writes becomes one redb write transaction with immediate durability: when
//! [`Disk::commit`] returns `Ok`, the batch is on stable storage.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::memory::Entry;
use crate::store::{Revision, StoreError};

const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const META_REVISION: &str = "revision";
const META_COMPACTED: &str = "compacted";
const RECORD_FORMAT: u8 = 1;
const RECORD_HEADER: usize = 17;

/// The file name of the database inside the data directory.
pub const DB_FILE: &str = "store.redb";

/// What [`Disk::open`] found.
pub(crate) struct Loaded {
    pub objects: BTreeMap<String, Entry>,
    pub revision: Revision,
}

/// One change to write: `Some` puts the entry, `None` removes the key.
pub(crate) type Change<'a> = (&'a str, Option<&'a Entry>);

pub(crate) struct Disk {
    db: Database,
}

impl Disk {
    /// Opens (or creates) the database in `dir`, creating `dir` with mode 0700 when missing,
    /// with a page cache of `cache_bytes`, and loads every object.
    pub fn open(dir: &Path, cache_bytes: usize) -> Result<(Disk, Loaded), StoreError> {
        create_dir(dir)?;
        let path = dir.join(DB_FILE);
        let existed = path.exists();
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(&path)
            .map_err(|e| unavailable(&path, e))?;
        if !existed {
            // The new file's directory entry must be durable before any commit is acknowledged.
            sync_dir(dir)?;
        }
        let disk = Disk { db };
        disk.init_tables()?;
        let loaded = disk.load()?;
        Ok((disk, loaded))
    }

    fn init_tables(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(io_err)?;
        {
            txn.open_table(OBJECTS).map_err(io_err)?;
            txn.open_table(META).map_err(io_err)?;
        }
        txn.commit().map_err(io_err)
    }

    fn load(&self) -> Result<Loaded, StoreError> {
        let txn = self.db.begin_read().map_err(io_err)?;
        let meta = txn.open_table(META).map_err(io_err)?;
        let revision = meta.get(META_REVISION).map_err(io_err)?.map_or(0, |g| g.value());
        let table = txn.open_table(OBJECTS).map_err(io_err)?;
        // Rows come in key order; collected whole, the map is built bottom-up with full nodes
        // (inserted one by one, each node split would leave two half-full ones: about twice
        // the map's own memory per object).
        let objects = table
            .iter()
            .map_err(io_err)?
            .map(|row| {
                let (key, record) = row.map_err(io_err)?;
                let key = key.value();
                let entry = decode(record.value())
                    .ok_or_else(|| StoreError::Internal(format!("corrupt record for key `{key}`")))?;
                if entry.mod_revision > revision || entry.create_revision > entry.mod_revision {
                    return Err(StoreError::Internal(format!(
                        "key `{key}` has revisions {}/{} beyond the store revision {revision}",
                        entry.create_revision, entry.mod_revision
                    )));
                }
                Ok((key.to_owned(), entry))
            })
            .collect::<Result<BTreeMap<String, Entry>, StoreError>>()?;
        Ok(Loaded { objects, revision })
    }

    /// Writes `changes` and the new store revision (and compaction mark) in one durable
    /// transaction.
    pub fn commit(
        &self,
        changes: &[Change<'_>],
        revision: Revision,
        compacted: Option<Revision>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(io_err)?;
        {
            let mut objects = txn.open_table(OBJECTS).map_err(io_err)?;
            let mut buf = Vec::new();
            for (key, change) in changes {
                match change {
                    Some(entry) => {
                        encode(entry, &mut buf);
                        objects.insert(*key, buf.as_slice()).map_err(io_err)?;
                    }
                    None => {
                        objects.remove(*key).map_err(io_err)?;
                    }
                }
            }
            let mut meta = txn.open_table(META).map_err(io_err)?;
            meta.insert(META_REVISION, revision).map_err(io_err)?;
            if let Some(compacted) = compacted {
                meta.insert(META_COMPACTED, compacted).map_err(io_err)?;
            }
        }
        txn.commit().map_err(io_err)
    }
}

fn encode(entry: &Entry, buf: &mut Vec<u8>) {
    buf.clear();
    buf.reserve(RECORD_HEADER + entry.value.len());
    buf.push(RECORD_FORMAT);
    buf.extend_from_slice(&entry.create_revision.to_le_bytes());
    buf.extend_from_slice(&entry.mod_revision.to_le_bytes());
    buf.extend_from_slice(&entry.value);
}

fn decode(record: &[u8]) -> Option<Entry> {
    let (&format, rest) = record.split_first()?;
    if format != RECORD_FORMAT {
        return None;
    }
    let (create, rest) = rest.split_first_chunk::<8>()?;
    let (modified, value) = rest.split_first_chunk::<8>()?;
    Some(Entry {
        value: bytes::Bytes::copy_from_slice(value),
        create_revision: u64::from_le_bytes(*create),
        mod_revision: u64::from_le_bytes(*modified),
    })
}

fn create_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| {
        StoreError::Unavailable(format!("cannot create data directory `{}`: {e}", dir.display()))
    })?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::Unavailable(format!("cannot sync directory `{}`: {e}", dir.display())))
}

fn unavailable(path: &Path, e: redb::DatabaseError) -> StoreError {
    let path: PathBuf = path.to_owned();
    StoreError::Unavailable(format!("cannot open `{}`: {e}", path.display()))
}

fn io_err(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Corrupted(msg) => StoreError::Internal(format!("database corrupted: {msg}")),
        other => StoreError::Unavailable(other.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let entry =
            Entry { value: bytes::Bytes::from_static(b"{\"a\":1}"), create_revision: 3, mod_revision: 9 };
        let mut buf = Vec::new();
        encode(&entry, &mut buf);
        assert_eq!(buf.len(), RECORD_HEADER + 7);
        assert_eq!(decode(&buf), Some(entry));
    }

    #[test]
    fn short_or_unknown_records_are_rejected() {
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[RECORD_FORMAT, 1, 2, 3]), None);
        assert_eq!(decode(&[9; 20]), None);
    }

    #[test]
    fn open_creates_the_directory_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/data");
        let (_disk, loaded) = Disk::open(&dir, 1 << 20).unwrap();
        assert_eq!(loaded.revision, 0);
        assert!(loaded.objects.is_empty());
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(dir.join(DB_FILE).exists());
    }

    #[test]
    fn commit_then_reload() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let (disk, _) = Disk::open(tmp.path(), 1 << 20).unwrap();
            let a = Entry { value: bytes::Bytes::from_static(b"a"), create_revision: 1, mod_revision: 2 };
            let b = Entry { value: bytes::Bytes::from_static(b"b"), create_revision: 3, mod_revision: 3 };
            disk.commit(&[("/a", Some(&a)), ("/b", Some(&b))], 3, None).unwrap();
            disk.commit(&[("/b", None)], 4, Some(2)).unwrap();
        }
        let (_disk, loaded) = Disk::open(tmp.path(), 1 << 20).unwrap();
        assert_eq!(loaded.revision, 4);
        assert_eq!(loaded.objects.len(), 1);
        assert_eq!(loaded.objects["/a"].mod_revision, 2);
    }
}
