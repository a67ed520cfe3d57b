//! The contract every model implements, and the list of model families.
//!
//! A model family is fitted by a plain function (`ets::fit_auto`, `theta::fit`, ...) that returns
//! a fitted type; only fitted types implement [`FittedModel`], so an unfitted model cannot
//! predict.

use std::{fmt, str::FromStr};

use crate::EngineError;

/// The model families of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelKind {
    /// Last value.
    Naive,
    /// Value one season ago.
    SeasonalNaive,
    /// Line through the first and last value.
    Drift,
    /// Mean of the last window.
    WindowAverage,
    /// Mean of the whole history.
    HistoricAverage,
    /// Exponential smoothing with automatic selection of error/trend/season forms by AICc.
    AutoEts,
    /// Classical Theta (theta = 2) on the seasonally adjusted series.
    Theta,
    /// Optimized Theta (theta and alpha chosen by in-sample MSE).
    OptimizedTheta,
    /// Dynamic optimized Theta.
    DynamicOptimizedTheta,
    /// Croston's method for intermittent demand.
    Croston,
    /// Syntetos–Boylan approximation (bias-corrected Croston).
    Sba,
    /// Teunter–Syntetos–Babai (probability of demand updated every period).
    Tsb,
    /// Aggregate–disaggregate intermittent demand approach.
    Adida,
    /// Intermittent multiple aggregation prediction algorithm.
    Imapa,
    /// Multiple seasonal-trend decomposition by Loess, trend forecast by ETS.
    Mstl,
    /// Damped-trend exponential smoothing on the seasonally adjusted series.
    DampedTrend,
}

impl ModelKind {
    /// Every family, in a stable order.
    pub const ALL: [ModelKind; 16] = [
        ModelKind::Naive,
        ModelKind::SeasonalNaive,
        ModelKind::Drift,
        ModelKind::WindowAverage,
        ModelKind::HistoricAverage,
        ModelKind::AutoEts,
        ModelKind::Theta,
        ModelKind::OptimizedTheta,
        ModelKind::DynamicOptimizedTheta,
        ModelKind::Croston,
        ModelKind::Sba,
        ModelKind::Tsb,
        ModelKind::Adida,
        ModelKind::Imapa,
        ModelKind::Mstl,
        ModelKind::DampedTrend,
    ];

    /// The family's stable name (used on the command line, in the database and the API).
    pub fn as_str(&self) -> &'static str {
        match self {
            ModelKind::Naive => "naive",
            ModelKind::SeasonalNaive => "snaive",
            ModelKind::Drift => "drift",
            ModelKind::WindowAverage => "window_average",
            ModelKind::HistoricAverage => "historic_average",
            ModelKind::AutoEts => "ets",
            ModelKind::Theta => "theta",
            ModelKind::OptimizedTheta => "otm",
            ModelKind::DynamicOptimizedTheta => "dotm",
            ModelKind::Croston => "croston",
            ModelKind::Sba => "sba",
            ModelKind::Tsb => "tsb",
            ModelKind::Adida => "adida",
            ModelKind::Imapa => "imapa",
            ModelKind::Mstl => "mstl",
            ModelKind::DampedTrend => "damped",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ModelKind {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| EngineError::InvalidInput {
                what: "model",
                reason: format!(
                    "{s:?} is not one of {}",
                    ModelKind::ALL.map(|k| k.as_str()).join(", ")
                ),
            })
    }
}

/// A fitted model: it can forecast. Produced only by the fitting functions of each family.
pub trait FittedModel: Send + Sync {
    /// The family.
    fn kind(&self) -> ModelKind;

    /// Point (mean) forecast for steps `1..=horizon`.
    fn forecast_mean(&self, horizon: usize) -> Vec<f64>;

    /// Model-based predictive quantiles, `result[level][step]` for each of `levels` (ascending,
    /// in `(0, 1)`), when the model has a valid predictive distribution. `None` tells the
    /// ensemble to use empirical (conformal) residual quantiles instead.
    fn forecast_quantiles(&self, horizon: usize, levels: &[f64]) -> Option<Vec<Vec<f64>>>;

    /// One-step-ahead in-sample fitted values aligned with the history (NaN where undefined).
    fn fitted(&self) -> &[f64];

    /// Small-sample corrected AIC when the model is likelihood-based.
    fn aicc(&self) -> Option<f64> {
        None
    }

    /// The mean forecast for steps `1..=horizon` this fit makes standing at `origin` (a
    /// position in its history: the first `origin` values seen), its parameters and initial
    /// states kept. A validation window of a long history then costs one filter pass instead
    /// of a new fit. `None` when the model does not support it or `origin` lies outside the
    /// stretch it was fitted on; the caller refits then.
    fn forecast_from(&self, origin: usize, horizon: usize) -> Option<Vec<f64>> {
        let _ = (origin, horizon);
        None
    }
}
