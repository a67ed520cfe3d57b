//! The forecasting pipeline: plan a run over the due series, then per partition load the
//! histories in bulk, classify, forecast with the engine's ensemble (using the calibration
//! weights of each series' class) and write predictions in bulk, logging each step.
//!
//! Writes are idempotent (one prediction per series per run), so redoing a partition
//! duplicates nothing.

use std::{collections::HashMap, time::Instant};

use horizon_domain::{
    Bounds, Classification, EnsembleMember, ExecutionKind, ExecutionStatus, ForecastMatrix,
    Frequency, Observation, QuantileLevels, Series, SeriesClass, StepStatus, ThresholdProbability,
    Timestamp,
};
use horizon_engine::{ForecastRequest, ModelKind};
use horizon_settings::Settings;
use horizon_store::{NewPrediction, NewStep, Store};
use serde::Serialize;
use uuid::Uuid;

use crate::ServiceError;

/// Longest history handed to the engine, in steps: enough for eight weekly cycles of
/// 15-minute data, and a bound on memory per series.
const MAX_HISTORY: usize = 6_000;

/// What a run should do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PipelineOptions {
    /// Forecast as of this instant: observations at or after it are ignored. Default: now.
    pub as_of: Option<Timestamp>,
    /// Only series whose key starts with this prefix.
    pub series_prefix: Option<String>,
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

/// Plans and runs a whole pipeline execution in this process.
pub async fn run_pipeline(
    store: &Store,
    settings: &Settings,
    options: &PipelineOptions,
) -> Result<PipelineReport, ServiceError> {
    let request = serde_json::to_value(options).unwrap_or(serde_json::Value::Null);
    let execution = store
        .create_execution(ExecutionKind::Pipeline, request, None, None, None)
        .await?;
    store
        .set_execution_status(execution.id, ExecutionStatus::Running, 0.0, None)
        .await?;
    tracing::info!(execution_id = %execution.id, "pipeline run started");
    match run_execution(store, settings, options, execution.id).await {
        Ok(report) => {
            store
                .set_execution_status(execution.id, ExecutionStatus::Succeeded, 1.0, None)
                .await?;
            tracing::info!(
                execution_id = %execution.id,
                series = report.series_total,
                written = report.forecasts_written,
                skipped = report.skipped.len(),
                "pipeline run succeeded"
            );
            Ok(report)
        }
        Err(e) => {
            let _ = store
                .set_execution_status(
                    execution.id,
                    ExecutionStatus::Failed,
                    0.0,
                    Some(e.to_string()),
                )
                .await;
            tracing::error!(execution_id = %execution.id, error = %e, "pipeline run failed");
            Err(e)
        }
    }
}

async fn run_execution(
    store: &Store,
    settings: &Settings,
    options: &PipelineOptions,
    execution_id: Uuid,
) -> Result<PipelineReport, ServiceError> {
    let started = now();
    let t = Instant::now();
    let mut series = store.all_series().await?;
    if let Some(prefix) = &options.series_prefix {
        series.retain(|s| s.meta.key.as_str().starts_with(prefix.as_str()));
    }
    let partitions: Vec<&[Series]> = series.chunks(settings.pipeline_partition_size).collect();
    log_step(
        store,
        execution_id,
        "plan",
        started,
        Some(series.len() as i64),
        format!(
            "{} series in {} partitions of at most {} ({} ms)",
            series.len(),
            partitions.len(),
            settings.pipeline_partition_size,
            t.elapsed().as_millis()
        ),
    )
    .await?;

    let weights = calibration_weights(store).await?;
    let mut report = PipelineReport {
        execution_id,
        series_total: series.len(),
        forecasts_written: 0,
        skipped: Vec::new(),
    };
    for (i, part) in partitions.iter().enumerate() {
        let (written, skipped) =
            run_partition(store, settings, options, execution_id, part, &weights).await?;
        report.forecasts_written += written;
        report.skipped.extend(skipped);
        store
            .heartbeat_execution(execution_id, (i + 1) as f64 / partitions.len() as f64)
            .await?;
    }
    Ok(report)
}

/// Calibration weights in force, per class, as the engine takes them.
async fn calibration_weights(
    store: &Store,
) -> Result<HashMap<SeriesClass, HashMap<ModelKind, f64>>, ServiceError> {
    let mut out = HashMap::new();
    for (class, list) in store.current_calibration_weights().await? {
        let map: HashMap<ModelKind, f64> = list
            .iter()
            .filter_map(|w| Some((w.model.parse::<ModelKind>().ok()?, w.weight)))
            .collect();
        if !map.is_empty() {
            out.insert(class, map);
        }
    }
    Ok(out)
}

/// A series' history laid on its regular grid.
struct Prepared {
    series: Series,
    frequency: Frequency,
    values: Vec<f64>,
    last_ts: Timestamp,
    horizon: usize,
    bounds: Bounds,
    thresholds: Vec<f64>,
}

async fn run_partition(
    store: &Store,
    settings: &Settings,
    options: &PipelineOptions,
    execution_id: Uuid,
    part: &[Series],
    weights: &HashMap<SeriesClass, HashMap<ModelKind, f64>>,
) -> Result<(u64, Vec<(String, String)>), ServiceError> {
    let started = now();
    let t = Instant::now();
    let ids: Vec<Uuid> = part.iter().map(|s| s.id).collect();
    let mut histories = store.load_histories(&ids, options.as_of).await?;
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
    let task_weights = weights.clone();
    let (prepared, results) = tokio::task::spawn_blocking(move || {
        let profiles: Vec<_> = prepared
            .iter()
            .map(|p| horizon_engine::classify(&p.values, &p.frequency.season_lengths()))
            .collect();
        let requests: Vec<ForecastRequest<'_>> = prepared
            .iter()
            .zip(&profiles)
            .map(|(p, profile)| {
                let mut r = ForecastRequest::new(&p.values, p.horizon);
                r.season_lengths = p.frequency.season_lengths();
                r.quantile_levels = quantiles.clone();
                r.bounds = p.bounds;
                r.thresholds = p.thresholds.clone();
                r.model_weights = task_weights.get(&profile.class);
                r.seed = seed_of(p.series.id);
                r
            })
            .collect();
        let results = horizon_engine::forecast_many(&requests, |_| {});
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
        let f = match result {
            Ok(f) => f,
            Err(e) => {
                skipped.push((p.series.meta.key.to_string(), e.to_string()));
                continue;
            }
        };
        let calibrated = weights.contains_key(&f.profile.class);
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
            "wrote {written} predictions and {} classifications ({} ms)",
            classifications.len(),
            t.elapsed().as_millis()
        ),
    )
    .await?;
    Ok((written, skipped))
}

fn prepare(
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

fn seed_of(id: Uuid) -> u64 {
    let b = id.as_bytes();
    u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]])
}

fn now() -> Timestamp {
    chrono::Utc::now()
}

async fn log_step(
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
