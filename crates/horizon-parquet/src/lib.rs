//! Long-format Parquet files — one row per series and time, columns `unique_id`, `ds` and `y`
//! — read row by row with the `parquet` crate's own row API (no Arrow: it would triple the
//! build). Whatever a writer made of the columns is accepted: `ds` as a timestamp of any unit
//! (pandas writes nanoseconds, Spark INT96), a date, an integer or text; `y` as any number,
//! null, or text; `unique_id` as text or an integer. Snappy, zstd, lz4 and gzip pages are read.
//!
//! ```no_run
//! let file = std::fs::File::open("y.parquet").unwrap();
//! for row in horizon_parquet::LongRows::open(file).unwrap() {
//!     let row = row.unwrap();
//!     println!("{} {:?} {:?}", row.unique_id, row.ds, row.y);
//! }
//! ```

use std::fs::File;

use chrono::{DateTime, NaiveDate, Utc};
use parquet::{
    basic::{ConvertedType, LogicalType, TimeUnit, Type as Physical},
    file::reader::{FileReader, SerializedFileReader},
    record::{Field, reader::RowIter},
    schema::types::ColumnDescriptor,
};

/// A file that cannot be read as long-format Parquet at all.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Not Parquet, or its footer is damaged.
    #[error("not a readable Parquet file: {0}")]
    Unreadable(String),
    /// A required column is missing.
    #[error("the file has no {missing:?} column (found {})", found.join(","))]
    MissingColumn {
        /// The column.
        missing: &'static str,
        /// The columns it has.
        found: Vec<String>,
    },
    /// A column has a type that cannot mean what the column is for.
    #[error("column {column} is {found}: expected {expected}")]
    ColumnType {
        /// The column.
        column: &'static str,
        /// Its type in the file.
        found: String,
        /// What would do.
        expected: &'static str,
    },
}

/// One row that cannot be read; `row` counts from 1.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("row {row}, column {column}: {reason}")]
pub struct RowError {
    /// The row, from 1.
    pub row: u64,
    /// The column (`unique_id`, `ds`, `y`, or `row` when the row itself failed to decode).
    pub column: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// A `ds` as the file stored it.
#[derive(Debug, Clone, PartialEq)]
pub enum Stamp {
    /// A timestamp, as an instant in UTC.
    Instant(DateTime<Utc>),
    /// A calendar date.
    Date(NaiveDate),
    /// An integer.
    Int(i64),
    /// Text, for the caller to parse as it parses CSV.
    Text(String),
}

/// A `y` as the file stored it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number (NaN as the file had it).
    Number(f64),
    /// A null.
    Missing,
    /// Text, for the caller to parse as it parses CSV.
    Text(String),
}

/// One row: a series, a time, a value.
#[derive(Debug, Clone, PartialEq)]
pub struct LongRow {
    /// The row, from 1.
    pub row: u64,
    /// The series.
    pub unique_id: String,
    /// When.
    pub ds: Stamp,
    /// The value.
    pub y: Value,
}

/// How the file stores `ds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampKind {
    /// Timestamps (read as instants in UTC).
    Instant,
    /// Dates.
    Date,
    /// Integers.
    Int,
    /// Text.
    Text,
}

/// The rows of a long-format Parquet file, read a row group at a time (memory is one row
/// group, whatever the file's size).
pub struct LongRows {
    rows: RowIter<'static>,
    /// Units per second of a timestamp column stored as plain `INT64` (nanoseconds).
    per_second: Option<i64>,
    kind: StampKind,
    next: u64,
}

impl std::fmt::Debug for LongRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LongRows")
            .field("kind", &self.kind)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

fn stamp_kind(c: &ColumnDescriptor) -> Result<(StampKind, Option<i64>), FileError> {
    Ok(match (c.physical_type(), c.logical_type_ref()) {
        (Physical::INT64 | Physical::INT32, Some(LogicalType::Timestamp(t))) => (
            StampKind::Instant,
            Some(match t.unit {
                TimeUnit::MILLIS => 1_000,
                TimeUnit::MICROS => 1_000_000,
                TimeUnit::NANOS => 1_000_000_000,
            }),
        ),
        (Physical::INT96, _) => (StampKind::Instant, None),
        (Physical::INT32, Some(LogicalType::Date)) => (StampKind::Date, None),
        (Physical::INT32 | Physical::INT64, None | Some(LogicalType::Integer(_))) => {
            match c.converted_type() {
                ConvertedType::DATE => (StampKind::Date, None),
                ConvertedType::TIMESTAMP_MILLIS => (StampKind::Instant, Some(1_000)),
                ConvertedType::TIMESTAMP_MICROS => (StampKind::Instant, Some(1_000_000)),
                _ => (StampKind::Int, None),
            }
        }
        (Physical::BYTE_ARRAY, _) => (StampKind::Text, None),
        (other, logical) => {
            return Err(FileError::ColumnType {
                column: "ds",
                found: format!(
                    "{other}{}",
                    logical.map(|l| format!(" ({l:?})")).unwrap_or_default()
                ),
                expected: "a timestamp, a date, an integer or text",
            });
        }
    })
}

