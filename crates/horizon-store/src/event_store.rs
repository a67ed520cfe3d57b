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

/// A GDELT event as landed: the fields the roll-up aggregates, keyed by the global event id.
#[derive(Debug, Clone, PartialEq)]
pub struct GdeltEvent {
    /// GLOBALEVENTID, the natural key.
    pub event_id: i64,
    /// 1 or 2 (GDELT version of the export).
    pub version: u8,
    /// SQLDATE as days since 1970-01-01.
    pub day: i64,
    /// DATEADDED as a 15-minute slot since the epoch (GDELT 2.0 only).
    pub slot: Option<i64>,
    /// Actor1CountryCode, empty when none.
    pub actor1_country: String,
    /// Actor2CountryCode, empty when none.
    pub actor2_country: String,
    /// EventRootCode (1 to 20).
    pub root_code: u8,
    /// QuadClass (1 to 4).
    pub quad_class: u8,
    /// GoldsteinScale.
    pub goldstein: f64,
    /// NumMentions.
    pub mentions: i64,
    /// AvgTone.
    pub tone: f64,
}

/// Which time bucket of GDELT events a roll-up recomputes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GdeltBucket {
    /// A day (days since the epoch), by SQLDATE.
    Day(i64),
    /// A 15-minute slot (slots since the epoch), by DATEADDED.
    Slot(i64),
}

/// Sums of the events of one bucket, actor country, root code and quad class. An event with two
/// different actor countries counts once for each.
#[derive(Debug, Clone, PartialEq)]
pub struct GdeltAggregate {
    /// Actor country code.
    pub country: String,
    /// EventRootCode.
    pub root_code: u8,
    /// QuadClass.
    pub quad_class: u8,
    /// Number of events.
    pub events: i64,
    /// Sum of GoldsteinScale.
    pub goldstein_sum: f64,
    /// Sum of AvgTone.
    pub tone_sum: f64,
    /// Sum of NumMentions.
    pub mentions: i64,
}

/// One stored event as [`EventStore::gdelt_scan`] visits it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GdeltScanned<'a> {
    /// SQLDATE as days since 1970-01-01.
    pub day: i64,
    /// DATEADDED as a 15-minute slot (GDELT 2.0 only).
    pub slot: Option<i64>,
    /// Actor1CountryCode, empty when none.
    pub actor1_country: &'a str,
    /// Actor2CountryCode, empty when none.
    pub actor2_country: &'a str,
    /// EventRootCode.
    pub root_code: u8,
    /// QuadClass.
    pub quad_class: u8,
    /// GoldsteinScale.
    pub goldstein: f64,
    /// NumMentions.
    pub mentions: i64,
    /// AvgTone.
    pub tone: f64,
}

