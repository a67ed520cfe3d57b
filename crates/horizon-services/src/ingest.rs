//! Ingest of long-format files (`unique_id,ds,y`): each good record is landed in the event
//! store, then rolled up into `observations`; each bad record is set aside in
//! `ingest_rejections` with its line number and the reason, and the rows around it are kept.
//! Every call is one `ingest_runs` row.
//!
//! The daemon ([`daemon`]) does the same for configured sources — watched directories and
//! HTTP feeds — in the formats of [`source`], including GDELT exports ([`gdelt`]), and rolls
//! GDELT events up into per-country series ([`rollup`]).

use std::{
    collections::HashMap,
    io::Read,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use horizon_domain::{
    Bounds, DomainError, Frequency, IngestRejection, IngestRun, IngestStatus, SeriesAttributes,
    SeriesKey, SeriesMeta, Threshold, Timestamp, VintageValue,
};
use horizon_settings::{IngestFormat, Settings};
use horizon_store::{ObservationRow, Store, StoreError, event_store::EventStore};
use uuid::Uuid;

use crate::ServiceError;

pub mod daemon;
pub mod gdelt;
pub mod parquet;
pub mod rollup;
pub mod source;

pub use source::check_vintage_lead;

/// Records rolled up per shared-database batch.
const ROLLUP_BATCH: usize = 20_000;
/// Watermark of the observation roll-up in the event store.
const ROLLUP_WATERMARK: &str = "rollup:observations";
/// Watermark of the covariate vintage roll-up in the event store.
const VINTAGE_WATERMARK: &str = "rollup:vintages";

/// What one ingest call did.
#[derive(Debug, Clone)]
pub struct IngestReport {
    /// The `ingest_runs` row.
    pub run: IngestRun,
    /// The records set aside (also stored in `ingest_rejections`).
    pub rejections: Vec<IngestRejection>,
    /// The series the roll-up created (first sight: default metadata).
    pub created: CreatedSeries,
}

/// At most this many created series are listed by key; more are counted.
pub const CREATED_LISTED: usize = 1_000;

/// The series a roll-up created: the first [`CREATED_LISTED`] keys, in order of creation, and
/// how many in all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreatedSeries {
    /// Their keys (at most [`CREATED_LISTED`]).
    pub keys: Vec<SeriesKey>,
    /// How many were created.
    pub count: u64,
}

impl CreatedSeries {
    fn note(&mut self, key: SeriesKey) {
        self.count += 1;
        if self.keys.len() < CREATED_LISTED {
            self.keys.push(key);
        }
    }
}

/// Ingests the long-format CSV file at `path`.
pub async fn ingest_csv_file(
    store: &Store,
    settings: &Settings,
    path: &Path,
) -> Result<IngestReport, ServiceError> {
    ingest_file(store, settings, path, IngestFormat::Csv).await
}

/// Ingests the file at `path` in `format`.
pub async fn ingest_file(
    store: &Store,
    settings: &Settings,
    path: &Path,
    format: IngestFormat,
) -> Result<IngestReport, ServiceError> {
    let input = |reason: String| ServiceError::Input {
        path: path.display().to_string(),
        reason,
    };
    let mut file = std::fs::File::open(path).map_err(|e| input(format!("cannot open: {e}")))?;
    let source = format!("file:{}", path.display());
    // A Parquet file (by its magic, whatever its name) in the long format goes in as its rows.
    let reader: Box<dyn Read + Send> =
        if parquet::is_parquet(&mut file).map_err(|e| input(format!("cannot read: {e}")))? {
            if format != IngestFormat::Csv {
                return Err(input(format!(
                    "a Parquet file is read in the long format (unique_id,ds,y) only, not as \
                     {format:?}"
                )));
            }
            Box::new(parquet::CsvRows::open(file, &source)?)
        } else {
            Box::new(file)
        };
    ingest_reader(store, settings, &source, reader, format).await
}

/// Ingests long-format CSV read from `reader`; `source` names it in runs and rejections.
pub async fn ingest_csv(
    store: &Store,
    settings: &Settings,
    source: &str,
    reader: Box<dyn Read + Send>,
) -> Result<IngestReport, ServiceError> {
    ingest_reader(store, settings, source, reader, IngestFormat::Csv).await
}

