//! Observations' primary key carries the value (PostgreSQL `INCLUDE`), so a series' history is
//! read by an index-only scan in key order. Observations arrive as time slices across all
//! series (each roll-up writes a bucket for every country), so a series' rows lie scattered
//! over the heap: without the value in the index, reading one series' 60 days of 15-minute
//! values touched one heap page per value.
//!
//! PostgreSQL only (SQLite has no `INCLUDE` and reads its small stores from cache). The key
//! columns are unchanged, so every reader and writer of the previous release works as before.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{ConnectionTrait, DatabaseBackend},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Redefines `observations_pkey` with the given tail (PostgreSQL only; SQLite is left alone).
async fn redefine_key(manager: &SchemaManager<'_>, definition: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    manager
        .get_connection()
        .execute_unprepared(&format!(
            "ALTER TABLE observations DROP CONSTRAINT observations_pkey, \
             ADD CONSTRAINT observations_pkey {definition}"
        ))
        .await
        .map(|_| ())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        redefine_key(manager, "PRIMARY KEY (series_id, ts) INCLUDE (value)").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        redefine_key(manager, "PRIMARY KEY (series_id, ts)").await
    }
}
