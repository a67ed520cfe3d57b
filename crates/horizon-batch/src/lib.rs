//! Batch forecasting and backtesting of long-format CSV files (`unique_id,ds,y`) with the
//! Horizon engine, for the `horizon forecast` and `horizon backtest` commands.
//!
//! The binary embeds [`ForecastArgs`] / [`BacktestArgs`] in its clap parser and calls
//! [`run_forecast`] / [`run_backtest`]. Series are forecast in parallel (rayon); a progress
//! bar is drawn on stderr only when stderr is a terminal.
//!
//! Input rules:
//! - `ds` is an integer index, a date `YYYY-MM-DD`, or a datetime (RFC 3339 or
//!   `YYYY-MM-DD HH:MM:SS`, taken as UTC); one file uses one kind.
//! - `y` is a number; empty, `NA`, `NaN` or `null` mark a missing value.
//! - Rows may come in any order; each series is sorted by `ds`. Timestamps missing from a
//!   series' regular grid become missing values (imputed by the engine).
//! - All series of a file must have the same frequency (inferred from the `ds` gaps).
//! - Series whose values are all non-negative are forecast with a lower bound of 0.

pub mod covariates;
mod input;
mod ordered;
mod output;
mod parquet_io;

#[cfg(test)]
mod tests;

use std::{
    collections::HashMap,
    io::IsTerminal,
    path::{Path, PathBuf},
};

use horizon_domain::{Bounds, ForecastWarning, IntervalLabel, QuantileLevels, WarningKind};
use horizon_engine::{
    BacktestConfig, Covariate, EngineError, ForecastRequest, ModelKind, Timeline,
};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

pub use input::{Ds, OnDuplicate, Series, SeriesSet, read_series, read_series_with};

