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
use horizon_domain::{Bounds, ForecastWarning, ModelKind, QuantileLevels, WarningKind};

use crate::{
    EngineError, Interval, calendar,
    covariates::{self, CLOUD_COVER, Covariate, GHI, TEMP_AIR},
    daylight::Daylight,
    ensemble::{self, Forecast, ForecastRequest, LevelGrid, Member},
    quantreg,
    solar::{self, SunStep},
    util,
};

mod boosted;
mod drivers;
mod pv;

use boosted::boosted_member;
#[cfg(test)]
pub(crate) use drivers::driver_coefficients;
use drivers::*;
use pv::*;

/// Levels at which the solar regression is fitted; other levels are interpolated between
/// them (linearly in the level), and levels outside take the nearest end.
const QR_LEVELS: [f64; 15] = [
    0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.975, 0.99,
];
/// Drivers whose coefficient has |t| below this are dropped (about the 5% two-sided level).
pub const MIN_T: f64 = 2.0;
/// Days of hold-out a PV plant's members are weighed on: one day's weather is one draw, and
/// on one day the univariate ensemble beat the solar regression often enough to cost 5% of
/// pinball on PVDAQ 2016 (bench/solar, daytime pinball in % of capacity, 2011–13 / 2016:
/// one day 3.048 / 4.235, three days 3.053 / 4.013; the solar regression alone 3.017 / 4.055).
const HOLDOUT_DAYS_SOLAR: usize = 3;
/// Members whose hold-out pinball loss is within this factor of the best are kept.
pub const KEEP_WITHIN: f64 = 1.25;
/// A PV plant's univariate ensemble gets weight only with a hold-out pinball loss below this
/// share of the best weather member's (rather than within [`KEEP_WITHIN`] of the best). A few
/// days of hold-out are a few weather draws: on clear days the history alone (a seasonal
/// naive above all) scores as well as the weather does, and its weight then costs the cloudy
/// days of the horizon. Chosen on the PVDAQ system 50 development set (bench/solar, degraded
/// covariates; daytime pinball in % of capacity, 2011–13 / 2016; the Kaggle plant has no
/// univariate weight either way): kept within 1.25 of the best 3.140 / 4.160, below 1.0 of
/// the best weather member 3.018 / 4.027, below 0.8 of it 3.003 / 3.996; the solar
/// regression alone 2.951 / 3.996.
const PV_HISTORY_MARGIN: f64 = 0.8;

