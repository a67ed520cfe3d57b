//! Writing forecasts and metrics as CSV.

use std::path::Path;

use horizon_engine::{BacktestReport, Forecast, Interval, ModelKind};

use crate::{
    BatchError, Series, SeriesSet,
    input::{Ds, DsStyle},
    parquet_io::{self, ParquetSink},
};

fn out_err(path: &Path, e: impl std::fmt::Display) -> BatchError {
    BatchError::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "NaN".to_owned()
    }
}

/// The header of the forecast CSV: the ensemble's plain columns, then, with several models,
/// one set per model prefixed with its name (`ets, ets-lo-80, ets-hi-80, ets-q-0.5`), as the
/// ecosystem's tools write them.
pub(crate) fn forecast_header(
    levels: &[f64],
    quantiles: Option<&[f64]>,
    models: &[ModelKind],
) -> Vec<String> {
    let mut h = vec!["unique_id".to_owned(), "ds".to_owned()];
    column_names(&mut h, "", levels, quantiles);
    for m in models {
        column_names(&mut h, m.as_str(), levels, quantiles);
    }
    h
}

/// `mean` (or `<model>`), `lo-L`, `hi-L` per level and `q-Q` per quantile, each after
/// `<model>-` when a model is named.
fn column_names(h: &mut Vec<String>, model: &str, levels: &[f64], quantiles: Option<&[f64]>) {
    let prefix = if model.is_empty() {
        String::new()
    } else {
        format!("{model}-")
    };
    h.push(if model.is_empty() {
        "mean".to_owned()
    } else {
        model.to_owned()
    });
    for l in levels {
        h.push(format!("{prefix}lo-{l}"));
        h.push(format!("{prefix}hi-{l}"));
    }
    for q in quantiles.unwrap_or(&[]) {
        h.push(format!("{prefix}q-{q}"));
    }
}

/// The values of one step for the columns of [`column_names`]: the ensemble's, or a
/// member's; NaN for every column of a model the engine could not use for this series.
fn push_step(
    record: &mut Vec<f64>,
    step: usize,
    mean: Option<&[f64]>,
    intervals: Option<&[Interval]>,
    quantiles: Option<&[Vec<f64>]>,
    levels: usize,
    with_quantiles: usize,
) {
    let at = |v: &[f64]| v.get(step).copied().unwrap_or(f64::NAN);
    record.push(mean.map_or(f64::NAN, at));
    match intervals {
        Some(ivs) => {
            for iv in ivs {
                record.push(at(&iv.lo));
                record.push(at(&iv.hi));
            }
        }
        None => record.extend(std::iter::repeat_n(f64::NAN, 2 * levels)),
    }
    if with_quantiles > 0 {
        match quantiles {
            Some(qs) => record.extend(qs.iter().map(|q| at(q))),
            None => record.extend(std::iter::repeat_n(f64::NAN, with_quantiles)),
        }
    }
}

/// The ensemble's columns of `step`, then each of `models`' own.
fn push_forecast(
    record: &mut Vec<f64>,
    f: &Forecast,
    step: usize,
    levels: usize,
    quantiles: usize,
    models: &[ModelKind],
) {
    push_step(
        record,
        step,
        Some(&f.mean),
        Some(&f.intervals),
        Some(&f.quantiles),
        levels,
        quantiles,
    );
    for kind in models {
        let m = f.members.iter().find(|m| m.kind == *kind);
        push_step(
            record,
            step,
            m.map(|m| m.mean.as_slice()),
            m.map(|m| m.intervals.as_slice()),
            m.map(|m| m.quantiles.as_slice()),
            levels,
            quantiles,
        );
    }
}

/// Where a table goes: CSV (a file, or standard output for `-`) or, for a `.parquet` path,
/// Parquet with typed columns.
enum Sink {
    Csv(
        csv::Writer<Box<dyn std::io::Write + Send>>,
        std::path::PathBuf,
    ),
    Parquet(ParquetSink),
}

impl Sink {
    /// Opens `path` for a table of `unique_id`, the `stamps` columns and the `values` columns.
    fn open(
        path: &Path,
        style: DsStyle,
        stamps: &[&str],
        values: &[String],
    ) -> Result<Self, BatchError> {
        if parquet_io::is_parquet(path) {
            return Ok(Sink::Parquet(ParquetSink::create(
                path, style, stamps, values,
            )?));
        }
        let sink: Box<dyn std::io::Write + Send> = if path == Path::new("-") {
            Box::new(std::io::stdout())
        } else {
            Box::new(std::fs::File::create(path).map_err(|e| BatchError::Io {
                path: path.to_path_buf(),
                source: e,
            })?)
        };
        let mut w = csv::Writer::from_writer(sink);
        let mut header = vec!["unique_id".to_owned()];
        header.extend(stamps.iter().map(|s| (*s).to_owned()));
        header.extend(values.iter().cloned());
        w.write_record(&header).map_err(|e| out_err(path, e))?;
        Ok(Sink::Csv(w, path.to_path_buf()))
    }

    fn row(
        &mut self,
        format: impl Fn(Ds) -> String,
        id: &str,
        stamps: &[Ds],
        values: &[f64],
    ) -> Result<(), BatchError> {
        match self {
            Sink::Csv(w, path) => {
                let mut rec: Vec<String> = Vec::with_capacity(1 + stamps.len() + values.len());
                rec.push(id.to_owned());
                rec.extend(stamps.iter().map(|d| format(*d)));
                rec.extend(values.iter().map(|v| num(*v)));
                w.write_record(&rec).map_err(|e| out_err(path, e))
            }
            Sink::Parquet(p) => p.row(id, stamps, values),
        }
    }

