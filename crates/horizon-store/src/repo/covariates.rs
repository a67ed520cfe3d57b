//! Covariate vintages: forecasts of a covariate series, one row per (series, issue, instant),
//! kept apart from its observations. A re-sent identical vintage changes nothing; the same
//! (series, issue, instant) with another value is refused, so the record of what a forecast
//! used stays true.

use std::collections::HashMap;

use horizon_domain::{Timestamp, VintageValue};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use crate::{
    Store, StoreError,
    codec::{inserted as inserted_rows, micros},
    entities::covariate_vintages as e,
};

// 4 bound parameters per row.
const WRITE_BATCH: usize = 5_000;

/// A vintage value sent again with a different value than the stored one.
#[derive(Debug, Clone, PartialEq)]
pub struct VintageConflict {
    /// The covariate series.
    pub series_id: Uuid,
    /// The value sent.
    pub sent: VintageValue,
    /// The value stored.
    pub stored: f64,
}

/// What writing vintages did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VintageWrite {
    /// Rows new to the store.
    pub inserted: u64,
    /// Rows refused: stored already with another value (nothing was changed for them).
    pub conflicts: Vec<VintageConflict>,
}

/// A covariate's latest vintage: when it was issued and the instants it covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VintageSummary {
    /// When it was issued.
    pub issued_at: Timestamp,
    /// The first instant it covers.
    pub first: Timestamp,
    /// The last instant it covers.
    pub last: Timestamp,
    /// How many values it has.
    pub values: u64,
}

/// Which vintage values a forecast of one covariate reads: for instants in `[from, first)`
/// (the history) the latest issued at or before `instant − lead`; for instants in
/// `[first, to]` (the horizon) those of the vintage issued at `latest`, where `latest` is the
/// last issued at or before the run's as-of and `lead = first − latest`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VintageWindow {
    /// The covariate series.
    pub series_id: Uuid,
    /// The first history instant.
    pub from: Timestamp,
    /// The first horizon instant.
    pub first: Timestamp,
    /// The last horizon instant.
    pub to: Timestamp,
}

/// The values [`Store::vintages_in_force`] selected for one covariate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InForce {
    /// The last vintage issued at or before as-of (`None`: the covariate has none).
    pub latest: Option<Timestamp>,
    /// One value per instant, oldest first (instants with no vintage value are absent).
    pub values: Vec<horizon_domain::Observation>,
}

impl Store {
    /// For each window, the covariate's vintage values in force, one per instant, without
    /// look-ahead: nothing issued after `as_of` is read (see [`VintageWindow`]). On
    /// PostgreSQL one query finds each covariate's latest issue and one binary `COPY` per 500
    /// covariates streams the selected values; on SQLite the vintages are read and selected
    /// here. Both return the same values.
    pub async fn vintages_in_force(
        &self,
        windows: &[VintageWindow],
        as_of: Timestamp,
    ) -> Result<HashMap<Uuid, InForce>, StoreError> {
        let mut out: HashMap<Uuid, InForce> = HashMap::with_capacity(windows.len());
        for chunk in windows.chunks(500) {
            let ids: Vec<Uuid> = chunk.iter().map(|w| w.series_id).collect();
            let latest = self.latest_issues(&ids, as_of).await?;
            let with: Vec<(VintageWindow, Timestamp)> = chunk
                .iter()
                .filter_map(|w| latest.get(&w.series_id).map(|l| (*w, *l)))
                .collect();
            for w in chunk {
                out.insert(
                    w.series_id,
                    InForce {
                        latest: latest.get(&w.series_id).copied(),
                        values: Vec::new(),
                    },
                );
            }
            if with.is_empty() {
                continue;
            }
            let mut values: HashMap<Uuid, Vec<horizon_domain::Observation>> = HashMap::new();
            if self.backend() == horizon_settings::DatabaseKind::Postgres {
                self.copy_in_force_pg(&with, &mut values).await?;
                crate::repo::observations_bulk::sort_histories(&mut values);
            } else {
                let from = with.iter().map(|(w, _)| w.from).min().unwrap_or(as_of);
                let to = with.iter().map(|(w, _)| w.to).max().unwrap_or(as_of);
                let ids: Vec<Uuid> = with.iter().map(|(w, _)| w.series_id).collect();
                let all = self.load_vintages(&ids, from, to, as_of).await?;
                for (w, latest) in &with {
                    let list = all.get(&w.series_id).map_or(&[][..], Vec::as_slice);
                    values.insert(w.series_id, select_in_force(list, w, *latest));
                }
            }
            for (id, v) in values {
                if let Some(entry) = out.get_mut(&id) {
                    entry.values = v;
                }
            }
        }
        Ok(out)
    }

