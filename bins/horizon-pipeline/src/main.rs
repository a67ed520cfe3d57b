//! The Horizon forecasting pipeline. `run` forecasts every due series in this process.

use anyhow::Context;
use clap::{Parser, Subcommand};
use horizon_services::pipeline::{PipelineOptions, run_pipeline};
use horizon_settings::Settings;
use horizon_store::Store;

#[derive(Parser)]
#[command(
    name = "horizon-pipeline",
    version,
    about = "Forecasts every due series"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Plan a run and work it in this process.
    Run {
        /// Forecast as of this date or datetime (RFC 3339); observations from then on are
        /// ignored. Default: now.
        #[arg(long, value_parser = parse_as_of)]
        as_of: Option<horizon_domain::Timestamp>,
        /// Only series whose key starts with this prefix.
        #[arg(long = "series")]
        series_prefix: Option<String>,
        /// Steps to forecast (default: by frequency).
        #[arg(long)]
        horizon: Option<usize>,
    },
}

fn parse_as_of(text: &str) -> Result<horizon_domain::Timestamp, String> {
    horizon_services::ingest::parse_timestamp(text)
        .ok_or_else(|| format!("{text:?} is not a date (YYYY-MM-DD) or an RFC 3339 datetime"))
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
        Command::Run {
            as_of,
            series_prefix,
            horizon,
        } => {
            if horizon == Some(0) {
                anyhow::bail!("--horizon must be at least 1");
            }
            let options = PipelineOptions {
                as_of,
                series_prefix,
                horizon,
                ..Default::default()
            };
            let report = run_pipeline(&store, &settings, &options)
                .await
                .context("while running the pipeline")?;
            for (key, reason) in &report.skipped {
                tracing::warn!(series = %key, reason = %reason, "series skipped");
            }
            println!(
                "execution {}: {} forecasts written for {} series ({} skipped)",
                report.execution_id,
                report.forecasts_written,
                report.series_total,
                report.skipped.len()
            );
        }
    }
    Ok(())
}
