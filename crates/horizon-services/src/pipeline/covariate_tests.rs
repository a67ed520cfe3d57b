//! The pipeline with covariates, on real PV data (the PVDAQ system 50 excerpt in
//! `samples/pvdaq50`, see its README): day-ahead weather vintages are laid on the
//! horizon and, lead for lead, on the history; nothing issued after as-of changes a forecast.

use std::io::Cursor;

use chrono::{DateTime, Duration, Utc};
use horizon_domain::{SeriesKey, VintageValue};
use horizon_store::{PoolOptions, Store};
use horizon_test_support::{TestDb, both_backends};

use super::*;
use crate::ingest::{ingest_csv, ingest_reader, load_series_csv};

const POWER: &str = include_str!("../../../../samples/pvdaq50/power.csv");
const WEATHER: &str = include_str!("../../../../samples/pvdaq50/weather.csv");
const PLANT: &str = "pvdaq50_serf_east_2016";

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// The fixture's day `k` starts at 2016-07-01T07:00Z + k days (midnight in Golden, CO).
fn day_start(k: i64) -> DateTime<Utc> {
    t("2016-07-01T07:00:00Z") + Duration::days(k)
}

/// Day-ahead vintages of the weather: the forecast of day `k` is issued 25 h before it
/// starts, with an error that differs by day (GHI off by up to ±15%, temperature by ±1.5 °C).
fn vintages(days: std::ops::Range<i64>) -> String {
    let mut out = String::from("unique_id,ds,issued_at,ghi,temp_air\n");
    for line in WEATHER.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let ts = t(f[1]);
        let k = (ts - day_start(0)).num_days();
        if !days.contains(&k) {
            continue;
        }
        let issued = day_start(k) - Duration::hours(25);
        let err = ((k * 7919) % 31) as f64 / 15.0 - 1.0;
        let ghi: f64 = f[2].parse().unwrap();
        let temp: f64 = f[3].parse().unwrap();
        out += &format!(
            "{},{},{},{:.1},{:.2}\n",
            f[0],
            f[1],
            issued.to_rfc3339(),
            ghi * (1.0 + 0.15 * err),
            temp + 1.5 * err
        );
    }
    out
}

/// The fixture's rows before `end`.
fn rows_before(text: &str, end: DateTime<Utc>) -> String {
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for l in lines.filter(|l| t(l.split(',').nth(1).unwrap()) < end) {
        out += l;
        out.push('\n');
    }
    out
}

/// `text` (`unique_id,ds[,issued_at],ghi,temp_air`) averaged to hours, each hour stamped at
/// its start (the convention of stored stamps), as a coarser weather feed would send it.
fn hourly(text: &str) -> String {
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let vintage = header.contains("issued_at");
    // (series, hour, issue) -> (sum of ghi, sum of temp_air, count)
    type Hour = (String, DateTime<Utc>, String);
    let mut groups: std::collections::BTreeMap<Hour, (f64, f64, u32)> = Default::default();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let ts = t(f[1]);
        let hour = ts - Duration::minutes(ts.timestamp() % 3_600 / 60);
        let (issued, rest) = if vintage {
            (f[2].to_owned(), &f[3..])
        } else {
            (String::new(), &f[2..])
        };
        let e = groups
            .entry((f[0].to_owned(), hour, issued))
            .or_insert((0.0, 0.0, 0));
        e.0 += rest[0].parse::<f64>().unwrap();
        e.1 += rest[1].parse::<f64>().unwrap();
        e.2 += 1;
    }
    let mut out = format!("{header}\n");
    for ((id, hour, issued), (g, a, k)) in groups {
        let issued = if vintage {
            format!("{issued},")
        } else {
            String::new()
        };
        out += &format!(
            "{id},{},{issued}{:.1},{:.2}\n",
            hour.to_rfc3339(),
            g / k as f64,
            a / k as f64
        );
    }
    out
}

/// The fixture's plant (location, orientation, capacity) under `key`, with its output before
/// day 13.
async fn add_plant(store: &Store, settings: &Settings, key: &str) {
    let series = format!(
        "unique_id,frequency,latitude,longitude,capacity,tilt,azimuth,timezone\n\
         {key},15min,39.742,-105.1727,5426.4,45,158,America/Denver\n"
    );
    load_series_csv(store, key, Box::new(Cursor::new(series.into_bytes())))
        .await
        .unwrap();
    let power = rows_before(POWER, day_start(13)).replace(PLANT, key);
    ingest_csv(
        store,
        settings,
        key,
        Box::new(Cursor::new(power.into_bytes())),
    )
    .await
    .unwrap();
}