/// Why a batch run failed.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A cell of the input is unusable.
    #[error("line {line}, column {column} ({name}): {reason}")]
    Parse {
        /// 1-based line of the input file.
        line: u64,
        /// 1-based column.
        column: usize,
        /// The column's header.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The input as a whole is unusable (no rows, missing header, mixed frequencies, ...).
    #[error("{0}")]
    Input(String),
    /// A command-line argument is out of range.
    #[error("invalid argument {what}: {reason}")]
    Argument {
        /// The argument.
        what: &'static str,
        /// The rule it broke.
        reason: String,
    },
    /// Writing the CSV output failed.
    #[error("{path}: {message}")]
    Output {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// `horizon forecast`: forecast every series of a CSV file.
#[derive(Debug, Clone, clap::Args)]
pub struct ForecastArgs {
    /// Long-format CSV with columns `unique_id,ds,y` (`-`: standard input), or Parquet when
    /// the name ends in `.parquet` (`ds` a timestamp, a date, an integer or text).
    #[arg(long)]
    pub input: PathBuf,
    /// Number of steps to forecast.
    #[arg(long)]
    pub horizon: usize,
    /// Seasonal periods in steps, one or a comma-separated list (e.g. `24,168` for hourly data
    /// with a daily and a weekly cycle; `1` for none); decimals such as `52.18` (weeks in a
    /// year) or `365.25` are taken to the nearest whole step, which every member needs;
    /// inferred from the frequency of `ds` when absent (none for integer ds).
    #[arg(long, value_delimiter = ',', value_parser = parse_season_length)]
    pub season_length: Vec<f64>,
    /// Central interval levels in percent.
    #[arg(long, value_delimiter = ',', default_value = "80,95")]
    pub levels: Vec<f64>,
    /// Quantile levels in (0, 1) to write as `q-<level>` columns.
    #[arg(long, value_delimiter = ',')]
    pub quantiles: Vec<f64>,
    /// Models to use (`ensemble` or any of naive, snaive, drift, window_average,
    /// historic_average, ets, theta, otm, dotm, croston, sba, tsb, adida, imapa, mstl, damped;
    /// with covariates also solar_qr, solar_gbt and regression).
    /// With several, the plain columns are their ensemble's and each model adds its own set
    /// named after it: `ets, ets-lo-80, ets-hi-80, ..., ets-q-0.5`.
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
    /// Output CSV: `unique_id,ds,mean,lo-L,hi-L...,q-Q...` (`-`: standard output); Parquet
    /// with the same columns when the name ends in `.parquet`.
    #[arg(long)]
    pub output: PathBuf,
    /// Seed of the sample paths.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Two rows of one series at the same `ds`: `error` (default: refuse, naming both lines),
    /// or keep the `first`, the `last` or their `mean`.
    #[arg(long, value_enum, default_value_t = OnDuplicate::Error)]
    pub on_duplicate: OnDuplicate,
    /// Covariates, series attributes and the stamp label.
    #[command(flatten)]
    pub drivers: DriverArgs,
}

/// The covariate and attribute inputs shared by `forecast` and `backtest`.
#[derive(Debug, Clone, clap::Args)]
pub struct DriverArgs {
    /// Known-future covariates: `unique_id,ds,<one numeric column per covariate>`, covering the
    /// history and the forecast steps. `ghi` (W/m²), `temp_air` (°C) and `cloud_cover` (0–1)
    /// feed the solar physics; any other column is a driver of the regression.
    #[arg(long)]
    pub covariates: Option<PathBuf>,
    /// Series attributes: first column `unique_id` (or `key`), then any of latitude,
    /// longitude, capacity, lower, upper, tilt, azimuth, altitude, timezone, country.
    #[arg(long)]
    pub series: Option<PathBuf>,
    /// Whether a sub-daily `ds` names the start or the end of its interval.
    #[arg(long, default_value = "end", value_parser = ["start", "end"])]
    pub label: String,
}

impl Default for DriverArgs {
    /// No covariates, no attributes, stamps at the interval's end.
    fn default() -> Self {
        Self {
            covariates: None,
            series: None,
            label: IntervalLabel::End.to_string(),
        }
    }
}

/// What a forecast run did.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastSummary {
    /// Series read.
    pub series: usize,
    /// Rows written.
    pub rows: usize,
    /// Series that could not be forecast, with the reason.
    pub failed: Vec<(String, String)>,
    /// Warnings of the engine, per series.
    pub warnings: Vec<(String, ForecastWarning)>,
}

/// `horizon backtest`: rolling-origin evaluation of every series of a CSV file.
#[derive(Debug, Clone, clap::Args)]
pub struct BacktestArgs {
    /// Long-format CSV with columns `unique_id,ds,y` (`-`: standard input), or Parquet when
    /// the name ends in `.parquet` (`ds` a timestamp, a date, an integer or text).
    #[arg(long)]
    pub input: PathBuf,
    /// Steps scored per window.
    #[arg(long)]
    pub horizon: usize,
    /// Seasonal periods, one or a comma-separated list (see `forecast --season-length`);
    /// inferred from the frequency of `ds` when absent.
    #[arg(long, value_delimiter = ',', value_parser = parse_season_length)]
    pub season_length: Vec<f64>,
    /// Number of windows.
    #[arg(long, default_value_t = 3)]
    pub windows: usize,
    /// Distance between window cutoffs (default: the horizon).
    #[arg(long)]
    pub step: Option<usize>,
    /// Steps between a cutoff and the first scored step.
    #[arg(long, default_value_t = 0)]
    pub gap: usize,
    /// Central interval levels in percent.
    #[arg(long, value_delimiter = ',', default_value = "80,95")]
    pub levels: Vec<f64>,
    /// Models to use (see `forecast --models`).
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
    /// Output CSV (`-`: standard output; Parquet for a `.parquet` name): metrics per series,
    /// or with `--output-format cv`
    /// every scored step.
    #[arg(long)]
    pub output: PathBuf,
    /// `metrics` (default): one row per series, `unique_id,windows,mae,...`. `cv`: one row per
    /// series, window and scored step, `unique_id,ds,cutoff,y,mean,lo-L,hi-L...` and, with
    /// several `--models`, each model's own columns (like `cross_validation` elsewhere).
    #[arg(long, value_enum, default_value_t = BacktestOutput::Metrics)]
    pub output_format: BacktestOutput,
    /// Optional CSV with the metrics averaged over series.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Two rows of one series at the same `ds`: `error` (default: refuse, naming both lines),
    /// or keep the `first`, the `last` or their `mean`.
    #[arg(long, value_enum, default_value_t = OnDuplicate::Error)]
    pub on_duplicate: OnDuplicate,
    /// Covariates, series attributes and the stamp label.
    #[command(flatten)]
    pub drivers: DriverArgs,
}

/// What `horizon backtest` writes to `--output`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum BacktestOutput {
    /// One row of metrics per series.
    #[default]
    Metrics,
    /// One row per series, window and scored step, with the actual and the forecast.
    Cv,
}

