//! The stored things of Horizon, as the rest of the system sees them: what repositories return
//! and services pass around. Wire formats are separate (the DTO crate converts from these).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    Bounds, ExecutionKind, ExecutionStatus, ForecastKind, ForecastMatrix, ForecastWarning,
    Frequency, QuantileLevels, SeriesAttributes, SeriesClass, SeriesKey, StepStatus, Threshold,
    ThresholdDirection, Timestamp,
};

/// Descriptive metadata of a series, as created or updated.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesMeta {
    /// Stable key.
    pub key: SeriesKey,
    /// What the series is about: a country ISO code, a SKU, a plant.
    pub entity: String,
    /// What is measured: `event_count`, `units_sold`, `power_mw`.
    pub metric: String,
    /// Sampling frequency, when known.
    pub frequency: Option<Frequency>,
    /// Unit of the values.
    pub unit: Option<String>,
    /// Physical bounds of the values.
    pub bounds: Bounds,
    /// Free-form labels.
    pub tags: std::collections::BTreeMap<String, String>,
    /// Where and how it is measured (location, capacity, orientation, time zone, country).
    pub attributes: SeriesAttributes,
    /// Thresholds every forecast of the series reports crossing probabilities for.
    pub thresholds: Vec<Threshold>,
}

impl SeriesMeta {
    /// Metadata for a series seen for the first time: entity = key, metric `value`, values not
    /// bounded.
    pub fn first_sight(key: SeriesKey) -> Self {
        Self {
            entity: key.as_str().to_owned(),
            metric: "value".into(),
            key,
            frequency: None,
            unit: None,
            bounds: Bounds::UNBOUNDED,
            tags: Default::default(),
            attributes: SeriesAttributes::default(),
            thresholds: Vec::new(),
        }
    }
}

/// A stored series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Database id.
    pub id: Uuid,
    /// Metadata.
    pub meta: SeriesMeta,
    /// When it was first seen.
    pub created_at: Timestamp,
    /// When its metadata last changed.
    pub updated_at: Timestamp,
    /// The series this one is a covariate of, when its key is `<target key>:<name>` and the
    /// target exists.
    pub covariate_of: Option<CovariateLink>,
}

/// A covariate's place: the series it drives and its name there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CovariateLink {
    /// The driven (target) series.
    pub target_id: Uuid,
    /// The covariate's name, the part of its key after the target's key and `:`.
    pub name: String,
}

impl CovariateLink {
    /// Splits a covariate key `<target>:<name>` at its last `:` into the target's key and the
    /// name; `None` when the key has no `:` or either part is empty.
    pub fn split_key(key: &str) -> Option<(&str, &str)> {
        let (target, name) = key.rsplit_once(':')?;
        (!target.is_empty() && !name.is_empty()).then_some((target, name))
    }
}

/// One value of a covariate forecast: what a forecast issued at `issued_at` said of `ts`.
/// Vintages are kept apart from observations (what was measured), so a forecast can be
/// trained on what was known at the time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VintageValue {
    /// When the covariate forecast was issued.
    pub issued_at: Timestamp,
    /// The instant it is about.
    pub ts: Timestamp,
    /// The forecast value.
    pub value: f64,
}

/// A covariate a forecast used: its name, the vintage in force for the horizon (`None` when
/// the horizon's values were observations, e.g. a calendar) and the members that read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CovariateUse {
    /// The covariate's name.
    pub name: String,
    /// When the vintage laid on the horizon was issued.
    pub issued_at: Option<Timestamp>,
    /// The ensemble members that read covariates (empty when the ensemble gave them no
    /// weight).
    pub members: Vec<String>,
}

/// One value of one series at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// The instant.
    pub ts: Timestamp,
    /// The value.
    pub value: f64,
}

/// One ensemble member of a forecast and why it was there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleMember {
    /// Model family name.
    pub model: String,
    /// Weight in the combination, in `[0, 1]`.
    pub weight: f64,
    /// Why it was chosen (class routing, validation error, calibration).
    pub reason: String,
}

/// The probability that a threshold is exceeded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdProbability {
    /// The threshold's value.
    pub threshold: f64,
    /// Which side counts as crossing (stored before directions existed: above).
    #[serde(default)]
    pub direction: ThresholdDirection,
    /// P(crossed) at each step: P(value > threshold) above, P(value < threshold) below.
    pub per_step: Vec<f64>,
    /// P(crossed at least once within the horizon).
    pub any_step: f64,
}

impl ThresholdProbability {
    /// The threshold these probabilities are of.
    pub fn of(&self) -> Threshold {
        Threshold {
            value: self.threshold,
            direction: self.direction,
        }
    }
}

