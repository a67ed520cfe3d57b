//! Request and response bodies of the resources beyond series and forecasts: observations,
//! classification, executions and jobs, models, outcomes, calibration, metrics and keys.
//! Request bodies deny unknown fields, so a misspelt field is an error, not a silent default.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use horizon_domain::{
    ApiKeyRecord, CalibrationWeight, Classification, Execution, ExecutionStep, ForecastMetric,
    IntervalScale, ModelRecord, OutcomeRecord, Partition,
};
use serde::{Deserialize, Serialize};

use utoipa::ToSchema;
use uuid::Uuid;

mod series;

pub use series::*;

/// One observation.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservationDto {
    /// The instant (RFC 3339).
    pub ts: DateTime<Utc>,
    /// The value.
    pub value: f64,
}

/// Observations of a series, possibly resampled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ObservationsDto {
    /// The series' key.
    pub series_key: String,
    /// The bucket (`day`, `week`, `month`) when resampled.
    pub resample: Option<String>,
    /// How buckets were aggregated (`sum`, `mean`, `min`, `max`, `count`).
    pub agg: Option<String>,
    /// The observations (bucket starts when resampled), oldest first.
    pub items: Vec<ObservationDto>,
    /// Pass as `cursor` for the next page; absent on the last page. It is the instant the
    /// next page starts at (inclusive).
    pub next_cursor: Option<DateTime<Utc>>,
}

/// Observations to write; an existing (series, instant) is overwritten.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservationsWrite {
    /// The observations.
    pub items: Vec<ObservationDto>,
}

/// How many rows a write touched.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct WriteResult {
    /// Rows written.
    pub written: u64,
}

/// What `POST /v1/observations:import` did: the ingest run it recorded, its counts, the
/// series it created and the first rejections.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ImportResult {
    /// The ingest run (also listed with the other runs, source `api:<key id>`).
    pub run_id: Uuid,
    /// Bytes received.
    pub bytes: u64,
    /// Records read.
    pub rows_read: i64,
    /// Records new to the store (identical records sent again count nothing).
    pub rows_landed: i64,
    /// Observations written to the shared database.
    pub rows_rolled_up: i64,
    /// Records set aside, each with its line and reason.
    pub rows_rejected: i64,
    /// Series that did not exist and were created with default metadata (the first 1,000).
    pub series_created: Vec<String>,
    /// How many series were created in all.
    pub series_created_count: u64,
    /// The first rejections (at most 100; all are stored with the run).
    pub rejections: Vec<ImportRejection>,
}

/// A record an import set aside.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ImportRejection {
    /// Its line in the file (the header is line 1).
    pub line: Option<i64>,
    /// Why it was set aside.
    pub reason: String,
}

/// The latest classification of a series.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ClassificationDto {
    /// The series' key.
    pub series_key: String,
    /// The run that classified it.
    pub execution_id: Option<Uuid>,
    /// When.
    pub classified_at: DateTime<Utc>,
    /// Demand class: smooth, erratic, intermittent or lumpy.
    pub class: String,
    /// Average demand interval.
    pub adi: f64,
    /// Squared coefficient of variation of the non-zero values.
    pub cv2: f64,
    /// Share of zero observations.
    pub zero_share: f64,
    /// Number of finite observations.
    pub length: usize,
    /// Strength of trend in `[0, 1]`.
    pub trend_strength: f64,
    /// Strength of seasonality in `[0, 1]`.
    pub seasonal_strength: f64,
    /// Seasonal period, if any.
    pub season_length: Option<usize>,
}

impl ClassificationDto {
    /// The wire form of `c`, a classification of the series `series_key`.
    pub fn from_domain(c: &Classification, series_key: &str) -> Self {
        let p = &c.profile;
        Self {
            series_key: series_key.to_owned(),
            execution_id: c.execution_id,
            classified_at: c.classified_at,
            class: p.class.as_str().to_owned(),
            adi: p.adi,
            cv2: p.cv2,
            zero_share: p.zero_share,
            length: p.length,
            trend_strength: p.trend_strength,
            seasonal_strength: p.seasonal_strength,
            season_length: p.season_length,
        }
    }
}

