//! Exponential smoothing state space models (ETS), fitted and selected as R's `forecast::ets`
//! and statsforecast's `AutoETS` do.
//!
//! * Forms: error A/M, trend N/A/Ad, season N/A/M. Multiplicative trends are not offered (R's
//!   default `allow.multiplicative.trend = FALSE`). Restricted combinations are excluded as in R
//!   (additive error with multiplicative season); multiplicative error or season only for
//!   strictly positive data; seasonal forms only for `2 <= m <= 24` and `n > m`.
//! * Initial states by R's `initstate` heuristic, then smoothing parameters and initial states
//!   together by bounded Nelder–Mead on R's likelihood criterion
//!   `n log(sum e^2)` (+ `2 sum log|yhat|` for multiplicative error), with R's "both" bounds
//!   (usual `beta < alpha`, `gamma < 1 - alpha`, `phi` in `[0.8, 0.98]`, plus admissibility).
//! * Selection by AICc with `np = parameters + initial states + 1`. The search ranks every form
//!   with one optimiser start (seasonal forms with a shorter stage two), starting each damped
//!   form from its undamped fit and each multiplicative-error form (without multiplicative
//!   season) from its additive-error twin; only the winner is polished from its solution, with
//!   the full budget (seasonal) or a restart (non-seasonal).
//! * Prediction intervals: exact Gaussian ones for the linear models (class 1), the exact
//!   variance of Hyndman et al. (2008) with Gaussian quantiles for multiplicative error without
//!   multiplicative season (class 2), and 1 000 simulated sample paths with Latin-hypercube
//!   shocks and a fixed seed for the multiplicative-season models (class 3).
//!
//! The data are divided by `max |y|` before fitting (the fit is scale-equivariant) and results
//! multiplied back; the reported AICc is on the original scale.

use horizon_domain::QuantileLevels;

use crate::EngineError;
use crate::model::{FittedModel, ModelKind};
use crate::optim::{NelderMeadOptions, nelder_mead};
use crate::util::{FitWindow, ScaleBy};

mod filter;
mod init;
mod predict;
mod search;
mod spec;

use filter::*;
use init::*;
pub(crate) use search::fit_ses;
use search::*;
use spec::*;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod tests_data;

const MODEL: &str = "ets";
/// Longest seasonal period the seasonal forms accept, as R.
pub const MAX_SEASON_LENGTH: usize = 24;
/// Most recent values a fit estimates on. Exponential smoothing forgets geometrically, so older
/// values barely move the parameters, while each one costs a filter step per optimiser
/// iteration; a high-frequency history (thousands of 15-minute values) is fitted on its tail.
pub const MAX_FIT_LENGTH: usize = 1_000;
const TOL: f64 = 1e-10;
const HUGEN: f64 = 1e10;
const LOWER: [f64; 4] = [1e-4, 1e-4, 1e-4, 0.8];
const UPPER: [f64; 4] = [0.9999, 0.9999, 0.9999, 0.98];
const SIM_PATHS: usize = 1_000;
const SIM_SEED: u64 = 0x5eed_0e75;

/// A fitted ETS model. Forecasts, fitted values and quantiles are on the scale of the data.
#[derive(Debug, Clone)]
pub struct EtsFit {
    inner: Fitted,
    scale: f64,
    aicc: f64,
    /// Fitted values on the data scale, aligned with the input (NaN before the stretch used).
    fitted: Vec<f64>,
    /// Position in the input of the first value used, and the values used (scaled).
    start: usize,
    used: Vec<f64>,
}

/// The last run of finite values; `(start, values)`.
pub(crate) fn trailing_finite(y: &[f64]) -> (usize, &[f64]) {
    let end = y.iter().rposition(|v| v.is_finite()).map_or(0, |i| i + 1);
    let start = y[..end]
        .iter()
        .rposition(|v| !v.is_finite())
        .map_or(0, |i| i + 1);
    (start, &y[start..end])
}

/// Automatic ETS as R `forecast::ets` / statsforecast `AutoETS`: error A/M, trend N/A/Ad, season
/// N/A/M (season only when `2 <= m <= 24` and `n > m`), parameters by bounded Nelder–Mead over
/// the state-space likelihood with R's "both" bounds, selection by AICc. Multiplicative forms
/// only for strictly positive data; additive error with multiplicative season is excluded.
///
/// Uses the last run of finite values (at least 4, at most [`MAX_FIT_LENGTH`]). A constant series gives simple exponential
/// smoothing with zero variance. Fails with [`EngineError::CannotFit`] when no form can be
/// fitted.
pub fn fit_auto(y: &[f64], m: Option<usize>) -> Result<EtsFit, EngineError> {
    search(y, m, Search::Full)
}

/// [`fit_auto`] without seasonal forms and over additive errors only: ETS(A,N,N), (A,A,N),
/// (A,Ad,N). For the trend of a seasonally adjusted series (MSTL): the point forecasts of the
/// multiplicative-error twins are the same functions of their parameters, only their
/// likelihood weighs errors differently, and MSTL's intervals come from its validation
/// errors, not from the trend model — so the other half of the search buys nothing there.
///
/// One optimiser start per form, without the restart [`fit_auto`] gives its non-seasonal
/// winner: this trend is refitted at every run of a high-frequency series, where it was most
/// of the engine's time. Without a restart (then given to every form), the forecasts of 300 solar-like 15-minute series moved by
/// 0.003% of their mean on average (at most 0.23 on values up to 80), for 11% less CPU in the
/// whole forecast.
pub(crate) fn fit_auto_additive_trend(y: &[f64]) -> Result<EtsFit, EngineError> {
    search(y, None, Search::AdditiveTrend)
}

/// Fits one given form, e.g. `"AAdM"`, `"MNN"`, `"A,Ad,A"` (error, trend with optional `d`,
/// season). Fails with [`EngineError::InvalidInput`] for an unknown or unsupported form
/// (multiplicative trend), and [`EngineError::CannotFit`] when the data do not allow it
/// (non-positive data with a multiplicative part, a seasonal form without a usable `m`, too
/// few values).
pub fn fit_spec(y: &[f64], m: Option<usize>, spec: &str) -> Result<EtsFit, EngineError> {
    fit_spec_with(y, m, spec, SEASONAL_STAGE_TWO_ITER)
}

/// `ETS(M,Ad,M)` → `M,Ad,M`: a fit's [`EtsFit::spec`] label as the form [`fit_spec`] reads.
pub(crate) fn form_of(label: &str) -> String {
    label
        .trim_start_matches("ETS(")
        .trim_end_matches(')')
        .to_owned()
}

/// [`fit_spec`] with the shorter search budget, for refits on validation windows.
pub(crate) fn fit_spec_quick(
    y: &[f64],
    m: Option<usize>,
    spec: &str,
) -> Result<EtsFit, EngineError> {
    fit_spec_with(y, m, spec, SEASONAL_SEARCH_ITER)
}

/// The standard normal quantile; NaN in, NaN out (the shared approximation maps NaN to -inf).
pub(crate) fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    crate::util::normal_quantile(p)
}
