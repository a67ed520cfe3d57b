//! The gradient-boosted PV member: trees on the same features as the solar regression, as a
//! location–scale model whose error distribution is read out of sample.
//!
//! Trees find what a linear regression on the physics cannot: thresholds and interactions
//! (low sun behind a horizon obstacle, clipping at the inverter, a cloud regime). Boosting
//! with a pinball loss at every level would cost a fit per level; instead three fits of
//! squared-loss trees ([`forust_ml`]) give the whole distribution:
//!
//! 1. the **location** `μ(x)` (expected output over capacity), fitted on the history without
//!    its most recent days;
//! 2. the **scale** `σ(x)`, trees on the absolute residuals of (1) over the same rows: where
//!    errors are large (broken clouds, high sun) and where they vanish (dawn, dusk);
//! 3. the standardised errors `z = (y − μ(x)) / σ(x)` of the **most recent days**, which (1)
//!    and (2) did not see: their weighted empirical quantiles `z_τ` calibrate the spread on
//!    data the trees were not fitted on (split conformal prediction with a normalised score,
//!    Lei et al. 2018), so the bands are as wide as the trees' real errors, not their
//!    in-sample ones;
//! 4. the location refitted on every row, so the forecast uses the latest days too:
//!    `q_τ(x) = μ(x) + σ(x) · z_τ`, clipped at zero, sorted (no crossing).
//!
//! Night steps have no features (every feature vanishes with the sun), so they stay exactly
//! zero as in the solar regression.

use forust_ml::{GradientBooster, Matrix, objective::ObjectiveType};

use super::*;
use crate::ensemble::MEAN_GRID;

/// Most recent daylight steps the trees are fitted on: about two months of 15-minute data,
/// five months of hourly data. Fewer than the solar regression's
/// [`MAX_SOLAR_ROWS`](super::pv::MAX_SOLAR_ROWS): a tree's cost grows with the rows and its
/// accuracy had levelled off (bench/solar).
const MAX_BOOSTED_ROWS: usize = 3_000;
/// Share of the rows (the most recent) whose errors calibrate the spread, and the fewest
/// such rows for the member to be fitted at all.
const CALIBRATION_SHARE: f64 = 0.25;
const MIN_CALIBRATION_ROWS: usize = 60;
/// Boosting rounds, learning rate, depth and histogram bins of every fit. Shallow trees and a
/// moderate rate: the features already carry the physics, the trees correct it. Chosen on
/// the PVDAQ system 50 development set (bench/solar, degraded covariates).
const ROUNDS: usize = 60;
const LEARNING_RATE: f32 = 0.1;
const MAX_DEPTH: usize = 4;
const BINS: u16 = 64;
/// Smallest scale, in capacity units: a stretch of identical errors must not give a zero
/// width band by day.
const MIN_SCALE: f64 = 0.002;

/// A squared-loss booster fitted on `cols` (column-major, `rows` rows) against `target`.
fn fit_trees(
    cols: &[f64],
    rows: usize,
    p: usize,
    target: &[f64],
    weight: &[f64],
) -> Result<GradientBooster, String> {
    let mut b = GradientBooster::default()
        .set_objective_type(ObjectiveType::SquaredLoss)
        .set_iterations(ROUNDS)
        .set_learning_rate(LEARNING_RATE)
        .set_max_depth(MAX_DEPTH)
        .set_nbins(BINS)
        .set_min_leaf_weight(5.0)
        .set_l2(1.0)
        .set_parallel(false)
        .set_num_threads(None);
    let m = Matrix::new(cols, rows, p);
    b.fit(&m, target, weight, None)
        .map_err(|e| format!("gradient-boosted trees: {e}"))?;
    Ok(b)
}

/// Column-major copy of `rows[range]`, the layout the booster reads.
fn columns(rows: &[Vec<f64>], p: usize) -> Vec<f64> {
    let mut cols = vec![0.0; rows.len() * p];
    for (i, r) in rows.iter().enumerate() {
        for (j, v) in r.iter().enumerate() {
            cols[j * rows.len() + i] = *v;
        }
    }
    cols
}

fn predict(b: &GradientBooster, rows: &[Vec<f64>], p: usize) -> Vec<f64> {
    let cols = columns(rows, p);
    b.predict(&Matrix::new(&cols, rows.len(), p), false)
}

/// Weighted empirical quantile of `pairs` (value, weight), sorted by value.
fn weighted_quantile(pairs: &[(f64, f64)], total: f64, tau: f64) -> f64 {
    let target = tau * total;
    let mut acc = 0.0;
    for (k, (v, w)) in pairs.iter().enumerate() {
        let next = acc + w;
        if next >= target {
            // Linear between neighbours so that the quantile moves smoothly with τ.
            let prev = if k == 0 { *v } else { pairs[k - 1].0 };
            let t = if *w > 0.0 { (target - acc) / w } else { 1.0 };
            return prev + (v - prev) * t.clamp(0.0, 1.0);
        }
        acc = next;
    }
    pairs.last().map_or(0.0, |p| p.0)
}

