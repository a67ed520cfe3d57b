//! Parquet in and out, chosen by the `.parquet` extension: the same long format as the CSV
//! files (`unique_id` string, `ds` timestamp, date or integer, `y` a number). Rows are read by
//! `horizon-parquet` (shared with the HTTP import); tables are written here with the `parquet`
//! crate's column API.

use std::{fs::File, path::Path, sync::Arc};

use horizon_parquet::{LongRows, Stamp, StampKind, Value};
use parquet::{
    basic::{Compression, LogicalType, Repetition, TimeUnit, Type as Physical},
    data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type},
    file::{properties::WriterProperties, writer::SerializedFileWriter},
    schema::types::Type,
};

use crate::{
    BatchError, OnDuplicate,
    input::{Ds, DsStyle, Grouped, assemble, parse_ds, parse_y},
};

/// Whether `path` names a Parquet file.
pub(crate) fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Reads a Parquet file of `unique_id, ds, y` (other columns ignored); errors name the row
/// (counted as the line of the CSV form would be: the header is line 1) and the column.
pub(crate) fn read(
    path: &Path,
    on_duplicate: OnDuplicate,
) -> Result<crate::input::HeldSet, BatchError> {
    let file = File::open(path).map_err(|e| crate::io_error(path, e))?;
    let rows =
        LongRows::open(file).map_err(|e| BatchError::Input(format!("{}: {e}", path.display())))?;
    let column = |c: &str| match c {
        "unique_id" => 1,
        "ds" => 2,
        "y" => 3,
        _ => 0,
    };
    let mut style = match rows.stamp_kind() {
        StampKind::Instant => Some(DsStyle::Rfc3339Z),
        StampKind::Date => Some(DsStyle::Date),
        StampKind::Int => Some(DsStyle::Int),
        StampKind::Text => None,
    };
    let mut out = Grouped::default();
    for row in rows {
        let row = row.map_err(|e| BatchError::Parse {
            line: e.row + 1,
            column: column(e.column),
            name: e.column.to_owned(),
            reason: e.reason,
        })?;
        let line = row.row + 1;
        let bad = |name: &str, reason: String| BatchError::Parse {
            line,
            column: column(name),
            name: name.to_owned(),
            reason,
        };
        let ds = match row.ds {
            Stamp::Instant(t) => Ds::Time(t),
            Stamp::Date(d) => Ds::Time(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()),
            Stamp::Int(i) => Ds::Int(i),
            Stamp::Text(s) => {
                let (d, st) = parse_ds(&s).ok_or_else(|| bad("ds", crate::input::bad_ds(&s)))?;
                style = Some(match style {
                    Some(DsStyle::Date) | None => st,
                    Some(prev) => prev,
                });
                d
            }
        };
        let y = match row.y {
            Value::Number(v) => v,
            Value::Missing => f64::NAN,
            Value::Text(s) => {
                parse_y(&s).ok_or_else(|| bad("y", format!("{s:?} is not a number")))?
            }
        };
        out.push(&row.unique_id, (ds, y, line));
    }
    match style {
        Some(style) if !out.is_empty() => assemble(out, style, on_duplicate),
        _ => Err(BatchError::Input(format!(
            "{}: the file has no data rows",
            path.display()
        ))),
    }
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
