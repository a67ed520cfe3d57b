//! Ingest bookkeeping: one run per cycle and source, and the records set aside.

use horizon_domain::{IngestRejection, IngestRun, IngestStatus, Timestamp};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    Store, StoreError,
    codec::{now, parse},
    entities::{ingest_rejections as rej, ingest_runs as e},
};

/// The error of a run whose process stopped before finishing it.
pub const ABANDONED: &str = "the ingest process stopped, or its cycle failed (for instance when \
     the database went away), before finishing this run; found still running later";

fn to_domain(r: e::Model) -> Result<IngestRun, StoreError> {
    Ok(IngestRun {
        id: r.id,
        source: r.source,
        status: parse(&r.status)?,
        rows_read: r.rows_read,
        rows_landed: r.rows_landed,
        rows_rolled_up: r.rows_rolled_up,
        rows_rejected: r.rows_rejected,
        error: r.error,
        checkpoint: r.checkpoint,
        started_at: r.started_at,
        finished_at: r.finished_at,
    })
}

impl Store {
    /// Opens a running ingest run for `source`.
    pub async fn start_ingest_run(&self, source: &str) -> Result<IngestRun, StoreError> {
        let row = e::ActiveModel {
            id: Set(Uuid::now_v7()),
            source: Set(source.to_owned()),
            status: Set(IngestStatus::Running.to_string()),
            rows_read: Set(0),
            rows_landed: Set(0),
            rows_rolled_up: Set(0),
            rows_rejected: Set(0),
            error: Set(None),
            checkpoint: Set(None),
            started_at: Set(now()),
            finished_at: Set(None),
        }
        .insert(&self.db)
        .await
        .map_err(|e| StoreError::db("starting an ingest run", e))?;
        to_domain(row)
    }

    /// Saves a run's counters, status, error and checkpoint; stamps the finish time when the
    /// status is terminal.
    pub async fn finish_ingest_run(&self, run: &IngestRun) -> Result<(), StoreError> {
        let row = e::ActiveModel {
            id: Set(run.id),
            status: Set(run.status.to_string()),
            rows_read: Set(run.rows_read),
            rows_landed: Set(run.rows_landed),
            rows_rolled_up: Set(run.rows_rolled_up),
            rows_rejected: Set(run.rows_rejected),
            error: Set(run.error.clone()),
            checkpoint: Set(run.checkpoint.clone()),
            finished_at: Set(run.status.is_terminal().then(now)),
            ..Default::default()
        };
        e::Entity::update(row)
            .exec(&self.db)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::db("saving an ingest run", e))
    }

    /// Closes the runs of `sources` still marked running that started before `before`: the
    /// process that owned them stopped before finishing them (killed, crashed, powered off).
    /// They become failed with an error saying so; what they landed is kept, as landing is
    /// committed record by record and re-reading their input is a no-op. Returns how many.
    pub async fn abandon_ingest_runs(
        &self,
        sources: &[String],
        before: Timestamp,
    ) -> Result<u64, StoreError> {
        if sources.is_empty() {
            return Ok(0);
        }
        e::Entity::update_many()
            .col_expr(
                e::Column::Status,
                Expr::value(IngestStatus::Failed.to_string()),
            )
            .col_expr(e::Column::Error, Expr::value(ABANDONED))
            .col_expr(e::Column::FinishedAt, Expr::value(now()))
            .filter(e::Column::Status.eq(IngestStatus::Running.to_string()))
            .filter(e::Column::Source.is_in(sources.iter().cloned()))
            .filter(e::Column::StartedAt.lt(before))
            .exec(&self.db)
            .await
            .map(|r| r.rows_affected)
            .map_err(|e| StoreError::db("closing abandoned ingest runs", e))
    }

    /// Runs, newest first, optionally of one source.
    pub async fn list_ingest_runs(
        &self,
        source: Option<&str>,
        limit: u64,
    ) -> Result<Vec<IngestRun>, StoreError> {
        let mut q = e::Entity::find().order_by_desc(e::Column::Id);
        if let Some(s) = source {
            q = q.filter(e::Column::Source.eq(s));
        }
        q.limit(limit)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("listing ingest runs", e))?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    /// Records rejected records.
    pub async fn insert_rejections(&self, items: &[IngestRejection]) -> Result<(), StoreError> {
        let ts = now();
        for chunk in items.chunks(1_000) {
            let rows = chunk.iter().map(|r| rej::ActiveModel {
                id: Set(Uuid::now_v7()),
                run_id: Set(r.run_id),
                source: Set(r.source.clone()),
                line: Set(r.line),
                reason: Set(r.reason.clone()),
                raw: Set(r.raw.clone()),
                created_at: Set(ts),
            });
            rej::Entity::insert_many(rows)
                .exec_without_returning(&self.db)
                .await
                .map_err(|e| StoreError::db("recording rejected records", e))?;
        }
        Ok(())
    }

    /// Rejected records of a run, in line order.
    pub async fn rejections(&self, run_id: Uuid) -> Result<Vec<IngestRejection>, StoreError> {
        Ok(rej::Entity::find()
            .filter(rej::Column::RunId.eq(run_id))
            .order_by_asc(rej::Column::Line)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("reading rejected records", e))?
            .into_iter()
            .map(|r| IngestRejection {
                run_id: r.run_id,
                source: r.source,
                line: r.line,
                reason: r.reason,
                raw: r.raw,
            })
            .collect())
    }
}
