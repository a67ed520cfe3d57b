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
    Bounds, QuantileLevels, SeriesAttributes, SeriesClass, SeriesProfile, interval_quantiles,
};
use rand::{SeedableRng, rngs::SmallRng};
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::{
    EngineError, FittedModel, ModelKind, baseline,
    classify::classify,
    covariates::{Covariate, Timeline},
    damped,
    daylight::Daylight,
    ets, intermittent, mstl, seasonality, theta, util,
};

/// Number of rolling origins used to validate and calibrate the members.
pub const VALIDATION_WINDOWS: usize = 4;
/// From this many values on, validation windows keep the full fit's parameters and only
/// re-run its filter up to each origin ([`FittedModel::forecast_from`]), as cross-validation
/// without refitting does; shorter histories are refitted per window. Re-estimating on a few
/// hundred fewer values of a long history hardly moves the parameters, and each refit costs a
/// full optimisation.
pub const LONG_HISTORY: usize = 500;
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
    /// Thresholds whose exceedance probabilities are wanted.
    pub thresholds: Vec<f64>,
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

/// Exceedance probabilities of one threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdProbability {
    /// The threshold.
    pub threshold: f64,
    /// `P(value > threshold)` per step.
    pub per_step: Vec<f64>,
    /// `P(value > threshold at least once within the horizon)`.
    pub any: f64,
}

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
}

/// A probabilistic forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Mean forecast per step: the weighted mean of the members, clipped to the bounds.
    pub mean: Vec<f64>,
    /// The quantile levels of [`Forecast::quantiles`], ascending.
    pub quantile_levels: Vec<f64>,
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
    /// What was imputed, dropped or replaced on the way.
    pub warnings: Vec<String>,
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

/// What the fitting functions need beyond the history.
#[derive(Debug, Clone, Default)]
struct FitContext {
    season: Option<usize>,
    periods: Vec<usize>,
    /// The MSTL trend's form chosen on the full history, refitted as is on validation windows.
    mstl_trend: Option<String>,
    /// Season length offered to ETS, which selects seasonal forms by AICc rather than by the
    /// seasonality test.
    ets_season: Option<usize>,
}

fn fit_kind(
    kind: ModelKind,
    y: &[f64],
    ctx: &FitContext,
) -> Result<Box<dyn FittedModel>, EngineError> {
    let m = ctx.season;
    Ok(match kind {
        ModelKind::Naive => Box::new(baseline::naive(y)?),
        ModelKind::SeasonalNaive => match m {
            Some(m) if y.len() >= m => Box::new(baseline::seasonal_naive(y, m)?),
            _ => Box::new(baseline::naive(y)?),
        },
        ModelKind::Drift => Box::new(baseline::drift(y)?),
        ModelKind::WindowAverage => Box::new(baseline::window_average(y, m.unwrap_or(4).max(4))?),
        ModelKind::HistoricAverage => Box::new(baseline::historic_average(y)?),
        ModelKind::AutoEts => Box::new(ets::fit_auto(y, ctx.ets_season)?),
        ModelKind::Theta => Box::new(theta::fit_theta(y, m)?),
        ModelKind::OptimizedTheta => Box::new(theta::fit_optimized_theta(y, m)?),
        ModelKind::DynamicOptimizedTheta => Box::new(theta::fit_dynamic_optimized_theta(y, m)?),
        ModelKind::Croston => Box::new(intermittent::croston(y)?),
        ModelKind::Sba => Box::new(intermittent::sba(y)?),
        ModelKind::Tsb => Box::new(intermittent::tsb(y, 0.1, 0.1)?),
        ModelKind::Adida => Box::new(intermittent::adida(y)?),
        ModelKind::Imapa => Box::new(intermittent::imapa(y)?),
        ModelKind::Mstl => Box::new(mstl::mstl_with_trend(
            y,
            &ctx.periods,
            ctx.mstl_trend.as_deref(),
        )?),
        ModelKind::DampedTrend => Box::new(damped::damped_trend(y, m)?),
        ModelKind::SolarRegression | ModelKind::DriverRegression => {
            return Err(EngineError::CannotFit {
                model: kind.as_str(),
                reason: "needs covariates; it is fitted beside the univariate members".to_owned(),
            });
        }
    })
}

/// A fitted member with its validation errors.
struct Candidate {
    kind: ModelKind,
    model: Box<dyn FittedModel>,
    mean: Vec<f64>,
    /// `errors[window][step]` = actual − forecast on validation windows.
    errors: Vec<Vec<f64>>,
    reason: String,
}

/// Per-step spread and normalised error quantiles of one member.
struct Spread {
    /// Scale per step.
    scale: Vec<f64>,
    /// Sorted normalised errors.
    z: Vec<f64>,
    /// Mean and standard deviation of `z`.
    z_mean: f64,
    z_sd: f64,
}

impl Spread {
    fn new(scale: Vec<f64>, z: Vec<f64>) -> Self {
        let (z_mean, z_sd) = if z.is_empty() {
            (0.0, 1.0)
        } else {
            (util::mean(&z), util::variance(&z).sqrt())
        };
        Self {
            scale,
            z,
            z_mean,
            z_sd,
        }
    }

