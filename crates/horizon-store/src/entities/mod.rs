//! sea-orm entities, one module per table of the migration.

pub mod api_keys;
pub mod calibration_weights;
pub mod covariate_vintages;
pub mod execution_steps;
pub mod executions;
pub mod forecast_metrics;
pub mod ingest_rejections;
pub mod ingest_runs;
pub mod interval_calibration;
pub mod models;
pub mod observations;
pub mod outcome_records;
pub mod pipeline_partitions;
pub mod predictions;
pub mod series;
pub mod series_classifications;
