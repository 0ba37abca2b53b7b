//! The SQLite store behind the key_value API.
//!
//! Only the newest row per (domain, bucket, key) is kept: RESTBase kept a
//! timeseries per key but every read asked for the newest row (`limit 1`) and
//! its retention policy dropped older renders anyway, so history would only
//! grow the file. The tid of the newest write is kept with the row.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

/// Stored response headers, lower-case name → value.
pub type Headers = BTreeMap<String, String>;

/// Value type recorded for buckets created implicitly by a first write.
pub const DEFAULT_VALUE_TYPE: &str = "blob";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS buckets (
    domain     TEXT NOT NULL,
    bucket     TEXT NOT NULL,
    value_type TEXT NOT NULL,
    PRIMARY KEY (domain, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
    domain  TEXT NOT NULL,
    bucket  TEXT NOT NULL,
    key     TEXT NOT NULL,
    tid     TEXT NOT NULL,
    headers TEXT NOT NULL,
    value   BLOB NOT NULL,
    PRIMARY KEY (domain, bucket, key)
);
-- page_revisions: one row per revision (JSON), and the pages found deleted.
CREATE TABLE IF NOT EXISTS page_revisions (
    domain TEXT NOT NULL,
    title  TEXT NOT NULL,
    rev    INTEGER NOT NULL,
    row    TEXT NOT NULL,
    PRIMARY KEY (domain, title, rev)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS page_deletions (
    domain       TEXT NOT NULL,
    title        TEXT NOT NULL,
    page_deleted INTEGER NOT NULL,
    PRIMARY KEY (domain, title)
) WITHOUT ROWID;
";

/// Waiting for a lock held by another connection beats failing the request.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// One stored value with its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub tid: String,
    pub headers: Headers,
    pub value: Vec<u8>,
}

/// What a read found.
#[derive(Debug)]
pub enum Lookup {
    Found(Entry),
    NoSuchKey,
    NoSuchBucket,
}

/// What a conditional write did.
#[derive(Debug)]
pub enum PutOutcome {
    Written,
    /// The condition held for the current entry, which was left in place.
    Unchanged(Entry),
}

/// Addresses one value.
#[derive(Debug, Clone, Copy)]
pub struct Location<'a> {
    pub domain: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
}

#[derive(Debug)]
pub enum StoreError {
    Sqlite(rusqlite::Error),
    /// A row whose headers column is not the JSON this service wrote.
    BadRow(serde_json::Error),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(e) => write!(f, "sqlite: {e}"),
            Self::BadRow(e) => write!(f, "stored headers unreadable: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sqlite(e)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        Self::BadRow(e)
    }
}

/// One writer connection plus a few read-only ones: in WAL mode readers never
/// wait for the writer, so reads scale with cores while writes serialize.
/// All methods block; call them off the async executor.
pub struct Store {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl Store {
    /// Opens (creating if needed) the database at `path`; `:memory:` gives a
    /// private in-memory store served by a single connection.
    pub fn open(path: &str) -> Result<Self, StoreError> {
        if path == ":memory:" {
            let conn = Connection::open_in_memory()?;
            conn.execute_batch(SCHEMA)?;
            return Ok(Self::with_connections(conn, Vec::new()));
        }
        let writer = Connection::open(path)?;
        writer.busy_timeout(BUSY_TIMEOUT)?;
        // WAL lets readers run beside the writer. synchronous=NORMAL is
        // durable across process crashes; a power cut may lose the last
        // writes, which for a cache of re-renderable content is acceptable.
        writer.pragma_update(None, "journal_mode", "WAL")?;
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        writer.execute_batch(SCHEMA)?;

        let count = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(2, 8);
        let mut readers = Vec::with_capacity(count);
        for _ in 0..count {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            reader.busy_timeout(BUSY_TIMEOUT)?;
            readers.push(reader);
        }
        Ok(Self::with_connections(writer, readers))
    }

    fn with_connections(writer: Connection, readers: Vec<Connection>) -> Self {
        Self {
            writer: Mutex::new(writer),
            readers: readers.into_iter().map(Mutex::new).collect(),
            next_reader: AtomicUsize::new(0),
        }
    }

    /// Creates a bucket or updates its value type (RESTBase's "upgrade").
    pub fn create_bucket(
        &self,
        domain: &str,
        bucket: &str,
        value_type: &str,
    ) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.prepare_cached(
            "INSERT INTO buckets (domain, bucket, value_type) VALUES (?1, ?2, ?3)
             ON CONFLICT (domain, bucket) DO UPDATE SET value_type = excluded.value_type",
        )?
        .execute(params![domain, bucket, value_type])?;
        Ok(())
    }

    /// The newest entry at `at`.
    pub fn get(&self, at: Location<'_>) -> Result<Lookup, StoreError> {
        let conn = self.reader();
        if let Some(entry) = read_entry(&conn, at)? {
            return Ok(Lookup::Found(entry));
        }
        let bucket_exists = conn
            .prepare_cached("SELECT 1 FROM buckets WHERE domain = ?1 AND bucket = ?2")?
            .exists(params![at.domain, at.bucket])?;
        Ok(if bucket_exists {
            Lookup::NoSuchKey
        } else {
            Lookup::NoSuchBucket
        })
    }

