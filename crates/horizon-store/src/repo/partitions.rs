//! Partitions of pipeline runs and the job queue they are handed out through.
//!
//! On PostgreSQL a job per partition goes into `graphile_worker`'s queue in the same
//! transaction as the partition rows (its SQL `add_job` function), so a run is either planned
//! and queued whole or not at all. The partition row is the lease record: each worker that takes
//! it bumps `attempts` and appends itself to `workers`, and beats `heartbeat_at` while working.

use horizon_domain::{ExecutionStatus, Partition, Timestamp};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QueryOrder, Set, Statement, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    Store, StoreError,
    codec::{from_json, now, parse, to_json},
    entities::{executions as ex, pipeline_partitions as e},
};

/// A job for the PostgreSQL queue (`graphile_worker`'s `add_job`).
#[derive(Debug, Clone)]
pub struct QueuedJob {
    /// Task identifier, as the workers register it.
    pub task: &'static str,
    /// JSON payload.
    pub payload: serde_json::Value,
    /// Unique key: adding a job with a key already queued replaces it instead of duplicating.
    pub key: String,
    /// Attempts before the queue gives up on the job.
    pub max_attempts: i32,
}

/// The queue's schema and the jobs to add.
#[derive(Debug, Clone, Copy)]
pub struct JobQueue<'a> {
    /// Schema holding the queue (`graphile_worker` by default).
    pub schema: &'a str,
    /// Task identifier of partition jobs.
    pub partition_task: &'static str,
    /// Attempts per partition.
    pub max_attempts: i32,
}

fn to_domain(row: e::Model) -> Result<Partition, StoreError> {
    Ok(Partition {
        id: row.id,
        execution_id: row.execution_id,
        seq: row.seq,
        series_ids: from_json("partition series", row.series_ids)?,
        status: parse(&row.status)?,
        attempts: row.attempts,
        worker: row.worker,
        workers: from_json("partition workers", row.workers)?,
        series_done: row.series_done,
        error: row.error,
        heartbeat_at: row.heartbeat_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
    })
}

fn db(context: &'static str) -> impl FnOnce(sea_orm::DbErr) -> StoreError {
    move |e| StoreError::db(context, e)
}

fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let ok = !schema.is_empty()
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Config {
            reason: format!("queue schema {schema:?} must be lowercase letters, digits and _"),
        })
    }
}

pub(crate) async fn add_job<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    job: &QueuedJob,
) -> Result<(), StoreError> {
    check_schema_name(schema)?;
    let sql = format!(
        "SELECT {schema}.add_job(identifier => $1::text, payload => $2::json, \
         job_key => $3::text, max_attempts => $4::int)"
    );
    conn.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        sql,
        [
            job.task.into(),
            job.payload.to_string().into(),
            job.key.clone().into(),
            job.max_attempts.into(),
        ],
    ))
    .await
    .map_err(db("queueing a job"))?;
    Ok(())
}

