//! Series: metadata, lookup by key, listing with cursor pagination.

use std::collections::{BTreeMap, HashMap};

use horizon_domain::{
    Bounds, CovariateLink, Location, Orientation, Series, SeriesAttributes, SeriesClass, SeriesKey,
    SeriesMeta, Threshold,
};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr, OnConflict, Query},
};
use uuid::Uuid;

use crate::{
    Store, StoreError,
    codec::{from_json, now, parse, to_json},
    entities::{series as e, series_classifications as c},
};

/// Which series a listing returns; every field left `None` narrows nothing.
#[derive(Debug, Clone, Default)]
pub struct SeriesFilter {
    /// Only this entity.
    pub entity: Option<String>,
    /// Only this metric.
    pub metric: Option<String>,
    /// Only series whose latest classification is this class.
    pub class: Option<SeriesClass>,
    /// Only series whose key or entity contains this text, ignoring case.
    pub search: Option<String>,
}

/// `text` with the `LIKE` wildcards and the escape character escaped by `\`.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// One page of series and the cursor of the next.
#[derive(Debug, Clone)]
pub struct SeriesPage {
    /// The series, ordered by key.
    pub items: Vec<Series>,
    /// Key to pass as `after` for the next page; `None` at the end.
    pub next_after: Option<String>,
}

/// A new row for `meta`, created and updated at `ts`.
fn new_row(meta: &SeriesMeta, ts: horizon_domain::Timestamp) -> e::ActiveModel {
    e::ActiveModel {
        id: Set(Uuid::now_v7()),
        key: Set(meta.key.to_string()),
        entity: Set(meta.entity.clone()),
        metric: Set(meta.metric.clone()),
        frequency: Set(meta.frequency.map(|f| f.to_string())),
        unit: Set(meta.unit.clone()),
        lower_bound: Set(meta.bounds.lower()),
        upper_bound: Set(meta.bounds.upper()),
        tags: Set(to_json(&meta.tags)),
        thresholds: Set(Some(to_json(&meta.thresholds))),
        created_at: Set(ts),
        updated_at: Set(ts),
        latitude: Set(meta.attributes.location.map(|l| l.latitude())),
        longitude: Set(meta.attributes.location.map(|l| l.longitude())),
        altitude: Set(meta.attributes.altitude),
        capacity: Set(meta.attributes.capacity),
        tilt: Set(meta.attributes.orientation.map(|o| o.tilt())),
        azimuth: Set(meta.attributes.orientation.map(|o| o.azimuth())),
        timezone: Set(meta.attributes.timezone.clone()),
        country: Set(meta.attributes.country.clone()),
        // Linked by `link_covariates` once the target is known.
        covariate_of: Set(None),
        covariate_name: Set(None),
    }
}

/// The attribute columns of a row as the domain's checked attributes. A time zone written
/// by an earlier release as the tag `timezone` is read from there.
fn attributes_of(
    row: &e::Model,
    tags: &BTreeMap<String, String>,
) -> Result<SeriesAttributes, StoreError> {
    let location = match (row.latitude, row.longitude) {
        (Some(lat), Some(lon)) => Some(Location::new(lat, lon)?),
        _ => None,
    };
    let orientation = match (row.tilt, row.azimuth) {
        (Some(t), Some(a)) => Some(Orientation::new(t, a)?),
        _ => None,
    };
    Ok(SeriesAttributes {
        location,
        altitude: row.altitude,
        capacity: row.capacity,
        orientation,
        timezone: row
            .timezone
            .clone()
            .or_else(|| tags.get("timezone").cloned()),
        country: row.country.clone(),
    })
}

/// The thresholds of a row: the typed column, or for a row an earlier release wrote, its
/// `thresholds` tag (`"16;18"`, each crossed above; items that are not numbers ignored, as
/// those releases did). The tag is removed from `tags` either way: the typed field owns it.
fn thresholds_of(
    row: &e::Model,
    tags: &mut BTreeMap<String, String>,
) -> Result<Vec<Threshold>, StoreError> {
    let tag = tags.remove("thresholds");
    match &row.thresholds {
        Some(json) if !json.is_null() => Ok(from_json("series thresholds", json.clone())?),
        _ => Ok(tag
            .iter()
            .flat_map(|t| t.split(';'))
            .filter_map(|x| x.trim().parse::<f64>().ok())
            .filter_map(|v| Threshold::new(v, Default::default()).ok())
            .collect()),
    }
}