    /// The normalised error at `level`: the empirical quantile of `z` shrunk toward a normal
    /// with its moments while few errors are known. The same for every step.
    fn standard_quantile(&self, level: f64) -> f64 {
        if self.z.is_empty() {
            return util::normal_quantile(level);
        }
        let n = self.z.len() as f64;
        let emp = util::quantile_sorted(&self.z, level);
        let normal = self.z_mean + self.z_sd * util::normal_quantile(level);
        let w = n / (n + 50.0);
        w * emp + (1.0 - w) * normal
    }
}

/// Fits `scale_s = a * s^b` (b in [0, 1]) to the RMS errors per step and returns the scales for
/// steps `1..=horizon` plus the pooled normalised errors.
fn conformal_spread(errors: &[Vec<f64>], horizon: usize) -> Option<Spread> {
    let steps = errors.iter().map(Vec::len).max().unwrap_or(0);
    let mut pts: Vec<(f64, f64, f64)> = Vec::with_capacity(steps); // (ln s, ln rms, weight)
    for s in 0..steps {
        let (mut ss, mut c) = (0.0, 0usize);
        for w in errors {
            if let Some(e) = w.get(s)
                && e.is_finite()
            {
                ss += e * e;
                c += 1;
            }
        }
        if c > 0 && ss > 0.0 {
            pts.push((((s + 1) as f64).ln(), (ss / c as f64).sqrt().ln(), c as f64));
        }
    }
    if pts.is_empty() {
        return None;
    }
    let wsum: f64 = pts.iter().map(|p| p.2).sum();
    let mx = pts.iter().map(|p| p.0 * p.2).sum::<f64>() / wsum;
    let my = pts.iter().map(|p| p.1 * p.2).sum::<f64>() / wsum;
    let sxx: f64 = pts.iter().map(|p| p.2 * (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| p.2 * (p.0 - mx) * (p.1 - my)).sum();
    let b = if sxx > 0.0 {
        (sxy / sxx).clamp(0.0, 1.0)
    } else {
        0.5
    };
    let a = (my - b * mx).exp();
    let scale: Vec<f64> = (1..=horizon).map(|s| a * (s as f64).powf(b)).collect();
    let mut z = Vec::with_capacity(errors.len() * steps);
    for w in errors {
        for (s, e) in w.iter().enumerate() {
            let sc = scale.get(s).copied().unwrap_or(a);
            if e.is_finite() && sc > 0.0 {
                z.push(e / sc);
            }
        }
    }
    util::sort_floats(&mut z);
    Some(Spread::new(scale, z))
}

/// Spread from in-sample one-step residuals grown by `sqrt(step)`, normal shape.
fn residual_spread(model: &dyn FittedModel, y: &[f64], horizon: usize) -> Spread {
    let (mut ss, mut c) = (0.0, 0usize);
    for (f, a) in model.fitted().iter().zip(y) {
        if f.is_finite() {
            ss += (a - f) * (a - f);
            c += 1;
        }
    }
    let sigma = if c > 0 { (ss / c as f64).sqrt() } else { 0.0 };
    Spread::new(
        (1..=horizon).map(|s| sigma * (s as f64).sqrt()).collect(),
        Vec::new(),
    )
}

/// The rolling origins for validation: training lengths, and the steps validated.
fn validation_origins(n: usize, horizon: usize, season: Option<usize>) -> (Vec<usize>, usize) {
    let min_train = (2 * season.unwrap_or(1) + 2).max(8);
    if n < min_train + 1 {
        return (Vec::new(), 0);
    }
    let h = horizon.min(n - min_train).max(1);
    let step = (h / VALIDATION_WINDOWS).max(1);
    let mut origins = Vec::with_capacity(VALIDATION_WINDOWS);
    for k in 0..VALIDATION_WINDOWS {
        // The most recent window ends at the last observation.
        let Some(o) = (n - h).checked_sub(k * step) else {
            break;
        };
        if o < min_train {
            break;
        }
        origins.push(o);
    }
    (origins, h)
}

/// The default members for a series of this profile and detected `periods`;
/// `seasonless_frequency` when the caller's season lengths are all 1 (or none are given).
fn default_models(
    profile: &SeriesProfile,
    periods: &[usize],
    seasonless_frequency: bool,
) -> Vec<ModelKind> {
    if profile.class.is_sporadic() {
        vec![
            ModelKind::Croston,
            ModelKind::Sba,
            ModelKind::Tsb,
            ModelKind::Adida,
            ModelKind::Imapa,
            ModelKind::WindowAverage,
        ]
    } else {
        // ETS takes seasons up to 24 steps; longer cycles (e.g. 96 per day at 15 minutes) are
        // carried by MSTL (ETS on the seasonally adjusted series) and the seasonal naive. A
        // plain ETS there can only draw a flat or trending line through the cycle, so it is
        // left out rather than fitted and out-weighted; of the Theta family the classical one
        // stays (the optimised variants differ from it in the trend, which a long-cycle
        // series' tail hardly shows, at many times the cost).
        let long_cycle = periods
            .first()
            .is_some_and(|&p| p > crate::ets::MAX_SEASON_LENGTH);
        // At a frequency without a seasonal cycle (yearly data, season length 1), the optimised
        // Theta (theta and alpha fitted) replaces the classical theta = 2 line, whose fixed
        // half-drift short yearly histories often outrun: on the development data's yearly
        // subsets it lowered the ensemble's OWA on both, M1 yearly (181 series) 0.781 -> 0.756
        // and Tourism yearly (518) 0.907 -> 0.898. Series of seasonal frequencies keep the
        // classical one even when no season is detected: swapping it there too cost M1 monthly
        // 0.896 -> 0.912.
        let theta = if seasonless_frequency {
            ModelKind::OptimizedTheta
        } else {
            ModelKind::Theta
        };
        let mut m = if long_cycle {
            vec![ModelKind::Theta]
        } else {
            vec![ModelKind::AutoEts, theta, ModelKind::DynamicOptimizedTheta]
        };
        if periods.len() >= 2 || long_cycle {
            m.push(ModelKind::Mstl);
        }
        if long_cycle {
            m.push(ModelKind::SeasonalNaive);
        }
        m
    }
}

fn reason_for(kind: ModelKind, profile: &SeriesProfile, requested: bool) -> String {
    if requested {
        format!("{} requested", kind.as_str())
    } else if profile.class.is_sporadic() {
        format!("{} series: intermittent-demand model", profile.class)
    } else {
        format!("{} series: default combination member", profile.class)
    }
}

const MODEL_QUANTILES: bool = true;

/// An even grid of levels, so that the combination sees the members' whole distribution
/// whatever levels are requested.
pub(crate) const MEAN_GRID: usize = 40;

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

/// The ensemble of univariate members: the whole of [`forecast`] for a series without
/// covariates.
pub(crate) fn univariate(request: &ForecastRequest<'_>) -> Result<Forecast, EngineError> {
    let h = request.horizon;
    if h == 0 || h > MAX_HORIZON {
        return Err(invalid(
            "horizon",
            format!("{h} is not between 1 and {MAX_HORIZON}"),
        ));
    }
    let mut interval_levels = Vec::with_capacity(request.interval_levels.len());
    for l in &request.interval_levels {
        let (lo, hi) =
            interval_quantiles(*l).map_err(|e| invalid("interval level", e.to_string()))?;
        interval_levels.push((*l, lo, hi));
    }
    let mut warnings = Vec::new();
    let (mut y, imputed) = impute(request.values);
    if y.is_empty() {
        return Err(invalid("values", "the history has no finite value"));
    }
    if imputed > 0 {
        warnings.push(format!("{imputed} missing values imputed"));
    }
    let keep = history_length(&request.season_lengths);
    if y.len() > keep {
        warnings.push(format!("only the last {keep} of {} values used", y.len()));
        y.drain(..y.len() - keep);
    }
    let scale = y.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let scale = if scale > 0.0 && scale.is_finite() {
        scale
    } else {
        1.0
    };
    y.iter_mut().for_each(|v| *v /= scale);
    let n = y.len();

    let profile = classify(&y, &request.season_lengths);
    let periods = if request.season_lengths.len() > 1 {
        seasonality::detect_periods(&y, &request.season_lengths)
    } else {
        profile.season_length.into_iter().collect()
    };
    let requested = request.models.as_ref().filter(|m| !m.is_empty());
    let mut kinds = match requested {
        Some(list) => list.clone(),
        None => default_models(
            &profile,
            &periods,
            request.season_lengths.iter().all(|&m| m <= 1),
        ),
    };
    kinds.sort();
    kinds.dedup();
    let ctx = FitContext {
        season: profile.season_length,
        periods: periods.clone(),
        mstl_trend: None,
        ets_season: profile.season_length.or_else(|| {
            request
                .season_lengths
                .iter()
                .copied()
                .filter(|m| *m >= 2)
                .min()
        }),
    };

    // Guard limits, in scaled units.
    let (lo, hi) = util::finite_range(&y).unwrap_or((0.0, 0.0));
    let range = (hi - lo).max(lo.abs().max(hi.abs()) * 0.01).max(1e-12);
    let k = 10.0 * (h as f64 / n as f64).max(1.0);
    let (guard_lo, guard_hi) = (lo - k * range, hi + k * range);
    let sane = |f: &[f64]| {
        f.iter()
            .all(|v| v.is_finite() && *v >= guard_lo && *v <= guard_hi)
    };

    let (origins, hv) = validation_origins(n, h, ctx.season);
    let mut candidates: Vec<Candidate> = Vec::with_capacity(kinds.len());
    for kind in kinds {
        let mut ctx_k = ctx.clone();
        // Validation windows refit the form selected here: much cheaper than a new search.
        // ETS windows start from the whole history's solution (`EtsFit::refit_quick`).
        let mut ets_full: Option<ets::EtsFit> = None;
        let fitted = match kind {
            ModelKind::AutoEts => ets::fit_auto(&y, ctx.ets_season).map(|f| {
                ets_full = Some(f.clone());
                Box::new(f) as Box<dyn FittedModel>
            }),
            ModelKind::Mstl => mstl::mstl(&y, &ctx.periods).map(|f| {
                ctx_k.mstl_trend = f.trend_form().map(str::to_owned);
                Box::new(f) as Box<dyn FittedModel>
            }),
            _ => fit_kind(kind, &y, &ctx),
        };
        let model = match fitted {
            Ok(m) => m,
            Err(e) => {
                warnings.push(format!("{kind} dropped: {e}"));
                continue;
            }
        };
        let mean = model.forecast_mean(h);
        if mean.len() != h || !sane(&mean) {
            warnings.push(format!(
                "{kind} dropped: forecast not finite or out of range"
            ));
            continue;
        }
        let mut errors = Vec::with_capacity(origins.len());
        for &o in &origins {
            let steps = hv.min(n - o);
            let kept = if n >= LONG_HISTORY {
                model.forecast_from(o, steps)
            } else {
                None
            };
            let refit = || match &ets_full {
                Some(full) => full
                    .refit_quick(&y[..o], ctx.ets_season)
                    .or_else(|_| ets::fit_auto(&y[..o], ctx.ets_season))
                    .map(|f| Box::new(f) as Box<dyn FittedModel>),
                None => fit_kind(kind, &y[..o], &ctx_k),
            };
            let f = match kept {
                Some(f) => f,
                None => match refit() {
                    Ok(m) => m.forecast_mean(steps),
                    // Keep windows aligned across members: a failed refit is a window of NaN.
                    Err(_) => {
                        errors.push(vec![f64::NAN; steps]);
                        continue;
                    }
                },
            };
            errors.push(
                (0..steps)
                    .map(|s| {
                        let v = y[o + s] - f.get(s).copied().unwrap_or(f64::NAN);
                        if v.is_finite() { v } else { f64::NAN }
                    })
                    .collect(),
            );
        }
        candidates.push(Candidate {
            kind,
            reason: reason_for(kind, &profile, requested.is_some()),
            model,
            mean,
            errors,
        });
    }
    if candidates.is_empty() {
        warnings.push("no model could be used; naive forecast instead".to_owned());
        let model = fit_kind(ModelKind::Naive, &y, &ctx)?;
        let mean = model.forecast_mean(h);
        let mut errors = Vec::with_capacity(origins.len());
        for &o in &origins {
            let steps = hv.min(n - o);
            let f = fit_kind(ModelKind::Naive, &y[..o], &ctx)?.forecast_mean(steps);
            errors.push((0..steps).map(|s| y[o + s] - f[s]).collect());
        }
        candidates.push(Candidate {
            kind: ModelKind::Naive,
            model,
            mean,
            errors,
            reason: "fallback: no other model could be used".to_owned(),
        });
    }

    // Weights.
    let mut weights = vec![1.0 / candidates.len() as f64; candidates.len()];
    let mut weight_notes = vec![String::new(); candidates.len()];
    let table = request.model_weights.or_else(|| {
        request
            .class_weights
            .and_then(|by_class| by_class.get(&profile.class))
    });
    if let Some(table) = table {
        let raw: Vec<f64> = candidates
            .iter()
            .map(|c| {
                table
                    .get(&c.kind)
                    .copied()
                    .filter(|w| w.is_finite() && *w > 0.0)
                    .unwrap_or(0.0)
            })
            .collect();
        let total: f64 = raw.iter().sum();
        if total > 0.0 {
            weights = raw.iter().map(|w| w / total).collect();
            weight_notes
                .iter_mut()
                .for_each(|n| *n = "caller weight".to_owned());
        } else {
            warnings.push("caller weights cover no fitted model; equal weights used".to_owned());
        }
    } else {
        let maes: Vec<Option<f64>> = candidates
            .iter()
            .map(|c| {
                let (s, k) = c
                    .errors
                    .iter()
                    .flatten()
                    .filter(|e| e.is_finite())
                    .fold((0.0, 0usize), |(s, k), e| (s + e.abs(), k + 1));
                (k > 0).then(|| s / k as f64)
            })
            .collect();
        if maes.iter().all(|m| m.is_some()) && candidates.len() > 1 {
            let inv: Vec<f64> = maes
                .iter()
                .map(|m| 1.0 / m.unwrap_or(1.0).max(1e-9))
                .collect();
            let total: f64 = inv.iter().sum();
            weights = inv.iter().map(|v| v / total).collect();
            for (note, m) in weight_notes.iter_mut().zip(&maes) {
                *note = format!("validation scaled MAE {:.4}", m.unwrap_or(f64::NAN));
            }
        } else {
            weight_notes
                .iter_mut()
                .for_each(|n| *n = "equal weight".to_owned());
        }
    }

    // The level grid: requested quantiles, interval ends, and an even grid for the mean.
    let mean_grid: Vec<f64> = (0..MEAN_GRID)
        .map(|i| (i as f64 + 0.5) / MEAN_GRID as f64)
        .collect();
    let mut grid: Vec<f64> = request.quantile_levels.levels().to_vec();
    grid.extend(interval_levels.iter().flat_map(|(_, lo, hi)| [*lo, *hi]));
    grid.extend_from_slice(&mean_grid);
    util::sort_floats(&mut grid);
    grid.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    let pos = |level: f64| {
        grid.iter()
            .position(|g| (g - level).abs() < 1e-9)
            .unwrap_or(0)
    };

    // Member quantile sources.
    enum Source {
        Model(Vec<Vec<f64>>),
        Spread(Spread),
    }
    let sources: Vec<Source> = candidates
        .iter()
        .map(|c| {
            if MODEL_QUANTILES
                && let Some(q) = c.model.forecast_quantiles(h, &grid)
                && q.len() == grid.len()
                && q.iter()
                    .all(|p| p.len() == h && p.iter().all(|v| v.is_finite()))
            {
                return Source::Model(q);
            }
            // Tail-window errors alone understate the spread on short histories: never go
            // below the in-sample residual spread grown by sqrt(step).
            let resid = residual_spread(c.model.as_ref(), &y, h);
            match conformal_spread(&c.errors, h) {
                // Sporadic series: flat forecasts whose errors do not accumulate.
                Some(s) if profile.class.is_sporadic() => Source::Spread(s),
                Some(mut s) => {
                    for (a, b) in s.scale.iter_mut().zip(&resid.scale) {
                        if b.is_finite() && *b > *a {
                            *a = *b;
                        }
                    }
                    Source::Spread(s)
                }
                None => Source::Spread(resid),
            }
        })
        .collect();

    // Step-to-step correlation of errors for the sample paths.
    let rho = {
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for c in &candidates {
            for w in &c.errors {
                for p in w.windows(2) {
                    if p[0].is_finite() && p[1].is_finite() {
                        sxy += p[0] * p[1];
                        sxx += p[0] * p[0];
                        syy += p[1] * p[1];
                    }
                }
            }
        }
        if sxx > 0.0 && syy > 0.0 {
            (sxy / (sxx * syy).sqrt()).clamp(0.0, 0.99)
        } else {
            0.5
        }
    };

    // Combine per step.
    let bounds = request.bounds;
    let unscale = |v: f64| {
        let x = v * scale;
        if x.is_finite() {
            x
        } else if x.is_nan() {
            0.0
        } else {
            x.signum() * f64::MAX
        }
    };
    // Member quantiles on the grid, `member_q[k][j][s]`.
    let member_q: Vec<Vec<Vec<f64>>> = candidates
        .iter()
        .zip(sources)
        .map(|(c, src)| match src {
            Source::Model(q) => q,
            Source::Spread(sp) => grid
                .iter()
                .map(|l| {
                    let z = sp.standard_quantile(*l);
                    (0..h)
                        .map(|s| c.mean[s] + sp.scale.get(s).copied().unwrap_or(0.0) * z)
                        .collect()
                })
                .collect(),
        })
        .collect();
    let calibrate = !profile.class.is_sporadic();
    let history = calibrate
        .then(|| drift_spread(&y, profile.season_length, h))
        .flatten();
    // Long histories hold enough rolling-origin errors to narrow the intervals as well as
    // widen them; short ones keep the floors (see `MIN_CALIBRATION`).
    let narrowest = if y.len() >= LONG_HISTORY {
        MIN_CALIBRATION
    } else {
        1.0
    };
    let combined = combine_quantiles(
        &candidates,
        &member_q,
        &weights,
        &grid,
        h,
        calibrate.then_some(narrowest),
        history.as_ref(),
    );

    // A sub-daily history dark at the same times every day (PV output, a shop's till): those
    // steps are exactly zero, the others at most what the time of day gave over the last month.
    let daylight = request
        .timeline
        .filter(Timeline::is_sub_daily)
        .and_then(|t| Daylight::estimate(request.values, &t, &[], h).ok());
    let history_end = request.values.len();
    let limit = |s: usize, v: f64| match &daylight {
        Some(d) if d.is_dark(history_end + s) => bounds.clamp(0.0),
        Some(d) => bounds.clamp(v.min(d.ceiling(history_end + s))),
        None => bounds.clamp(v),
    };
    if let Some(d) = &daylight {
        let dark = (0..h).filter(|s| d.is_dark(history_end + s)).count();
        warnings.push(format!(
            "dark at the same times every day (as PV output is): {dark} of {h} steps forecast \
             as exactly 0, the rest capped by the time of day's last month"
        ));
    }
    let mut mean = vec![0.0; h];
    let mut all_q: Vec<Vec<f64>> = vec![vec![0.0; h]; grid.len()];
    for s in 0..h {
        let m: f64 = candidates
            .iter()
            .zip(&weights)
            .map(|(c, w)| w * c.mean[s])
            .sum();
        let m = unscale(m);
        for (j, row) in combined.iter().enumerate() {
            all_q[j][s] = limit(s, unscale(row[s]));
        }
        // The members' mean, not the mean of the clipped distribution: widened tails clipped at
        // a bound would otherwise pull the point forecast away from it.
        mean[s] = limit(s, m);
    }

    let quantile_levels = request.quantile_levels.levels().to_vec();
    let quantiles: Vec<Vec<f64>> = quantile_levels
        .iter()
        .map(|l| all_q[pos(*l)].clone())
        .collect();
    let intervals = interval_levels
        .iter()
        .map(|(level, lo, hi)| Interval {
            level: *level,
            lo: all_q[pos(*lo)].clone(),
            hi: all_q[pos(*hi)].clone(),
        })
        .collect();
    let threshold_probabilities =
        threshold_probabilities(&request.thresholds, &grid, &all_q, rho, request.seed);

    let members = candidates
        .iter()
        .zip(&weights)
        .zip(weight_notes)
        .zip(&member_q)
        .map(|(((c, w), note), q)| {
            let mut quantiles: Vec<Vec<f64>> = quantile_levels
                .iter()
                .map(|l| {
                    q[pos(*l)]
                        .iter()
                        .enumerate()
                        .map(|(s, v)| limit(s, unscale(*v)))
                        .collect()
                })
                .collect();
            // Members' own quantiles may cross where a spread was estimated per level.
            for s in 0..h {
                let mut col: Vec<f64> = quantiles.iter().map(|p| p[s]).collect();
                util::sort_floats(&mut col);
                for (p, v) in quantiles.iter_mut().zip(col) {
                    p[s] = v;
                }
            }
            Member {
                kind: c.kind,
                weight: *w,
                reason: format!("{}; {note}", c.reason),
                mean: c
                    .mean
                    .iter()
                    .enumerate()
                    .map(|(s, v)| limit(s, unscale(*v)))
                    .collect(),
                quantiles,
            }
        })
        .collect();
    Ok(Forecast {
        mean,
        quantile_levels,
        quantiles,
        intervals,
        members,
        profile,
        threshold_probabilities,
        warnings,
    })
}

/// The quantile function through `(levels[j], values[j])` at `p`, linear in between and flat
/// beyond the ends. `levels` must not be empty.
pub(crate) fn interp(levels: &[f64], values: &[f64], p: f64) -> f64 {
    let j = levels.partition_point(|l| *l < p);
    if j == 0 {
        return values[0];
    }
    if j >= levels.len() {
        return values[levels.len() - 1];
    }
    let (l0, l1) = (levels[j - 1], levels[j]);
    if l1 > l0 {
        values[j - 1] + (values[j] - values[j - 1]) * (p - l0) / (l1 - l0)
    } else {
        values[j]
    }
}

/// Combines the members' quantile functions into `result[j][s]` at `grid[j]`, in scaled units:
/// 1. Vincentization: the weighted average of the members' quantiles, sorted.
/// 2. Its spread (`sd`, from the 10%–90% range) is widened around the median to hold also the
///    spread between the members' means (model uncertainty, which averaging quantiles leaves
///    out) and, with `history`, never below the history's own `s`-step variability around its
///    drift ([`drift_spread`]); model-based variances of short, trending histories are far too
///    optimistic at long horizons.
/// 3. With `calibrate` (the narrowest factor allowed: 1 for short histories, see
///    [`MIN_CALIBRATION`]), scaled per step by `max(narrowest, a·step^b)`, fitted to the mean square
///    of the combined forecast's rolling-origin errors in units of that spread (each step's
///    estimate shrunk towards 1 by [`CALIBRATION_PRIOR`] pseudo-errors), and its tails beyond
///    the 80% interval stretched by [`TAIL_STRETCH`]. The floor of seasonally adjusted histories
///    counts [`SEASONAL_FLOOR_SHARE`] of it.
fn combine_quantiles(
    candidates: &[Candidate],
    member_q: &[Vec<Vec<f64>>],
    weights: &[f64],
    grid: &[f64],
    h: usize,
    calibrate: Option<f64>,
    history: Option<&HistorySpread>,
) -> Vec<Vec<f64>> {
    let z90 = util::normal_quantile(0.9);
    let mut out = vec![vec![0.0; h]; grid.len()];
    let mut col = vec![0.0; grid.len()];
    let mut med = vec![0.0; h];
    let mut sd = vec![0.0; h];
    let mut widen = vec![1.0; h];
    for s in 0..h {
        for (j, c) in col.iter_mut().enumerate() {
            *c = member_q.iter().zip(weights).map(|(q, w)| w * q[j][s]).sum();
        }
        util::sort_floats(&mut col);
        for (j, c) in col.iter().enumerate() {
            out[j][s] = *c;
        }
        let m: f64 = candidates
            .iter()
            .zip(weights)
            .map(|(c, w)| w * c.mean[s])
            .sum();
        let between: f64 = candidates
            .iter()
            .zip(weights)
            .map(|(c, w)| w * (c.mean[s] - m).powi(2))
            .sum();
        let model_sd = ((interp(grid, &col, 0.9) - interp(grid, &col, 0.1)) / (2.0 * z90)).max(0.0);
        let mut total = (model_sd * model_sd + between).sqrt();
        med[s] = interp(grid, &col, 0.5);
        if let Some(hs) = history {
            let fk = if hs.seasonal {
                SEASONAL_FLOOR_SHARE
            } else {
                1.0
            };
            let floor = fk
                * if hs.relative {
                    hs.rms[s] * med[s].abs()
                } else {
                    hs.rms[s]
                };
            if floor.is_finite() && floor > total {
                total = floor;
            }
        }
        if !total.is_finite() {
            total = model_sd;
        }
        sd[s] = total;
        widen[s] = if model_sd > 0.0 {
            total / model_sd
        } else {
            1.0
        };
    }
    let k = match calibrate {
        Some(narrowest) => calibration(candidates, weights, &sd, narrowest),
        None => vec![1.0; h],
    };
    // (d) Heavier tails (short histories): deviations from the median at levels beyond the 80%
    // interval grow by `1 + TAIL_STRETCH * (|z| - z_0.9)`, increasing in |z|, so quantiles still
    // do not cross.
    let tail: Vec<f64> = grid
        .iter()
        .map(|l| {
            let z = util::normal_quantile(*l).abs();
            if calibrate.is_some_and(|narrowest| narrowest >= 1.0) {
                1.0 + TAIL_STRETCH * (z - z90).max(0.0)
            } else {
                1.0
            }
        })
        .collect();
    for s in 0..h {
        if model_sd_is_zero(&out, s) {
            // The members have no spread of their own: a normal shape of the total spread.
            for (j, l) in grid.iter().enumerate() {
                out[j][s] = med[s] + tail[j] * k[s] * sd[s] * util::normal_quantile(*l);
            }
            continue;
        }
        let f = k[s] * widen[s];
        for (j, row) in out.iter_mut().enumerate() {
            row[s] = med[s] + tail[j] * f * (row[s] - med[s]);
        }
    }
    out
}

fn model_sd_is_zero(q: &[Vec<f64>], s: usize) -> bool {
    match (q.first(), q.last()) {
        (Some(lo), Some(hi)) => hi[s] - lo[s] <= 0.0,
        _ => true,
    }
}

/// Per-step factors `max(narrowest, a·step^b)` (`b` in `[0, 1]`, at most [`MAX_CALIBRATION`])
/// from the combined rolling-origin errors in units of `sd`: weighted least squares of
/// `ln rms` on `ln step`, each step's mean square shrunk towards 1. Below 1 only with at least
/// [`MIN_NARROWING_ERRORS`] errors.
fn calibration(candidates: &[Candidate], weights: &[f64], sd: &[f64], narrowest: f64) -> Vec<f64> {
    let h = sd.len();
    let windows = candidates.iter().map(|c| c.errors.len()).min().unwrap_or(0);
    let mut ss = vec![0.0; h];
    let mut count = vec![0.0; h];
    for w in 0..windows {
        let steps = candidates
            .iter()
            .map(|c| c.errors[w].len())
            .min()
            .unwrap_or(0);
        for s in 0..steps.min(h) {
            let e: f64 = candidates
                .iter()
                .zip(weights)
                .map(|(c, wt)| wt * c.errors[w][s])
                .sum();
            if e.is_finite() && sd[s] > 0.0 {
                ss[s] += (e / sd[s]).powi(2);
                count[s] += 1.0;
            }
        }
    }
    // Short histories: each step's mean square is shrunk by the whole prior. Long ones (where
    // narrowing is allowed) spread it over the steps, which the fit across steps pools: with
    // four windows per step the per-step prior kept half of any evidence away.
    let steps_seen = count.iter().filter(|c| **c > 0.0).count().max(1) as f64;
    let prior = if narrowest < 1.0 {
        CALIBRATION_PRIOR / steps_seen
    } else {
        CALIBRATION_PRIOR
    };
    let pts: Vec<(f64, f64, f64)> = (0..h)
        .filter(|s| count[*s] > 0.0)
        .map(|s| {
            let ms = (ss[s] + prior) / (count[s] + prior);
            (((s + 1) as f64).ln(), 0.5 * ms.max(1e-12).ln(), count[s])
        })
        .collect();
    if pts.is_empty() {
        return vec![1.0; h];
    }
    let wsum: f64 = pts.iter().map(|p| p.2).sum();
    let lowest = if wsum >= MIN_NARROWING_ERRORS {
        narrowest.min(1.0)
    } else {
        1.0
    };
    let mx = pts.iter().map(|p| p.0 * p.2).sum::<f64>() / wsum;
    let my = pts.iter().map(|p| p.1 * p.2).sum::<f64>() / wsum;
    let sxx: f64 = pts.iter().map(|p| p.2 * (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| p.2 * (p.0 - mx) * (p.1 - my)).sum();
    let b = if sxx > 0.0 {
        (sxy / sxx).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let a = my - b * mx;
    (1..=h)
        .map(|s| {
            let k = (a + b * (s as f64).ln()).exp();
            if k.is_finite() {
                k.clamp(lowest, MAX_CALIBRATION)
            } else {
                1.0
            }
        })
        .collect()
}

/// Largest widening the rolling-origin calibration may apply.
const MAX_CALIBRATION: f64 = 10.0;

/// Narrowest factor the rolling-origin calibration may apply, to histories of at least
/// [`LONG_HISTORY`] values (shorter ones are only widened: on M1 and Tourism, whose series are
/// all shorter, at most 333 values, the validation windows at the end of a short history
/// understate the errors that follow, and their figures do not move). The floors of step 2 of
/// [`combine_quantiles`] come from a random walk on a history adjusted for one season, which on
/// high-frequency series measures the other cycles as noise. Chosen on the package-shipped
/// half-hourly `taylor` and weekly `co2` series (bench/intervals, 80% / 95% coverage): widening
/// only 98 / 100 and 98 / 100; 0.5 81 / 99 and 76 / 99 (scaled CRPS −17% and −15%); 0.25 57 /
/// 90 and 69 / 95 (too narrow). Univariate 15-minute PV output (bench/solar) went from 96–98%
/// to 87–90% in its 80% intervals.
const MIN_CALIBRATION: f64 = 0.5;

/// Rolling-origin errors needed before the calibration may narrow.
const MIN_NARROWING_ERRORS: f64 = 40.0;

/// Prior number of unit-scale errors that the interval calibration factor is shrunk with.
const CALIBRATION_PRIOR: f64 = 4.0;

/// Share of the history floor kept for seasonally adjusted series: their `s`-step random-walk
/// movements still hold the irregular component twice and residual seasonality, so the full
/// floor over-covered seasonal series (Tourism quarterly/monthly: 92% in 80% intervals).
const SEASONAL_FLOOR_SHARE: f64 = 0.5;

/// Tail stretch beyond the 80% interval, per unit of normal quantile (the 95% interval grows by
/// `1 + 0.3 · (1.96 − 1.28)`, about 20%): rolling-origin and test errors of M1 and Tourism are
/// heavier-tailed than normal (a normal shape fitted to the 80% coverage under-covers at 95%).
/// Applied to histories shorter than [`LONG_HISTORY`] only, the lengths it was chosen on: on the
/// long half-hourly `taylor` and weekly `co2` (bench/intervals) it put 99.3% and 98.6% of
/// values in the 95% intervals; without it 97.6% and 95.9%, MSIS-95 −14% and −10%.
const TAIL_STRETCH: f64 = 0.3;

/// How far the history moves in `s` steps beyond its average drift.
struct HistorySpread {
    /// Root mean square per step `1..=horizon`.
    rms: Vec<f64>,
    /// `rms` is of log values (a share of the level) rather than of values.
    relative: bool,
    /// The history was seasonally adjusted first.
    seasonal: bool,
}

/// In-sample `s`-step errors of a random walk with the history's mean drift, at every origin,
/// on the seasonally adjusted series (logs when the history is positive), inflated by
/// `sqrt(1 + s/(n-1))` for the uncertainty of the drift; steps longer than the history grow by
/// `sqrt(step)`. `None` on fewer than 4 values.
fn drift_spread(y: &[f64], season: Option<usize>, h: usize) -> Option<HistorySpread> {
    let n = y.len();
    if n < 4 {
        return None;
    }
    let relative = y.iter().all(|v| *v > 0.0);
    let mut x: Vec<f64> = if relative {
        y.iter().map(|v| v.ln()).collect()
    } else {
        y.to_vec()
    };
    let seasonal = season.is_some_and(|m| m >= 2 && n > 2 * m);
    if let Some(m) = season.filter(|m| *m >= 2 && n > 2 * m) {
        // Additive indices of the logs when relative: multiplicative seasonality.
        if let Some(idx) = seasonality::additive_indices(&x, m) {
            for (t, v) in x.iter_mut().enumerate() {
                *v -= idx[t % m];
            }
        }
    }
    let drift = (x[n - 1] - x[0]) / (n - 1) as f64;
    let mut rms = Vec::with_capacity(h);
    let mut last: Option<(usize, f64)> = None;
    for s in 1..=h {
        let origins = n.saturating_sub(s);
        if origins >= 3 {
            let ss: f64 = (0..origins)
                .map(|t| (x[t + s] - x[t] - s as f64 * drift).powi(2))
                .sum();
            // Out of sample the drift is estimated too: a random walk with drift has the
            // s-step variance `s σ² (1 + s / (n - 1))` (as R's `rwf(drift = TRUE)`).
            let v = (ss / origins as f64 * (1.0 + s as f64 / (n - 1) as f64)).sqrt();
            last = Some((s, v));
            rms.push(v);
        } else if let Some((ls, lv)) = last {
            rms.push(lv * (s as f64 / ls as f64).sqrt());
        } else {
            return None;
        }
    }
    rms.iter().all(|v| v.is_finite()).then_some(HistorySpread {
        rms,
        relative,
        seasonal,
    })
}

/// The distribution function at `t` of the piecewise-linear quantile function through
/// `(levels[j], values[j])`, with the tail mass placed at the end values.
fn cdf(levels: &[f64], values: &[f64], t: f64) -> f64 {
    let n = values.len();
    if n == 0 || t < values[0] {
        return 0.0;
    }
    if t >= values[n - 1] {
        return 1.0;
    }
    let j = values.partition_point(|v| *v <= t).clamp(1, n - 1) - 1;
    let (v0, v1) = (values[j], values[j + 1]);
    if v1 > v0 {
        levels[j] + (levels[j + 1] - levels[j]) * (t - v0) / (v1 - v0)
    } else {
        levels[j]
    }
}

#[allow(clippy::needless_range_loop)] // `s` indexes every level's path at once
pub(crate) fn threshold_probabilities(
    thresholds: &[f64],
    grid: &[f64],
    q: &[Vec<f64>],
    rho: f64,
    seed: u64,
) -> Vec<ThresholdProbability> {
    if thresholds.is_empty() {
        return Vec::new();
    }
    let h = q.first().map_or(0, Vec::len);
    let mut column = vec![0.0; grid.len()];
    let mut per_step: Vec<Vec<f64>> = vec![Vec::with_capacity(h); thresholds.len()];
    for s in 0..h {
        for (c, path) in column.iter_mut().zip(q) {
            *c = path[s];
        }
        for (t, out) in thresholds.iter().zip(per_step.iter_mut()) {
            out.push((1.0 - cdf(grid, &column, *t)).clamp(0.0, 1.0));
        }
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut hits = vec![0usize; thresholds.len()];
    let innovation = (1.0 - rho * rho).sqrt();
    let mut exceeded = vec![false; thresholds.len()];
    for _ in 0..SAMPLE_PATHS {
        exceeded.iter_mut().for_each(|e| *e = false);
        let mut z: f64 = StandardNormal.sample(&mut rng);
        for s in 0..h {
            if s > 0 {
                let e: f64 = StandardNormal.sample(&mut rng);
                z = rho * z + innovation * e;
            }
            let u = util::normal_cdf(z);
            // Quantile function at u, interpolated on the grid (flat beyond its ends).
            let j = grid.partition_point(|g| *g <= u);
            let v = if j == 0 {
                q[0][s]
            } else if j >= grid.len() {
                q[grid.len() - 1][s]
            } else {
                let (l0, l1) = (grid[j - 1], grid[j]);
                q[j - 1][s] + (q[j][s] - q[j - 1][s]) * (u - l0) / (l1 - l0)
            };
            for (t, e) in thresholds.iter().zip(exceeded.iter_mut()) {
                if v > *t {
                    *e = true;
                }
            }
        }
        for (hit, e) in hits.iter_mut().zip(&exceeded) {
            *hit += usize::from(*e);
        }
    }
    thresholds
        .iter()
        .zip(per_step)
        .zip(hits)
        .map(|((t, p), hit)| {
            let max_step = p.iter().fold(0.0f64, |a, v| a.max(*v));
            ThresholdProbability {
                threshold: *t,
                // At least the largest per-step probability, whatever the paths say.
                any: (hit as f64 / SAMPLE_PATHS as f64).max(max_step),
                per_step: p,
            }
        })
        .collect()
}
