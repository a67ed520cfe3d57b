//! The initial schema: series and observations, forecasts and their scoring, executions with
//! step logs, ingest bookkeeping and API keys.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Series {
    Table,
    Id,
    Key,
    Entity,
    Metric,
    Frequency,
    Unit,
    LowerBound,
    UpperBound,
    Tags,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Observations {
    Table,
    SeriesId,
    Ts,
    Value,
}

#[derive(DeriveIden)]
enum SeriesClassifications {
    Table,
    Id,
    SeriesId,
    ExecutionId,
    ClassifiedAt,
    Class,
    Adi,
    Cv2,
    ZeroShare,
    Length,
    TrendStrength,
    SeasonalStrength,
    SeasonLength,
}

#[derive(DeriveIden)]
enum Models {
    Table,
    Id,
    SeriesId,
    ExecutionId,
    Family,
    Spec,
    Params,
    Metrics,
    FittedAt,
}

#[derive(DeriveIden)]
enum Executions {
    Table,
    Id,
    Kind,
    Status,
    Request,
    IdempotencyKey,
    RequestHash,
    Progress,
    Error,
    RequestedBy,
    CreatedAt,
    StartedAt,
    HeartbeatAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum ExecutionSteps {
    Table,
    Id,
    ExecutionId,
    Seq,
    Name,
    Status,
    Message,
    Items,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum Predictions {
    Table,
    Id,
    SeriesId,
    ExecutionId,
    Entity,
    IssuedAt,
    CreatedAt,
    FirstTargetAt,
    Frequency,
    Horizon,
    QuantileLevels,
    Matrix,
    Members,
    Calibration,
    Thresholds,
    Warnings,
}

#[derive(DeriveIden)]
enum OutcomeRecords {
    Table,
    Id,
    PredictionId,
    SeriesId,
    Step,
    TargetAt,
    Actual,
    ForecastMean,
    AbsError,
    SqError,
    Crps,
    Pinball,
    #[sea_orm(iden = "covered_80")]
    Covered80,
    #[sea_orm(iden = "covered_95")]
    Covered95,
    Brier,
    ResolvedAt,
}

#[derive(DeriveIden)]
enum CalibrationWeights {
    Table,
    Id,
    SeriesClass,
    Model,
    Weight,
    Score,
    Samples,
    EffectiveAt,
    ExecutionId,
}

#[derive(DeriveIden)]
enum ForecastMetrics {
    Table,
    Id,
    ExecutionId,
    SeriesId,
    Model,
    HorizonStep,
    Metrics,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IngestRuns {
    Table,
    Id,
    Source,
    Status,
    RowsRead,
    RowsLanded,
    RowsRolledUp,
    RowsRejected,
    Error,
    Checkpoint,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum IngestRejections {
    Table,
    Id,
    RunId,
    Source,
    Line,
    Reason,
    Raw,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Name,
    Prefix,
    SecretHash,
    Scopes,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
    ExpiresAt,
}

pub(crate) fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .to_owned()
}

pub(crate) fn index(
    name: &str,
    table: impl IntoIden,
    cols: &[&'static str],
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table).if_not_exists();
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    stmt.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Series::Table)
                .if_not_exists()
                .col(pk_uuid(Series::Id))
                .col(string_uniq(Series::Key))
                .col(string(Series::Entity))
                .col(string(Series::Metric))
                .col(string_null(Series::Frequency))
                .col(string_null(Series::Unit))
                .col(double_null(Series::LowerBound))
                .col(double_null(Series::UpperBound))
                .col(json_binary(Series::Tags))
                .col(timestamp_with_time_zone(Series::CreatedAt))
                .col(timestamp_with_time_zone(Series::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index("idx_series_entity", Series::Table, &["entity"]))
            .await?;

        m.create_table(
            Table::create()
                .table(Observations::Table)
                .if_not_exists()
                .col(uuid(Observations::SeriesId))
                .col(timestamp_with_time_zone(Observations::Ts))
                .col(double(Observations::Value))
                .primary_key(
                    Index::create()
                        .col(Observations::SeriesId)
                        .col(Observations::Ts),
                )
                .foreign_key(&mut fk(
                    "fk_observations_series",
                    (Observations::Table, Observations::SeriesId),
                    (Series::Table, Series::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Executions::Table)
                .if_not_exists()
                .col(pk_uuid(Executions::Id))
                .col(string(Executions::Kind))
                .col(string(Executions::Status))
                .col(json_binary(Executions::Request))
                .col(string_null(Executions::IdempotencyKey).unique_key())
                .col(string_null(Executions::RequestHash))
                .col(double(Executions::Progress))
                .col(text_null(Executions::Error))
                .col(uuid_null(Executions::RequestedBy))
                .col(timestamp_with_time_zone(Executions::CreatedAt))
                .col(timestamp_with_time_zone_null(Executions::StartedAt))
                .col(timestamp_with_time_zone_null(Executions::HeartbeatAt))
                .col(timestamp_with_time_zone_null(Executions::FinishedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_executions_status_created",
            Executions::Table,
            &["status", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ExecutionSteps::Table)
                .if_not_exists()
                .col(pk_uuid(ExecutionSteps::Id))
                .col(uuid(ExecutionSteps::ExecutionId))
                .col(integer(ExecutionSteps::Seq))
                .col(string(ExecutionSteps::Name))
                .col(string(ExecutionSteps::Status))
                .col(text_null(ExecutionSteps::Message))
                .col(big_integer_null(ExecutionSteps::Items))
                .col(timestamp_with_time_zone(ExecutionSteps::StartedAt))
                .col(timestamp_with_time_zone_null(ExecutionSteps::FinishedAt))
                .foreign_key(&mut fk(
                    "fk_execution_steps_execution",
                    (ExecutionSteps::Table, ExecutionSteps::ExecutionId),
                    (Executions::Table, Executions::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_execution_steps_execution_seq",
            ExecutionSteps::Table,
            &["execution_id", "seq"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(SeriesClassifications::Table)
                .if_not_exists()
                .col(pk_uuid(SeriesClassifications::Id))
                .col(uuid(SeriesClassifications::SeriesId))
                .col(uuid_null(SeriesClassifications::ExecutionId))
                .col(timestamp_with_time_zone(
                    SeriesClassifications::ClassifiedAt,
                ))
                .col(string(SeriesClassifications::Class))
                .col(double(SeriesClassifications::Adi))
                .col(double(SeriesClassifications::Cv2))
                .col(double(SeriesClassifications::ZeroShare))
                .col(big_integer(SeriesClassifications::Length))
                .col(double(SeriesClassifications::TrendStrength))
                .col(double(SeriesClassifications::SeasonalStrength))
                .col(integer_null(SeriesClassifications::SeasonLength))
                .foreign_key(&mut fk(
                    "fk_series_classifications_series",
                    (
                        SeriesClassifications::Table,
                        SeriesClassifications::SeriesId,
                    ),
                    (Series::Table, Series::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_series_classifications_series_at",
            SeriesClassifications::Table,
            &["series_id", "classified_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Models::Table)
                .if_not_exists()
                .col(pk_uuid(Models::Id))
                .col(uuid_null(Models::SeriesId))
                .col(uuid_null(Models::ExecutionId))
                .col(string(Models::Family))
                .col(string(Models::Spec))
                .col(json_binary(Models::Params))
                .col(json_binary_null(Models::Metrics))
                .col(timestamp_with_time_zone(Models::FittedAt))
                .foreign_key(&mut fk(
                    "fk_models_series",
                    (Models::Table, Models::SeriesId),
                    (Series::Table, Series::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_models_series_family",
            Models::Table,
            &["series_id", "family"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Predictions::Table)
                .if_not_exists()
                .col(pk_uuid(Predictions::Id))
                .col(uuid(Predictions::SeriesId))
                .col(uuid_null(Predictions::ExecutionId))
                .col(string(Predictions::Entity))
                .col(timestamp_with_time_zone(Predictions::IssuedAt))
                .col(timestamp_with_time_zone(Predictions::CreatedAt))
                .col(timestamp_with_time_zone(Predictions::FirstTargetAt))
                .col(string(Predictions::Frequency))
                .col(integer(Predictions::Horizon))
                .col(json_binary(Predictions::QuantileLevels))
                .col(blob(Predictions::Matrix))
                .col(json_binary(Predictions::Members))
                .col(json_binary(Predictions::Calibration))
                .col(json_binary(Predictions::Thresholds))
                .col(json_binary(Predictions::Warnings))
                .foreign_key(&mut fk(
                    "fk_predictions_series",
                    (Predictions::Table, Predictions::SeriesId),
                    (Series::Table, Series::Id),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_predictions_execution",
                    (Predictions::Table, Predictions::ExecutionId),
                    (Executions::Table, Executions::Id),
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
        // One prediction per series per run: re-running a partition is idempotent.
        m.create_index(
            index(
                "uq_predictions_series_execution",
                Predictions::Table,
                &["series_id", "execution_id"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_predictions_entity_created",
            Predictions::Table,
            &["entity", "created_at"],
        ))
        .await?;
        m.create_index(index(
            "idx_predictions_series_created",
            Predictions::Table,
            &["series_id", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(OutcomeRecords::Table)
                .if_not_exists()
                .col(pk_uuid(OutcomeRecords::Id))
                .col(uuid(OutcomeRecords::PredictionId))
                .col(uuid(OutcomeRecords::SeriesId))
                .col(integer(OutcomeRecords::Step))
                .col(timestamp_with_time_zone(OutcomeRecords::TargetAt))
                .col(double(OutcomeRecords::Actual))
                .col(double(OutcomeRecords::ForecastMean))
                .col(double(OutcomeRecords::AbsError))
                .col(double(OutcomeRecords::SqError))
                .col(double(OutcomeRecords::Crps))
                .col(json_binary(OutcomeRecords::Pinball))
                .col(boolean_null(OutcomeRecords::Covered80))
                .col(boolean_null(OutcomeRecords::Covered95))
                .col(json_binary(OutcomeRecords::Brier))
                .col(timestamp_with_time_zone(OutcomeRecords::ResolvedAt))
                .foreign_key(&mut fk(
                    "fk_outcome_records_prediction",
                    (OutcomeRecords::Table, OutcomeRecords::PredictionId),
                    (Predictions::Table, Predictions::Id),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_outcome_records_series",
                    (OutcomeRecords::Table, OutcomeRecords::SeriesId),
                    (Series::Table, Series::Id),
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "uq_outcome_records_prediction_step",
                OutcomeRecords::Table,
                &["prediction_id", "step"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_outcome_records_series_target",
            OutcomeRecords::Table,
            &["series_id", "target_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(CalibrationWeights::Table)
                .if_not_exists()
                .col(pk_uuid(CalibrationWeights::Id))
                .col(string(CalibrationWeights::SeriesClass))
                .col(string(CalibrationWeights::Model))
                .col(double(CalibrationWeights::Weight))
                .col(double_null(CalibrationWeights::Score))
                .col(big_integer(CalibrationWeights::Samples))
                .col(timestamp_with_time_zone(CalibrationWeights::EffectiveAt))
                .col(uuid_null(CalibrationWeights::ExecutionId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                "uq_calibration_weights_class_model_at",
                CalibrationWeights::Table,
                &["series_class", "model", "effective_at"],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ForecastMetrics::Table)
                .if_not_exists()
                .col(pk_uuid(ForecastMetrics::Id))
                .col(uuid_null(ForecastMetrics::ExecutionId))
                .col(uuid(ForecastMetrics::SeriesId))
                .col(string(ForecastMetrics::Model))
                .col(integer_null(ForecastMetrics::HorizonStep))
                .col(json_binary(ForecastMetrics::Metrics))
                .col(timestamp_with_time_zone(ForecastMetrics::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_forecast_metrics_series",
                    (ForecastMetrics::Table, ForecastMetrics::SeriesId),
                    (Series::Table, Series::Id),
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "fk_forecast_metrics_execution",
                    (ForecastMetrics::Table, ForecastMetrics::ExecutionId),
                    (Executions::Table, Executions::Id),
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_forecast_metrics_series_created",
            ForecastMetrics::Table,
            &["series_id", "created_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(IngestRuns::Table)
                .if_not_exists()
                .col(pk_uuid(IngestRuns::Id))
                .col(string(IngestRuns::Source))
                .col(string(IngestRuns::Status))
                .col(big_integer(IngestRuns::RowsRead))
                .col(big_integer(IngestRuns::RowsLanded))
                .col(big_integer(IngestRuns::RowsRolledUp))
                .col(big_integer(IngestRuns::RowsRejected))
                .col(text_null(IngestRuns::Error))
                .col(text_null(IngestRuns::Checkpoint))
                .col(timestamp_with_time_zone(IngestRuns::StartedAt))
                .col(timestamp_with_time_zone_null(IngestRuns::FinishedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_ingest_runs_source_started",
            IngestRuns::Table,
            &["source", "started_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(IngestRejections::Table)
                .if_not_exists()
                .col(pk_uuid(IngestRejections::Id))
                .col(uuid_null(IngestRejections::RunId))
                .col(string(IngestRejections::Source))
                .col(big_integer_null(IngestRejections::Line))
                .col(text(IngestRejections::Reason))
                .col(text_null(IngestRejections::Raw))
                .col(timestamp_with_time_zone(IngestRejections::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_ingest_rejections_run",
                    (IngestRejections::Table, IngestRejections::RunId),
                    (IngestRuns::Table, IngestRuns::Id),
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "idx_ingest_rejections_run",
            IngestRejections::Table,
            &["run_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ApiKeys::Table)
                .if_not_exists()
                .col(pk_uuid(ApiKeys::Id))
                .col(string(ApiKeys::Name))
                .col(string_uniq(ApiKeys::Prefix))
                .col(string(ApiKeys::SecretHash))
                .col(string(ApiKeys::Scopes))
                .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::ExpiresAt))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents, so foreign keys never dangle.
        for table in [
            ApiKeys::Table.into_iden(),
            IngestRejections::Table.into_iden(),
            IngestRuns::Table.into_iden(),
            ForecastMetrics::Table.into_iden(),
            CalibrationWeights::Table.into_iden(),
            OutcomeRecords::Table.into_iden(),
            Predictions::Table.into_iden(),
            Models::Table.into_iden(),
            SeriesClassifications::Table.into_iden(),
            ExecutionSteps::Table.into_iden(),
            Executions::Table.into_iden(),
            Observations::Table.into_iden(),
            Series::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
