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

mod archive;
mod covariates;
mod records;

use archive::*;
pub use covariates::{check_lead as check_vintage_lead, issued_at_from_name};
pub use records::{land_csv, land_reader};

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
    /// Longest lead of a covariate vintage value, in days.
    pub max_vintage_lead_days: u32,
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
            max_vintage_lead_days: s.ingest_max_vintage_lead_days,
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
    /// Covariate formats: whether a target series exists (unknown targets are rejected).
    pub targets: Option<TargetCheck>,
    /// Covariate formats: the issue instant of every row without an `issued_at` of its own
    /// (a source's `issued_at_pattern` read off the file name).
    pub issued_at: Option<horizon_domain::Timestamp>,
}

/// Answers whether a series key names a stored series.
pub type TargetCheck = Arc<dyn Fn(&str) -> Result<bool, ServiceError> + Send + Sync>;

/// Records parsed and not yet landed: observations `(key, ts, value)` and covariate vintage
/// values `(key, issued_at, ts, value)` with the line each came from.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) observations: Vec<(String, String, f64)>,
    pub(super) vintages: Vec<(String, String, String, f64)>,
    pub(super) vintage_lines: Vec<u64>,
}

impl Pending {
    pub(super) fn len(&self) -> usize {
        self.observations.len() + self.vintages.len()
    }
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
    pub(crate) fn input_error(&self, reason: String) -> ServiceError {
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

    /// Lands what is pending; a vintage value stored before with another value is rejected
    /// with its line.
    fn flush(&self, pending: &mut Pending, out: &mut Landed) -> Result<(), ServiceError> {
        self.flush_observations(&mut pending.observations, &mut out.counts)?;
        if pending.vintages.is_empty() {
            return Ok(());
        }
        let (landed, conflicts) = self.lock()?.land_vintages(&pending.vintages)?;
        out.counts.landed += landed as i64;
        for (i, stored) in conflicts {
            let (key, issued_at, ts, value) = &pending.vintages[i];
            let reason = format!(
                "vintage already stored with another value: {key} issued at {issued_at} for \
                 {ts} is {stored}, this record says {value}"
            );
            self.reject(out, pending.vintage_lines[i], &reason, None);
        }
        pending.vintages.clear();
        pending.vintage_lines.clear();
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
    } else if magic == *b"PAR1" {
        // Parquet in the long format: its rows as the CSV lines the landing reads.
        if format != IngestFormat::Csv {
            return Err(ctx.input_error(format!(
                "a Parquet file is read in the long format (unique_id,ds,y) only, not as {format:?}"
            )));
        }
        let rows = crate::ingest::parquet::CsvRows::open(file, &ctx.source)?;
        land_reader(ctx, BufReader::with_capacity(1 << 16, rows), format)?
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
