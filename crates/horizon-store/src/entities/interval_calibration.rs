//! The `interval_calibration` table.

use sea_orm::entity::prelude::*;

/// A row of `interval_calibration`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "interval_calibration")]
pub struct Model {
    /// Column `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Column `series_class`.
    pub series_class: String,
    /// Column `level`.
    pub level: f64,
    /// Column `scale`.
    pub scale: f64,
    /// Column `coverage`.
    pub coverage: Option<f64>,
    /// Column `samples`.
    pub samples: i64,
    /// Column `effective_at`.
    pub effective_at: DateTimeUtc,
    /// Column `execution_id`.
    pub execution_id: Option<Uuid>,
}

/// No relations are declared: queries join explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
