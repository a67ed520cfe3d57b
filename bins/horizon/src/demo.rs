//! The demo: the whole loop on the embedded default with a bundled sample.

use std::{io::Cursor, net::TcpListener, sync::Arc};

use anyhow::Context;
use horizon_services::{
    ingest::{ingest_csv, load_series_csv},
    pipeline::{PipelineOptions, run_pipeline},
};
use horizon_settings::Settings;
use horizon_store::Store;

const DEMO_KEY_NAME: &str = "demo";
const SAMPLE_SERIES: &str = include_str!("../../../samples/demo/series.csv");
const SAMPLE_OBSERVATIONS: &str = include_str!("../../../samples/demo/observations.csv");

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
    println!(
        "ingested the sample: {n} series, {} records read, {} new or changed",
        report.run.rows_read, report.run.rows_rolled_up
    );

    let mut missing = 0;
    for s in store.all_series().await? {
        if store.latest_prediction(s.id).await.is_err() {
            missing += 1;
        }
    }
    if report.run.rows_rolled_up > 0 || missing > 0 {
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
