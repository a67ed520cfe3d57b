//! The API's jobs — `train`, `predict`, `backtest`, `generate` — as the workers execute them.
//!
//! [`submit`] stores the execution and (on PostgreSQL) queues its job in one transaction;
//! [`execute`] does the work on whichever worker takes it. Every write is idempotent (ids are
//! derived from the execution, predictions are unique per series per run), so a job redone
//! after a crash duplicates nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use horizon_domain::{Execution, ExecutionKind, ExecutionStatus, ForecastMetric, ModelRecord};
use horizon_engine::{BacktestConfig, ForecastRequest, ModelKind};
use horizon_settings::Settings;
use horizon_store::Store;
use uuid::Uuid;

use crate::{
    ServiceError,
    pipeline::{
        self, EXECUTION_TASK, PipelineOptions, QUEUE_SCHEMA, options_of, prepare, work_partition,
    },
    steps::{self, log_step},
};

/// Kinds the API submits.
pub const API_KINDS: [ExecutionKind; 4] = [
    ExecutionKind::Train,
    ExecutionKind::Predict,
    ExecutionKind::Backtest,
    ExecutionKind::Generate,
];

/// The parameters of an API job, typed and with every default applied when the job is
/// accepted; the execution's request stores exactly this (under `params`) and the worker reads
/// it back as this type, so a job accepted is a job the worker can read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobParams {
    /// Selection, horizon, quantiles, models, as-of.
    #[serde(flatten)]
    pub options: PipelineOptions,
    /// Rolling-origin folds of a backtest.
    pub folds: usize,
}

/// Folds of a backtest whose request names none.
pub const DEFAULT_FOLDS: usize = 3;

impl JobParams {
    /// The parameters stored with `execution`.
    pub fn of(execution: &Execution) -> Result<Self, ServiceError> {
        let params = execution.request.get("params").ok_or_else(|| {
            ServiceError::Internal(format!("execution {} has no job parameters", execution.id))
        })?;
        serde_json::from_value(params.clone()).map_err(|e| {
            ServiceError::Internal(format!(
                "execution {} has unreadable job parameters: {e}",
                execution.id
            ))
        })
    }

    /// The request stored for a job of `kind` with these parameters.
    pub fn to_request(&self, kind: ExecutionKind) -> serde_json::Value {
        serde_json::json!({ "kind": kind.as_str(), "params": self })
    }
}

/// Whether jobs go through the PostgreSQL queue (else an in-process worker polls for them).
pub fn queue_available(store: &Store) -> bool {
    store.backend() == horizon_settings::DatabaseKind::Postgres
}

/// Stores a queued execution of an API job and, on PostgreSQL, queues its job for the workers
/// in the same transaction. On SQLite the execution waits for an in-process worker
/// ([`work_queued`]).
pub async fn submit(
    store: &Store,
    settings: &Settings,
    kind: ExecutionKind,
    request: serde_json::Value,
    idempotency_key: Option<String>,
    request_hash: Option<String>,
    requested_by: Option<Uuid>,
) -> Result<Execution, ServiceError> {
    let job = queue_available(store).then_some((
        QUEUE_SCHEMA,
        EXECUTION_TASK,
        settings.pipeline_max_attempts,
    ));
    Ok(store
        .create_execution_queued(
            kind,
            request,
            idempotency_key,
            request_hash,
            requested_by,
            job,
        )
        .await?)
}

/// Works queued API jobs in this process until none is left (SQLite and all-in-one
/// deployments, where no queue worker runs). Returns the number executed.
pub async fn work_queued(
    store: &Store,
    settings: &Settings,
    worker: &str,
) -> Result<usize, ServiceError> {
    let mut n = 0;
    while let Some(e) = store.take_queued_execution(&API_KINDS).await? {
        execute(store, settings, e.id, worker).await?;
        n += 1;
    }
    Ok(n)
}

