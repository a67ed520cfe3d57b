//! Workers on the PostgreSQL job queue.
//!
//! The queue is `graphile_worker` (see `ARCHITECTURE.md` for why): partitions of pipeline runs
//! and API jobs are queued in the same transaction as the rows that describe them, any number
//! of `horizon-pipeline worker` processes on any number of machines take them, and its worker
//! recovery (heartbeats, sweeping of workers silent for longer than the lease) hands the jobs of
//! a killed worker to the others. Its completion is not fenced — a job may run again after its
//! work committed — so every write a job makes is idempotent and a partition already done is
//! skipped.

use std::{future::Future, sync::Arc, time::Duration};

use graphile_worker::{IntoTaskHandlerResult, TaskHandler, WorkerContext, WorkerOptions};
use horizon_settings::{DatabaseKind, Settings};
use horizon_store::Store;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{EXECUTION_TASK, PARTITION_TASK, QUEUE_SCHEMA, work_partition};
use crate::ServiceError;

/// What every job of this worker needs.
#[derive(Clone, Debug)]
struct WorkerState {
    store: Store,
    settings: Arc<Settings>,
    name: String,
}

/// A partition of a pipeline run.
#[derive(Debug, Serialize, Deserialize)]
struct PartitionJob {
    execution_id: Uuid,
    partition_id: Uuid,
}

impl TaskHandler for PartitionJob {
    const IDENTIFIER: &'static str = PARTITION_TASK;

    async fn run(self, ctx: WorkerContext) -> impl IntoTaskHandlerResult {
        let Some(state) = ctx.get_ext::<WorkerState>() else {
            return Err("the worker has no state".to_owned());
        };
        work_partition(
            &state.store,
            &state.settings,
            self.partition_id,
            &state.name,
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
    }
}

/// An API job (train, predict, backtest, generate).
#[derive(Debug, Serialize, Deserialize)]
struct ExecutionJob {
    execution_id: Uuid,
}

impl TaskHandler for ExecutionJob {
    const IDENTIFIER: &'static str = EXECUTION_TASK;

    async fn run(self, ctx: WorkerContext) -> impl IntoTaskHandlerResult {
        let Some(state) = ctx.get_ext::<WorkerState>() else {
            return Err("the worker has no state".to_owned());
        };
        crate::jobs::execute(
            &state.store,
            &state.settings,
            self.execution_id,
            &state.name,
        )
        .await
        .map_err(|e| e.to_string())
    }
}

fn queue_error(context: &str) -> impl FnOnce(String) -> ServiceError + '_ {
    move |e| ServiceError::Internal(format!("job queue: {context}: {e}"))
}

/// Whether this store has the job queue (PostgreSQL).
pub fn available(store: &Store) -> bool {
    store.backend() == DatabaseKind::Postgres
}

/// Creates or upgrades the queue's schema (PostgreSQL only; a no-op on SQLite), so jobs can be
/// queued before any worker ever started.
pub async fn install(store: &Store) -> Result<(), ServiceError> {
    if !available(store) {
        return Ok(());
    }
    let pool = store.connection().get_postgres_connection_pool().clone();
    graphile_worker::WorkerUtils::new(pool, QUEUE_SCHEMA)
        .migrate()
        .await
        .map_err(|e| queue_error("installing the schema")(e.to_string()))
}

/// Runs a worker on the PostgreSQL queue until `until` completes (or SIGINT/SIGTERM), taking
/// up to `pipeline_concurrency` jobs at a time. A worker silent for `pipeline_lease_secs` is
/// deemed dead by the others, which redo its jobs.
pub async fn run_worker(
    store: &Store,
    settings: &Settings,
    name: &str,
    until: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    if !available(store) {
        return Err(ServiceError::Input {
            path: "DATABASE_URL".into(),
            reason: "queue workers need PostgreSQL; with SQLite use `horizon-pipeline run`, \
                     which works the run in process"
                .into(),
        });
    }
    let lease = Duration::from_secs(settings.pipeline_lease_secs);
    let state = WorkerState {
        store: store.clone(),
        settings: Arc::new(settings.clone()),
        name: name.to_owned(),
    };
    let pool = store.connection().get_postgres_connection_pool().clone();
    let worker = WorkerOptions::default()
        .pg_pool(pool)
        .schema(QUEUE_SCHEMA)
        .concurrency(settings.pipeline_concurrency)
        .poll_interval(Duration::from_millis(500))
        .define_job::<PartitionJob>()
        .define_job::<ExecutionJob>()
        .add_extension(state)
        .heartbeat_interval((lease / 4).max(Duration::from_millis(500)))
        .sweep_interval((lease / 2).max(Duration::from_secs(1)))
        .sweep_threshold(lease)
        .recovery_delay(Duration::ZERO)
        .shutdown_signal(until)
        .init()
        .await
        .map_err(|e| queue_error("starting a worker")(e.to_string()))?;
    tracing::info!(worker = name, "queue worker started");
    worker
        .run()
        .await
        .map_err(|e| queue_error("running a worker")(e.to_string()))?;
    tracing::info!(worker = name, "queue worker stopped");
    Ok(())
}

/// Resolves when execution `execution_id` has ended (polled every `every`).
pub async fn wait_for_execution(
    store: &Store,
    execution_id: Uuid,
    every: Duration,
) -> Result<horizon_domain::Execution, ServiceError> {
    loop {
        let e = store.execution(execution_id).await?;
        if e.status.is_terminal() {
            return Ok(e);
        }
        tokio::time::sleep(every).await;
    }
}
