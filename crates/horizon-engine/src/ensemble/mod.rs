//! The probabilistic ensemble: impute, classify, route to candidate models, weight them by
//! rolling-origin validation (or by the caller's calibration weights), combine their quantile
//! functions by averaging (Vincentization), apply bounds to the whole distribution, and derive
//! threshold-exceedance probabilities from seeded sample paths.
//!
//! How each step works:
//! - **Missing values** (NaN, ±∞): leading ones are dropped, interior ones linearly
//!   interpolated, trailing ones carried forward, with a warning.
//! - **Scale**: the series is divided by its largest magnitude before fitting, so huge values
//!   (1e300) do not overflow, and multiplied back at the end.
//! - **Routing**: sporadic series (intermittent, lumpy) go to Croston, SBA, TSB, ADIDA, IMAPA and
//!   a window average; regular series (smooth, erratic) to automatic ETS, classical Theta and
//!   the dynamic optimised Theta model (DOTM), plus MSTL when two or more seasonal periods are
//!   detected; at frequencies without a seasonal cycle (season length 1, e.g. yearly data) the
//!   optimised Theta (OTM) takes the classical one's place. On M1 and Tourism this beat the M4
//!   "Comb" trio (ETS, Theta, damped trend): the damped trend damps yearly growth too much,
//!   DOTM follows it.
//! - **Seasonality**: the 90% ACF test (M4 practice) decides whether Theta, the damped trend and
//!   the history floor deseasonalise; ETS is offered the seasonal forms whenever the period
//!   allows them and selects by AICc, as R's `ets` and statsforecast's `AutoETS` do (the test
//!   misses trending seasonal series, and ETS without a season lost 4 OWA points on M1 monthly).
//! - **Validation**: up to [`VALIDATION_WINDOWS`] rolling origins at the end of the history,
//!   each refitting every member and forecasting up to the horizon. Their errors weight the
//!   members (in proportion to the inverse of their validation MAE) and calibrate intervals.
//! - **Member distributions**: model-based quantiles where the model has a valid predictive
//!   distribution (ETS, the Theta family, damped trend); otherwise conformal: the validation
//!   errors per step are normalised by a power-law scale `a * step^b` fitted to them, and their empirical
//!   quantiles (shrunk towards a normal fit when there are few) are added to the point
//!   forecast. Without validation errors, in-sample one-step residuals grown by `sqrt(step)`.
//! - **Combined distribution** (see `combine_quantiles`): the members' quantiles averaged
//!   (Vincentization), then widened around the median so that the spread also holds (a) the
//!   disagreement between the members' means and (b) at least the history's own `s`-step
//!   variability around its average drift (see `drift_spread`), then (c) per step by the
//!   factor that gives the combined forecast's rolling-origin errors unit variance in units of
//!   that spread (never narrower), and finally (d) its tails beyond the 80% interval are
//!   stretched (`TAIL_STRETCH`): forecast errors are heavier-tailed than normal. Sporadic
//!   series skip (b), (c) and (d): their flat forecasts' errors do not accumulate.
//! - **Guards**: a member that fails to fit, or whose forecast is not finite or leaves
//!   `[min - k·range, max + k·range]` of the history (`k = 10·max(1, horizon/n)`), is dropped
//!   with a warning; when none is left, naive takes over.
//! - **Bounds** clip every quantile and the mean (the weighted mean of the members).
//! - **Thresholds**: `P(value > t)` per step from the combined distribution function, and
//!   `P(exceeds at least once)` from sample paths drawn through a Gaussian copula whose
//!   step-to-step correlation is estimated from the validation errors.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use horizon_domain::{
    Bounds, DomainError, ForecastMatrix, ForecastWarning, QuantileLevels, SeriesAttributes,
    SeriesClass, SeriesProfile, Threshold, ThresholdDirection, WarningKind, interval_quantiles,
};
use rand::{SeedableRng, rngs::SmallRng};
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::{
    EngineError, FittedModel, ModelKind, arima, baseline,
    classify::classify,
    covariates::{Covariate, Timeline},
    damped,
    daylight::Daylight,
    ets, intermittent, mstl, seasonality, theta, util,
};

mod combine;
mod members;
mod spread;
mod thresholds;
mod univariate;

pub(crate) use combine::interp;
use combine::*;
use members::*;
use spread::*;
pub(crate) use thresholds::threshold_probabilities;
pub(crate) use univariate::univariate;

