//! Horizon's database schema as sea-orm migrations. The same migrations run on PostgreSQL (the
//! production store) and SQLite (the embedded default) and mean the same thing on both.
//!
//! Migrations are expand/contract (see `migration/README.md`): old binaries keep running against
//! a newer schema during a rolling deploy, so a migration never drops or renames what a
//! released binary still reads.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_initial;
mod m20261122_000001_pipeline;
mod m20261122_000002_observations_covering;
mod m20261202_000001_covariates;
mod m20261204_000001_forecast_kind;
mod m20261204_000002_series_thresholds;

/// Every migration this build knows, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_initial::Migration),
            Box::new(m20261122_000001_pipeline::Migration),
            Box::new(m20261122_000002_observations_covering::Migration),
            Box::new(m20261202_000001_covariates::Migration),
            Box::new(m20261204_000001_forecast_kind::Migration),
            Box::new(m20261204_000002_series_thresholds::Migration),
        ]
    }
}

/// Names of the migrations this build knows, oldest first.
pub fn known_migrations() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect()
}