/// A covariate vintage value in the event store, waiting to be rolled up.
#[derive(Debug, Clone, PartialEq)]
pub struct LandedVintage {
    /// Landing sequence number.
    pub seq: i64,
    /// The covariate series' key.
    pub series_key: String,
    /// When the forecast was issued (RFC 3339).
    pub issued_at: String,
    /// The instant it is about (RFC 3339).
    pub ts: String,
    /// The value.
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
    /// busy timeout, a 64 MiB page cache, and the schema.
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
        // 64 MiB of page cache (the default is 2 MiB): the event and bucket indexes of a
        // backfill stay in memory while landing and rolling up.
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(err("setting the cache size"))?;
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
             );
             CREATE TABLE IF NOT EXISTS gdelt_events (
                 event_id INTEGER PRIMARY KEY,
                 version INTEGER NOT NULL,
                 day INTEGER NOT NULL,
                 slot INTEGER,
                 actor1_country TEXT NOT NULL,
                 actor2_country TEXT NOT NULL,
                 root_code INTEGER NOT NULL,
                 quad_class INTEGER NOT NULL,
                 goldstein REAL NOT NULL,
                 mentions INTEGER NOT NULL,
                 tone REAL NOT NULL,
                 seq INTEGER NOT NULL
             );
             CREATE INDEX IF NOT EXISTS gdelt_events_seq ON gdelt_events (seq);
             CREATE INDEX IF NOT EXISTS gdelt_events_day ON gdelt_events (day);
             CREATE INDEX IF NOT EXISTS gdelt_events_slot ON gdelt_events (slot)
                 WHERE slot IS NOT NULL;
             -- A corrected event that moved to another bucket leaves its old bucket to be
             -- recomputed; the trigger remembers it under the correction's sequence number.
             CREATE TABLE IF NOT EXISTS gdelt_moved (
                 seq INTEGER NOT NULL,
                 day INTEGER NOT NULL,
                 slot INTEGER
             );
             CREATE INDEX IF NOT EXISTS gdelt_moved_seq ON gdelt_moved (seq);
             CREATE TRIGGER IF NOT EXISTS gdelt_events_moved AFTER UPDATE ON gdelt_events
             WHEN old.day IS NOT new.day OR old.slot IS NOT new.slot
             BEGIN
                 INSERT INTO gdelt_moved (seq, day, slot) VALUES (new.seq, old.day, old.slot);
             END;
             CREATE TABLE IF NOT EXISTS cursors (
                 name TEXT PRIMARY KEY,
                 value TEXT NOT NULL
             );
             -- Covariate forecasts: one value per (series, issue, instant), never replaced.
             CREATE TABLE IF NOT EXISTS vintages (
                 series_key TEXT NOT NULL,
                 issued_at TEXT NOT NULL,
                 ts TEXT NOT NULL,
                 value REAL NOT NULL,
                 seq INTEGER NOT NULL,
                 PRIMARY KEY (series_key, issued_at, ts)
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS vintages_seq ON vintages (seq);",
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

    /// Lands covariate vintage values `(series key, issued_at, ts, value)` in one transaction.
    /// A value identical to the stored one changes nothing; one that differs from the stored
    /// one is not landed and its index in `rows` is returned, so the caller can reject it
    /// ("vintage already stored with another value"). Returns how many were landed and the
    /// conflicting rows' indexes with the stored values.
    pub fn land_vintages(
        &mut self,
        rows: &[(String, String, String, f64)],
    ) -> Result<(usize, Vec<(usize, f64)>), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err("beginning a landing"))?;
        let mut landed = 0;
        let mut conflicts = Vec::new();
        {
            let mut next: i64 = tx
                .query_row("SELECT COALESCE(MAX(seq), 0) FROM vintages", [], |r| {
                    r.get(0)
                })
                .map_err(err("reading the sequence"))?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO vintages (series_key, issued_at, ts, value, seq)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (series_key, issued_at, ts) DO NOTHING",
                )
                .map_err(err("preparing a landing"))?;
            let mut stored = tx
                .prepare_cached(
                    "SELECT value FROM vintages WHERE series_key = ?1 AND issued_at = ?2 AND ts = ?3",
                )
                .map_err(err("preparing a landing"))?;
            for (i, (key, issued_at, ts, value)) in rows.iter().enumerate() {
                next += 1;
                let n = insert
                    .execute(params![key, issued_at, ts, value, next])
                    .map_err(err("landing a vintage"))?;
                if n == 1 {
                    landed += 1;
                    continue;
                }
                let old: f64 = stored
                    .query_row(params![key, issued_at, ts], |r| r.get(0))
                    .map_err(err("reading a landed vintage"))?;
                if old != *value {
                    conflicts.push((i, old));
                }
            }
        }
        tx.commit().map_err(err("committing a landing"))?;
        Ok((landed, conflicts))
    }

    /// Landed vintage values after sequence `after`, at most `limit`, in sequence order.
    pub fn vintages_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<LandedVintage>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, series_key, issued_at, ts, value FROM vintages
                 WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(err("reading landed vintages"))?;
        let rows = stmt
            .query_map(params![after, limit as i64], |r| {
                Ok(LandedVintage {
                    seq: r.get(0)?,
                    series_key: r.get(1)?,
                    issued_at: r.get(2)?,
                    ts: r.get(3)?,
                    value: r.get(4)?,
                })
            })
            .map_err(err("reading landed vintages"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(err("reading landed vintages"))
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

    /// Lands GDELT events in one transaction, deduplicated by global event id; returns how
    /// many were new or changed. An identical event changes nothing; a changed one replaces the
    /// stored one with a new sequence number (and, if it moved, its old bucket is recomputed).
    pub fn land_gdelt(&mut self, events: &[GdeltEvent]) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err("beginning a landing"))?;
        let mut changed = 0;
        {
            let mut next: i64 = tx
                .query_row("SELECT COALESCE(MAX(seq), 0) FROM gdelt_events", [], |r| {
                    r.get(0)
                })
                .map_err(err("reading the sequence"))?;
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO gdelt_events (event_id, version, day, slot, actor1_country,
                         actor2_country, root_code, quad_class, goldstein, mentions, tone, seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                     ON CONFLICT (event_id) DO UPDATE SET
                         version = excluded.version, day = excluded.day, slot = excluded.slot,
                         actor1_country = excluded.actor1_country,
                         actor2_country = excluded.actor2_country,
                         root_code = excluded.root_code, quad_class = excluded.quad_class,
                         goldstein = excluded.goldstein, mentions = excluded.mentions,
                         tone = excluded.tone, seq = excluded.seq
                     WHERE (gdelt_events.version, gdelt_events.day, gdelt_events.slot,
                            gdelt_events.actor1_country, gdelt_events.actor2_country,
                            gdelt_events.root_code, gdelt_events.quad_class,
                            gdelt_events.goldstein, gdelt_events.mentions, gdelt_events.tone)
                        IS NOT (excluded.version, excluded.day, excluded.slot,
                            excluded.actor1_country, excluded.actor2_country,
                            excluded.root_code, excluded.quad_class, excluded.goldstein,
                            excluded.mentions, excluded.tone)",
                )
                .map_err(err("preparing a landing"))?;
            for e in events {
                next += 1;
                changed += stmt
                    .execute(params![
                        e.event_id,
                        e.version,
                        e.day,
                        e.slot,
                        e.actor1_country,
                        e.actor2_country,
                        e.root_code,
                        e.quad_class,
                        e.goldstein,
                        e.mentions,
                        e.tone,
                        next
                    ])
                    .map_err(err("landing an event"))?;
            }
        }
        tx.commit().map_err(err("committing a landing"))?;
        Ok(changed)
    }

    /// The highest GDELT sequence number landed (0 when none).
    pub fn gdelt_max_seq(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM gdelt_events", [], |r| {
                r.get(0)
            })
            .map_err(err("reading the sequence"))
    }

    /// The buckets touched by events landed (or moved away) with a sequence number in
    /// `(after, upto]`, in order.
    pub fn gdelt_buckets_touched(
        &self,
        after: i64,
        upto: i64,
    ) -> Result<Vec<GdeltBucket>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT day, slot FROM gdelt_events WHERE seq > ?1 AND seq <= ?2
                 UNION SELECT day, slot FROM gdelt_moved WHERE seq > ?1 AND seq <= ?2",
            )
            .map_err(err("reading touched buckets"))?;
        let rows = stmt
            .query_map(params![after, upto], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
            })
            .map_err(err("reading touched buckets"))?;
        let mut out = std::collections::BTreeSet::new();
        for row in rows {
            let (day, slot) = row.map_err(err("reading touched buckets"))?;
            out.insert(GdeltBucket::Day(day));
            if let Some(slot) = slot {
                out.insert(GdeltBucket::Slot(slot));
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Visits every stored event whose day is in `days` or whose 15-minute slot is in `slots`,
    /// in one pass per list (the roll-up aggregates a whole batch of buckets at once). The
    /// country codes are borrowed for the call only.
    pub fn gdelt_scan(
        &self,
        days: &[i64],
        slots: &[i64],
        mut visit: impl FnMut(GdeltScanned<'_>),
    ) -> Result<(), StoreError> {
        for (column, keys) in [("day", days), ("slot", slots)] {
            if keys.is_empty() {
                continue;
            }
            let list = keys
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let sql = format!(
                "SELECT day, slot, actor1_country, actor2_country, root_code, quad_class,
                        goldstein, mentions, tone
                 FROM gdelt_events WHERE {column} IN (SELECT value FROM json_each(?1))"
            );
            let mut stmt = self
                .conn
                .prepare_cached(&sql)
                .map_err(err("scanning events"))?;
            let mut rows = stmt
                .query(params![format!("[{list}]")])
                .map_err(err("scanning events"))?;
            while let Some(r) = rows.next().map_err(err("scanning events"))? {
                let text = |i: usize| -> Result<&str, rusqlite::Error> {
                    r.get_ref(i)?.as_str().map_err(rusqlite::Error::from)
                };
                visit(GdeltScanned {
                    day: r.get(0).map_err(err("scanning events"))?,
                    slot: r.get(1).map_err(err("scanning events"))?,
                    actor1_country: text(2).map_err(err("scanning events"))?,
                    actor2_country: text(3).map_err(err("scanning events"))?,
                    root_code: r.get(4).map_err(err("scanning events"))?,
                    quad_class: r.get(5).map_err(err("scanning events"))?,
                    goldstein: r.get(6).map_err(err("scanning events"))?,
                    mentions: r.get(7).map_err(err("scanning events"))?,
                    tone: r.get(8).map_err(err("scanning events"))?,
                });
            }
        }
        Ok(())
    }

    /// Aggregates of all stored events in `bucket`, by actor country, root code and quad class.
    pub fn gdelt_aggregate(&self, bucket: GdeltBucket) -> Result<Vec<GdeltAggregate>, StoreError> {
        let (column, value) = match bucket {
            GdeltBucket::Day(d) => ("day", d),
            GdeltBucket::Slot(s) => ("slot", s),
        };
        let sql = format!(
            "SELECT country, root_code, quad_class, COUNT(*), SUM(goldstein), SUM(tone),
                    SUM(mentions)
             FROM (SELECT actor1_country AS country, root_code, quad_class, goldstein, tone,
                          mentions
                   FROM gdelt_events WHERE {column} = ?1 AND actor1_country <> ''
                   UNION ALL
                   SELECT actor2_country, root_code, quad_class, goldstein, tone, mentions
                   FROM gdelt_events WHERE {column} = ?1 AND actor2_country <> ''
                        AND actor2_country <> actor1_country)
             GROUP BY country, root_code, quad_class"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(err("aggregating events"))?;
        let rows = stmt
            .query_map(params![value], |r| {
                Ok(GdeltAggregate {
                    country: r.get(0)?,
                    root_code: r.get(1)?,
                    quad_class: r.get(2)?,
                    events: r.get(3)?,
                    goldstein_sum: r.get(4)?,
                    tone_sum: r.get(5)?,
                    mentions: r.get(6)?,
                })
            })
            .map_err(err("aggregating events"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(err("aggregating events"))
    }

    /// Number of landed GDELT events.
    pub fn count_gdelt(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM gdelt_events", [], |r| r.get(0))
            .map_err(err("counting landed events"))
    }

    /// The cursor `name` of a feed (`None` when never set).
    pub fn cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row(
                "SELECT value FROM cursors WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(err("reading a cursor"))
    }

    /// Advances the cursor `name` of a feed, once its records are committed here.
    pub fn set_cursor(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO cursors (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![name, value],
            )
            .map(|_| ())
            .map_err(err("saving a cursor"))
    }

    /// Deletes records whose event time is before `cutoff_day` (days since the epoch) and that
    /// are already rolled up (sequence at or below the watermarks); returns how many.
    pub fn apply_retention(
        &self,
        cutoff_day: i64,
        observations_watermark: &str,
        gdelt_watermark: &str,
    ) -> Result<usize, StoreError> {
        let cutoff = chrono::DateTime::from_timestamp(cutoff_day * 86_400, 0)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            .unwrap_or_default();
        let obs_wm = self.watermark(observations_watermark)?;
        let gdelt_wm = self.watermark(gdelt_watermark)?;
        let mut n = self
            .conn
            .execute(
                "DELETE FROM observations WHERE ts < ?1 AND seq <= ?2",
                params![cutoff, obs_wm],
            )
            .map_err(err("applying retention"))?;
        n += self
            .conn
            .execute(
                "DELETE FROM gdelt_events WHERE day < ?1 AND seq <= ?2",
                params![cutoff_day, gdelt_wm],
            )
            .map_err(err("applying retention"))?;
        self.conn
            .execute("DELETE FROM gdelt_moved WHERE seq <= ?1", params![gdelt_wm])
            .map_err(err("applying retention"))?;
        Ok(n)
    }

    /// Number of landed observations.
    pub fn count_observations(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM observations", [], |r| r.get(0))
            .map_err(err("counting landed records"))
    }
}
