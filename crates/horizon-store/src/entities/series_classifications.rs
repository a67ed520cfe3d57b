//! The `series_classifications` table.

use sea_orm::entity::prelude::*;

/// A row of `series_classifications`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "series_classifications")]
pub struct Model {
    /// Column `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Column `series_id`.
    pub series_id: Uuid,
    /// Column `execution_id`.
    pub execution_id: Option<Uuid>,
    /// Column `classified_at`.
    pub classified_at: DateTimeUtc,
    /// Column `class`.
    pub class: String,
    /// Column `adi`.
    pub adi: f64,
    /// Column `cv2`.
    pub cv2: f64,
    /// Column `zero_share`.
    pub zero_share: f64,
    /// Column `length`.
    pub length: i64,
    /// Column `trend_strength`.
    pub trend_strength: f64,
    /// Column `seasonal_strength`.
    pub seasonal_strength: f64,
    /// Column `season_length`.
    pub season_length: Option<i32>,
}

/// No relations are declared: queries join explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
