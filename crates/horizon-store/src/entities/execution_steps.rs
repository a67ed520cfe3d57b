//! The `execution_steps` table.

use sea_orm::entity::prelude::*;

/// A row of `execution_steps`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "execution_steps")]
pub struct Model {
    /// Column `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Column `execution_id`.
    pub execution_id: Uuid,
    /// Column `seq`.
    pub seq: i32,
    /// Column `name`.
    pub name: String,
    /// Column `status`.
    pub status: String,
    /// Column `message`.
    pub message: Option<String>,
    /// Column `items`.
    pub items: Option<i64>,
    /// Column `started_at`.
    pub started_at: DateTimeUtc,
    /// Column `finished_at`.
    pub finished_at: Option<DateTimeUtc>,
}

/// No relations are declared: queries join explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