impl Store {
    /// Stores the partitions of a run and, with `queue` (PostgreSQL only), queues one job per
    /// partition, all in one transaction; moves the execution to running.
    pub async fn plan_partitions(
        &self,
        execution_id: Uuid,
        parts: &[Vec<Uuid>],
        queue: Option<JobQueue<'_>>,
    ) -> Result<Vec<Partition>, StoreError> {
        if queue.is_some() && self.backend() != horizon_settings::DatabaseKind::Postgres {
            return Err(StoreError::Config {
                reason: "the job queue needs PostgreSQL; on SQLite runs are worked in process"
                    .into(),
            });
        }
        let txn = self.begin_write().await.map_err(db("planning a run"))?;
        let mut out = Vec::with_capacity(parts.len());
        for (i, ids) in parts.iter().enumerate() {
            let row = e::ActiveModel {
                id: Set(Uuid::now_v7()),
                execution_id: Set(execution_id),
                seq: Set(i as i32 + 1),
                series_ids: Set(to_json(ids)),
                status: Set(ExecutionStatus::Queued.to_string()),
                attempts: Set(0),
                worker: Set(None),
                workers: Set(serde_json::json!([])),
                series_done: Set(0),
                error: Set(None),
                heartbeat_at: Set(None),
                started_at: Set(None),
                finished_at: Set(None),
            }
            .insert(&txn)
            .await
            .map_err(db("planning a partition"))?;
            if let Some(q) = queue {
                add_job(
                    &txn,
                    q.schema,
                    &QueuedJob {
                        task: q.partition_task,
                        payload: serde_json::json!({
                            "execution_id": execution_id,
                            "partition_id": row.id,
                        }),
                        key: format!("partition:{}", row.id),
                        max_attempts: q.max_attempts,
                    },
                )
                .await?;
            }
            out.push(to_domain(row)?);
        }
        let ts = now();
        ex::Entity::update_many()
            .col_expr(
                ex::Column::Status,
                Expr::value(ExecutionStatus::Running.as_str()),
            )
            .col_expr(ex::Column::StartedAt, Expr::value(ts))
            .col_expr(ex::Column::HeartbeatAt, Expr::value(ts))
            .filter(ex::Column::Id.eq(execution_id))
            .exec(&txn)
            .await
            .map_err(db("starting a run"))?;
        txn.commit().await.map_err(db("planning a run"))?;
        Ok(out)
    }

    /// Queues one job on PostgreSQL's queue (e.g. an API job), outside any partition.
    pub async fn queue_job(&self, schema: &str, job: &QueuedJob) -> Result<(), StoreError> {
        add_job(&self.db, schema, job).await
    }

