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
    Bounds, Classification, EnsembleMember, ExecutionKind, ExecutionStatus, ForecastMatrix,
    Frequency, IntervalLabel, Observation, Partition, QuantileLevels, Series, SeriesClass,
    StepStatus, ThresholdProbability, Timestamp,
};
use horizon_engine::{ForecastRequest, ModelKind, Timeline};
use horizon_settings::Settings;
use horizon_store::{JobQueue, NewPrediction, NewStep, Store};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ServiceError;

pub mod outcomes;

pub use outcomes::ScoringReport;

/// Longest history handed to the engine, in steps: enough for eight weekly cycles of
/// 15-minute data, and a bound on memory per series.
const MAX_HISTORY: usize = 6_000;

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
    /// Only these model families, by name (default: chosen per series class).
    pub models: Option<Vec<String>>,
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

/// Plans a run: creates the execution, scores earlier forecasts whose targets have happened,
/// updates the calibration, splits the due series into partitions and stores them — queued on
/// PostgreSQL's job queue when `queue` is set (PostgreSQL only), else left for
/// [`work_partition`] in this process. A failure marks the execution failed.
pub async fn plan_run(
    store: &Store,
    settings: &Settings,
    options: &PipelineOptions,
    queue: bool,
) -> Result<PlannedRun, ServiceError> {
    let request = serde_json::to_value(options).unwrap_or(serde_json::Value::Null);
    let execution = store
        .create_execution(ExecutionKind::Pipeline, request, None, None, None)
        .await?;
    tracing::info!(execution_id = %execution.id, "pipeline run planned");
    match plan_execution(store, settings, options, execution.id, queue).await {
        Ok(planned) => Ok(planned),
        Err(e) => {
            fail_execution(store, execution.id, &e).await;
            Err(e)
        }
    }
}

async fn fail_execution(store: &Store, execution_id: Uuid, e: &ServiceError) {
    tracing::error!(%execution_id, error = %e, "run failed");
    if let Err(e2) = store
        .set_execution_status(
            execution_id,
            ExecutionStatus::Failed,
            0.0,
            Some(e.to_string()),
        )
        .await
    {
        tracing::error!(%execution_id, error = %e2, "could not record the failure");
    }
}

