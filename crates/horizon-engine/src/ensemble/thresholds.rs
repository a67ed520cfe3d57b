//! Threshold-exceedance probabilities from seeded sample paths through the quantiles.

use super::*;

/// The distribution function at `t` of the piecewise-linear quantile function through
/// `(levels[j], values[j])`, with the tail mass placed at the end values.
pub(super) fn cdf(levels: &[f64], values: &[f64], t: f64) -> f64 {
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
    thresholds: &[Threshold],
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
            // The quantile function's distribution puts no mass on single values, so
            // P(value < t) = F(t) and P(value > t) = 1 - F(t).
            let below = cdf(grid, &column, t.value);
            let crossed = match t.direction {
                ThresholdDirection::Above => 1.0 - below,
                ThresholdDirection::Below => below,
            };
            out.push(crossed.clamp(0.0, 1.0));
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
                if t.crossed_by(v) {
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
                threshold: t.value,
                direction: t.direction,
                // At least the largest per-step probability, whatever the paths say.
                any_step: (hit as f64 / SAMPLE_PATHS as f64).max(max_step),
                per_step: p,
            }
        })
        .collect()
}
