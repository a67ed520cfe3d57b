//! Bulk observation reads and writes. Reads: on PostgreSQL histories stream out with binary
//! `COPY … TO STDOUT`, decoded straight into observations.
//!
//! Writes, for the ingest roll-up: on PostgreSQL a batch whose (series,
//! instant) range holds no stored row yet — new buckets, the usual case — streams straight
//! into `observations` with binary `COPY`; any other batch is merged with one
//! `INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE` that leaves equal values alone. On
//! SQLite the rows go in as multi-row upserts. Both are idempotent, so replaying a batch
//! changes nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use horizon_domain::{Observation, Timestamp};
use sea_orm::{
    DbErr, RuntimeErr,
    sqlx::{self, Acquire, PgConnection},
};
use uuid::Uuid;

use crate::{Store, StoreError, repo::observations::ObservationRow};

/// Rows per `COPY` message.
const COPY_CHUNK: usize = 8_192;
/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

fn sqlx_err(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| StoreError::db(context, DbErr::Exec(RuntimeErr::SqlxError(e.into())))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("23505"))
}

impl Store {
    /// Writes observations as fast as the backend allows; a row for an existing (series,
    /// instant) replaces its value. Rows must have distinct (series, instant) pairs, as the
    /// roll-up produces them. Returns the number of rows given.
    pub async fn upsert_observations_bulk(
        &self,
        rows: &[ObservationRow],
    ) -> Result<u64, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        match self.backend() {
            horizon_settings::DatabaseKind::Sqlite => self.upsert_observations(rows).await,
            horizon_settings::DatabaseKind::Postgres => self.write_observations_pg(rows).await,
        }
    }

    /// Streams the observations of `series_ids` in `[from, until)` with one binary `COPY` and
    /// appends them, oldest first, to `out`.
    pub(crate) async fn copy_histories_pg(
        &self,
        series_ids: &[Uuid],
        from: Option<Timestamp>,
        until: Option<Timestamp>,
        out: &mut HashMap<Uuid, Vec<Observation>>,
    ) -> Result<(), StoreError> {
        if series_ids.is_empty() {
            return Ok(());
        }
        // COPY takes no bind parameters; every literal below is formatted from typed values
        // (uuids, instants), so nothing from outside reaches the statement text.
        let ids: Vec<String> = series_ids.iter().map(Uuid::to_string).collect();
        let mut filter = format!("series_id = ANY('{{{}}}'::uuid[])", ids.join(","));
        if let Some(from) = from {
            filter.push_str(&format!(" AND ts >= '{}'", from.to_rfc3339()));
        }
        if let Some(until) = until {
            filter.push_str(&format!(" AND ts < '{}'", until.to_rfc3339()));
        }
        self.copy_out_observations(
            &format!("SELECT series_id, ts, value FROM observations WHERE {filter}"),
            out,
        )
        .await
    }

    /// Streams, for each `(series, span)`, the observations within `span` up to and including
    /// the series' latest observation before `until` (all of them when `span` is `None`) with
    /// one binary `COPY`, and appends them, oldest first, to `out`.
    pub(crate) async fn copy_recent_histories_pg(
        &self,
        series: &[(Uuid, Option<chrono::Duration>)],
        until: Option<Timestamp>,
        out: &mut HashMap<Uuid, Vec<Observation>>,
    ) -> Result<(), StoreError> {
        if series.is_empty() {
            return Ok(());
        }
        // As above: only typed values are formatted into the statement.
        let ids: Vec<String> = series.iter().map(|(id, _)| id.to_string()).collect();
        let spans: Vec<String> = series
            .iter()
            .map(|(_, span)| {
                span.and_then(|d| d.num_microseconds())
                    .map_or_else(|| "NULL".to_owned(), |us| us.to_string())
            })
            .collect();
        let before = until
            .map(|u| format!(" AND ts < '{}'", u.to_rfc3339()))
            .unwrap_or_default();
        // One index probe per series finds its latest instant; the range scan follows it.
        let query = format!(
            "SELECT o.series_id, o.ts, o.value \
             FROM unnest('{{{}}}'::uuid[], '{{{}}}'::bigint[]) AS w(id, span_us) \
             CROSS JOIN LATERAL (SELECT max(ts) AS last FROM observations \
                                 WHERE series_id = w.id{before}) AS l \
             JOIN observations o ON o.series_id = w.id AND o.ts <= l.last \
              AND o.ts > COALESCE(l.last - w.span_us * interval '1 microsecond', '-infinity')",
            ids.join(","),
            spans.join(","),
        );
        self.copy_out_observations(&query, out).await
    }

    /// Runs `COPY (query) TO STDOUT (FORMAT binary)` for a query of `(series_id, ts, value)`
    /// rows and appends them to `out` in the order they come; see [`sort_histories`].
    pub(crate) async fn copy_out_observations(
        &self,
        query: &str,
        out: &mut HashMap<Uuid, Vec<Observation>>,
    ) -> Result<(), StoreError> {
        let statement = format!("COPY ({query}) TO STDOUT (FORMAT binary)");
        let pool = self.db.get_postgres_connection_pool();
        let mut conn = pool
            .acquire()
            .await
            .map_err(sqlx_err("acquiring a connection for a history load"))?;
        let mut stream = conn
            .copy_out_raw(&statement)
            .await
            .map_err(sqlx_err("loading histories"))?;
        let mut decoder = CopyOutDecoder::default();
        while let Some(bytes) = stream
            .try_next()
            .await
            .map_err(sqlx_err("loading histories"))?
        {
            decoder.feed(&bytes, out)?;
        }
        decoder.finish()
    }

    async fn write_observations_pg(&self, rows: &[ObservationRow]) -> Result<u64, StoreError> {
        // In index order: the primary key is walked once instead of jumped around in.
        let mut rows: Vec<(Uuid, i64, f64)> = rows
            .iter()
            .map(|r| (r.series_id, r.ts.timestamp_micros(), r.value))
            .collect();
        rows.sort_unstable_by_key(|r| (r.0, r.1));
        let pool = self.db.get_postgres_connection_pool();
        let mut conn = pool
            .acquire()
            .await
            .map_err(sqlx_err("acquiring a connection for a bulk write"))?;
        if !any_stored(&mut conn, &rows).await? {
            match copy_new(&mut conn, &rows).await {
                Ok(()) => return Ok(rows.len() as u64),
                // Another writer got there between the check and the COPY: merge instead.
                Err(e) if is_unique_violation(&e) => {}
                Err(e) => return Err(sqlx_err("copying observations")(e)),
            }
        }
        merge(&mut conn, &rows).await?;
        Ok(rows.len() as u64)
    }
}

