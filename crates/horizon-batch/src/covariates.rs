//! Reading the covariates file (`unique_id,ds,<one numeric column per covariate>`) onto each
//! target series' grid, and the series attributes file.
//!
//! Each series' covariates are laid on its steps (history then horizon) by
//! [`horizon_engine::laying`] (re-exported here: [`align`], [`align_irradiance`], [`is_flag`]):
//! same resolution by stamp, finer averaged over the step, coarser interpolated (flags held,
//! irradiance through the clear-sky index); `--label` says which end of its interval a stamp
//! names.

use std::{collections::HashMap, io::Read, path::Path};

use horizon_domain::{Bounds, Frequency, SeriesAttributes, Timestamp};

pub use horizon_engine::laying::{align, align_irradiance, is_flag};

use crate::{
    BatchError,
    input::{Ds, bad_ds, parse_ds, parse_y},
    io_error,
};

/// One series' covariates as read from the file: per column, sorted `(stamp, value)` points.
#[derive(Debug, Clone, Default)]
pub struct RawCovariates {
    /// Column names in file order.
    pub names: Vec<String>,
    /// `points[column]`, sorted by stamp.
    pub points: Vec<Vec<(i64, f64)>>,
}

/// Every series' covariates, by `unique_id`.
#[derive(Debug, Clone, Default)]
pub struct CovariateFile {
    /// Column names in file order (the same for every series).
    pub names: Vec<String>,
    /// By `unique_id`.
    pub series: HashMap<String, RawCovariates>,
}

/// Reads the covariates file; integer `ds` are taken as step indices (seconds = index).
pub fn read_covariates(path: &Path) -> Result<CovariateFile, BatchError> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    read_covariates_from(file)
}

/// [`read_covariates`] from any reader.
pub fn read_covariates_from(reader: impl Read) -> Result<CovariateFile, BatchError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| BatchError::Input(format!("covariates: cannot read the header line: {e}")))?
        .clone();
    let found = || headers.iter().collect::<Vec<_>>().join(",");
    let c_id = headers
        .iter()
        .position(|h| h == "unique_id")
        .ok_or_else(|| {
            BatchError::Input(format!(
                "covariates, line 1: the header has no \"unique_id\" column (found {})",
                found()
            ))
        })?;
    let c_ds = headers.iter().position(|h| h == "ds").ok_or_else(|| {
        BatchError::Input(format!(
            "covariates, line 1: the header has no \"ds\" column (found {})",
            found()
        ))
    })?;
    let columns: Vec<usize> = (0..headers.len())
        .filter(|c| *c != c_id && *c != c_ds)
        .collect();
    if columns.is_empty() {
        return Err(BatchError::Input(
            "covariates, line 1: no covariate column beside unique_id and ds".to_owned(),
        ));
    }
    let names: Vec<String> = columns.iter().map(|c| headers[*c].to_owned()).collect();
    let mut out = CovariateFile {
        names: names.clone(),
        series: HashMap::new(),
    };
    for rec in rdr.records() {
        let rec = rec.map_err(|e| BatchError::Parse {
            line: e.position().map_or(0, |p| p.line()),
            column: 0,
            name: "row".to_owned(),
            reason: format!("covariates: {e}"),
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        let bad = |c: usize, reason: String| BatchError::Parse {
            line,
            column: c + 1,
            name: headers.get(c).unwrap_or("").to_owned(),
            reason: format!("covariates: {reason}"),
        };
        let id = rec.get(c_id).unwrap_or("");
        if id.is_empty() {
            return Err(bad(c_id, "empty unique_id".to_owned()));
        }
        let raw = rec.get(c_ds).unwrap_or("");
        let (ds, _) = parse_ds(raw).ok_or_else(|| bad(c_ds, bad_ds(raw)))?;
        let t = match ds {
            Ds::Int(i) => i,
            Ds::Time(t) => t.timestamp(),
        };
        let entry = out
            .series
            .entry(id.to_owned())
            .or_insert_with(|| RawCovariates {
                names: names.clone(),
                points: vec![Vec::new(); names.len()],
            });
        for (k, c) in columns.iter().enumerate() {
            let raw = rec.get(*c).unwrap_or("");
            let v = parse_y(raw).ok_or_else(|| bad(*c, format!("{raw:?} is not a number")))?;
            if v.is_finite() {
                entry.points[k].push((t, v));
            }
        }
    }
    for s in out.series.values_mut() {
        for p in &mut s.points {
            p.sort_by_key(|x| x.0);
            p.dedup_by_key(|x| x.0);
        }
    }
    Ok(out)
}

/// What the attributes file says of one series.
#[derive(Debug, Clone, Default)]
pub struct SeriesInfo {
    /// The attributes the engine reads.
    pub attributes: SeriesAttributes,
    /// Bounds from `lower`/`upper` (or `capacity`).
    pub bounds: Option<Bounds>,
}

/// The attributes columns read; others are ignored with a note.
pub const ATTRIBUTE_COLUMNS: [&str; 10] = [
    "latitude",
    "longitude",
    "capacity",
    "lower",
    "upper",
    "tilt",
    "azimuth",
    "altitude",
    "timezone",
    "country",
];

/// Reads the attributes file: first column `unique_id` or `key`; returns the attributes by id
/// and the names of the columns ignored.
pub fn read_attributes(
    path: &Path,
) -> Result<(HashMap<String, SeriesInfo>, Vec<String>), BatchError> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    read_attributes_from(file)
}

