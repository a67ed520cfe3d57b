//! Covariates: the typed attributes of a series (where and how it is measured), the link from
//! a covariate series (`<target>:<name>`) to the series it drives, covariate forecasts
//! (vintages) kept apart from observations, and the vintages each prediction used.
//!
//! Expand only: nullable columns and a new table, so binaries of the previous release keep
//! working against this schema (they neither read nor write the new columns).

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DatabaseBackend},
};

use crate::m20261121_000001_initial::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Series {
    Table,
    Id,
    Latitude,
    Longitude,
    Altitude,
    Capacity,
    Tilt,
    Azimuth,
    Timezone,
    Country,
    CovariateOf,
    CovariateName,
}

#[derive(DeriveIden)]
enum CovariateVintages {
    Table,
    SeriesId,
    IssuedAt,
    Ts,
    Value,
}

#[derive(DeriveIden)]
enum Predictions {
    Table,
    Covariates,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let columns = [
            double_null(Series::Latitude),
            double_null(Series::Longitude),
            double_null(Series::Altitude),
            double_null(Series::Capacity),
            double_null(Series::Tilt),
            double_null(Series::Azimuth),
            string_null(Series::Timezone),
            string_null(Series::Country),
            uuid_null(Series::CovariateOf),
            string_null(Series::CovariateName),
        ];
        for mut col in columns {
            m.alter_table(
                Table::alter()
                    .table(Series::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(index(
            "idx_series_covariate_of",
            Series::Table,
            &["covariate_of"],
        ))
        .await?;

        // One row per (covariate series, issue, instant): the primary key is what makes a
        // re-sent vintage a no-op and a changed one a conflict.
        m.create_table(
            Table::create()
                .table(CovariateVintages::Table)
                .if_not_exists()
                .col(uuid(CovariateVintages::SeriesId))
                .col(timestamp_with_time_zone(CovariateVintages::IssuedAt))
                .col(timestamp_with_time_zone(CovariateVintages::Ts))
                .col(double(CovariateVintages::Value))
                .primary_key(
                    Index::create()
                        .col(CovariateVintages::SeriesId)
                        .col(CovariateVintages::IssuedAt)
                        .col(CovariateVintages::Ts),
                )
                .foreign_key(&mut fk(
                    "fk_covariate_vintages_series",
                    (CovariateVintages::Table, CovariateVintages::SeriesId),
                    (Series::Table, Series::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        // The pipeline reads, per covariate and instant, the latest vintage issued by a time:
        // in this index's order that is the first entry of a short run read backwards. On
        // PostgreSQL the index carries the value, so the read is an index-only scan (vintages
        // arrive as issues across all covariates, so a covariate's rows lie scattered over
        // the heap, as observations' do).
        if m.get_database_backend() == DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "CREATE INDEX IF NOT EXISTS idx_covariate_vintages_series_ts \
                     ON covariate_vintages (series_id, ts, issued_at) INCLUDE (value)",
                )
                .await?;
        } else {
            m.create_index(index(
                "idx_covariate_vintages_series_ts",
                CovariateVintages::Table,
                &["series_id", "ts", "issued_at"],
            ))
            .await?;
        }

        m.alter_table(
            Table::alter()
                .table(Predictions::Table)
                .add_column(json_binary_null(Predictions::Covariates))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Predictions::Table)
                .drop_column(Predictions::Covariates)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(CovariateVintages::Table).to_owned())
            .await?;
        m.drop_index(
            Index::drop()
                .name("idx_series_covariate_of")
                .table(Series::Table)
                .to_owned(),
        )
        .await?;
        for col in [
            Series::CovariateName,
            Series::CovariateOf,
            Series::Country,
            Series::Timezone,
            Series::Azimuth,
            Series::Tilt,
            Series::Capacity,
            Series::Altitude,
            Series::Longitude,
            Series::Latitude,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Series::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
