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

impl Store {
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

/// Two stored doubles are the same value (both NaN never occurs: values are finite).
fn same(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

fn dedup<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v.dedup();
    v
}
