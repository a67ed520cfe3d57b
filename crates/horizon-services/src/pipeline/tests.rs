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
    // scoring (nothing yet), the plan, then load/fit/write for each of the two partitions
    assert_eq!(
        names,
        [
            "score", "plan", "load", "fit", "write", "load", "fit", "write"
        ]
    );
    let parts = store.partitions(exec.id).await.unwrap();
    assert_eq!(parts.len(), 2);
    assert!(
        parts
            .iter()
            .all(|p| p.status == ExecutionStatus::Succeeded && p.attempts == 1)
    );

    let capped = store
        .series_by_key(&SeriesKey::parse("capped").unwrap())
        .await
        .unwrap();
    let p = store.latest_prediction(capped.id).await.unwrap();
    assert_eq!(p.horizon(), 14, "daily data: two weeks");
    assert_eq!(p.kind, ForecastKind::Scheduled, "a pipeline run publishes");
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

/// Deterministic standard normal draws (xorshift and Box–Muller), so the synthetic data is
/// the same on every run and backend.
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn day(d: i64) -> Timestamp {
    chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        + chrono::Duration::days(d)
}

async fn store_and_settings(db: &TestDb) -> (Store, Settings) {
    let store = Store::connect_with(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    let mut settings = Settings::from_figment(Settings::figment_defaults()).unwrap();
    settings.event_store_path = db.path("events.db");
    (store, settings)
}

async fn add_series(store: &Store, key: &str, values: &[f64]) -> Uuid {
    let mut meta = horizon_domain::SeriesMeta::first_sight(SeriesKey::parse(key).unwrap());
    meta.frequency = Some(Frequency::Days(1));
    let s = store.upsert_series(&meta).await.unwrap();
    let rows: Vec<horizon_store::ObservationRow> = values
        .iter()
        .enumerate()
        .map(|(d, v)| horizon_store::ObservationRow {
            series_id: s.id,
            ts: day(d as i64),
            value: *v,
        })
        .collect();
    store.upsert_observations(&rows).await.unwrap();
    s.id
}

/// CRPS of the members' quantiles combined with `weights` (Vincentization).
fn combined_crps(p: &horizon_domain::Prediction, step: usize, y: f64, weights: &[f64]) -> f64 {
    let levels = p.quantile_levels.levels();
    let total: f64 = weights.iter().sum();
    let mut q: Vec<f64> = (0..levels.len())
        .map(|j| {
            p.member_forecasts
                .iter()
                .zip(weights)
                .map(|(m, w)| w / total * m.quantile(step, j))
                .sum()
        })
        .collect();
    q.sort_by(f64::total_cmp);
    horizon_engine::metrics::crps_from_quantiles(y, levels, &q)
}

/// The closed loop: series whose best model changes halfway (a weekly cycle without trend,
/// then a trend without cycle). Runs every week score the last run's forecasts and
/// recalibrate; on the later runs the calibrated combination beats the uniform one, and the
/// adaptive interval scales bring coverage to within 3 points of nominal.
async fn calibration_follows_a_regime_shift(db: TestDb) {
    let (store, mut settings) = store_and_settings(&db).await;
    settings.pipeline_partition_size = 16;
    const SERIES: usize = 40;
    const START: i64 = 140;
    const RUNS: i64 = 20;
    const SHIFT_RUN: i64 = 6;
    const H: i64 = 7;
    let shift = START + SHIFT_RUN * H;
    let end = START + RUNS * H + H;
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    for k in 0..SERIES {
        let amplitude = 15.0 + k as f64;
        let slope = 1.5 + 0.05 * k as f64;
        let pattern = [1.0, 0.6, -0.2, -1.0, -0.7, 0.1, 0.9];
        let values: Vec<f64> = (0..end)
            .map(|d| {
                let base = if d < shift {
                    200.0 + amplitude * pattern[(d % 7) as usize]
                } else {
                    200.0 + slope * (d - shift) as f64
                };
                base + 4.0 * noise.normal()
            })
            .collect();
        add_series(&store, &format!("shift-{k:02}"), &values).await;
    }
    let options = |run: i64| PipelineOptions {
        as_of: Some(day(START + run * H)),
        horizon: Some(H as usize),
        models: Some(vec![
            ModelKind::Naive,
            ModelKind::SeasonalNaive,
            ModelKind::Drift,
            ModelKind::Theta,
        ]),
        ..Default::default()
    };
    let mut runs = Vec::new();
    for run in 0..=RUNS {
        let report = run_pipeline(&store, &settings, &options(run))
            .await
            .unwrap();
        assert_eq!(report.forecasts_written, SERIES as u64, "run {run}");
        runs.push(report.execution_id);
    }

    // The weights moved: the model weighted most before the shift is not the one after it.
    let history = store.calibration_history(None, 10_000).await.unwrap();
    let weights_at = |exec: Uuid| {
        let mut w: Vec<(String, f64)> = history
            .iter()
            .filter(|w| w.execution_id == Some(exec))
            .map(|w| (w.model.clone(), w.weight))
            .collect();
        w.sort_by(|a, b| b.1.total_cmp(&a.1));
        w
    };
    for (i, exec) in runs.iter().enumerate() {
        println!("run {i} weights: {:.2?}", weights_at(*exec));
    }
    let before = weights_at(runs[SHIFT_RUN as usize]);
    let after = weights_at(runs[RUNS as usize]);
    assert_ne!(before[0].0, after[0].0, "{before:?} -> {after:?}");

    // Later runs: predictions issued from the fourth run after the shift on, all scored now.
    let first_late = (SHIFT_RUN + 4) as usize;
    let (mut calibrated, mut uniform, mut stored, mut n) = (0.0, 0.0, 0.0, 0usize);
    let (mut in80, mut in95, mut m) = (0usize, 0usize, 0usize);
    let outcomes = store.list_outcomes(None, 1_000_000).await.unwrap();
    for exec in &runs[first_late..RUNS as usize] {
        let filter = horizon_store::PredictionFilter {
            execution_id: Some(*exec),
            ..Default::default()
        };
        for p in store.list_predictions(&filter, 1_000).await.unwrap() {
            assert_eq!(p.steps_scored, H as u32, "every step scored");
            let weights: Vec<f64> = p.members.iter().map(|m| m.weight).collect();
            let equal = vec![1.0; p.members.len()];
            for o in outcomes.iter().filter(|o| o.prediction_id == p.id) {
                let s = o.step as usize - 1;
                calibrated += combined_crps(&p, s, o.actual, &weights);
                uniform += combined_crps(&p, s, o.actual, &equal);
                stored += o.crps;
                n += 1;
                in80 += usize::from(o.covered_80.unwrap());
                in95 += usize::from(o.covered_95.unwrap());
                m += 1;
            }
        }
    }
    assert_eq!(n, (RUNS as usize - first_late) * SERIES * H as usize);
    let (calibrated, uniform, stored) =
        (calibrated / n as f64, uniform / n as f64, stored / n as f64);
    let (cov80, cov95) = (in80 as f64 / m as f64, in95 as f64 / m as f64);
    println!(
        "closed loop ({:?} backend, {n} outcomes of runs {first_late}..{RUNS}): mean CRPS \
         calibrated {calibrated:.3}, uniform {uniform:.3} (ratio {:.3}); stored ensemble \
         {stored:.3}; coverage 80% {cov80:.3}, 95% {cov95:.3}",
        db.backend,
        calibrated / uniform
    );
    assert!(
        calibrated < 0.9 * uniform,
        "calibrated {calibrated} vs uniform {uniform}"
    );
    assert!((cov80 - 0.80).abs() <= 0.03, "80% coverage {cov80}");
    assert!((cov95 - 0.95).abs() <= 0.03, "95% coverage {cov95}");
    let scales = store.interval_scales(None, true, 100).await.unwrap();
    assert!(!scales.is_empty());
}

/// A worker dies mid-partition: the next attempt takes the lease over (logged), writes each
/// prediction once, and the run succeeds; a partition already done is not redone.
async fn redone_partitions_write_once(db: TestDb) {
    let (store, mut settings) = store_and_settings(&db).await;
    settings.pipeline_partition_size = 2;
    for k in 0..4 {
        let values: Vec<f64> = (0..60).map(|d| 10.0 + (d % 7) as f64 + k as f64).collect();
        add_series(&store, &format!("redo-{k}"), &values).await;
    }
    let planned = plan_run(&store, &settings, &PipelineOptions::default(), false)
        .await
        .unwrap();
    let [first, second] = &planned.partitions[..] else {
        panic!("two partitions expected")
    };
    // A worker takes the first partition and dies before finishing.
    store
        .start_partition(first.id, "dead-worker")
        .await
        .unwrap();
    let outcome = work_partition(&store, &settings, first.id, "w2")
        .await
        .unwrap();
    assert_eq!(outcome.written, 2);
    // The queue delivers the finished partition again: nothing is redone.
    let again = work_partition(&store, &settings, first.id, "w3")
        .await
        .unwrap();
    assert_eq!(again.written, 0);
    work_partition(&store, &settings, second.id, "w2")
        .await
        .unwrap();

    let exec = store.execution(planned.execution_id).await.unwrap();
    assert_eq!(exec.status, ExecutionStatus::Succeeded);
    assert_eq!(store.count_predictions(Some(exec.id)).await.unwrap(), 4);
    let p = store.partition(first.id).await.unwrap();
    assert_eq!(p.attempts, 2);
    assert_eq!(p.workers, ["dead-worker", "w2"]);
    let steps = store.execution_steps(exec.id).await.unwrap();
    assert!(
        steps.iter().any(|s| s.name == "lease"
            && s.message
                .as_deref()
                .unwrap_or("")
                .contains("from dead-worker")),
        "{steps:?}"
    );
}

/// A history longer than the engine uses is loaded only as far back as the engine looks: the
/// load step counts exactly `history_length` values, and the forecast has no warning about
/// values it left out.
async fn long_histories_load_what_the_engine_uses(db: TestDb) {
    let (store, settings) = store_and_settings(&db).await;
    let values: Vec<f64> = (0..2_600).map(|d| 50.0 + (d % 7) as f64).collect();
    let id = add_series(&store, "long", &values).await;
    let report = run_pipeline(&store, &settings, &PipelineOptions::default())
        .await
        .unwrap();
    assert_eq!(report.forecasts_written, 1, "{:?}", report.skipped);
    let used = horizon_engine::history_length(&Frequency::Days(1).season_lengths());
    let steps = store.execution_steps(report.execution_id).await.unwrap();
    let load = steps.iter().find(|s| s.name == "load").unwrap();
    assert_eq!(load.items, Some(used as i64), "{load:?}");
    let p = store.latest_prediction(id).await.unwrap();
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

/// The watchdog: a run nobody works is failed with the reason once it has been quiet for the
/// stall time (and not before); a run whose partitions all succeeded but was never settled (its
/// last worker died in between) is settled as succeeded.
async fn the_watchdog_fails_stalled_runs_and_settles_finished_ones(db: TestDb) {
    use crate::queue::rescue_stalled_runs;
    use std::time::Duration as StdDuration;
    let (store, mut settings) = store_and_settings(&db).await;
    settings.pipeline_partition_size = 2;
    for k in 0..4 {
        let values: Vec<f64> = (0..60).map(|d| 10.0 + (d % 7) as f64 + k as f64).collect();
        add_series(&store, &format!("stall-{k}"), &values).await;
    }
    let stalled = plan_run(&store, &settings, &PipelineOptions::default(), false)
        .await
        .unwrap();
    // Planned, then nobody works it. Not quiet long enough yet: left alone.
    assert_eq!(
        rescue_stalled_runs(&store, StdDuration::from_secs(3600))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.execution(stalled.execution_id).await.unwrap().status,
        ExecutionStatus::Running
    );
    tokio::time::sleep(StdDuration::from_millis(50)).await;
    assert_eq!(
        rescue_stalled_runs(&store, StdDuration::from_millis(10))
            .await
            .unwrap(),
        1
    );
    let failed = store.execution(stalled.execution_id).await.unwrap();
    assert_eq!(failed.status, ExecutionStatus::Failed);
    let reason = failed.error.unwrap_or_default();
    assert!(
        reason.contains("no progress") && reason.contains("2 of 2 partitions"),
        "{reason}"
    );

    // Every partition done, the run still marked running: settled, not failed.
    let finished = plan_run(&store, &settings, &PipelineOptions::default(), false)
        .await
        .unwrap();
    for p in &finished.partitions {
        store.start_partition(p.id, "w").await.unwrap();
        store
            .finish_partition(p.id, ExecutionStatus::Succeeded, 2, None)
            .await
            .unwrap();
    }
    assert_eq!(
        store.execution(finished.execution_id).await.unwrap().status,
        ExecutionStatus::Running
    );
    rescue_stalled_runs(&store, StdDuration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        store.execution(finished.execution_id).await.unwrap().status,
        ExecutionStatus::Succeeded
    );
}

/// A series whose feed stopped months before the run is still forecast, and the forecast says
/// its data are stale; one that is up to date says nothing of the kind.
async fn a_forecast_from_stale_data_says_so(db: TestDb) {
    let (store, settings) = store_and_settings(&db).await;
    let values: Vec<f64> = (0..120).map(|d| 20.0 + (d % 7) as f64).collect();
    let stopped = add_series(&store, "stopped", &values).await;
    let fresh = add_series(&store, "fresh", &[values.clone(), values.clone()].concat()).await;
    let options = PipelineOptions {
        as_of: Some(day(239) + chrono::Duration::hours(6)),
        ..Default::default()
    };
    let report = run_pipeline(&store, &settings, &options).await.unwrap();
    assert_eq!(report.forecasts_written, 2, "{:?}", report.skipped);
    let p = store.latest_prediction(stopped).await.unwrap();
    let stale: Vec<&ForecastWarning> = p
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::StaleData)
        .collect();
    assert_eq!(stale.len(), 1, "{:?}", p.warnings);
    assert!(stale[0].message.contains("all 14 steps"), "{}", stale[0]);
    let p = store.latest_prediction(fresh).await.unwrap();
    assert!(
        !p.warnings.iter().any(|w| w.kind == WarningKind::StaleData),
        "{:?}",
        p.warnings
    );
}

/// Values beyond what a stored forecast can hold (`f32`) skip the series with the reason
/// instead of storing `null`s where clients expect numbers; the other series are forecast.
async fn a_forecast_beyond_the_stored_range_is_skipped_with_the_reason(db: TestDb) {
    let store = Store::connect_with(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    let mut settings = Settings::from_figment(Settings::figment_defaults()).unwrap();
    settings.event_store_path = db.path("events.db");
    let mut csv = String::from("unique_id,ds,y\n");
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    for d in 0..60 {
        let day = start + chrono::Duration::days(d);
        csv += &format!("huge,{day},{:e}\n", 1e300 * (1.0 + (d % 7) as f64 / 10.0));
        csv += &format!("plain,{day},{}\n", 10 + d % 7);
    }
    ingest_csv(
        &store,
        &settings,
        "t",
        Box::new(Cursor::new(csv.into_bytes())),
    )
    .await
    .unwrap();
    let report = run_pipeline(&store, &settings, &PipelineOptions::default())
        .await
        .unwrap();
    assert_eq!(report.forecasts_written, 1, "{:?}", report.skipped);
    let (key, why) = &report.skipped[0];
    assert_eq!(key, "huge");
    assert!(why.contains("range forecasts are stored in"), "{why}");
}

both_backends!(
    a_forecast_beyond_the_stored_range_is_skipped_with_the_reason,
    a_forecast_from_stale_data_says_so,
    the_watchdog_fails_stalled_runs_and_settles_finished_ones,
    forecasts_every_series_once_per_run,
    calibration_follows_a_regime_shift,
    redone_partitions_write_once,
    long_histories_load_what_the_engine_uses
);

#[test]
fn stale_data_is_named_when_part_of_the_forecast_is_already_past() {
    use chrono::TimeZone;

    use super::partition::stale_data_warning;
    let day = |d: u32| chrono::Utc.with_ymd_and_hms(2026, 3, d, 0, 0, 0).unwrap();
    let daily = Frequency::Days(1);
    // A day's reporting lag, and three days on a fortnight: not stale.
    assert_eq!(stale_data_warning(daily, day(1), day(2), 14), None);
    assert_eq!(stale_data_warning(daily, day(1), day(4), 14), None);
    // Four days of fourteen already past: stale, and said with the dates.
    let w = stale_data_warning(daily, day(1), day(5), 14).unwrap();
    assert!(
        w.message.contains("2026-03-01T00:00:00Z")
            && w.message.contains("the first 4 of its 14 steps"),
        "{w}"
    );
    // Data that ended before the whole horizon.
    let w = stale_data_warning(daily, day(1), day(20), 14).unwrap();
    assert!(w.message.contains("all 14 steps"), "{w}");
    // Two steps is the floor for short horizons; calendar months count whole months.
    assert_eq!(stale_data_warning(daily, day(1), day(2), 3), None);
    assert!(stale_data_warning(daily, day(1), day(3), 3).is_some());
    let month = |m: u32| chrono::Utc.with_ymd_and_hms(2026, m, 1, 0, 0, 0).unwrap();
    assert_eq!(
        stale_data_warning(Frequency::Month, month(1), month(5), 18),
        None
    );
    assert!(stale_data_warning(Frequency::Month, month(1), month(6), 18).is_some());
}