async fn plant_with_weather(db: &TestDb) -> (Store, Settings, Uuid) {
    plant_with_weather_as(db, |text| text).await
}

async fn plant_with_weather_as(
    db: &TestDb,
    feed: impl Fn(String) -> String,
) -> (Store, Settings, Uuid) {
    let store = Store::connect_with(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    let mut settings = Settings::from_figment(Settings::figment_defaults()).unwrap();
    settings.event_store_path = db.path("events.db");
    let history_end = day_start(13);
    add_plant(&store, &settings, PLANT).await;
    // Measured weather up to as-of (observations), forecasts for days 1 to 13 (vintages).
    for (name, text) in [
        ("measured", feed(rows_before(WEATHER, history_end))),
        ("forecasts", feed(vintages(1..14))),
    ] {
        let report = ingest_reader(
            &store,
            &settings,
            name,
            Box::new(Cursor::new(text.into_bytes())),
            horizon_settings::IngestFormat::Covariates,
        )
        .await
        .unwrap();
        assert!(report.rejections.is_empty(), "{:?}", report.rejections);
    }
    let plant = store
        .series_by_key(&SeriesKey::parse(PLANT).unwrap())
        .await
        .unwrap();
    (store, settings, plant.id)
}

async fn forecast_at(
    store: &Store,
    settings: &Settings,
    plant: Uuid,
    as_of: DateTime<Utc>,
) -> horizon_domain::Prediction {
    let options = PipelineOptions {
        as_of: Some(as_of),
        horizon: Some(96),
        ..PipelineOptions::default()
    };
    let report = run_pipeline(store, settings, &options).await.unwrap();
    assert_eq!(report.forecasts_written, 1, "{:?}", report.skipped);
    store.latest_prediction(plant).await.unwrap()
}

async fn day_ahead_weather_without_look_ahead(db: TestDb) {
    let (store, settings, plant) = plant_with_weather(&db).await;
    let covariates = store.covariates_of(&[plant]).await.unwrap();
    let names: Vec<&str> = covariates
        .iter()
        .map(|c| c.covariate_of.as_ref().unwrap().name.as_str())
        .collect();
    assert_eq!(names, ["ghi", "temp_air"]);
    // The plan forecasts the plant only, not its covariates.
    assert_eq!(store.series_to_forecast().await.unwrap().len(), 1);

    let as_of = day_start(13);
    let first = forecast_at(&store, &settings, plant, as_of).await;
    let issued = day_start(13) - Duration::hours(25);
    assert_eq!(first.covariates.len(), 2, "{:?}", first.covariates);
    for c in &first.covariates {
        assert_eq!(c.issued_at, Some(issued), "{c:?}");
        assert!(
            c.members.iter().any(|m| m == "solar_qr"),
            "the PV regression read the weather: {:?} / {:?}",
            c.members,
            first.members
        );
    }
    // Day 0 had no forecast issued early enough: its measured weather stood in, and the
    // forecast says so.
    assert!(
        first
            .warnings
            .iter()
            .any(|w| w.message.contains("covariate ghi")
                && w.message.contains("observations were used")),
        "{:?}",
        first.warnings
    );
    assert_eq!(first.first_target_at, as_of);
    let night = (0..96)
        .filter(|&s| (0..first.matrix.quantile_count()).all(|q| first.matrix.quantile(s, q) == 0.0))
        .count();
    assert!(night >= 30, "a July night in Colorado is over 8 h: {night}");

    // A forecast issued after as-of, of the same day, with no sun at all: planted, it changes
    // nothing at this as-of...
    let planted_at = as_of + Duration::hours(1);
    let ghi = &covariates[0];
    let planted: Vec<(Uuid, VintageValue)> = (0..96)
        .map(|s| {
            (
                ghi.id,
                VintageValue {
                    issued_at: planted_at,
                    ts: as_of + Duration::minutes(15 * s),
                    value: 0.0,
                },
            )
        })
        .collect();
    assert_eq!(store.insert_vintages(&planted).await.unwrap().inserted, 96);
    let again = forecast_at(&store, &settings, plant, as_of).await;
    assert_ne!(again.id, first.id);
    assert_eq!(
        again.matrix, first.matrix,
        "a later vintage changed the forecast"
    );
    assert_eq!(again.covariates, first.covariates);
    // ...and is what a run after it uses, and it would change the forecast.
    let later = forecast_at(&store, &settings, plant, planted_at).await;
    let ghi_use = later.covariates.iter().find(|c| c.name == "ghi").unwrap();
    assert_eq!(ghi_use.issued_at, Some(planted_at));
    assert_ne!(
        later.matrix, first.matrix,
        "the planted vintage is not inert"
    );

    // A run long after the last forecast was issued goes without it, and says why.
    let stale = forecast_at(&store, &settings, plant, as_of + Duration::hours(48)).await;
    assert!(stale.covariates.is_empty(), "{:?}", stale.covariates);
    assert!(
        stale
            .warnings
            .iter()
            .any(|w| w.message.contains("covariate ghi not used")
                && w.message.contains("HORIZON_COVARIATE_MAX_AGE_HOURS")),
        "{:?}",
        stale.warnings
    );
}

/// Weather stored hourly for a 15-minute plant is laid on the plant's steps (irradiance
/// through the clear-sky index, temperature interpolated): the forecast uses it, its nights
/// are exactly zero and its days follow what the plant then produced.
async fn hourly_weather_is_laid_on_a_quarter_hourly_plant(db: TestDb) {
    let (store, settings, plant) = plant_with_weather_as(&db, |text| hourly(&text)).await;
    let as_of = day_start(13);
    let f = forecast_at(&store, &settings, plant, as_of).await;
    assert_eq!(
        f.covariates.len(),
        2,
        "{:?} / {:?}",
        f.covariates,
        f.warnings
    );
    for c in &f.covariates {
        assert_eq!(c.issued_at, Some(as_of - Duration::hours(25)), "{c:?}");
        assert!(c.members.iter().any(|m| m == "solar_qr"), "{:?}", f.members);
    }
    let night = (0..96)
        .filter(|&s| (0..f.matrix.quantile_count()).all(|q| f.matrix.quantile(s, q) == 0.0))
        .count();
    assert!(night >= 30, "{night}");
    // What the plant produced that day, against the forecast's mean.
    let mut errors = Vec::new();
    for line in POWER.lines().skip(1) {
        let v: Vec<&str> = line.split(',').collect();
        let step = (t(v[1]) - as_of).num_minutes() / 15;
        if (0..96).contains(&step) {
            let y: f64 = v[2].parse().unwrap();
            errors.push((f.matrix.mean(step as usize) - y).abs());
        }
    }
    assert!(errors.len() >= 90, "{}", errors.len());
    let mae = errors.iter().sum::<f64>() / errors.len() as f64;
    assert!(mae < 0.06 * 5426.4, "MAE {mae:.0} W over the day");
}

/// A backtest job (the API's) reads the covariates a run would: the PV regression arm of a
/// plant with its weather scores better than the same arm on a copy of the plant (same
/// output, same location) without any weather.
async fn a_backtest_job_reads_the_covariates(db: TestDb) {
    use horizon_domain::{ExecutionKind, ExecutionStatus};
    const COPY: &str = "pvdaq50_without_weather";
    let (store, settings, plant) = plant_with_weather(&db).await;
    add_plant(&store, &settings, COPY).await;
    let copy = store
        .series_by_key(&SeriesKey::parse(COPY).unwrap())
        .await
        .unwrap();
    crate::queue::install(&store).await.unwrap();
    let request = serde_json::json!({
        "kind": "backtest",
        "params": {
            "series": [PLANT, COPY],
            "folds": 4,
            "models": ["solar_qr"],
            "horizon": 96,
            "as_of": day_start(13).to_rfc3339(),
        }
    });
    let id = crate::jobs::submit(
        &store,
        &settings,
        ExecutionKind::Backtest,
        request,
        None,
        None,
        None,
    )
    .await
    .unwrap()
    .id;
    if crate::queue::available(&store) {
        let s = store.clone();
        let until = async move {
            while !s.execution(id).await.unwrap().status.is_terminal() {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        };
        tokio::time::timeout(
            std::time::Duration::from_secs(120),
            crate::queue::run_worker(&store, &settings, "backtest-worker", until),
        )
        .await
        .expect("the job ends within two minutes")
        .unwrap();
    } else {
        crate::jobs::work_queued(&store, &settings, "test")
            .await
            .unwrap();
    }
    let execution = store.execution(id).await.unwrap();
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{execution:?}"
    );
    let metrics = store.list_forecast_metrics(None, 100).await.unwrap();
    let mae = |series: Uuid| {
        metrics
            .iter()
            .find(|m| m.series_id == series && m.model == "solar_qr")
            .unwrap_or_else(|| panic!("no metrics for {series} in {metrics:?}"))
            .metrics["mae"]
    };
    let (with, without) = (mae(plant), mae(copy.id));
    assert!(
        with < 0.9 * without,
        "with weather {with:.1} W, without {without:.1} W"
    );
}

both_backends!(
    day_ahead_weather_without_look_ahead,
    hourly_weather_is_laid_on_a_quarter_hourly_plant,
    a_backtest_job_reads_the_covariates
);
