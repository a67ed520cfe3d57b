//! Forecast steps scored against what happened.

use horizon_domain::OutcomeRecord;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use crate::{
    Store, StoreError,
    codec::{from_json, inserted as inserted_rows, micros, to_json},
    entities::outcome_records as e,
};

fn to_domain(r: e::Model) -> Result<OutcomeRecord, StoreError> {
    Ok(OutcomeRecord {
        id: r.id,
        prediction_id: r.prediction_id,
        series_id: r.series_id,
        step: r.step,
        target_at: r.target_at,
        actual: r.actual,
        forecast_mean: r.forecast_mean,
        abs_error: r.abs_error,
        sq_error: r.sq_error,
        crps: r.crps,
        pinball: from_json("pinball losses", r.pinball)?,
        covered_80: r.covered_80,
        covered_95: r.covered_95,
        brier: from_json("brier scores", r.brier)?,
        resolved_at: r.resolved_at,
    })
}

impl Store {
    /// Stores scored outcomes; an outcome already recorded for the same (prediction, step) is
    /// left as it is. Returns the rows inserted.
    pub async fn insert_outcomes(&self, items: &[OutcomeRecord]) -> Result<u64, StoreError> {
        let mut inserted = 0;
        for chunk in items.chunks(1_000) {
            let rows = chunk.iter().map(|o| e::ActiveModel {
                id: Set(o.id),
                prediction_id: Set(o.prediction_id),
                series_id: Set(o.series_id),
                step: Set(o.step),
                target_at: Set(micros(o.target_at)),
                actual: Set(o.actual),
                forecast_mean: Set(o.forecast_mean),
                abs_error: Set(o.abs_error),
                sq_error: Set(o.sq_error),
                crps: Set(o.crps),
                pinball: Set(to_json(&o.pinball)),
                covered_80: Set(o.covered_80),
                covered_95: Set(o.covered_95),
                brier: Set(to_json(&o.brier)),
                resolved_at: Set(micros(o.resolved_at)),
            });
            inserted += inserted_rows(
                e::Entity::insert_many(rows)
                    .on_conflict_do_nothing_on([e::Column::PredictionId, e::Column::Step])
                    .exec_without_returning(&self.db)
                    .await
                    .map_err(|e| StoreError::db("writing outcomes", e))?,
            );
        }
        Ok(inserted)
    }

    /// Scored outcomes, newest target first, optionally of one series.
    pub async fn list_outcomes(
        &self,
        series_id: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<OutcomeRecord>, StoreError> {
        let mut q = e::Entity::find()
            .order_by_desc(e::Column::TargetAt)
            .order_by_desc(e::Column::Id);
        if let Some(id) = series_id {
            q = q.filter(e::Column::SeriesId.eq(id));
        }
        q.limit(limit)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("listing outcomes", e))?
            .into_iter()
            .map(to_domain)
            .collect()
    }
}