    fn finish(self) -> Result<(), BatchError> {
        match self {
            Sink::Csv(mut w, path) => w.flush().map_err(|e| out_err(&path, e)),
            Sink::Parquet(p) => p.finish(),
        }
    }
}

/// The forecast table, written series by series as forecasts arrive, so that a run holds
/// only the forecasts in flight (every member's quantiles at every step are the batch
/// command's largest memory). `models` (several `--models`, else empty) add their own
/// column sets.
pub(crate) struct ForecastWriter<'a> {
    sink: Sink,
    set: &'a SeriesSet,
    levels: &'a [f64],
    n_quantiles: usize,
    models: &'a [ModelKind],
    record: Vec<f64>,
    rows: usize,
}

impl<'a> ForecastWriter<'a> {
    /// Creates `path` and writes the header.
    pub(crate) fn open(
        path: &Path,
        set: &'a SeriesSet,
        levels: &'a [f64],
        quantiles: Option<&[f64]>,
        models: &'a [ModelKind],
    ) -> Result<Self, BatchError> {
        let header = forecast_header(levels, quantiles, models);
        Ok(ForecastWriter {
            sink: Sink::open(path, set.style, &["ds"], &header[2..])?,
            set,
            levels,
            n_quantiles: quantiles.map_or(0, <[f64]>::len),
            models,
            record: Vec::new(),
            rows: 0,
        })
    }

    /// One row per step of `f`, the forecast of `s`.
    pub(crate) fn write(&mut self, s: &Series, f: &Forecast) -> Result<(), BatchError> {
        for step in 0..f.mean.len() {
            self.record.clear();
            push_forecast(
                &mut self.record,
                f,
                step,
                self.levels.len(),
                self.n_quantiles,
                self.models,
            );
            let set = self.set;
            self.sink.row(
                |d| set.format_ds(d),
                &s.id,
                &[set.next_ds(s, step + 1)],
                &self.record,
            )?;
            self.rows += 1;
        }
        Ok(())
    }

    /// Flushes the table; returns the number of rows written.
    pub(crate) fn finish(self) -> Result<usize, BatchError> {
        self.sink.finish()?;
        Ok(self.rows)
    }
}

/// Writes a backtest as the ecosystem's `cross_validation` does: one row per series, window
/// and scored step, `unique_id, ds, cutoff, y` (`cutoff`: the last stamp the window's forecast
/// was made from) and the forecast's columns; returns the number of rows.
pub(crate) fn write_cross_validation(
    path: &Path,
    set: &SeriesSet,
    reports: &[(&Series, BacktestReport)],
    levels: &[f64],
    models: &[ModelKind],
    gap: usize,
) -> Result<usize, BatchError> {
    let header = forecast_header(levels, None, models);
    let mut values = vec!["y".to_owned()];
    values.extend(header[2..].iter().cloned());
    let mut w = Sink::open(path, set.style, &["ds", "cutoff"], &values)?;
    let mut rows = 0;
    let mut record: Vec<f64> = Vec::new();
    for (s, rep) in reports {
        for win in &rep.windows {
            let Some(cutoff) = win.cutoff.checked_sub(1).and_then(|i| s.ds.get(i)) else {
                continue;
            };
            for (j, y) in win.actual.iter().enumerate() {
                let Some(ds) = s.ds.get(win.cutoff + gap + j) else {
                    continue;
                };
                record.clear();
                record.push(*y);
                push_forecast(&mut record, &win.forecast, j, levels.len(), 0, models);
                w.row(|d| set.format_ds(d), &s.id, &[*ds, *cutoff], &record)?;
                rows += 1;
            }
        }
    }
    w.finish()?;
    Ok(rows)
}

/// The metrics of one report as named values.
pub(crate) fn metric_row(rep: &BacktestReport) -> Vec<(String, f64)> {
    let mut row = vec![("windows".to_owned(), rep.windows.len() as f64)];
    row.extend(rep.metrics.named());
    row
}

/// Means over rows of each metric, skipping non-finite values.
pub(crate) fn mean_metrics(rows: &[(String, Vec<(String, f64)>)]) -> Vec<(String, f64)> {
    let Some((_, first)) = rows.first() else {
        return Vec::new();
    };
    first
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let (s, n) = rows
                .iter()
                .filter_map(|(_, r)| r.get(i).map(|p| p.1))
                .filter(|v| v.is_finite())
                .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
            (name.clone(), if n > 0 { s / n as f64 } else { f64::NAN })
        })
        .collect()
}

/// Writes `unique_id` and one column per metric.
pub(crate) fn write_metrics(
    path: &Path,
    rows: &[(String, Vec<(String, f64)>)],
) -> Result<(), BatchError> {
    let names: Vec<String> = rows
        .first()
        .map(|(_, r)| r.iter().map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    let mut w = Sink::open(path, DsStyle::Int, &[], &names)?;
    for (id, r) in rows {
        let values: Vec<f64> = r.iter().map(|(_, v)| *v).collect();
        w.row(|d| format!("{d:?}"), id, &[], &values)?;
    }
    w.finish()
}