fn instant(value: i64, per_second: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(
        value.div_euclid(per_second),
        (value.rem_euclid(per_second) * (1_000_000_000 / per_second)) as u32,
    )
}

impl LongRows {
    /// Opens `file`: checks that it is Parquet with the three columns (others are ignored).
    pub fn open(file: File) -> Result<Self, FileError> {
        let reader =
            SerializedFileReader::new(file).map_err(|e| FileError::Unreadable(e.to_string()))?;
        let schema = reader.metadata().file_metadata().schema_descr_ptr();
        let names: Vec<String> = schema
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        let find = |name: &'static str| {
            names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| FileError::MissingColumn {
                    missing: name,
                    found: names.clone(),
                })
        };
        find("unique_id")?;
        find("y")?;
        let (kind, per_second) = stamp_kind(&schema.columns()[find("ds")?])?;
        let rows = RowIter::from_file_into(Box::new(reader));
        Ok(Self {
            rows,
            per_second,
            kind,
            next: 0,
        })
    }

    /// How the file stores `ds`.
    pub fn stamp_kind(&self) -> StampKind {
        self.kind
    }

    fn convert(&self, row: u64, fields: parquet::record::Row) -> Result<LongRow, RowError> {
        let bad = |column: &'static str, reason: String| RowError {
            row,
            column,
            reason,
        };
        let (mut id, mut ds, mut y) = (None, None, None);
        for (name, field) in fields.into_columns() {
            match name.as_str() {
                "unique_id" => id = Some(field),
                "ds" => ds = Some(field),
                "y" => y = Some(field),
                _ => {}
            }
        }
        let unique_id = match id {
            Some(Field::Str(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(Field::Long(v)) => v.to_string(),
            Some(Field::Int(v)) => v.to_string(),
            other => return Err(bad("unique_id", format!("{other:?} is not a series id"))),
        };
        let out_of_range = || bad("ds", "out of the representable range".to_owned());
        let ds = match (self.kind, ds) {
            (StampKind::Instant, Some(Field::TimestampMillis(v))) => {
                Stamp::Instant(instant(v, 1_000).ok_or_else(out_of_range)?)
            }
            (StampKind::Instant, Some(Field::TimestampMicros(v))) => {
                Stamp::Instant(instant(v, 1_000_000).ok_or_else(out_of_range)?)
            }
            (StampKind::Instant, Some(Field::Long(v))) => Stamp::Instant(
                instant(v, self.per_second.unwrap_or(1_000_000_000)).ok_or_else(out_of_range)?,
            ),
            (StampKind::Date, Some(Field::Date(d) | Field::Int(d))) => Stamp::Date(
                NaiveDate::from_num_days_from_ce_opt(719_163 + d)
                    .ok_or_else(|| bad("ds", format!("day {d} is out of range")))?,
            ),
            (StampKind::Int, Some(Field::Long(v))) => Stamp::Int(v),
            (StampKind::Int, Some(Field::Int(v))) => Stamp::Int(i64::from(v)),
            (StampKind::Text, Some(Field::Str(s))) => Stamp::Text(s),
            (_, other) => return Err(bad("ds", format!("{other:?} is not a time stamp"))),
        };
        Ok(LongRow {
            row,
            unique_id,
            ds,
            y: value(y).map_err(|r| bad("y", r))?,
        })
    }
}

fn value(y: Option<Field>) -> Result<Value, String> {
    Ok(match y {
        Some(Field::Double(v)) => Value::Number(v),
        Some(Field::Float(v)) => Value::Number(f64::from(v)),
        Some(Field::Long(v)) => Value::Number(v as f64),
        Some(Field::Int(v)) => Value::Number(f64::from(v)),
        Some(Field::Short(v)) => Value::Number(f64::from(v)),
        Some(Field::Null) | None => Value::Missing,
        Some(Field::Str(s)) => Value::Text(s),
        Some(other) => return Err(format!("{other:?} is not a number")),
    })
}

impl Iterator for LongRows {
    type Item = Result<LongRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let fields = self.rows.next()?;
        self.next += 1;
        let row = self.next;
        Some(
            fields
                .map_err(|e| RowError {
                    row,
                    column: "row",
                    reason: e.to_string(),
                })
                .and_then(|f| self.convert(row, f)),
        )
    }
}
