//! The registry of fitted models.

use horizon_domain::ModelRecord;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use crate::{Store, StoreError, codec::micros, entities::models as e};

fn to_domain(r: e::Model) -> ModelRecord {
    ModelRecord {
        id: r.id,
        series_id: r.series_id,
        execution_id: r.execution_id,
        family: r.family,
        spec: r.spec,
        params: r.params,
        metrics: r.metrics,
        fitted_at: r.fitted_at,
    }
}

impl Store {
    /// Registers a fitted model; the record's id is kept, and registering the same id again
    /// changes nothing (a redone job derives the same ids).
    pub async fn register_model(&self, m: &ModelRecord) -> Result<(), StoreError> {
        let row = e::ActiveModel {
            id: Set(m.id),
            series_id: Set(m.series_id),
            execution_id: Set(m.execution_id),
            family: Set(m.family.clone()),
            spec: Set(m.spec.clone()),
            params: Set(m.params.clone()),
            metrics: Set(m.metrics.clone()),
            fitted_at: Set(micros(m.fitted_at)),
        };
        e::Entity::insert_many([row])
            .on_conflict_do_nothing_on([e::Column::Id])
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| StoreError::db("registering a model", e))?;
        Ok(())
    }

    /// Registered models, newest first, optionally of one series.
    pub async fn list_models(
        &self,
        series_id: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<ModelRecord>, StoreError> {
        let mut q = e::Entity::find().order_by_desc(e::Column::Id);
        if let Some(id) = series_id {
            q = q.filter(e::Column::SeriesId.eq(id));
        }
        Ok(q.limit(limit)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("listing models", e))?
            .into_iter()
            .map(to_domain)
            .collect())
    }
}
