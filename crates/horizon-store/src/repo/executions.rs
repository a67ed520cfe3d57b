//! Executions and their step logs.

use horizon_domain::{Execution, ExecutionKind, ExecutionStatus, ExecutionStep, StepStatus};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    Store, StoreError,
    codec::{now, parse},
    entities::{execution_steps as steps, executions as e},
};

/// A step to log.
#[derive(Debug, Clone)]
pub struct NewStep {
    /// Step name.
    pub name: String,
    /// Outcome so far.
    pub status: StepStatus,
    /// Log message.
    pub message: Option<String>,
    /// Items handled.
    pub items: Option<i64>,
    /// Started at.
    pub started_at: horizon_domain::Timestamp,
    /// Ended at.
    pub finished_at: Option<horizon_domain::Timestamp>,
}

fn to_domain(row: e::Model) -> Result<Execution, StoreError> {
    Ok(Execution {
        id: row.id,
        kind: parse(&row.kind)?,
        status: parse(&row.status)?,
        request: row.request,
        idempotency_key: row.idempotency_key,
        request_hash: row.request_hash,
        progress: row.progress,
        error: row.error,
        requested_by: row.requested_by,
        created_at: row.created_at,
        started_at: row.started_at,
        heartbeat_at: row.heartbeat_at,
        finished_at: row.finished_at,
    })
}

fn step_to_domain(row: steps::Model) -> Result<ExecutionStep, StoreError> {
    Ok(ExecutionStep {
        id: row.id,
        execution_id: row.execution_id,
        seq: row.seq,
        name: row.name,
        status: parse(&row.status)?,
        message: row.message,
        items: row.items,
        started_at: row.started_at,
        finished_at: row.finished_at,
    })
}

impl Store {
    /// Creates a queued execution.
    pub async fn create_execution(
        &self,
        kind: ExecutionKind,
        request: serde_json::Value,
        idempotency_key: Option<String>,
        request_hash: Option<String>,
        requested_by: Option<Uuid>,
    ) -> Result<Execution, StoreError> {
        self.create_execution_queued(
            kind,
            request,
            idempotency_key,
            request_hash,
            requested_by,
            None,
        )
        .await
    }

