//! Line-oriented inputs (long CSV, JSON Lines, GDELT's tab-separated export) landed record by
//! record, no line held beyond `max_record_bytes`.

use super::*;

/// Lands records read from `reader` in `format`.
pub fn land_reader<R: BufRead>(
    ctx: &LandCtx,
    reader: R,
    format: IngestFormat,
) -> Result<Landed, ServiceError> {
    match format {
        IngestFormat::Csv => land_csv(ctx, reader),
        IngestFormat::Jsonl => land_lines(ctx, reader, LineFormat::Jsonl),
        IngestFormat::Covariates => {
            land_csv_records(ctx, reader, &mut covariates::CovariateRows::default())
        }
        IngestFormat::CovariatesJsonl => land_lines(ctx, reader, LineFormat::CovariatesJsonl),
        IngestFormat::Gdelt1 => land_lines(ctx, reader, LineFormat::Gdelt(GdeltVersion::V1)),
        IngestFormat::Gdelt2 => land_lines(ctx, reader, LineFormat::Gdelt(GdeltVersion::V2)),
    }
}

#[derive(Clone, Copy)]
pub(super) enum LineFormat {
    Jsonl,
    CovariatesJsonl,
    Gdelt(GdeltVersion),
}

/// What reading one line found.
pub(super) enum Line {
    Eof,
    Ok,
    /// Longer than the maximum; the rest of it was skipped. Carries its length.
    TooLong(usize),
}

/// Reads one line into `buf` (without the line break), never holding more than `max` bytes.
pub(super) fn read_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
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

pub(super) fn land_lines<R: BufRead>(
    ctx: &LandCtx,
    mut reader: R,
    format: LineFormat,
) -> Result<Landed, ServiceError> {
    let mut out = Landed::default();
    let mut gdelt_batch: Vec<GdeltEvent> = Vec::with_capacity(ctx.batch_records.min(1 << 16));
    let mut pending = Pending::default();
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0u64;
    loop {
        let read = match read_line(&mut reader, &mut buf, ctx.limits.max_record_bytes) {
            Ok(r) => r,
            Err(e) => {
                ctx.flush_gdelt(&mut gdelt_batch, &mut out.counts)?;
                ctx.flush(&mut pending, &mut out)?;
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
                Ok(rows) => pending.observations.extend(rows),
                Err(reason) => ctx.reject(&mut out, line_no, &reason, Some(trimmed)),
            },
            LineFormat::CovariatesJsonl => {
                if let Err(reason) = covariates::parse_json(ctx, trimmed, line_no, &mut pending) {
                    ctx.reject(&mut out, line_no, &reason, Some(trimmed));
                }
            }
        }
        if gdelt_batch.len() >= ctx.batch_records || pending.len() >= ctx.batch_records {
            ctx.flush_gdelt(&mut gdelt_batch, &mut out.counts)?;
            ctx.flush(&mut pending, &mut out)?;
            if ctx.stopping() {
                out.interrupted = true;
                return Ok(out);
            }
        }
    }
    ctx.flush_gdelt(&mut gdelt_batch, &mut out.counts)?;
    ctx.flush(&mut pending, &mut out)?;
    if line_no <= 1 && out.counts.read == 0 {
        return Err(ctx.input_error("the input is empty".into()));
    }
    Ok(out)
}

pub(super) fn landed_row(
    key: &str,
    ts: horizon_domain::Timestamp,
    value: f64,
) -> (String, String, f64) {
    (
        key.to_owned(),
        ts.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        value,
    )
}