/// Whether any stored observation of the batch's series lies in the batch's time range — one
/// index probe per series, far cheaper than one per row.
async fn any_stored(
    conn: &mut PgConnection,
    rows: &[(Uuid, i64, f64)],
) -> Result<bool, StoreError> {
    let mut series: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    series.dedup();
    let (from, to) = rows.iter().fold((i64::MAX, i64::MIN), |(lo, hi), r| {
        (lo.min(r.1), hi.max(r.1))
    });
    let instant = |m: i64| DateTime::<Utc>::from_timestamp_micros(m).unwrap_or_default();
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM observations
                        WHERE series_id = ANY($1) AND ts BETWEEN $2 AND $3)",
    )
    .bind(&series)
    .bind(instant(from))
    .bind(instant(to))
    .fetch_one(&mut *conn)
    .await
    .map_err(sqlx_err("checking for stored observations"))
}

/// Streams rows that are all new into `observations` with binary `COPY` in one transaction.
async fn copy_new(conn: &mut PgConnection, rows: &[(Uuid, i64, f64)]) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    let mut copy = tx
        .copy_in_raw("COPY observations (series_id, ts, value) FROM STDIN (FORMAT binary)")
        .await?;
    // Binary COPY: signature, flags, header extension length; per row the field count and
    // each field as length + big-endian value; a trailer of -1.
    let mut buf = Vec::with_capacity(19 + COPY_CHUNK.min(rows.len()) * 46 + 2);
    buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    buf.extend_from_slice(&0i32.to_be_bytes());
    buf.extend_from_slice(&0i32.to_be_bytes());
    for chunk in rows.chunks(COPY_CHUNK) {
        for (series, ts, value) in chunk {
            buf.extend_from_slice(&3i16.to_be_bytes());
            buf.extend_from_slice(&16i32.to_be_bytes());
            buf.extend_from_slice(series.as_bytes());
            buf.extend_from_slice(&8i32.to_be_bytes());
            buf.extend_from_slice(&(ts - PG_EPOCH_MICROS).to_be_bytes());
            buf.extend_from_slice(&8i32.to_be_bytes());
            buf.extend_from_slice(&value.to_be_bytes());
        }
        copy.send(buf.as_slice()).await?;
        buf.clear();
    }
    copy.send((-1i16).to_be_bytes().as_slice()).await?;
    copy.finish().await?;
    tx.commit().await
}

