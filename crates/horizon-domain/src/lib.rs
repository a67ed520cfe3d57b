//! Horizon's domain: the types every other crate speaks, with their invariants checked at
//! construction ("parse, don't validate"). This crate does no IO and depends on no other crate
//! of the workspace.
//!
//! ```
//! use horizon_domain::{Bounds, Frequency, QuantileLevels, SeriesKey};
//!
//! let key = SeriesKey::parse("solar-plant-01").unwrap();
//! let freq: Frequency = "15min".parse().unwrap();
//! let bounds = Bounds::new(Some(0.0), Some(50.0)).unwrap();
//! assert_eq!(bounds.clamp(72.0), 50.0);
//! assert_eq!(freq.season_lengths(), vec![96, 672]);
//! assert_eq!(QuantileLevels::default().levels().len(), 11);
//! assert_eq!(key.as_str(), "solar-plant-01");
//! ```

mod error;
mod error_code;
mod execution;
mod forecast;
mod frequency;
mod model_kind;
mod profile;
mod records;
mod resample;
mod scope;
mod series;
mod site;
mod threshold;
mod warning;

pub use error::DomainError;
pub use error_code::ErrorCode;
pub use execution::{ExecutionKind, ExecutionStatus, ForecastKind, StepStatus};
pub use forecast::{ForecastMatrix, QuantileLevels, interval_quantiles};
pub use frequency::Frequency;
pub use model_kind::ModelKind;
pub use profile::{SeriesClass, SeriesProfile};
pub use records::{
    ApiKeyRecord, CalibrationWeight, Classification, CovariateLink, CovariateUse, EnsembleMember,
    Execution, ExecutionStep, ForecastMetric, IngestRejection, IngestRun, IngestStatus,
    IntervalScale, ModelRecord, Observation, OutcomeRecord, Partition, Prediction, Series,
    SeriesMeta, ThresholdProbability, VintageValue,
};
pub use resample::{Accumulator, Aggregate, Bucket};
pub use scope::{ApiScope, ApiScopes};
pub use series::{Bounds, SeriesKey};
pub use site::{ATTRIBUTE_FIELDS, IntervalLabel, Location, Orientation, SeriesAttributes};
pub use threshold::{MAX_THRESHOLDS, Threshold, ThresholdDirection};
pub use warning::{ForecastWarning, WarningKind};

/// Timestamps are always UTC instants; offsets are resolved at the edges.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

#[cfg(test)]
mod tests;
