//! The demo: the whole loop on the embedded default with a bundled sample.

use std::{io::Cursor, net::TcpListener, sync::Arc};

use anyhow::Context;
use horizon_services::{
    ingest::{ingest_csv, ingest_reader, load_series_csv},
    pipeline::{PipelineOptions, run_pipeline},
};
use horizon_settings::{IngestFormat, Settings};
use horizon_store::Store;

const DEMO_KEY_NAME: &str = "demo";
const SAMPLE_SERIES: &str = include_str!("../../../samples/demo/series.csv");
const SAMPLE_OBSERVATIONS: &str = include_str!("../../../samples/demo/observations.csv");
// The real plant: PVDAQ system 50 (samples/pvdaq50, MIT licence; see its README).
const PLANT_POWER: &str = include_str!("../../../samples/pvdaq50/power.csv");
const PLANT_WEATHER: &str = include_str!("../../../samples/pvdaq50/weather.csv");
const PLANT_VINTAGES: &str = include_str!("../../../samples/pvdaq50/vintages.csv");
const PLANT_SERIES: &str = "key,entity,metric,frequency,unit,lower,capacity,thresholds,timezone\n\
    pvdaq50_serf_east_2016,SERF East,ac_power,15min,W,0,5426.4,4500,America/Denver\n";

/// The start of the sample's last day (its forecasts' day): 2016-07-14T07:00Z, midnight in
/// Golden, CO.
const PLANT_LAST_DAY: i64 = 1_468_479_600;

/// Whole days that move the plant's last day to the one that holds `now` (days start at
/// 07:00Z, as the sample's do), so its day-ahead forecasts are fresh whenever the demo runs.
fn plant_shift(now: chrono::DateTime<chrono::Utc>) -> chrono::Duration {
    let days = (now.timestamp() - PLANT_LAST_DAY).div_euclid(86_400);
    chrono::Duration::days(days)
}