/// Number of rolling origins used to validate and calibrate the members.
pub const VALIDATION_WINDOWS: usize = 4;
/// Most rolling origins of a long history, whose windows are spread over its longest cycle
/// (see `validation_origins`): 12 windows a quarter-horizon apart cover a week of hourly
/// data at a 48-step horizon (chosen on the development set's hourly subset, `bench/accuracy`
/// dataset `hf`).
pub const LONG_VALIDATION_WINDOWS: usize = 12;
/// From this many values on, validation windows keep the full fit's parameters and only
/// re-run its filter up to each origin ([`FittedModel::forecast_from`]), as cross-validation
/// without refitting does; shorter histories are refitted per window. Re-estimating on a few
/// hundred fewer values of a long history hardly moves the parameters, and each refit costs a
/// full optimisation.
pub const LONG_HISTORY: usize = 500;
/// On a history of at least [`LONG_HISTORY`] values, a member whose validation MAE exceeds the
/// best member's by more than this factor gets no weight. A long history's windows are spread
/// over its longest cycle (`validation_origins`), so their MAE tells a member that misses the
/// cycle from one that follows it; inverse-MAE weights alone left a quarter of the weight on
/// members three to eight times worse. On the development set's high-frequency series
/// (`bench/accuracy`, dataset `hf`) the ensemble's OWA was 0.679 without it and 0.634, 0.632,
/// 0.631 with factors 2, 1.5, 1.25 (hourly 0.413 with 1.5, from 0.591); squared or cubed
/// inverse MAE instead reached 0.642 and 0.635. Short histories (every M1 and Tourism series)
/// keep every member: a few windows' MAE is too noisy to discard one on.
pub const LONG_HISTORY_TRIM: f64 = 1.5;

/// Number of sample paths drawn for "exceeds at least once" probabilities.
pub const SAMPLE_PATHS: usize = 1000;
/// Longest horizon accepted.
pub const MAX_HORIZON: usize = 100_000;
/// The most recent observations used for fitting (the longer of this and three cycles of the
/// longest candidate period, see [`history_length`]); older ones are ignored to bound time and
/// memory.
pub const MAX_HISTORY: usize = 2_000;

/// How many of the most recent values [`forecast`] uses for the given candidate periods: the
/// longer of [`MAX_HISTORY`] and three cycles of the longest period (what the seasonality test
/// needs to see it). A caller loading histories from storage needs no more than this.
pub fn history_length(season_lengths: &[usize]) -> usize {
    let longest = season_lengths.iter().copied().max().unwrap_or(1);
    MAX_HISTORY.max(longest.saturating_mul(3))
}

/// What to forecast and how. Build it with [`ForecastRequest::new`] and set the fields needed.
#[derive(Debug, Clone)]
pub struct ForecastRequest<'a> {
    /// The history, oldest first; NaN marks a missing value.
    pub values: &'a [f64],
    /// Number of steps to forecast (at least 1).
    pub horizon: usize,
    /// Candidate seasonal periods, e.g. `[12]` for monthly data or `[96, 672]` for 15-minute
    /// data; the ones that pass the 90% ACF test are used.
    pub season_lengths: Vec<usize>,
    /// The quantile levels of [`Forecast::quantiles`].
    pub quantile_levels: QuantileLevels,
    /// Central interval levels in percent, e.g. `[80.0, 95.0]`.
    pub interval_levels: Vec<f64>,
    /// Physical bounds; the whole distribution is clipped to them.
    pub bounds: Bounds,
    /// Thresholds whose crossing probabilities are wanted.
    pub thresholds: Vec<Threshold>,
    /// Calibration weights per model from the caller; they replace validation weights. Models
    /// without an entry get weight 0.
    pub model_weights: Option<&'a HashMap<ModelKind, f64>>,
    /// Calibration weights per series class: when `model_weights` is `None`, the table of the
    /// class this forecast classifies the series into is used as `model_weights` would be. A
    /// caller that learns weights per class passes them all and needs no classification of
    /// its own.
    pub class_weights: Option<&'a HashMap<SeriesClass, HashMap<ModelKind, f64>>>,
    /// Restrict the ensemble to these models (one model: a single-model forecast). `None`: the
    /// models the series class routes to.
    pub models: Option<Vec<ModelKind>>,
    /// Seed of the sample paths; equal requests with equal seeds give equal forecasts.
    pub seed: u64,
    /// Known-future covariates, each covering the history and the horizon (see
    /// [`crate::covariates`]); empty for a forecast from the history alone.
    pub covariates: Vec<Covariate<'a>>,
    /// When the history was observed; needed by the solar physics.
    pub timeline: Option<Timeline>,
    /// Where and how the series is measured (location, capacity, orientation, ...).
    pub attributes: SeriesAttributes,
}

