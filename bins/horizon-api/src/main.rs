//! The Horizon API server: loads settings, opens the database, serves HTTP on
//! `HORIZON_API_BIND` until SIGINT/SIGTERM, finishing in-flight requests.

use std::{net::TcpListener, sync::Arc};

use anyhow::Context;
use horizon_settings::Settings;
use horizon_store::Store;

/// Serves the Horizon HTTP API on HORIZON_API_BIND. Every setting comes from the environment
/// or horizon.toml (see .env.example); there are no flags besides these.
#[derive(clap::Parser)]
#[command(name = "horizon-api", version, about)]
struct Cli {}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    // First, so --help and --version answer without touching anything.
    let _ = <Cli as clap::Parser>::parse();
    let settings = Settings::load().context("while reading settings")?;
    horizon_services::telemetry::init(&settings);
    let store = Store::open_with(&settings, &horizon_store::PoolOptions::for_api(&settings))
        .await
        .context("while opening the database")?;
    horizon_services::queue::install(&store)
        .await
        .context("while installing the job queue")?;
    let listener = TcpListener::bind(settings.api_bind)
        .with_context(|| format!("while binding HORIZON_API_BIND={}", settings.api_bind))?;
    tracing::info!(addr = %listener.local_addr()?, "horizon-api listening");
    // All-in-one with HORIZON_API_WORKER=true: this process also works the jobs it accepts.
    // On SQLite nothing else can (there is no queue for workers), so it always does: a job
    // accepted with 202 must not stay queued for ever.
    let work_jobs =
        settings.api_worker || store.backend() == horizon_settings::DatabaseKind::Sqlite;
    if work_jobs && !settings.api_worker {
        tracing::info!("embedded database: this process works the API's jobs");
    }
    horizon_http::Application::build(Arc::new(settings), store, listener, work_jobs)
        .await
        .context("while connecting to redis")?
        .run()
        .await
        .context("while serving")?;
    tracing::info!("horizon-api stopped");
    Ok(())
}
