//! The PV member: quantile regression of a plant's output on solar-physics and weather
//! features, with or without a location; night exactly zero.

use super::*;
use crate::ensemble::MEAN_GRID;

/// Most recent daylight steps the solar regression is fitted on (about four months of
/// 15-minute data, a year of hourly data): enough for every sky condition, recent enough to
/// follow soiling and degradation.
pub(super) const MAX_SOLAR_ROWS: usize = 6_000;
/// Share of the history's night steps (with output above 1% of its peak) above which a series
/// is not read as PV output.
pub(super) const MAX_NIGHT_OUTPUT_SHARE: f64 = 0.02;
/// Night steps a history needs before it can be read as PV output.
pub(super) const MIN_NIGHT_STEPS: usize = 12;
/// Half-life in days of a training step's weight in the solar regression: the sun's path,
/// soiling and the season's weather drift, so the last weeks count most. Chosen on the PVDAQ
/// system 50 development set (bench/solar, degraded covariates; daytime pinball in % of
/// capacity, 2011–13 / 2016): 7 days 3.149 / 4.095, 15 days 3.059 / 4.058, 30 days 3.035 /
/// 4.064, no decay 3.031 / 4.094.
pub(super) const HALF_LIFE_DAYS: f64 = 30.0;
/// The weather the physics reads, history then horizon.
#[derive(Clone, Copy, Default)]
pub(super) struct Weather<'a> {
    pub(super) ghi: Option<&'a [f64]>,
    pub(super) temp_air: Option<&'a [f64]>,
    pub(super) cloud_cover: Option<&'a [f64]>,
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
pub(super) fn solar_features(
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

/// What a PV member is fitted on: the daylight steps with features before the fit's end,
/// most recent first.
pub(super) struct DaylightRows {
    /// Features per step.
    pub(super) rows: Vec<Vec<f64>>,
    /// Output per step.
    pub(super) target: Vec<f64>,
    /// Weight per step, halved every [`HALF_LIFE_DAYS`] of age.
    pub(super) case: Vec<f64>,
}

/// The steps before `fit_end` with a finite output and features, most recent first and at
/// most `max_rows` of them.
pub(super) fn daylight_rows(
    y: &[f64],
    features: &dyn Fn(usize) -> Option<Vec<f64>>,
    request: &ForecastRequest<'_>,
    fit_end: usize,
    max_rows: usize,
) -> DaylightRows {
    let day_steps = request
        .timeline
        .map_or(96.0, |t| 86_400.0 / t.step_seconds.max(1) as f64);
    let mut out = DaylightRows {
        rows: Vec::new(),
        target: Vec::new(),
        case: Vec::new(),
    };
    for i in (0..fit_end).rev() {
        if out.rows.len() >= max_rows {
            break;
        }
        if !y[i].is_finite() {
            continue;
        }
        if let Some(f) = features(i) {
            out.rows.push(f);
            out.target.push(y[i]);
            let age_days = (fit_end - i) as f64 / day_steps;
            out.case.push(0.5f64.powf(age_days / HALF_LIFE_DAYS));
        }
    }
    out
}

/// What a PV member's output is divided by: the capacity, else the upper bound, else the
/// largest output of `target`.
pub(super) fn output_scale(request: &ForecastRequest<'_>, target: &[f64]) -> f64 {
    request
        .attributes
        .capacity
        .or(request.bounds.upper())
        .filter(|c| *c > 0.0)
        .unwrap_or_else(|| target.iter().fold(0.0f64, |a, v| a.max(*v)))
        .max(1e-12)
}

/// Fits the solar regression on steps `..fit_end` and forecasts steps `fit_end..fit_end +
/// horizon`.
pub(super) fn solar_member(
    y: &[f64],
    features: &dyn Fn(usize) -> Option<Vec<f64>>,
    source: &str,
    request: &ForecastRequest<'_>,
    fit_end: usize,
    horizon: usize,
    grid: &[f64],
) -> Result<DrivenMember, String> {
    let DaylightRows {
        rows,
        mut target,
        case,
    } = daylight_rows(y, features, request, fit_end, MAX_SOLAR_ROWS);
    let p = rows.first().map_or(0, Vec::len);
    if rows.len() < 10 * p.max(1) {
        return Err(format!(
            "{} daylight steps with weather to fit on, fewer than {}",
            rows.len(),
            10 * p.max(1)
        ));
    }
    let cap = output_scale(request, &target);
    target.iter_mut().for_each(|v| *v /= cap);
    let betas = fit_levels(&rows, &target, &case, p, None)
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
        fit_levels(
            &rows[recent..],
            &target[recent..],
            &case[recent..],
            p,
            Some(&betas),
        )
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
pub(super) enum Pv {
    Located(Vec<SunStep>, Option<Daylight>),
    Unlocated(Daylight),
}

impl Pv {
    pub(super) fn is_night(&self, i: usize) -> bool {
        match self {
            Pv::Located(sun, _) => sun[i].is_night(),
            Pv::Unlocated(d) => d.is_dark(i),
        }
    }

    /// The most step `i` can produce beside the bounds (the history's own, without location).
    pub(super) fn ceiling(&self, i: usize) -> f64 {
        match self {
            Pv::Located(..) => f64::INFINITY,
            Pv::Unlocated(d) => d.ceiling(i),
        }
    }
}

/// What the solar regression of `pv` is fitted on, for its reason.
pub(super) fn solar_source(pv: &Pv, weather: Weather<'_>, request: &ForecastRequest<'_>) -> String {
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
pub(super) const CALIBRATION_DAYS: f64 = 7.0;
/// Pseudo-count of the spread calibration: with `m` hold-out steps a level's scale moves
/// `m / (m + CALIBRATION_PRIOR)` of the way from 1 to what the hold-out asks.
pub(super) const CALIBRATION_PRIOR: f64 = 100.0;

/// The regression at every level of [`QR_LEVELS`], from the median outwards, each level
/// starting from `like`'s solution at that level (a fit of most of the same rows) or else from
/// its neighbour's.
pub(super) fn fit_levels(
    rows: &[Vec<f64>],
    target: &[f64],
    case: &[f64],
    p: usize,
    like: Option<&[Vec<f64>]>,
) -> Option<Vec<Vec<f64>>> {
    let mid = QR_LEVELS.len() / 2;
    let mut betas: Vec<Option<Vec<f64>>> = vec![None; QR_LEVELS.len()];
    let start_at = |j: usize| like.and_then(|l| l.get(j)).cloned();
    betas[mid] = quantreg::fit(
        rows,
        target,
        Some(case),
        QR_LEVELS[mid],
        p,
        start_at(mid).as_deref(),
    );
    for j in (mid + 1..QR_LEVELS.len()).chain((0..mid).rev()) {
        let near = if j > mid { j - 1 } else { j + 1 };
        let start = start_at(j).or_else(|| betas[near].clone());
        betas[j] = quantreg::fit(rows, target, Some(case), QR_LEVELS[j], p, start.as_deref());
    }
    betas.into_iter().collect()
}

/// Per level of [`QR_LEVELS`], the factor on its distance from the median that makes the
/// share of hold-out values below it equal to the level (bisection in [0.5, 4], shrunk
/// towards 1 by [`CALIBRATION_PRIOR`]). Fitted on one stretch and scored on the next, a
/// regression's bands are as often too narrow as the weather regime changes; this is
/// quantile recalibration (Kuleshov et al. 2018) in its simplest, symmetric-in-levels form.
pub(super) fn spread_scales(rows: &[Vec<f64>], target: &[f64], betas: &[Vec<f64>]) -> Vec<f64> {
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
