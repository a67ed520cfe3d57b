//! Repository methods of [`crate::Store`], one module per aggregate.

pub mod api_keys;
pub mod api_reads;
pub mod calibration;
pub mod classifications;
pub mod covariates;
pub mod executions;
pub mod ingest;
pub mod metrics;
pub mod models;
pub mod observations;
pub mod observations_bulk;
pub mod operator;
pub mod outcomes;
pub mod partitions;
pub mod predictions;
pub mod series;
