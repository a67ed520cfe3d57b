//! Forecasts that use what is known about the future: weather forecasts for PV plants,
//! prices and promotions for demand.
//!
//! [`crate::forecast`] comes here when a request carries covariates, or a location and a
//! sub-daily time line. Beside the univariate ensemble (fitted as usual) it fits:
//!
//! - [`ModelKind::SolarRegression`], for series that look like PV output (zero whenever the
//!   sun is down for a whole step, see [`looks_solar`]): linear quantile regression of
//!   output on plane-of-array irradiance from the `ghi` (or `cloud_cover`) forecast, its
//!   clear-sky counterpart, a cloud-variability term and a cell-temperature term
//!   ([`solar_features`]). Every feature vanishes with the sun, so night is exactly zero,
//!   and the spread grows with the irradiance, as the errors of weather forecasts do.
//!   Without a location the same regression runs on the plant's own clear-day profile and
//!   the irradiance covariate's ratio to its clear-day level, night read from the history
//!   ([`Daylight`]); with one, that profile is two more features.
//! - [`ModelKind::DriverRegression`], for every other covariate: least squares on the
//!   drivers (backward elimination of those with |t| < [`MIN_T`]), the residual forecast
//!   by the univariate ensemble (regression with ETS/Theta errors).
//!
//! Members are weighed on a hold-out of the history's end ([`holdout`]) by their pinball
//! loss: those within [`KEEP_WITHIN`] of the best are kept, weighted by its inverse, and
//! their quantiles averaged level by level. A covariate member that does not beat the
//! univariate ensemble there is dropped, and the warnings say so.

use chrono::Datelike;
use horizon_domain::{Bounds, ModelKind, QuantileLevels, interval_quantiles};

use crate::{
    EngineError, calendar,
    covariates::{self, CLOUD_COVER, Covariate, GHI, TEMP_AIR},
    daylight::Daylight,
    ensemble::{self, Forecast, ForecastRequest, Interval, MEAN_GRID, Member},
    quantreg,
    solar::{self, SunStep},
    util,
};

/// Levels at which the solar regression is fitted; other levels are interpolated between
/// them (linearly in the level), and levels outside take the nearest end.
const QR_LEVELS: [f64; 15] = [
    0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.975, 0.99,
];
/// Most recent daylight steps the solar regression is fitted on (about four months of
/// 15-minute data, a year of hourly data): enough for every sky condition, recent enough to
/// follow soiling and degradation.
const MAX_SOLAR_ROWS: usize = 6_000;
/// Share of the history's night steps (with output above 1% of its peak) above which a series
/// is not read as PV output.
const MAX_NIGHT_OUTPUT_SHARE: f64 = 0.02;
/// Night steps a history needs before it can be read as PV output.
const MIN_NIGHT_STEPS: usize = 12;
/// Half-life in days of a training step's weight in the solar regression: the sun's path,
/// soiling and the season's weather drift, so the last weeks count most. Chosen on the PVDAQ
/// system 50 development set (bench/solar, degraded covariates; daytime pinball in % of
/// capacity, 2011–13 / 2016): 7 days 3.149 / 4.095, 15 days 3.059 / 4.058, 30 days 3.035 /
/// 4.064, no decay 3.031 / 4.094.
const HALF_LIFE_DAYS: f64 = 30.0;
/// Drivers whose coefficient has |t| below this are dropped (about the 5% two-sided level).
pub const MIN_T: f64 = 2.0;
/// Days of hold-out a PV plant's members are weighed on: one day's weather is one draw, and
/// on one day the univariate ensemble beat the solar regression often enough to cost 5% of
/// pinball on PVDAQ 2016 (bench/solar, daytime pinball in % of capacity, 2011–13 / 2016:
/// one day 3.048 / 4.235, three days 3.053 / 4.013; the solar regression alone 3.017 / 4.055).
const HOLDOUT_DAYS_SOLAR: usize = 3;
/// Members whose hold-out pinball loss is within this factor of the best are kept.
pub const KEEP_WITHIN: f64 = 1.25;

/// A member's forecast on the level grid.
struct DrivenMember {
    kind: ModelKind,
    reason: String,
    mean: Vec<f64>,
    /// `quantiles[level][step]` on the grid.
    quantiles: Vec<Vec<f64>>,
}

/// The weather the physics reads, history then horizon.
#[derive(Clone, Copy, Default)]
struct Weather<'a> {
    ghi: Option<&'a [f64]>,
    temp_air: Option<&'a [f64]>,
    cloud_cover: Option<&'a [f64]>,
}

/// The grid of levels every member is computed on: requested quantiles, interval ends and an
/// even grid for the mean.
fn level_grid(request: &ForecastRequest<'_>) -> Result<Vec<f64>, EngineError> {
    let mut grid: Vec<f64> = request.quantile_levels.levels().to_vec();
    for l in &request.interval_levels {
        let (lo, hi) = interval_quantiles(*l).map_err(|e| EngineError::InvalidInput {
            what: "interval level",
            reason: e.to_string(),
        })?;
        grid.extend([lo, hi]);
    }
    grid.extend((0..MEAN_GRID).map(|i| (i as f64 + 0.5) / MEAN_GRID as f64));
    util::sort_floats(&mut grid);
    grid.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    Ok(grid)
}

