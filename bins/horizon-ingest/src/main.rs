//! The Horizon ingest process. `once` ingests files in one cycle (for cron and tests).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use horizon_settings::Settings;
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
    /// One ingest cycle over the given files, then exit.
    Once {
        /// Long-format CSV files (`unique_id,ds,y`) to ingest.
        #[arg(long = "file", required = true)]
        files: Vec<PathBuf>,
        /// Series metadata CSV (`key,entity,metric,frequency,unit,lower,upper,thresholds`)
        /// applied before the files.
        #[arg(long)]
        series: Option<PathBuf>,
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
        Command::Once { files, series } => {
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
                match horizon_services::ingest::ingest_csv_file(&store, &settings, &path).await {
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
