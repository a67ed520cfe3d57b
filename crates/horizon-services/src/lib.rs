//! Horizon's application services. They compose the store and the engine into the operations
//! the binaries expose — ingest a file, run the forecasting pipeline — so that `main`
//! functions only load settings, set up telemetry and call one of these.

pub mod error;
pub mod ingest;
pub mod jobs;
pub mod pipeline;
pub mod telemetry;

pub use error::ServiceError;
