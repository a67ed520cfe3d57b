//! The contract every model implements, and the list of model families.
//!
//! A model family is fitted by a plain function (`ets::fit_auto`, `theta::fit`, ...) that returns
//! a fitted type; only fitted types implement [`FittedModel`], so an unfitted model cannot
//! predict.

pub use horizon_domain::ModelKind;
use horizon_domain::QuantileLevels;

/// A fitted model: it can forecast. Produced only by the fitting functions of each family.
pub trait FittedModel: Send + Sync {
    /// The family.
    fn kind(&self) -> ModelKind;

    /// Point (mean) forecast for steps `1..=horizon`.
    fn forecast_mean(&self, horizon: usize) -> Vec<f64>;

    /// Model-based predictive quantiles, `result[level][step]` for each of `levels`, when the
    /// model has a valid predictive distribution. `None` tells the ensemble to use empirical
    /// (conformal) residual quantiles instead, which is what a model without one (the naive
    /// baselines, MSTL) leaves to this default. The levels are checked once, by their type.
    fn forecast_quantiles(&self, horizon: usize, levels: &QuantileLevels) -> Option<Vec<Vec<f64>>> {
        let _ = (horizon, levels);
        None
    }

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