    /// Creates a queued execution and, with `job` (PostgreSQL only), queues the job that will
    /// run it, in the same transaction: a stored execution always has its job. The job's
    /// payload is `{"execution_id": id}` and its key `execution:{id}`.
    pub async fn create_execution_queued(
        &self,
        kind: ExecutionKind,
        request: serde_json::Value,
        idempotency_key: Option<String>,
        request_hash: Option<String>,
        requested_by: Option<Uuid>,
        job: Option<(&str, &'static str, i32)>,
    ) -> Result<Execution, StoreError> {
        let txn = self
            .begin_write()
            .await
            .map_err(|e| StoreError::db("creating an execution", e))?;
        let id = Uuid::now_v7();
        let row = e::ActiveModel {
            id: Set(id),
            kind: Set(kind.to_string()),
            status: Set(ExecutionStatus::Queued.to_string()),
            request: Set(request),
            idempotency_key: Set(idempotency_key),
            request_hash: Set(request_hash),
            progress: Set(0.0),
            error: Set(None),
            requested_by: Set(requested_by),
            created_at: Set(now()),
            started_at: Set(None),
            heartbeat_at: Set(None),
            finished_at: Set(None),
        }
        .insert(&txn)
        .await
        .map_err(|e| StoreError::db("creating an execution", e))?;
        if let Some((schema, task, max_attempts)) = job {
            crate::repo::partitions::add_job(
                &txn,
                schema,
                &crate::QueuedJob {
                    task,
                    payload: serde_json::json!({ "execution_id": id }),
                    key: format!("execution:{id}"),
                    max_attempts,
                },
            )
            .await?;
        }
        txn.commit()
            .await
            .map_err(|e| StoreError::db("creating an execution", e))?;
        to_domain(row)
    }

    /// The execution with id `id`.
    pub async fn execution(&self, id: Uuid) -> Result<Execution, StoreError> {
        let row = e::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(|e| StoreError::db("reading an execution", e))?
            .ok_or_else(|| StoreError::NotFound {
                what: "execution",
                id: id.to_string(),
            })?;
        to_domain(row)
    }

    /// The execution created with an idempotency key, if any.
    pub async fn execution_by_idempotency_key(
        &self,
        key: &str,
    ) -> Result<Option<Execution>, StoreError> {
        e::Entity::find()
            .filter(e::Column::IdempotencyKey.eq(key))
            .one(&self.db)
            .await
            .map_err(|e| StoreError::db("reading an execution", e))?
            .map(to_domain)
            .transpose()
    }

    /// Executions, newest first, optionally of one status.
    pub async fn list_executions(
        &self,
        status: Option<ExecutionStatus>,
        limit: u64,
    ) -> Result<Vec<Execution>, StoreError> {
        let mut q = e::Entity::find().order_by_desc(e::Column::Id);
        if let Some(s) = status {
            q = q.filter(e::Column::Status.eq(s.as_str()));
        }
        q.limit(limit)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("listing executions", e))?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    /// Moves an execution to `status`, with progress and error; sets start/finish times.
    pub async fn set_execution_status(
        &self,
        id: Uuid,
        status: ExecutionStatus,
        progress: f64,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        let ts = now();
        let mut row = e::ActiveModel {
            id: Set(id),
            status: Set(status.to_string()),
            progress: Set(progress.clamp(0.0, 1.0)),
            error: Set(error),
            heartbeat_at: Set(Some(ts)),
            ..Default::default()
        };
        if status == ExecutionStatus::Running {
            row.started_at = Set(Some(ts));
        }
        if status.is_terminal() {
            row.finished_at = Set(Some(ts));
        }
        e::Entity::update(row)
            .exec(&self.db)
            .await
            .map(|_| ())
            .map_err(StoreError::update("execution", id, "updating an execution"))
    }

    /// Fails an execution with `error` if it is still running (a watchdog's verdict must not
    /// overwrite an ending another process recorded meanwhile); whether it did.
    pub async fn fail_running_execution(
        &self,
        id: Uuid,
        error: String,
    ) -> Result<bool, StoreError> {
        let ts = now();
        let done = e::Entity::update_many()
            .col_expr(
                e::Column::Status,
                Expr::value(ExecutionStatus::Failed.as_str()),
            )
            .col_expr(e::Column::Error, Expr::value(Some(error)))
            .col_expr(e::Column::FinishedAt, Expr::value(Some(ts)))
            .filter(e::Column::Id.eq(id))
            .filter(e::Column::Status.eq(ExecutionStatus::Running.as_str()))
            .exec(&self.db)
            .await
            .map_err(|e| StoreError::db("failing a stalled execution", e))?;
        Ok(done.rows_affected == 1)
    }

    /// Records progress and a heartbeat.
    pub async fn heartbeat_execution(&self, id: Uuid, progress: f64) -> Result<(), StoreError> {
        let row = e::ActiveModel {
            id: Set(id),
            progress: Set(progress.clamp(0.0, 1.0)),
            heartbeat_at: Set(Some(now())),
            ..Default::default()
        };
        e::Entity::update(row)
            .exec(&self.db)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::db("recording progress", e))
    }

    /// Appends a step to an execution's log; returns its id.
    pub async fn add_step(&self, execution_id: Uuid, step: NewStep) -> Result<Uuid, StoreError> {
        let seq: Option<i32> = steps::Entity::find()
            .select_only()
            .column_as(steps::Column::Seq.max(), "max_seq")
            .filter(steps::Column::ExecutionId.eq(execution_id))
            .into_tuple::<Option<i32>>()
            .one(&self.db)
            .await
            .map_err(|e| StoreError::db("logging a step", e))?
            .flatten();
        let id = Uuid::now_v7();
        steps::ActiveModel {
            id: Set(id),
            execution_id: Set(execution_id),
            seq: Set(seq.map_or(1, |s| s + 1)),
            name: Set(step.name),
            status: Set(step.status.to_string()),
            message: Set(step.message),
            items: Set(step.items),
            started_at: Set(step.started_at),
            finished_at: Set(step.finished_at),
        }
        .insert(&self.db)
        .await
        .map_err(|e| StoreError::db("logging a step", e))?;
        Ok(id)
    }

    /// The steps of an execution, in order.
    pub async fn execution_steps(
        &self,
        execution_id: Uuid,
    ) -> Result<Vec<ExecutionStep>, StoreError> {
        steps::Entity::find()
            .filter(steps::Column::ExecutionId.eq(execution_id))
            .order_by_asc(steps::Column::Seq)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("reading steps", e))?
            .into_iter()
            .map(step_to_domain)
            .collect()
    }
}