/// One logged step of an execution.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct StepDto {
    /// Order within the execution.
    pub seq: i32,
    /// Step name.
    pub name: String,
    /// running, succeeded or failed.
    pub status: String,
    /// Log message.
    pub message: Option<String>,
    /// Items handled.
    pub items: Option<i64>,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Ended.
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<&ExecutionStep> for StepDto {
    fn from(s: &ExecutionStep) -> Self {
        Self {
            seq: s.seq,
            name: s.name.clone(),
            status: s.status.to_string(),
            message: s.message.clone(),
            items: s.items,
            started_at: s.started_at,
            finished_at: s.finished_at,
        }
    }
}

/// A run of the pipeline or of an API job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ExecutionDto {
    /// Id.
    pub id: Uuid,
    /// pipeline, train, predict, backtest, generate or ingest.
    pub kind: String,
    /// queued, running, succeeded or failed.
    pub status: String,
    /// Share done, in `[0, 1]`.
    pub progress: f64,
    /// Why it failed.
    pub error: Option<String>,
    /// The request that started it.
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Picked up by a worker.
    pub started_at: Option<DateTime<Utc>>,
    /// Last sign of life.
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// Ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// The step log (only on single reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepDto>>,
    /// The partitions of a pipeline run with their leases (only on single reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Vec<PartitionDto>>,
}

/// A partition of a run: the series slice one worker takes at a time, and its lease history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct PartitionDto {
    /// Position in the run, from 1.
    pub seq: i32,
    /// Series in it.
    pub series: usize,
    /// queued, running, succeeded or failed.
    pub status: String,
    /// Times a worker took it (above 1 when a worker died or failed on it).
    pub attempts: i32,
    /// Every worker that took it, in order.
    pub workers: Vec<String>,
    /// Series finished by the current or last attempt.
    pub series_done: i64,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// Last heartbeat of its worker.
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// Ended.
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<&Partition> for PartitionDto {
    fn from(p: &Partition) -> Self {
        Self {
            seq: p.seq,
            series: p.series_ids.len(),
            status: p.status.to_string(),
            attempts: p.attempts,
            workers: p.workers.clone(),
            series_done: p.series_done,
            error: p.error.clone(),
            heartbeat_at: p.heartbeat_at,
            finished_at: p.finished_at,
        }
    }
}

impl ExecutionDto {
    /// The wire form of `e` with its partitions.
    pub fn with_partitions(mut self, partitions: &[Partition]) -> Self {
        self.partitions = Some(partitions.iter().map(PartitionDto::from).collect());
        self
    }

    /// The wire form of `e`, with its steps when given.
    pub fn from_domain(e: &Execution, steps: Option<&[ExecutionStep]>) -> Self {
        Self {
            id: e.id,
            kind: e.kind.to_string(),
            status: e.status.to_string(),
            progress: e.progress,
            error: e.error.clone(),
            request: e.request.clone(),
            created_at: e.created_at,
            started_at: e.started_at,
            heartbeat_at: e.heartbeat_at,
            finished_at: e.finished_at,
            steps: steps.map(|s| s.iter().map(StepDto::from).collect()),
            partitions: None,
        }
    }
}

/// A list of executions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ExecutionList {
    /// Newest first.
    pub items: Vec<ExecutionDto>,
}

/// Which series a job covers; absent means every series.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// Only these series keys.
    #[serde(default)]
    pub series: Option<Vec<String>>,
    /// Only series whose key starts with this prefix.
    #[serde(default)]
    pub series_prefix: Option<String>,
    /// Steps to forecast (predict, backtest, generate).
    #[serde(default)]
    pub horizon: Option<u32>,
    /// Quantile levels in `(0, 1)` (predict, generate).
    #[serde(default)]
    pub quantiles: Option<Vec<f64>>,
    /// Forecast as of this instant (default: now).
    #[serde(default)]
    pub as_of: Option<DateTime<Utc>>,
    /// Only these model families (train, backtest).
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// Rolling-origin folds (backtest).
    #[serde(default)]
    pub folds: Option<u32>,
}

/// A job was accepted; poll the execution.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct JobAccepted {
    /// The execution doing the work.
    pub execution_id: Uuid,
    /// Its status now.
    pub status: String,
    /// Where to poll it.
    pub location: String,
}

