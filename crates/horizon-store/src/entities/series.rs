//! The `series` table.

use sea_orm::entity::prelude::*;

/// A row of `series`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "series")]
pub struct Model {
    /// Column `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Column `key`.
    pub key: String,
    /// Column `entity`.
    pub entity: String,
    /// Column `metric`.
    pub metric: String,
    /// Column `frequency`.
    pub frequency: Option<String>,
    /// Column `unit`.
    pub unit: Option<String>,
    /// Column `lower_bound`.
    pub lower_bound: Option<f64>,
    /// Column `upper_bound`.
    pub upper_bound: Option<f64>,
    /// Column `tags`.
    #[sea_orm(column_type = "JsonBinary")]
    pub tags: Json,
    /// Column `created_at`.
    pub created_at: DateTimeUtc,
    /// Column `updated_at`.
    pub updated_at: DateTimeUtc,
    /// Column `latitude`.
    pub latitude: Option<f64>,
    /// Column `longitude`.
    pub longitude: Option<f64>,
    /// Column `altitude`.
    pub altitude: Option<f64>,
    /// Column `capacity`.
    pub capacity: Option<f64>,
    /// Column `tilt`.
    pub tilt: Option<f64>,
    /// Column `azimuth`.
    pub azimuth: Option<f64>,
    /// Column `timezone`.
    pub timezone: Option<String>,
    /// Column `country`.
    pub country: Option<String>,
    /// Column `covariate_of`.
    pub covariate_of: Option<Uuid>,
    /// Column `covariate_name`.
    pub covariate_name: Option<String>,
    /// Column `thresholds`: the typed thresholds, `NULL` for a row an earlier release wrote.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub thresholds: Option<Json>,
}

/// No relations are declared: queries join explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
