//! Horizon's forecasting engine: classification, statistical models, probabilistic ensembles
//! and backtests. Pure computation: no IO, no async runtime, no database.
//!
//! The entry points are [`forecast`] (one series), [`forecast_many`] (many, in parallel) and
//! [`backtest()`] (rolling-origin evaluation). Model families can also be fitted one by one
//! ([`baseline`], [`intermittent`], [`ets`], [`theta`], [`damped`], [`mstl`]); fitted models
//! implement [`FittedModel`]. [`metrics`] scores forecasts, also outside of backtests.
//!
//! ```
//! use horizon_domain::Bounds;
//! use horizon_engine::{BacktestConfig, ForecastRequest, backtest, forecast};
//!
//! // Four years of monthly sales with a yearly cycle.
//! let history: Vec<f64> = (0..48)
//!     .map(|t| 100.0 + t as f64 + [5.0, 2.0, -3.0, -8.0, -4.0, 0.0, 3.0, 6.0, 4.0, 1.0, -2.0, -4.0][t % 12])
//!     .collect();
//! let mut request = ForecastRequest::new(&history, 12);
//! request.season_lengths = vec![12];
//! request.bounds = Bounds::NON_NEGATIVE;
//! request.thresholds = vec![horizon_engine::Threshold::above(150.0)];
//! let f = forecast(&request).unwrap();
//! assert_eq!(f.mean.len(), 12);
//! assert_eq!(f.intervals.len(), 2); // 80% and 95%
//! assert!(f.intervals[1].lo[0] <= f.intervals[0].lo[0]);
//! assert!(f.threshold_probabilities[0].any_step <= 1.0);
//!
//! let report = backtest(
//!     &request,
//!     &BacktestConfig { horizon: 6, windows: 2, step: 6, gap: 0 },
//!     12,
//! )
//! .unwrap();
//! assert!(report.metrics.mase.is_finite());
//! ```

pub mod arima;
pub mod backtest;
pub mod baseline;
pub mod calendar;
pub mod calibration;
pub mod classify;
pub mod covariates;
pub mod damped;
mod daylight;
mod driven;
pub mod ensemble;
pub mod error;
pub mod ets;
pub mod intermittent;
pub mod laying;
pub mod metrics;
pub mod model;
pub mod mstl;
pub mod optim;
mod quantreg;
pub mod seasonality;
pub mod solar;
pub mod theta;
mod util;

#[cfg(test)]
mod covariate_tests;
#[cfg(test)]
mod high_frequency_tests;
#[cfg(test)]
mod tests;

pub use backtest::{BacktestConfig, BacktestReport, Metrics, backtest};
pub use classify::classify;
pub use covariates::{Covariate, Timeline};
pub use ensemble::{
    Forecast, ForecastRequest, Interval, Member, ThresholdProbability, forecast, forecast_many,
    history_length,
};
pub use error::EngineError;
pub use horizon_domain::{ForecastWarning, Threshold, ThresholdDirection, WarningKind};
pub use model::{FittedModel, ModelKind};
