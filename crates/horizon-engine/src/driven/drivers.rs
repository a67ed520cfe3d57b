//! The regression on drivers (covariates, holidays, weekdays) with the univariate ensemble
//! on its residuals, and the univariate requests the driven path makes.

use super::*;

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
pub(super) fn calendar_drivers(
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
pub(super) fn univariate_models(request: &ForecastRequest<'_>) -> Option<Vec<ModelKind>> {
    request.models.as_ref().map(|m| {
        m.iter()
            .copied()
            .filter(|k| !k.needs_covariates())
            .collect()
    })
}

/// A univariate request like `request` over `values`, with the grid's levels and no bounds
/// when `unbounded` (a residual).
pub(super) fn univariate_request<'a>(
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
pub(super) fn driver_member(
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