/// An engine model family.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ModelFamilyDto {
    /// Family name, as accepted by `models` in job requests.
    pub name: String,
}

/// The engine's model families.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ModelFamilies {
    /// Every family.
    pub items: Vec<ModelFamilyDto>,
}

/// A fitted model from the registry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ModelDto {
    /// Id.
    pub id: Uuid,
    /// The series it was fitted on.
    pub series_id: Option<Uuid>,
    /// That series' key.
    pub series_key: Option<String>,
    /// The run that fitted it.
    pub execution_id: Option<Uuid>,
    /// Family name.
    pub family: String,
    /// Selected form, e.g. `ETS(M,Ad,M)`.
    pub spec: String,
    /// Fitted parameters.
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    /// Metrics.
    #[schema(value_type = Option<Object>)]
    pub metrics: Option<serde_json::Value>,
    /// When it was fitted.
    pub fitted_at: DateTime<Utc>,
}

impl ModelDto {
    /// The wire form of `m`, fitted on the series keyed `series_key`.
    pub fn new(m: &ModelRecord, series_key: Option<&str>) -> Self {
        Self {
            id: m.id,
            series_id: m.series_id,
            series_key: series_key.map(str::to_owned),
            execution_id: m.execution_id,
            family: m.family.clone(),
            spec: m.spec.clone(),
            params: m.params.clone(),
            metrics: m.metrics.clone(),
            fitted_at: m.fitted_at,
        }
    }
}

/// Fitted models.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ModelList {
    /// Newest first.
    pub items: Vec<ModelDto>,
}

/// Actuals to score against a forecast.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomesWrite {
    /// The forecast scored.
    pub forecast_id: Uuid,
    /// What happened, at instants that are steps of the forecast.
    pub actuals: Vec<ObservationDto>,
}

/// A forecast step scored against what happened.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct OutcomeDto {
    /// Id.
    pub id: Uuid,
    /// The forecast.
    pub forecast_id: Uuid,
    /// Its series.
    pub series_id: Uuid,
    /// That series' key.
    pub series_key: String,
    /// The step (1-based).
    pub step: i32,
    /// Instant of the step.
    pub target_at: DateTime<Utc>,
    /// What happened.
    pub actual: f64,
    /// The forecast mean.
    pub forecast_mean: f64,
    /// Absolute error.
    pub abs_error: f64,
    /// Squared error.
    pub sq_error: f64,
    /// CRPS approximated from the quantiles.
    pub crps: f64,
    /// Pinball loss per quantile level: `[[level, loss], ...]`.
    #[schema(value_type = Vec<Vec<f64>>)]
    pub pinball: Vec<(f64, f64)>,
    /// Whether the 80% interval held the actual.
    pub covered_80: Option<bool>,
    /// Whether the 95% interval held the actual.
    pub covered_95: Option<bool>,
    /// Brier score per threshold: `[[threshold, score], ...]`.
    #[schema(value_type = Vec<Vec<f64>>)]
    pub brier: Vec<(f64, f64)>,
    /// When it was scored.
    pub resolved_at: DateTime<Utc>,
}

impl OutcomeDto {
    /// The wire form of `o`, scored for the series keyed `series_key`.
    pub fn new(o: &OutcomeRecord, series_key: &str) -> Self {
        Self {
            id: o.id,
            forecast_id: o.prediction_id,
            series_id: o.series_id,
            series_key: series_key.to_owned(),
            step: o.step,
            target_at: o.target_at,
            actual: o.actual,
            forecast_mean: o.forecast_mean,
            abs_error: o.abs_error,
            sq_error: o.sq_error,
            crps: o.crps,
            pinball: o.pinball.clone(),
            covered_80: o.covered_80,
            covered_95: o.covered_95,
            brier: o.brier.clone(),
            resolved_at: o.resolved_at,
        }
    }
}

/// Scored outcomes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct OutcomeList {
    /// Newest first.
    pub items: Vec<OutcomeDto>,
}

/// An ensemble weight of a model for a series class.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct CalibrationWeightDto {
    /// The series class.
    pub series_class: String,
    /// Model family.
    pub model: String,
    /// Weight in `[0, 1]`.
    pub weight: f64,
    /// Score the weight came from.
    pub score: Option<f64>,
    /// Scored outcomes behind it.
    pub samples: i64,
    /// From when it applies.
    pub effective_at: DateTime<Utc>,
    /// The run that set it.
    pub execution_id: Option<Uuid>,
}

