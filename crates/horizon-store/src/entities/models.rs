//! The `models` table.

use sea_orm::entity::prelude::*;

/// A row of `models`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "models")]
pub struct Model {
    /// Column `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Column `series_id`.
    pub series_id: Option<Uuid>,
    /// Column `execution_id`.
    pub execution_id: Option<Uuid>,
    /// Column `family`.
    pub family: String,
    /// Column `spec`.
    pub spec: String,
    /// Column `params`.
    #[sea_orm(column_type = "JsonBinary")]
    pub params: Json,
    /// Column `metrics`.
    #[sea_orm(column_type = "JsonBinary")]
    pub metrics: Option<Json>,
    /// Column `fitted_at`.
    pub fitted_at: DateTimeUtc,
}

/// No relations are declared: queries join explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