pub(crate) fn to_domain(row: e::Model) -> Result<Series, StoreError> {
    let mut tags: BTreeMap<String, String> = from_json("series tags", row.tags.clone())?;
    let attributes = attributes_of(&row, &tags)?;
    let thresholds = thresholds_of(&row, &mut tags)?;
    let covariate_of = match (row.covariate_of, row.covariate_name) {
        (Some(target_id), Some(name)) => Some(CovariateLink { target_id, name }),
        _ => None,
    };
    Ok(Series {
        id: row.id,
        covariate_of,
        meta: SeriesMeta {
            key: SeriesKey::parse(&row.key)?,
            entity: row.entity,
            metric: row.metric,
            frequency: row.frequency.as_deref().map(parse).transpose()?,
            unit: row.unit,
            bounds: Bounds::new(row.lower_bound, row.upper_bound)?,
            tags,
            attributes,
            thresholds,
        },
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

impl Store {
    /// Creates the series or updates its metadata; returns it.
    pub async fn upsert_series(&self, meta: &SeriesMeta) -> Result<Series, StoreError> {
        e::Entity::insert(new_row(meta, now()))
            .on_conflict(
                OnConflict::column(e::Column::Key)
                    .update_columns([
                        e::Column::Entity,
                        e::Column::Metric,
                        e::Column::Frequency,
                        e::Column::Unit,
                        e::Column::LowerBound,
                        e::Column::UpperBound,
                        e::Column::Tags,
                        e::Column::Thresholds,
                        e::Column::UpdatedAt,
                        e::Column::Latitude,
                        e::Column::Longitude,
                        e::Column::Altitude,
                        e::Column::Capacity,
                        e::Column::Tilt,
                        e::Column::Azimuth,
                        e::Column::Timezone,
                        e::Column::Country,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| StoreError::db("saving a series", e))?;
        self.link_covariates().await?;
        self.series_by_key(&meta.key).await
    }

    /// Links every unlinked series keyed `<target>:<name>` whose target exists to it (the
    /// covariate convention of ingest's extra columns); returns how many were linked. Run
    /// after series are created, so the order in which a target and its covariates arrive
    /// does not matter.
    pub async fn link_covariates(&self) -> Result<u64, StoreError> {
        let unlinked: Vec<(Uuid, String)> = e::Entity::find()
            .select_only()
            .column(e::Column::Id)
            .column(e::Column::Key)
            .filter(e::Column::CovariateOf.is_null())
            .filter(e::Column::Key.like("%:%"))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("finding covariate series", e))?;
        let mut linked = 0;
        for chunk in unlinked.chunks(500) {
            let targets: Vec<String> = chunk
                .iter()
                .filter_map(|(_, key)| CovariateLink::split_key(key).map(|(t, _)| t.to_owned()))
                .collect();
            let found: HashMap<String, Uuid> = e::Entity::find()
                .select_only()
                .column(e::Column::Key)
                .column(e::Column::Id)
                .filter(e::Column::Key.is_in(targets))
                .into_tuple::<(String, Uuid)>()
                .all(&self.db)
                .await
                .map_err(|e| StoreError::db("finding covariate targets", e))?
                .into_iter()
                .collect();
            for (id, key) in chunk {
                let Some((target, name)) = CovariateLink::split_key(key) else {
                    continue;
                };
                let Some(target_id) = found.get(target) else {
                    continue;
                };
                e::Entity::update_many()
                    .col_expr(e::Column::CovariateOf, Expr::value(*target_id))
                    .col_expr(e::Column::CovariateName, Expr::value(name.to_owned()))
                    .filter(e::Column::Id.eq(*id))
                    .exec(&self.db)
                    .await
                    .map_err(|e| StoreError::db("linking a covariate", e))?;
                linked += 1;
            }
        }
        Ok(linked)
    }

    /// The covariates of the series `target_id`, ordered by name.
    pub async fn covariates_of(&self, target_ids: &[Uuid]) -> Result<Vec<Series>, StoreError> {
        let mut out = Vec::new();
        for chunk in target_ids.chunks(500) {
            let rows = e::Entity::find()
                .filter(e::Column::CovariateOf.is_in(chunk.iter().copied()))
                .order_by_asc(e::Column::Key)
                .all(&self.db)
                .await
                .map_err(|e| StoreError::db("reading covariates", e))?;
            for r in rows {
                out.push(to_domain(r)?);
            }
        }
        Ok(out)
    }

    /// Ensures every key exists (created with first-sight metadata when new, left alone when
    /// known) and returns key → id for all of them.
    pub async fn ensure_series(
        &self,
        metas: &[SeriesMeta],
    ) -> Result<HashMap<SeriesKey, Uuid>, StoreError> {
        let ts = now();
        for chunk in metas.chunks(500) {
            let rows = chunk.iter().map(|meta| new_row(meta, ts));
            e::Entity::insert_many(rows)
                .on_conflict_do_nothing_on([e::Column::Key])
                .exec_without_returning(&self.db)
                .await
                .map_err(|e| StoreError::db("creating series", e))?;
        }
        let keys: Vec<&SeriesKey> = metas.iter().map(|m| &m.key).collect();
        let ids = self.series_ids_by_keys(&keys).await?;
        if metas.iter().any(|m| m.key.as_str().contains(':')) {
            self.link_covariates().await?;
        }
        Ok(ids)
    }

    /// The ids of those of `keys` that are stored (500 keys per query).
    pub async fn series_ids_by_keys(
        &self,
        keys: &[&SeriesKey],
    ) -> Result<HashMap<SeriesKey, Uuid>, StoreError> {
        let mut ids = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(500) {
            let keys: Vec<&str> = chunk.iter().map(|k| k.as_str()).collect();
            let found: Vec<(Uuid, String)> = e::Entity::find()
                .select_only()
                .column(e::Column::Id)
                .column(e::Column::Key)
                .filter(e::Column::Key.is_in(keys))
                .into_tuple()
                .all(&self.db)
                .await
                .map_err(|e| StoreError::db("looking up series ids", e))?;
            for (id, key) in found {
                ids.insert(SeriesKey::parse(&key)?, id);
            }
        }
        Ok(ids)
    }

    /// The series with `key`.
    pub async fn series_by_key(&self, key: &SeriesKey) -> Result<Series, StoreError> {
        let row = e::Entity::find()
            .filter(e::Column::Key.eq(key.as_str()))
            .one(&self.db)
            .await
            .map_err(|e| StoreError::db("reading a series", e))?
            .ok_or_else(|| StoreError::NotFound {
                what: "series",
                id: key.to_string(),
            })?;
        to_domain(row)
    }

    /// The series with database id `id`.
    pub async fn series_by_id(&self, id: Uuid) -> Result<Series, StoreError> {
        let row = e::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(|e| StoreError::db("reading a series", e))?
            .ok_or_else(|| StoreError::NotFound {
                what: "series",
                id: id.to_string(),
            })?;
        to_domain(row)
    }

    /// Series ordered by key, `limit` at most, starting after key `after`, optionally only those
    /// of one entity.
    pub async fn list_series(
        &self,
        filter: &SeriesFilter,
        after: Option<&str>,
        limit: u64,
    ) -> Result<SeriesPage, StoreError> {
        let mut q = e::Entity::find().order_by_asc(e::Column::Key);
        if let Some(entity) = &filter.entity {
            q = q.filter(e::Column::Entity.eq(entity.as_str()));
        }
        if let Some(metric) = &filter.metric {
            q = q.filter(e::Column::Metric.eq(metric.as_str()));
        }
        if let Some(text) = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            // Case-insensitive substring of the key or the entity; `%`, `_` and `\` in the text
            // are matched literally.
            let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
            let like = |col: e::Column| {
                Expr::expr(Func::lower(Expr::col(col)))
                    .like(LikeExpr::new(pattern.clone()).escape('\\'))
            };
            q = q.filter(
                Condition::any()
                    .add(like(e::Column::Key))
                    .add(like(e::Column::Entity)),
            );
        }
        if let Some(class) = filter.class {
            // The series whose latest classification is `class`.
            let latest = Query::select()
                .column((c::Entity, c::Column::SeriesId))
                .from(c::Entity)
                .and_where(c::Column::Class.eq(class.as_str()))
                .and_where(
                    Expr::col((c::Entity, c::Column::ClassifiedAt)).in_subquery(
                        Query::select()
                            .expr(Expr::col((Alias::new("c2"), c::Column::ClassifiedAt)).max())
                            .from_as(c::Entity, Alias::new("c2"))
                            .and_where(
                                Expr::col((Alias::new("c2"), c::Column::SeriesId))
                                    .equals((c::Entity, c::Column::SeriesId)),
                            )
                            .to_owned(),
                    ),
                )
                .to_owned();
            q = q.filter(e::Column::Id.in_subquery(latest));
        }
        if let Some(after) = after {
            q = q.filter(e::Column::Key.gt(after));
        }
        let rows = q
            .limit(limit + 1)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("listing series", e))?;
        let more = rows.len() as u64 > limit;
        let items = rows
            .into_iter()
            .take(limit as usize)
            .map(to_domain)
            .collect::<Result<Vec<_>, _>>()?;
        let next_after = if more {
            items.last().map(|s| s.meta.key.to_string())
        } else {
            None
        };
        Ok(SeriesPage { items, next_after })
    }

    /// Every series, covariates included, ordered by key.
    pub async fn all_series(&self) -> Result<Vec<Series>, StoreError> {
        e::Entity::find()
            .order_by_asc(e::Column::Key)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("listing series", e))?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    /// The series runs forecast: every series that is not a covariate of another, ordered by
    /// key.
    pub async fn series_to_forecast(&self) -> Result<Vec<Series>, StoreError> {
        self.link_covariates().await?;
        e::Entity::find()
            .filter(e::Column::CovariateOf.is_null())
            .order_by_asc(e::Column::Key)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("listing series", e))?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    /// The series with these ids, in key order; unknown ids are left out.
    pub async fn series_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Series>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows = e::Entity::find()
                .filter(e::Column::Id.is_in(chunk.iter().copied()))
                .all(&self.db)
                .await
                .map_err(|e| StoreError::db("reading series", e))?;
            for r in rows {
                out.push(to_domain(r)?);
            }
        }
        out.sort_by(|a, b| a.meta.key.as_str().cmp(b.meta.key.as_str()));
        Ok(out)
    }
}
