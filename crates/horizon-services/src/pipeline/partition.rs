//! Working one partition: load its histories in bulk, forecast them in parallel, write the
//! predictions and classifications, with a heartbeat and step logs.

use super::{covariates::lay_covariates, *};

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
            (execution.id, ForecastKind::of(execution.kind)),
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

pub(super) async fn run_partition(
    store: &Store,
    settings: &Settings,
    options: &PipelineOptions,
    (execution_id, kind): (Uuid, ForecastKind),
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

    let as_of = options.as_of.unwrap_or_else(now);
    let started = now();
    let t = Instant::now();
    let max_age = chrono::Duration::hours(i64::from(settings.covariate_max_age_hours));
    let with_covariates = lay_covariates(store, &mut prepared, as_of, max_age).await?;
    if with_covariates > 0 {
        log_step(
            store,
            execution_id,
            "covariates",
            started,
            Some(with_covariates as i64),
            format!(
                "laid covariates on {with_covariates} of {} series ({} ms)",
                prepared.len(),
                t.elapsed().as_millis()
            ),
        )
        .await?;
    }

    let started = now();
    let t = Instant::now();
    let quantiles = options.quantiles.clone();
    let task_weights = calibration.weights.clone();
    let models = options.models.clone();
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
        match result {
            // Never stored: forecasts are stored as `f32`, so a value beyond its range (a
            // history of values near 1e300) or a NaN would reach clients as `null` where the
            // contract promises a number. Such a series is skipped with the reason, like any
            // series the engine could not forecast.
            Ok(f)
                if !f
                    .mean
                    .iter()
                    .chain(f.quantiles.iter().flatten())
                    .all(|v| v.is_finite() && v.abs() <= f64::from(f32::MAX)) =>
            {
                tracing::warn!(series = %p.series.meta.key, "forecast beyond the stored range");
                skipped.push((
                    p.series.meta.key.to_string(),
                    format!(
                        "the forecast has values that are not numbers or beyond ±{:e}, the \
                         range forecasts are stored in; not stored",
                        f32::MAX
                    ),
                ));
            }
            Ok(f) => {
                let (prediction, classification) =
                    to_prediction(&p, f, calibration, (execution_id, kind), issued_at, started)?;
                predictions.push(prediction);
                classifications.push(classification);
            }
            Err(e) => skipped.push((p.series.meta.key.to_string(), e.to_string())),
        }
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

/// The one conversion of the engine's forecast of a prepared series into what is stored: the
/// run's interval scales applied, the covariates used (with the members that read them), the
/// warnings of the laying and of the engine, the matrix of the ensemble and of each member,
/// and the series' classification.
fn to_prediction(
    p: &Prepared,
    mut f: horizon_engine::Forecast,
    calibration: &Calibration,
    (execution_id, kind): (Uuid, ForecastKind),
    issued_at: Timestamp,
    classified_at: Timestamp,
) -> Result<(NewPrediction, Classification), ServiceError> {
    let calibrated = calibration.weights.contains_key(&f.profile.class);
    let scales = calibration
        .scales
        .get(&f.profile.class)
        .cloned()
        .unwrap_or_default();
    if !scales.is_empty() {
        horizon_engine::calibration::apply_interval_scales(&mut f, &scales, p.bounds);
    }
    let readers: Vec<String> = f
        .members
        .iter()
        .filter(|m| m.kind.needs_covariates() && m.weight > 0.0)
        .map(|m| m.kind.to_string())
        .collect();
    let mut covariates = p.covariates.uses.clone();
    for c in &mut covariates {
        c.members = readers.clone();
    }
    let mut warnings = p.covariates.warnings.clone();
    warnings.extend(stale_data_warning(
        p.frequency,
        p.last_ts,
        issued_at,
        f.mean.len(),
    ));
    warnings.extend(f.warnings.iter().cloned());
    let member_forecasts = f
        .members
        .iter()
        .map(horizon_engine::Member::matrix)
        .collect::<Result<Vec<_>, _>>()?;
    let classification = Classification {
        series_id: p.series.id,
        execution_id: Some(execution_id),
        classified_at,
        profile: f.profile.clone(),
    };
    let prediction = NewPrediction {
        series_id: p.series.id,
        execution_id: Some(execution_id),
        kind,
        entity: p.series.meta.entity.clone(),
        issued_at,
        first_target_at: p.frequency.advance(p.last_ts, 1),
        frequency: p.frequency,
        matrix: f.matrix()?,
        quantile_levels: f.quantile_levels,
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
        thresholds: f.threshold_probabilities,
        warnings,
        member_forecasts,
        covariates,
    };
    Ok((prediction, classification))
}

/// A warning when the data end so long before the forecast's as-of that a good part of the
/// forecast is already in the past: at least two steps and at least a quarter of the horizon
/// (a day of a 15-minute forecast's 96 steps, four days of a daily fortnight, five months of
/// 18). A feed that stopped shows here instead of as a fresh-looking forecast. The two-step
/// floor leaves a normal reporting lag of one step alone.
pub(crate) fn stale_data_warning(
    frequency: Frequency,
    last_ts: Timestamp,
    as_of: Timestamp,
    horizon: usize,
) -> Option<ForecastWarning> {
    let past = frequency.steps_until(last_ts, as_of);
    let limit = 2.max(horizon.div_ceil(4)) as i64;
    (past >= limit).then(|| {
        let which = if past >= horizon as i64 {
            format!("all {horizon} steps of this forecast are already past")
        } else {
            format!("the first {past} of its {horizon} steps are already past")
        };
        ForecastWarning::new(
            WarningKind::StaleData,
            format!(
                "stale data: the newest observation ({}) is {past} steps of {frequency} before \
                 the forecast's as-of ({}); {which}",
                last_ts.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                as_of.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        )
    })
}

/// How far back from its latest observation a series' history is worth loading: the values
/// the engine uses at its declared frequency ([`horizon_engine::history_length`]); the store
/// keeps observations less than the span before the latest, so exactly that many steps.
/// `None` (everything) when the frequency is not declared but inferred from the data.
pub(super) fn history_span(series: &Series) -> Option<chrono::Duration> {
    let frequency = series.meta.frequency?;
    let steps = horizon_engine::history_length(&frequency.season_lengths()) as i64;
    chrono::Duration::try_seconds(frequency.nominal_seconds().max(1).checked_mul(steps)?)
}

/// "; skipped 2: a (reason), b (reason)", the first few named.
pub(super) fn skipped_note(skipped: &[(String, String)]) -> String {
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

pub(super) fn seed_of(id: Uuid) -> u64 {
    let b = id.as_bytes();
    u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]])
}
