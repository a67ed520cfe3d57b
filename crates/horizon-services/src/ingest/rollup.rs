//! GDELT roll-up: landed events become daily (by SQLDATE) and, for GDELT 2.0, 15-minute (by
//! DATEADDED) series per actor country — event counts in total, per CAMEO root code and per
//! quad class, mean Goldstein scale, mean tone and total mentions.
//!
//! Every bucket touched since the watermark is recomputed from all its events in the event
//! store, never incremented, so late events, duplicates and replays after a crash all converge
//! on the same values. The watermark moves only after the observations are committed.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
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

/// Sums of one country in one bucket: events, per root code, per quad class, Goldstein, tone,
/// mentions.
type CountrySums = (i64, [i64; 21], [i64; 5], f64, f64, i64);

/// The value of every metric of every country in one bucket.
pub fn bucket_values(aggs: &[GdeltAggregate]) -> BTreeMap<String, Vec<(&'static str, f64)>> {
    let mut per: BTreeMap<&str, CountrySums> = BTreeMap::new();
    for a in aggs {
        let e = per
            .entry(a.country.as_str())
            .or_insert((0, [0; 21], [0; 5], 0.0, 0.0, 0));
        e.0 += a.events;
        if let Some(c) = e.1.get_mut(a.root_code as usize) {
            *c += a.events;
        }
        if let Some(c) = e.2.get_mut(a.quad_class as usize) {
            *c += a.events;
        }
        e.3 += a.goldstein_sum;
        e.4 += a.tone_sum;
        e.5 += a.mentions;
    }
    per.into_iter()
        .map(|(country, (n, roots, quads, g, t, m))| {
            let values = Metric::all()
                .map(|metric| {
                    let v = match metric {
                        Metric::Events => n as f64,
                        Metric::Root(r) => roots[r as usize] as f64,
                        Metric::Quad(q) => quads[q as usize] as f64,
                        Metric::GoldsteinMean => g / n as f64,
                        Metric::ToneMean => t / n as f64,
                        Metric::Mentions => m as f64,
                    };
                    (metric_name_static(metric), v)
                })
                .collect();
            (country.to_owned(), values)
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

fn metric_of(name: &str) -> Metric {
    Metric::all()
        .find(|m| metric_name_static(*m) == name)
        .unwrap_or(Metric::Events)
}

/// Series ids known to this process, so each series is looked up once.
#[derive(Debug, Default)]
pub struct SeriesIds(HashMap<String, Uuid>);

async fn blocking<T: Send + 'static>(
    events: &Arc<Mutex<EventStore>>,
    f: impl FnOnce(&EventStore) -> Result<T, horizon_store::StoreError> + Send + 'static,
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

/// Recomputes every GDELT bucket touched since the watermark and writes its observations;
/// returns how many observations were written. Buckets before `cutoff_day` (retention) are
/// skipped, as their events may be gone from the event store.
pub async fn roll_up_gdelt(
    store: &Store,
    events: &Arc<Mutex<EventStore>>,
    ids: &mut SeriesIds,
    cutoff_day: Option<i64>,
) -> Result<i64, ServiceError> {
    let (after, upto) = blocking(events, |es| {
        Ok((es.watermark(GDELT_WATERMARK)?, es.gdelt_max_seq()?))
    })
    .await?;
    if upto <= after {
        return Ok(0);
    }
    let buckets: Vec<GdeltBucket> =
        blocking(events, move |es| es.gdelt_buckets_touched(after, upto))
            .await?
            .into_iter()
            .filter(|b| match (b, cutoff_day) {
                (_, None) => true,
                (GdeltBucket::Day(d), Some(c)) => *d >= c,
                (GdeltBucket::Slot(s), Some(c)) => s * SLOT_SECONDS >= c * 86_400,
            })
            .collect();
    let mut written = 0i64;
    for chunk in buckets.chunks(BUCKETS_PER_WRITE) {
        let chunk = chunk.to_vec();
        let aggs = blocking(events, move |es| {
            chunk
                .into_iter()
                .map(|b| Ok((b, es.gdelt_aggregate(b)?)))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
        let mut points: Vec<(String, GdeltBucket, &'static str, String, f64)> = Vec::new();
        for (bucket, aggs) in &aggs {
            for (country, values) in bucket_values(aggs) {
                for (metric, v) in values {
                    points.push((
                        series_key(&country, *bucket, metric),
                        *bucket,
                        metric,
                        country.clone(),
                        v,
                    ));
                }
            }
        }
        let new: Vec<SeriesMeta> = points
            .iter()
            .filter(|p| !ids.0.contains_key(&p.0))
            .filter_map(|p| {
                let key = SeriesKey::parse(&p.0).ok()?;
                Some((p.0.clone(), meta(key, &p.3, p.1, metric_of(p.2))))
            })
            .collect::<BTreeMap<_, _>>()
            .into_values()
            .collect();
        if !new.is_empty() {
            for (key, id) in store.ensure_series(&new).await? {
                ids.0.insert(key.to_string(), id);
            }
        }
        let rows: Vec<ObservationRow> = points
            .iter()
            .filter_map(|(key, bucket, _, _, v)| {
                let secs = match bucket {
                    GdeltBucket::Day(d) => d * 86_400,
                    GdeltBucket::Slot(s) => s * SLOT_SECONDS,
                };
                Some(ObservationRow {
                    series_id: *ids.0.get(key)?,
                    ts: DateTime::from_timestamp(secs, 0)?,
                    value: *v,
                })
            })
            .collect();
        written += store.upsert_observations_bulk(&rows).await? as i64;
    }
    blocking(events, move |es| es.set_watermark(GDELT_WATERMARK, upto)).await?;
    Ok(written)
}
