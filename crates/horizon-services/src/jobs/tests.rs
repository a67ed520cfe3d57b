use std::time::Duration;

use horizon_domain::{
    ExecutionKind, ExecutionStatus, ForecastKind, Frequency, SeriesKey, SeriesMeta,
};
use horizon_settings::Settings;
use horizon_store::{ObservationRow, PoolOptions, Store};
use horizon_test_support::{TestDb, both_backends};
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::queue;

async fn api_jobs_are_worked(db: TestDb) {
    let store = Store::connect_with(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    let mut settings = Settings::from_figment(Settings::figment_defaults()).unwrap();
    settings.event_store_path = db.path("events.db");
    settings.pipeline_lease_secs = 4;
    queue::install(&store).await.unwrap();
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    for k in 0..3 {
        let mut meta = SeriesMeta::first_sight(SeriesKey::parse(&format!("job-{k}")).unwrap());
        meta.frequency = Some(Frequency::Days(1));
        let s = store.upsert_series(&meta).await.unwrap();
        let rows: Vec<ObservationRow> = (0..90)
            .map(|d| ObservationRow {
                series_id: s.id,
                ts: t0 + chrono::Duration::days(d),
                value: 50.0 + (d % 7) as f64 * 3.0 + k as f64,
            })
            .collect();
        store.upsert_observations(&rows).await.unwrap();
    }
    let post = |kind: ExecutionKind, params: serde_json::Value| {
        let store = store.clone();
        let settings = settings.clone();
        async move {
            submit(
                &store,
                &settings,
                kind,
                json!({ "kind": kind.as_str(), "params": params }),
                None,
                None,
                None,
            )
            .await
            .unwrap()
            .id
        }
    };
    let generate = post(ExecutionKind::Generate, json!({ "series_prefix": "job-" })).await;
    let train = post(ExecutionKind::Train, json!({ "series": ["job-0"] })).await;
    let backtest = post(
        ExecutionKind::Backtest,
        json!({ "series_prefix": "job-", "folds": 2, "models": ["naive", "theta"], "horizon": 7 }),
    )
    .await;
    let unknown = post(ExecutionKind::Generate, json!({ "series": ["nope"] })).await;
    let ids = [generate, train, backtest, unknown];

    if queue::available(&store) {
        // A queue worker takes the jobs; it stops once all have ended.
        let (s, ids2) = (store.clone(), ids);
        let until = async move {
            loop {
                let mut done = true;
                for id in ids2 {
                    done &= s.execution(id).await.unwrap().status.is_terminal();
                }
                if done {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        tokio::time::timeout(
            Duration::from_secs(120),
            queue::run_worker(&store, &settings, "test-worker", until),
        )
        .await
        .expect("jobs finish within two minutes")
        .unwrap();
    } else {
        assert_eq!(work_queued(&store, &settings, "test").await.unwrap(), 4);
    }

    let status = |id: Uuid| {
        let store = store.clone();
        async move { store.execution(id).await.unwrap() }
    };
    assert_eq!(status(generate).await.status, ExecutionStatus::Succeeded);
    assert_eq!(store.count_predictions(Some(generate)).await.unwrap(), 3);
    assert_eq!(status(train).await.status, ExecutionStatus::Succeeded);
    let job0 = store
        .series_by_key(&SeriesKey::parse("job-0").unwrap())
        .await
        .unwrap();
    let models = store.list_models(Some(job0.id), 100).await.unwrap();
    assert!(models.len() >= 2, "{models:?}");
    assert_eq!(status(backtest).await.status, ExecutionStatus::Succeeded);
    let metrics = store.list_forecast_metrics(None, 100).await.unwrap();
    assert_eq!(metrics.len(), 6, "3 series x 2 models");
    assert!(metrics.iter().all(|m| m.metrics["mae"].is_finite()));
    let failed = status(unknown).await;
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert!(failed.error.unwrap().contains("unknown series \"nope\""));

    // A predict job afterwards uses the families train registered.
    let predict = post(
        ExecutionKind::Predict,
        json!({ "series": ["job-0"], "horizon": 5 }),
    )
    .await;
    if queue::available(&store) {
        let s = store.clone();
        let until = async move {
            while !s.execution(predict).await.unwrap().status.is_terminal() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        queue::run_worker(&store, &settings, "test-worker-2", until)
            .await
            .unwrap();
    } else {
        work_queued(&store, &settings, "test").await.unwrap();
    }
    assert_eq!(status(predict).await.status, ExecutionStatus::Succeeded);
    let p = store.latest_prediction(job0.id).await.unwrap();
    assert_eq!(p.horizon(), 5);
    // Job forecasts are ad hoc: the series' scheduled latest is not theirs.
    assert_eq!(p.kind, ForecastKind::Adhoc);
    assert_eq!(
        store
            .latest_prediction_id(job0.id, Some(ForecastKind::Adhoc))
            .await
            .unwrap(),
        Some(p.id)
    );
    assert_eq!(
        store
            .latest_prediction_id(job0.id, Some(ForecastKind::Scheduled))
            .await
            .unwrap(),
        None
    );
    let families: Vec<String> = models.iter().map(|m| m.family.clone()).collect();
    assert!(p.members.iter().all(|m| families.contains(&m.model)));
}

both_backends!(api_jobs_are_worked);