/// Whether `y` looks like PV output: (almost) zero whenever the sun is down for a whole step.
pub(crate) fn looks_solar(y: &[f64], sun: &[SunStep]) -> Result<(), String> {
    let peak = y
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |a, v| a.max(v.abs()));
    let (mut night, mut lit) = (0usize, 0usize);
    for (v, s) in y.iter().zip(sun) {
        if s.is_night() && v.is_finite() {
            night += 1;
            if v.abs() > 0.01 * peak {
                lit += 1;
            }
        }
    }
    if night < MIN_NIGHT_STEPS {
        return Err(format!(
            "the history has {night} night steps, fewer than {MIN_NIGHT_STEPS}"
        ));
    }
    let share = lit as f64 / night as f64;
    if share > MAX_NIGHT_OUTPUT_SHARE {
        return Err(format!(
            "it is above 1% of its peak in {:.1}% of the steps where the sun is down (is the \
             stamp's label, start or end of the interval, right?)",
            100.0 * share
        ));
    }
    Ok(())
}

/// The solar regression's features of one step, scaled to kW/m²; `None` at night or where a
/// weather value is missing.
fn solar_features(
    i: usize,
    sun: &SunStep,
    weather: Weather<'_>,
    tilt: Option<f64>,
) -> Option<Vec<f64>> {
    if sun.is_night() {
        return None;
    }
    let poa = |g: f64| match tilt {
        Some(t) => solar::plane_of_array(g, sun, t, sun.extra_dni),
        None => g,
    };
    let cs = sun.clear_ghi;
    let pc = poa(cs);
    let ghi = match (weather.ghi, weather.cloud_cover) {
        (Some(g), _) => Some(g[i]),
        (None, Some(c)) => {
            let c = c[i];
            let c = if c > 1.5 { c / 100.0 } else { c }.clamp(0.0, 1.0);
            // Kasten and Czeplak (1980): GHI = clear-sky GHI · (1 − 0.75 c^3.4).
            Some(cs * (1.0 - 0.75 * c.powf(3.4)))
        }
        (None, None) => None,
    };
    let Some(g) = ghi else {
        let (sin_az, cos_az) = sun.azimuth.to_radians().sin_cos();
        return Some(vec![
            pc / 1000.0,
            cs / 1000.0,
            pc * sin_az / 1000.0,
            pc * cos_az / 1000.0,
        ]);
    };
    if !g.is_finite() {
        return None;
    }
    let g = g.max(0.0);
    let pg = poa(g);
    let k = if cs > 1.0 {
        (g / cs).clamp(0.0, 1.0)
    } else {
        0.0
    };
    // The sun's azimuth lets the fit bend the response between morning and afternoon and
    // between noon and low sun: what an approximate orientation, horizon shading or a
    // tracker leave over after the physics.
    let (sin_az, cos_az) = sun.azimuth.to_radians().sin_cos();
    // Low sun: horizon shading, reflection losses at grazing incidence, the longer air mass.
    let low_sun = (-sun.elevation.max(0.0) / 10.0).exp();
    let mut f = vec![
        pg / 1000.0,
        pc / 1000.0,
        pc * 4.0 * k * (1.0 - k) / 1000.0,
        g / 1000.0,
        pg * sin_az / 1000.0,
        pg * cos_az / 1000.0,
        pc * sin_az / 1000.0,
        pg * low_sun / 1000.0,
        pc * low_sun / 1000.0,
    ];
    if let Some(t) = weather.temp_air {
        let t = t[i];
        if !t.is_finite() {
            return None;
        }
        // Cell temperature by the NOCT rule (≈ 0.03 °C per W/m² above the air).
        let cell = t + 0.03 * pg;
        f.push(pg * (cell - 25.0) / 25_000.0);
    }
    Some(f)
}