/// Executes an API job. A job already ended is left alone (the queue may deliver it again);
/// a job that fails marks its execution failed with the reason and is not retried, since the
/// same input would fail again.
pub async fn execute(
    store: &Store,
    settings: &Settings,
    execution_id: Uuid,
    worker: &str,
) -> Result<(), ServiceError> {
    let execution = store.execution(execution_id).await?;
    if execution.status.is_terminal() {
        return Ok(());
    }
    if execution.status == ExecutionStatus::Queued {
        store
            .set_execution_status(execution_id, ExecutionStatus::Running, 0.0, None)
            .await?;
    }
    tracing::info!(%execution_id, kind = %execution.kind, worker, "job started");
    let result = match execution.kind {
        ExecutionKind::Generate | ExecutionKind::Predict => {
            forecast_job(store, settings, &execution, worker).await
        }
        ExecutionKind::Train => train_job(store, settings, &execution).await,
        ExecutionKind::Backtest => backtest_job(store, settings, &execution).await,
        other => Err(ServiceError::Internal(format!(
            "{other} executions are not API jobs"
        ))),
    };
    match result {
        Ok(()) => {
            let status = store.execution(execution_id).await?.status;
            if !status.is_terminal() {
                store
                    .set_execution_status(execution_id, ExecutionStatus::Succeeded, 1.0, None)
                    .await?;
            }
            tracing::info!(%execution_id, "job succeeded");
        }
        Err(e) => {
            tracing::warn!(%execution_id, error = %e, "job failed");
            store
                .set_execution_status(
                    execution_id,
                    ExecutionStatus::Failed,
                    0.0,
                    Some(e.to_string()),
                )
                .await?;
        }
    }
    Ok(())
}

/// The series a job selects; an unknown key is an error naming it.
pub async fn select_series(
    store: &Store,
    options: &PipelineOptions,
) -> Result<Vec<horizon_domain::Series>, ServiceError> {
    let mut series = store.series_to_forecast().await?;
    if let Some(prefix) = &options.series_prefix {
        series.retain(|s| s.meta.key.as_str().starts_with(prefix.as_str()));
    }
    if let Some(keys) = &options.series_keys {
        if let Some(missing) = keys
            .iter()
            .find(|k| !series.iter().any(|s| s.meta.key.as_str() == k.as_str()))
        {
            return Err(ServiceError::Input {
                path: "series".into(),
                reason: format!("unknown series {missing:?}"),
            });
        }
        series.retain(|s| keys.iter().any(|k| k == s.meta.key.as_str()));
    }
    Ok(series)
}

