//! Reading one input (a file, a zip entry, a feed body) in one of the formats and landing its
//! records in the event store in transactions of `batch_records`. Bad records become
//! rejections with their line number and reason; the records around them are kept. Landing
//! stops after the current transaction when asked to (shutdown).
//!
//! Whatever the input, memory stays bounded ([`Limits`]): no line is held beyond
//! `max_record_bytes` (longer ones are skipped to their end and rejected), an archive may not
//! expand beyond `max_decompressed_bytes` or `max_compression_ratio` times its size, and only
//! the first `max_rejections` rejections of an input are kept one by one (the rest are counted
//! in a last rejection that says how many). Rejection text is made storable first: NUL, other
//! control characters and invalid UTF-8 are escaped, so a hostile byte cannot make the
//! rejection itself fail to store.

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

/// What one input may cost; see the module docs. Every field is a setting (`ingest_*`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest record (and line, header included) accepted, in bytes.
    pub max_record_bytes: usize,
    /// Rejections of one input kept one by one.
    pub max_rejections: usize,
    /// Most bytes an archive may expand to.
    pub max_decompressed_bytes: u64,
    /// Most an archive may expand relative to its own size.
    pub max_compression_ratio: u64,
    /// Earliest year of an accepted timestamp.
    pub min_year: i32,
    /// Latest year of an accepted timestamp.
    pub max_year: i32,
}

impl Limits {
    /// The limits the settings set.
    pub fn from_settings(s: &horizon_settings::Settings) -> Self {
        Self {
            max_record_bytes: s.ingest_max_record_bytes,
            max_rejections: s.ingest_max_rejections_per_file,
            max_decompressed_bytes: s.ingest_max_decompressed_bytes,
            max_compression_ratio: s.ingest_max_compression_ratio,
            min_year: s.ingest_min_year,
            max_year: s.ingest_max_year,
        }
    }

    /// An error naming the accepted years when `ts` is outside them.
    pub fn check_year(&self, ts: horizon_domain::Timestamp) -> Result<(), String> {
        use chrono::Datelike;
        let year = ts.year();
        if year < self.min_year || year > self.max_year {
            return Err(format!(
                "column ds: {} is outside the accepted years {} to {} \
                 (HORIZON_INGEST_MIN_YEAR / HORIZON_INGEST_MAX_YEAR)",
                ts.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                self.min_year,
                self.max_year
            ));
        }
        Ok(())
    }
}

