//! The `calibration_weights` table.

use sea_orm::entity::prelude::*;

/// A row of `calibration_weights`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "calibration_weights")]
pub struct Model {
    /// Column `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Column `series_class`.
    pub series_class: String,
    /// Column `model`.
    pub model: String,
    /// Column `weight`.
    pub weight: f64,
    /// Column `score`.
    pub score: Option<f64>,
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