/// A member's forecast on the level grid.
struct DrivenMember {
    kind: ModelKind,
    reason: String,
    mean: Vec<f64>,
    /// `quantiles[level][step]` on the grid.
    quantiles: Vec<Vec<f64>>,
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
    let levels = LevelGrid::of(request)?;
    let grid = levels.as_slice();
    let y = request.values;
    let mut covariate_notes: Vec<String> = Vec::new();
    let wants = |k: ModelKind| {
        request
            .models
            .as_ref()
            .is_none_or(|m| m.is_empty() || m.contains(&k))
    };
    // Members a request must name to get (not in the default set: see `boosted`).
    let asked = |k: ModelKind| request.models.as_ref().is_some_and(|m| m.contains(&k));
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
    if wants(ModelKind::SolarRegression) || asked(ModelKind::SolarBoosted) {
        match (&request.timeline, request.attributes.location) {
            (Some(t), Some(_)) if t.is_sub_daily() => {
                let steps = solar::sun_steps(&request.attributes, t, n + h).unwrap_or_default();
                match looks_solar(y, &steps) {
                    Ok(()) => {
                        let d = Daylight::estimate(y, t, &request.covariates, h).ok();
                        pv = Some(Pv::Located(steps, d))
                    }
                    Err(why) => covariate_notes.push(format!("not forecast as PV output: {why}")),
                }
            }
            (Some(t), Some(_)) if !t.is_sub_daily() && has_weather => {
                covariate_notes.push("solar physics skipped: steps of a day or longer".to_owned());
            }
            // No location: the history's own day and night, when a weather covariate says
            // this may be a plant (any covariate dark with it can stand for irradiance).
            (Some(t), None) if t.is_sub_daily() && !request.covariates.is_empty() => {
                match Daylight::estimate(y, t, &request.covariates, h) {
                    Ok(d) if d.irradiance.is_some() || weather.cloud_cover.is_some() => {
                        covariate_notes.push(
                            "solar physics skipped: no location (latitude, longitude) for this \
                             series; day and night read from its own history"
                                .to_owned(),
                        );
                        pv = Some(Pv::Unlocated(d));
                    }
                    Ok(_) if has_weather => covariate_notes.push(
                        "solar physics skipped: no location (latitude, longitude) for this \
                         series, and no covariate follows its output as irradiance"
                            .to_owned(),
                    ),
                    Ok(_) => {}
                    Err(why) if has_weather => covariate_notes.push(format!(
                        "solar physics skipped: no location (latitude, longitude) for this \
                         series, and it does not read as PV output: {why}"
                    )),
                    Err(_) => {}
                }
            }
            (_, None) if has_weather => covariate_notes.push(
                "solar physics skipped: no location (latitude, longitude) for this series"
                    .to_owned(),
            ),
            (None, Some(_)) if has_weather => covariate_notes
                .push("solar physics skipped: the history has no time stamps".to_owned()),
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
    let calendar_columns = calendar_drivers(request, n + h, &mut covariate_notes);
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
        if pv.is_some() && wants(ModelKind::SolarRegression) {
            out.push(
                solar_member(y, &pv_features, &source, request, end, horizon, grid)
                    .map(|m| (m, Vec::new())),
            );
        }
        if pv.is_some() && asked(ModelKind::SolarBoosted) {
            out.push(
                boosted_member(y, &pv_features, &source, request, end, horizon, grid)
                    .map(|m| (m, Vec::new())),
            );
        }
        if !drivers.is_empty() && wants(ModelKind::DriverRegression) {
            out.push(driver_member(y, &drivers, request, end, horizon, grid));
        }
        out
    };
    let mut members: Vec<DrivenMember> = Vec::new();
    for m in fit(n, h) {
        match m {
            Ok((m, dropped)) => {
                if !dropped.is_empty() {
                    covariate_notes.push(format!(
                        "covariates dropped (|t| < {MIN_T} in the regression): {}",
                        dropped.join(", ")
                    ));
                }
                members.push(m);
            }
            Err(why) => covariate_notes.push(format!("covariate model dropped: {why}")),
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
            covariate_notes.push("forecast from the history alone".to_owned());
        }
        let mut warnings = as_warnings(covariate_notes);
        warnings.append(&mut f.warnings);
        f.warnings = warnings;
        return Ok(f);
    }
    let uni = if univariate_wanted {
        let r = univariate_request(request, y, h, grid, false)?;
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
                scores[k] = pinball(&m.quantiles, grid, actual, daytime);
            }
        }
        if uni.is_some()
            && let Ok(r) = univariate_request(request, &y[..end], v, grid, false)
            && let Ok(f) = ensemble::univariate(&r)
        {
            scores[members.len()] = pinball(&f.quantiles, grid, actual, daytime);
        }
    }
    let kinds: Vec<ModelKind> = members.iter().map(|m| m.kind).collect();
    let (mut weights, notes) = hold_out_weights(&scores, &kinds, uni.is_some(), pv.is_some());
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
            covariate_notes.push(format!(
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
    let pick = |q: &[Vec<f64>], s_night: bool| -> Vec<Vec<f64>> {
        levels.requested(request, q, |s, v| {
            if s_night && night(n + s) {
                0.0
            } else {
                bounds.clamp(v).min(ceiling(n + s))
            }
        })
    };
    // A member's whole grid with the same limits, for its intervals.
    let on_grid = |q: &[Vec<f64>], s_night: bool| -> Vec<Vec<f64>> {
        q.iter()
            .map(|row| {
                row.iter()
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
    let limit_row = |row: &[f64]| -> Vec<f64> {
        row.iter()
            .enumerate()
            .map(|(s, v)| bounds.clamp(*v).min(ceiling(n + s)))
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
            intervals: levels.intervals(&on_grid(&m.quantiles, true)),
        })
        .collect();
    let mut warnings = as_warnings(covariate_notes);
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
                intervals: um
                    .intervals
                    .iter()
                    .map(|iv| Interval {
                        level: iv.level,
                        lo: limit_row(&iv.lo),
                        hi: limit_row(&iv.hi),
                    })
                    .collect(),
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
    let intervals = levels.intervals(&all_q);
    let quantiles = levels.requested(request, &all_q, |_, v| v);
    let threshold_probabilities =
        ensemble::threshold_probabilities(&request.thresholds, grid, &all_q, 0.5, request.seed);
    Ok(Forecast {
        mean,
        quantile_levels: request.quantile_levels.clone(),
        quantiles,
        intervals,
        members: out_members,
        profile,
        threshold_probabilities,
        warnings,
    })
}

/// How the hold-out weighs the members: `(weights, notes)` with the inverse hold-out pinball
/// loss for those kept (not normalised) and 0 for the others, and each one's reason.
/// `scores[k]` is member `k`'s hold-out pinball loss (`kinds[k]` its kind), the last entry the
/// univariate ensemble's (`univariate`: whether it was fitted at all); `pv`: whether the series
/// is forecast as a PV plant. Without any score the covariate members share the weight.
fn hold_out_weights(
    scores: &[Option<f64>],
    kinds: &[ModelKind],
    univariate: bool,
    pv: bool,
) -> (Vec<f64>, Vec<String>) {
    let mut weights: Vec<f64> = vec![0.0; kinds.len() + 1];
    let mut notes: Vec<String> = vec![String::new(); kinds.len() + 1];
    let best_covariate = scores[..kinds.len()]
        .iter()
        .flatten()
        .fold(f64::INFINITY, |a, s| a.min(*s));
    // A PV plant's history alone joins only by clearly beating every weather member on the
    // hold-out (see PV_HISTORY_MARGIN); dropped, it does not set the bar for the others.
    let history_behind =
        pv && matches!(scores[kinds.len()], Some(s) if s >= PV_HISTORY_MARGIN * best_covariate);
    let best = if history_behind {
        best_covariate
    } else {
        scores
            .iter()
            .flatten()
            .fold(f64::INFINITY, |a, s| a.min(*s))
    };
    if best.is_finite() {
        for (k, s) in scores.iter().enumerate() {
            if k == kinds.len() && !univariate {
                continue;
            }
            let uni_score = scores[kinds.len()].filter(|_| univariate);
            let no_better = k < kinds.len()
                && kinds[k] == ModelKind::DriverRegression
                && matches!((s, uni_score), (Some(s), Some(u)) if *s >= u);
            let history_behind = k == kinds.len() && history_behind;
            match s {
                Some(s) if no_better => {
                    notes[k] = format!("hold-out pinball {s:.4}: dropped");
                }
                Some(s) if history_behind => {
                    notes[k] = format!(
                        "hold-out pinball {s:.4}, not clearly below the weather members' \
                         {best_covariate:.4}: dropped"
                    );
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
        for (k, note) in notes.iter_mut().enumerate().take(kinds.len()) {
            weights[k] = 1.0;
            *note = "history too short for a hold-out: equal weight".to_owned();
        }
    }
    (weights, notes)
}

/// What the covariate path noted (physics skipped, covariates dropped, fell back to the
/// history alone), as warnings of the covariates kind.
fn as_warnings(notes: Vec<String>) -> Vec<ForecastWarning> {
    notes
        .into_iter()
        .map(|n| ForecastWarning::new(WarningKind::Covariates, n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{ModelKind, PV_HISTORY_MARGIN, hold_out_weights};

    const SOLAR: [ModelKind; 1] = [ModelKind::SolarRegression];

    #[test]
    fn a_plants_history_must_clearly_beat_the_weather_to_get_weight() {
        // The history alone scores 0.9 against the solar regression's 1.0 on the hold-out:
        // within KEEP_WITHIN of the best, yet not below PV_HISTORY_MARGIN of the weather's.
        const { assert!(0.9 >= PV_HISTORY_MARGIN) };
        let scores = [Some(1.0), Some(0.9)];
        let (w, notes) = hold_out_weights(&scores, &SOLAR, true, true);
        assert_eq!(w, vec![1.0, 0.0], "{notes:?}");
        assert!(notes[1].contains("not clearly below"), "{notes:?}");
        // The same scores for a series that is not a plant keep both, by inverse loss.
        let (w, _) = hold_out_weights(&scores, &SOLAR, true, false);
        assert_eq!(w, vec![1.0, 1.0 / 0.9]);
        // A history well ahead of the weather is kept, and then sets the bar: the solar
        // regression, 1.0 against 0.7, is more than KEEP_WITHIN behind and dropped.
        let (w, _) = hold_out_weights(&[Some(1.0), Some(0.7)], &SOLAR, true, true);
        assert_eq!(w, vec![0.0, 1.0 / 0.7]);
    }

    #[test]
    fn without_a_hold_out_the_covariate_members_share_the_weight() {
        let kinds = [ModelKind::SolarRegression, ModelKind::SolarBoosted];
        let (w, notes) = hold_out_weights(&[None, None, None], &kinds, true, true);
        assert_eq!(w, vec![1.0, 1.0, 0.0]);
        assert!(notes[0].contains("too short"), "{notes:?}");
    }

    #[test]
    fn a_driver_regression_no_better_than_the_history_is_dropped() {
        let kinds = [ModelKind::DriverRegression];
        let (w, notes) = hold_out_weights(&[Some(1.0), Some(0.95)], &kinds, true, false);
        assert_eq!(w, vec![0.0, 1.0 / 0.95]);
        assert!(notes[0].ends_with("dropped"), "{notes:?}");
        let (w, _) = hold_out_weights(&[Some(0.9), Some(0.95)], &kinds, true, false);
        assert_eq!(w, vec![1.0 / 0.9, 1.0 / 0.95]);
    }
}
