//! The `outcome_records` table.

use sea_orm::entity::prelude::*;

/// A row of `outcome_records`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outcome_records")]
pub struct Model {
    /// Column `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Column `prediction_id`.
    pub prediction_id: Uuid,
    /// Column `series_id`.
    pub series_id: Uuid,
    /// Column `step`.
    pub step: i32,
    /// Column `target_at`.
    pub target_at: DateTimeUtc,
    /// Column `actual`.
    pub actual: f64,
    /// Column `forecast_mean`.
    pub forecast_mean: f64,
    /// Column `abs_error`.
    pub abs_error: f64,
    /// Column `sq_error`.
    pub sq_error: f64,
    /// Column `crps`.
    pub crps: f64,
    /// Column `pinball`.
    #[sea_orm(column_type = "JsonBinary")]
    pub pinball: Json,
    /// Column `covered_80`.
    pub covered_80: Option<bool>,
    /// Column `covered_95`.
    pub covered_95: Option<bool>,
    /// Column `brier`.
    #[sea_orm(column_type = "JsonBinary")]
    pub brier: Json,
    /// Column `resolved_at`.
    pub resolved_at: DateTimeUtc,
}

/// No relations are declared: queries join explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