/// `text` (a CSV with stamps in the columns named by `stamps`) with every stamp moved by
/// `shift`; rows whose `ds` is at or after `before` (moved) are left out.
fn shifted(
    text: &str,
    shift: chrono::Duration,
    before: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<String> {
    let mut lines = text.lines();
    let header = lines.next().context("an empty sample file")?;
    let columns: Vec<&str> = header.split(',').collect();
    let moved: Vec<bool> = columns
        .iter()
        .map(|c| matches!(*c, "ds" | "issued_at"))
        .collect();
    let ds = columns
        .iter()
        .position(|c| *c == "ds")
        .context("no ds column")?;
    let mut out = format!("{header}\n");
    for line in lines {
        let mut fields: Vec<String> = line.split(',').map(str::to_owned).collect();
        for (i, f) in fields.iter_mut().enumerate() {
            if moved[i] && !f.is_empty() {
                let t = chrono::DateTime::parse_from_rfc3339(f)
                    .with_context(|| format!("a sample stamp {f:?}"))?
                    .with_timezone(&chrono::Utc)
                    + shift;
                *f = t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
            }
        }
        let t = chrono::DateTime::parse_from_rfc3339(&fields[ds])?.with_timezone(&chrono::Utc);
        if before.is_some_and(|b| t >= b) {
            continue;
        }
        out += &fields.join(",");
        out.push('\n');
    }
    Ok(out)
}

/// Loads the real plant: its power and measured weather up to its last day, and the
/// day-ahead weather forecasts of its days 2 to 14 (the last one covering today).
async fn load_plant(store: &Store, settings: &Settings) -> anyhow::Result<i64> {
    let shift = plant_shift(chrono::Utc::now());
    let last_day = chrono::DateTime::from_timestamp(PLANT_LAST_DAY, 0).context("a stamp")? + shift;
    load_series_csv(
        store,
        "demo:plant.csv",
        Box::new(Cursor::new(PLANT_SERIES.as_bytes())),
    )
    .await
    .context("while loading the plant")?;
    let mut rolled = 0;
    for (name, text, format) in [
        (
            "power.csv",
            shifted(PLANT_POWER, shift, Some(last_day))?,
            IngestFormat::Csv,
        ),
        (
            "weather.csv",
            shifted(PLANT_WEATHER, shift, Some(last_day))?,
            IngestFormat::Covariates,
        ),
        (
            "vintages.csv",
            shifted(PLANT_VINTAGES, shift, None)?,
            IngestFormat::Covariates,
        ),
    ] {
        let report = ingest_reader(
            store,
            settings,
            &format!("demo:pvdaq50/{name}"),
            Box::new(Cursor::new(text.into_bytes())),
            format,
        )
        .await
        .with_context(|| format!("while ingesting the plant's {name}"))?;
        rolled += report.run.rows_rolled_up;
    }
    Ok(rolled)
}

pub async fn run(settings: Settings, serve: bool) -> anyhow::Result<()> {
    // The port first: a second demo in the same directory must fail here, before it revokes
    // the running demo's key.
    let listener = if serve {
        Some(TcpListener::bind(settings.api_bind).with_context(|| {
            format!(
                "while binding HORIZON_API_BIND={}: is another horizon demo or server running \
                 there? Stop it, or set HORIZON_API_BIND to a free address",
                settings.api_bind
            )
        })?)
    } else {
        None
    };
    println!(
        "horizon demo: database {}",
        horizon_settings::redact(&settings.database_url)
    );
    let store = Store::open(&settings)
        .await
        .context("while opening the database")?;
    let n = load_series_csv(
        &store,
        "demo:series.csv",
        Box::new(Cursor::new(SAMPLE_SERIES.as_bytes())),
    )
    .await
    .context("while loading the sample's series")?;
    let report = ingest_csv(
        &store,
        &settings,
        "demo:observations.csv",
        Box::new(Cursor::new(SAMPLE_OBSERVATIONS.as_bytes())),
    )
    .await
    .context("while ingesting the sample")?;
    let plant = load_plant(&store, &settings).await?;
    println!(
        "ingested the sample: {} series, {} records read, {} new or changed; a real PV plant \
         with its weather forecasts ({plant} new or changed)",
        n + 1,
        report.run.rows_read,
        report.run.rows_rolled_up
    );

    let mut missing = 0;
    for s in store.series_to_forecast().await? {
        if store.latest_prediction(s.id).await.is_err() {
            missing += 1;
        }
    }
    if report.run.rows_rolled_up > 0 || plant > 0 || missing > 0 {
        let run = run_pipeline(&store, &settings, &PipelineOptions::default())
            .await
            .context("while forecasting the sample")?;
        println!(
            "forecast {} series (execution {})",
            run.forecasts_written, run.execution_id
        );
    } else {
        println!("forecasts are current: nothing new since the last run");
    }

    let Some(listener) = listener else {
        return Ok(());
    };
    // A fresh key per run: the token of an earlier run cannot be shown again (only its hash is
    // stored), so the previous demo keys are revoked and a new one printed.
    for k in store.list_api_keys().await? {
        if k.name == DEMO_KEY_NAME && k.revoked_at.is_none() {
            store.revoke_api_key(k.id).await?;
        }
    }
    let scopes = "read,write"
        .parse()
        .context("while choosing the demo key's scopes")?;
    let (_, token) = crate::keys::create(&store, DEMO_KEY_NAME, scopes, Some(30)).await?;
    let addr = listener.local_addr()?;
    println!("\nserving on http://{addr} (Ctrl-C to stop).");
    println!("open http://{addr}/ and paste this API key (a new one each run):\n\n  {token}\n");
    println!("or try:");
    println!("  curl -H 'X-API-Key: {token}' http://{addr}/v1/series");
    println!("  curl -H 'X-API-Key: {token}' http://{addr}/v1/series/events-USA/forecasts/latest");
    // The demo is all-in-one: jobs posted to the API are worked in this process.
    horizon_http::Application::build(Arc::new(settings), store, listener, true)
        .await
        .context("while connecting to redis")?
        .run()
        .await
        .context("while serving")
}
