//! The candidate members: which models a series is routed to, and fitting each (with its
//! validation errors over rolling origins).

use super::*;

/// What the fitting functions need beyond the history.
#[derive(Debug, Clone, Default)]
pub(super) struct FitContext {
    pub(super) season: Option<usize>,
    pub(super) periods: Vec<usize>,
    /// The MSTL trend's form chosen on the full history, refitted as is on validation windows.
    pub(super) mstl_trend: Option<String>,
    /// Season length offered to ETS, which selects seasonal forms by AICc rather than by the
    /// seasonality test.
    pub(super) ets_season: Option<usize>,
    /// The ARIMA orders chosen on the full history, refitted as they are on validation windows.
    pub(super) arima_order: Option<arima::ArimaOrder>,
}

pub(super) fn fit_kind(
    kind: ModelKind,
    y: &[f64],
    ctx: &FitContext,
) -> Result<Box<dyn FittedModel>, EngineError> {
    let m = ctx.season;
    Ok(match kind {
        ModelKind::Naive => Box::new(baseline::naive(y)?),
        // The longest detected cycle: last week's same hour carries the daily and the weekly
        // pattern, yesterday's only the daily one.
        ModelKind::SeasonalNaive => match ctx.periods.last().copied().or(m) {
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
        ModelKind::AutoArima => match ctx.arima_order {
            Some(order) => Box::new(arima::fit_conditional(y, order)?),
            None => Box::new(arima::fit_auto_with(
                y,
                ctx.ets_season.or(m),
                arima::Criterion::AsR,
            )?),
        },
        ModelKind::SolarRegression | ModelKind::SolarBoosted | ModelKind::DriverRegression => {
            return Err(EngineError::CannotFit {
                model: kind.as_str(),
                reason: "needs covariates; it is fitted beside the univariate members".to_owned(),
            });
        }
    })
}

/// A fitted member with its validation errors.
pub(super) struct Candidate {
    pub(super) kind: ModelKind,
    pub(super) model: Box<dyn FittedModel>,
    pub(super) mean: Vec<f64>,
    /// `errors[window][step]` = actual − forecast on validation windows.
    pub(super) errors: Vec<Vec<f64>>,
    pub(super) reason: String,
}

/// The rolling origins for validation: training lengths, and the steps validated.
/// `longest_cycle` is the longest seasonal period the members model: on a long history
/// ([`LONG_HISTORY`]) the origins are spread until they cover one such cycle (at most
/// [`LONG_VALIDATION_WINDOWS`] of them), so that a member blind to it (a daily-only model of
/// demand with a weekly cycle) is judged on the weekend as well as on weekdays.
pub(super) fn validation_origins(
    n: usize,
    horizon: usize,
    season: Option<usize>,
    longest_cycle: usize,
) -> (Vec<usize>, usize) {
    let min_train = (2 * season.unwrap_or(1) + 2).max(8);
    if n < min_train + 1 {
        return (Vec::new(), 0);
    }
    let h = horizon.min(n - min_train).max(1);
    let step = (h / VALIDATION_WINDOWS).max(1);
    let windows = if n >= LONG_HISTORY {
        longest_cycle
            .div_ceil(step)
            .clamp(VALIDATION_WINDOWS, LONG_VALIDATION_WINDOWS)
    } else {
        VALIDATION_WINDOWS
    };
    let mut origins = Vec::with_capacity(windows);
    for k in 0..windows {
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
/// `seasonless_frequency` when the caller's season lengths are all 1 (or none are given),
/// `long_history` from [`LONG_HISTORY`] values on.
pub(super) fn default_models(
    profile: &SeriesProfile,
    periods: &[usize],
    seasonless_frequency: bool,
    long_history: bool,
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
        // A long history with a strong cycle validates the members on enough origins to tell
        // when the seasonal naive beats them (hourly temperature and PV output of the
        // development set, see `LONG_HISTORY_TRIM`); short ones weigh every member and keep
        // it out. A weak cycle (a random walk passes the ACF test at lag 7: the development
        // set's daily share price) only adds last week's noise.
        let strong_cycle =
            !periods.is_empty() && profile.seasonal_strength >= seasonality::LONGER_CYCLE_STRENGTH;
        if long_cycle || (long_history && strong_cycle) {
            m.push(ModelKind::SeasonalNaive);
        }
        m
    }
}

pub(super) fn reason_for(kind: ModelKind, profile: &SeriesProfile, requested: bool) -> String {
    if requested {
        format!("{} requested", kind.as_str())
    } else if profile.class.is_sporadic() {
        format!("{} series: intermittent-demand model", profile.class)
    } else {
        format!("{} series: default combination member", profile.class)
    }
}