impl<'a> ForecastRequest<'a> {
    /// A request with the defaults: no seasonality candidates, `QuantileLevels::default()`,
    /// intervals 80 and 95, no bounds, no thresholds, validation weights, routed models, seed 0.
    pub fn new(values: &'a [f64], horizon: usize) -> Self {
        Self {
            values,
            horizon,
            season_lengths: Vec::new(),
            quantile_levels: QuantileLevels::default(),
            interval_levels: vec![80.0, 95.0],
            bounds: Bounds::UNBOUNDED,
            thresholds: Vec::new(),
            model_weights: None,
            class_weights: None,
            models: None,
            seed: 0,
            covariates: Vec::new(),
            timeline: None,
            attributes: SeriesAttributes::default(),
        }
    }
}

/// A central prediction interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Level in percent, e.g. 80.
    pub level: f64,
    /// Lower end per step.
    pub lo: Vec<f64>,
    /// Upper end per step.
    pub hi: Vec<f64>,
}

/// Exceedance probabilities of one threshold: the domain's type, so the forecast reaches the
/// store and the wire without being copied field by field.
pub use horizon_domain::ThresholdProbability;

/// A model of the ensemble and its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The model family.
    pub kind: ModelKind,
    /// Its weight in the combination (weights sum to 1).
    pub weight: f64,
    /// Why it is in the ensemble and where its weight comes from.
    pub reason: String,
    /// This member's own mean forecast per step, clipped to the bounds.
    pub mean: Vec<f64>,
    /// This member's own quantiles at [`Forecast::quantile_levels`], `quantiles[level][step]`,
    /// clipped to the bounds (what outcomes score each model by).
    pub quantiles: Vec<Vec<f64>>,
    /// This member's own central intervals at the requested levels, in the order requested:
    /// its spread alone, before the ensemble's calibration (the batch CLI's per-model
    /// columns).
    pub intervals: Vec<Interval>,
}

/// A probabilistic forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Mean forecast per step: the weighted mean of the members, clipped to the bounds.
    pub mean: Vec<f64>,
    /// The quantile levels of [`Forecast::quantiles`], ascending: the request's.
    pub quantile_levels: QuantileLevels,
    /// `quantiles[level][step]`; never crossing, within the bounds.
    pub quantiles: Vec<Vec<f64>>,
    /// One interval per requested interval level, in the order requested.
    pub intervals: Vec<Interval>,
    /// The models combined, with their weights.
    pub members: Vec<Member>,
    /// The features and class of the history.
    pub profile: SeriesProfile,
    /// One entry per requested threshold, in the order requested.
    pub threshold_probabilities: Vec<ThresholdProbability>,
    /// What was imputed, dropped or replaced on the way, each with its kind.
    pub warnings: Vec<ForecastWarning>,
}

impl Member {
    /// This member's forecast as stored: its mean and its quantiles at the forecast's levels.
    pub fn matrix(&self) -> Result<ForecastMatrix, DomainError> {
        ForecastMatrix::from_paths(&self.mean, &self.quantiles)
    }
}

impl Forecast {
    /// The forecast as stored: the mean and one column per level of
    /// [`Forecast::quantile_levels`]. The engine keeps `f64` paths (the batch CLI writes them
    /// as they are, and the pipeline's interval scales act on them before storage); this is
    /// the one conversion to the stored `f32` matrix. Fails only if a path's length differs
    /// from the mean's, which the engine never returns.
    pub fn matrix(&self) -> Result<ForecastMatrix, DomainError> {
        ForecastMatrix::from_paths(&self.mean, &self.quantiles)
    }
}