/// Fits the boosted member on steps `..fit_end` and forecasts `fit_end..fit_end + horizon`.
pub(super) fn boosted_member(
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
    } = daylight_rows(y, features, request, fit_end, MAX_BOOSTED_ROWS);
    let p = rows.first().map_or(0, Vec::len);
    let recent = ((rows.len() as f64 * CALIBRATION_SHARE) as usize).max(MIN_CALIBRATION_ROWS);
    if p == 0 || rows.len() < recent + 10 * p.max(MIN_CALIBRATION_ROWS / 6) {
        return Err(format!(
            "{} daylight steps with weather to fit trees on, fewer than {}",
            rows.len(),
            recent + 10 * p.max(MIN_CALIBRATION_ROWS / 6)
        ));
    }
    let cap = output_scale(request, &target);
    target.iter_mut().for_each(|v| *v /= cap);

    // (1) location and (2) scale on the older rows.
    let older = &rows[recent..];
    let older_cols = columns(older, p);
    let location = fit_trees(
        &older_cols,
        older.len(),
        p,
        &target[recent..],
        &case[recent..],
    )?;
    let fitted = location.predict(&Matrix::new(&older_cols, older.len(), p), false);
    let abs_residual: Vec<f64> = fitted
        .iter()
        .zip(&target[recent..])
        .map(|(f, t)| (t - f).abs())
        .collect();
    let scale = fit_trees(&older_cols, older.len(), p, &abs_residual, &case[recent..])?;
    let sigma = |pred: f64| pred.max(MIN_SCALE);

    // (3) standardised errors of the recent rows, out of sample.
    let recent_rows = &rows[..recent];
    let mu_recent = predict(&location, recent_rows, p);
    let s_recent = predict(&scale, recent_rows, p);
    let mut z: Vec<(f64, f64)> = mu_recent
        .iter()
        .zip(&s_recent)
        .zip(&target[..recent])
        .zip(&case[..recent])
        .map(|(((m, s), t), w)| ((t - m) / sigma(*s), *w))
        .collect();
    z.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = z.iter().map(|(_, w)| w).sum();
    let z_grid: Vec<f64> = grid
        .iter()
        .map(|l| weighted_quantile(&z, total, *l))
        .collect();
    let z_mean: Vec<f64> = (0..MEAN_GRID)
        .map(|k| weighted_quantile(&z, total, (k as f64 + 0.5) / MEAN_GRID as f64))
        .collect();

    // (4) the location on every row, then the horizon.
    let all_cols = columns(&rows, p);
    let location = fit_trees(&all_cols, rows.len(), p, &target, &case)?;
    let mut quantiles = vec![vec![0.0; horizon]; grid.len()];
    let mut mean = vec![0.0; horizon];
    let lit: Vec<(usize, Vec<f64>)> = (0..horizon)
        .filter_map(|s| features(fit_end + s).map(|f| (s, f)))
        .collect();
    if !lit.is_empty() {
        let x: Vec<Vec<f64>> = lit.iter().map(|(_, f)| f.clone()).collect();
        let mu = predict(&location, &x, p);
        let sd = predict(&scale, &x, p);
        let mut column = vec![0.0; grid.len()];
        for ((s, _), (m, sd)) in lit.iter().zip(mu.iter().zip(&sd)) {
            let sd = sigma(*sd);
            for (c, zq) in column.iter_mut().zip(&z_grid) {
                *c = (m + sd * zq).max(0.0) * cap;
            }
            util::sort_floats(&mut column);
            for (q, c) in quantiles.iter_mut().zip(&column) {
                q[*s] = *c;
            }
            mean[*s] = z_mean
                .iter()
                .map(|zq| (m + sd * zq).max(0.0) * cap)
                .sum::<f64>()
                / MEAN_GRID as f64;
        }
    }
    Ok(DrivenMember {
        kind: ModelKind::SolarBoosted,
        reason: format!(
            "PV output: gradient-boosted trees (location and scale, spread from the last {recent} \
             daylight steps out of sample) on {source}, {} daylight steps",
            rows.len()
        ),
        mean,
        quantiles,
    })
}

#[cfg(test)]
mod tests {
    use super::weighted_quantile;

    #[test]
    fn weighted_quantiles_of_equal_weights_follow_the_order() {
        let pairs: Vec<(f64, f64)> = (1..=100).map(|v| (v as f64, 1.0)).collect();
        assert!((weighted_quantile(&pairs, 100.0, 0.5) - 50.0).abs() < 1e-9);
        assert!((weighted_quantile(&pairs, 100.0, 0.1) - 10.0).abs() < 1e-9);
        assert_eq!(weighted_quantile(&pairs, 100.0, 0.0), 1.0);
        assert_eq!(weighted_quantile(&pairs, 100.0, 1.0), 100.0);
        // A heavy value pulls the quantiles to it.
        let heavy = [(0.0, 1.0), (1.0, 8.0), (2.0, 1.0)];
        assert!((weighted_quantile(&heavy, 10.0, 0.5) - 0.5).abs() < 1e-9);
        assert!((weighted_quantile(&heavy, 10.0, 0.85) - 0.9375).abs() < 1e-9);
    }
}
