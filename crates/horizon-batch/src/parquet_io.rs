//! Parquet in and out, chosen by the `.parquet` extension: the same long format as the CSV
//! files (`unique_id` string, `ds` timestamp, date or integer, `y` a number), read and written
//! with the `parquet` crate's own row and column APIs (no Arrow: it would triple the build).

use std::{fs::File, path::Path, sync::Arc};

use chrono::{DateTime, NaiveDate, Utc};
use horizon_domain::Timestamp;
use parquet::{
    basic::{Compression, LogicalType, Repetition, TimeUnit, Type as Physical},
    data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type},
    file::{
        properties::WriterProperties,
        reader::{FileReader, SerializedFileReader},
        writer::SerializedFileWriter,
    },
    record::Field,
    schema::types::{ColumnDescriptor, Type},
};

use crate::{
    BatchError, OnDuplicate, SeriesSet,
    input::{Ds, DsStyle, assemble, parse_ds, parse_y},
};

/// Whether `path` names a Parquet file.
pub(crate) fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// How a file's `ds` column is stored.
#[derive(Debug, Clone, Copy)]
enum DsColumn {
    /// A timestamp in this many units per second.
    Time(i64),
    /// Days since 1970-01-01.
    Date,
    /// Plain integers.
    Int,
    /// Text, read as the CSV reader reads it.
    Text,
}

fn ds_column(c: &ColumnDescriptor) -> Result<DsColumn, BatchError> {
    let kind = match (c.physical_type(), c.logical_type_ref()) {
        (Physical::INT64 | Physical::INT32, Some(LogicalType::Timestamp(t))) => {
            DsColumn::Time(match t.unit {
                TimeUnit::MILLIS => 1_000,
                TimeUnit::MICROS => 1_000_000,
                TimeUnit::NANOS => 1_000_000_000,
            })
        }
        (Physical::INT96, _) => DsColumn::Time(1_000),
        (Physical::INT32, Some(LogicalType::Date)) => DsColumn::Date,
        (Physical::INT32 | Physical::INT64, None | Some(LogicalType::Integer(_))) => {
            match c.converted_type() {
                parquet::basic::ConvertedType::DATE => DsColumn::Date,
                parquet::basic::ConvertedType::TIMESTAMP_MILLIS => DsColumn::Time(1_000),
                parquet::basic::ConvertedType::TIMESTAMP_MICROS => DsColumn::Time(1_000_000),
                _ => DsColumn::Int,
            }
        }
        (Physical::BYTE_ARRAY, _) => DsColumn::Text,
        (other, logical) => {
            return Err(BatchError::Input(format!(
                "column ds is {other}{}: expected a timestamp, a date, an integer or text",
                logical.map(|l| format!(" ({l:?})")).unwrap_or_default()
            )));
        }
    };
    Ok(kind)
}

fn timestamp(value: i64, per_second: i64) -> Option<Timestamp> {
    DateTime::<Utc>::from_timestamp(
        value.div_euclid(per_second),
        (value.rem_euclid(per_second) * (1_000_000_000 / per_second)) as u32,
    )
}

