//! GDELT roll-up: landed events become daily (by SQLDATE) and, for GDELT 2.0, 15-minute (by
//! DATEADDED) series per actor country — event counts in total, per CAMEO root code and per
//! quad class, mean Goldstein scale, mean tone and total mentions.
//!
//! Every bucket touched since the watermark is recomputed from all its events in the event
//! store, never incremented, so late events, duplicates and replays after a crash all converge
//! on the same values. The watermark moves only after the observations are committed.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use chrono::DateTime;
use horizon_domain::{Bounds, Frequency, SeriesKey, SeriesMeta};
use horizon_store::{
    ObservationRow, Store,
    event_store::{EventStore, GdeltAggregate, GdeltBucket},
};
use uuid::Uuid;

use super::gdelt::SLOT_SECONDS;
use crate::ServiceError;

/// Watermark of the GDELT roll-up in the event store.
pub const GDELT_WATERMARK: &str = "rollup:gdelt";
/// Buckets recomputed per shared-database write.
const BUCKETS_PER_WRITE: usize = 16;

/// The metrics of each country and bucket, with their series metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Metric {
    Events,
    Root(u8),
    Quad(u8),
    GoldsteinMean,
    ToneMean,
    Mentions,
}

impl Metric {
    fn all() -> impl Iterator<Item = Metric> {
        [Metric::Events]
            .into_iter()
            .chain((1..=20).map(Metric::Root))
            .chain((1..=4).map(Metric::Quad))
            .chain([Metric::GoldsteinMean, Metric::ToneMean, Metric::Mentions])
    }

    fn name(self) -> String {
        match self {
            Metric::Events => "events".into(),
            Metric::Root(r) => format!("events_root_{r:02}"),
            Metric::Quad(q) => format!("events_quad_{q}"),
            Metric::GoldsteinMean => "goldstein_mean".into(),
            Metric::ToneMean => "tone_mean".into(),
            Metric::Mentions => "mentions".into(),
        }
    }

    fn bounds(self) -> Bounds {
        let b = match self {
            Metric::GoldsteinMean => Bounds::new(Some(-10.0), Some(10.0)),
            Metric::ToneMean => Bounds::new(Some(-100.0), Some(100.0)),
            _ => Bounds::new(Some(0.0), None),
        };
        b.unwrap_or(Bounds::UNBOUNDED)
    }
}

/// The series key of `metric` for `country` at the bucket's frequency, e.g.
/// `gdelt.USA.daily.events_root_14`.
pub fn series_key(country: &str, bucket: GdeltBucket, metric: &str) -> String {
    let freq = match bucket {
        GdeltBucket::Day(_) => "daily",
        GdeltBucket::Slot(_) => "15min",
    };
    format!("gdelt.{country}.{freq}.{metric}")
}

fn meta(key: SeriesKey, country: &str, bucket: GdeltBucket, metric: Metric) -> SeriesMeta {
    let mut m = SeriesMeta::first_sight(key);
    m.entity = country.to_owned();
    m.metric = metric.name();
    m.frequency = Some(match bucket {
        GdeltBucket::Day(_) => Frequency::Days(1),
        GdeltBucket::Slot(_) => Frequency::Minutes(15),
    });
    m.unit = Some(
        match metric {
            Metric::Events | Metric::Root(_) | Metric::Quad(_) => "events",
            Metric::Mentions => "mentions",
            Metric::GoldsteinMean => "goldstein",
            Metric::ToneMean => "tone",
        }
        .into(),
    );
    m.bounds = metric.bounds();
    m.tags.insert("source".into(), "gdelt".into());
    m
}

/// Sums of the events of one country in one bucket: events in total, per root code, per quad
/// class, Goldstein scale, tone, mentions. An event with two different actor countries counts
/// once for each.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CountrySums {
    events: i64,
    roots: [i64; 21],
    quads: [i64; 5],
    goldstein: f64,
    tone: f64,
    mentions: i64,
}

impl CountrySums {
    /// Adds `events` events of one root code and quad class with the given sums.
    pub fn add(
        &mut self,
        events: i64,
        root_code: u8,
        quad_class: u8,
        goldstein: f64,
        tone: f64,
        mentions: i64,
    ) {
        self.events += events;
        if let Some(c) = self.roots.get_mut(root_code as usize) {
            *c += events;
        }
        if let Some(c) = self.quads.get_mut(quad_class as usize) {
            *c += events;
        }
        self.goldstein += goldstein;
        self.tone += tone;
        self.mentions += mentions;
    }

    /// The value of every metric, in the order of [`metric_names`].
    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        let n = self.events as f64;
        Metric::all().map(move |metric| match metric {
            Metric::Events => n,
            Metric::Root(r) => self.roots[r as usize] as f64,
            Metric::Quad(q) => self.quads[q as usize] as f64,
            Metric::GoldsteinMean => self.goldstein / n,
            Metric::ToneMean => self.tone / n,
            Metric::Mentions => self.mentions as f64,
        })
    }
}

/// The metric names of every country and bucket, in the order of [`CountrySums::values`].
pub fn metric_names() -> impl Iterator<Item = &'static str> {
    Metric::all().map(metric_name_static)
}

