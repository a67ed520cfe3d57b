//! The `ingest_rejections` table.

use sea_orm::entity::prelude::*;

/// A row of `ingest_rejections`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ingest_rejections")]
pub struct Model {
    /// Column `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Column `run_id`.
    pub run_id: Option<Uuid>,
    /// Column `source`.
    pub source: String,
    /// Column `line`.
    pub line: Option<i64>,
    /// Column `reason`.
    pub reason: String,
    /// Column `raw`.
    pub raw: Option<String>,
    /// Column `created_at`.
    pub created_at: DateTimeUtc,
}

/// No relations are declared: queries join explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