/// Asks `store` whether a target series exists, each key once per input (a covariate file
/// names few targets many times). Called from landing threads, off the async workers.
pub fn target_check(store: &Store) -> source::TargetCheck {
    let store = store.clone();
    let handle = tokio::runtime::Handle::current();
    let known: Mutex<HashMap<String, bool>> = Mutex::new(HashMap::new());
    let poisoned = || ServiceError::Internal("target cache lock poisoned".into());
    Arc::new(move |key: &str| {
        if let Some(&found) = known.lock().map_err(|_| poisoned())?.get(key) {
            return Ok(found);
        }
        let parsed = SeriesKey::parse(key).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let found = match handle.block_on(store.series_by_key(&parsed)) {
            Ok(_) => true,
            Err(StoreError::NotFound { .. }) => false,
            Err(e) => return Err(e.into()),
        };
        known
            .lock()
            .map_err(|_| poisoned())?
            .insert(key.to_owned(), found);
        Ok(found)
    })
}

/// Ingests records in `format` read from `reader`; `source` names it in runs and rejections.
pub async fn ingest_reader(
    store: &Store,
    settings: &Settings,
    source: &str,
    reader: Box<dyn Read + Send>,
    format: IngestFormat,
) -> Result<IngestReport, ServiceError> {
    let mut run = store.start_ingest_run(source).await?;
    tracing::info!(source, run_id = %run.id, ?format, "ingest started");
    let events = open_event_store(settings.event_store_path.clone()).await?;
    let landing = {
        let ctx = source::LandCtx {
            events: events.clone(),
            source: source.to_owned(),
            run_id: run.id,
            limits: source::Limits::from_settings(settings),
            batch_records: settings.ingest_batch_records,
            stop: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            progress: None,
            targets: format.is_covariates().then(|| target_check(store)),
            issued_at: None,
        };
        tokio::task::spawn_blocking(move || {
            let mut out = source::land_reader(
                &ctx,
                std::io::BufReader::with_capacity(1 << 16, reader),
                format,
            )?;
            ctx.summarise(&mut out);
            Ok::<_, ServiceError>(out)
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("landing task: {e}")))?
    };
    let mut created = CreatedSeries::default();
    let (outcome, rejections, rejected) = match landing {
        Ok(landed) => (Ok(landed.counts), landed.rejections, landed.rejected),
        Err(e) => (Err(e), Vec::new(), 0),
    };
    store.insert_rejections(&rejections).await?;
    match outcome {
        Ok(counts) => {
            run.rows_read = counts.read;
            run.rows_landed = counts.landed;
            run.rows_rejected = rejected;
            run.checkpoint = Some(format!("line:{}", counts.last_line));
            match roll_up_noting(store, &events, &mut created).await {
                Ok(rolled) => {
                    run.rows_rolled_up = rolled;
                    run.status = IngestStatus::Succeeded;
                }
                Err(e) => {
                    run.status = IngestStatus::Failed;
                    run.error = Some(e.to_string());
                }
            }
        }
        Err(e) => {
            run.status = IngestStatus::Failed;
            run.error = Some(e.to_string());
        }
    }
    store.finish_ingest_run(&run).await?;
    tracing::info!(
        source,
        run_id = %run.id,
        status = %run.status,
        read = run.rows_read,
        landed = run.rows_landed,
        rolled_up = run.rows_rolled_up,
        rejected = run.rows_rejected,
        "ingest finished"
    );
    if let Some(err) = &run.error {
        return Err(ServiceError::Input {
            path: source.to_owned(),
            reason: err.clone(),
        });
    }
    Ok(IngestReport {
        run,
        rejections,
        created,
    })
}

/// Opens the event store at `path` off the async threads.
pub async fn open_event_store(path: PathBuf) -> Result<Arc<Mutex<EventStore>>, ServiceError> {
    let es = tokio::task::spawn_blocking(move || EventStore::open(&path))
        .await
        .map_err(|e| ServiceError::Internal(format!("opening the event store: {e}")))??;
    Ok(Arc::new(Mutex::new(es)))
}

/// Parses one record's fields; the error names the column and the value.
pub fn parse_row(id: &str, ds: &str, y: &str) -> Result<(SeriesKey, Timestamp, f64), String> {
    let (key, ts) = parse_id_ds(id, ds)?;
    let value: f64 = y
        .trim()
        .parse()
        .map_err(|_| format!("column y: {y:?} is not a number"))?;
    if !value.is_finite() {
        return Err(format!("column y: {y:?} is not a finite number"));
    }
    Ok((key, ts, value))
}

/// Parses a record's `unique_id` and `ds`; the error names the column and the value.
pub fn parse_id_ds(id: &str, ds: &str) -> Result<(SeriesKey, Timestamp), String> {
    let key = SeriesKey::parse(id.trim()).map_err(|e| format!("column unique_id: {e}"))?;
    let ts = parse_timestamp(ds.trim()).ok_or_else(|| {
        format!(
            "column ds: {ds:?} is not a date (YYYY-MM-DD), a datetime with an offset \
             (RFC 3339) or an integer Unix time"
        )
    })?;
    Ok((key, ts))
}

