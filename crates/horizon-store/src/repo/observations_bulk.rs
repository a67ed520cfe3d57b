//! Bulk observation writes for the ingest roll-up. On PostgreSQL a batch whose (series,
//! instant) range holds no stored row yet — new buckets, the usual case — streams straight
//! into `observations` with binary `COPY`; any other batch is merged with one
//! `INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE` that leaves equal values alone. On
//! SQLite the rows go in as multi-row upserts. Both are idempotent, so replaying a batch
//! changes nothing.

use chrono::{DateTime, Utc};
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
