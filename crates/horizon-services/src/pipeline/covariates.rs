//! The covariates of a partition's series, loaded in bulk and laid on each target's grid
//! without look-ahead.
//!
//! A covariate with vintages (forecasts, e.g. weather) is read from them:
//! - **the horizon** from the latest vintage issued at or before the run's as-of instant, if
//!   it is no older than `covariate_max_age_hours` and covers every horizon step;
//! - **each history step** `t` from the latest vintage issued at or before `t − lead`, where
//!   `lead` is the horizon's first step minus that vintage's issue: the history sees forecasts
//!   as far ahead as the horizon will, so a model learns how much to trust them. Where no
//!   vintage was issued early enough, the covariate's observation at `t` (at or before as-of)
//!   is used and the forecast says so in a warning.
//!
//! Nothing issued after as-of is loaded, so no later vintage can change a forecast.
//!
//! A covariate without vintages (a price list, a promotion calendar) is known in advance:
//! its observations are read for the history and the horizon alike.
//!
//! A covariate stored at another resolution than its target (hourly weather for a 15-minute
//! plant, a daily price for an hourly series) is laid on the target's steps by
//! [`horizon_engine::laying`], as the batch CLI does: finer values averaged over the step,
//! coarser ones interpolated between interval centres (flags held, irradiance through the
//! clear-sky index). Stored stamps name the start of their interval. An interpolated history
//! step may read a coarse vintage value of the interval after it, issued up to one covariate
//! step later than the step's own lead: never after as-of.

use horizon_domain::{CovariateUse, ForecastWarning, IntervalLabel, WarningKind};
use horizon_engine::laying;
use horizon_store::{InForce, VintageWindow};

use super::*;

/// One target's covariates, laid on its grid (history then horizon).
#[derive(Debug, Clone, Default)]
pub(crate) struct LaidCovariates {
    /// Name and values, one per grid step of the history and the horizon.
    pub(crate) series: Vec<(String, Vec<f64>)>,
    /// What each covariate used for the horizon (members are filled in after the forecast).
    pub(crate) uses: Vec<CovariateUse>,
    /// Why covariates were left out or fell back, for the forecast's warnings.
    pub(crate) warnings: Vec<ForecastWarning>,
}

/// Loads the covariates of every prepared series and lays them on its grid; a series
/// without covariates gets nothing.
pub(crate) async fn lay_covariates(
    store: &Store,
    prepared: &mut [Prepared],
    as_of: Timestamp,
    max_age: chrono::Duration,
) -> Result<usize, ServiceError> {
    let targets: Vec<Uuid> = prepared.iter().map(|p| p.series.id).collect();
    let covariates = store.covariates_of(&targets).await?;
    if covariates.is_empty() {
        return Ok(0);
    }
    let mut by_target: HashMap<Uuid, Vec<&Series>> = HashMap::new();
    for c in &covariates {
        if let Some(link) = &c.covariate_of {
            by_target.entry(link.target_id).or_default().push(c);
        }
    }
    let windows: Vec<(Timestamp, Timestamp)> = prepared
        .iter()
        .filter(|p| by_target.contains_key(&p.series.id))
        .map(|p| (p.stamp(0), p.stamp(p.values.len() + p.horizon - 1)))
        .collect();
    let (Some(from), Some(to)) = (
        windows.iter().map(|w| w.0).min(),
        windows.iter().map(|w| w.1).max(),
    ) else {
        return Ok(0);
    };
    let ids: Vec<Uuid> = covariates.iter().map(|c| c.id).collect();
    let until = to + chrono::Duration::seconds(1);
    let observations = store
        .load_histories_between(&ids, Some(from), Some(until))
        .await?;
    let span: HashMap<Uuid, (Timestamp, Timestamp, Timestamp)> = prepared
        .iter()
        .map(|p| {
            let n = p.values.len();
            (
                p.series.id,
                (p.stamp(0), p.stamp(n), p.stamp(n + p.horizon - 1)),
            )
        })
        .collect();
    let windows: Vec<VintageWindow> = covariates
        .iter()
        .filter_map(|c| {
            let (from, first, to) = *span.get(&c.covariate_of.as_ref()?.target_id)?;
            Some(VintageWindow {
                series_id: c.id,
                from,
                first,
                to,
            })
        })
        .collect();
    let vintages = store.vintages_in_force(&windows, as_of).await?;
    let mut laid_count = 0;
    for p in prepared.iter_mut() {
        let Some(list) = by_target.get(&p.series.id) else {
            continue;
        };
        let mut laid = LaidCovariates::default();
        for c in list {
            let name = c
                .covariate_of
                .as_ref()
                .map_or_else(String::new, |l| l.name.clone());
            let obs = observations.get(&c.id).map_or(&[][..], Vec::as_slice);
            let none = InForce::default();
            let vin = vintages.get(&c.id).unwrap_or(&none);
            match lay_one(p, &name, obs, vin, as_of, max_age) {
                Ok((values, issued_at, fallback)) => {
                    if fallback > 0 {
                        laid.warnings.push(ForecastWarning::new(
                            WarningKind::Covariates,
                            format!(
                                "covariate {name}: {fallback} of {} history steps had no \
                                 forecast issued early enough; their observations were used",
                                p.values.len()
                            ),
                        ));
                    }
                    laid.series.push((name.clone(), values));
                    laid.uses.push(CovariateUse {
                        name,
                        issued_at,
                        members: Vec::new(),
                    });
                }
                Err(reason) => laid.warnings.push(ForecastWarning::new(
                    WarningKind::Covariates,
                    format!("covariate {name} not used: {reason}"),
                )),
            }
        }
        laid_count += usize::from(!laid.series.is_empty());
        p.covariates = laid;
    }
    Ok(laid_count)
}

