//! The ingest event store: a local SQLite file (rusqlite) in WAL mode, the durable buffer
//! between sources and the shared database. A record is acknowledged to its source only once
//! it is committed here; roll-up reads from here by sequence number.

use std::{path::Path, time::Duration};

use rusqlite::{Connection, OpenFlags, params};

use crate::StoreError;

/// A landed observation waiting to be rolled up.
#[derive(Debug, Clone, PartialEq)]
pub struct LandedObservation {
    /// Sequence number in the store (roll-up watermark).
    pub seq: i64,
    /// Series key as given by the source.
    pub series_key: String,
    /// Instant, RFC 3339 in UTC.
    pub ts: String,
    /// Value.
    pub value: f64,
}

/// An open event store.
pub struct EventStore {
    conn: Connection,
}

fn err(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::EventStore { context, source }
}

impl EventStore {
    /// Opens (creating if needed) the store at `path`: WAL journal, `synchronous=NORMAL`, a 30 s
    /// busy timeout, and the schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Config {
                reason: format!("cannot create directory {}: {e}", dir.display()),
            })?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map_err(err("opening the event store"))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(err("setting the busy timeout"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err("enabling WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err("setting synchronous"))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS observations (
                 series_key TEXT NOT NULL,
                 ts TEXT NOT NULL,
                 value REAL NOT NULL,
                 seq INTEGER NOT NULL,
                 landed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
                 PRIMARY KEY (series_key, ts)
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS observations_seq ON observations (seq);
             CREATE TABLE IF NOT EXISTS watermarks (
                 name TEXT PRIMARY KEY,
                 seq INTEGER NOT NULL
             );",
        )
        .map_err(err("creating the event store schema"))?;
        Ok(Self { conn })
    }

    /// The journal mode in force (`wal` once opened).
    pub fn journal_mode(&self) -> Result<String, StoreError> {
        self.conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .map_err(err("reading the journal mode"))
    }

    /// Lands observations in one transaction and returns how many were new or changed. A
    /// record identical to the stored one changes nothing; a new value for a known (series,
    /// instant) replaces the old one and takes a new sequence number, so the correction is
    /// rolled up again.
    pub fn land_observations(
        &mut self,
        rows: &[(String, String, f64)],
    ) -> Result<usize, StoreError> {
        // IMMEDIATE: concurrent landers serialise here, so sequence numbers stay unique.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err("beginning a landing"))?;
        let mut changed = 0;
        {
            let mut next: i64 = tx
                .query_row("SELECT COALESCE(MAX(seq), 0) FROM observations", [], |r| {
                    r.get(0)
                })
                .map_err(err("reading the sequence"))?;
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO observations (series_key, ts, value, seq) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (series_key, ts) DO UPDATE
                        SET value = excluded.value, seq = excluded.seq
                        WHERE observations.value IS NOT excluded.value",
                )
                .map_err(err("preparing a landing"))?;
            for (key, ts, value) in rows {
                next += 1;
                changed += stmt
                    .execute(params![key, ts, value, next])
                    .map_err(err("landing a record"))?;
            }
        }
        tx.commit().map_err(err("committing a landing"))?;
        Ok(changed)
    }

    /// Landed observations after sequence `after`, at most `limit`, in sequence order.
    pub fn observations_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<LandedObservation>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, series_key, ts, value FROM observations WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(err("reading landed records"))?;
        let rows = stmt
            .query_map(params![after, limit as i64], |r| {
                Ok(LandedObservation {
                    seq: r.get(0)?,
                    series_key: r.get(1)?,
                    ts: r.get(2)?,
                    value: r.get(3)?,
                })
            })
            .map_err(err("reading landed records"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(err("reading landed records"))
    }

    /// The roll-up watermark `name` (0 when never set).
    pub fn watermark(&self, name: &str) -> Result<i64, StoreError> {
        self.conn
            .query_row(
                "SELECT COALESCE((SELECT seq FROM watermarks WHERE name = ?1), 0)",
                params![name],
                |r| r.get(0),
            )
            .map_err(err("reading a watermark"))
    }

    /// Moves the roll-up watermark `name` to `seq`. Called only after the rolled-up rows are
    /// committed in the shared database, so a crash in between re-rolls (idempotently).
    pub fn set_watermark(&self, name: &str, seq: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO watermarks (name, seq) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
                params![name, seq],
            )
            .map(|_| ())
            .map_err(err("saving a watermark"))
    }

    /// Number of landed observations.
    pub fn count_observations(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM observations", [], |r| r.get(0))
            .map_err(err("counting landed records"))
    }
}