/// A JSON Lines record: `unique_id`, `ds` (text or integer), `y`, and optional numeric
/// covariates, each of which becomes the series `unique_id:name`.
pub(super) fn parse_json_record(
    line: &[u8],
    limits: &Limits,
) -> Result<Vec<(String, String, f64)>, String> {
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
pub(super) fn covariate_key(key: &str, name: &str) -> Result<String, String> {
    let cov = format!("{key}:{}", name.trim());
    horizon_domain::SeriesKey::parse(&cov)
        .map(|k| k.to_string())
        .map_err(|e| format!("covariate {name:?}: {e}"))
}

/// A reader that passes at most `max` bytes of any line: the rest of a longer line is skipped
/// up to its line break, and the line's number and full length are recorded, so the CSV
/// parser never buffers more than `max` bytes of one line however long it is.
pub(super) struct LineCap<R> {
    pub(super) inner: R,
    pub(super) max: usize,
    /// Bytes of the current line passed on so far.
    pub(super) in_line: usize,
    /// Skipping the rest of an over-long line (its full length so far).
    pub(super) skipping: Option<usize>,
    /// Number of the current line, from 1.
    pub(super) line: u64,
    /// Over-long lines: number and length.
    pub(super) long: std::rc::Rc<std::cell::RefCell<Vec<(u64, usize)>>>,
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

/// How the records of one CSV format become pending rows: the header is read first, then
/// each record of the header's width.
pub(super) trait CsvRecords {
    /// Finds the columns; the error is the whole input's (named in its run).
    fn header(&mut self, ctx: &LandCtx, headers: &csv::StringRecord) -> Result<(), ServiceError>;
    /// Adds the rows of one record; the error is the record's rejection reason.
    fn parse(
        &mut self,
        ctx: &LandCtx,
        record: &csv::StringRecord,
        line: u64,
        pending: &mut Pending,
    ) -> Result<(), String>;
}

/// Long-format CSV: `unique_id,ds,y` plus optional numeric covariate columns, each of which
/// becomes the series `unique_id:column` (an empty cell is no value).
#[derive(Default)]
pub(super) struct ObservationRows {
    id: usize,
    ds: usize,
    y: usize,
    covariates: Vec<(usize, String)>,
}

/// A header cell without spaces or a byte-order mark.
pub(super) fn clean(h: &str) -> String {
    h.trim().trim_start_matches('\u{feff}').to_owned()
}

/// The position of column `name` (any case), or an error naming what the header has.
pub(super) fn column(
    ctx: &LandCtx,
    headers: &csv::StringRecord,
    name: &str,
    expected: &str,
) -> Result<usize, ServiceError> {
    headers
        .iter()
        .position(|h| clean(h).eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            ctx.input_error(format!(
                "the header has no column {name:?} (found {:?}); expected {expected}",
                headers.iter().collect::<Vec<_>>()
            ))
        })
}

impl CsvRecords for ObservationRows {
    fn header(&mut self, ctx: &LandCtx, headers: &csv::StringRecord) -> Result<(), ServiceError> {
        let expected = "unique_id,ds,y";
        self.id = column(ctx, headers, "unique_id", expected)?;
        self.ds = column(ctx, headers, "ds", expected)?;
        self.y = column(ctx, headers, "y", expected)?;
        let fixed = [self.id, self.ds, self.y];
        self.covariates = headers
            .iter()
            .enumerate()
            .filter(|(i, _)| !fixed.contains(i))
            .map(|(i, h)| (i, clean(h)))
            .collect();
        Ok(())
    }

    fn parse(
        &mut self,
        ctx: &LandCtx,
        record: &csv::StringRecord,
        _line: u64,
        pending: &mut Pending,
    ) -> Result<(), String> {
        let (key, ts, value) = parse_row(&record[self.id], &record[self.ds], &record[self.y])?;
        ctx.limits.check_year(ts)?;
        let mut rows = vec![landed_row(key.as_str(), ts, value)];
        for (i, name) in &self.covariates {
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
        pending.observations.extend(rows);
        Ok(())
    }
}

/// Lands long-format CSV: `unique_id,ds,y` plus optional numeric covariate columns, each of
/// which becomes the series `unique_id:column` (an empty cell is no value).
pub fn land_csv<R: Read>(ctx: &LandCtx, reader: R) -> Result<Landed, ServiceError> {
    land_csv_records(ctx, reader, &mut ObservationRows::default())
}

/// Lands CSV whose records `rows` parses, no line held beyond `max_record_bytes`.
pub(super) fn land_csv_records<R: Read>(
    ctx: &LandCtx,
    reader: R,
    rows: &mut dyn CsvRecords,
) -> Result<Landed, ServiceError> {
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
    rows.header(ctx, &headers)?;
    let width = headers.len();

    let mut out = Landed::default();
    out.counts.last_line = 1;
    let mut pending = Pending::default();
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
                ctx.flush(&mut pending, &mut out)?;
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
        match rows.parse(ctx, &record, line, &mut pending) {
            Ok(()) => {
                if pending.len() >= ctx.batch_records {
                    ctx.flush(&mut pending, &mut out)?;
                    if ctx.stopping() {
                        out.interrupted = true;
                        return Ok(out);
                    }
                }
            }
            Err(reason) => ctx.reject(&mut out, line, &reason, Some(raw().as_bytes())),
        }
    }
    ctx.flush(&mut pending, &mut out)?;
    Ok(out)
}
