//! Predictions: bulk idempotent writes (one row per series per run, the forecast as a compact
//! matrix column), reads by id, by series, by entity and time window.

use horizon_domain::{
    CovariateUse, EnsembleMember, ForecastKind, ForecastMatrix, ForecastWarning, Prediction,
    QuantileLevels, ThresholdProbability, Timestamp,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use crate::{
    Store, StoreError,
    codec::{from_json, inserted as inserted_rows, micros, now, parse, to_json},
    entities::predictions as e,
};

/// A forecast to store; the id and `created_at` are given by the store.
#[derive(Debug, Clone)]
pub struct NewPrediction {
    /// The series.
    pub series_id: Uuid,
    /// The run (makes the write idempotent: one prediction per series per run).
    pub execution_id: Option<Uuid>,
    /// Scheduled (a pipeline run) or ad hoc (an API job).
    pub kind: ForecastKind,
    /// The series' entity.
    pub entity: String,
    /// As-of instant.
    pub issued_at: Timestamp,
    /// Instant of step 1.
    pub first_target_at: Timestamp,
    /// Step length.
    pub frequency: horizon_domain::Frequency,
    /// Levels of the matrix's quantile columns.
    pub quantile_levels: QuantileLevels,
    /// Mean and quantiles per step.
    pub matrix: ForecastMatrix,
    /// Ensemble members.
    pub members: Vec<EnsembleMember>,
    /// Calibration applied.
    pub calibration: serde_json::Value,
    /// Threshold probabilities.
    pub thresholds: Vec<ThresholdProbability>,
    /// What the reader should know, typed (stored as `[{kind, message}]`).
    pub warnings: Vec<ForecastWarning>,
    /// Each member's own forecast, in the order of `members`; empty to keep none.
    pub member_forecasts: Vec<ForecastMatrix>,
    /// The covariates used and their vintages.
    pub covariates: Vec<CovariateUse>,
}

/// Which predictions to list.
#[derive(Debug, Clone, Default)]
pub struct PredictionFilter {
    /// Only this series.
    pub series_id: Option<Uuid>,
    /// Only this entity.
    pub entity: Option<String>,
    /// Only this run.
    pub execution_id: Option<Uuid>,
    /// Only this kind (`None`: both).
    pub kind: Option<ForecastKind>,
    /// Created at or after.
    pub created_from: Option<Timestamp>,
    /// Created before.
    pub created_to: Option<Timestamp>,
    /// Ids below this one (cursor; ids sort by creation).
    pub before_id: Option<Uuid>,
}

// 19 bound parameters per row, under SQLite's and PostgreSQL's limits per statement.
const WRITE_BATCH: usize = 1_000;

fn to_domain(row: e::Model) -> Result<Prediction, StoreError> {
    Ok(Prediction {
        id: row.id,
        series_id: row.series_id,
        execution_id: row.execution_id,
        kind: parse(&row.kind)?,
        entity: row.entity,
        issued_at: row.issued_at,
        created_at: row.created_at,
        first_target_at: row.first_target_at,
        frequency: parse(&row.frequency)?,
        quantile_levels: from_json("quantile levels", row.quantile_levels)?,
        matrix: ForecastMatrix::from_bytes(&row.matrix)?,
        members: from_json("ensemble members", row.members)?,
        calibration: row.calibration,
        thresholds: from_json("threshold probabilities", row.thresholds)?,
        warnings: from_json("warnings", row.warnings)?,
        member_forecasts: match row.member_matrices {
            Some(bytes) => ForecastMatrix::list_from_bytes(&bytes)?,
            None => Vec::new(),
        },
        steps_scored: row.steps_scored.max(0) as u32,
        covariates: match row.covariates {
            Some(json) => from_json("covariates used", json)?,
            None => Vec::new(),
        },
    })
}

impl Store {
    /// Writes predictions in batches. A second write for the same (series, run) is ignored, so
    /// a redone partition duplicates nothing. Returns the rows actually inserted.
    pub async fn insert_predictions(&self, items: &[NewPrediction]) -> Result<u64, StoreError> {
        let created_at = now();
        let mut inserted = 0;
        for chunk in items.chunks(WRITE_BATCH) {
            let rows = chunk.iter().map(|p| e::ActiveModel {
                id: Set(Uuid::now_v7()),
                series_id: Set(p.series_id),
                execution_id: Set(p.execution_id),
                kind: Set(p.kind.to_string()),
                entity: Set(p.entity.clone()),
                issued_at: Set(micros(p.issued_at)),
                created_at: Set(created_at),
                first_target_at: Set(micros(p.first_target_at)),
                frequency: Set(p.frequency.to_string()),
                horizon: Set(p.matrix.horizon() as i32),
                quantile_levels: Set(to_json(&p.quantile_levels)),
                matrix: Set(p.matrix.to_bytes()),
                members: Set(to_json(&p.members)),
                calibration: Set(p.calibration.clone()),
                thresholds: Set(to_json(&p.thresholds)),
                warnings: Set(to_json(&p.warnings)),
                member_matrices: Set((!p.member_forecasts.is_empty())
                    .then(|| ForecastMatrix::list_to_bytes(&p.member_forecasts))),
                steps_scored: Set(0),
                covariates: Set((!p.covariates.is_empty()).then(|| to_json(&p.covariates))),
            });
            let n = e::Entity::insert_many(rows)
                .on_conflict_do_nothing_on([e::Column::SeriesId, e::Column::ExecutionId])
                .exec_without_returning(&self.db)
                .await
                .map_err(|e| StoreError::db("writing predictions", e))?;
            inserted += inserted_rows(n);
        }
        Ok(inserted)
    }

    /// The prediction with id `id`.
    pub async fn prediction(&self, id: Uuid) -> Result<Prediction, StoreError> {
        let row = e::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(|e| StoreError::db("reading a prediction", e))?
            .ok_or_else(|| StoreError::NotFound {
                what: "forecast",
                id: id.to_string(),
            })?;
        to_domain(row)
    }

    /// Predictions `ids` as readers see them, each with its series' key, in one query:
    /// everything but the members' own forecasts (`member_forecasts` is empty), which only
    /// scoring reads. Ids that match nothing are left out; the order is the database's. The
    /// API's uncached forecast reads go through here, many concurrent ones per round trip.
    pub async fn predictions_for_reading(
        &self,
        ids: &[Uuid],
    ) -> Result<Vec<(Prediction, String)>, StoreError> {
        use sea_orm::{FromQueryResult, Iterable, JoinType, sea_query::Expr};

        use crate::entities::series;

        #[derive(FromQueryResult)]
        struct Row {
            #[sea_orm(nested)]
            prediction: e::Model,
            series_key: String,
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let to_series = e::Entity::belongs_to(series::Entity)
            .from(e::Column::SeriesId)
            .to(series::Column::Id)
            .into();
        let rows = e::Entity::find()
            .select_only()
            .columns(e::Column::iter().filter(|c| !matches!(c, e::Column::MemberMatrices)))
            .column_as(Expr::cust("NULL"), "member_matrices")
            .column_as(series::Column::Key, "series_key")
            .join(JoinType::InnerJoin, to_series)
            .filter(e::Column::Id.is_in(ids.iter().copied()))
            .into_model::<Row>()
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("reading predictions", e))?;
        rows.into_iter()
            .map(|r| Ok((to_domain(r.prediction)?, r.series_key)))
            .collect()
    }

    /// The newest prediction of a series.
    pub async fn latest_prediction(&self, series_id: Uuid) -> Result<Prediction, StoreError> {
        let row = e::Entity::find()
            .filter(e::Column::SeriesId.eq(series_id))
            .order_by_desc(e::Column::CreatedAt)
            .order_by_desc(e::Column::Id)
            .one(&self.db)
            .await
            .map_err(|e| StoreError::db("reading the latest prediction", e))?
            .ok_or_else(|| StoreError::NotFound {
                what: "forecast for series",
                id: series_id.to_string(),
            })?;
        to_domain(row)
    }

    /// Predictions matching `filter`, newest first, `limit` at most.
    pub async fn list_predictions(
        &self,
        filter: &PredictionFilter,
        limit: u64,
    ) -> Result<Vec<Prediction>, StoreError> {
        let mut q = e::Entity::find()
            .order_by_desc(e::Column::CreatedAt)
            .order_by_desc(e::Column::Id);
        if let Some(id) = filter.series_id {
            q = q.filter(e::Column::SeriesId.eq(id));
        }
        if let Some(entity) = &filter.entity {
            q = q.filter(e::Column::Entity.eq(entity.as_str()));
        }
        if let Some(id) = filter.execution_id {
            q = q.filter(e::Column::ExecutionId.eq(id));
        }
        if let Some(kind) = filter.kind {
            q = q.filter(e::Column::Kind.eq(kind.as_str()));
        }
        if let Some(from) = filter.created_from {
            q = q.filter(e::Column::CreatedAt.gte(micros(from)));
        }
        if let Some(to) = filter.created_to {
            q = q.filter(e::Column::CreatedAt.lt(micros(to)));
        }
        if let Some(before) = filter.before_id {
            q = q.filter(e::Column::Id.lt(before));
        }
        q.limit(limit)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("listing predictions", e))?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    /// Number of predictions of a run.
    pub async fn count_predictions(&self, execution_id: Option<Uuid>) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        let mut q = e::Entity::find();
        if let Some(id) = execution_id {
            q = q.filter(e::Column::ExecutionId.eq(id));
        }
        q.count(&self.db)
            .await
            .map_err(|e| StoreError::db("counting predictions", e))
    }

    /// Predictions with steps still to be scored whose first target lies in `[since, as_of]`,
    /// oldest first, `limit` at most.
    pub async fn predictions_to_score(
        &self,
        since: Timestamp,
        as_of: Timestamp,
        limit: u64,
    ) -> Result<Vec<Prediction>, StoreError> {
        use sea_orm::sea_query::{Expr, ExprTrait};
        e::Entity::find()
            .filter(e::Column::FirstTargetAt.lte(micros(as_of)))
            .filter(e::Column::FirstTargetAt.gte(micros(since)))
            .filter(Expr::col(e::Column::StepsScored).lt(Expr::col(e::Column::Horizon)))
            .order_by_asc(e::Column::FirstTargetAt)
            .order_by_asc(e::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(|e| StoreError::db("finding predictions to score", e))?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    /// Records how many steps of each prediction are scored. Only ever moves forward, so a
    /// replayed scoring pass cannot undo a later one.
    pub async fn set_steps_scored(&self, updates: &[(Uuid, u32)]) -> Result<(), StoreError> {
        use sea_orm::sea_query::Expr;
        for (id, steps) in updates {
            e::Entity::update_many()
                .col_expr(e::Column::StepsScored, Expr::value(*steps as i32))
                .filter(e::Column::Id.eq(*id))
                .filter(e::Column::StepsScored.lt(*steps as i32))
                .exec(&self.db)
                .await
                .map_err(|e| StoreError::db("recording scored steps", e))?;
        }
        Ok(())
    }
}
