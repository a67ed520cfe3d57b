use std::io::Cursor;

use horizon_domain::{ExecutionStatus, SeriesKey};
use horizon_store::{PoolOptions, Store};
use horizon_test_support::{TestDb, both_backends};

use super::*;
use crate::ingest::{ingest_csv, load_series_csv};

async fn forecasts_every_series_once_per_run(db: TestDb) {
    let store = Store::connect_with(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    let mut settings = Settings::from_figment(Settings::figment_defaults()).unwrap();
    settings.event_store_path = db.path("events.db");
    settings.pipeline_partition_size = 2;
    // three daily series: a weekly cycle, an intermittent one, a bounded one
    let mut csv = String::from("unique_id,ds,y\n");
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    for d in 0..120 {
        let day = start + chrono::Duration::days(d);
        csv += &format!("weekly,{day},{}\n", 100 + (d % 7) * 10);
        csv += &format!("sparse,{day},{}\n", if d % 5 == 0 { 3 } else { 0 });
        csv += &format!("capped,{day},{}\n", 9.0 + (d % 3) as f64 * 0.5);
    }
    ingest_csv(
        &store,
        &settings,
        "t",
        Box::new(Cursor::new(csv.into_bytes())),
    )
    .await
    .unwrap();
    load_series_csv(
        &store,
        "s",
        Box::new(Cursor::new(
            b"key,upper,thresholds\ncapped,10,9.5\n".to_vec(),
        )),
    )
    .await
    .unwrap();

    let report = run_pipeline(&store, &settings, &PipelineOptions::default())
        .await
        .unwrap();
    assert_eq!(report.series_total, 3);
    assert_eq!(report.forecasts_written, 3, "{:?}", report.skipped);
    let exec = store.execution(report.execution_id).await.unwrap();
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    assert_eq!(exec.progress, 1.0);
    let steps = store.execution_steps(exec.id).await.unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    // one plan step, then load/fit/write for each of the two partitions
    assert_eq!(
        names,
        ["plan", "load", "fit", "write", "load", "fit", "write"]
    );

    let capped = store
        .series_by_key(&SeriesKey::parse("capped").unwrap())
        .await
        .unwrap();
    let p = store.latest_prediction(capped.id).await.unwrap();
    assert_eq!(p.horizon(), 14, "daily data: two weeks");
    assert_eq!(
        p.first_target_at,
        start.and_hms_opt(0, 0, 0).unwrap().and_utc() + chrono::Duration::days(120)
    );
    for step in 0..p.horizon() {
        for q in 0..p.matrix.quantile_count() {
            let v = p.matrix.quantile(step, q);
            assert!((0.0..=10.0).contains(&v), "quantile {v} outside [0, 10]");
            if q > 0 {
                assert!(
                    v >= p.matrix.quantile(step, q - 1) - 1e-4,
                    "quantiles cross"
                );
            }
        }
    }
    assert_eq!(p.thresholds.len(), 1);
    assert!(!p.members.is_empty());
    let class = store
        .latest_classification(capped.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(class.execution_id, Some(exec.id));
    let sparse = store
        .series_by_key(&SeriesKey::parse("sparse").unwrap())
        .await
        .unwrap();
    let c = store
        .latest_classification(sparse.id)
        .await
        .unwrap()
        .unwrap();
    assert!(c.profile.class.is_sporadic(), "{:?}", c.profile);

    // a second run writes a second forecast per series, the first stays
    let second = run_pipeline(&store, &settings, &PipelineOptions::default())
        .await
        .unwrap();
    assert_eq!(second.forecasts_written, 3);
    assert_eq!(store.count_predictions(None).await.unwrap(), 6);
}

both_backends!(forecasts_every_series_once_per_run);

#[test]
fn grid_places_gaps_as_missing() {
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-01-31T00:00:00Z")
        .unwrap()
        .to_utc();
    let obs = |months: i64, v: f64| Observation {
        ts: Frequency::Month.advance(t0, months),
        value: v,
    };
    let grid = regular_grid(
        &[obs(0, 1.0), obs(1, 2.0), obs(3, 4.0)],
        Frequency::Month,
        t0,
    );
    assert_eq!(grid.len(), 4);
    assert!(grid[2].is_nan());
    assert_eq!(grid[3], 4.0);
    assert_eq!(default_horizon(Frequency::Minutes(15), 7), 96);
    assert_eq!(default_horizon(Frequency::Days(3), 7), 7);
}
