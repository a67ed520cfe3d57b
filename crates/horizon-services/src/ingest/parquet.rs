//! Long-format Parquet files ingested as the CSV files are: their rows are turned, a row at a
//! time, into the CSV lines `unique_id,ds,y` the landing reads, so every rule of CSV ingest
//! (validation, rejections by line, deduplication, crash safety) holds unchanged. Memory is one
//! row group of the file.

use std::{
    fs::File,
    io::{Read, Seek},
};

use horizon_parquet::{LongRows, Stamp, Value};

use crate::ServiceError;

/// Whether `file` starts with Parquet's magic `PAR1` (and is rewound either way).
pub fn is_parquet(file: &mut File) -> std::io::Result<bool> {
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < 4 {
        match file.read(&mut magic[n..])? {
            0 => break,
            k => n += k,
        }
    }
    file.rewind()?;
    Ok(n == 4 && &magic == b"PAR1")
}

/// The rows of a Parquet file as CSV text: a header, then one line per row, the line number
/// of a row being its row number plus one (as in the CSV form). `ds` is written as RFC 3339 in
/// UTC, a date, the integer (Unix seconds, as CSV ingest reads integers) or the file's text; a
/// row that cannot be decoded becomes a line whose `ds` says why, so it is rejected with the
/// reason and the other rows are kept.
pub struct CsvRows {
    rows: LongRows,
    buf: Vec<u8>,
    pos: usize,
}

impl CsvRows {
    /// Opens `file`; fails when it is not long-format Parquet (the error names what is
    /// missing).
    pub fn open(file: File, source: &str) -> Result<Self, ServiceError> {
        let rows = LongRows::open(file).map_err(|e| ServiceError::Input {
            path: source.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            rows,
            buf: b"unique_id,ds,y\n".to_vec(),
            pos: 0,
        })
    }

    fn fill(&mut self) -> bool {
        let Some(row) = self.rows.next() else {
            return false;
        };
        let (id, ds, y) = match row {
            Ok(r) => {
                let ds = match r.ds {
                    Stamp::Instant(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                    Stamp::Date(d) => d.format("%Y-%m-%d").to_string(),
                    Stamp::Int(i) => i.to_string(),
                    Stamp::Text(s) => s,
                };
                let y = match r.y {
                    Value::Number(v) => format!("{v:?}"),
                    Value::Missing => String::new(),
                    Value::Text(s) => s,
                };
                (r.unique_id, ds, y)
            }
            Err(e) => (
                "?".to_owned(),
                format!("unreadable Parquet row ({}: {})", e.column, e.reason),
                String::new(),
            ),
        };
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(std::mem::take(&mut self.buf));
        let _ = w.write_record([id.as_str(), ds.as_str(), y.as_str()]);
        self.buf = w.into_inner().unwrap_or_default();
        true
    }
}

impl Read for CsvRows {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if !self.fill() {
                return Ok(0);
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
