//! The forecasting pipeline: plan a run over the due series, then per partition load the
//! histories in bulk, classify, forecast with the engine's ensemble (using the calibration
//! weights of each series' class) and write predictions in bulk, logging each step.
//!
//! Writes are idempotent (one prediction per series per run), so redoing a partition
//! duplicates nothing.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use horizon_domain::{
    Bounds, Classification, EnsembleMember, ExecutionKind, ExecutionStatus, ForecastKind,
    ForecastWarning, Frequency, IntervalLabel, Observation, Partition, QuantileLevels, Series,
    SeriesClass, Timestamp, WarningKind,
};
use horizon_engine::{ForecastRequest, ModelKind, Timeline};
use horizon_settings::Settings;
use horizon_store::{JobQueue, NewPrediction, Store};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ServiceError;

mod covariates;
pub mod outcomes;
mod partition;
mod plan;
mod prepare;

pub(crate) use crate::steps::{log_step, now};
pub(crate) use covariates::lay_covariates;
pub use outcomes::ScoringReport;
pub use partition::work_partition;
pub use plan::plan_run;
use plan::*;
#[cfg(test)]
use prepare::regular_grid;
pub(crate) use prepare::{Prepared, prepare};

/// How the engine reads a covariate by its name: `weather` (the solar physics reads `ghi`,
/// `temp_air` and `cloud_cover` itself) or `driver` (the regression on drivers).
pub fn covariate_role(name: &str) -> &'static str {
    if horizon_engine::covariates::is_weather(name) {
        "weather"
    } else {
        "driver"
    }
}

/// What a run should do.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PipelineOptions {
    /// Forecast as of this instant: observations at or after it are ignored. Default: now.
    pub as_of: Option<Timestamp>,
    /// Only series whose key starts with this prefix.
    pub series_prefix: Option<String>,
    /// Only these series keys.
    #[serde(alias = "series")]
    pub series_keys: Option<Vec<String>>,
    /// Only these model families (default: chosen per series class); stored by name.
    pub models: Option<Vec<ModelKind>>,
    /// Steps to forecast; default by frequency (one day of 15-minute data, two weeks of daily
    /// data, 18 months, ...).
    pub horizon: Option<usize>,
    /// Quantile levels of the stored forecasts.
    pub quantiles: QuantileLevels,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct PipelineReport {
    /// The execution.
    pub execution_id: Uuid,
    /// Series considered.
    pub series_total: usize,
    /// Predictions written.
    pub forecasts_written: u64,
    /// Series that could not be forecast, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// The default horizon for a frequency.
pub fn default_horizon(frequency: Frequency, fallback: usize) -> usize {
    match frequency {
        Frequency::Minutes(n) if 1_440 % n == 0 => (1_440 / n) as usize,
        Frequency::Hours(n) if 24 % n == 0 => (48 / n) as usize,
        Frequency::Days(1) => 14,
        Frequency::Week => 13,
        Frequency::Month => 18,
        Frequency::Quarter => 8,
        Frequency::Year => 6,
        _ => fallback,
    }
}

/// Identifier of partition jobs in the PostgreSQL queue.
pub const PARTITION_TASK: &str = "horizon_partition";
/// Identifier of API jobs (train, predict, backtest, generate) in the PostgreSQL queue.
pub const EXECUTION_TASK: &str = "horizon_execution";
/// Schema of the PostgreSQL queue (`graphile_worker`'s default).
pub const QUEUE_SCHEMA: &str = "graphile_worker";

/// A run planned: outcomes scored, calibration updated, partitions stored (and queued).
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// The execution.
    pub execution_id: Uuid,
    /// Series in the run.
    pub series_total: usize,
    /// The partitions, in order.
    pub partitions: Vec<Partition>,
    /// What scoring past forecasts found.
    pub scoring: ScoringReport,
    /// Whether the partitions went into the PostgreSQL queue (else they are worked in process).
    pub queued: bool,
}

/// What one attempt on a partition did.
#[derive(Debug, Clone, Default)]
pub struct PartitionOutcome {
    /// Predictions written by this attempt (0 for series an earlier attempt wrote).
    pub written: u64,
    /// Series that could not be forecast, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Plans a run and works every partition in this process (the embedded SQLite default, and
/// `horizon-pipeline run` without workers). Returns when the run has ended.
pub async fn run_pipeline(
    store: &Store,
    settings: &Settings,
    options: &PipelineOptions,
) -> Result<PipelineReport, ServiceError> {
    let planned = plan_run(store, settings, options, false).await?;
    let worker = worker_name("local");
    let mut report = PipelineReport {
        execution_id: planned.execution_id,
        series_total: planned.series_total,
        forecasts_written: 0,
        skipped: Vec::new(),
    };
    for p in &planned.partitions {
        let outcome = work_partition(store, settings, p.id, &worker).await?;
        report.forecasts_written += outcome.written;
        report.skipped.extend(outcome.skipped);
    }
    tracing::info!(
        execution_id = %report.execution_id,
        series = report.series_total,
        written = report.forecasts_written,
        skipped = report.skipped.len(),
        "pipeline run ended"
    );
    Ok(report)
}

/// A worker's name: what it is, the host and the process, so a lease history says who held
/// a partition.
pub fn worker_name(role: &str) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "host".into());
    format!("{role}@{host}:{}", std::process::id())
}

/// The options of a run, or of an API job (whose request holds its parameters under
/// `params`).
pub(crate) fn options_of(
    execution: &horizon_domain::Execution,
) -> Result<PipelineOptions, ServiceError> {
    let request = execution
        .request
        .get("params")
        .unwrap_or(&execution.request);
    serde_json::from_value(request.clone()).map_err(|e| {
        ServiceError::Internal(format!(
            "execution {} has no readable pipeline request: {e}",
            execution.id
        ))
    })
}

/// A summary of a run from what the store holds (works for runs spread over many workers).
pub async fn run_report(store: &Store, execution_id: Uuid) -> Result<PipelineReport, ServiceError> {
    let parts = store.partitions(execution_id).await?;
    let series_total = parts.iter().map(|p| p.series_ids.len()).sum();
    let forecasts_written = store.count_predictions(Some(execution_id)).await?;
    Ok(PipelineReport {
        execution_id,
        series_total,
        forecasts_written,
        skipped: Vec::new(),
    })
}

/// What outcomes taught so far: ensemble weights and interval scales per series class.
#[derive(Debug, Clone, Default)]
pub struct Calibration {
    /// Model weights per class, as the engine takes them.
    pub weights: HashMap<SeriesClass, HashMap<ModelKind, f64>>,
    /// `(central coverage, scale)` anchors per class.
    pub scales: HashMap<SeriesClass, Vec<(f64, f64)>>,
}

impl Calibration {
    /// The calibration in force (empty when calibration is off).
    pub async fn load(store: &Store, settings: &Settings) -> Result<Self, ServiceError> {
        let mut out = Self::default();
        if !settings.pipeline_calibration {
            return Ok(out);
        }
        for (class, list) in store.current_calibration_weights().await? {
            let map: HashMap<ModelKind, f64> = list
                .iter()
                .filter_map(|w| Some((w.model.parse::<ModelKind>().ok()?, w.weight)))
                .collect();
            if !map.is_empty() {
                out.weights.insert(class, map);
            }
        }
        for s in store.interval_scales(None, true, 10_000).await? {
            out.scales
                .entry(s.series_class)
                .or_default()
                .push((s.level, s.scale));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod covariate_tests;
