//! The `covariate_vintages` table.

use sea_orm::entity::prelude::*;

/// A row of `covariate_vintages`: what the covariate forecast issued at `issued_at` said of
/// `ts`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "covariate_vintages")]
pub struct Model {
    /// Column `series_id` (the covariate series).
    #[sea_orm(primary_key, auto_increment = false)]
    pub series_id: Uuid,
    /// Column `issued_at`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub issued_at: DateTimeUtc,
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
