//! Reading one input (a file, a zip entry, a feed body) in one of the formats and landing its
//! records in the event store in transactions of `batch_records`. Bad records become
//! rejections with their line number and reason; the records around them are kept. Landing
//! stops after the current transaction when asked to (shutdown).

use std::{
    io::{BufRead, BufReader, Read, Seek},
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use chrono::SecondsFormat;
use horizon_domain::IngestRejection;
use horizon_settings::IngestFormat;
use horizon_store::event_store::{EventStore, GdeltEvent};
use uuid::Uuid;

use super::{
    gdelt::{self, GdeltVersion},
    parse_row,
};
use crate::ServiceError;

/// Longest raw record kept with a rejection.
const RAW_KEEP: usize = 1_000;

/// What a landing needs: where to land, what to call the input, limits, the stop flag.
#[derive(Clone)]
pub struct LandCtx {
    /// The event store.
    pub events: Arc<Mutex<EventStore>>,
    /// Name of the input in rejections (`source/file`).
    pub source: String,
    /// The run the rejections belong to.
    pub run_id: Uuid,
    /// Longest record accepted, in bytes.
    pub max_record_bytes: usize,
    /// Records per event-store transaction.
    pub batch_records: usize,
    /// Set on shutdown: landing stops after the current transaction.
    pub stop: Arc<AtomicBool>,
    /// Progress display of a file (interactive runs only).
    pub progress: Option<indicatif::ProgressBar>,
}

/// Counters of one landing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    /// Records read (good and bad).
    pub read: i64,
    /// Records new or changed in the event store.
    pub landed: i64,
    /// Last line read.
    pub last_line: u64,
}

/// The outcome of one landing.
#[derive(Debug, Default)]
pub struct Landed {
    /// Counters.
    pub counts: Counts,
    /// Records set aside.
    pub rejections: Vec<IngestRejection>,
    /// Whether landing stopped early for shutdown (the input is not finished).
    pub interrupted: bool,
}

impl Landed {
    fn absorb(&mut self, other: Landed) {
        self.counts.read += other.counts.read;
        self.counts.landed += other.counts.landed;
        self.counts.last_line = other.counts.last_line;
        self.rejections.extend(other.rejections);
        self.interrupted |= other.interrupted;
    }
}

impl LandCtx {
    fn input_error(&self, reason: String) -> ServiceError {
        ServiceError::Input {
            path: self.source.clone(),
            reason,
        }
    }