/// A probabilistic forecast of one series, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Id (UUID v7, so ids sort by creation).
    pub id: Uuid,
    /// The series forecast.
    pub series_id: Uuid,
    /// The run that made it.
    pub execution_id: Option<Uuid>,
    /// Scheduled (a pipeline run) or ad hoc (an API job).
    pub kind: ForecastKind,
    /// The series' entity, kept here so forecasts can be listed by entity cheaply.
    pub entity: String,
    /// The as-of instant: the forecast uses data up to it.
    pub issued_at: Timestamp,
    /// When it was written.
    pub created_at: Timestamp,
    /// The instant of step 1.
    pub first_target_at: Timestamp,
    /// Step length.
    pub frequency: Frequency,
    /// Quantile levels of the matrix columns.
    pub quantile_levels: QuantileLevels,
    /// Mean and quantiles per step.
    pub matrix: ForecastMatrix,
    /// Ensemble members and weights.
    pub members: Vec<EnsembleMember>,
    /// Calibration applied (weights source, interval adjustment), free-form.
    pub calibration: serde_json::Value,
    /// Threshold-exceedance probabilities.
    pub thresholds: Vec<ThresholdProbability>,
    /// What the reader should know: stale data, gaps filled, models dropped, ...
    pub warnings: Vec<ForecastWarning>,
    /// Each member's own forecast, in the order of `members` (same quantile levels); empty
    /// when the run did not keep them.
    pub member_forecasts: Vec<ForecastMatrix>,
    /// Steps already scored against actuals (outcomes), counted from step 1.
    pub steps_scored: u32,
    /// The covariates the forecast used, with the vintage of each.
    pub covariates: Vec<CovariateUse>,
}

impl Prediction {
    /// Number of steps.
    pub fn horizon(&self) -> usize {
        self.matrix.horizon()
    }

    /// The instant of step `step` (1-based).
    pub fn target_at(&self, step: usize) -> Timestamp {
        self.frequency
            .advance(self.first_target_at, step.saturating_sub(1) as i64)
    }
}

/// A run of the pipeline or of an API job.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// Id.
    pub id: Uuid,
    /// What it does.
    pub kind: ExecutionKind,
    /// Where it is.
    pub status: ExecutionStatus,
    /// The request that started it.
    pub request: serde_json::Value,
    /// Client-chosen key that makes a retried request return the same execution.
    pub idempotency_key: Option<String>,
    /// Hash of the request body stored with the idempotency key.
    pub request_hash: Option<String>,
    /// Share done, in `[0, 1]`.
    pub progress: f64,
    /// Why it failed.
    pub error: Option<String>,
    /// The API key that asked for it.
    pub requested_by: Option<Uuid>,
    /// Created.
    pub created_at: Timestamp,
    /// Picked up by a worker.
    pub started_at: Option<Timestamp>,
    /// Last sign of life from its worker.
    pub heartbeat_at: Option<Timestamp>,
    /// Ended.
    pub finished_at: Option<Timestamp>,
}

/// One logged step of an execution.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionStep {
    /// Id.
    pub id: Uuid,
    /// The execution.
    pub execution_id: Uuid,
    /// Order within the execution.
    pub seq: i32,
    /// Step name: `load`, `classify`, `fit`, `write`.
    pub name: String,
    /// Outcome.
    pub status: StepStatus,
    /// Log message.
    pub message: Option<String>,
    /// Items handled (series, rows).
    pub items: Option<i64>,
    /// Started.
    pub started_at: Timestamp,
    /// Ended.
    pub finished_at: Option<Timestamp>,
}

/// The stored classification of a series at a moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// The series.
    pub series_id: Uuid,
    /// The run that classified it.
    pub execution_id: Option<Uuid>,
    /// When.
    pub classified_at: Timestamp,
    /// The features and class.
    pub profile: crate::SeriesProfile,
}

/// A fitted model registered by a training run.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRecord {
    /// Id.
    pub id: Uuid,
    /// The series it was fitted on, if any.
    pub series_id: Option<Uuid>,
    /// The run that fitted it.
    pub execution_id: Option<Uuid>,
    /// Family name.
    pub family: String,
    /// The selected form, e.g. `ETS(M,Ad,M)`.
    pub spec: String,
    /// Fitted parameters.
    pub params: serde_json::Value,
    /// In-sample or validation metrics.
    pub metrics: Option<serde_json::Value>,
    /// When it was fitted.
    pub fitted_at: Timestamp,
}

/// A forecast step scored against what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeRecord {
    /// Id.
    pub id: Uuid,
    /// The forecast scored.
    pub prediction_id: Uuid,
    /// Its series.
    pub series_id: Uuid,
    /// The step (1-based).
    pub step: i32,
    /// The instant of the step.
    pub target_at: Timestamp,
    /// What happened.
    pub actual: f64,
    /// The forecast mean.
    pub forecast_mean: f64,
    /// |actual − mean|.
    pub abs_error: f64,
    /// (actual − mean)².
    pub sq_error: f64,
    /// CRPS approximated from the quantiles.
    pub crps: f64,
    /// Pinball loss per quantile level: `[[level, loss], ...]`.
    pub pinball: Vec<(f64, f64)>,
    /// Whether the 80% interval held the actual.
    pub covered_80: Option<bool>,
    /// Whether the 95% interval held the actual.
    pub covered_95: Option<bool>,
    /// Brier score per threshold: `[[threshold, score], ...]`.
    pub brier: Vec<(f64, f64)>,
    /// When it was scored.
    pub resolved_at: Timestamp,
}