    /// Stores `entry` at `at`, creating the bucket if needed, unless
    /// `keep_current` says the current entry should stay. Check and write run
    /// in one transaction, so concurrent identical writes store once.
    pub fn put(
        &self,
        at: Location<'_>,
        entry: &Entry,
        keep_current: impl FnOnce(&Entry) -> bool,
    ) -> Result<PutOutcome, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(current) = read_entry(&tx, at)? {
            if keep_current(&current) {
                return Ok(PutOutcome::Unchanged(current));
            }
        }
        tx.prepare_cached(
            "INSERT OR IGNORE INTO buckets (domain, bucket, value_type) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![at.domain, at.bucket, DEFAULT_VALUE_TYPE])?;
        tx.prepare_cached(
            "INSERT INTO entries (domain, bucket, key, tid, headers, value)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (domain, bucket, key) DO UPDATE SET
                 tid = excluded.tid, headers = excluded.headers, value = excluded.value",
        )?
        .execute(params![
            at.domain,
            at.bucket,
            at.key,
            entry.tid,
            serde_json::to_string(&entry.headers)?,
            entry.value,
        ])?;
        tx.commit()?;
        Ok(PutOutcome::Written)
    }

    /// Runs `work` on a read connection (for tables other modules own).
    pub(crate) fn read<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        work(&self.reader())
    }

    /// Runs `work` in one write transaction, committed if it succeeds.
    pub(crate) fn write<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// A read connection, round-robin; the writer when there are none
    /// (in-memory stores live in a single connection).
    fn reader(&self) -> MutexGuard<'_, Connection> {
        if self.readers.is_empty() {
            return lock(&self.writer);
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let len = self.readers.len();
        // Prefer an idle connection; otherwise queue on the round-robin pick.
        for offset in 0..len {
            if let Some(Ok(guard)) = self
                .readers
                .get((start + offset) % len)
                .map(Mutex::try_lock)
            {
                return guard;
            }
        }
        match self.readers.get(start % len) {
            Some(reader) => lock(reader),
            None => lock(&self.writer),
        }
    }
}

/// A panic while holding a connection cannot leave SQLite inconsistent (an
/// open transaction rolls back when dropped), so a poisoned lock is usable.
/// The entry stored at `at`, read on `conn` (a reader, or the writer's open transaction).
fn read_entry(conn: &Connection, at: Location<'_>) -> Result<Option<Entry>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT tid, headers, value FROM entries
             WHERE domain = ?1 AND bucket = ?2 AND key = ?3",
        )?
        .query_row(params![at.domain, at.bucket, at.key], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Vec<u8>>(2)?,
            ))
        })
        .optional()?;
    match row {
        Some((tid, headers, value)) => Ok(Some(Entry {
            tid,
            headers: serde_json::from_str(&headers)?,
            value,
        })),
        None => Ok(None),
    }
}

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(tid: &str, value: &[u8]) -> Entry {
        Entry {
            tid: tid.to_owned(),
            headers: Headers::from([("content-type".to_owned(), "text/plain".to_owned())]),
            value: value.to_vec(),
        }
    }

    const AT: Location<'static> = Location {
        domain: "en.wikipedia.org",
        bucket: "b",
        key: "k",
    };

    #[test]
    fn unknown_bucket_and_key_are_told_apart() {
        let store = Store::open(":memory:").unwrap();
        assert!(matches!(store.get(AT).unwrap(), Lookup::NoSuchBucket));
        store.create_bucket(AT.domain, AT.bucket, "blob").unwrap();
        assert!(matches!(store.get(AT).unwrap(), Lookup::NoSuchKey));
    }

    #[test]
    fn newest_write_wins_and_creates_bucket() {
        let store = Store::open(":memory:").unwrap();
        store.put(AT, &entry("t1", b"one"), |_| false).unwrap();
        store.put(AT, &entry("t2", b"two"), |_| false).unwrap();
        match store.get(AT).unwrap() {
            Lookup::Found(e) => assert_eq!(e, entry("t2", b"two")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keep_current_leaves_row_alone() {
        let store = Store::open(":memory:").unwrap();
        store.put(AT, &entry("t1", b"one"), |_| false).unwrap();
        let outcome = store.put(AT, &entry("t2", b"two"), |_| true).unwrap();
        assert!(matches!(outcome, PutOutcome::Unchanged(e) if e.tid == "t1"));
    }

    #[test]
    fn file_store_reads_through_reader_connections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let store = Store::open(path.to_str().unwrap()).unwrap();
        store.put(AT, &entry("t1", b"one"), |_| false).unwrap();
        for _ in 0..20 {
            assert!(matches!(store.get(AT).unwrap(), Lookup::Found(_)));
        }
    }
}
