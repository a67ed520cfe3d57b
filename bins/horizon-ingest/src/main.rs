//! The Horizon ingest process: `run` is the daemon over the configured sources (stops after the
//! current transaction on SIGTERM/SIGINT); `once` is one cycle over them, or over the files
//! given with `--file` (for cron and tests).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use horizon_services::ingest::daemon::{self, Ingestor};
use horizon_settings::{IngestFormat, Settings};
use horizon_store::Store;

#[derive(Parser)]
#[command(
    name = "horizon-ingest",
    version,
    about = "Lands records in the event store and rolls them up into observations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The daemon: watch and poll the configured sources until SIGTERM or SIGINT.
    Run,
    /// One ingest cycle over the configured sources, or over the given files, then exit.
    Once {
        /// Long-format CSV files (`unique_id,ds,y`) to ingest instead of the configured
        /// sources.
        #[arg(long = "file")]
        files: Vec<PathBuf>,
        /// Series metadata CSV (`key,entity,metric,frequency,unit,lower,upper,thresholds` and
        /// the attributes `latitude,longitude,altitude,capacity,tilt,azimuth,timezone,country`)
        /// applied before the files.
        #[arg(long)]
        series: Option<PathBuf>,
        /// The files are covariates of target series
        /// (`unique_id,ds[,issued_at],<covariate columns>`; `.jsonl` files as JSON Lines).
        #[arg(long)]
        covariates: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load().context("while reading settings")?;
    horizon_services::telemetry::init(&settings);
    let store = Store::open(&settings)
        .await
        .context("while opening the database")?;
    match cli.command {
        Command::Run => {
            let mut ingestor = Ingestor::new(store, settings)
                .await
                .context("while starting the ingest daemon")?;
            let stopper = ingestor.stopper();
            tokio::spawn(async move {
                daemon::shutdown_signal().await;
                tracing::info!("shutdown requested; finishing the current transaction");
                stopper.stop();
            });
            ingestor
                .run()
                .await
                .context("while running the ingest daemon")?;
        }
        Command::Once { files, series, .. } if files.is_empty() && series.is_none() => {
            let mut ingestor = Ingestor::new(store, settings)
                .await
                .context("while starting the ingest cycle")?;
            let stopper = ingestor.stopper();
            tokio::spawn(async move {
                daemon::shutdown_signal().await;
                stopper.stop();
            });
            let report = ingestor
                .cycle()
                .await
                .context("while running an ingest cycle")?;
            if report.runs.iter().any(|r| r.error.is_some()) {
                anyhow::bail!("some inputs could not be ingested; see the log above");
            }
        }
        Command::Once {
            files,
            series,
            covariates,
        } => {
            if let Some(path) = series {
                let file = std::fs::File::open(&path)
                    .with_context(|| format!("while opening {}", path.display()))?;
                let n = horizon_services::ingest::load_series_csv(
                    &store,
                    &path.display().to_string(),
                    Box::new(file),
                )
                .await
                .with_context(|| {
                    format!("while loading series metadata from {}", path.display())
                })?;
                tracing::info!(series = n, "series metadata applied");
            }
            let mut failed = false;
            for path in files {
                let jsonl = path.extension().is_some_and(|e| e == "jsonl");
                let format = match (covariates, jsonl) {
                    (false, false) => IngestFormat::Csv,
                    (false, true) => IngestFormat::Jsonl,
                    (true, false) => IngestFormat::Covariates,
                    (true, true) => IngestFormat::CovariatesJsonl,
                };
                match horizon_services::ingest::ingest_file(&store, &settings, &path, format).await
                {
                    Ok(report) => {
                        for r in report.rejections.iter().take(20) {
                            tracing::warn!(
                                source = %r.source,
                                line = r.line,
                                reason = %r.reason,
                                "record rejected"
                            );
                        }
                    }
                    Err(e) => {
                        failed = true;
                        tracing::error!(file = %path.display(), error = %e, "ingest failed");
                    }
                }
            }
            if failed {
                anyhow::bail!("some files could not be ingested; see the log above");
            }
        }
    }
    Ok(())
}
