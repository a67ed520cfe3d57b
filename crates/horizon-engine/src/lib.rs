//! Horizon's forecasting engine: classification, statistical models, probabilistic ensembles
//! and backtests. Pure computation: no IO, no async runtime, no database.

pub mod error;
pub mod model;

pub use error::EngineError;
pub use model::{FittedModel, ModelKind};
