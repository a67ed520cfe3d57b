//! The `forecast_metrics` table.

use sea_orm::entity::prelude::*;

/// A row of `forecast_metrics`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "forecast_metrics")]
pub struct Model {
    /// Column `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Column `execution_id`.
    pub execution_id: Option<Uuid>,
    /// Column `series_id`.
    pub series_id: Uuid,
    /// Column `model`.
    pub model: String,
    /// Column `horizon_step`.
    pub horizon_step: Option<i32>,
    /// Column `metrics`.
    #[sea_orm(column_type = "JsonBinary")]
    pub metrics: Json,
    /// Column `created_at`.
    pub created_at: DateTimeUtc,
}

/// No relations are declared: queries join explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