/// An ensemble weight of a model for a series class, effective from a moment.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationWeight {
    /// The class.
    pub series_class: SeriesClass,
    /// Model family name.
    pub model: String,
    /// Weight, in `[0, 1]`; the weights of a class sum to 1.
    pub weight: f64,
    /// The score the weight was derived from (e.g. mean CRPS).
    pub score: Option<f64>,
    /// Number of scored outcomes behind it.
    pub samples: i64,
    /// From when it applies.
    pub effective_at: Timestamp,
    /// The run that set it.
    pub execution_id: Option<Uuid>,
}

/// Backtest metrics of one model on one series.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastMetric {
    /// Id.
    pub id: Uuid,
    /// The backtest run.
    pub execution_id: Option<Uuid>,
    /// The series.
    pub series_id: Uuid,
    /// Model family name or `ensemble`.
    pub model: String,
    /// The horizon step, or `None` for all steps together.
    pub horizon_step: Option<i32>,
    /// Metric name → value.
    pub metrics: std::collections::BTreeMap<String, f64>,
    /// When.
    pub created_at: Timestamp,
}

/// Status of an ingest run.
pub use crate::ExecutionStatus as IngestStatus;

/// One ingest cycle of one source.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestRun {
    /// Id.
    pub id: Uuid,
    /// Source name (file path, feed name).
    pub source: String,
    /// Running, succeeded or failed.
    pub status: IngestStatus,
    /// Records read.
    pub rows_read: i64,
    /// Records landed in the event store.
    pub rows_landed: i64,
    /// Records rolled up into observations.
    pub rows_rolled_up: i64,
    /// Records set aside.
    pub rows_rejected: i64,
    /// Why it failed.
    pub error: Option<String>,
    /// How far it got (file offset, feed cursor).
    pub checkpoint: Option<String>,
    /// Started.
    pub started_at: Timestamp,
    /// Ended.
    pub finished_at: Option<Timestamp>,
}

/// A record set aside by ingest, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestRejection {
    /// The run.
    pub run_id: Option<Uuid>,
    /// The source.
    pub source: String,
    /// Line number in the source, 1-based, when it has lines.
    pub line: Option<i64>,
    /// What was wrong.
    pub reason: String,
    /// The record as read, cut to a sane length.
    pub raw: Option<String>,
}

/// An API key as stored: never its secret, only a hash of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRecord {
    /// Id.
    pub id: Uuid,
    /// Human name.
    pub name: String,
    /// Public key id, the part of the token before the secret.
    pub prefix: String,
    /// Hash of the secret.
    pub secret_hash: String,
    /// What it may do.
    pub scopes: crate::ApiScopes,
    /// Created.
    pub created_at: Timestamp,
    /// Last used (kept at coarse resolution).
    pub last_used_at: Option<Timestamp>,
    /// Revoked.
    pub revoked_at: Option<Timestamp>,
    /// Expires.
    pub expires_at: Option<Timestamp>,
}

/// A slice of a pipeline run's series, worked by one worker at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    /// Id.
    pub id: Uuid,
    /// The run.
    pub execution_id: Uuid,
    /// Position in the run, from 1.
    pub seq: i32,
    /// The series to forecast.
    pub series_ids: Vec<Uuid>,
    /// Where it is.
    pub status: ExecutionStatus,
    /// Times a worker took it; above 1 when a worker died or failed on it and another redid it.
    pub attempts: i32,
    /// The worker holding or last holding it.
    pub worker: Option<String>,
    /// Every worker that took it, in order.
    pub workers: Vec<String>,
    /// Series finished by the last attempt.
    pub series_done: i64,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// Last sign of life of the worker on it.
    pub heartbeat_at: Option<Timestamp>,
    /// When the last attempt started.
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
}

/// How much a class's intervals are widened (scale above 1) or narrowed to make their observed
/// coverage meet the nominal level.
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalScale {
    /// The class.
    pub series_class: SeriesClass,
    /// Nominal central coverage, e.g. 0.8.
    pub level: f64,
    /// Factor on the distance of the interval's ends from the median.
    pub scale: f64,
    /// Coverage observed in the outcomes behind this version.
    pub coverage: Option<f64>,
    /// Outcomes behind this version.
    pub samples: i64,
    /// From when it applies.
    pub effective_at: Timestamp,
    /// The run that set it.
    pub execution_id: Option<Uuid>,
}