/// One covariate on one target's grid: the values, the issue of the vintage laid on the
/// horizon (`None`: observations), and how many history steps fell back to observations.
fn lay_one(
    p: &Prepared,
    name: &str,
    observations: &[Observation],
    in_force: &InForce,
    as_of: Timestamp,
    max_age: chrono::Duration,
) -> Result<(Vec<f64>, Option<Timestamp>, usize), String> {
    let n = p.values.len();
    let total = n + p.horizon;
    let stamps: Vec<i64> = (0..total).map(|i| p.stamp(i).timestamp()).collect();
    let points = |values: &mut dyn Iterator<Item = &Observation>| -> Vec<(i64, f64)> {
        values.map(|o| (o.ts.timestamp(), o.value)).collect()
    };
    let Some(latest) = in_force.latest else {
        // Known in advance: observations throughout.
        let values = regrid(p, name, &points(&mut observations.iter()), &stamps);
        if let Some(k) = values[n..].iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "it has no forecast (vintage) and no value for horizon step {} ({})",
                k + 1,
                p.stamp(n + k).to_rfc3339()
            ));
        }
        return Ok((values, None, 0));
    };
    if as_of - latest > max_age {
        return Err(format!(
            "its latest forecast was issued at {}, more than {} h before the run's as-of {} \
             (HORIZON_COVARIATE_MAX_AGE_HOURS)",
            latest.to_rfc3339(),
            max_age.num_hours(),
            as_of.to_rfc3339()
        ));
    }
    let mut values = regrid(p, name, &points(&mut in_force.values.iter()), &stamps);
    if let Some(k) = values[n..].iter().position(|v| !v.is_finite()) {
        return Err(format!(
            "the forecast issued at {} does not cover horizon step {} ({})",
            latest.to_rfc3339(),
            k + 1,
            p.stamp(n + k).to_rfc3339()
        ));
    }
    // Measured values stand in for the history steps no vintage reaches, never one measured
    // after as-of.
    let measured = points(&mut observations.iter().filter(|o| o.ts <= as_of));
    let observed = regrid(p, name, &measured, &stamps[..n]);
    let mut fallback = 0;
    for (i, slot) in values.iter_mut().enumerate().take(n) {
        if !slot.is_finite() {
            let obs = observed[i];
            if obs.is_finite() && p.values[i].is_finite() {
                fallback += 1;
            }
            *slot = obs;
        }
    }
    Ok((values, Some(latest), fallback))
}

/// A covariate's `(stamp, value)` points on the target's `stamps`: by stamp when it has the
/// target's step (or the target's steps vary in length, as months do), else laid by
/// [`laying`]; NaN where nothing reaches.
fn regrid(p: &Prepared, name: &str, points: &[(i64, f64)], stamps: &[i64]) -> Vec<f64> {
    match (laying::median_step(points), p.frequency.fixed_seconds()) {
        (Some(own), Some(step)) if own != step => {
            let label = IntervalLabel::Start;
            if name == horizon_engine::covariates::GHI {
                laying::align_irradiance(points, stamps, step, label, &p.series.meta.attributes)
            } else {
                let held = laying::is_flag(points) && !horizon_engine::covariates::is_weather(name);
                laying::align(points, stamps, step, label, held)
            }
        }
        _ => {
            let by_stamp: HashMap<i64, f64> = points.iter().copied().collect();
            stamps
                .iter()
                .map(|t| by_stamp.get(t).copied().unwrap_or(f64::NAN))
                .collect()
        }
    }
}