impl From<&CalibrationWeight> for CalibrationWeightDto {
    fn from(w: &CalibrationWeight) -> Self {
        Self {
            series_class: w.series_class.as_str().to_owned(),
            model: w.model.clone(),
            weight: w.weight,
            score: w.score,
            samples: w.samples,
            effective_at: w.effective_at,
            execution_id: w.execution_id,
        }
    }
}

/// How much a class's intervals are widened (above 1) or narrowed so that their observed
/// coverage meets the nominal level.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct IntervalScaleDto {
    /// The series class.
    pub series_class: String,
    /// Nominal central coverage, e.g. 0.8.
    pub level: f64,
    /// Factor on the distance of the interval's ends from the median.
    pub scale: f64,
    /// Coverage observed in the outcomes behind it.
    pub coverage: Option<f64>,
    /// Scored outcomes behind it.
    pub samples: i64,
    /// From when it applies.
    pub effective_at: DateTime<Utc>,
    /// The run that set it.
    pub execution_id: Option<Uuid>,
}

impl From<&IntervalScale> for IntervalScaleDto {
    fn from(s: &IntervalScale) -> Self {
        Self {
            series_class: s.series_class.as_str().to_owned(),
            level: s.level,
            scale: s.scale,
            coverage: s.coverage,
            samples: s.samples,
            effective_at: s.effective_at,
            execution_id: s.execution_id,
        }
    }
}

/// Calibration weights and interval scales.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct CalibrationList {
    /// The weights.
    pub items: Vec<CalibrationWeightDto>,
    /// The interval scales.
    #[serde(default)]
    pub interval_scales: Vec<IntervalScaleDto>,
}

/// Backtest metrics of one model on one series.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ForecastMetricDto {
    /// Id.
    pub id: Uuid,
    /// The backtest run.
    pub execution_id: Option<Uuid>,
    /// The series.
    pub series_id: Uuid,
    /// That series' key.
    pub series_key: String,
    /// Model family or `ensemble`.
    pub model: String,
    /// Horizon step, or absent for all steps.
    pub horizon_step: Option<i32>,
    /// Metric name → value.
    pub metrics: BTreeMap<String, f64>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl ForecastMetricDto {
    /// The wire form of `m`, measured on the series keyed `series_key`.
    pub fn new(m: &ForecastMetric, series_key: &str) -> Self {
        Self {
            id: m.id,
            execution_id: m.execution_id,
            series_id: m.series_id,
            series_key: series_key.to_owned(),
            model: m.model.clone(),
            horizon_step: m.horizon_step,
            metrics: m.metrics.clone(),
            created_at: m.created_at,
        }
    }
}

/// Backtest metrics.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ForecastMetricList {
    /// Newest first.
    pub items: Vec<ForecastMetricDto>,
}

/// An API key as listed: never its secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ApiKeyDto {
    /// Id.
    pub id: Uuid,
    /// Human name.
    pub name: String,
    /// Public key id (the part after `hzn_`).
    pub key_id: String,
    /// Scopes, e.g. `read,write`.
    pub scopes: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last used (coarse).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Expires.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<&ApiKeyRecord> for ApiKeyDto {
    fn from(k: &ApiKeyRecord) -> Self {
        Self {
            id: k.id,
            name: k.name.clone(),
            key_id: k.prefix.clone(),
            scopes: k.scopes.to_string(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            expires_at: k.expires_at,
        }
    }
}

/// API keys.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ApiKeyList {
    /// Newest first.
    pub items: Vec<ApiKeyDto>,
}

/// Readiness of each dependency.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Readiness {
    /// `ok` or `unavailable`.
    pub status: String,
    /// `ok` or `unavailable`.
    pub database: String,
    /// `ok`, `unavailable` or `not configured`.
    pub redis: String,
}

/// A page of forecasts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ForecastPage {
    /// Newest first.
    pub items: Vec<crate::ForecastDto>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A page of series.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct SeriesPageDto {
    /// Ordered by key.
    pub items: Vec<crate::SeriesDto>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}