/// Fits the solar regression on steps `..fit_end` and forecasts steps `fit_end..fit_end +
/// horizon`.
fn solar_member(
    y: &[f64],
    features: &dyn Fn(usize) -> Option<Vec<f64>>,
    source: &str,
    request: &ForecastRequest<'_>,
    fit_end: usize,
    horizon: usize,
    grid: &[f64],
) -> Result<DrivenMember, String> {
    let mut rows = Vec::new();
    let mut target = Vec::new();
    let mut case = Vec::new();
    let day_steps = request
        .timeline
        .map_or(96.0, |t| 86_400.0 / t.step_seconds.max(1) as f64);
    for i in (0..fit_end).rev() {
        if rows.len() >= MAX_SOLAR_ROWS {
            break;
        }
        if !y[i].is_finite() {
            continue;
        }
        if let Some(f) = features(i) {
            rows.push(f);
            target.push(y[i]);
            let age_days = (fit_end - i) as f64 / day_steps;
            case.push(0.5f64.powf(age_days / HALF_LIFE_DAYS));
        }
    }
    let p = rows.first().map_or(0, Vec::len);
    if rows.len() < 10 * p.max(1) {
        return Err(format!(
            "{} daylight steps with weather to fit on, fewer than {}",
            rows.len(),
            10 * p.max(1)
        ));
    }
    let cap = request
        .attributes
        .capacity
        .or(request.bounds.upper())
        .filter(|c| *c > 0.0)
        .unwrap_or_else(|| target.iter().fold(0.0f64, |a, v| a.max(*v)))
        .max(1e-12);
    target.iter_mut().for_each(|v| *v /= cap);
    let betas = fit_levels(&rows, &target, &case, p)
        .ok_or_else(|| "the features do not determine the regression".to_owned())?;
    // Spread calibration on the last CALIBRATION_DAYS: refit without them, then scale each
    // level's distance from the median so that the hold-out hits it as often as it should.
    // At least 15 rows per feature, so that hourly data (a dozen daylight steps a day) is
    // calibrated too.
    let recent = case
        .iter()
        .take_while(|c| **c >= 0.5f64.powf(CALIBRATION_DAYS / HALF_LIFE_DAYS))
        .count()
        .max(15 * p);
    let scales = if recent >= 10 * p && rows.len() - recent >= 10 * p {
        fit_levels(&rows[recent..], &target[recent..], &case[recent..], p)
            .map(|older| spread_scales(&rows[..recent], &target[..recent], &older))
    } else {
        None
    };
    let mut quantiles = vec![vec![0.0; horizon]; grid.len()];
    let mut mean = vec![0.0; horizon];
    let mut column = vec![0.0; QR_LEVELS.len()];
    for s in 0..horizon {
        let i = fit_end + s;
        let Some(f) = features(i) else {
            continue; // night (or no weather): exactly zero
        };
        for (c, b) in column.iter_mut().zip(&betas) {
            *c = quantreg::dot(&f, b);
        }
        if let Some(scales) = &scales {
            let med = column[QR_LEVELS.len() / 2];
            for (c, k) in column.iter_mut().zip(scales) {
                *c = med + k * (*c - med);
            }
        }
        column.iter_mut().for_each(|c| *c = c.max(0.0) * cap);
        // Rearrangement (Chernozhukov et al. 2010): sorting removes crossings and never
        // worsens the loss.
        util::sort_floats(&mut column);
        for (q, l) in quantiles.iter_mut().zip(grid) {
            q[s] = ensemble::interp(&QR_LEVELS, &column, *l);
        }
        mean[s] = (0..MEAN_GRID)
            .map(|k| ensemble::interp(&QR_LEVELS, &column, (k as f64 + 0.5) / MEAN_GRID as f64))
            .sum::<f64>()
            / MEAN_GRID as f64;
    }
    Ok(DrivenMember {
        kind: ModelKind::SolarRegression,
        reason: format!(
            "PV output: quantile regression on {source}, {} daylight steps",
            rows.len()
        ),
        mean,
        quantiles,
    })
}

/// How a PV plant's steps are placed under the sun: by its location, or by its own history.
enum Pv {
    Located(Vec<SunStep>, Option<Daylight>),
    Unlocated(Daylight),
}

impl Pv {
    fn is_night(&self, i: usize) -> bool {
        match self {
            Pv::Located(sun, _) => sun[i].is_night(),
            Pv::Unlocated(d) => d.is_dark(i),
        }
    }

    /// The most step `i` can produce beside the bounds (the history's own, without location).
    fn ceiling(&self, i: usize) -> f64 {
        match self {
            Pv::Located(..) => f64::INFINITY,
            Pv::Unlocated(d) => d.ceiling(i),
        }
    }
}

/// What the solar regression of `pv` is fitted on, for its reason.
fn solar_source(pv: &Pv, weather: Weather<'_>, request: &ForecastRequest<'_>) -> String {
    let tilt = request.attributes.orientation.is_some();
    let irradiance = match pv {
        Pv::Unlocated(d) => d.irradiance.map(|k| request.covariates[k].name),
        Pv::Located(..) => weather.ghi.map(|_| covariates::GHI),
    };
    let what = match (irradiance, weather.cloud_cover) {
        (Some(name), _) => format!("the {name} forecast"),
        (None, Some(_)) => "the cloud_cover forecast".to_owned(),
        (None, None) => "clear-sky irradiance only (no weather covariate)".to_owned(),
    };
    let geometry = match pv {
        Pv::Located(..) if tilt => " on the plane of the array",
        Pv::Located(..) => "",
        Pv::Unlocated(_) => {
            " relative to the plant's clear-day profile of the last 30 days (no location)"
        }
    };
    let temp = if weather.temp_air.is_some() {
        " and temp_air"
    } else {
        ""
    };
    format!("{what}{geometry}{temp}")
}

/// Days at the end of the history that calibrate the solar regression's spread.
const CALIBRATION_DAYS: f64 = 7.0;
/// Pseudo-count of the spread calibration: with `m` hold-out steps a level's scale moves
/// `m / (m + CALIBRATION_PRIOR)` of the way from 1 to what the hold-out asks.
const CALIBRATION_PRIOR: f64 = 100.0;

