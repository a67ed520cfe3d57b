//! Combining the members' quantiles into one distribution, and widening it until its
//! validation coverage is met.

use super::*;

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
pub(super) fn combine_quantiles(
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
        Some(narrowest) => widening_factors(candidates, weights, &sd, narrowest),
        None => vec![1.0; h],
    };
    // (d) Heavier tails: deviations from the median at levels beyond the 80%
    // interval grow by `1 + TAIL_STRETCH * (|z| - z_0.9)`, increasing in |z|, so quantiles still
    // do not cross.
    let tail: Vec<f64> = grid
        .iter()
        .map(|l| {
            let z = util::normal_quantile(*l).abs();
            if calibrate.is_some() {
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

pub(super) fn model_sd_is_zero(q: &[Vec<f64>], s: usize) -> bool {
    match (q.first(), q.last()) {
        (Some(lo), Some(hi)) => hi[s] - lo[s] <= 0.0,
        _ => true,
    }
}

/// Per-step factors `max(narrowest, a·step^b)` (`b` in `[0, 1]`, at most [`MAX_CALIBRATION`])
/// from the combined rolling-origin errors in units of `sd`: weighted least squares of
/// `ln rms` on `ln step`, each step's mean square shrunk towards 1. Below 1 only with at least
/// [`MIN_NARROWING_ERRORS`] errors.
pub(super) fn widening_factors(
    candidates: &[Candidate],
    weights: &[f64],
    sd: &[f64],
    narrowest: f64,
) -> Vec<f64> {
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
    let (a, b) = util::growth_line(&pts, 0.0);
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
pub(super) const MAX_CALIBRATION: f64 = 10.0;

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
pub(super) const MIN_CALIBRATION: f64 = 0.5;

/// Rolling-origin errors needed before the calibration may narrow.
pub(super) const MIN_NARROWING_ERRORS: f64 = 40.0;

/// Prior number of unit-scale errors that the interval calibration factor is shrunk with.
pub(super) const CALIBRATION_PRIOR: f64 = 4.0;

/// Share of the history floor kept for seasonally adjusted series: their `s`-step random-walk
/// movements still hold the irregular component twice and residual seasonality, so the full
/// floor over-covered seasonal series (Tourism quarterly/monthly: 92% in 80% intervals).
pub(super) const SEASONAL_FLOOR_SHARE: f64 = 0.5;

/// Tail stretch beyond the 80% interval, per unit of normal quantile (the 95% interval grows by
/// `1 + 0.3 · (1.96 − 1.28)`, about 20%): rolling-origin and test errors of M1 and Tourism are
/// heavier-tailed than normal (a normal shape fitted to the 80% coverage under-covers at 95%).
/// Chosen on M1 and Tourism (histories of at most 333 values); checked on long ones, where it
/// was first left out (the long half-hourly `taylor` and weekly `co2` of bench/intervals then
/// held 99.3% and 98.6% of values in their 95% intervals with it) and is applied again since
/// long histories' members are trimmed ([`LONG_HISTORY_TRIM`]), which took away the spread
/// between members that had been doing its work: on the high-frequency development set
/// (`bench/accuracy`, dataset `hf`, 111 series) 95% coverage 90.5% → 94.2% and MSIS 7.55 →
/// 7.21; `co2` 80.0% → 88.0% (MSIS 5.76 → 4.65), `taylor` 94.2% → 99.0% (MSIS 2.77 → 2.96).
pub(super) const TAIL_STRETCH: f64 = 0.3;
