//! What an operator alerts on, counted from the shared tables at scrape time: every process
//! writes its runs there, so the API's `/metrics` sees the pipeline's and ingest's work too.

use horizon_domain::Timestamp;
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::ExprTrait,
};
use uuid::Uuid;

use crate::{
    Store, StoreError,
    entities::{executions, ingest_runs, pipeline_partitions, predictions, series_classifications},
};

/// How many sources `ingest_records` lists (the busiest): a label per source, and sources
/// are operators' names, but a directory of thousands of feeds must not flood a scrape.
pub const MAX_INGEST_SOURCES: u64 = 100;

/// Counts behind the operator metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperatorCounts {
    /// Executions by (kind, status).
    pub executions: Vec<(String, String, i64)>,
    /// Pipeline partitions by status.
    pub partitions: Vec<(String, i64)>,
    /// Ingest rows by source: (source, landed, rejected).
    pub ingest_records: Vec<(String, i64, i64)>,
    /// Per series class (`unclassified` without one in the last week): the oldest of its series' newest
    /// scheduled forecasts, so one series the pipeline stopped forecasting shows.
    pub oldest_forecast: Vec<(String, Timestamp)>,
}

impl Store {
    /// Reads [`OperatorCounts`]: four grouped queries, none scanning more than one table.
    pub async fn operator_counts(&self) -> Result<OperatorCounts, StoreError> {
        let db = |e| StoreError::db("counting for the metrics", e);
        let executions = executions::Entity::find()
            .select_only()
            .column(executions::Column::Kind)
            .column(executions::Column::Status)
            .column_as(executions::Column::Id.count(), "n")
            .group_by(executions::Column::Kind)
            .group_by(executions::Column::Status)
            .into_tuple::<(String, String, i64)>()
            .all(&self.db)
            .await
            .map_err(db)?;
        let partitions = pipeline_partitions::Entity::find()
            .select_only()
            .column(pipeline_partitions::Column::Status)
            .column_as(pipeline_partitions::Column::Id.count(), "n")
            .group_by(pipeline_partitions::Column::Status)
            .into_tuple::<(String, i64)>()
            .all(&self.db)
            .await
            .map_err(db)?;
        let ingest_records = ingest_runs::Entity::find()
            .select_only()
            .column(ingest_runs::Column::Source)
            .column_as(
                ingest_runs::Column::RowsLanded.sum().cast_as("BIGINT"),
                "landed",
            )
            .column_as(
                ingest_runs::Column::RowsRejected.sum().cast_as("BIGINT"),
                "rejected",
            )
            .group_by(ingest_runs::Column::Source)
            .order_by_desc(ingest_runs::Column::RowsLanded.sum())
            .limit(MAX_INGEST_SOURCES)
            .into_tuple::<(String, i64, i64)>()
            .all(&self.db)
            .await
            .map_err(db)?;
        // The newest scheduled forecast of each series, then each series' newest class.
        let newest: Vec<(Uuid, Timestamp)> = predictions::Entity::find()
            .select_only()
            .column(predictions::Column::SeriesId)
            .column_as(predictions::Column::CreatedAt.max(), "newest")
            .filter(predictions::Column::Kind.eq("scheduled"))
            .group_by(predictions::Column::SeriesId)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(db)?;
        let classes: Vec<(Uuid, String)> = series_classifications::Entity::find()
            .select_only()
            .column(series_classifications::Column::SeriesId)
            .column(series_classifications::Column::Class)
            // Classes of the last week only: a series is classified at every run, and a scrape
            // must not read every run's rows.
            .filter(
                series_classifications::Column::ClassifiedAt.gte(crate::codec::micros(
                    chrono::Utc::now() - chrono::Duration::days(7),
                )),
            )
            .order_by_asc(series_classifications::Column::ClassifiedAt)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(db)?;
        let class_of: std::collections::HashMap<Uuid, String> = classes.into_iter().collect();
        let mut oldest: std::collections::BTreeMap<String, Timestamp> = Default::default();
        for (series, at) in newest {
            let class = class_of
                .get(&series)
                .cloned()
                .unwrap_or_else(|| "unclassified".to_owned());
            let e = oldest.entry(class).or_insert(at);
            if at < *e {
                *e = at;
            }
        }
        Ok(OperatorCounts {
            executions,
            partitions,
            ingest_records,
            oldest_forecast: oldest.into_iter().collect(),
        })
    }
}
