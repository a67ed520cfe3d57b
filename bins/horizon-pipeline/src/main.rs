//! The Horizon forecasting pipeline: `run` plans a run (scoring earlier forecasts and
//! recalibrating first), `worker` works queued partitions and API jobs, `daemon` runs daily.

use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use horizon_services::{
    pipeline::{self, PipelineOptions},
    queue,
};
use horizon_settings::Settings;
use horizon_store::Store;

#[derive(Parser)]
#[command(
    name = "horizon-pipeline",
    version,
    about = "Forecasts every due series, spread over workers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct RunArgs {
    /// Forecast as of this date or datetime (RFC 3339); observations from then on are
    /// ignored. Default: now.
    #[arg(long, value_parser = parse_as_of)]
    as_of: Option<horizon_domain::Timestamp>,
    /// Only series whose key starts with this prefix.
    #[arg(long = "series")]
    series_prefix: Option<String>,
    /// Steps to forecast (default: by frequency).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    horizon: Option<u32>,
}

impl RunArgs {
    fn options(&self) -> PipelineOptions {
        PipelineOptions {
            as_of: self.as_of,
            series_prefix: self.series_prefix.clone(),
            horizon: self.horizon.map(|h| h as usize),
            ..Default::default()
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Plan a run. On PostgreSQL its partitions are queued for `worker` processes; on SQLite
    /// (or with --local) they are worked in this process.
    Run {
        #[command(flatten)]
        args: RunArgs,
        /// Also work the run in this process (alongside any other workers) and wait until it
        /// has ended.
        #[arg(long)]
        wait: bool,
        /// Work every partition in this process, without the queue.
        #[arg(long, conflicts_with = "wait")]
        local: bool,
    },
    /// Work queued partitions and API jobs until SIGINT/SIGTERM (PostgreSQL).
    Worker,
    /// Plan (and work) a run every day at a fixed time, until SIGINT/SIGTERM.
    Daemon {
        #[command(flatten)]
        args: RunArgs,
        /// Time of day of each run, HH:MM in UTC.
        #[arg(long, default_value = "02:00", value_parser = parse_time)]
        at: chrono::NaiveTime,
    },
}

fn parse_as_of(text: &str) -> Result<horizon_domain::Timestamp, String> {
    horizon_services::ingest::parse_timestamp(text)
        .ok_or_else(|| format!("{text:?} is not a date (YYYY-MM-DD) or an RFC 3339 datetime"))
}

fn parse_time(text: &str) -> Result<chrono::NaiveTime, String> {
    chrono::NaiveTime::parse_from_str(text, "%H:%M")
        .map_err(|_| format!("{text:?} is not a time of day as HH:MM (UTC)"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load().context("while reading settings")?;
    horizon_services::telemetry::init(&settings);
    let store = Store::open(&settings)
        .await
        .context("while opening the database")?;
    queue::install(&store)
        .await
        .context("while installing the job queue")?;
    match cli.command {
        Command::Run { args, wait, local } => {
            run_once(&store, &settings, &args.options(), wait, local).await?;
        }
        Command::Worker => {
            let name = pipeline::worker_name("worker");
            queue::run_worker(&store, &settings, &name, stop_requested())
                .await
                .context("while working the queue")?;
        }
        Command::Daemon { args, at } => {
            let stop = stop_requested();
            tokio::pin!(stop);
            loop {
                let wait = until_next(at, chrono::Utc::now());
                tracing::info!(seconds = wait.as_secs(), "next run scheduled");
                tokio::select! {
                    _ = &mut stop => break,
                    _ = tokio::time::sleep(wait) => {}
                }
                // A failed run is logged and the daemon keeps its schedule.
                if let Err(e) = run_once(&store, &settings, &args.options(), true, false).await {
                    tracing::error!(error = %format!("{e:#}"), "scheduled run failed");
                }
            }
        }
    }
    Ok(())
}

/// Plans a run and, as asked, works it here and waits; prints a one-line summary.
async fn run_once(
    store: &Store,
    settings: &Settings,
    options: &PipelineOptions,
    wait: bool,
    local: bool,
) -> anyhow::Result<()> {
    if local || !queue::available(store) {
        let report = pipeline::run_pipeline(store, settings, options)
            .await
            .context("while running the pipeline")?;
        println!(
            "execution {}: {} forecasts written for {} series ({} skipped)",
            report.execution_id,
            report.forecasts_written,
            report.series_total,
            report.skipped.len()
        );
        return Ok(());
    }
    let planned = pipeline::plan_run(store, settings, options, true)
        .await
        .context("while planning the run")?;
    println!(
        "execution {}: {} series in {} partitions queued",
        planned.execution_id,
        planned.series_total,
        planned.partitions.len()
    );
    if !wait {
        return Ok(());
    }
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = {
        let store = store.clone();
        let settings = settings.clone();
        tokio::spawn(async move {
            let name = pipeline::worker_name("run");
            queue::run_worker(&store, &settings, &name, async move {
                let _ = stop_rx.await;
            })
            .await
        })
    };
    let ended = queue::wait_for_execution(store, planned.execution_id, Duration::from_millis(500))
        .await
        .context("while waiting for the run")?;
    let _ = stop_tx.send(());
    worker
        .await
        .context("while stopping the worker")?
        .context("while working the run")?;
    let report = pipeline::run_report(store, planned.execution_id).await?;
    println!(
        "execution {}: {} — {} forecasts written for {} series",
        report.execution_id, ended.status, report.forecasts_written, report.series_total
    );
    if ended.status != horizon_domain::ExecutionStatus::Succeeded {
        anyhow::bail!(
            "the run {} ended {}: {}",
            ended.id,
            ended.status,
            ended.error.unwrap_or_default()
        );
    }
    Ok(())
}

/// Time until the next `at` (UTC) strictly after `now`.
fn until_next(at: chrono::NaiveTime, now: horizon_domain::Timestamp) -> Duration {
    let today = now.date_naive().and_time(at).and_utc();
    let next = if today > now {
        today
    } else {
        today + chrono::Duration::days(1)
    };
    (next - now).to_std().unwrap_or(Duration::ZERO)
}

async fn stop_requested() {
    horizon_services::shutdown_signal().await;
    tracing::info!("shutdown requested; finishing the current work");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_run_is_later_today_or_tomorrow() {
        let at = parse_time("02:00").unwrap();
        let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        assert_eq!(
            until_next(at, t("2026-11-22T01:00:00Z")),
            Duration::from_secs(3600)
        );
        assert_eq!(
            until_next(at, t("2026-11-22T02:00:00Z")),
            Duration::from_secs(24 * 3600)
        );
        assert!(parse_time("25:00").is_err());
    }
}