async fn plan_execution(
    store: &Store,
    settings: &Settings,
    options: &PipelineOptions,
    execution_id: Uuid,
    queue: bool,
) -> Result<PlannedRun, ServiceError> {
    let as_of = options.as_of.unwrap_or_else(now);
    let scoring = if settings.pipeline_calibration {
        let started = now();
        let t = Instant::now();
        let scoring = outcomes::score_and_recalibrate(store, settings, as_of, execution_id).await?;
        log_step(
            store,
            execution_id,
            "score",
            started,
            Some(scoring.outcomes as i64),
            format!(
                "scored {} steps of {} earlier forecasts; recalibrated {} classes ({} ms)",
                scoring.outcomes,
                scoring.predictions,
                scoring.classes,
                t.elapsed().as_millis()
            ),
        )
        .await?;
        scoring
    } else {
        ScoringReport::default()
    };

    let started = now();
    let t = Instant::now();
    let mut series = store.all_series().await?;
    if let Some(prefix) = &options.series_prefix {
        series.retain(|s| s.meta.key.as_str().starts_with(prefix.as_str()));
    }
    if let Some(keys) = &options.series_keys {
        series.retain(|s| keys.iter().any(|k| k == s.meta.key.as_str()));
    }
    let parts: Vec<Vec<Uuid>> = series
        .chunks(settings.pipeline_partition_size)
        .map(|c| c.iter().map(|s| s.id).collect())
        .collect();
    let queue_spec = queue.then_some(JobQueue {
        schema: QUEUE_SCHEMA,
        partition_task: PARTITION_TASK,
        max_attempts: settings.pipeline_max_attempts,
    });
    let partitions = store
        .plan_partitions(execution_id, &parts, queue_spec)
        .await?;
    log_step(
        store,
        execution_id,
        "plan",
        started,
        Some(series.len() as i64),
        format!(
            "{} series in {} partitions of at most {}{} ({} ms)",
            series.len(),
            partitions.len(),
            settings.pipeline_partition_size,
            if queue { ", queued for workers" } else { "" },
            t.elapsed().as_millis()
        ),
    )
    .await?;
    if partitions.is_empty() {
        // Nothing to forecast: the run is done.
        store.settle_execution(execution_id).await?;
        store
            .set_execution_status(execution_id, ExecutionStatus::Succeeded, 1.0, None)
            .await?;
    }
    Ok(PlannedRun {
        execution_id,
        series_total: series.len(),
        partitions,
        scoring,
        queued: queue,
    })
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

/// One attempt on a partition by `worker`: takes the lease, forecasts its series with a
/// heartbeat running, writes (idempotently), and settles the run. A partition already done is
/// skipped. On failure the partition records the reason; after the last allowed attempt the
/// run fails too. The error is returned so a queue can retry.
pub async fn work_partition(
    store: &Store,
    settings: &Settings,
    partition_id: Uuid,
    worker: &str,
) -> Result<PartitionOutcome, ServiceError> {
    let part = store.start_partition(partition_id, worker).await?;
    if part.status == ExecutionStatus::Succeeded {
        tracing::info!(%partition_id, "partition already done; nothing to redo");
        return Ok(PartitionOutcome::default());
    }
    let execution = store.execution(part.execution_id).await?;
    if execution.status.is_terminal() {
        let reason = format!("the run already ended as {}", execution.status);
        store
            .finish_partition(part.id, ExecutionStatus::Failed, 0, Some(reason))
            .await?;
        return Ok(PartitionOutcome::default());
    }
    if part.attempts > 1 {
        let previous = part
            .workers
            .get(part.workers.len().saturating_sub(2))
            .cloned()
            .unwrap_or_default();
        log_step(
            store,
            execution.id,
            "lease",
            now(),
            None,
            format!(
                "partition {} attempt {}: taken over by {worker} from {previous}",
                part.seq, part.attempts
            ),
        )
        .await?;
    }
    let options = options_of(&execution)?;
    let done = Arc::new(AtomicI64::new(0));
    let beat = {
        let store = store.clone();
        let done = done.clone();
        let every = Duration::from_millis((settings.pipeline_lease_secs * 1000 / 4).max(500));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = store
                    .heartbeat_partition(partition_id, done.load(Ordering::Relaxed))
                    .await
                {
                    tracing::warn!(%partition_id, error = %e, "heartbeat failed");
                }
            }
        })
    };
    let result = async {
        let series = store.series_by_ids(&part.series_ids).await?;
        let calibration = Calibration::load(store, settings).await?;
        run_partition(
            store,
            settings,
            &options,
            execution.id,
            &series,
            &calibration,
            &done,
        )
        .await
    }
    .await;
    beat.abort();
    match result {
        Ok(outcome) => {
            store
                .finish_partition(
                    part.id,
                    ExecutionStatus::Succeeded,
                    done.load(Ordering::Relaxed),
                    None,
                )
                .await?;
            store.settle_execution(execution.id).await?;
            Ok(outcome)
        }
        Err(e) => {
            tracing::warn!(%partition_id, attempt = part.attempts, error = %e, "partition failed");
            store
                .finish_partition(
                    part.id,
                    ExecutionStatus::Failed,
                    done.load(Ordering::Relaxed),
                    Some(e.to_string()),
                )
                .await?;
            if part.attempts >= settings.pipeline_max_attempts {
                let e2 = ServiceError::Internal(format!(
                    "partition {} failed after {} attempts: {e}",
                    part.seq, part.attempts
                ));
                fail_execution(store, execution.id, &e2).await;
            }
            Err(e)
        }
    }
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

/// A series' history laid on its regular grid.
pub(crate) struct Prepared {
    pub(crate) series: Series,
    pub(crate) frequency: Frequency,
    pub(crate) values: Vec<f64>,
    last_ts: Timestamp,
    pub(crate) horizon: usize,
    pub(crate) bounds: Bounds,
    thresholds: Vec<f64>,
}

impl Prepared {
    /// The engine's request for this series with what every caller shares: its history and
    /// horizon, the frequency's candidate cycles, its bounds, and when it was observed (steps
    /// of a fixed length only: a day's rhythm is read from the stamps). Callers add quantiles,
    /// thresholds, weights and models.
    pub(crate) fn request(&self) -> ForecastRequest<'_> {
        let mut r = ForecastRequest::new(&self.values, self.horizon);
        r.season_lengths = self.frequency.season_lengths();
        r.bounds = self.bounds;
        let fixed = matches!(
            self.frequency,
            Frequency::Minutes(_) | Frequency::Hours(_) | Frequency::Days(_) | Frequency::Week
        );
        if fixed && !self.values.is_empty() {
            let back = self.values.len() as i64 - 1;
            r.timeline = Some(Timeline {
                start: self.frequency.advance(self.last_ts, -back),
                step_seconds: self.frequency.nominal_seconds(),
                // Stored stamps name the start of their interval (as ingest's files do).
                label: IntervalLabel::Start,
            });
        }
        r
    }
}

