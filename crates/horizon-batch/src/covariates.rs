//! Reading the covariates file (`unique_id,ds,<one numeric column per covariate>`) onto each
//! target series' grid, and the series attributes file.
//!
//! Alignment of a covariate onto the target's steps (history then horizon), per series:
//! - a stamp present in the covariate file takes its value;
//! - a covariate **finer** than the target (shorter median step) is averaged over the target
//!   step's interval (`--label` says which end of it the stamp names);
//! - a covariate **coarser** than the target is interpolated linearly between the centres of
//!   its intervals (irradiance, temperature, prices: quantities that change smoothly), except a
//!   column whose values are all 0 or 1 (a flag: promotion, holiday), which is held at the
//!   value of the interval the step falls in;
//! - a step no rule reaches is missing (NaN): allowed in the history, an error of the engine
//!   naming the covariate and step inside the horizon.

use std::{collections::HashMap, io::Read, path::Path};

use horizon_domain::{Bounds, Frequency, IntervalLabel, SeriesAttributes, Timestamp};

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

/// The median gap between consecutive stamps, seconds.
fn median_step(points: &[(i64, f64)]) -> Option<i64> {
    let mut gaps: Vec<i64> = points
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .filter(|g| *g > 0)
        .collect();
    gaps.sort_unstable();
    gaps.get(gaps.len() / 2).copied()
}

/// The centre of the interval a stamp names.
fn centre(t: i64, step: i64, label: IntervalLabel) -> f64 {
    match label {
        IntervalLabel::End => t as f64 - step as f64 / 2.0,
        IntervalLabel::Start => t as f64 + step as f64 / 2.0,
    }
}

/// `points` laid on `stamps` (target step `step` seconds), see the module docs.
pub fn align(
    points: &[(i64, f64)],
    stamps: &[i64],
    step: i64,
    label: IntervalLabel,
    held: bool,
) -> Vec<f64> {
    let Some(cstep) = median_step(points) else {
        // One point: only its own stamp.
        return stamps
            .iter()
            .map(|t| points.iter().find(|p| p.0 == *t).map_or(f64::NAN, |p| p.1))
            .collect();
    };
    let exact: HashMap<i64, f64> = points.iter().copied().collect();
    let centres: Vec<f64> = points.iter().map(|p| centre(p.0, cstep, label)).collect();
    stamps
        .iter()
        .map(|&t| {
            // The same resolution: the stamp's own value. A coarser or finer value at the
            // same stamp covers another interval, so it goes through the rules below.
            if cstep == step
                && let Some(v) = exact.get(&t)
            {
                return *v;
            }
            if cstep < step {
                // Finer: the mean over the target's interval.
                let (lo, hi) = match label {
                    IntervalLabel::End => (t - step, t),
                    IntervalLabel::Start => (t, t + step),
                };
                let inside = |p: &&(i64, f64)| match label {
                    IntervalLabel::End => p.0 > lo && p.0 <= hi,
                    IntervalLabel::Start => p.0 >= lo && p.0 < hi,
                };
                let start = points.partition_point(|p| p.0 < lo);
                let vals: Vec<f64> = points[start..]
                    .iter()
                    .take_while(|p| p.0 <= hi)
                    .filter(inside)
                    .map(|p| p.1)
                    .collect();
                // At least half the interval must be covered.
                if vals.is_empty() || (vals.len() as i64) * cstep * 2 < step {
                    return f64::NAN;
                }
                return vals.iter().sum::<f64>() / vals.len() as f64;
            }
            let c = centre(t, step, label);
            let j = centres.partition_point(|x| *x < c);
            if held {
                // The covariate interval holding the step's centre.
                let k = centres.partition_point(|x| *x - cstep as f64 / 2.0 <= c);
                return match k.checked_sub(1) {
                    Some(k) if (c - centres[k]).abs() <= cstep as f64 / 2.0 + 0.5 => points[k].1,
                    _ => f64::NAN,
                };
            }
            if j == 0 || j >= centres.len() {
                // Outside the covariate's span: half a covariate step of slack at either end.
                let k = if j == 0 { 0 } else { centres.len() - 1 };
                return if (c - centres[k]).abs() <= cstep as f64 / 2.0 + 0.5 {
                    points[k].1
                } else {
                    f64::NAN
                };
            }
            let (a, b) = (j - 1, j);
            let gap = centres[b] - centres[a];
            if gap > 2.0 * cstep as f64 {
                return f64::NAN; // a hole in the covariate: no guessing across it
            }
            let w = (c - centres[a]) / gap;
            points[a].1 + w * (points[b].1 - points[a].1)
        })
        .collect()
}