/// Upserts rows of which some may be stored: a changed value is replaced, an equal one left
/// alone (no dead tuple, no index write).
async fn merge(conn: &mut PgConnection, rows: &[(Uuid, i64, f64)]) -> Result<(), StoreError> {
    let series: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let ts: Vec<DateTime<Utc>> = rows
        .iter()
        .map(|r| DateTime::<Utc>::from_timestamp_micros(r.1).unwrap_or_default())
        .collect();
    let values: Vec<f64> = rows.iter().map(|r| r.2).collect();
    sqlx::query(
        "INSERT INTO observations (series_id, ts, value)
         SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::float8[])
         ON CONFLICT (series_id, ts) DO UPDATE SET value = EXCLUDED.value
         WHERE observations.value IS DISTINCT FROM EXCLUDED.value",
    )
    .bind(&series)
    .bind(&ts)
    .bind(&values)
    .execute(&mut *conn)
    .await
    .map(|_| ())
    .map_err(sqlx_err("merging observations"))
}

/// Decodes a binary `COPY` stream of `(uuid, timestamptz, float8)` rows arriving in chunks of
/// any size: whole rows are decoded as they complete, a partial one waits for the next chunk.
#[derive(Default)]
struct CopyOutDecoder {
    pending: Vec<u8>,
    header_read: bool,
    ended: bool,
    // The series of the last row and where its vector is, to skip a hash lookup per row.
    current: Option<Uuid>,
}

/// Signature, flags and header-extension length of a binary `COPY` stream.
const COPY_HEADER: usize = 19;
/// A row: field count, then three length-prefixed fields (16 + 8 + 8 bytes).
const COPY_ROW: usize = 2 + 4 + 16 + 4 + 8 + 4 + 8;

fn malformed(what: &str) -> StoreError {
    StoreError::db(
        "loading histories",
        DbErr::Custom(format!("malformed COPY stream: {what}")),
    )
}

impl CopyOutDecoder {
    fn feed(
        &mut self,
        chunk: &[u8],
        out: &mut HashMap<Uuid, Vec<Observation>>,
    ) -> Result<(), StoreError> {
        let owned;
        let mut data: &[u8] = if self.pending.is_empty() {
            chunk
        } else {
            self.pending.extend_from_slice(chunk);
            owned = std::mem::take(&mut self.pending);
            &owned
        };
        if !self.header_read {
            if data.len() < COPY_HEADER {
                self.pending = data.to_vec();
                return Ok(());
            }
            if &data[..11] != b"PGCOPY\n\xff\r\n\0" {
                return Err(malformed("bad signature"));
            }
            let ext = i32::from_be_bytes(data[15..19].try_into().expect("4 bytes")) as usize;
            if data.len() < COPY_HEADER + ext {
                self.pending = data.to_vec();
                return Ok(());
            }
            data = &data[COPY_HEADER + ext..];
            self.header_read = true;
        }
        let mut vec: Option<&mut Vec<Observation>> = None;
        while data.len() >= 2 {
            let fields = i16::from_be_bytes([data[0], data[1]]);
            if fields == -1 {
                self.ended = true;
                data = &data[2..];
                break;
            }
            if data.len() < COPY_ROW {
                break;
            }
            let row = &data[..COPY_ROW];
            let lengths = [
                i32::from_be_bytes(row[2..6].try_into().expect("4 bytes")),
                i32::from_be_bytes(row[22..26].try_into().expect("4 bytes")),
                i32::from_be_bytes(row[34..38].try_into().expect("4 bytes")),
            ];
            if fields != 3 || lengths != [16, 8, 8] {
                return Err(malformed("unexpected row layout"));
            }
            let series = Uuid::from_bytes(row[6..22].try_into().expect("16 bytes"));
            let micros = i64::from_be_bytes(row[26..34].try_into().expect("8 bytes"));
            let value = f64::from_be_bytes(row[38..46].try_into().expect("8 bytes"));
            let ts = DateTime::<Utc>::from_timestamp_micros(micros + PG_EPOCH_MICROS)
                .ok_or_else(|| malformed("instant out of range"))?;
            if self.current != Some(series) || vec.is_none() {
                self.current = Some(series);
                vec = Some(out.entry(series).or_default());
            }
            if let Some(v) = vec.as_deref_mut() {
                v.push(Observation { ts, value });
            }
            data = &data[COPY_ROW..];
        }
        if !data.is_empty() && !self.ended {
            self.pending = data.to_vec();
        }
        Ok(())
    }

    fn finish(self) -> Result<(), StoreError> {
        if self.ended && self.pending.is_empty() {
            Ok(())
        } else {
            Err(malformed("ended without its trailer"))
        }
    }
}

/// Sorts each history by instant. `COPY` rows come in index order per series in practice;
/// this is the guarantee, run once after all of a load's chunks.
pub(crate) fn sort_histories(out: &mut HashMap<Uuid, Vec<Observation>>) {
    for history in out.values_mut() {
        if !history.is_sorted_by_key(|o| o.ts) {
            history.sort_by_key(|o| o.ts);
        }
    }
}