/// The regression at every level of [`QR_LEVELS`], from the median outwards, each level
/// starting from its neighbour's solution.
fn fit_levels(rows: &[Vec<f64>], target: &[f64], case: &[f64], p: usize) -> Option<Vec<Vec<f64>>> {
    let mid = QR_LEVELS.len() / 2;
    let mut betas: Vec<Option<Vec<f64>>> = vec![None; QR_LEVELS.len()];
    betas[mid] = quantreg::fit(rows, target, Some(case), QR_LEVELS[mid], p, None);
    for j in (mid + 1..QR_LEVELS.len()).chain((0..mid).rev()) {
        let near = if j > mid { j - 1 } else { j + 1 };
        let start = betas[near].clone();
        betas[j] = quantreg::fit(rows, target, Some(case), QR_LEVELS[j], p, start.as_deref());
    }
    betas.into_iter().collect()
}

/// Per level of [`QR_LEVELS`], the factor on its distance from the median that makes the
/// share of hold-out values below it equal to the level (bisection in [0.5, 4], shrunk
/// towards 1 by [`CALIBRATION_PRIOR`]). Fitted on one stretch and scored on the next, a
/// regression's bands are as often too narrow as the weather regime changes; this is
/// quantile recalibration (Kuleshov et al. 2018) in its simplest, symmetric-in-levels form.
fn spread_scales(rows: &[Vec<f64>], target: &[f64], betas: &[Vec<f64>]) -> Vec<f64> {
    let mid = QR_LEVELS.len() / 2;
    let cols: Vec<Vec<f64>> = rows
        .iter()
        .map(|f| betas.iter().map(|b| quantreg::dot(f, b)).collect())
        .collect();
    QR_LEVELS
        .iter()
        .enumerate()
        .map(|(j, tau)| {
            if j == mid {
                return 1.0;
            }
            let used: Vec<(f64, f64, f64)> = cols
                .iter()
                .zip(target)
                .filter(|(c, _)| (c[j] - c[mid]).abs() > 1e-9)
                .map(|(c, y)| (c[mid], c[j] - c[mid], *y))
                .collect();
            if used.len() < 20 {
                return 1.0;
            }
            let below = |k: f64| {
                used.iter().filter(|(m, d, y)| *y < m + k * d).count() as f64 / used.len() as f64
            };
            // below(k) falls with k for lower levels and rises for upper ones.
            let (mut lo, mut hi) = (0.5f64, 4.0f64);
            for _ in 0..30 {
                let k = (lo + hi) / 2.0;
                let too_many = below(k) > *tau;
                if (j < mid) == too_many {
                    lo = k;
                } else {
                    hi = k;
                }
            }
            let k = (lo + hi) / 2.0;
            let m = used.len() as f64;
            1.0 + (k - 1.0) * m / (m + CALIBRATION_PRIOR)
        })
        .collect()
}