    /// Each covariate's last issue at or before `as_of` (one index probe per covariate).
    async fn latest_issues(
        &self,
        ids: &[Uuid],
        as_of: Timestamp,
    ) -> Result<HashMap<Uuid, Timestamp>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        if self.backend() == horizon_settings::DatabaseKind::Postgres {
            use sea_orm::{ConnectionTrait, Statement};
            let rows = self
                .db
                .query_all_raw(Statement::from_sql_and_values(
                    sea_orm::DatabaseBackend::Postgres,
                    "SELECT w.id, l.issued_at FROM unnest($1::uuid[]) AS w(id) \
                     CROSS JOIN LATERAL (SELECT issued_at FROM covariate_vintages \
                         WHERE series_id = w.id AND issued_at <= $2 \
                         ORDER BY issued_at DESC LIMIT 1) AS l",
                    [ids.to_vec().into(), micros(as_of).into()],
                ))
                .await
                .map_err(|e| StoreError::db("finding the latest covariate vintages", e))?;
            for r in rows {
                let id: Uuid = r
                    .try_get("", "id")
                    .map_err(|e| StoreError::db("reading a covariate vintage issue", e))?;
                let at: Timestamp = r
                    .try_get("", "issued_at")
                    .map_err(|e| StoreError::db("reading a covariate vintage issue", e))?;
                out.insert(id, at);
            }
            return Ok(out);
        }
        for id in ids {
            if let Some(v) = self.latest_vintage_issue(*id, as_of).await? {
                out.insert(*id, v);
            }
        }
        Ok(out)
    }

    async fn latest_vintage_issue(
        &self,
        series_id: Uuid,
        as_of: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        e::Entity::find()
            .select_only()
            .column(e::Column::IssuedAt)
            .filter(e::Column::SeriesId.eq(series_id))
            .filter(e::Column::IssuedAt.lte(micros(as_of)))
            .order_by_desc(e::Column::IssuedAt)
            .limit(1)
            .into_tuple::<Timestamp>()
            .one(&self.db)
            .await
            .map_err(|e| StoreError::db("reading the latest covariate vintage", e))
    }

    /// [`Store::vintages_in_force`]'s selection in SQL, streamed by binary `COPY`.
    async fn copy_in_force_pg(
        &self,
        windows: &[(VintageWindow, Timestamp)],
        out: &mut HashMap<Uuid, Vec<horizon_domain::Observation>>,
    ) -> Result<(), StoreError> {
        // COPY takes no bind parameters; only typed values (uuids, integers) are formatted
        // into the statement.
        let col = |f: &dyn Fn(&(VintageWindow, Timestamp)) -> String| {
            windows.iter().map(f).collect::<Vec<_>>().join(",")
        };
        let us = |t: Timestamp| t.timestamp_micros().to_string();
        // Per covariate, its index read backwards (newest instant and issue first): the first
        // row of each instant that passes is the one in force, with no sort.
        let query = format!(
            "SELECT w.id, s.ts, s.value \
             FROM unnest('{{{}}}'::uuid[], '{{{}}}'::bigint[], '{{{}}}'::bigint[], \
                         '{{{}}}'::bigint[], '{{{}}}'::bigint[]) AS w(id, from_us, first_us, to_us, latest_us) \
             CROSS JOIN LATERAL (SELECT e + w.from_us * u AS from_ts, e + w.first_us * u AS first_ts, \
                 e + w.to_us * u AS to_ts, e + w.latest_us * u AS latest \
                 FROM (SELECT timestamptz 'epoch' AS e, interval '1 microsecond' AS u) AS k) AS b \
             CROSS JOIN LATERAL ( \
                 SELECT DISTINCT ON (v.ts) v.ts, v.value FROM covariate_vintages v \
                 WHERE v.series_id = w.id AND v.ts BETWEEN b.from_ts AND b.to_ts \
                   AND v.issued_at <= b.latest \
                   AND (CASE WHEN v.ts < b.first_ts THEN v.issued_at <= v.ts - (b.first_ts - b.latest) \
                             ELSE v.issued_at = b.latest END) \
                 ORDER BY v.ts DESC, v.issued_at DESC) AS s",
            col(&|(w, _)| w.series_id.to_string()),
            col(&|(w, _)| us(w.from)),
            col(&|(w, _)| us(w.first)),
            col(&|(w, _)| us(w.to)),
            col(&|(_, l)| us(*l)),
        );
        self.copy_out_observations(&query, out).await
    }

    /// Writes vintage values of covariate series. Identical rows already stored are left
    /// alone; rows stored with another value are returned as conflicts and not changed.
    pub async fn insert_vintages(
        &self,
        rows: &[(Uuid, VintageValue)],
    ) -> Result<VintageWrite, StoreError> {
        let mut out = VintageWrite::default();
        for chunk in rows.chunks(WRITE_BATCH) {
            let models = chunk.iter().map(|(id, v)| e::ActiveModel {
                series_id: Set(*id),
                issued_at: Set(micros(v.issued_at)),
                ts: Set(micros(v.ts)),
                value: Set(v.value),
            });
            let n = inserted_rows(
                e::Entity::insert_many(models)
                    .on_conflict_do_nothing_on([
                        e::Column::SeriesId,
                        e::Column::IssuedAt,
                        e::Column::Ts,
                    ])
                    .exec_without_returning(&self.db)
                    .await
                    .map_err(|e| StoreError::db("writing covariate vintages", e))?,
            );
            out.inserted += n;
            if n == chunk.len() as u64 {
                continue;
            }
            // Some rows were there already: compare them with what was sent.
            let ids: Vec<Uuid> = chunk.iter().map(|(id, _)| *id).collect();
            let issues: Vec<Timestamp> = chunk.iter().map(|(_, v)| micros(v.issued_at)).collect();
            let (from, to) = chunk.iter().fold((None, None), |(lo, hi), (_, v)| {
                let t = micros(v.ts);
                (
                    Some(lo.map_or(t, |l: Timestamp| l.min(t))),
                    Some(hi.map_or(t, |h: Timestamp| h.max(t))),
                )
            });
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            let stored: HashMap<(Uuid, Timestamp, Timestamp), f64> = e::Entity::find()
                .filter(e::Column::SeriesId.is_in(dedup(ids)))
                .filter(e::Column::IssuedAt.is_in(dedup(issues)))
                .filter(e::Column::Ts.between(from, to))
                .all(&self.db)
                .await
                .map_err(|e| StoreError::db("reading covariate vintages", e))?
                .into_iter()
                .map(|r| ((r.series_id, r.issued_at, r.ts), r.value))
                .collect();
            for (id, v) in chunk {
                if let Some(&value) = stored.get(&(*id, micros(v.issued_at), micros(v.ts)))
                    && !same(value, v.value)
                {
                    out.conflicts.push(VintageConflict {
                        series_id: *id,
                        sent: *v,
                        stored: value,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The vintages of many covariate series that cover `[from, to]` and were issued at or
    /// before `issued_by` (nothing issued later is read: no look-ahead), each ordered by
    /// instant then issue.
    pub async fn load_vintages(
        &self,
        series_ids: &[Uuid],
        from: Timestamp,
        to: Timestamp,
        issued_by: Timestamp,
    ) -> Result<HashMap<Uuid, Vec<VintageValue>>, StoreError> {
        let mut out: HashMap<Uuid, Vec<VintageValue>> = HashMap::new();
        for chunk in series_ids.chunks(500) {
            let rows = e::Entity::find()
                .filter(e::Column::SeriesId.is_in(chunk.iter().copied()))
                .filter(e::Column::Ts.between(micros(from), micros(to)))
                .filter(e::Column::IssuedAt.lte(micros(issued_by)))
                .order_by_asc(e::Column::SeriesId)
                .order_by_asc(e::Column::Ts)
                .order_by_asc(e::Column::IssuedAt)
                .all(&self.db)
                .await
                .map_err(|e| StoreError::db("loading covariate vintages", e))?;
            for r in rows {
                out.entry(r.series_id).or_default().push(VintageValue {
                    issued_at: r.issued_at,
                    ts: r.ts,
                    value: r.value,
                });
            }
        }
        Ok(out)
    }

    /// The latest vintage of a covariate series issued at or before `as_of` (any when
    /// `None`): when it was issued and what it covers.
    pub async fn latest_vintage(
        &self,
        series_id: Uuid,
        as_of: Option<Timestamp>,
    ) -> Result<Option<VintageSummary>, StoreError> {
        let mut q = e::Entity::find()
            .select_only()
            .column(e::Column::IssuedAt)
            .filter(e::Column::SeriesId.eq(series_id))
            .order_by_desc(e::Column::IssuedAt)
            .limit(1);
        if let Some(as_of) = as_of {
            q = q.filter(e::Column::IssuedAt.lte(micros(as_of)));
        }
        let Some(issued_at) = q
            .into_tuple::<Timestamp>()
            .one(&self.db)
            .await
            .map_err(|e| StoreError::db("reading the latest covariate vintage", e))?
        else {
            return Ok(None);
        };
        let values = self.vintage(series_id, issued_at, None, None).await?;
        Ok(match (values.first(), values.last()) {
            (Some(a), Some(b)) => Some(VintageSummary {
                issued_at,
                first: a.ts,
                last: b.ts,
                values: values.len() as u64,
            }),
            _ => None,
        })
    }

    /// The values of the vintage of `series_id` issued at `issued_at`, within `[from, to]`
    /// when given, ordered by instant.
    pub async fn vintage(
        &self,
        series_id: Uuid,
        issued_at: Timestamp,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Vec<VintageValue>, StoreError> {
        let mut q = e::Entity::find()
            .filter(e::Column::SeriesId.eq(series_id))
            .filter(e::Column::IssuedAt.eq(micros(issued_at)))
            .order_by_asc(e::Column::Ts);
        if let Some(from) = from {
            q = q.filter(e::Column::Ts.gte(micros(from)));
        }
        if let Some(to) = to {
            q = q.filter(e::Column::Ts.lte(micros(to)));
        }
        Ok(q.all(&self.db)
            .await
            .map_err(|e| StoreError::db("reading a covariate vintage", e))?
            .into_iter()
            .map(|r| VintageValue {
                issued_at: r.issued_at,
                ts: r.ts,
                value: r.value,
            })
            .collect())
    }
}

/// The selection of [`Store::vintages_in_force`] from one covariate's vintages (ordered by
/// instant then issue, none issued after as-of).
fn select_in_force(
    list: &[VintageValue],
    w: &VintageWindow,
    latest: Timestamp,
) -> Vec<horizon_domain::Observation> {
    let lead = w.first - latest;
    let mut out: Vec<horizon_domain::Observation> = Vec::new();
    for v in list.iter().filter(|v| v.ts >= w.from && v.ts <= w.to) {
        let usable = if v.ts < w.first {
            v.issued_at <= v.ts - lead
        } else {
            v.issued_at == latest
        };
        if !usable {
            continue;
        }
        // Later issues of the same instant come later: the last usable one wins.
        match out.last_mut() {
            Some(last) if last.ts == v.ts => last.value = v.value,
            _ => out.push(horizon_domain::Observation {
                ts: v.ts,
                value: v.value,
            }),
        }
    }
    out
}

/// Two stored doubles are the same value (both NaN never occurs: values are finite).
fn same(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

fn dedup<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v.dedup();
    v
}
