//! Ensemble calibration weights per (series class, model), with their history.

use std::collections::HashMap;

use horizon_domain::{CalibrationWeight, SeriesClass};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use crate::{
    Store, StoreError,
    codec::{micros, parse},
    entities::calibration_weights as e,
};

fn to_domain(r: e::Model) -> Result<CalibrationWeight, StoreError> {
    Ok(CalibrationWeight {
        series_class: parse(&r.series_class)?,
        model: r.model,
        weight: r.weight,
        score: r.score,
        samples: r.samples,
        effective_at: r.effective_at,
        execution_id: r.execution_id,
    })
}

impl Store {
    /// Records a new version of weights; earlier versions stay as history.
    pub async fn insert_calibration_weights(
        &self,
        weights: &[CalibrationWeight],
    ) -> Result<(), StoreError> {
        if weights.is_empty() {
            return Ok(());
        }
        let rows = weights.iter().map(|w| e::ActiveModel {
            id: Set(Uuid::now_v7()),
            series_class: Set(w.series_class.to_string()),
            model: Set(w.model.clone()),
            weight: Set(w.weight),
            score: Set(w.score),
            samples: Set(w.samples),
            effective_at: Set(micros(w.effective_at)),
            execution_id: Set(w.execution_id),
        });
        e::Entity::insert_many(rows)
            .on_conflict_do_nothing_on([
                e::Column::SeriesClass,
                e::Column::Model,
                e::Column::EffectiveAt,
            ])
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| StoreError::db("writing calibration weights", e))?;
        Ok(())
    }

    /// The weights in force: for each (class, model) the newest version.
    pub async fn current_calibration_weights(
        &self,
    ) -> Result<HashMap<SeriesClass, Vec<CalibrationWeight>>, StoreError> {
        let rows = e::Entity::find()
            .order_by_desc(e::Column::EffectiveAt)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("reading calibration weights", e))?;
        let mut out: HashMap<SeriesClass, Vec<CalibrationWeight>> = HashMap::new();
        for row in rows {
            let w = to_domain(row)?;
            let list = out.entry(w.series_class).or_default();
            if !list.iter().any(|x| x.model == w.model) {
                list.push(w);
            }
        }
        Ok(out)
    }

    /// Weight history, newest first, optionally of one class.
    pub async fn calibration_history(
        &self,
        class: Option<SeriesClass>,
        limit: u64,
    ) -> Result<Vec<CalibrationWeight>, StoreError> {
        let mut q = e::Entity::find().order_by_desc(e::Column::EffectiveAt);
        if let Some(c) = class {
            q = q.filter(e::Column::SeriesClass.eq(c.as_str()));
        }
        q.limit(limit)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("reading calibration history", e))?
            .into_iter()
            .map(to_domain)
            .collect()
    }
}