/// The models that get their own columns: those of `--models` in their order, each once, when
/// there are several; none otherwise (the columns stay the plain ones).
fn own_columns(models: Option<&[ModelKind]>) -> Vec<ModelKind> {
    let mut out: Vec<ModelKind> = Vec::new();
    for m in models.unwrap_or(&[]) {
        if !out.contains(m) {
            out.push(*m);
        }
    }
    if out.len() > 1 { out } else { Vec::new() }
}

/// What a backtest run did.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestSummary {
    /// Series read.
    pub series: usize,
    /// Series that could not be evaluated, with the reason.
    pub failed: Vec<(String, String)>,
    /// Notes per series from reading the input (duplicates resolved).
    pub warnings: Vec<(String, ForecastWarning)>,
    /// Metric name and its mean over the evaluated series (NaN values skipped), in the order
    /// of the per-series columns.
    pub means: Vec<(String, f64)>,
}

/// Parses `--models`: empty or `ensemble` → `None` (the routed ensemble).
pub fn parse_models(names: &[String]) -> Result<Option<Vec<ModelKind>>, BatchError> {
    let names: Vec<&str> = names
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() || names.contains(&"ensemble") {
        if names.len() > 1 {
            return Err(BatchError::Argument {
                what: "--models",
                reason: "ensemble cannot be combined with other models".to_owned(),
            });
        }
        return Ok(None);
    }
    names
        .iter()
        .map(|n| {
            n.parse::<ModelKind>().map_err(|e| BatchError::Argument {
                what: "--models",
                reason: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn progress_bar(len: usize) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} series, {elapsed} elapsed, eta {eta}")
    {
        bar.set_style(style);
    }
    Some(bar)
}

fn check_horizon(h: usize) -> Result<(), BatchError> {
    if h == 0 {
        return Err(BatchError::Argument {
            what: "--horizon",
            reason: "must be at least 1".to_owned(),
        });
    }
    Ok(())
}

fn check_levels(levels: &[f64]) -> Result<(), BatchError> {
    for l in levels {
        horizon_domain::interval_quantiles(*l).map_err(|e| BatchError::Argument {
            what: "--levels",
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

/// One `--season-length` value: a finite number of steps of at least 1 (decimals allowed).
pub fn parse_season_length(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(m) if m.is_finite() && m >= 1.0 => Ok(m),
        Ok(m) => Err(format!(
            "{m} is not a season length: a number of steps of at least 1 (1 for none)"
        )),
        Err(_) => Err(format!(
            "{raw:?} is not a number of steps (e.g. 7, 24,168 or 52.18)"
        )),
    }
}

/// The periods given on the command line to the nearest whole step (those of at least 2,
/// sorted, without repeats), or the frequency's own when none is given; a note for each
/// decimal rounded.
fn season_lengths(set: &SeriesSet, given: &[f64]) -> (Vec<usize>, Vec<(String, ForecastWarning)>) {
    if given.is_empty() {
        return (
            set.frequency.map_or_else(Vec::new, |f| f.season_lengths()),
            Vec::new(),
        );
    }
    let mut notes = Vec::new();
    let mut periods = Vec::with_capacity(given.len());
    for m in given {
        // At least 1 by the parser; a cycle is at most as long as any history can be.
        let steps = m.round().min(1e9) as usize;
        if m.fract() != 0.0 {
            notes.push((
                "(all)".to_owned(),
                ForecastWarning::new(
                    WarningKind::Note,
                    format!(
                        "season length {m} taken as {steps} steps: every member needs a whole \
                         number of steps"
                    ),
                ),
            ));
        }
        if steps >= 2 {
            periods.push(steps);
        }
    }
    periods.sort_unstable();
    periods.dedup();
    (periods, notes)
}

/// The request for `series`, with `covariates` laid on its steps ([`Drivers::lay`]).
fn base_request<'a>(
    series: &'a Series,
    seasons: &[usize],
    drivers: &'a Drivers,
    covariates: &'a [(String, Vec<f64>)],
) -> ForecastRequest<'a> {
    let mut r = ForecastRequest::new(&series.values, 1);
    r.season_lengths = seasons.to_vec();
    let finite = series.values.iter().filter(|v| v.is_finite());
    if finite.clone().next().is_some() && finite.clone().all(|v| *v >= 0.0) {
        r.bounds = Bounds::NON_NEGATIVE;
    }
    if let Some(info) = drivers.info.get(&series.id) {
        r.attributes = info.attributes.clone();
        if let Some(b) = info.bounds {
            // A bound the file leaves out keeps what the data say (non-negative history →
            // lower bound 0).
            let lower = b.lower().or(r.bounds.lower());
            r.bounds = Bounds::new(lower, b.upper()).unwrap_or(b);
        }
    }
    r.timeline = drivers.timeline(series);
    r.covariates = covariates
        .iter()
        .map(|(name, values)| Covariate { name, values })
        .collect();
    r
}

/// The covariates file and the attributes file, read once per run; covariates are laid on a
/// series' steps when it is forecast ([`Drivers::lay`]), so that only the series in flight
/// hold theirs.
#[derive(Debug, Default)]
struct Drivers {
    info: HashMap<String, covariates::SeriesInfo>,
    file: Option<covariates::CovariateFile>,
    /// Steps after the history the covariates are laid on (0 for a backtest).
    horizon: usize,
    step: Option<i64>,
    label: IntervalLabel,
    notes: Vec<(String, ForecastWarning)>,
}

impl Drivers {
    /// Reads `--series` and `--covariates` and lays the covariates on each series' history
    /// and `horizon` following steps (`horizon` 0 for a backtest: the history only).
    fn read(
        args: &DriverArgs,
        set: &SeriesSet,
        ids: &[&str],
        horizon: usize,
    ) -> Result<Self, BatchError> {
        let label: IntervalLabel =
            args.label
                .parse()
                .map_err(|e: horizon_domain::DomainError| BatchError::Argument {
                    what: "--label",
                    reason: e.to_string(),
                })?;
        let mut out = Drivers {
            step: covariates::step_seconds(set.frequency),
            horizon,
            label,
            ..Drivers::default()
        };
        if let Some(path) = &args.series {
            let (info, ignored) = covariates::read_attributes(path)?;
            if !ignored.is_empty() {
                out.notes.push((
                    "(all)".to_owned(),
                    ForecastWarning::new(
                        WarningKind::Note,
                        format!(
                            "{}: columns ignored: {}",
                            path.display(),
                            ignored.join(", ")
                        ),
                    ),
                ));
            }
            out.info = info;
        }
        if let Some(path) = &args.covariates {
            let file = covariates::read_covariates(path)?;
            for id in ids {
                if !file.series.contains_key(*id) {
                    out.notes.push((
                        (*id).to_owned(),
                        ForecastWarning::new(
                            WarningKind::Covariates,
                            "no rows in the covariates file: forecast from the history alone",
                        ),
                    ));
                }
            }
            out.file = Some(file);
        }
        Ok(out)
    }

    /// The covariates of `s` laid on its history and the `horizon` following steps: (name,
    /// values) per covariate with rows, none without a covariates file or rows for `s`.
    fn lay(&self, set: &SeriesSet, s: &Series) -> Vec<(String, Vec<f64>)> {
        let Some(raw) = self.file.as_ref().and_then(|f| f.series.get(&s.id)) else {
            return Vec::new();
        };
        let stamps = covariates::stamps(&s.ds, |k| set.next_ds(s, k), self.horizon);
        let step = match s.ds.first() {
            Some(input::Ds::Int(_)) => s.int_step.max(1),
            _ => self.step.unwrap_or(86_400),
        };
        raw.names
            .iter()
            .zip(&raw.points)
            .filter(|(_, p)| !p.is_empty())
            .map(|(name, p)| {
                let values = match self.info.get(&s.id) {
                    Some(info) if name == horizon_engine::covariates::GHI => {
                        covariates::align_irradiance(p, &stamps, step, self.label, &info.attributes)
                    }
                    _ => {
                        let held =
                            covariates::is_flag(p) && !horizon_engine::covariates::is_weather(name);
                        covariates::align(p, &stamps, step, self.label, held)
                    }
                };
                (name.clone(), values)
            })
            .collect()
    }

    fn timeline(&self, series: &Series) -> Option<Timeline> {
        Some(Timeline {
            start: covariates::first_instant(&series.ds)?,
            step_seconds: self.step?,
            label: self.label,
        })
    }
}

/// Forecasts made or waiting to be written, per thread: a series slower than this many others
/// holds the threads back (they wait for it to be written), and each costs memory. Chosen on
/// bench/solar's scale.sh (100 PV plants, 99 quantiles, 2 cores): 4 a thread 6.6 s and 29.5 MB
/// peak, 2 a thread 7.2 s and 30.1 MB (the forecasts in flight are not what the memory is).
const FORECASTS_IN_FLIGHT_PER_THREAD: usize = 4;

/// Reads the input, forecasts every series and writes the output CSV.
pub fn run_forecast(args: &ForecastArgs) -> Result<ForecastSummary, BatchError> {
    check_horizon(args.horizon)?;
    check_levels(&args.levels)?;
    let models = parse_models(&args.models)?;
    let quantiles = if args.quantiles.is_empty() {
        None
    } else {
        Some(
            QuantileLevels::new(args.quantiles.clone()).map_err(|e| BatchError::Argument {
                what: "--quantiles",
                reason: e.to_string(),
            })?,
        )
    };
    // Held without their grid stamps until forecast: a long file's histories are most of the
    // command's memory.
    let input::HeldSet { set, held } = input::read_held(&args.input, args.on_duplicate)?;
    let ids: Vec<&str> = held.iter().map(|h| h.id.as_str()).collect();
    let (seasons, season_notes) = season_lengths(&set, &args.season_length);
    let drivers = Drivers::read(&args.drivers, &set, &ids, args.horizon)?;
    let request = |s: &Series, covariates: &[(String, Vec<f64>)]| {
        let mut r = base_request(s, &seasons, &drivers, covariates);
        r.horizon = args.horizon;
        r.interval_levels = args.levels.clone();
        if let Some(q) = &quantiles {
            r.quantile_levels = q.clone();
        }
        r.models = models.clone();
        r.seed = args.seed;
        horizon_engine::forecast(&r)
    };
    let mut summary = ForecastSummary {
        series: held.len(),
        rows: 0,
        failed: Vec::new(),
        warnings: set
            .notes
            .iter()
            .chain(&season_notes)
            .chain(&drivers.notes)
            .cloned()
            .collect(),
    };
    let own = own_columns(models.as_deref());
    let mut out = output::ForecastWriter::open(
        &args.output,
        &set,
        &args.levels,
        quantiles.as_ref().map(QuantileLevels::levels),
        &own,
    )?;
    let bar = progress_bar(held.len());
    // Series are forecast in parallel and written in input order as they come: memory holds
    // FORECASTS_IN_FLIGHT_PER_THREAD forecasts a thread, not the whole file's.
    let threads = rayon::current_num_threads().max(1);
    let failed = &mut summary.failed;
    let warnings = &mut summary.warnings;
    ordered::in_order(
        held.len(),
        threads,
        threads * FORECASTS_IN_FLIGHT_PER_THREAD,
        |i| {
            let s = held[i].series(set.frequency);
            let forecast = request(&s, &drivers.lay(&set, &s));
            // What writing needs of the series: its id and last stamp.
            let last = Series {
                ds: s.ds.last().copied().into_iter().collect(),
                values: Vec::new(),
                ..s
            };
            (last, forecast)
        },
        |i, (s, r)| {
            if let Some(b) = &bar {
                b.set_position(i as u64 + 1);
            }
            match r {
                Ok(f) => {
                    warnings.extend(f.warnings.iter().map(|w| (s.id.clone(), w.clone())));
                    out.write(&s, &f)
                }
                Err(e) => {
                    failed.push((s.id.clone(), e.to_string()));
                    Ok(())
                }
            }
        },
    )?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    summary.rows = out.finish()?;
    Ok(summary)
}

/// Reads the input, backtests every series and writes per-series metrics (and the summary).
pub fn run_backtest(args: &BacktestArgs) -> Result<BacktestSummary, BatchError> {
    check_horizon(args.horizon)?;
    check_levels(&args.levels)?;
    if args.windows == 0 {
        return Err(BatchError::Argument {
            what: "--windows",
            reason: "must be at least 1".to_owned(),
        });
    }
    let models = parse_models(&args.models)?;
    let set = read_series_with(&args.input, args.on_duplicate)?;
    let (seasons, season_notes) = season_lengths(&set, &args.season_length);
    let ids: Vec<&str> = set.series.iter().map(|s| s.id.as_str()).collect();
    let drivers = Drivers::read(&args.drivers, &set, &ids, 0)?;
    let m = seasons.first().copied().unwrap_or(1);
    let config = BacktestConfig {
        horizon: args.horizon,
        windows: args.windows,
        step: args.step.unwrap_or(args.horizon).max(1),
        gap: args.gap,
    };
    let bar = progress_bar(set.series.len());
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Result<horizon_engine::BacktestReport, EngineError>> = set
        .series
        .par_iter()
        .map(|s| {
            let covariates = drivers.lay(&set, s);
            let mut r = base_request(s, &seasons, &drivers, &covariates);
            r.interval_levels = args.levels.clone();
            r.models = models.clone();
            let out = horizon_engine::backtest(&r, &config, m);
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if let Some(b) = &bar {
                b.set_position(n as u64);
            }
            out
        })
        .collect();
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut failed = Vec::new();
    let mut rows: Vec<(String, Vec<(String, f64)>)> = Vec::new();
    let mut reports = Vec::new();
    for (s, r) in set.series.iter().zip(results) {
        match r {
            Ok(rep) => {
                rows.push((s.id.clone(), output::metric_row(&rep)));
                if args.output_format == BacktestOutput::Cv {
                    reports.push((s, rep));
                }
            }
            Err(e) => failed.push((s.id.clone(), e.to_string())),
        }
    }
    if rows.is_empty() {
        // Nothing scored: an empty metrics file would read as success to a script.
        let (id, why) = failed
            .first()
            .map_or(("", "the file has no series"), |(id, e)| {
                (id.as_str(), e.as_str())
            });
        return Err(BatchError::Input(format!(
            "no series could be backtested ({} of {}); the first, {id:?}: {why}",
            failed.len(),
            set.series.len()
        )));
    }
    match args.output_format {
        BacktestOutput::Metrics => output::write_metrics(&args.output, &rows)?,
        BacktestOutput::Cv => {
            output::write_cross_validation(
                &args.output,
                &set,
                &reports,
                &args.levels,
                &own_columns(models.as_deref()),
                args.gap,
            )?;
        }
    }
    let means = output::mean_metrics(&rows);
    if let Some(path) = &args.summary {
        let summary_rows = vec![("all".to_owned(), means.clone())];
        output::write_metrics(path, &summary_rows)?;
    }
    Ok(BacktestSummary {
        series: set.series.len(),
        failed,
        warnings: set.notes.iter().chain(&season_notes).cloned().collect(),
        means,
    })
}

fn io_error(path: &Path, source: std::io::Error) -> BatchError {
    BatchError::Io {
        path: path.to_path_buf(),
        source,
    }
}