/// Forecasts many series in parallel (rayon). `progress` is called with the number of series
/// finished so far after each one. The results are in the order of `requests`.
pub fn forecast_many(
    requests: &[ForecastRequest<'_>],
    progress: impl Fn(usize) + Sync,
) -> Vec<Result<Forecast, EngineError>> {
    let done = AtomicUsize::new(0);
    requests
        .par_iter()
        .map(|r| {
            let out = forecast(r);
            progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            out
        })
        .collect()
}

/// A warning of `kind`: short for [`ForecastWarning::new`] where warnings are collected.
pub(crate) fn warn(kind: WarningKind, message: impl Into<String>) -> ForecastWarning {
    ForecastWarning::new(kind, message)
}

fn invalid(what: &'static str, reason: impl Into<String>) -> EngineError {
    EngineError::InvalidInput {
        what,
        reason: reason.into(),
    }
}

/// Cleans the history: see the module docs. Returns the series and the number imputed.
pub(crate) fn impute(values: &[f64]) -> (Vec<f64>, usize) {
    let Some(first) = values.iter().position(|v| v.is_finite()) else {
        return (Vec::new(), 0);
    };
    let v = &values[first..];
    let mut out = Vec::with_capacity(v.len());
    let mut imputed = 0;
    let mut last_i = 0usize;
    for (i, x) in v.iter().enumerate() {
        if x.is_finite() {
            if i > last_i + 1 {
                let (a, b) = (v[last_i], *x);
                let gap = (i - last_i) as f64;
                for j in last_i + 1..i {
                    out.push(a + (b - a) * (j - last_i) as f64 / gap);
                    imputed += 1;
                }
            }
            out.push(*x);
            last_i = i;
        }
    }
    let last = v[last_i];
    while out.len() < v.len() {
        out.push(last);
        imputed += 1;
    }
    (out, imputed)
}

const MODEL_QUANTILES: bool = true;

/// An even grid of levels, so that the combination sees the members' whole distribution
/// whatever levels are requested.
pub(crate) const MEAN_GRID: usize = 40;

/// The levels every member is computed and combined on: the requested quantiles, the ends of
/// the requested intervals and an even grid of [`MEAN_GRID`] levels for the mean. Shared by the
/// univariate ensemble and the covariate members, which read their output off it alike.
pub(crate) struct LevelGrid {
    /// Every level, ascending.
    pub(crate) levels: QuantileLevels,
    /// Each requested interval level (percent) with the quantile levels of its two ends.
    pub(crate) intervals: Vec<(f64, f64, f64)>,
}

impl LevelGrid {
    /// The grid of `request`; fails on an interval level outside (0, 100).
    pub(crate) fn of(request: &ForecastRequest<'_>) -> Result<Self, EngineError> {
        let mut intervals = Vec::with_capacity(request.interval_levels.len());
        for l in &request.interval_levels {
            let (lo, hi) =
                interval_quantiles(*l).map_err(|e| invalid("interval level", e.to_string()))?;
            intervals.push((*l, lo, hi));
        }
        let mut all = request.quantile_levels.levels().to_vec();
        all.extend(intervals.iter().flat_map(|(_, lo, hi)| [*lo, *hi]));
        all.extend((0..MEAN_GRID).map(|i| (i as f64 + 0.5) / MEAN_GRID as f64));
        let levels =
            QuantileLevels::new(all).map_err(|e| invalid("quantile levels", e.to_string()))?;
        Ok(Self { levels, intervals })
    }

    /// The levels, ascending.
    pub(crate) fn as_slice(&self) -> &[f64] {
        self.levels.levels()
    }

    /// Number of levels.
    pub(crate) fn len(&self) -> usize {
        self.levels.len()
    }

    /// Row of `level` (a level the grid was built with).
    pub(crate) fn position(&self, level: f64) -> usize {
        self.levels.position(level).unwrap_or(0)
    }

    /// The rows of `q` (`q[grid level][step]`) at the requested quantile levels, each passed
    /// through `f(step, value)`.
    pub(crate) fn requested(
        &self,
        request: &ForecastRequest<'_>,
        q: &[Vec<f64>],
        f: impl Fn(usize, f64) -> f64,
    ) -> Vec<Vec<f64>> {
        request
            .quantile_levels
            .levels()
            .iter()
            .map(|l| {
                q[self.position(*l)]
                    .iter()
                    .enumerate()
                    .map(|(s, v)| f(s, *v))
                    .collect()
            })
            .collect()
    }

    /// The requested intervals read off `q` (`q[grid level][step]`).
    pub(crate) fn intervals(&self, q: &[Vec<f64>]) -> Vec<Interval> {
        self.intervals
            .iter()
            .map(|(level, lo, hi)| Interval {
                level: *level,
                lo: q[self.position(*lo)].clone(),
                hi: q[self.position(*hi)].clone(),
            })
            .collect()
    }
}

/// Forecasts one series. Fails only on an invalid request (horizon 0 or too long, bad interval
/// level, a covariate that does not cover the horizon) or a history without any finite value.
///
/// With covariates, a location and a sub-daily time line, or a country (holidays) and steps of a
/// day or less, the covariate models of the engine (the PV quantile regression, the regression
/// on drivers and calendar) are fitted beside the univariate ensemble and weighed against it on
/// a hold-out of the history.
pub fn forecast(request: &ForecastRequest<'_>) -> Result<Forecast, EngineError> {
    let physics =
        request.attributes.location.is_some() && request.timeline.is_some_and(|t| t.is_sub_daily());
    let holidays = request.attributes.country.is_some()
        && request.timeline.is_some_and(|t| t.step_seconds <= 86_400);
    if request.covariates.is_empty() && !physics && !holidays {
        return univariate(request);
    }
    if request.horizon == 0 || request.horizon > MAX_HORIZON {
        return Err(invalid(
            "horizon",
            format!("{} is not between 1 and {MAX_HORIZON}", request.horizon),
        ));
    }
    crate::driven::forecast(request)
}
