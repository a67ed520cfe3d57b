//! Writing forecasts and metrics as CSV.

use std::path::Path;

use horizon_engine::{BacktestReport, Forecast};

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

/// The header of the forecast CSV.
pub(crate) fn forecast_header(levels: &[f64], quantiles: Option<&[f64]>) -> Vec<String> {
    let mut h = vec!["unique_id".to_owned(), "ds".to_owned(), "mean".to_owned()];
    for l in levels {
        h.push(format!("lo-{l}"));
        h.push(format!("hi-{l}"));
    }
    for q in quantiles.unwrap_or(&[]) {
        h.push(format!("q-{q}"));
    }
    h
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

/// Writes one row per series and step; returns the number of rows.
pub(crate) fn write_forecasts(
    path: &Path,
    set: &SeriesSet,
    forecasts: &[(&Series, Forecast)],
    levels: &[f64],
    quantiles: Option<&[f64]>,
) -> Result<usize, BatchError> {
    let mut w = writer(path)?;
    w.write_record(forecast_header(levels, quantiles))
        .map_err(|e| out_err(path, e))?;
    let mut rows = 0;
    let mut record: Vec<String> = Vec::new();
    for (s, f) in forecasts {
        for step in 0..f.mean.len() {
            record.clear();
            record.push(s.id.clone());
            record.push(set.format_ds(set.next_ds(s, step + 1)));
            record.push(num(f.mean[step]));
            for iv in &f.intervals {
                record.push(num(iv.lo[step]));
                record.push(num(iv.hi[step]));
            }
            if quantiles.is_some() {
                for q in &f.quantiles {
                    record.push(num(q[step]));
                }
            }
            w.write_record(&record).map_err(|e| out_err(path, e))?;
            rows += 1;
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
