//! The distributed pipeline: partitions of a run with their leases, each member's forecast kept
//! beside the ensemble's (so outcomes can score every model), how far each prediction has been
//! scored, and the adaptive interval scales.
//!
//! Expand only: new tables and nullable or defaulted columns, so binaries of the previous
//! release keep working against this schema.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261121_000001_initial::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PipelinePartitions {
    Table,
    Id,
    ExecutionId,
    Seq,
    SeriesIds,
    Status,
    Attempts,
    Worker,
    Workers,
    SeriesDone,
    Error,
    HeartbeatAt,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum IntervalCalibration {
    Table,
    Id,
    SeriesClass,
    Level,
    Scale,
    Coverage,
    Samples,
    EffectiveAt,
    ExecutionId,
}

#[derive(DeriveIden)]
enum Predictions {
    Table,
    MemberMatrices,
    StepsScored,
}

#[derive(DeriveIden)]
enum Executions {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(PipelinePartitions::Table)
                .if_not_exists()
                .col(pk_uuid(PipelinePartitions::Id))
                .col(uuid(PipelinePartitions::ExecutionId))
                .col(integer(PipelinePartitions::Seq))
                .col(json_binary(PipelinePartitions::SeriesIds))
                .col(string(PipelinePartitions::Status))
                .col(integer(PipelinePartitions::Attempts))
                .col(string_null(PipelinePartitions::Worker))
                .col(json_binary(PipelinePartitions::Workers))
                .col(big_integer(PipelinePartitions::SeriesDone))
                .col(text_null(PipelinePartitions::Error))
                .col(timestamp_with_time_zone_null(
                    PipelinePartitions::HeartbeatAt,
                ))
                .col(timestamp_with_time_zone_null(PipelinePartitions::StartedAt))
                .col(timestamp_with_time_zone_null(
                    PipelinePartitions::FinishedAt,
                ))
                .foreign_key(&mut fk(
                    "fk_pipeline_partitions_execution",
                    (PipelinePartitions::Table, PipelinePartitions::ExecutionId),
                    (Executions::Table, Executions::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "uq_pipeline_partitions_execution_seq",
                PipelinePartitions::Table,
                &["execution_id", "seq"],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(IntervalCalibration::Table)
                .if_not_exists()
                .col(pk_uuid(IntervalCalibration::Id))
                .col(string(IntervalCalibration::SeriesClass))
                .col(double(IntervalCalibration::Level))
                .col(double(IntervalCalibration::Scale))
                .col(double_null(IntervalCalibration::Coverage))
                .col(big_integer(IntervalCalibration::Samples))
                .col(timestamp_with_time_zone(IntervalCalibration::EffectiveAt))
                .col(uuid_null(IntervalCalibration::ExecutionId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "uq_interval_calibration_version",
                IntervalCalibration::Table,
                &["series_class", "level", "effective_at"],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        // SQLite adds one column per ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table(Predictions::Table)
                .add_column(blob_null(Predictions::MemberMatrices))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Predictions::Table)
                .add_column(integer(Predictions::StepsScored).default(0))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_predictions_first_target",
            Predictions::Table,
            &["first_target_at"],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_predictions_first_target")
                .table(Predictions::Table)
                .to_owned(),
        )
        .await?;
        for col in [Predictions::StepsScored, Predictions::MemberMatrices] {
            m.alter_table(
                Table::alter()
                    .table(Predictions::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(IntervalCalibration::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(PipelinePartitions::Table).to_owned())
            .await
    }
}
