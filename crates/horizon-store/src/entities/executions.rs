//! The `executions` table.

use sea_orm::entity::prelude::*;

/// A row of `executions`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "executions")]
pub struct Model {
    /// Column `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Column `kind`.
    pub kind: String,
    /// Column `status`.
    pub status: String,
    /// Column `request`.
    #[sea_orm(column_type = "JsonBinary")]
    pub request: Json,
    /// Column `idempotency_key`.
    pub idempotency_key: Option<String>,
    /// Column `request_hash`.
    pub request_hash: Option<String>,
    /// Column `progress`.
    pub progress: f64,
    /// Column `error`.
    pub error: Option<String>,
    /// Column `requested_by`.
    pub requested_by: Option<Uuid>,
    /// Column `created_at`.
    pub created_at: DateTimeUtc,
    /// Column `started_at`.
    pub started_at: Option<DateTimeUtc>,
    /// Column `heartbeat_at`.
    pub heartbeat_at: Option<DateTimeUtc>,
    /// Column `finished_at`.
    pub finished_at: Option<DateTimeUtc>,
}

/// No relations are declared: queries join explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