    /// The partitions of a run, in order.
    pub async fn partitions(&self, execution_id: Uuid) -> Result<Vec<Partition>, StoreError> {
        e::Entity::find()
            .filter(e::Column::ExecutionId.eq(execution_id))
            .order_by_asc(e::Column::Seq)
            .all(&self.db)
            .await
            .map_err(db("reading partitions"))?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    /// The partition with id `id`.
    pub async fn partition(&self, id: Uuid) -> Result<Partition, StoreError> {
        let row = e::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(db("reading a partition"))?
            .ok_or_else(|| StoreError::NotFound {
                what: "partition",
                id: id.to_string(),
            })?;
        to_domain(row)
    }

    /// Takes a partition for `worker`: a new attempt, recorded in the lease history. A
    /// partition already succeeded is returned unchanged (its job was redone after the work
    /// committed), and the caller skips it.
    pub async fn start_partition(&self, id: Uuid, worker: &str) -> Result<Partition, StoreError> {
        let txn = self.begin_write().await.map_err(db("taking a partition"))?;
        let row = e::Entity::find_by_id(id)
            .one(&txn)
            .await
            .map_err(db("taking a partition"))?
            .ok_or_else(|| StoreError::NotFound {
                what: "partition",
                id: id.to_string(),
            })?;
        if row.status == ExecutionStatus::Succeeded.as_str() {
            return to_domain(row);
        }
        let mut workers: Vec<String> = from_json("partition workers", row.workers.clone())?;
        workers.push(worker.to_owned());
        let ts = now();
        let row = e::ActiveModel {
            id: Set(id),
            status: Set(ExecutionStatus::Running.to_string()),
            attempts: Set(row.attempts + 1),
            worker: Set(Some(worker.to_owned())),
            workers: Set(to_json(&workers)),
            series_done: Set(0),
            error: Set(None),
            heartbeat_at: Set(Some(ts)),
            started_at: Set(Some(ts)),
            finished_at: Set(None),
            ..Default::default()
        }
        .update(&txn)
        .await
        .map_err(db("taking a partition"))?;
        txn.commit().await.map_err(db("taking a partition"))?;
        to_domain(row)
    }

    /// A heartbeat of the worker on a partition, with the series finished so far.
    pub async fn heartbeat_partition(&self, id: Uuid, series_done: i64) -> Result<(), StoreError> {
        e::Entity::update_many()
            .col_expr(e::Column::HeartbeatAt, Expr::value(now()))
            .col_expr(e::Column::SeriesDone, Expr::value(series_done))
            .filter(e::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(db("beating a partition's heartbeat"))?;
        Ok(())
    }

    /// Ends an attempt on a partition.
    pub async fn finish_partition(
        &self,
        id: Uuid,
        status: ExecutionStatus,
        series_done: i64,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        let ts = now();
        e::Entity::update_many()
            .col_expr(e::Column::Status, Expr::value(status.as_str()))
            .col_expr(e::Column::SeriesDone, Expr::value(series_done))
            .col_expr(e::Column::Error, Expr::value(error))
            .col_expr(e::Column::HeartbeatAt, Expr::value(ts))
            .col_expr(e::Column::FinishedAt, Expr::value(ts))
            .filter(e::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(db("finishing a partition"))?;
        Ok(())
    }

    /// Updates a run from its partitions: progress, and once every partition succeeded the
    /// run succeeds (whichever worker commits its partition last sees them all). Returns the
    /// run's status afterwards.
    pub async fn settle_execution(
        &self,
        execution_id: Uuid,
    ) -> Result<ExecutionStatus, StoreError> {
        let parts = self.partitions(execution_id).await?;
        let done = parts
            .iter()
            .filter(|p| p.status == ExecutionStatus::Succeeded)
            .count();
        let ts = now();
        let all = !parts.is_empty() && done == parts.len();
        let progress = if parts.is_empty() {
            0.0
        } else {
            done as f64 / parts.len() as f64
        };
        let mut q = ex::Entity::update_many()
            .col_expr(ex::Column::Progress, Expr::value(progress))
            .col_expr(ex::Column::HeartbeatAt, Expr::value(ts))
            .filter(ex::Column::Id.eq(execution_id))
            .filter(ex::Column::Status.eq(ExecutionStatus::Running.as_str()));
        if all {
            q = q
                .col_expr(
                    ex::Column::Status,
                    Expr::value(ExecutionStatus::Succeeded.as_str()),
                )
                .col_expr(ex::Column::FinishedAt, Expr::value(Some(ts)));
        }
        q.exec(&self.db).await.map_err(db("settling a run"))?;
        Ok(self.execution(execution_id).await?.status)
    }

    /// Partitions whose worker has not beaten for longer than `stale_before` allows (for
    /// reports; the queue itself recovers their jobs).
    pub async fn stale_partitions(
        &self,
        stale_before: Timestamp,
    ) -> Result<Vec<Partition>, StoreError> {
        e::Entity::find()
            .filter(e::Column::Status.eq(ExecutionStatus::Running.as_str()))
            .filter(e::Column::HeartbeatAt.lt(stale_before))
            .all(&self.db)
            .await
            .map_err(db("finding stale partitions"))?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    /// Takes the oldest queued execution of one of `kinds` for an in-process worker (SQLite or
    /// all-in-one deployments); `None` when there is none. Safe against concurrent takers: only
    /// one moves it from queued to running.
    pub async fn take_queued_execution(
        &self,
        kinds: &[horizon_domain::ExecutionKind],
    ) -> Result<Option<horizon_domain::Execution>, StoreError> {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let candidates = ex::Entity::find()
            .filter(ex::Column::Status.eq(ExecutionStatus::Queued.as_str()))
            .filter(ex::Column::Kind.is_in(kinds))
            .order_by_asc(ex::Column::Id)
            .all(&self.db)
            .await
            .map_err(db("finding queued executions"))?;
        for row in candidates {
            let ts = now();
            let taken = ex::Entity::update_many()
                .col_expr(
                    ex::Column::Status,
                    Expr::value(ExecutionStatus::Running.as_str()),
                )
                .col_expr(ex::Column::StartedAt, Expr::value(Some(ts)))
                .col_expr(ex::Column::HeartbeatAt, Expr::value(Some(ts)))
                .filter(ex::Column::Id.eq(row.id))
                .filter(ex::Column::Status.eq(ExecutionStatus::Queued.as_str()))
                .exec(&self.db)
                .await
                .map_err(db("taking a queued execution"))?;
            if taken.rows_affected == 1 {
                return self.execution(row.id).await.map(Some);
            }
        }
        Ok(None)
    }
}
