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
use horizon_settings::Settings;
use horizon_store::Store;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ServiceError;
use crate::pipeline::{EXECUTION_TASK, PARTITION_TASK, QUEUE_SCHEMA, work_partition};

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
        let result = work_partition(
            &state.store,
            &state.settings,
            self.partition_id,
            &state.name,
        )
        .await
        .map(|_| ());
        settle_failure(&state.store, result).await
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
        let result = crate::jobs::execute(
            &state.store,
            &state.settings,
            self.execution_id,
            &state.name,
        )
        .await;
        settle_failure(&state.store, result).await
    }
}

/// A job's result for the queue. When the job failed because the database went away, waits
/// (up to [`DATABASE_WAIT`]) until it answers again before reporting the failure, so the
/// queue's retry runs against a database that is back instead of spending attempts on an
/// outage.
async fn settle_failure(store: &Store, result: Result<(), ServiceError>) -> Result<(), String> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.is_transient() => {
            tracing::warn!(error = %e, "job failed while the database was unreachable; waiting for it");
            wait_for_database(store, DATABASE_WAIT).await;
            Err(e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Longest wait of a failed job for the database to come back.
pub const DATABASE_WAIT: Duration = Duration::from_secs(120);

/// Resolves when the database answers a ping, or after `at_most`.
pub async fn wait_for_database(store: &Store, at_most: Duration) {
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(200);
    while started.elapsed() < at_most {
        if store.ping().await.is_ok() {
            return;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

fn queue_error(context: &str) -> impl FnOnce(String) -> ServiceError + '_ {
    move |e| ServiceError::Internal(format!("job queue: {context}: {e}"))
}

/// Whether this store has the job queue (PostgreSQL).
pub fn available(store: &Store) -> bool {
    crate::jobs::queue_available(store)
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
///
/// The worker is supervised: when the queue's runner stops because the database went away (a
/// restart drops its connections and its LISTEN), it is started again in this process with
/// backoff (0.5 s doubling to 30 s) until the database is back; its jobs are redone by the
/// queue's recovery, and every write they make is idempotent. Only `until` ends it. Beside it
/// runs the stalled-run watchdog ([`rescue_stalled_runs`]), every lease.
pub async fn run_worker(
    store: &Store,
    settings: &Settings,
    name: &str,
    until: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    if !available(store) {
        return Err(ServiceError::Config {
            setting: "DATABASE_URL",
            reason: "queue workers need PostgreSQL; with SQLite use `horizon-pipeline run`, \
                     which works the run in process"
                .into(),
        });
    }
    use futures_util::FutureExt;
    let until = until.boxed().shared();
    let watchdog = {
        let store = store.clone();
        let lease = Duration::from_secs(settings.pipeline_lease_secs);
        let stall = Duration::from_secs(settings.pipeline_stall_secs);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease).await;
                if let Err(e) = rescue_stalled_runs(&store, stall).await {
                    tracing::debug!(error = %e, "stalled-run watchdog could not check");
                }
            }
        })
    };
    let mut backoff = MIN_RESTART_BACKOFF;
    loop {
        let started = std::time::Instant::now();
        match run_worker_once(store, settings, name, until.clone()).await {
            Ok(()) if until.peek().is_some() => break,
            Ok(()) => tracing::warn!(worker = name, "queue worker stopped unasked; restarting"),
            Err(e) => tracing::warn!(worker = name, error = %e,
                backoff_ms = backoff.as_millis() as u64, "queue worker failed; restarting"),
        }
        if started.elapsed() > Duration::from_secs(60) {
            backoff = MIN_RESTART_BACKOFF;
        }
        tokio::select! {
            _ = until.clone() => break,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_RESTART_BACKOFF);
    }
    watchdog.abort();
    tracing::info!(worker = name, "queue worker stopped");
    Ok(())
}

const MIN_RESTART_BACKOFF: Duration = Duration::from_millis(500);
const MAX_RESTART_BACKOFF: Duration = Duration::from_secs(30);

/// One life of the queue's runner: until `until`, or until it fails.
async fn run_worker_once(
    store: &Store,
    settings: &Settings,
    name: &str,
    until: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
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
        .map_err(|e| queue_error("running a worker")(e.to_string()))
}

/// The watchdog of pipeline runs (after River's rescuer and Oban's lifeline): a run still
/// `running` whose partitions have all succeeded is settled (its last worker died between
/// finishing the partition and settling the run); a run with no sign of life — no heartbeat of
/// the run or of any of its partitions, no partition started or finished — for `stall`
/// (`pipeline_stall_secs`) is failed with the reason, so it never stays `running` for ever.
/// Partitions a live worker holds beat every lease/4, so only a run nobody works is failed.
/// Returns the number of runs it ended.
pub async fn rescue_stalled_runs(store: &Store, stall: Duration) -> Result<usize, ServiceError> {
    let now = crate::steps::now();
    let mut ended = 0;
    let running = store
        .list_executions(Some(horizon_domain::ExecutionStatus::Running), 1_000)
        .await?;
    for run in running
        .iter()
        .filter(|e| e.kind == horizon_domain::ExecutionKind::Pipeline)
    {
        let parts = store.partitions(run.id).await?;
        if parts.is_empty() {
            continue;
        }
        if parts
            .iter()
            .all(|p| p.status == horizon_domain::ExecutionStatus::Succeeded)
        {
            if store.settle_execution(run.id).await?.is_terminal() {
                tracing::info!(execution = %run.id, "watchdog settled a finished run");
                ended += 1;
            }
            continue;
        }
        let last_sign = parts
            .iter()
            .flat_map(|p| [p.heartbeat_at, p.started_at, p.finished_at])
            .chain([run.heartbeat_at, run.started_at, Some(run.created_at)])
            .flatten()
            .max()
            .unwrap_or(run.created_at);
        let quiet = (now - last_sign).to_std().unwrap_or(Duration::ZERO);
        if quiet >= stall {
            let open = parts
                .iter()
                .filter(|p| p.status != horizon_domain::ExecutionStatus::Succeeded)
                .count();
            let reason = format!(
                "no progress for {} s (HORIZON_PIPELINE_STALL_SECS = {}): {open} of {} partitions \
                 unfinished and no worker working them",
                quiet.as_secs(),
                stall.as_secs(),
                parts.len()
            );
            if store.fail_running_execution(run.id, reason.clone()).await? {
                tracing::warn!(execution = %run.id, reason, "watchdog failed a stalled run");
                ended += 1;
            }
        }
    }
    Ok(ended)
}

/// Resolves when execution `execution_id` has ended (polled every `every`). While the
/// database is unreachable it keeps polling; only other errors end the wait.
pub async fn wait_for_execution(
    store: &Store,
    execution_id: Uuid,
    every: Duration,
) -> Result<horizon_domain::Execution, ServiceError> {
    loop {
        match store.execution(execution_id).await {
            Ok(e) if e.status.is_terminal() => return Ok(e),
            Ok(_) => {}
            Err(e) if e.is_transient() => {
                tracing::warn!(error = %e, "database unreachable while waiting for the run");
            }
            Err(e) => return Err(e.into()),
        }
        tokio::time::sleep(every).await;
    }
}

/// Works jobs in this process until `until` resolves (the all-in-one API and the demo): a
/// queue worker on PostgreSQL, a poll of queued API jobs every second on SQLite. The caller
/// awaits it before its runtime ends: the queue's database listener must be dropped inside
/// the runtime (dropped outside, it panicked and the API exited non-zero on SIGTERM).
pub async fn work_in_process(
    store: Store,
    settings: Settings,
    until: impl Future<Output = ()> + Send + 'static,
) {
    let worker = crate::pipeline::worker_name("api");
    if available(&store) {
        if let Err(e) = run_worker(&store, &settings, &worker, until).await {
            tracing::error!(error = %e, "in-process queue worker stopped");
        }
        return;
    }
    tokio::pin!(until);
    loop {
        if let Err(e) = crate::jobs::work_queued(&store, &settings, &worker).await {
            tracing::error!(error = %e, "in-process job worker");
        }
        tokio::select! {
            _ = &mut until => return,
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}
