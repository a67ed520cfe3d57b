//! `horizon`, the command for people: apply migrations, run the demo, forecast or backtest a
//! CSV file without a database.

mod demo;
mod keys;

use anyhow::Context;
use clap::{Parser, Subcommand};
use horizon_settings::Settings;
use horizon_store::Store;

#[derive(Parser)]
#[command(
    name = "horizon",
    version,
    about = "Horizon: probabilistic forecasts for many series"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending database migrations and exit.
    Migrate,
    /// Ingest the bundled sample, forecast it and serve the API on HORIZON_API_BIND.
    Demo {
        /// Stop after forecasting instead of serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Forecast every series of a long-format CSV file (`unique_id,ds,y`) into a CSV file.
    Forecast(horizon_batch::ForecastArgs),
    /// Rolling-origin backtest of a long-format CSV file, with per-series metrics.
    Backtest(horizon_batch::BacktestArgs),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The whole chain on one line: what failed, while doing what.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Forecast(args) => {
            let summary = horizon_batch::run_forecast(&args).context("while forecasting")?;
            for (id, warning) in &summary.warnings {
                eprintln!("warning: series {id}: {warning}");
            }
            for (id, reason) in &summary.failed {
                eprintln!("series {id} not forecast: {reason}");
            }
            eprintln!(
                "forecast {} of {} series: {} rows written to {}",
                summary.series - summary.failed.len(),
                summary.series,
                summary.rows,
                args.output.display()
            );
            Ok(())
        }
        Command::Backtest(args) => {
            let summary = horizon_batch::run_backtest(&args).context("while backtesting")?;
            for (id, warning) in &summary.warnings {
                eprintln!("warning: series {id}: {warning}");
            }
            for (id, reason) in &summary.failed {
                eprintln!("series {id} not evaluated: {reason}");
            }
            eprintln!(
                "evaluated {} of {} series",
                summary.series - summary.failed.len(),
                summary.series
            );
            // With `--output -` the metrics file is standard output: the means go beside the
            // other messages.
            let to_stdout = args.output.as_os_str() != "-";
            for (name, mean) in &summary.means {
                if to_stdout {
                    println!("{name}\t{mean:.4}");
                } else {
                    eprintln!("{name}\t{mean:.4}");
                }
            }
            Ok(())
        }
        Command::Migrate => runtime()?.block_on(async {
            let mut settings = Settings::load().context("while reading settings")?;
            horizon_services::telemetry::init(&settings);
            settings.migrate_on_start = false;
            let store = Store::connect_with(
                &settings.database_url,
                &horizon_store::PoolOptions::from_settings(&settings),
            )
            .await
            .context("while connecting to the database")?;
            store.migrate().await.context("while migrating")?;
            let applied = store.applied_migrations().await?;
            println!(
                "database is at migration {}",
                applied.last().map_or("(none)", String::as_str)
            );
            Ok(())
        }),
        Command::Keys(command) => runtime()?.block_on(async {
            let settings = Settings::load().context("while reading settings")?;
            let store = Store::open(&settings)
                .await
                .context("while opening the database")?;
            keys::run(&store, command).await
        }),
        Command::Demo { no_serve } => {
            let settings = Settings::load().context("while reading settings")?;
            horizon_services::telemetry::init(&settings);
            actix_web::rt::System::new().block_on(demo::run(settings, !no_serve))
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("while starting the async runtime")
}