    fn reject(&self, line: u64, reason: &str, raw: Option<&[u8]>) -> IngestRejection {
        IngestRejection {
            run_id: Some(self.run_id),
            source: self.source.clone(),
            line: Some(line as i64),
            reason: reason.to_owned(),
            raw: raw.map(|r| String::from_utf8_lossy(&r[..r.len().min(RAW_KEEP)]).into_owned()),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, EventStore>, ServiceError> {
        self.events
            .lock()
            .map_err(|_| ServiceError::Internal("event store lock poisoned".into()))
    }

    fn flush_observations(
        &self,
        batch: &mut Vec<(String, String, f64)>,
        counts: &mut Counts,
    ) -> Result<(), ServiceError> {
        if !batch.is_empty() {
            counts.landed += self.lock()?.land_observations(batch)? as i64;
            batch.clear();
        }
        Ok(())
    }

    fn flush_gdelt(
        &self,
        batch: &mut Vec<GdeltEvent>,
        counts: &mut Counts,
    ) -> Result<(), ServiceError> {
        if !batch.is_empty() {
            counts.landed += self.lock()?.land_gdelt(batch)? as i64;
            batch.clear();
        }
        Ok(())
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Lands a file in `format`; zip archives (by magic number, or by a `.zip` name, which must
/// then be one) are read entry by entry.
pub fn land_file(ctx: &LandCtx, path: &Path, format: IngestFormat) -> Result<Landed, ServiceError> {
    let mut file =
        std::fs::File::open(path).map_err(|e| ctx.input_error(format!("cannot open: {e}")))?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut file, &mut magic)
        .map_err(|e| ctx.input_error(format!("cannot read: {e}")))?;
    file.rewind()
        .map_err(|e| ctx.input_error(format!("cannot read: {e}")))?;
    let named_zip = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    if n == 0 {
        return Err(ctx.input_error("the file is empty".into()));
    }
    if named_zip || magic == *b"PK\x03\x04" {
        return land_zip(ctx, file, format);
    }
    match &ctx.progress {
        Some(bar) => land_reader(
            ctx,
            BufReader::with_capacity(1 << 20, bar.wrap_read(file)),
            format,
        ),
        None => land_reader(ctx, BufReader::with_capacity(1 << 20, file), format),
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn land_zip(
    ctx: &LandCtx,
    file: std::fs::File,
    format: IngestFormat,
) -> Result<Landed, ServiceError> {
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| ctx.input_error(format!("not a readable zip archive: {e}")))?;
    let mut total = Landed::default();
    let mut entries = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index(i)
            .map_err(|e| ctx.input_error(format!("zip entry {i}: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        entries += 1;
        let mut sub = ctx.clone();
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("entry {i}"));
        sub.source = format!("{}!{name}", ctx.source);
        let landed = land_reader(&sub, BufReader::with_capacity(1 << 20, entry), format)?;
        let stop = landed.interrupted;
        total.absorb(landed);
        if stop {
            break;
        }
    }
    if entries == 0 {
        return Err(ctx.input_error("the zip archive holds no file".into()));
    }
    Ok(total)
}

/// Lands records read from `reader` in `format`.
pub fn land_reader<R: BufRead>(
    ctx: &LandCtx,
    reader: R,
    format: IngestFormat,
) -> Result<Landed, ServiceError> {
    match format {
        IngestFormat::Csv => land_csv(ctx, reader),
        IngestFormat::Jsonl => land_lines(ctx, reader, LineFormat::Jsonl),
        IngestFormat::Gdelt1 => land_lines(ctx, reader, LineFormat::Gdelt(GdeltVersion::V1)),
        IngestFormat::Gdelt2 => land_lines(ctx, reader, LineFormat::Gdelt(GdeltVersion::V2)),
    }
}

#[derive(Clone, Copy)]
enum LineFormat {
    Jsonl,
    Gdelt(GdeltVersion),
}

/// What reading one line found.
enum Line {
    Eof,
    Ok,
    /// Longer than the maximum; the rest of it was skipped. Carries its length.
    TooLong(usize),
}

/// Reads one line into `buf` (without the line break), never holding more than `max` bytes.
fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    buf.clear();
    let mut len = 0usize;
    let mut any = false;
    loop {
        let avail = reader.fill_buf()?;
        if avail.is_empty() {
            return Ok(if !any {
                Line::Eof
            } else if len > max {
                Line::TooLong(len)
            } else {
                Line::Ok
            });
        }
        any = true;
        let (chunk, used, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (&avail[..i], i + 1, true),
            None => (avail, avail.len(), false),
        };
        len += chunk.len();
        if len <= max {
            buf.extend_from_slice(chunk);
        }
        reader.consume(used);
        if done {
            return Ok(if len > max {
                Line::TooLong(len)
            } else {
                Line::Ok
            });
        }
    }
}

fn land_lines<R: BufRead>(
    ctx: &LandCtx,
    mut reader: R,
    format: LineFormat,
) -> Result<Landed, ServiceError> {
    let mut out = Landed::default();
    let mut gdelt_batch: Vec<GdeltEvent> = Vec::with_capacity(ctx.batch_records.min(1 << 16));
    let mut obs_batch: Vec<(String, String, f64)> = Vec::new();
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0u64;
    loop {
        let read = match read_line(&mut reader, &mut buf, ctx.max_record_bytes) {
            Ok(r) => r,
            Err(e) => {
                ctx.flush_gdelt(&mut gdelt_batch, &mut out.counts)?;
                ctx.flush_observations(&mut obs_batch, &mut out.counts)?;
                return Err(ctx.input_error(format!("read failed after line {line_no}: {e}")));
            }
        };
        line_no += 1;
        match read {
            Line::Eof => break,
            Line::TooLong(len) => {
                out.counts.read += 1;
                out.rejections.push(ctx.reject(
                    line_no,
                    &format!(
                        "record of {len} bytes exceeds the maximum of {}",
                        ctx.max_record_bytes
                    ),
                    None,
                ));
                continue;
            }
            Line::Ok => {}
        }
        let trimmed = buf.strip_suffix(b"\r").unwrap_or(&buf);
        if trimmed.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        out.counts.read += 1;
        out.counts.last_line = line_no;
        match format {
            LineFormat::Gdelt(version) => match gdelt::parse_line(trimmed, version) {
                Ok(ev) => gdelt_batch.push(ev),
                Err(reason) => out
                    .rejections
                    .push(ctx.reject(line_no, &reason, Some(trimmed))),
            },
            LineFormat::Jsonl => match parse_json_record(trimmed) {
                Ok(rows) => obs_batch.extend(rows),
                Err(reason) => out
                    .rejections
                    .push(ctx.reject(line_no, &reason, Some(trimmed))),
            },
        }
        if gdelt_batch.len() >= ctx.batch_records || obs_batch.len() >= ctx.batch_records {
            ctx.flush_gdelt(&mut gdelt_batch, &mut out.counts)?;
            ctx.flush_observations(&mut obs_batch, &mut out.counts)?;
            if ctx.stopping() {
                out.interrupted = true;
                return Ok(out);
            }
        }
    }
    ctx.flush_gdelt(&mut gdelt_batch, &mut out.counts)?;
    ctx.flush_observations(&mut obs_batch, &mut out.counts)?;
    if line_no <= 1 && out.counts.read == 0 {
        return Err(ctx.input_error("the input is empty".into()));
    }
    Ok(out)
}

fn landed_row(key: &str, ts: horizon_domain::Timestamp, value: f64) -> (String, String, f64) {
    (
        key.to_owned(),
        ts.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        value,
    )
}

/// A JSON Lines record: `unique_id`, `ds` (text or integer), `y`, and optional numeric
/// covariates, each of which becomes the series `unique_id:name`.
fn parse_json_record(line: &[u8]) -> Result<Vec<(String, String, f64)>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err("not a JSON object".into());
    };
    let text = |name: &str| -> Result<String, String> {
        match map.get(name) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
            Some(other) => Err(format!("field {name}: {other} is not a string or number")),
            None => Err(format!("field {name} is missing")),
        }
    };
    let (key, ts, y) = parse_row(&text("unique_id")?, &text("ds")?, &text("y")?)?;
    let mut rows = vec![landed_row(key.as_str(), ts, y)];
    for (name, v) in &map {
        if matches!(name.as_str(), "unique_id" | "ds" | "y") || v.is_null() {
            continue;
        }
        let value = v
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("covariate {name}: {v} is not a number"))?;
        let cov = covariate_key(key.as_str(), name)?;
        rows.push(landed_row(&cov, ts, value));
    }
    Ok(rows)
}

/// The series of covariate `name` of series `key`.
fn covariate_key(key: &str, name: &str) -> Result<String, String> {
    let cov = format!("{key}:{}", name.trim());
    horizon_domain::SeriesKey::parse(&cov)
        .map(|k| k.to_string())
        .map_err(|e| format!("covariate {name:?}: {e}"))
}

/// Lands long-format CSV: `unique_id,ds,y` plus optional numeric covariate columns, each of
/// which becomes the series `unique_id:column` (an empty cell is no value).
pub fn land_csv<R: Read>(ctx: &LandCtx, reader: R) -> Result<Landed, ServiceError> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(reader);
    let headers = csv
        .headers()
        .map_err(|e| ctx.input_error(format!("cannot read the header line: {e}")))?
        .clone();
    if headers.is_empty() || (headers.len() == 1 && headers[0].trim().is_empty()) {
        return Err(
            ctx.input_error("the file is empty; expected a header line unique_id,ds,y".into())
        );
    }
    let clean = |h: &str| h.trim().trim_start_matches('\u{feff}').to_owned();
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| clean(h).eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                ctx.input_error(format!(
                    "the header has no column {name:?} (found {:?}); expected unique_id,ds,y",
                    headers.iter().collect::<Vec<_>>()
                ))
            })
    };
    let (col_id, col_ds, col_y) = (find("unique_id")?, find("ds")?, find("y")?);
    let covariates: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter(|(i, _)| ![col_id, col_ds, col_y].contains(i))
        .map(|(i, h)| (i, clean(h)))
        .collect();
    let width = headers.len();

    let mut out = Landed::default();
    out.counts.last_line = 1;
    let mut batch: Vec<(String, String, f64)> = Vec::with_capacity(ctx.batch_records.min(1 << 16));
    let mut record = csv::StringRecord::new();
    loop {
        let line = csv.position().line() + 1;
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) if e.is_io_error() => {
                ctx.flush_observations(&mut batch, &mut out.counts)?;
                return Err(ctx.input_error(format!("read failed after line {line}: {e}")));
            }
            Err(e) => {
                out.counts.read += 1;
                out.rejections.push(ctx.reject(line, &format!("{e}"), None));
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        out.counts.read += 1;
        out.counts.last_line = line;
        let raw = || record.iter().collect::<Vec<_>>().join(",");
        let bytes = record.as_byte_record().as_slice().len() + record.len();
        if bytes > ctx.max_record_bytes {
            out.rejections.push(ctx.reject(
                line,
                &format!(
                    "record of {bytes} bytes exceeds the maximum of {}",
                    ctx.max_record_bytes
                ),
                None,
            ));
            continue;
        }
        if record.len() != width {
            out.rejections.push(ctx.reject(
                line,
                &format!("expected {width} columns, found {}", record.len()),
                Some(raw().as_bytes()),
            ));
            continue;
        }
        let parsed = parse_row(&record[col_id], &record[col_ds], &record[col_y]).and_then(
            |(key, ts, value)| {
                let mut rows = vec![landed_row(key.as_str(), ts, value)];
                for (i, name) in &covariates {
                    let cell = record[*i].trim();
                    if cell.is_empty() {
                        continue;
                    }
                    let v = cell
                        .parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| format!("column {name}: {cell:?} is not a number"))?;
                    rows.push(landed_row(&covariate_key(key.as_str(), name)?, ts, v));
                }
                Ok(rows)
            },
        );
        match parsed {
            Ok(rows) => {
                batch.extend(rows);
                if batch.len() >= ctx.batch_records {
                    ctx.flush_observations(&mut batch, &mut out.counts)?;
                    if ctx.stopping() {
                        out.interrupted = true;
                        return Ok(out);
                    }
                }
            }
            Err(reason) => out
                .rejections
                .push(ctx.reject(line, &reason, Some(raw().as_bytes()))),
        }
    }
    ctx.flush_observations(&mut batch, &mut out.counts)?;
    Ok(out)
}
