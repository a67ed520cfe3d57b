//! Writing forecasts and metrics as CSV.

use std::path::Path;

use horizon_engine::{BacktestReport, Forecast, Interval, ModelKind};

use crate::{BatchError, Series, SeriesSet};

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
    record: &mut Vec<String>,
    step: usize,
    mean: Option<&[f64]>,
    intervals: Option<&[Interval]>,
    quantiles: Option<&[Vec<f64>]>,
    levels: usize,
    with_quantiles: usize,
) {
    let at = |v: &[f64]| num(v.get(step).copied().unwrap_or(f64::NAN));
    record.push(mean.map_or_else(|| num(f64::NAN), at));
    match intervals {
        Some(ivs) => {
            for iv in ivs {
                record.push(at(&iv.lo));
                record.push(at(&iv.hi));
            }
        }
        None => record.extend(std::iter::repeat_n(num(f64::NAN), 2 * levels)),
    }
    if with_quantiles > 0 {
        match quantiles {
            Some(qs) => record.extend(qs.iter().map(|q| at(q))),
            None => record.extend(std::iter::repeat_n(num(f64::NAN), with_quantiles)),
        }
    }
}

/// The ensemble's columns of `step`, then each of `models`' own.
fn push_forecast(
    record: &mut Vec<String>,
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

/// A CSV writer on `path`, or on standard output when `path` is `-`.
fn writer(path: &Path) -> Result<csv::Writer<Box<dyn std::io::Write>>, BatchError> {
    let sink: Box<dyn std::io::Write> = if path == Path::new("-") {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(std::fs::File::create(path).map_err(|e| BatchError::Io {
            path: path.to_path_buf(),
            source: e,
        })?)
    };
    Ok(csv::Writer::from_writer(sink))
}

/// Writes one row per series and step; returns the number of rows. `models` (several
/// `--models`, else empty) add their own column sets.
pub(crate) fn write_forecasts(
    path: &Path,
    set: &SeriesSet,
    forecasts: &[(&Series, Forecast)],
    levels: &[f64],
    quantiles: Option<&[f64]>,
    models: &[ModelKind],
) -> Result<usize, BatchError> {
    let mut w = writer(path)?;
    w.write_record(forecast_header(levels, quantiles, models))
        .map_err(|e| out_err(path, e))?;
    let n_q = quantiles.map_or(0, <[f64]>::len);
    let mut rows = 0;
    let mut record: Vec<String> = Vec::new();
    for (s, f) in forecasts {
        for step in 0..f.mean.len() {
            record.clear();
            record.push(s.id.clone());
            record.push(set.format_ds(set.next_ds(s, step + 1)));
            push_forecast(&mut record, f, step, levels.len(), n_q, models);
            w.write_record(&record).map_err(|e| out_err(path, e))?;
            rows += 1;
        }
    }
    w.flush().map_err(|e| out_err(path, e))?;
    Ok(rows)
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
    let mut w = writer(path)?;
    let mut header = forecast_header(levels, None, models);
    header.splice(2..2, ["cutoff".to_owned(), "y".to_owned()]);
    w.write_record(&header).map_err(|e| out_err(path, e))?;
    let mut rows = 0;
    let mut record: Vec<String> = Vec::new();
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
                record.push(s.id.clone());
                record.push(set.format_ds(*ds));
                record.push(set.format_ds(*cutoff));
                record.push(num(*y));
                push_forecast(&mut record, &win.forecast, j, levels.len(), 0, models);
                w.write_record(&record).map_err(|e| out_err(path, e))?;
                rows += 1;
            }
        }
    }
    w.flush().map_err(|e| out_err(path, e))?;
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
    let mut w = writer(path)?;
    let mut header = vec!["unique_id".to_owned()];
    if let Some((_, first)) = rows.first() {
        header.extend(first.iter().map(|(n, _)| n.clone()));
    }
    w.write_record(&header).map_err(|e| out_err(path, e))?;
    for (id, r) in rows {
        let mut rec = vec![id.clone()];
        rec.extend(r.iter().map(|(_, v)| num(*v)));
        w.write_record(&rec).map_err(|e| out_err(path, e))?;
    }
    w.flush().map_err(|e| out_err(path, e))?;
    Ok(())
}
