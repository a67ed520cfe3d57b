//! Reading long-format CSV input into regular series.

use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use horizon_domain::{ForecastWarning, Frequency, Timestamp, WarningKind};

use std::collections::HashMap;

use crate::{BatchError, io_error};

/// A time stamp of the input: an integer index or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ds {
    /// An integer index.
    Int(i64),
    /// A UTC instant.
    Time(Timestamp),
}

/// How `ds` was written, so output can be written the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsStyle {
    /// Integers.
    Int,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DD HH:MM:SS`.
    DateTime,
    /// `YYYY-MM-DDTHH:MM:SS` (no offset, taken as UTC).
    DateTimeT,
    /// RFC 3339 with a numeric offset (written back as `+00:00`).
    Rfc3339,
    /// RFC 3339 in UTC written with `Z`.
    Rfc3339Z,
}

/// One series, on a regular grid (gaps filled with NaN), oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The `unique_id`.
    pub id: String,
    /// The time stamps.
    pub ds: Vec<Ds>,
    /// The values; NaN where missing.
    pub values: Vec<f64>,
    /// Step between integer time stamps (1 for time stamps).
    pub int_step: i64,
}

/// A series as the forecast command holds it until its turn: its values, and its stamps only
/// when they are not a regular grid (a grid's stamps are computed when the series is forecast,
/// [`Held::series`]). Stamps were two thirds of the memory a long file's histories held: 16
/// bytes a step beside the value's 8 (bench/solar scale.sh).
#[derive(Debug)]
pub(crate) struct Held {
    /// The `unique_id`.
    pub(crate) id: String,
    values: Vec<f64>,
    int_step: i64,
    stamps: Stamps,
}

/// A held series' stamps.
#[derive(Debug)]
enum Stamps {
    /// Step `k` is `k` integer steps or `k` frequency steps after this one.
    Grid(Ds),
    /// As read (not on a grid).
    Listed(Vec<Ds>),
}

impl Held {
    /// The series with its stamps, on `frequency` (the set's) for a grid of instants.
    pub(crate) fn series(&self, frequency: Option<Frequency>) -> Series {
        Series {
            id: self.id.clone(),
            ds: self.stamps(frequency),
            values: self.values.clone(),
            int_step: self.int_step,
        }
    }

    /// [`Held::series`] taking the values instead of copying them.
    fn into_series(self, frequency: Option<Frequency>) -> Series {
        Series {
            ds: self.stamps(frequency),
            id: self.id,
            values: self.values,
            int_step: self.int_step,
        }
    }

    fn stamps(&self, frequency: Option<Frequency>) -> Vec<Ds> {
        let n = self.values.len() as i64;
        match &self.stamps {
            Stamps::Listed(ds) => ds.clone(),
            Stamps::Grid(Ds::Int(first)) => {
                (0..n).map(|k| Ds::Int(first + k * self.int_step)).collect()
            }
            Stamps::Grid(Ds::Time(first)) => {
                let f = frequency.unwrap_or(Frequency::Days(1));
                (0..n).map(|k| Ds::Time(f.advance(*first, k))).collect()
            }
        }
    }
}

/// A file's series held for the forecast command ([`Held`]), with what the set says of them
/// all (`set.series` is empty).
pub(crate) struct HeldSet {
    pub(crate) set: SeriesSet,
    pub(crate) held: Vec<Held>,
}

impl HeldSet {
    /// Every series with its stamps: the public [`SeriesSet`].
    fn into_set(self) -> SeriesSet {
        let frequency = self.set.frequency;
        SeriesSet {
            series: self
                .held
                .into_iter()
                .map(|h| h.into_series(frequency))
                .collect(),
            ..self.set
        }
    }
}

/// Every series of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSet {
    /// The series in order of first appearance.
    pub series: Vec<Series>,
    /// The common frequency of time-stamped series (`None` for integer `ds` or when no series
    /// has two time stamps).
    pub frequency: Option<Frequency>,
    /// How `ds` was written.
    pub style: DsStyle,
    /// What reading resolved on the way, per series (duplicate stamps), for the warnings.
    pub notes: Vec<(String, ForecastWarning)>,
}

/// What to do with two rows of one series at the same `ds`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OnDuplicate {
    /// Refuse the file, naming both lines.
    #[default]
    Error,
    /// Keep the first row in file order.
    First,
    /// Keep the last row in file order.
    Last,
    /// Keep the mean of the rows' values.
    Mean,
}

impl SeriesSet {
    /// The `k`-th time stamp (1-based) after the last one of `series`.
    pub fn next_ds(&self, series: &Series, k: usize) -> Ds {
        match series.ds.last() {
            Some(Ds::Int(i)) => Ds::Int(i.saturating_add(series.int_step.saturating_mul(k as i64))),
            Some(Ds::Time(t)) => Ds::Time(
                self.frequency
                    .unwrap_or(Frequency::Days(1))
                    .advance(*t, k as i64),
            ),
            None => Ds::Int(k as i64),
        }
    }

    /// `ds` written in the input's style.
    pub fn format_ds(&self, ds: Ds) -> String {
        match ds {
            Ds::Int(i) => i.to_string(),
            Ds::Time(t) => match self.style {
                DsStyle::Date => t.format("%Y-%m-%d").to_string(),
                DsStyle::DateTime | DsStyle::Int => t.format("%Y-%m-%d %H:%M:%S").to_string(),
                DsStyle::DateTimeT => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
                DsStyle::Rfc3339 => t.to_rfc3339(),
                DsStyle::Rfc3339Z => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            },
        }
    }
}

pub(crate) fn parse_ds(raw: &str) -> Option<(Ds, DsStyle)> {
    let s = raw.trim();
    if let Ok(i) = s.parse::<i64>() {
        return Some((Ds::Int(i), DsStyle::Int));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|dt| (Ds::Time(dt.and_utc()), DsStyle::Date));
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        let style = if s.ends_with(['Z', 'z']) {
            DsStyle::Rfc3339Z
        } else {
            DsStyle::Rfc3339
        };
        return Some((Ds::Time(dt.with_timezone(&Utc)), style));
    }
    for (fmt, style) in [
        ("%Y-%m-%d %H:%M:%S", DsStyle::DateTime),
        ("%Y-%m-%dT%H:%M:%S", DsStyle::DateTimeT),
        ("%Y-%m-%d %H:%M", DsStyle::DateTime),
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some((Ds::Time(dt.and_utc()), style));
        }
    }
    None
}

/// Why a `ds` cell could not be read.
pub(crate) fn bad_ds(raw: &str) -> String {
    format!("{raw:?} is not an integer, a YYYY-MM-DD date or a datetime")
}

pub(crate) fn parse_y(raw: &str) -> Option<f64> {
    let s = raw.trim();
    if s.is_empty() || ["na", "nan", "null", "none"].contains(&s.to_ascii_lowercase().as_str()) {
        return Some(f64::NAN);
    }
    s.parse::<f64>().ok()
}

/// Reads `path`; see the crate docs for the rules.
pub fn read_series(path: &Path) -> Result<SeriesSet, BatchError> {
    read_series_with(path, OnDuplicate::First)
}

/// [`read_series`] with a rule for duplicate stamps (the CLI's `--on-duplicate`).
/// A `path` of `-` reads standard input.
pub fn read_series_with(path: &Path, on_duplicate: OnDuplicate) -> Result<SeriesSet, BatchError> {
    read_held(path, on_duplicate).map(HeldSet::into_set)
}

/// [`read_series_with`] with grid stamps left to be computed ([`Held`]).
pub(crate) fn read_held(path: &Path, on_duplicate: OnDuplicate) -> Result<HeldSet, BatchError> {
    if path == Path::new("-") {
        return read_held_from(std::io::stdin().lock(), on_duplicate);
    }
    if crate::parquet_io::is_parquet(path) {
        return crate::parquet_io::read(path, on_duplicate);
    }
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    read_held_from(file, on_duplicate)
}

/// Reads CSV from any reader with a rule for duplicate stamps (the body of [`read_series`]).
#[cfg(test)]
pub(crate) fn read_with(
    reader: impl std::io::Read,
    on_duplicate: OnDuplicate,
) -> Result<SeriesSet, BatchError> {
    read_held_from(reader, on_duplicate).map(HeldSet::into_set)
}

fn read_held_from(
    reader: impl std::io::Read,
    on_duplicate: OnDuplicate,
) -> Result<HeldSet, BatchError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| BatchError::Input(format!("cannot read the header line: {e}")))?
        .clone();
    if headers.iter().all(str::is_empty) {
        return Err(BatchError::Input(
            "the file is empty: expected a header line `unique_id,ds,y` and data rows".to_owned(),
        ));
    }
    let col = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            BatchError::Input(format!(
                "line 1: the header has no {name:?} column (found {})",
                headers.iter().collect::<Vec<_>>().join(",")
            ))
        })
    };
    let (c_id, c_ds, c_y) = (col("unique_id")?, col("ds")?, col("y")?);
    let mut style: Option<DsStyle> = None;
    let mut rows = Grouped::default();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            BatchError::Parse {
                line,
                column: 0,
                name: "row".to_owned(),
                reason: e.to_string(),
            }
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        let bad = |c: usize, reason: String| BatchError::Parse {
            line,
            column: c + 1,
            name: headers.get(c).unwrap_or("").to_owned(),
            reason,
        };
        let id = rec.get(c_id).unwrap_or("");
        if id.is_empty() {
            return Err(bad(c_id, "empty unique_id".to_owned()));
        }
        let raw_ds = rec.get(c_ds).unwrap_or("");
        let (ds, st) = parse_ds(raw_ds).ok_or_else(|| bad(c_ds, bad_ds(raw_ds)))?;
        match style {
            None => style = Some(st),
            Some(prev) if (prev == DsStyle::Int) != (st == DsStyle::Int) => {
                return Err(bad(
                    c_ds,
                    format!("{raw_ds:?} mixes integer and date time stamps in one file"),
                ));
            }
            Some(DsStyle::Date) if st != DsStyle::Date => style = Some(st),
            Some(_) => {}
        }
        let raw_y = rec.get(c_y).unwrap_or("");
        let y = parse_y(raw_y).ok_or_else(|| bad(c_y, format!("{raw_y:?} is not a number")))?;
        rows.push(id, (ds, y, line));
    }
    let Some(style) = style else {
        return Err(BatchError::Input("the file has no data rows".to_owned()));
    };
    assemble(rows, style, on_duplicate)
}

/// Rows grouped by series as they are read, in order of first appearance: each id is stored
/// once however many rows it has (a string per row was most of the batch command's memory
/// on long files: 65 of 100 MB for 645,000 rows of bench/solar).
#[derive(Debug, Default)]
pub(crate) struct Grouped {
    index: HashMap<String, usize>,
    series: Vec<(String, Vec<Row>)>,
}

/// A cell pair as read: stamp, value and the file line it came from.
type Row = (Ds, f64, u64);

impl Grouped {
    /// Adds a row `(ds, y, line)` of series `id`.
    pub(crate) fn push(&mut self, id: &str, row: Row) {
        match self.index.get(id) {
            Some(i) => self.series[*i].1.push(row),
            None => {
                self.index.insert(id.to_owned(), self.series.len());
                self.series.push((id.to_owned(), vec![row]));
            }
        }
    }

    /// Whether no row was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
}

/// The series of `rows` (`(ds, y, line)` by series, in file order) with duplicate stamps
/// resolved by `on_duplicate`, one common frequency and each series on its grid: what every
/// input format shares once its cells are read.
pub(crate) fn assemble(
    rows: Grouped,
    style: DsStyle,
    on_duplicate: OnDuplicate,
) -> Result<HeldSet, BatchError> {
    let mut frequency: Option<(Frequency, String)> = None;
    let mut series = Vec::new();
    let mut notes = Vec::new();
    for (id, mut rows) in rows.series {
        // Stable: rows of one stamp stay in file order.
        rows.sort_by_key(|p| p.0);
        let mut points: Vec<(Ds, f64)> = Vec::with_capacity(rows.len());
        let mut resolved = 0usize;
        let mut i = 0;
        while i < rows.len() {
            let mut j = i + 1;
            while j < rows.len() && rows[j].0 == rows[i].0 {
                j += 1;
            }
            let same = &rows[i..j];
            if same.len() > 1 {
                resolved += same.len() - 1;
            }
            let y = match on_duplicate {
                _ if same.len() == 1 => same[0].1,
                OnDuplicate::Error => {
                    return Err(BatchError::Input(format!(
                        "lines {} and {}: series {id:?} has two rows at the same ds (choose \
                         --on-duplicate first, last or mean)",
                        same[0].2, same[1].2
                    )));
                }
                OnDuplicate::First => same[0].1,
                OnDuplicate::Last => same[same.len() - 1].1,
                OnDuplicate::Mean => {
                    let finite: Vec<f64> =
                        same.iter().map(|r| r.1).filter(|v| v.is_finite()).collect();
                    if finite.is_empty() {
                        f64::NAN
                    } else {
                        finite.iter().sum::<f64>() / finite.len() as f64
                    }
                }
            };
            points.push((same[0].0, y));
            i = j;
        }
        if resolved > 0 {
            let rule = match on_duplicate {
                OnDuplicate::Last => "the last kept",
                OnDuplicate::Mean => "their mean kept",
                _ => "the first kept",
            };
            notes.push((
                id.clone(),
                ForecastWarning::new(
                    WarningKind::DuplicatesResolved,
                    format!("{resolved} duplicate rows ({rule})"),
                ),
            ));
        }
        let times: Vec<Timestamp> = points
            .iter()
            .filter_map(|(d, _)| match d {
                Ds::Time(t) => Some(*t),
                Ds::Int(_) => None,
            })
            .collect();
        if let Some(f) = Frequency::infer(&times) {
            match &frequency {
                None => frequency = Some((f, id.clone())),
                Some((g, other)) if *g != f => {
                    return Err(BatchError::Input(format!(
                        "mixed frequencies in one file: series {other:?} is {g}, series {id:?} is {f}"
                    )));
                }
                Some(_) => {}
            }
        }
        series.push((id, points));
    }
    let freq = frequency.map(|(f, _)| f);
    let held = series
        .into_iter()
        .map(|(id, points)| regularize(id, points, freq))
        .collect();
    Ok(HeldSet {
        set: SeriesSet {
            series: Vec::new(),
            frequency: freq,
            style,
            notes,
        },
        held,
    })
}

/// Puts sorted points on their regular grid, NaN where a step is missing; keeps them as they
/// are when they do not fall on a grid.
fn regularize(id: String, points: Vec<(Ds, f64)>, freq: Option<Frequency>) -> Held {
    let n = points.len();
    let limit = 10 * n + 10;
    let as_is = |id: String, points: Vec<(Ds, f64)>, step: i64| Held {
        id,
        stamps: Stamps::Listed(points.iter().map(|p| p.0).collect()),
        values: points.iter().map(|p| p.1).collect(),
        int_step: step,
    };
    match points.first().map(|p| p.0) {
        Some(Ds::Int(_)) => {
            let mut gaps: Vec<i64> = points
                .windows(2)
                .filter_map(|w| match (w[0].0, w[1].0) {
                    (Ds::Int(a), Ds::Int(b)) => Some(b - a),
                    _ => None,
                })
                .collect();
            gaps.sort_unstable();
            let step = gaps.get(gaps.len() / 2).copied().unwrap_or(1).max(1);
            let on_grid = gaps.iter().all(|g| g % step == 0);
            let total: i64 = gaps.iter().map(|g| g / step).sum::<i64>() + 1;
            if !on_grid || total as usize > limit {
                return as_is(id, points, step);
            }
            let Some(Ds::Int(first)) = points.first().map(|p| p.0) else {
                return as_is(id, points, step);
            };
            let mut values = vec![f64::NAN; total as usize];
            for (d, v) in &points {
                if let Ds::Int(i) = d {
                    values[((i - first) / step) as usize] = *v;
                }
            }
            Held {
                id,
                stamps: Stamps::Grid(Ds::Int(first)),
                values,
                int_step: step,
            }
        }
        Some(Ds::Time(first)) => {
            let Some(f) = freq else {
                return as_is(id, points, 1);
            };
            // Every point's place on the calendar grid from the first; points off the grid,
            // or a grid far longer than the points, keep the series as it is.
            let mut places = Vec::with_capacity(n);
            for (d, _) in &points {
                let Ds::Time(t) = d else {
                    return as_is(id, points, 1);
                };
                match f.exact_index(first, *t) {
                    Some(k) if k >= 0 && (k as usize) <= limit => places.push(k as usize),
                    _ => return as_is(id, points, 1),
                }
            }
            let total = places.last().map_or(0, |k| k + 1);
            let mut values = vec![f64::NAN; total];
            for (k, (_, v)) in places.iter().zip(&points) {
                values[*k] = *v;
            }
            Held {
                id,
                stamps: Stamps::Grid(Ds::Time(first)),
                values,
                int_step: 1,
            }
        }
        None => as_is(id, points, 1),
    }
}