/// `bytes` as text any database stores: valid UTF-8 is kept except NUL and other control
/// characters (tab aside), which become `\0` / `\xNN`; invalid UTF-8 bytes become `\xNN`.
pub fn storable(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\0' => out.push_str("\\0"),
                '\t' => out.push('\t'),
                c if c.is_control() && (c as u32) < 0x80 => {
                    let _ = write!(out, "\\x{:02X}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    out
}

/// What a landing needs: where to land, what to call the input, limits, the stop flag.
#[derive(Clone)]
pub struct LandCtx {
    /// The event store.
    pub events: Arc<Mutex<EventStore>>,
    /// Name of the input in rejections (`source/file`).
    pub source: String,
    /// The run the rejections belong to.
    pub run_id: Uuid,
    /// What the input may cost.
    pub limits: Limits,
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
    /// Records set aside, the first `max_rejections` of them.
    pub rejections: Vec<IngestRejection>,
    /// Every record set aside, kept or only counted.
    pub rejected: i64,
    /// Whether landing stopped early for shutdown (the input is not finished).
    pub interrupted: bool,
}

impl Landed {
    fn absorb(&mut self, other: Landed) {
        self.counts.read += other.counts.read;
        self.counts.landed += other.counts.landed;
        self.counts.last_line = other.counts.last_line;
        self.rejections.extend(other.rejections);
        self.rejected += other.rejected;
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

    /// Sets record `line` aside with `reason` (kept while under `max_rejections`, else only
    /// counted).
    fn reject(&self, out: &mut Landed, line: u64, reason: &str, raw: Option<&[u8]>) {
        out.rejected += 1;
        if out.rejections.len() >= self.limits.max_rejections {
            return;
        }
        out.rejections.push(IngestRejection {
            run_id: Some(self.run_id),
            source: storable(self.source.as_bytes()),
            line: Some(line as i64),
            reason: storable(reason.as_bytes()),
            raw: raw.map(|r| storable(&r[..r.len().min(RAW_KEEP)])),
        });
    }

    /// Adds the rejection that counts the ones not kept one by one, if any were dropped.
    pub fn summarise(&self, out: &mut Landed) {
        out.rejections.truncate(self.limits.max_rejections);
        let dropped = out.rejected - out.rejections.len() as i64;
        if dropped > 0 {
            out.rejections.push(IngestRejection {
                run_id: Some(self.run_id),
                source: storable(self.source.as_bytes()),
                line: None,
                reason: format!(
                    "{dropped} more rejected records in this input are counted but not stored \
                     one by one (HORIZON_INGEST_MAX_REJECTIONS_PER_FILE = {})",
                    self.limits.max_rejections
                ),
                raw: None,
            });
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
    let mut out = if named_zip || magic == *b"PK\x03\x04" {
        land_zip(ctx, file, format)?
    } else {
        match &ctx.progress {
            Some(bar) => land_reader(
                ctx,
                BufReader::with_capacity(1 << 20, bar.wrap_read(file)),
                format,
            )?,
            None => land_reader(ctx, BufReader::with_capacity(1 << 20, file), format)?,
        }
    };
    ctx.summarise(&mut out);
    Ok(out)
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
    let size = file
        .metadata()
        .map_err(|e| ctx.input_error(format!("cannot read: {e}")))?
        .len();
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| ctx.input_error(format!("not a readable zip archive: {e}")))?;
    // A zip bomb is refused by what its directory declares, before anything is inflated, and
    // by what inflating it actually yields, should the directory lie.
    let allowed = ctx
        .limits
        .max_decompressed_bytes
        .min(size.saturating_mul(ctx.limits.max_compression_ratio));
    let declared: u64 = (0..archive.len())
        .filter_map(|i| archive.by_index_raw(i).ok().map(|e| e.size()))
        .fold(0u64, u64::saturating_add);
    let too_big = |n: u64| {
        format!(
            "the archive expands to {n} bytes or more, beyond the {allowed} allowed for an \
             archive of {size} bytes (HORIZON_INGEST_MAX_DECOMPRESSED_BYTES = {}, \
             HORIZON_INGEST_MAX_COMPRESSION_RATIO = {})",
            ctx.limits.max_decompressed_bytes, ctx.limits.max_compression_ratio
        )
    };
    if declared > allowed {
        return Err(ctx.input_error(too_big(declared)));
    }
    let mut budget = allowed;
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
        let mut capped = Capped {
            inner: entry,
            remaining: budget,
        };
        let landed = land_reader(&sub, BufReader::with_capacity(1 << 20, &mut capped), format)
            .map_err(|e| match capped.remaining {
                0 => ctx.input_error(too_big(allowed)),
                _ => e,
            })?;
        budget = capped.remaining;
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

/// A reader that fails once more than `remaining` bytes have been read through it.
struct Capped<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 {
            // One byte more would exceed the cap: is there one?
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(
                    "the archive expands beyond its limit",
                )),
            };
        }
        let want = buf
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        self.remaining -= n as u64;
        Ok(n)
    }
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
        let read = match read_line(&mut reader, &mut buf, ctx.limits.max_record_bytes) {
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
                let reason = format!(
                    "record of {len} bytes exceeds the maximum of {}",
                    ctx.limits.max_record_bytes
                );
                ctx.reject(&mut out, line_no, &reason, None);
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
                Err(reason) => ctx.reject(&mut out, line_no, &reason, Some(trimmed)),
            },
            LineFormat::Jsonl => match parse_json_record(trimmed, &ctx.limits) {
                Ok(rows) => obs_batch.extend(rows),
                Err(reason) => ctx.reject(&mut out, line_no, &reason, Some(trimmed)),
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
fn parse_json_record(line: &[u8], limits: &Limits) -> Result<Vec<(String, String, f64)>, String> {
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
    limits.check_year(ts)?;
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

/// A reader that passes at most `max` bytes of any line: the rest of a longer line is skipped
/// up to its line break, and the line's number and full length are recorded, so the CSV
/// parser never buffers more than `max` bytes of one line however long it is.
struct LineCap<R> {
    inner: R,
    max: usize,
    /// Bytes of the current line passed on so far.
    in_line: usize,
    /// Skipping the rest of an over-long line (its full length so far).
    skipping: Option<usize>,
    /// Number of the current line, from 1.
    line: u64,
    /// Over-long lines: number and length.
    long: std::rc::Rc<std::cell::RefCell<Vec<(u64, usize)>>>,
}

impl<R: BufRead> Read for LineCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let avail = self.inner.fill_buf()?;
            if avail.is_empty() {
                if let Some(len) = self.skipping.take() {
                    self.long.borrow_mut().push((self.line, len));
                }
                return Ok(0);
            }
            if let Some(len) = self.skipping {
                match memchr::memchr(b'\n', avail) {
                    Some(i) => {
                        // Leave the line break to be passed on, ending the truncated record.
                        self.inner.consume(i);
                        self.long.borrow_mut().push((self.line, len + i));
                        self.skipping = None;
                        self.in_line = self.max;
                    }
                    None => {
                        let n = avail.len();
                        self.inner.consume(n);
                        self.skipping = Some(len + n);
                    }
                }
                continue;
            }
            let room = self.max.saturating_sub(self.in_line);
            let take = avail.len().min(buf.len());
            let (n, ends_line) = match memchr::memchr(b'\n', &avail[..take]) {
                Some(i) if i <= room => (i + 1, true),
                _ => (take.min(room), false),
            };
            if n == 0 {
                // The line reached `max` without a break: skip the rest of it.
                self.skipping = Some(self.in_line);
                continue;
            }
            buf[..n].copy_from_slice(&avail[..n]);
            self.inner.consume(n);
            if ends_line {
                self.line += 1;
                self.in_line = 0;
            } else {
                self.in_line += n;
            }
            return Ok(n);
        }
    }
}

/// Lands long-format CSV: `unique_id,ds,y` plus optional numeric covariate columns, each of
/// which becomes the series `unique_id:column` (an empty cell is no value).
pub fn land_csv<R: Read>(ctx: &LandCtx, reader: R) -> Result<Landed, ServiceError> {
    let long = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let capped = LineCap {
        inner: BufReader::with_capacity(1 << 16, reader),
        // The cut leaves the line break, so a record of exactly `max` bytes still fits.
        max: ctx.limits.max_record_bytes,
        in_line: 0,
        skipping: None,
        line: 1,
        long: long.clone(),
    };
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(capped);
    let headers = csv
        .headers()
        .map_err(|e| ctx.input_error(format!("cannot read the header line: {e}")))?
        .clone();
    if let Some((_, len)) = long.borrow().iter().find(|(line, _)| *line == 1) {
        return Err(ctx.input_error(format!(
            "the header line has {len} bytes or more, beyond the maximum of {} \
             (HORIZON_INGEST_MAX_RECORD_BYTES)",
            ctx.limits.max_record_bytes
        )));
    }
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
    // Over-long lines not yet matched with the record they cut.
    let mut long_seen = 0usize;
    loop {
        let line = csv.position().line() + 1;
        let result = csv.read_record(&mut record);
        // A record whose line was cut is rejected whatever the parser made of its first bytes.
        let cut = long.borrow().get(long_seen).copied().filter(|(at, _)| {
            result.is_err() || record.position().is_some_and(|p| *at <= p.line())
        });
        if cut.is_some() {
            long_seen += 1;
        }
        if let Some((at, len)) = cut {
            out.counts.read += 1;
            out.counts.last_line = at;
            let reason = format!(
                "record of {len} bytes or more exceeds the maximum of {}",
                ctx.limits.max_record_bytes
            );
            ctx.reject(&mut out, at, &reason, None);
            if matches!(result, Ok(false)) {
                break;
            }
            continue;
        }
        match result {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) if e.is_io_error() => {
                ctx.flush_observations(&mut batch, &mut out.counts)?;
                return Err(ctx.input_error(format!("read failed after line {line}: {e}")));
            }
            Err(e) => {
                out.counts.read += 1;
                ctx.reject(&mut out, line, &format!("{e}"), None);
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        out.counts.read += 1;
        out.counts.last_line = line;
        let raw = || record.iter().collect::<Vec<_>>().join(",");
        let bytes = record.as_byte_record().as_slice().len() + record.len();
        if bytes > ctx.limits.max_record_bytes {
            let reason = format!(
                "record of {bytes} bytes exceeds the maximum of {}",
                ctx.limits.max_record_bytes
            );
            ctx.reject(&mut out, line, &reason, None);
            continue;
        }
        if record.len() != width {
            let reason = format!("expected {width} columns, found {}", record.len());
            ctx.reject(&mut out, line, &reason, Some(raw().as_bytes()));
            continue;
        }
        let parsed = parse_row(&record[col_id], &record[col_ds], &record[col_y]).and_then(
            |(key, ts, value)| {
                ctx.limits.check_year(ts)?;
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
            Err(reason) => ctx.reject(&mut out, line, &reason, Some(raw().as_bytes())),
        }
    }
    ctx.flush_observations(&mut batch, &mut out.counts)?;
    Ok(out)
}