/// The value of every metric of every country in one bucket.
pub fn bucket_values(aggs: &[GdeltAggregate]) -> BTreeMap<String, Vec<(&'static str, f64)>> {
    let mut per: BTreeMap<&str, CountrySums> = BTreeMap::new();
    for a in aggs {
        per.entry(a.country.as_str()).or_default().add(
            a.events,
            a.root_code,
            a.quad_class,
            a.goldstein_sum,
            a.tone_sum,
            a.mentions,
        );
    }
    per.into_iter()
        .map(|(country, sums)| {
            (
                country.to_owned(),
                metric_names().zip(sums.values()).collect(),
            )
        })
        .collect()
}

fn metric_name_static(metric: Metric) -> &'static str {
    const ROOTS: [&str; 20] = [
        "events_root_01",
        "events_root_02",
        "events_root_03",
        "events_root_04",
        "events_root_05",
        "events_root_06",
        "events_root_07",
        "events_root_08",
        "events_root_09",
        "events_root_10",
        "events_root_11",
        "events_root_12",
        "events_root_13",
        "events_root_14",
        "events_root_15",
        "events_root_16",
        "events_root_17",
        "events_root_18",
        "events_root_19",
        "events_root_20",
    ];
    const QUADS: [&str; 4] = [
        "events_quad_1",
        "events_quad_2",
        "events_quad_3",
        "events_quad_4",
    ];
    match metric {
        Metric::Events => "events",
        Metric::Root(r) => ROOTS[(r as usize).clamp(1, 20) - 1],
        Metric::Quad(q) => QUADS[(q as usize).clamp(1, 4) - 1],
        Metric::GoldsteinMean => "goldstein_mean",
        Metric::ToneMean => "tone_mean",
        Metric::Mentions => "mentions",
    }
}

/// Series ids known to this process, per country and bucket frequency (daily or not), in
/// the order of [`metric_names`]; each series is looked up once.
#[derive(Debug, Default)]
pub struct SeriesIds(HashMap<(String, bool), Vec<Uuid>>);

