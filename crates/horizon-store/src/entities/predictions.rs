//! The `predictions` table.

use sea_orm::entity::prelude::*;

/// A row of `predictions`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "predictions")]
pub struct Model {
    /// Column `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Column `series_id`.
    pub series_id: Uuid,
    /// Column `execution_id`.
    pub execution_id: Option<Uuid>,
    /// Column `kind`: `scheduled` or `adhoc` ([`horizon_domain::ForecastKind`]).
    pub kind: String,
    /// Column `entity`.
    pub entity: String,
    /// Column `issued_at`.
    pub issued_at: DateTimeUtc,
    /// Column `created_at`.
    pub created_at: DateTimeUtc,
    /// Column `first_target_at`.
    pub first_target_at: DateTimeUtc,
    /// Column `frequency`.
    pub frequency: String,
    /// Column `horizon`.
    pub horizon: i32,
    /// Column `quantile_levels`.
    #[sea_orm(column_type = "JsonBinary")]
    pub quantile_levels: Json,
    /// Column `matrix`.
    #[sea_orm(column_type = "Blob")]
    pub matrix: Vec<u8>,
    /// Column `members`.
    #[sea_orm(column_type = "JsonBinary")]
    pub members: Json,
    /// Column `calibration`.
    #[sea_orm(column_type = "JsonBinary")]
    pub calibration: Json,
    /// Column `thresholds`.
    #[sea_orm(column_type = "JsonBinary")]
    pub thresholds: Json,
    /// Column `warnings`.
    #[sea_orm(column_type = "JsonBinary")]
    pub warnings: Json,
    /// Column `member_matrices`: each member's forecast ([`horizon_domain::ForecastMatrix::list_to_bytes`]).
    #[sea_orm(column_type = "Blob", nullable)]
    pub member_matrices: Option<Vec<u8>>,
    /// Column `steps_scored`.
    pub steps_scored: i32,
    /// Column `covariates`: the covariates used ([`horizon_domain::CovariateUse`]).
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub covariates: Option<Json>,
}

/// No relations are declared: queries join explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
