//! Planning a run: an execution, the series cut into partitions, and their queue jobs.

use super::*;

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

pub(super) async fn fail_execution(store: &Store, execution_id: Uuid, e: &ServiceError) {
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

pub(super) async fn plan_execution(
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
    let mut series = store.series_to_forecast().await?;
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