impl SeriesIds {
    /// Creates (on first sight) and learns the series of every country and frequency in
    /// `wanted` that is not known yet.
    async fn learn(
        &mut self,
        store: &Store,
        wanted: impl Iterator<Item = (&str, GdeltBucket)>,
    ) -> Result<(), ServiceError> {
        let mut new: BTreeMap<(String, bool), GdeltBucket> = BTreeMap::new();
        for (country, bucket) in wanted {
            let known = (country.to_owned(), matches!(bucket, GdeltBucket::Day(_)));
            if !self.0.contains_key(&known) {
                new.entry(known).or_insert(bucket);
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        let key_of = |country: &str, bucket, metric| {
            let key = series_key(country, bucket, metric);
            SeriesKey::parse(&key).map_err(|e| ServiceError::Input {
                path: "gdelt roll-up".into(),
                reason: format!("series key {key:?}: {e}"),
            })
        };
        let mut metas = Vec::with_capacity(new.len() * 28);
        for ((country, _), bucket) in &new {
            for metric in Metric::all() {
                let key = key_of(country, *bucket, metric_name_static(metric))?;
                metas.push(meta(key, country, *bucket, metric));
            }
        }
        let found = store.ensure_series(&metas).await?;
        for ((country, daily), bucket) in new {
            let ids = metric_names()
                .map(|m| {
                    let key = key_of(&country, bucket, m)?;
                    found.get(&key).copied().ok_or_else(|| {
                        ServiceError::Internal(format!("series {key} was not created"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            self.0.insert((country, daily), ids);
        }
        Ok(())
    }

    fn get(&self, country: &str, bucket: GdeltBucket) -> Option<&[Uuid]> {
        self.0
            .get(&(country.to_owned(), matches!(bucket, GdeltBucket::Day(_))))
            .map(Vec::as_slice)
    }
}

/// The sums of every country in every bucket of one batch.
type BatchSums = Vec<(GdeltBucket, String, CountrySums)>;

/// Aggregates the buckets of one batch (all days or all slots) in one pass over their events.
fn aggregate(es: &EventStore, batch: &[GdeltBucket]) -> Result<BatchSums, ServiceError> {
    let mut days = Vec::new();
    let mut slots = Vec::new();
    for b in batch {
        match b {
            GdeltBucket::Day(d) => days.push(*d),
            GdeltBucket::Slot(s) => slots.push(*s),
        }
    }
    let mut per: HashMap<GdeltBucket, HashMap<String, CountrySums>> = HashMap::new();
    let mut add = |bucket: GdeltBucket, e: &horizon_store::event_store::GdeltScanned<'_>| {
        let countries = per.entry(bucket).or_default();
        for (i, country) in [e.actor1_country, e.actor2_country].into_iter().enumerate() {
            if country.is_empty() || (i == 1 && country == e.actor1_country) {
                continue;
            }
            let sums = match countries.get_mut(country) {
                Some(s) => s,
                None => countries.entry(country.to_owned()).or_default(),
            };
            sums.add(
                1,
                e.root_code,
                e.quad_class,
                e.goldstein,
                e.tone,
                e.mentions,
            );
        }
    };
    es.gdelt_scan(&days, &[], |e| add(GdeltBucket::Day(e.day), &e))?;
    es.gdelt_scan(&[], &slots, |e| {
        if let Some(slot) = e.slot {
            add(GdeltBucket::Slot(slot), &e);
        }
    })?;
    let mut out: BatchSums = per
        .into_iter()
        .flat_map(|(bucket, countries)| {
            countries
                .into_iter()
                .map(move |(country, sums)| (bucket, country, sums))
        })
        .collect();
    out.sort_by(|a, b| (&a.1, a.0).cmp(&(&b.1, b.0)));
    Ok(out)
}

/// Recomputes every GDELT bucket touched since the watermark and writes its observations;
/// returns how many observations were written. Buckets before `cutoff_day` (retention) are
/// skipped, as their events may be gone from the event store.
///
/// Batches of buckets are aggregated on a blocking thread one batch ahead of the database
/// writes, so reading the event store and writing the shared database overlap.
///
/// When `stop` is set the roll-up ends after the current batch without moving the watermark
/// (the next start recomputes, idempotently); `progress` shows batches on interactive runs.
pub async fn roll_up_gdelt(
    store: &Store,
    events: &Arc<Mutex<EventStore>>,
    ids: &mut SeriesIds,
    cutoff_day: Option<i64>,
    stop: &AtomicBool,
    progress: Option<&indicatif::MultiProgress>,
) -> Result<i64, ServiceError> {
    let (after, upto) = super::with_events(events, |es| {
        Ok((es.watermark(GDELT_WATERMARK)?, es.gdelt_max_seq()?))
    })
    .await?;
    if upto <= after {
        return Ok(0);
    }
    let buckets: Vec<GdeltBucket> =
        super::with_events(events, move |es| es.gdelt_buckets_touched(after, upto))
            .await?
            .into_iter()
            .filter(|b| match (b, cutoff_day) {
                (_, None) => true,
                (GdeltBucket::Day(d), Some(c)) => *d >= c,
                (GdeltBucket::Slot(s), Some(c)) => s * SLOT_SECONDS >= c * 86_400,
            })
            .collect();
    // Days and slots in separate batches: a day is usually touched again by the next file,
    // a slot rarely, and a batch of only new buckets takes the fast path of the bulk write.
    let (days, slots): (Vec<GdeltBucket>, Vec<GdeltBucket>) = buckets
        .into_iter()
        .partition(|b| matches!(b, GdeltBucket::Day(_)));
    let batches: Vec<Vec<GdeltBucket>> = days
        .chunks(BUCKETS_PER_WRITE)
        .chain(slots.chunks(BUCKETS_PER_WRITE))
        .map(<[GdeltBucket]>::to_vec)
        .collect();
    let bar = progress
        .filter(|_| batches.len() > 1)
        .map(|m| m.add(rollup_bar(batches.len())));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<BatchSums, ServiceError>>(1);
    let reader = {
        let events = events.clone();
        tokio::task::spawn_blocking(move || {
            for batch in batches {
                let sums = events
                    .lock()
                    .map_err(|_| ServiceError::Internal("event store lock poisoned".into()))
                    .and_then(|es| aggregate(&es, &batch));
                let failed = sums.is_err();
                // The receiver is gone when a write failed; nothing more to do then.
                if tx.blocking_send(sums).is_err() || failed {
                    break;
                }
            }
        })
    };
    let mut written = 0i64;
    let mut rows: Vec<ObservationRow> = Vec::new();
    while let Some(sums) = rx.recv().await {
        let sums = sums?;
        ids.learn(store, sums.iter().map(|(b, c, _)| (c.as_str(), *b)))
            .await?;
        rows.clear();
        for (bucket, country, s) in &sums {
            let secs = match bucket {
                GdeltBucket::Day(d) => d * 86_400,
                GdeltBucket::Slot(s) => s * SLOT_SECONDS,
            };
            let (Some(series), Some(ts)) =
                (ids.get(country, *bucket), DateTime::from_timestamp(secs, 0))
            else {
                continue;
            };
            rows.extend(
                series
                    .iter()
                    .zip(s.values())
                    .map(|(id, value)| ObservationRow {
                        series_id: *id,
                        ts,
                        value,
                    }),
            );
        }
        written += store.upsert_observations_bulk(&rows).await? as i64;
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        if stop.load(Ordering::Relaxed) {
            tracing::info!(
                written,
                "gdelt roll-up stopped for shutdown; the rest is rolled up on restart"
            );
            // Dropping the receiver ends the reader after its current batch.
            drop(rx);
            let _ = reader.await;
            return Ok(written);
        }
    }
    reader
        .await
        .map_err(|e| ServiceError::Internal(format!("roll-up task: {e}")))?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    super::with_events(events, move |es| es.set_watermark(GDELT_WATERMARK, upto)).await?;
    Ok(written)
}

fn rollup_bar(batches: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(batches as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "gdelt roll-up [{bar:30}] {pos}/{len} batches ({elapsed}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}