async fn run_partition(
    store: &Store,
    settings: &Settings,
    options: &PipelineOptions,
    execution_id: Uuid,
    part: &[Series],
    calibration: &Calibration,
    done: &Arc<AtomicI64>,
) -> Result<PartitionOutcome, ServiceError> {
    let started = now();
    let t = Instant::now();
    let spans: Vec<_> = part.iter().map(|s| (s.id, history_span(s))).collect();
    let mut histories = store.load_recent_histories(&spans, options.as_of).await?;
    let points: usize = histories.values().map(Vec::len).sum();
    log_step(
        store,
        execution_id,
        "load",
        started,
        Some(points as i64),
        format!(
            "{points} observations of {} series ({} ms)",
            part.len(),
            t.elapsed().as_millis()
        ),
    )
    .await?;

    let mut skipped = Vec::new();
    let mut prepared = Vec::with_capacity(part.len());
    for s in part {
        let history = histories.remove(&s.id).unwrap_or_default();
        match prepare(s.clone(), &history, options, settings.forecast_horizon) {
            Ok(p) => prepared.push(p),
            Err(reason) => skipped.push((s.meta.key.to_string(), reason)),
        }
    }

    let started = now();
    let t = Instant::now();
    let quantiles = options.quantiles.clone();
    let task_weights = calibration.weights.clone();
    let models = options
        .models
        .as_ref()
        .map(|list| {
            list.iter()
                .map(|m| m.parse::<ModelKind>())
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let progress = done.clone();
    let (prepared, results) = tokio::task::spawn_blocking(move || {
        let requests: Vec<ForecastRequest<'_>> = prepared
            .iter()
            .map(|p| {
                let mut r = p.request();
                r.quantile_levels = quantiles.clone();
                r.thresholds = p.thresholds.clone();
                r.class_weights = Some(&task_weights);
                r.models = models.clone();
                r.seed = seed_of(p.series.id);
                r
            })
            .collect();
        let results = horizon_engine::forecast_many(&requests, |n| {
            progress.store(n as i64, Ordering::Relaxed);
        });
        drop(requests);
        (prepared, results)
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("forecast task: {e}")))?;
    let fitted = results.iter().filter(|r| r.is_ok()).count();
    log_step(
        store,
        execution_id,
        "fit",
        started,
        Some(fitted as i64),
        format!(
            "classified and forecast {fitted} of {} series ({} ms)",
            prepared.len(),
            t.elapsed().as_millis()
        ),
    )
    .await?;

    let started = now();
    let t = Instant::now();
    let issued_at = options.as_of.unwrap_or(started);
    let mut predictions = Vec::with_capacity(prepared.len());
    let mut classifications = Vec::with_capacity(prepared.len());
    for (p, result) in prepared.into_iter().zip(results) {
        let mut f = match result {
            Ok(f) => f,
            Err(e) => {
                skipped.push((p.series.meta.key.to_string(), e.to_string()));
                continue;
            }
        };
        let calibrated = calibration.weights.contains_key(&f.profile.class);
        let scales = calibration
            .scales
            .get(&f.profile.class)
            .cloned()
            .unwrap_or_default();
        if !scales.is_empty() {
            horizon_engine::calibration::apply_interval_scales(&mut f, &scales, p.bounds);
        }
        let member_forecasts = f
            .members
            .iter()
            .map(|m| ForecastMatrix::from_paths(&m.mean, &m.quantiles))
            .collect::<Result<Vec<_>, _>>()?;
        classifications.push(Classification {
            series_id: p.series.id,
            execution_id: Some(execution_id),
            classified_at: started,
            profile: f.profile.clone(),
        });
        predictions.push(NewPrediction {
            series_id: p.series.id,
            execution_id: Some(execution_id),
            entity: p.series.meta.entity.clone(),
            issued_at,
            first_target_at: p.frequency.advance(p.last_ts, 1),
            frequency: p.frequency,
            quantile_levels: QuantileLevels::new(f.quantile_levels.clone())?,
            matrix: ForecastMatrix::from_paths(&f.mean, &f.quantiles)?,
            members: f
                .members
                .iter()
                .map(|m| EnsembleMember {
                    model: m.kind.to_string(),
                    weight: m.weight,
                    reason: m.reason.clone(),
                })
                .collect(),
            calibration: serde_json::json!({
                "class": f.profile.class,
                "weights": if calibrated { "calibration" } else { "validation" },
                "interval_scales": scales,
            }),
            thresholds: f
                .threshold_probabilities
                .iter()
                .map(|t| ThresholdProbability {
                    threshold: t.threshold,
                    per_step: t.per_step.clone(),
                    any_step: t.any,
                })
                .collect(),
            warnings: f.warnings.clone(),
            member_forecasts,
        });
    }
    store.insert_classifications(&classifications).await?;
    let written = store.insert_predictions(&predictions).await?;
    log_step(
        store,
        execution_id,
        "write",
        started,
        Some(written as i64),
        format!(
            "wrote {written} predictions and {} classifications ({} ms){}",
            classifications.len(),
            t.elapsed().as_millis(),
            skipped_note(&skipped)
        ),
    )
    .await?;
    for (key, reason) in &skipped {
        tracing::warn!(series = %key, %reason, "series skipped");
    }
    Ok(PartitionOutcome { written, skipped })
}

/// How far back from its latest observation a series' history is worth loading: the values
/// the engine uses at its declared frequency ([`horizon_engine::history_length`]); the store
/// keeps observations less than the span before the latest, so exactly that many steps.
/// `None` (everything) when the frequency is not declared but inferred from the data.
fn history_span(series: &Series) -> Option<chrono::Duration> {
    let frequency = series.meta.frequency?;
    let steps = horizon_engine::history_length(&frequency.season_lengths()) as i64;
    chrono::Duration::try_seconds(frequency.nominal_seconds().max(1).checked_mul(steps)?)
}

pub(crate) fn prepare(
    series: Series,
    history: &[Observation],
    options: &PipelineOptions,
    fallback_horizon: usize,
) -> Result<Prepared, String> {
    let timestamps: Vec<Timestamp> = history.iter().map(|o| o.ts).collect();
    let frequency = series
        .meta
        .frequency
        .or_else(|| Frequency::infer(&timestamps))
        .ok_or_else(|| "fewer than two observations".to_owned())?;
    let (Some(first), Some(last)) = (history.first(), history.last()) else {
        return Err("no observations".into());
    };
    let values = regular_grid(history, frequency, first.ts);
    let mut bounds = series.meta.bounds;
    if bounds.lower().is_none() && values.iter().all(|v| v.is_nan() || *v >= 0.0) {
        // Series that never went negative are taken to be non-negative (counts, sales, power).
        bounds = Bounds::new(Some(0.0), bounds.upper()).map_err(|e| e.to_string())?;
    }
    let thresholds = series
        .meta
        .tags
        .get("thresholds")
        .map(|t| t.split(';').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_default();
    Ok(Prepared {
        horizon: options
            .horizon
            .unwrap_or_else(|| default_horizon(frequency, fallback_horizon)),
        frequency,
        last_ts: last.ts,
        values,
        bounds,
        thresholds,
        series,
    })
}

/// Lays observations on the grid `first + k·step`, NaN where none fell; keeps the last
/// [`MAX_HISTORY`] steps.
fn regular_grid(history: &[Observation], frequency: Frequency, first: Timestamp) -> Vec<f64> {
    let index = |ts: Timestamp| -> i64 {
        match frequency {
            Frequency::Month | Frequency::Quarter | Frequency::Year => {
                use chrono::Datelike;
                let months = (ts.year() - first.year()) as i64 * 12 + ts.month() as i64
                    - first.month() as i64;
                let per = match frequency {
                    Frequency::Quarter => 3,
                    Frequency::Year => 12,
                    _ => 1,
                };
                months / per
            }
            _ => {
                let step = frequency.nominal_seconds().max(1);
                ((ts - first).num_seconds() as f64 / step as f64).round() as i64
            }
        }
    };
    let Some(last) = history.last() else {
        return Vec::new();
    };
    let len = index(last.ts).max(0) as usize + 1;
    let offset = len.saturating_sub(MAX_HISTORY);
    let mut values = vec![f64::NAN; len - offset];
    for o in history {
        let i = index(o.ts);
        if i >= offset as i64 && (i as usize) < len {
            values[i as usize - offset] = o.value;
        }
    }
    values
}

/// "; skipped 2: a (reason), b (reason)", the first few named.
fn skipped_note(skipped: &[(String, String)]) -> String {
    if skipped.is_empty() {
        return String::new();
    }
    let named: Vec<String> = skipped
        .iter()
        .take(5)
        .map(|(k, r)| format!("{k} ({r})"))
        .collect();
    let more = if skipped.len() > 5 { ", ..." } else { "" };
    format!("; skipped {}: {}{more}", skipped.len(), named.join(", "))
}

fn seed_of(id: Uuid) -> u64 {
    let b = id.as_bytes();
    u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]])
}

pub(crate) fn now() -> Timestamp {
    chrono::Utc::now()
}

pub(crate) async fn log_step(
    store: &Store,
    execution_id: Uuid,
    name: &str,
    started_at: Timestamp,
    items: Option<i64>,
    message: String,
) -> Result<(), ServiceError> {
    tracing::info!(%execution_id, step = name, items, "{message}");
    store
        .add_step(
            execution_id,
            NewStep {
                name: name.to_owned(),
                status: StepStatus::Succeeded,
                message: Some(message),
                items,
                started_at,
                finished_at: Some(now()),
            },
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
