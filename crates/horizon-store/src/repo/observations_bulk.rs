//! Bulk observation writes for the ingest roll-up: on PostgreSQL the rows stream in with
//! `COPY` into a session-local staging table and are merged with one `INSERT … ON CONFLICT`;
//! on SQLite they go in as multi-row upserts. Both are idempotent, so replaying a batch changes
//! nothing.

use std::fmt::Write as _;

use sea_orm::{
    DbErr, RuntimeErr,
    sqlx::{self, Acquire, Executor},
};

use crate::{Store, StoreError, codec::micros, repo::observations::ObservationRow};

fn sqlx_err(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| StoreError::db(context, DbErr::Exec(RuntimeErr::SqlxError(e.into())))
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
            horizon_settings::DatabaseKind::Postgres => self.copy_observations(rows).await,
        }
    }

    async fn copy_observations(&self, rows: &[ObservationRow]) -> Result<u64, StoreError> {
        let pool = self.db.get_postgres_connection_pool();
        let mut conn = pool
            .acquire()
            .await
            .map_err(sqlx_err("acquiring a connection for COPY"))?;
        let mut tx = conn
            .begin()
            .await
            .map_err(sqlx_err("beginning a bulk write"))?;
        // A temporary table lives as long as the pooled connection; ON COMMIT DELETE ROWS empties
        // it after each batch, and no index keeps COPY at full speed.
        tx.execute(
            "CREATE TEMP TABLE IF NOT EXISTS observations_stage
                 (series_id uuid, ts timestamptz, value float8) ON COMMIT DELETE ROWS",
        )
        .await
        .map_err(sqlx_err("creating the staging table"))?;
        let mut copy = tx
            .copy_in_raw("COPY observations_stage (series_id, ts, value) FROM STDIN")
            .await
            .map_err(sqlx_err("starting COPY"))?;
        let mut buf = String::with_capacity(1 << 20);
        for chunk in rows.chunks(10_000) {
            buf.clear();
            for r in chunk {
                // Text COPY format: tab-separated, one row per line; f64's Display is the
                // shortest string that reads back to the same value.
                let _ = writeln!(
                    buf,
                    "{}\t{}\t{}",
                    r.series_id,
                    micros(r.ts).format("%Y-%m-%d %H:%M:%S%.6f+00"),
                    r.value
                );
            }
            copy.send(buf.as_bytes())
                .await
                .map_err(sqlx_err("streaming COPY rows"))?;
        }
        copy.finish().await.map_err(sqlx_err("finishing COPY"))?;
        tx.execute(
            "INSERT INTO observations (series_id, ts, value)
             SELECT series_id, ts, value FROM observations_stage
             ON CONFLICT (series_id, ts) DO UPDATE SET value = EXCLUDED.value
             WHERE observations.value IS DISTINCT FROM EXCLUDED.value",
        )
        .await
        .map_err(sqlx_err("merging staged observations"))?;
        tx.commit()
            .await
            .map_err(sqlx_err("committing a bulk write"))?;
        Ok(rows.len() as u64)
    }
}