/// Whether a column is a 0/1 flag (held, not interpolated).
pub fn is_flag(points: &[(i64, f64)]) -> bool {
    !points.is_empty() && points.iter().all(|p| p.1 == 0.0 || p.1 == 1.0)
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

/// Lowest clear-sky GHI (W/m²) at which a clear-sky index is read off a coarse irradiance
/// value; below it (dawn, dusk) the index is too noisy to carry.
const MIN_CLEAR_GHI: f64 = 20.0;
/// Furthest (seconds) a clear-sky index is carried to a step without one of its own on both
/// sides (the first and last light of a day).
const MAX_INDEX_CARRY: f64 = 3.0 * 3600.0;

/// Irradiance coarser than the target, laid on its steps through the clear-sky index: the
/// index `k = GHI / clear-sky GHI` of each coarse interval is interpolated between interval
/// centres and multiplied by the target step's own clear-sky GHI. Interpolating the GHI
/// itself would smear the sunrise of an hourly mean over the dark part of the hour and miss
/// the shape of the day within it. Finer or same-resolution irradiance goes through
/// [`align`].
pub fn align_irradiance(
    points: &[(i64, f64)],
    stamps: &[i64],
    step: i64,
    label: IntervalLabel,
    attributes: &SeriesAttributes,
) -> Vec<f64> {
    use horizon_engine::{Timeline, solar};
    let Some(cstep) = median_step(points) else {
        return align(points, stamps, step, label, false);
    };
    if cstep <= step || attributes.location.is_none() {
        return align(points, stamps, step, label, false);
    }
    let clear = |t: i64, len: i64| -> Option<f64> {
        let start = chrono::DateTime::from_timestamp(t, 0)?;
        let line = Timeline {
            start,
            step_seconds: len,
            label,
        };
        solar::sun_steps(attributes, &line, 1).and_then(|s| s.first().map(|x| x.clear_ghi))
    };
    // (centre, k) of the coarse intervals with enough sun.
    let index: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|(t, v)| {
            let cs = clear(*t, cstep)?;
            (cs >= MIN_CLEAR_GHI).then(|| (centre(*t, cstep, label), (v / cs).clamp(0.0, 1.5)))
        })
        .collect();
    let (first, last) = match (points.first(), points.last()) {
        (Some(a), Some(b)) => (a.0 - cstep, b.0 + cstep),
        _ => return vec![f64::NAN; stamps.len()],
    };
    stamps
        .iter()
        .map(|&t| {
            if t < first || t > last {
                return f64::NAN;
            }
            let Some(cs) = clear(t, step) else {
                return f64::NAN;
            };
            if cs <= 0.0 {
                return 0.0;
            }
            let c = centre(t, step, label);
            let j = index.partition_point(|x| x.0 < c);
            let before = j.checked_sub(1).map(|i| index[i]);
            let after = index.get(j).copied();
            let k = match (before, after) {
                (Some(a), Some(b)) if b.0 - a.0 <= 2.0 * cstep as f64 => {
                    a.1 + (c - a.0) / (b.0 - a.0) * (b.1 - a.1)
                }
                (Some(a), Some(b)) => {
                    // A night (or a hole) between them: the nearer one, if near enough.
                    let near = if c - a.0 <= b.0 - c { a } else { b };
                    if (c - near.0).abs() <= MAX_INDEX_CARRY {
                        near.1
                    } else {
                        return f64::NAN;
                    }
                }
                (Some(n), None) | (None, Some(n)) if (c - n.0).abs() <= MAX_INDEX_CARRY => n.1,
                _ => return f64::NAN,
            };
            k * cs
        })
        .collect()
}
