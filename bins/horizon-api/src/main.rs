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
    let (stop_worker, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = settings.api_worker.then(|| {
        // All-in-one: this process also works the jobs it accepts.
        actix_web::rt::spawn(horizon_services::queue::work_in_process(
            store.clone(),
            settings.clone(),
            async {
                let _ = stopped.await;
            },
        ))
    });
    let listener = TcpListener::bind(settings.api_bind)
        .with_context(|| format!("while binding HORIZON_API_BIND={}", settings.api_bind))?;
    tracing::info!(addr = %listener.local_addr()?, "horizon-api listening");
    let state = horizon_http::AppState::open(Arc::new(settings), store)
        .await
        .context("while connecting to redis")?;
    let served = horizon_http::server(state, listener)
        .context("while starting the server")?
        .await
        .context("while serving");
    let _ = stop_worker.send(());
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    served?;
    tracing::info!("horizon-api stopped");
    Ok(())
}
