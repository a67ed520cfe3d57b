//! Backtest metrics per series and model.

use horizon_domain::ForecastMetric;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use crate::{
    Store, StoreError,
    codec::{from_json, micros, to_json},
    entities::forecast_metrics as e,
};

impl Store {
    /// Stores backtest metrics; a row whose id is already stored is left as it is.
    pub async fn insert_forecast_metrics(
        &self,
        items: &[ForecastMetric],
    ) -> Result<(), StoreError> {
        for chunk in items.chunks(1_000) {
            let rows = chunk.iter().map(|m| e::ActiveModel {
                id: Set(m.id),
                execution_id: Set(m.execution_id),
                series_id: Set(m.series_id),
                model: Set(m.model.clone()),
                horizon_step: Set(m.horizon_step),
                metrics: Set(to_json(&m.metrics)),
                created_at: Set(micros(m.created_at)),
            });
            e::Entity::insert_many(rows)
                .on_conflict_do_nothing_on([e::Column::Id])
                .exec_without_returning(&self.db)
                .await
                .map_err(|e| StoreError::db("writing forecast metrics", e))?;
        }
        Ok(())
    }

    /// Metrics, newest first, optionally of one series.
    pub async fn list_forecast_metrics(
        &self,
        series_id: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<ForecastMetric>, StoreError> {
        let mut q = e::Entity::find().order_by_desc(e::Column::Id);
        if let Some(id) = series_id {
            q = q.filter(e::Column::SeriesId.eq(id));
        }
        q.limit(limit)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("listing forecast metrics", e))?
            .into_iter()
            .map(|r| {
                Ok(ForecastMetric {
                    id: r.id,
                    execution_id: r.execution_id,
                    series_id: r.series_id,
                    model: r.model,
                    horizon_step: r.horizon_step,
                    metrics: from_json("metrics", r.metrics)?,
                    created_at: r.created_at,
                })
            })
            .collect()
    }
}
