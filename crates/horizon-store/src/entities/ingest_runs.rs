//! The `ingest_runs` table.

use sea_orm::entity::prelude::*;

/// A row of `ingest_runs`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ingest_runs")]
pub struct Model {
    /// Column `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Column `source`.
    pub source: String,
    /// Column `status`.
    pub status: String,
    /// Column `rows_read`.
    pub rows_read: i64,
    /// Column `rows_landed`.
    pub rows_landed: i64,
    /// Column `rows_rolled_up`.
    pub rows_rolled_up: i64,
    /// Column `rows_rejected`.
    pub rows_rejected: i64,
    /// Column `error`.
    pub error: Option<String>,
    /// Column `checkpoint`.
    pub checkpoint: Option<String>,
    /// Column `started_at`.
    pub started_at: DateTimeUtc,
    /// Column `finished_at`.
    pub finished_at: Option<DateTimeUtc>,
}

/// No relations are declared: queries join explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
