//! The `pipeline_partitions` table.

use sea_orm::entity::prelude::*;

/// A row of `pipeline_partitions`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pipeline_partitions")]
pub struct Model {
    /// Column `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Column `execution_id`.
    pub execution_id: Uuid,
    /// Column `seq`.
    pub seq: i32,
    /// Column `series_ids`.
    #[sea_orm(column_type = "JsonBinary")]
    pub series_ids: Json,
    /// Column `status`.
    pub status: String,
    /// Column `attempts`.
    pub attempts: i32,
    /// Column `worker`.
    pub worker: Option<String>,
    /// Column `workers`.
    #[sea_orm(column_type = "JsonBinary")]
    pub workers: Json,
    /// Column `series_done`.
    pub series_done: i64,
    /// Column `error`.
    pub error: Option<String>,
    /// Column `heartbeat_at`.
    pub heartbeat_at: Option<DateTimeUtc>,
    /// Column `started_at`.
    pub started_at: Option<DateTimeUtc>,
    /// Column `finished_at`.
    pub finished_at: Option<DateTimeUtc>,
}

/// No relations are declared: queries join explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