/// Dates are midnight UTC; datetimes without an offset are taken as UTC; integers are Unix
/// seconds.
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(dt) = DateTime::parse_from_str(text, fmt) {
            return Some(dt.with_timezone(&Utc));
        }
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(text, fmt) {
            return Some(dt.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|dt| dt.and_utc());
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<i64>()
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0));
    }
    None
}

/// Rolls landed observations after the watermark into the shared database; returns how many.
/// The watermark moves only after the rows are committed there, so a crash re-rolls them —
/// harmlessly, as the writes are upserts.
pub async fn roll_up(store: &Store, events: &Arc<Mutex<EventStore>>) -> Result<i64, ServiceError> {
    roll_up_noting(store, events, &mut CreatedSeries::default()).await
}

/// [`roll_up`], noting in `created` the series it created.
async fn roll_up_noting(
    store: &Store,
    events: &Arc<Mutex<EventStore>>,
    created: &mut CreatedSeries,
) -> Result<i64, ServiceError> {
    let mut ids: HashMap<String, Uuid> = HashMap::new();
    let mut total = 0;
    loop {
        let batch = with_events(events, |es| {
            es.observations_after(es.watermark(ROLLUP_WATERMARK)?, ROLLUP_BATCH)
        })
        .await?;
        let Some(last_seq) = batch.last().map(|o| o.seq) else {
            break;
        };
        ensure_ids(
            store,
            &mut ids,
            created,
            batch.iter().map(|o| o.series_key.as_str()),
        )
        .await?;
        let rows: Vec<ObservationRow> = batch
            .iter()
            .filter_map(|o| {
                let ts = DateTime::parse_from_rfc3339(&o.ts)
                    .ok()?
                    .with_timezone(&Utc);
                Some(ObservationRow {
                    series_id: *ids.get(&o.series_key)?,
                    ts,
                    value: o.value,
                })
            })
            .collect();
        store.upsert_observations_bulk(&rows).await?;
        total += rows.len() as i64;
        with_events(events, move |es| {
            es.set_watermark(ROLLUP_WATERMARK, last_seq)
        })
        .await?;
    }
    total += roll_up_vintages(store, events, &mut ids, created).await?;
    Ok(total)
}

/// Runs `f` on the event store off the async threads.
async fn with_events<T: Send + 'static>(
    events: &Arc<Mutex<EventStore>>,
    f: impl FnOnce(&EventStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ServiceError> {
    let events = events.clone();
    tokio::task::spawn_blocking(move || {
        let es = events
            .lock()
            .map_err(|_| ServiceError::Internal("event store lock poisoned".into()))?;
        f(&es).map_err(ServiceError::from)
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("roll-up task: {e}")))?
}

/// Adds to `ids` the series of `keys` not in it yet, creating those not stored (first-sight
/// metadata) and noting them in `created`.
async fn ensure_ids<'a>(
    store: &Store,
    ids: &mut HashMap<String, Uuid>,
    created: &mut CreatedSeries,
    keys: impl Iterator<Item = &'a str>,
) -> Result<(), ServiceError> {
    let new_keys: Vec<SeriesKey> = keys
        .filter(|k| !ids.contains_key(*k))
        .filter_map(|k| SeriesKey::parse(k).ok())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if new_keys.is_empty() {
        return Ok(());
    }
    let refs: Vec<&SeriesKey> = new_keys.iter().collect();
    let known = store.series_ids_by_keys(&refs).await?;
    let missing: Vec<SeriesMeta> = new_keys
        .iter()
        .filter(|k| !known.contains_key(*k))
        .cloned()
        .map(SeriesMeta::first_sight)
        .collect();
    for (key, id) in known {
        ids.insert(key.to_string(), id);
    }
    if !missing.is_empty() {
        for m in &missing {
            created.note(m.key.clone());
        }
        for (key, id) in store.ensure_series(&missing).await? {
            ids.insert(key.to_string(), id);
        }
    }
    Ok(())
}