/// Least squares of `y` on the drivers over steps `..fit_end`, backward elimination by |t|;
/// returns the kept drivers' indices and coefficients (on the raw scale) or why none is kept.
pub(crate) fn driver_coefficients(
    y: &[f64],
    drivers: &[Covariate<'_>],
    fit_end: usize,
) -> Result<Vec<(usize, f64)>, String> {
    let usable: Vec<usize> = (0..fit_end)
        .filter(|&i| y[i].is_finite() && drivers.iter().all(|d| d.values[i].is_finite()))
        .collect();
    let mut kept: Vec<usize> = (0..drivers.len())
        .filter(|&j| {
            let v: Vec<f64> = usable.iter().map(|&i| drivers[j].values[i]).collect();
            util::variance(&v) > 0.0
        })
        .collect();
    loop {
        if kept.is_empty() {
            return Err("no covariate varies over the history or explains it".to_owned());
        }
        let p = kept.len() + 1;
        if usable.len() < p + 10 {
            return Err(format!(
                "{} steps with every covariate, too few for {} coefficients",
                usable.len(),
                p
            ));
        }
        let rows: Vec<Vec<f64>> = usable
            .iter()
            .map(|&i| {
                std::iter::once(1.0)
                    .chain(kept.iter().map(|&j| drivers[j].values[i]))
                    .collect()
            })
            .collect();
        let target: Vec<f64> = usable.iter().map(|&i| y[i]).collect();
        let ones = vec![1.0; rows.len()];
        let beta = quantreg::weighted_least_squares(&rows, &target, &ones, p)
            .ok_or_else(|| "the covariates are collinear".to_owned())?;
        let sse: f64 = rows
            .iter()
            .zip(&target)
            .map(|(r, t)| (t - quantreg::dot(r, &beta)).powi(2))
            .sum();
        let sigma2 = sse / (rows.len() - p) as f64;
        // Diagonal of (XᵀX)⁻¹ column by column.
        let mut xtx = vec![0.0; p * p];
        for r in &rows {
            for a in 0..p {
                for b in 0..p {
                    xtx[a * p + b] += r[a] * r[b];
                }
            }
        }
        let mut worst: Option<(usize, f64)> = None;
        for k in 1..p {
            let mut e = vec![0.0; p];
            e[k] = 1.0;
            let Some(col) = quantreg::solve_spd(&xtx, &e, p, 1e-12) else {
                return Err("the covariates are collinear".to_owned());
            };
            let se = (sigma2 * col[k]).sqrt();
            let t = if se > 0.0 {
                (beta[k] / se).abs()
            } else {
                f64::INFINITY
            };
            if t < MIN_T && worst.is_none_or(|(_, w)| t < w) {
                worst = Some((k - 1, t));
            }
        }
        match worst {
            Some((pos, _)) => {
                kept.remove(pos);
            }
            None => return Ok(kept.iter().zip(&beta[1..]).map(|(j, b)| (*j, *b)).collect()),
        }
    }
}

/// Day-of-week dummies (daily steps; Sunday is the base) and a public-holiday indicator (steps
/// of a day or less, when the series has a country) over `steps` steps, as drivers of the
/// regression on drivers; the regression keeps those that matter.
fn calendar_drivers(
    request: &ForecastRequest<'_>,
    steps: usize,
    warnings: &mut Vec<String>,
) -> Vec<(&'static str, Vec<f64>)> {
    let Some(timeline) = request.timeline.filter(|t| t.step_seconds <= 86_400) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let country = request.attributes.country.as_deref();
    if country.is_none() && timeline.step_seconds < 86_400 {
        return out;
    }
    let (dates, note) = calendar::local_dates(&timeline, &request.attributes, steps);
    if let Some(country) = country {
        if calendar::knows(country) {
            warnings.extend(note);
            let known: Vec<Option<bool>> = dates
                .iter()
                .map(|d| calendar::is_holiday(country, *d))
                .collect();
            let uncovered = known.iter().filter(|k| k.is_none()).count();
            if uncovered > 0 {
                warnings.push(format!(
                    "{uncovered} steps outside the holiday table's years {}-{}: read as no holiday",
                    calendar::YEARS.0,
                    calendar::YEARS.1
                ));
            }
            let holiday: Vec<f64> = known
                .iter()
                .map(|k| f64::from(u8::from(*k == Some(true))))
                .collect();
            out.push(("holiday", holiday));
        } else {
            warnings.push(format!(
                "country {country:?} is not in the holiday table: no holiday feature"
            ));
        }
    }
    if timeline.step_seconds == 86_400 {
        const DAYS: [&str; 6] = [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
        ];
        for (k, name) in DAYS.iter().enumerate() {
            let column = dates
                .iter()
                .map(|d| f64::from(u8::from(d.weekday().num_days_from_monday() as usize == k)))
                .collect();
            out.push((*name, column));
        }
    }
    out
}

/// The models asked for without the covariate ones (`None`: the routed ensemble).
fn univariate_models(request: &ForecastRequest<'_>) -> Option<Vec<ModelKind>> {
    request.models.as_ref().map(|m| {
        m.iter()
            .copied()
            .filter(|k| !k.needs_covariates())
            .collect()
    })
}

/// A univariate request like `request` over `values`, with the grid's levels and no bounds
/// when `unbounded` (a residual).
fn univariate_request<'a>(
    request: &ForecastRequest<'a>,
    values: &'a [f64],
    horizon: usize,
    grid: &[f64],
    unbounded: bool,
) -> Result<ForecastRequest<'a>, EngineError> {
    let mut r = request.clone();
    r.values = values;
    r.horizon = horizon;
    r.covariates = Vec::new();
    r.timeline = None;
    r.thresholds = Vec::new();
    r.quantile_levels =
        QuantileLevels::new(grid.to_vec()).map_err(|e| EngineError::InvalidInput {
            what: "quantile levels",
            reason: e.to_string(),
        })?;
    r.models = univariate_models(request);
    if unbounded {
        r.bounds = Bounds::UNBOUNDED;
    }
    Ok(r)
}