/// [`read_attributes`] from any reader.
pub fn read_attributes_from(
    reader: impl Read,
) -> Result<(HashMap<String, SeriesInfo>, Vec<String>), BatchError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| BatchError::Input(format!("series attributes: cannot read the header: {e}")))?
        .clone();
    let c_id = headers
        .iter()
        .position(|h| h == "unique_id" || h == "key")
        .ok_or_else(|| {
            BatchError::Input(format!(
                "series attributes, line 1: the header has no \"unique_id\" or \"key\" column (found {})",
                headers.iter().collect::<Vec<_>>().join(",")
            ))
        })?;
    let ignored: Vec<String> = headers
        .iter()
        .enumerate()
        .filter(|(i, h)| *i != c_id && !ATTRIBUTE_COLUMNS.contains(h))
        .map(|(_, h)| h.to_owned())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let mut out = HashMap::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| BatchError::Parse {
            line: e.position().map_or(0, |p| p.line()),
            column: 0,
            name: "row".to_owned(),
            reason: format!("series attributes: {e}"),
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        let bad = |name: &str, reason: String| BatchError::Parse {
            line,
            column: col(name).map_or(0, |c| c + 1),
            name: name.to_owned(),
            reason: format!("series attributes: {reason}"),
        };
        let text = |name: &str| -> Option<&str> {
            col(name)
                .and_then(|c| rec.get(c))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let number = |name: &str| -> Result<Option<f64>, BatchError> {
            match text(name) {
                None => Ok(None),
                Some(raw) => match raw.parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(Some(v)),
                    _ => Err(bad(name, format!("{raw:?} is not a number"))),
                },
            }
        };
        let id = rec.get(c_id).unwrap_or("").trim();
        if id.is_empty() {
            return Err(bad(&headers[c_id], "empty series id".to_owned()));
        }
        let attributes = SeriesAttributes::from_fields(text).map_err(|e| {
            let horizon_domain::DomainError::Invalid { what, reason } = e;
            bad(what, reason)
        })?;
        let lower = number("lower")?;
        let upper = number("upper")?.or(attributes.capacity);
        let bounds = if lower.is_some() || upper.is_some() {
            Some(Bounds::new(lower, upper).map_err(|e| bad("upper", e.to_string()))?)
        } else {
            None
        };
        let info = SeriesInfo { attributes, bounds };
        out.insert(id.to_owned(), info);
    }
    Ok((out, ignored))
}

/// The target's step in seconds for a time-stamped file (`None` for calendar months and
/// longer, whose steps vary).
pub fn step_seconds(frequency: Option<Frequency>) -> Option<i64> {
    let f = frequency?;
    let s = f.nominal_seconds();
    (s > 0 && s <= 7 * 86_400).then_some(s)
}

/// The stamps of a series' history and horizon as Unix seconds.
pub fn stamps(history: &[Ds], next: impl Fn(usize) -> Ds, horizon: usize) -> Vec<i64> {
    history
        .iter()
        .copied()
        .chain((1..=horizon).map(next))
        .map(|d| match d {
            Ds::Int(i) => i,
            Ds::Time(t) => t.timestamp(),
        })
        .collect()
}

/// The first stamp as an instant.
pub fn first_instant(history: &[Ds]) -> Option<Timestamp> {
    match history.first() {
        Some(Ds::Time(t)) => Some(*t),
        _ => None,
    }
}