/// Rolls landed covariate vintages after their watermark into `covariate_vintages`, creating
/// the covariate series on first sight; returns how many values were new there. A value the
/// shared database holds with another value (written through the API) is kept as stored and
/// logged.
async fn roll_up_vintages(
    store: &Store,
    events: &Arc<Mutex<EventStore>>,
    ids: &mut HashMap<String, Uuid>,
    created: &mut CreatedSeries,
) -> Result<i64, ServiceError> {
    let mut total = 0;
    loop {
        let batch = with_events(events, |es| {
            es.vintages_after(es.watermark(VINTAGE_WATERMARK)?, ROLLUP_BATCH)
        })
        .await?;
        let Some(last_seq) = batch.last().map(|v| v.seq) else {
            break;
        };
        ensure_ids(
            store,
            ids,
            created,
            batch.iter().map(|v| v.series_key.as_str()),
        )
        .await?;
        let parse = |t: &str| {
            DateTime::parse_from_rfc3339(t)
                .ok()
                .map(|d| d.with_timezone(&Utc))
        };
        let rows: Vec<(Uuid, VintageValue)> = batch
            .iter()
            .filter_map(|v| {
                Some((
                    *ids.get(&v.series_key)?,
                    VintageValue {
                        issued_at: parse(&v.issued_at)?,
                        ts: parse(&v.ts)?,
                        value: v.value,
                    },
                ))
            })
            .collect();
        let written = store.insert_vintages(&rows).await?;
        for c in written.conflicts.iter().take(20) {
            tracing::warn!(
                series_id = %c.series_id,
                issued_at = %c.sent.issued_at,
                ts = %c.sent.ts,
                stored = c.stored,
                landed = c.sent.value,
                "vintage value stored with another value; the stored one is kept"
            );
        }
        total += written.inserted as i64;
        with_events(events, move |es| {
            es.set_watermark(VINTAGE_WATERMARK, last_seq)
        })
        .await?;
    }
    Ok(total)
}

/// Loads series metadata from CSV with the header
/// `key,entity,metric,frequency,unit,lower,upper,thresholds` and the attribute columns
/// `latitude,longitude,altitude,capacity,tilt,azimuth,timezone,country` (the first column may
/// be called `unique_id`; every column but the key may be absent or empty; `thresholds` is a
/// `;`-separated list of numbers crossed above, `>number` or `<number`; a capacity without an upper bound is the upper bound). Creates or
/// updates each series; returns how many.
pub async fn load_series_csv(
    store: &Store,
    source: &str,
    reader: Box<dyn Read + Send>,
) -> Result<usize, ServiceError> {
    let metas = tokio::task::spawn_blocking({
        let source = source.to_owned();
        move || parse_series_csv(&source, reader)
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("series file task: {e}")))??;
    for meta in &metas {
        store.upsert_series(meta).await?;
    }
    Ok(metas.len())
}

fn parse_series_csv(
    source: &str,
    reader: Box<dyn Read + Send>,
) -> Result<Vec<SeriesMeta>, ServiceError> {
    let mut csv = csv::ReaderBuilder::new().from_reader(reader);
    let bad = |line: u64, column: &str, reason: String| ServiceError::Input {
        path: source.to_owned(),
        reason: format!("line {line}, column {column}: {reason}"),
    };
    let headers = csv
        .headers()
        .map_err(|e| bad(1, "-", e.to_string()))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let key_col = col("key").or_else(|| col("unique_id")).ok_or_else(|| {
        bad(
            1,
            "key",
            "the header has no key (or unique_id) column".into(),
        )
    })?;
    let mut out = Vec::new();
    for record in csv.records() {
        let record =
            record.map_err(|e| bad(e.position().map_or(0, |p| p.line()), "-", e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |name: &str| {
            col(name)
                .and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let key = SeriesKey::parse(record.get(key_col).unwrap_or("").trim())
            .map_err(|e| bad(line, "key", e.to_string()))?;
        let mut meta = SeriesMeta::first_sight(key);
        if let Some(v) = field("entity") {
            meta.entity = v.to_owned();
        }
        if let Some(v) = field("metric") {
            meta.metric = v.to_owned();
        }
        if let Some(v) = field("frequency") {
            meta.frequency = Some(
                v.parse::<Frequency>()
                    .map_err(|e| bad(line, "frequency", e.to_string()))?,
            );
        }
        meta.unit = field("unit").map(str::to_owned);
        let number = |name: &str| {
            field(name)
                .map(|v| {
                    v.parse::<f64>()
                        .map_err(|_| bad(line, name, format!("{v:?} is not a number")))
                })
                .transpose()
        };
        meta.bounds = Bounds::new(number("lower")?, number("upper")?)
            .map_err(|e| bad(line, "lower/upper", e.to_string()))?;
        if let Some(t) = field("thresholds") {
            meta.thresholds = Threshold::parse_list(t).map_err(|e| {
                let DomainError::Invalid { reason, .. } = e;
                bad(line, "thresholds", reason)
            })?;
        }
        meta.attributes = SeriesAttributes::from_fields(field).map_err(|e| {
            let DomainError::Invalid { what, reason } = e;
            bad(line, what, reason)
        })?;
        if meta.bounds.upper().is_none()
            && let Some(capacity) = meta.attributes.capacity
        {
            // A plant's capacity bounds its output unless an upper bound says otherwise.
            meta.bounds = Bounds::new(meta.bounds.lower().or(Some(0.0)), Some(capacity))
                .map_err(|e| bad(line, "capacity", e.to_string()))?;
        }
        out.push(meta);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