/// Regression on the drivers with the residual forecast by the univariate ensemble.
fn driver_member(
    y: &[f64],
    drivers: &[Covariate<'_>],
    request: &ForecastRequest<'_>,
    fit_end: usize,
    horizon: usize,
    grid: &[f64],
) -> Result<(DrivenMember, Vec<String>), String> {
    let coefs = driver_coefficients(y, drivers, fit_end)?;
    let effect = |i: usize| -> f64 { coefs.iter().map(|(j, b)| b * drivers[*j].values[i]).sum() };
    let residual: Vec<f64> = (0..fit_end).map(|i| y[i] - effect(i)).collect();
    let r =
        univariate_request(request, &residual, horizon, grid, true).map_err(|e| e.to_string())?;
    let inner = ensemble::univariate(&r).map_err(|e| e.to_string())?;
    let future: Vec<f64> = (0..horizon).map(|s| effect(fit_end + s)).collect();
    let used: Vec<String> = coefs
        .iter()
        .map(|(j, b)| format!("{} ({b:.4})", drivers[*j].name))
        .collect();
    let dropped: Vec<String> = (0..drivers.len())
        .filter(|j| !coefs.iter().any(|(k, _)| k == j))
        .map(|j| drivers[j].name.to_owned())
        .collect();
    let residual_models: Vec<String> = inner.members.iter().map(|m| m.kind.to_string()).collect();
    Ok((
        DrivenMember {
            kind: ModelKind::DriverRegression,
            reason: format!(
                "regression on {} with {} errors",
                used.join(", "),
                residual_models.join("/")
            ),
            mean: inner.mean.iter().zip(&future).map(|(m, e)| m + e).collect(),
            quantiles: inner
                .quantiles
                .iter()
                .map(|q| q.iter().zip(&future).map(|(v, e)| v + e).collect())
                .collect(),
        },
        dropped,
    ))
}

/// The hold-out the members are weighed on: the last day (sub-daily data) or horizon,
/// whichever is longer, at most a quarter of the history; `None` for short histories.
fn holdout(n: usize, horizon: usize, steps_per_day: Option<usize>) -> Option<usize> {
    let v = horizon.max(steps_per_day.unwrap_or(1)).min(n / 4);
    (v >= 1 && n - v >= 20).then_some(v)
}

/// Mean pinball loss over the grid of the forecast `q` (`q[level][step]`) against `actual`,
/// on the steps `use_step` allows; `None` without any such step.
fn pinball(
    q: &[Vec<f64>],
    grid: &[f64],
    actual: &[f64],
    use_step: impl Fn(usize) -> bool,
) -> Option<f64> {
    let (mut sum, mut count) = (0.0, 0usize);
    for (s, a) in actual.iter().enumerate() {
        if !a.is_finite() || !use_step(s) {
            continue;
        }
        for (row, l) in q.iter().zip(grid) {
            sum += quantreg::check_loss(a - row[s], *l);
            count += 1;
        }
    }
    (count > 0).then(|| sum / count as f64)
}

/// See the module docs. `request.covariates` have been checked by the caller.
pub(crate) fn forecast(request: &ForecastRequest<'_>) -> Result<Forecast, EngineError> {
    let h = request.horizon;
    let n = request.values.len();
    covariates::check(&request.covariates, n, h)?;
    let grid = level_grid(request)?;
    let y = request.values;
    let mut warnings = Vec::new();
    let wants = |k: ModelKind| {
        request
            .models
            .as_ref()
            .is_none_or(|m| m.is_empty() || m.contains(&k))
    };
    let univariate_wanted = request
        .models
        .as_ref()
        .is_none_or(|m| m.is_empty() || m.iter().any(|k| !k.needs_covariates()));

    // Solar physics: where the sun is, and whether the history behaves like PV output.
    let named = |name: &str| {
        request
            .covariates
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.values)
    };
    let weather = Weather {
        ghi: named(GHI),
        temp_air: named(TEMP_AIR),
        cloud_cover: named(CLOUD_COVER),
    };
    let has_weather = weather.ghi.is_some() || weather.cloud_cover.is_some();
    let mut pv: Option<Pv> = None;
    if wants(ModelKind::SolarRegression) {
        match (&request.timeline, request.attributes.location) {
            (Some(t), Some(_)) if t.is_sub_daily() => {
                let steps = solar::sun_steps(&request.attributes, t, n + h).unwrap_or_default();
                match looks_solar(y, &steps) {
                    Ok(()) => {
                        let d = Daylight::estimate(y, t, &request.covariates, h).ok();
                        pv = Some(Pv::Located(steps, d))
                    }
                    Err(why) => warnings.push(format!("not forecast as PV output: {why}")),
                }
            }
            (Some(t), Some(_)) if !t.is_sub_daily() && has_weather => {
                warnings.push("solar physics skipped: steps of a day or longer".to_owned());
            }
            // No location: the history's own day and night, when a weather covariate says
            // this may be a plant (any covariate dark with it can stand for irradiance).
            (Some(t), None) if t.is_sub_daily() && !request.covariates.is_empty() => {
                match Daylight::estimate(y, t, &request.covariates, h) {
                    Ok(d) if d.irradiance.is_some() || weather.cloud_cover.is_some() => {
                        warnings.push(
                            "solar physics skipped: no location (latitude, longitude) for this \
                             series; day and night read from its own history"
                                .to_owned(),
                        );
                        pv = Some(Pv::Unlocated(d));
                    }
                    Ok(_) if has_weather => warnings.push(
                        "solar physics skipped: no location (latitude, longitude) for this \
                         series, and no covariate follows its output as irradiance"
                            .to_owned(),
                    ),
                    Ok(_) => {}
                    Err(why) if has_weather => warnings.push(format!(
                        "solar physics skipped: no location (latitude, longitude) for this \
                         series, and it does not read as PV output: {why}"
                    )),
                    Err(_) => {}
                }
            }
            (_, None) if has_weather => warnings.push(
                "solar physics skipped: no location (latitude, longitude) for this series"
                    .to_owned(),
            ),
            (None, Some(_)) if has_weather => {
                warnings.push("solar physics skipped: the history has no time stamps".to_owned())
            }
            _ => {}
        }
    }
    let irradiance_proxy = match &pv {
        Some(Pv::Unlocated(d)) => d.irradiance,
        _ => None,
    };
    let drivers: Vec<Covariate<'_>> = request
        .covariates
        .iter()
        .enumerate()
        .filter(|(k, c)| {
            pv.is_none() || !(covariates::is_weather(c.name) || irradiance_proxy == Some(*k))
        })
        .map(|(_, c)| *c)
        .collect();
    let calendar_columns = calendar_drivers(request, n + h, &mut warnings);
    let mut drivers = drivers;
    drivers.extend(
        calendar_columns
            .iter()
            .map(|(name, values)| Covariate { name, values }),
    );
    let tilt = request.attributes.orientation.map(|o| o.tilt());
    let pv_features = |i: usize| -> Option<Vec<f64>> {
        match pv.as_ref()? {
            Pv::Located(sun, d) => {
                let mut f = solar_features(i, &sun[i], weather, tilt)?;
                if let (Some(d), Some(g)) = (d, weather.ghi) {
                    let cs = sun[i].clear_ghi;
                    let k = if cs > 1.0 {
                        (g[i].max(0.0) / cs).clamp(0.0, 1.2)
                    } else {
                        0.0
                    };
                    f.push(d.profile(i));
                    f.push(d.profile(i) * k);
                }
                Some(f)
            }
            Pv::Unlocated(d) => d.features(
                i,
                d.irradiance.map(|k| request.covariates[k].values),
                weather.temp_air,
                weather.cloud_cover,
            ),
        }
    };
    let source = pv
        .as_ref()
        .map(|p| solar_source(p, weather, request))
        .unwrap_or_default();

    // Members on the whole history.
    let steps_per_day = request
        .timeline
        .filter(|t| t.is_sub_daily())
        .map(|t| (86_400 / t.step_seconds.max(1)).max(1) as usize);
    // Each member with the drivers its regression dropped (none for the solar regression).
    let fit = |end: usize, horizon: usize| -> Vec<Result<(DrivenMember, Vec<String>), String>> {
        let mut out = Vec::new();
        if pv.is_some() {
            out.push(
                solar_member(y, &pv_features, &source, request, end, horizon, &grid)
                    .map(|m| (m, Vec::new())),
            );
        }
        if !drivers.is_empty() && wants(ModelKind::DriverRegression) {
            out.push(driver_member(y, &drivers, request, end, horizon, &grid));
        }
        out
    };
    let mut members: Vec<DrivenMember> = Vec::new();
    for m in fit(n, h) {
        match m {
            Ok((m, dropped)) => {
                if !dropped.is_empty() {
                    warnings.push(format!(
                        "covariates dropped (|t| < {MIN_T} in the regression): {}",
                        dropped.join(", ")
                    ));
                }
                members.push(m);
            }
            Err(why) => warnings.push(format!("covariate model dropped: {why}")),
        }
    }
    if members.is_empty() {
        let mut r = request.clone();
        r.covariates = Vec::new();
        r.timeline = None;
        r.models = univariate_models(request);
        if r.models.as_ref().is_some_and(Vec::is_empty) {
            return Err(EngineError::InvalidInput {
                what: "models",
                reason: "the covariate models asked for could not be fitted".to_owned(),
            });
        }
        let mut f = ensemble::univariate(&r)?;
        if !request.covariates.is_empty() {
            warnings.push("forecast from the history alone".to_owned());
        }
        warnings.append(&mut f.warnings);
        f.warnings = warnings;
        return Ok(f);
    }
    let uni = if univariate_wanted {
        let r = univariate_request(request, y, h, &grid, false)?;
        Some(ensemble::univariate(&r)?)
    } else {
        None
    };

    // Weights from the hold-out.
    let night = |i: usize| pv.as_ref().is_some_and(|p| p.is_night(i));
    let ceiling = |i: usize| pv.as_ref().map_or(f64::INFINITY, |p| p.ceiling(i));
    // A PV plant's day is one weather draw: weigh on several (HOLDOUT_DAYS_SOLAR).
    let days = if pv.is_some() { HOLDOUT_DAYS_SOLAR } else { 1 };
    let v = holdout(n, h, steps_per_day.map(|d| d * days));
    let mut scores: Vec<Option<f64>> = vec![None; members.len() + 1];
    if let Some(v) = v {
        let end = n - v;
        let actual = &y[end..];
        let daytime = |s: usize| !night(end + s);
        for (k, m) in fit(end, v).into_iter().enumerate() {
            if let Ok((m, _)) = m {
                scores[k] = pinball(&m.quantiles, &grid, actual, daytime);
            }
        }
        if uni.is_some()
            && let Ok(r) = univariate_request(request, &y[..end], v, &grid, false)
            && let Ok(f) = ensemble::univariate(&r)
        {
            scores[members.len()] = pinball(&f.quantiles, &grid, actual, daytime);
        }
    }
    let mut weights: Vec<f64> = vec![0.0; members.len() + 1];
    let mut notes: Vec<String> = vec![String::new(); members.len() + 1];
    let best = scores
        .iter()
        .flatten()
        .fold(f64::INFINITY, |a, s| a.min(*s));
    if best.is_finite() {
        for (k, s) in scores.iter().enumerate() {
            if k == members.len() && uni.is_none() {
                continue;
            }
            let uni_score = scores[members.len()].filter(|_| uni.is_some());
            let no_better = k < members.len()
                && members[k].kind == ModelKind::DriverRegression
                && matches!((s, uni_score), (Some(s), Some(u)) if *s >= u);
            match s {
                Some(s) if no_better => {
                    notes[k] = format!("hold-out pinball {s:.4}: dropped");
                }
                Some(s) if *s <= KEEP_WITHIN * best => {
                    weights[k] = 1.0 / s.max(1e-12);
                    notes[k] = format!("hold-out pinball {s:.4}");
                }
                Some(s) => notes[k] = format!("hold-out pinball {s:.4}: dropped"),
                None => notes[k] = "no hold-out score: dropped".to_owned(),
            }
        }
    } else {
        // No hold-out: the covariate members alone (the physics and the drivers are prior
        // knowledge the history cannot contradict yet).
        for (k, note) in notes.iter_mut().enumerate().take(members.len()) {
            weights[k] = 1.0;
            *note = "history too short for a hold-out: equal weight".to_owned();
        }
    }
    for (k, m) in members.iter().enumerate() {
        if weights[k] == 0.0 {
            let what = if m.kind == ModelKind::DriverRegression {
                let names: Vec<&str> = drivers.iter().map(|d| d.name).collect();
                format!(
                    "covariates {} not used: the regression on them",
                    names.join(", ")
                )
            } else {
                m.kind.to_string()
            };
            warnings.push(format!(
                "{what} was no better than the univariate ensemble on the hold-out ({})",
                notes[k]
            ));
        }
    }
    let total: f64 = weights.iter().sum();
    weights.iter_mut().for_each(|w| *w /= total);

    // Combine level by level; night is exactly zero; bounds (and the capacity) hold.
    let mut bounds = request.bounds;
    if pv.is_some() {
        let upper = match (bounds.upper(), request.attributes.capacity) {
            (Some(u), Some(c)) => Some(u.min(c)),
            (u, c) => u.or(c),
        };
        bounds = Bounds::new(Some(bounds.lower().unwrap_or(0.0).max(0.0)), upper)
            .unwrap_or(Bounds::NON_NEGATIVE);
    }
    let w_uni = weights[members.len()];
    let mut all_q = vec![vec![0.0; h]; grid.len()];
    let mut mean = vec![0.0; h];
    for s in 0..h {
        let mut column: Vec<f64> = (0..grid.len())
            .map(|j| {
                let mut v: f64 = members
                    .iter()
                    .zip(&weights)
                    .map(|(m, w)| w * m.quantiles[j][s])
                    .sum();
                if let Some(u) = &uni {
                    v += w_uni * u.quantiles[j][s];
                }
                v
            })
            .collect();
        util::sort_floats(&mut column);
        let mut m: f64 = members
            .iter()
            .zip(&weights)
            .map(|(m, w)| w * m.mean[s])
            .sum();
        if let Some(u) = &uni {
            m += w_uni * u.mean[s];
        }
        let dark = night(n + s);
        let top = ceiling(n + s);
        for (row, v) in all_q.iter_mut().zip(column) {
            row[s] = if dark { 0.0 } else { bounds.clamp(v).min(top) };
        }
        mean[s] = if dark { 0.0 } else { bounds.clamp(m).min(top) };
    }
    let pos = |level: f64| {
        grid.iter()
            .position(|g| (g - level).abs() < 1e-9)
            .unwrap_or(0)
    };
    let quantile_levels = request.quantile_levels.levels().to_vec();
    let pick = |q: &[Vec<f64>], s_night: bool| -> Vec<Vec<f64>> {
        quantile_levels
            .iter()
            .map(|l| {
                q[pos(*l)]
                    .iter()
                    .enumerate()
                    .map(|(s, v)| {
                        if s_night && night(n + s) {
                            0.0
                        } else {
                            bounds.clamp(*v).min(ceiling(n + s))
                        }
                    })
                    .collect()
            })
            .collect()
    };
    let mut out_members: Vec<Member> = members
        .iter()
        .zip(&weights)
        .zip(&notes)
        .filter(|((_, w), _)| **w > 0.0)
        .map(|((m, w), note)| Member {
            kind: m.kind,
            weight: *w,
            reason: format!("{}; {note}", m.reason),
            mean: m
                .mean
                .iter()
                .enumerate()
                .map(|(s, v)| {
                    if night(n + s) {
                        0.0
                    } else {
                        bounds.clamp(*v).min(ceiling(n + s))
                    }
                })
                .collect(),
            quantiles: pick(&m.quantiles, true),
        })
        .collect();
    let mut profile = None;
    if let Some(u) = uni {
        for um in &u.members {
            out_members.push(Member {
                kind: um.kind,
                weight: um.weight * w_uni,
                reason: format!(
                    "{}; univariate ensemble: {}",
                    um.reason,
                    notes[members.len()]
                ),
                mean: um.mean.clone(),
                quantiles: pick(&um.quantiles, false),
            });
        }
        warnings.extend(u.warnings);
        profile = Some(u.profile);
    }
    let profile = match profile {
        Some(p) => p,
        None => {
            let (clean, _) = ensemble::impute(y);
            crate::classify(&clean, &request.season_lengths)
        }
    };
    let intervals = request
        .interval_levels
        .iter()
        .map(|level| {
            let (lo, hi) = interval_quantiles(*level).unwrap_or((0.1, 0.9));
            Interval {
                level: *level,
                lo: all_q[pos(lo)].clone(),
                hi: all_q[pos(hi)].clone(),
            }
        })
        .collect();
    let quantiles = quantile_levels
        .iter()
        .map(|l| all_q[pos(*l)].clone())
        .collect();
    let threshold_probabilities =
        ensemble::threshold_probabilities(&request.thresholds, &grid, &all_q, 0.5, request.seed);
    Ok(Forecast {
        mean,
        quantile_levels,
        quantiles,
        intervals,
        members: out_members,
        profile,
        threshold_probabilities,
        warnings,
    })
}
