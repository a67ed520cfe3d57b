//! Ensemble calibration weights per (series class, model), with their history.

use std::collections::HashMap;

use horizon_domain::{CalibrationWeight, IntervalScale, SeriesClass};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use crate::{
    Store, StoreError,
    codec::{micros, parse},
    entities::{calibration_weights as e, interval_calibration as ic},
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

    /// Records a new version of interval scales; earlier versions stay as history.
    pub async fn insert_interval_scales(&self, scales: &[IntervalScale]) -> Result<(), StoreError> {
        if scales.is_empty() {
            return Ok(());
        }
        let rows = scales.iter().map(|s| ic::ActiveModel {
            id: Set(Uuid::now_v7()),
            series_class: Set(s.series_class.to_string()),
            level: Set(s.level),
            scale: Set(s.scale),
            coverage: Set(s.coverage),
            samples: Set(s.samples),
            effective_at: Set(micros(s.effective_at)),
            execution_id: Set(s.execution_id),
        });
        ic::Entity::insert_many(rows)
            .on_conflict_do_nothing_on([
                ic::Column::SeriesClass,
                ic::Column::Level,
                ic::Column::EffectiveAt,
            ])
            .exec_without_returning(&self.db)
            .await
            .map_err(|e| StoreError::db("writing interval scales", e))?;
        Ok(())
    }

    /// Interval scales, newest first, optionally of one class; with `current`, only the
    /// newest version of each (class, level).
    pub async fn interval_scales(
        &self,
        class: Option<SeriesClass>,
        current: bool,
        limit: u64,
    ) -> Result<Vec<IntervalScale>, StoreError> {
        let mut q = ic::Entity::find()
            .order_by_desc(ic::Column::EffectiveAt)
            .order_by_desc(ic::Column::Id);
        if let Some(c) = class {
            q = q.filter(ic::Column::SeriesClass.eq(c.as_str()));
        }
        if !current {
            q = q.limit(limit);
        }
        let rows = q
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("reading interval scales", e))?;
        let mut out: Vec<IntervalScale> = Vec::new();
        for r in rows {
            let s = IntervalScale {
                series_class: parse(&r.series_class)?,
                level: r.level,
                scale: r.scale,
                coverage: r.coverage,
                samples: r.samples,
                effective_at: r.effective_at,
                execution_id: r.execution_id,
            };
            let seen = out
                .iter()
                .any(|o| o.series_class == s.series_class && (o.level - s.level).abs() < 1e-9);
            if !(current && seen) {
                out.push(s);
            }
        }
        out.truncate(limit as usize);
        Ok(out)
    }
}