/// Reads a Parquet file of `unique_id, ds, y` (other columns ignored); errors name the row
/// (1-based, as a line of the CSV form would be 1 + the row) and the column.
pub(crate) fn read(path: &Path, on_duplicate: OnDuplicate) -> Result<SeriesSet, BatchError> {
    let file = File::open(path).map_err(|e| crate::io_error(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(|e| {
        BatchError::Input(format!(
            "{}: not a readable Parquet file: {e}",
            path.display()
        ))
    })?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let names: Vec<String> = schema
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    let col = |name: &str| {
        names.iter().position(|n| n == name).ok_or_else(|| {
            BatchError::Input(format!(
                "{}: the file has no {name:?} column (found {})",
                path.display(),
                names.join(",")
            ))
        })
    };
    let (c_id, c_ds, c_y) = (col("unique_id")?, col("ds")?, col("y")?);
    let ds_kind = ds_column(&schema.columns()[c_ds])?;
    let style = match ds_kind {
        DsColumn::Time(_) => Some(DsStyle::Rfc3339Z),
        DsColumn::Date => Some(DsStyle::Date),
        DsColumn::Int => Some(DsStyle::Int),
        DsColumn::Text => None,
    };
    let mut text_style: Option<DsStyle> = None;
    let mut rows = Vec::new();
    let iter = reader
        .get_row_iter(None)
        .map_err(|e| BatchError::Input(format!("{}: {e}", path.display())))?;
    for (i, row) in iter.enumerate() {
        let line = i as u64 + 2;
        let row = row.map_err(|e| BatchError::Parse {
            line,
            column: 0,
            name: "row".to_owned(),
            reason: e.to_string(),
        })?;
        let bad = |c: usize, reason: String| BatchError::Parse {
            line,
            column: c + 1,
            name: names[c].clone(),
            reason,
        };
        let (mut id, mut ds, mut y) = (None, None, None);
        for (name, field) in row.get_column_iter() {
            if name == "unique_id" {
                id = Some(field);
            } else if name == "ds" {
                ds = Some(field);
            } else if name == "y" {
                y = Some(field);
            }
        }
        let id = match id {
            Some(Field::Str(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(Field::Long(v)) => v.to_string(),
            Some(Field::Int(v)) => v.to_string(),
            other => return Err(bad(c_id, format!("{other:?} is not a series id"))),
        };
        let ds = match (ds_kind, ds) {
            (DsColumn::Time(_), Some(Field::TimestampMillis(v))) => timestamp(*v, 1_000),
            (DsColumn::Time(_), Some(Field::TimestampMicros(v))) => timestamp(*v, 1_000_000),
            (DsColumn::Time(unit), Some(Field::Long(v))) => timestamp(*v, unit),
            (DsColumn::Date, Some(Field::Date(d))) | (DsColumn::Date, Some(Field::Int(d))) => {
                NaiveDate::from_num_days_from_ce_opt(719_163 + d)
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
            }
            (DsColumn::Int, Some(Field::Long(v))) => {
                rows.push((
                    id,
                    (
                        Ds::Int(*v),
                        y_of(y).ok_or_else(|| bad(c_y, y_bad(y)))?,
                        line,
                    ),
                ));
                continue;
            }
            (DsColumn::Int, Some(Field::Int(v))) => {
                rows.push((
                    id,
                    (
                        Ds::Int(i64::from(*v)),
                        y_of(y).ok_or_else(|| bad(c_y, y_bad(y)))?,
                        line,
                    ),
                ));
                continue;
            }
            (DsColumn::Text, Some(Field::Str(s))) => {
                let (d, st) = parse_ds(s).ok_or_else(|| bad(c_ds, crate::input::bad_ds(s)))?;
                text_style = Some(match text_style {
                    Some(DsStyle::Date) | None => st,
                    Some(prev) => prev,
                });
                rows.push((id, (d, y_of(y).ok_or_else(|| bad(c_y, y_bad(y)))?, line)));
                continue;
            }
            (_, other) => return Err(bad(c_ds, format!("{other:?} is not a time stamp"))),
        };
        let ds = ds.ok_or_else(|| bad(c_ds, "out of the representable range".to_owned()))?;
        rows.push((
            id,
            (
                Ds::Time(ds),
                y_of(y).ok_or_else(|| bad(c_y, y_bad(y)))?,
                line,
            ),
        ));
    }
    let Some(style) = style.or(text_style) else {
        return Err(BatchError::Input(format!(
            "{}: the file has no data rows",
            path.display()
        )));
    };
    if rows.is_empty() {
        return Err(BatchError::Input(format!(
            "{}: the file has no data rows",
            path.display()
        )));
    }
    assemble(rows, style, on_duplicate)
}

fn y_of(y: Option<&Field>) -> Option<f64> {
    match y? {
        Field::Double(v) => Some(*v),
        Field::Float(v) => Some(f64::from(*v)),
        Field::Long(v) => Some(*v as f64),
        Field::Int(v) => Some(f64::from(*v)),
        Field::Null => Some(f64::NAN),
        Field::Str(s) => parse_y(s),
        _ => None,
    }
}

fn y_bad(y: Option<&Field>) -> String {
    format!("{y:?} is not a number")
}

/// Rows buffered per row group when writing.
const ROW_GROUP: usize = 65_536;

/// A Parquet output: `unique_id` (string), the stamp columns (`ds`, and `cutoff` for a
/// cross-validation file: timestamps in UTC, dates or integers as the input had them), then
/// one double column per value column; written in row groups of [`ROW_GROUP`] rows.
pub(crate) struct ParquetSink {
    path: std::path::PathBuf,
    writer: SerializedFileWriter<File>,
    style: DsStyle,
    ids: Vec<ByteArray>,
    stamps: Vec<Vec<Ds>>,
    values: Vec<Vec<f64>>,
}

fn err(path: &Path, e: impl std::fmt::Display) -> BatchError {
    BatchError::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl ParquetSink {
    /// A new file at `path` with these columns.
    pub(crate) fn create(
        path: &Path,
        style: DsStyle,
        stamp_columns: &[&str],
        value_columns: &[String],
    ) -> Result<Self, BatchError> {
        let e = |x: parquet::errors::ParquetError| err(path, x);
        let mut fields = vec![Arc::new(
            Type::primitive_type_builder("unique_id", Physical::BYTE_ARRAY)
                .with_repetition(Repetition::REQUIRED)
                .with_logical_type(Some(LogicalType::String))
                .build()
                .map_err(e)?,
        )];
        for name in stamp_columns {
            let t = match style {
                DsStyle::Int => Type::primitive_type_builder(name, Physical::INT64),
                DsStyle::Date => Type::primitive_type_builder(name, Physical::INT32)
                    .with_logical_type(Some(LogicalType::Date)),
                _ => Type::primitive_type_builder(name, Physical::INT64)
                    .with_logical_type(Some(LogicalType::timestamp(true, TimeUnit::MICROS))),
            };
            fields.push(Arc::new(
                t.with_repetition(Repetition::REQUIRED).build().map_err(e)?,
            ));
        }
        for name in value_columns {
            fields.push(Arc::new(
                Type::primitive_type_builder(name, Physical::DOUBLE)
                    .with_repetition(Repetition::REQUIRED)
                    .build()
                    .map_err(e)?,
            ));
        }
        let schema = Arc::new(
            Type::group_type_builder("schema")
                .with_fields(fields)
                .build()
                .map_err(e)?,
        );
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .build(),
        );
        let file = File::create(path).map_err(|x| crate::io_error(path, x))?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: SerializedFileWriter::new(file, schema, props).map_err(e)?,
            style,
            ids: Vec::new(),
            stamps: vec![Vec::new(); stamp_columns.len()],
            values: vec![Vec::new(); value_columns.len()],
        })
    }

    /// Adds a row.
    pub(crate) fn row(
        &mut self,
        id: &str,
        stamps: &[Ds],
        values: &[f64],
    ) -> Result<(), BatchError> {
        self.ids.push(ByteArray::from(id));
        for (col, d) in self.stamps.iter_mut().zip(stamps) {
            col.push(*d);
        }
        for (col, v) in self.values.iter_mut().zip(values) {
            col.push(*v);
        }
        if self.ids.len() >= ROW_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BatchError> {
        if self.ids.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let e = |x: parquet::errors::ParquetError| err(&path, x);
        let mut rg = self.writer.next_row_group().map_err(e)?;
        let mut index = 0;
        while let Some(mut col) = rg.next_column().map_err(e)? {
            let n_stamps = self.stamps.len();
            if index == 0 {
                col.typed::<ByteArrayType>()
                    .write_batch(&self.ids, None, None)
                    .map_err(e)?;
            } else if index <= n_stamps {
                let stamps = &self.stamps[index - 1];
                match self.style {
                    DsStyle::Date => {
                        let days: Vec<i32> = stamps
                            .iter()
                            .map(|d| match d {
                                Ds::Time(t) => (t.timestamp().div_euclid(86_400)) as i32,
                                Ds::Int(i) => *i as i32,
                            })
                            .collect();
                        col.typed::<Int32Type>()
                            .write_batch(&days, None, None)
                            .map_err(e)?;
                    }
                    _ => {
                        let v: Vec<i64> = stamps
                            .iter()
                            .map(|d| match d {
                                Ds::Time(t) => t.timestamp_micros(),
                                Ds::Int(i) => *i,
                            })
                            .collect();
                        col.typed::<Int64Type>()
                            .write_batch(&v, None, None)
                            .map_err(e)?;
                    }
                }
            } else {
                col.typed::<DoubleType>()
                    .write_batch(&self.values[index - 1 - n_stamps], None, None)
                    .map_err(e)?;
            }
            col.close().map_err(e)?;
            index += 1;
        }
        rg.close().map_err(e)?;
        self.ids.clear();
        self.stamps.iter_mut().for_each(Vec::clear);
        self.values.iter_mut().for_each(Vec::clear);
        Ok(())
    }

    /// Writes what is buffered and the footer.
    pub(crate) fn finish(mut self) -> Result<(), BatchError> {
        self.flush()?;
        let path = self.path.clone();
        self.writer.close().map_err(|x| err(&path, x))?;
        Ok(())
    }
}