/// `generate` forecasts the selection now; `predict` does the same with the model families
/// last registered by `train` for each series' class of models, when the request names none.
async fn forecast_job(
    store: &Store,
    settings: &Settings,
    execution: &Execution,
    worker: &str,
) -> Result<(), ServiceError> {
    let mut options = options_of(execution)?;
    let series = select_series(store, &options).await?;
    if execution.kind == ExecutionKind::Predict && options.models.is_none() {
        let mut families: Vec<ModelKind> = Vec::new();
        for s in &series {
            for m in store.list_models(Some(s.id), 50).await? {
                let family = m.family.parse::<ModelKind>()?;
                if !families.contains(&family) {
                    families.push(family);
                }
            }
        }
        if !families.is_empty() {
            options.models = Some(families);
        }
    }
    // Partitions of an API job are worked by the worker that took the job, in order.
    let parts: Vec<Vec<Uuid>> = series
        .chunks(settings.pipeline_partition_size)
        .map(|c| c.iter().map(|s| s.id).collect())
        .collect();
    let existing = store.partitions(execution.id).await?;
    let partitions = if existing.is_empty() {
        store.plan_partitions(execution.id, &parts, None).await?
    } else {
        existing
    };
    if let Some(models) = &options.models {
        log_step(
            store,
            execution.id,
            "plan",
            steps::now(),
            Some(series.len() as i64),
            format!(
                "{} series in {} partitions; models {}",
                series.len(),
                partitions.len(),
                models
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .await?;
    }
    for p in &partitions {
        work_partition(store, settings, p.id, worker).await?;
    }
    if partitions.is_empty() {
        store
            .set_execution_status(execution.id, ExecutionStatus::Succeeded, 1.0, None)
            .await?;
    }
    Ok(())
}

/// Fits the ensemble of each selected series and registers its members (family, why it was
/// chosen, its weight) in the model registry.
async fn train_job(
    store: &Store,
    settings: &Settings,
    execution: &Execution,
) -> Result<(), ServiceError> {
    let options = options_of(execution)?;
    let series = select_series(store, &options).await?;
    let started = steps::now();
    let prepared = prepare_all(store, settings, &options, &series).await?;
    let models = options.models.clone();
    let results = tokio::task::spawn_blocking(move || {
        let requests: Vec<ForecastRequest<'_>> = prepared
            .iter()
            .map(|p| {
                let mut r = p.request();
                r.models = models.clone();
                r
            })
            .collect();
        let out = horizon_engine::forecast_many(&requests, |_| {});
        drop(requests);
        (prepared, out)
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("fit task: {e}")))?;
    let mut registered = 0;
    for (p, result) in results.0.iter().zip(results.1) {
        let Ok(f) = result else { continue };
        for m in &f.members {
            let family = m.kind.to_string();
            store
                .register_model(&ModelRecord {
                    id: Uuid::new_v5(
                        &execution.id,
                        format!("{}:{family}", p.series.id).as_bytes(),
                    ),
                    series_id: Some(p.series.id),
                    execution_id: Some(execution.id),
                    family,
                    spec: m.reason.clone(),
                    params: serde_json::json!({ "weight": m.weight, "class": f.profile.class }),
                    metrics: None,
                    fitted_at: steps::now(),
                })
                .await?;
            registered += 1;
        }
    }
    log_step(
        store,
        execution.id,
        "fit",
        started,
        Some(registered),
        format!("registered {registered} models for {} series", series.len()),
    )
    .await?;
    Ok(())
}

/// The selection's histories, laid on their grids; series too short to forecast are left out.
async fn prepare_all(
    store: &Store,
    settings: &Settings,
    options: &PipelineOptions,
    series: &[horizon_domain::Series],
) -> Result<Vec<pipeline::Prepared>, ServiceError> {
    let ids: Vec<Uuid> = series.iter().map(|s| s.id).collect();
    let mut histories = store.load_histories(&ids, options.as_of).await?;
    let mut prepared: Vec<pipeline::Prepared> = series
        .iter()
        .filter_map(|s| {
            let h = histories.remove(&s.id).unwrap_or_default();
            prepare(s.clone(), &h, options, settings.forecast_horizon).ok()
        })
        .collect();
    // Train and backtest jobs see the covariates a run would, laid the same way.
    let as_of = options.as_of.unwrap_or_else(steps::now);
    let max_age = chrono::Duration::hours(i64::from(settings.covariate_max_age_hours));
    pipeline::lay_covariates(store, &mut prepared, as_of, max_age).await?;
    Ok(prepared)
}

/// Rolling-origin backtests of the selection: the ensemble, or each requested family on its
/// own; metrics per series and model in `forecast_metrics`.
async fn backtest_job(
    store: &Store,
    settings: &Settings,
    execution: &Execution,
) -> Result<(), ServiceError> {
    let JobParams { options, folds } = JobParams::of(execution)?;
    let series = select_series(store, &options).await?;
    let started = steps::now();
    let prepared = prepare_all(store, settings, &options, &series).await?;
    let models = options.models.clone();
    let execution_id = execution.id;
    let metrics = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for p in &prepared {
            let arms: Vec<(String, Option<Vec<ModelKind>>)> = match &models {
                Some(list) => list
                    .iter()
                    .map(|m| (m.to_string(), Some(vec![*m])))
                    .collect(),
                None => vec![("ensemble".to_owned(), None)],
            };
            let season = p.frequency.season_lengths().first().copied().unwrap_or(1);
            for (name, only) in arms {
                let mut r = p.request();
                r.models = only;
                let config = BacktestConfig {
                    horizon: p.horizon,
                    windows: folds,
                    step: p.horizon,
                    gap: 0,
                };
                let Ok(report) = horizon_engine::backtest(&r, &config, season) else {
                    continue;
                };
                let mut map: BTreeMap<String, f64> = report.metrics.named().into_iter().collect();
                map.retain(|_, v| v.is_finite());
                out.push(ForecastMetric {
                    id: Uuid::new_v5(&execution_id, format!("{}:{name}", p.series.id).as_bytes()),
                    execution_id: Some(execution_id),
                    series_id: p.series.id,
                    model: name,
                    horizon_step: None,
                    metrics: map,
                    created_at: chrono::Utc::now(),
                });
            }
        }
        out
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("backtest task: {e}")))?;
    store.insert_forecast_metrics(&metrics).await?;
    log_step(
        store,
        execution.id,
        "backtest",
        started,
        Some(metrics.len() as i64),
        format!(
            "{} backtests of {} series, {folds} folds each",
            metrics.len(),
            series.len()
        ),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
