//! Forecast kinds: a prediction is `scheduled` (written by a pipeline run) or `adhoc`
//! (written by an API `predict` or `generate` job), so a one-off job no longer replaces the
//! forecast the schedule publishes as a series' latest.
//!
//! Expand only: a new column with a default, so binaries of the previous release keep
//! writing (their rows read as `scheduled`, what they were before this column). Existing rows
//! are classified once, from the kind of the execution that wrote them.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::ConnectionTrait};

use crate::m20261121_000001_initial::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Predictions {
    Table,
    Kind,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Predictions::Table)
                .add_column(string(Predictions::Kind).default("scheduled"))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "UPDATE predictions SET kind = 'adhoc' WHERE execution_id IN \
                 (SELECT id FROM executions WHERE kind IN ('predict', 'generate'))",
            )
            .await?;
        // The latest forecast of a series of one kind: the first entry of this index read
        // backwards.
        m.create_index(index(
            "idx_predictions_series_kind_created",
            Predictions::Table,
            &["series_id", "kind", "created_at"],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_predictions_series_kind_created")
                .table(Predictions::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Predictions::Table)
                .drop_column(Predictions::Kind)
                .to_owned(),
        )
        .await
    }
}
