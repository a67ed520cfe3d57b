//! The `observations` table.

use sea_orm::entity::prelude::*;

/// A row of `observations`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "observations")]
pub struct Model {
    /// Column `series_id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub series_id: Uuid,
    /// Column `ts`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub ts: DateTimeUtc,
    /// Column `value`.
    pub value: f64,
}

/// No relations are declared: queries join explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
