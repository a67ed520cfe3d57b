//! Calibration from outcomes: what the pipeline learns once forecasts meet what happened.
//!
//! - **Ensemble weights per series class** by exponentially weighted Hedge on CRPS
//!   ([`hedge_update`]): each model carries a discounted cumulative loss
//!   `S ← λ·S + L`, where `L` is the model's mean CRPS *relative to the other members on the same
//!   outcomes* (so series of any scale count alike, and 1 means "as good as the average
//!   member"); weights are `exp(−η·(S − min S))`, floored and normalised. `λ` forgets old
//!   regimes, `η` sets how fast weight moves to the models that have been right.
//! - **Interval scales per class and level** ([`adapt_scale`]): after each batch of outcomes,
//!   a damped step towards the scale that would have met the nominal coverage if errors were
//!   Gaussian: `log s ← log s + γ·log(z(nominal)/z(observed))`. Like adaptive conformal
//!   inference it reacts to coverage drift batch by batch, and it converges in a few runs.
//!   [`apply_interval_scales`] stretches each quantile's distance from the median by the scale
//!   of its central coverage.

use std::collections::HashMap;

use horizon_domain::Bounds;

use crate::{
    ModelKind,
    ensemble::{Forecast, interp},
    util,
};

/// How Hedge turns losses into weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HedgeConfig {
    /// `η`: weight ratio `e^η` per unit of discounted relative loss.
    pub learning_rate: f64,
    /// `λ` in `[0, 1)`: how much of the previous cumulative loss is kept per update.
    pub forgetting: f64,
    /// Least weight of any model, so a model can come back when the regime changes.
    pub floor: f64,
}

impl Default for HedgeConfig {
    fn default() -> Self {
        Self {
            learning_rate: 4.0,
            forgetting: 0.7,
            floor: 0.02,
        }
    }
}

/// One Hedge update. `cumulative` holds each model's discounted cumulative relative loss
/// before this batch (models never seen are absent); `losses` each model's mean relative CRPS
/// in this batch. Models without a loss this batch are charged the batch's average, so absence
/// neither helps nor hurts. Returns the new cumulative losses and the weights (summing to 1).
pub fn hedge_update(
    cumulative: &HashMap<ModelKind, f64>,
    losses: &HashMap<ModelKind, f64>,
    config: &HedgeConfig,
) -> (HashMap<ModelKind, f64>, HashMap<ModelKind, f64>) {
    let finite: Vec<f64> = losses.values().copied().filter(|l| l.is_finite()).collect();
    let average = if finite.is_empty() {
        1.0
    } else {
        finite.iter().sum::<f64>() / finite.len() as f64
    };
    let prior: Vec<f64> = cumulative
        .values()
        .copied()
        .filter(|s| s.is_finite())
        .collect();
    let prior_mean = if prior.is_empty() {
        0.0
    } else {
        prior.iter().sum::<f64>() / prior.len() as f64
    };
    let lambda = config.forgetting.clamp(0.0, 0.999);
    let mut next = HashMap::new();
    for model in cumulative.keys().chain(losses.keys()) {
        if next.contains_key(model) {
            continue;
        }
        // A newcomer starts level with the others.
        let before = cumulative
            .get(model)
            .copied()
            .filter(|s| s.is_finite())
            .unwrap_or(prior_mean);
        let loss = losses
            .get(model)
            .copied()
            .filter(|l| l.is_finite())
            .unwrap_or(average);
        next.insert(*model, lambda * before + loss);
    }
    let weights = weights_from(&next, config);
    (next, weights)
}

/// Weights from cumulative losses: `exp(−η·(S − min S))` normalised, mixed with a uniform
/// floor so that every weight is at least `floor`; they sum to 1.
pub fn weights_from(
    cumulative: &HashMap<ModelKind, f64>,
    config: &HedgeConfig,
) -> HashMap<ModelKind, f64> {
    let best = cumulative.values().copied().fold(f64::INFINITY, f64::min);
    let raw: HashMap<ModelKind, f64> = cumulative
        .iter()
        .map(|(m, s)| (*m, (-config.learning_rate * (s - best)).exp()))
        .collect();
    let total: f64 = raw.values().sum();
    // Mixing with the uniform floor keeps every weight at least `floor` and the sum at 1.
    let floor = config.floor.clamp(0.0, 1.0 / raw.len().max(1) as f64);
    let keep = 1.0 - floor * raw.len() as f64;
    raw.into_iter()
        .map(|(m, v)| (m, keep * v / total + floor))
        .collect()
}

/// Least outcomes before an interval scale moves.
pub const MIN_COVERAGE_SAMPLES: usize = 20;

/// The next interval scale for a nominal central coverage `nominal` (e.g. 0.8) after `samples`
/// outcomes of which a share `observed` fell inside. `step` (`γ`, in `(0, 1]`) damps the move
/// towards the scale that would have been exact under Gaussian errors. The scale stays in
/// `[0.25, 6]`.
pub fn adapt_scale(scale: f64, nominal: f64, observed: f64, samples: usize, step: f64) -> f64 {
    let scale = if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    };
    if samples < MIN_COVERAGE_SAMPLES || !observed.is_finite() || !(0.0..1.0).contains(&nominal) {
        return scale;
    }
    // Coverage of exactly 0 or 1 says "much too narrow/wide" but not by how much: bound it by
    // what one more outcome would have shown.
    let margin = 0.5 / samples as f64;
    let observed = observed.clamp(margin.max(0.02), 1.0 - margin.max(0.002));
    let z = |c: f64| util::normal_quantile(0.5 + c / 2.0);
    let ratio = z(nominal) / z(observed);
    (scale * ratio.powf(step.clamp(0.0, 1.0))).clamp(0.25, 6.0)
}

/// The scale for central coverage `c` from `(level, scale)` anchors: 1 at the median,
/// linear between anchors, flat beyond the widest.
fn scale_at(c: f64, anchors: &[(f64, f64)]) -> f64 {
    let mut prev = (0.0, 1.0);
    for &(level, scale) in anchors {
        if c <= level {
            let span = level - prev.0;
            return if span > 0.0 {
                prev.1 + (scale - prev.1) * (c - prev.0) / span
            } else {
                scale
            };
        }
        prev = (level, scale);
    }
    prev.1
}

/// Stretches every quantile's distance from the median by the scale of its central coverage
/// `|2p − 1|` (anchors `(level, scale)`, e.g. `(0.8, 1.1)` and `(0.95, 1.2)`), keeps the
/// quantiles from crossing and within `bounds`, and updates the intervals to match.
pub fn apply_interval_scales(forecast: &mut Forecast, scales: &[(f64, f64)], bounds: Bounds) {
    let mut anchors: Vec<(f64, f64)> = scales
        .iter()
        .copied()
        .filter(|(l, s)| (0.0..1.0).contains(l) && s.is_finite() && *s > 0.0)
        .collect();
    if anchors.is_empty() {
        return;
    }
    anchors.sort_by(|a, b| a.0.total_cmp(&b.0));
    let levels = forecast.quantile_levels.levels().to_vec();
    if levels.is_empty() {
        return;
    }
    let h = forecast.mean.len();
    let factors: Vec<f64> = levels
        .iter()
        .map(|p| scale_at((2.0 * p - 1.0).abs(), &anchors))
        .collect();
    let mut col = vec![0.0; levels.len()];
    let mut medians = vec![0.0; h];
    for (s, median_slot) in medians.iter_mut().enumerate() {
        for (j, c) in col.iter_mut().enumerate() {
            *c = forecast.quantiles[j][s];
        }
        let median = interp(&levels, &col, 0.5);
        *median_slot = median;
        for (j, c) in col.iter_mut().enumerate() {
            *c = bounds.clamp(median + factors[j] * (*c - median));
        }
        util::sort_floats(&mut col);
        for (j, c) in col.iter().enumerate() {
            forecast.quantiles[j][s] = *c;
        }
    }
    for interval in &mut forecast.intervals {
        let c = interval.level / 100.0;
        let f = scale_at(c, &anchors);
        for (s, median) in medians.iter().copied().enumerate() {
            let lo = bounds.clamp(median + f * (interval.lo[s] - median));
            let hi = bounds.clamp(median + f * (interval.hi[s] - median));
            interval.lo[s] = lo.min(hi);
            interval.hi[s] = hi.max(lo);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hedge_moves_weight_to_the_model_with_lower_loss_and_forgets() {
        let cfg = HedgeConfig::default();
        let mut s = HashMap::new();
        let mut w = HashMap::new();
        for _ in 0..5 {
            let losses = HashMap::from([(ModelKind::Naive, 1.4), (ModelKind::AutoEts, 0.6)]);
            (s, w) = hedge_update(&s, &losses, &cfg);
        }
        assert!(w[&ModelKind::AutoEts] > 0.9, "{w:?}");
        assert!((w.values().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(w[&ModelKind::Naive] >= cfg.floor * 0.99);
        // The regime changes: the other model wins back the weight within a few batches.
        for _ in 0..5 {
            let losses = HashMap::from([(ModelKind::Naive, 0.6), (ModelKind::AutoEts, 1.4)]);
            (s, w) = hedge_update(&s, &losses, &cfg);
        }
        assert!(w[&ModelKind::Naive] > 0.9, "{w:?}");
    }

    #[test]
    fn hedge_charges_absent_models_the_average_and_starts_newcomers_level() {
        let cfg = HedgeConfig::default();
        let s = HashMap::from([(ModelKind::Naive, 2.0), (ModelKind::Theta, 2.0)]);
        let losses = HashMap::from([(ModelKind::Naive, 0.5), (ModelKind::AutoEts, 1.5)]);
        let (next, w) = hedge_update(&s, &losses, &cfg);
        assert!((next[&ModelKind::Theta] - (0.7 * 2.0 + 1.0)).abs() < 1e-12);
        assert!((next[&ModelKind::AutoEts] - (0.7 * 2.0 + 1.5)).abs() < 1e-12);
        assert!(w[&ModelKind::Naive] > w[&ModelKind::Theta]);
        assert!(w[&ModelKind::Theta] > w[&ModelKind::AutoEts]);
    }

    #[test]
    fn scales_widen_when_coverage_is_low_and_narrow_when_high() {
        let wide = adapt_scale(1.0, 0.8, 0.6, 200, 1.0);
        assert!(wide > 1.3 && wide < 1.7, "{wide}");
        let narrow = adapt_scale(1.0, 0.95, 0.995, 200, 1.0);
        assert!(narrow < 0.8, "{narrow}");
        assert_eq!(adapt_scale(1.3, 0.8, 0.2, 5, 1.0), 1.3, "too few samples");
        let exact = adapt_scale(1.1, 0.8, 0.8, 500, 0.5);
        assert!((exact - 1.1).abs() < 1e-12);
        assert!(adapt_scale(1.0, 0.95, 0.0, 1000, 1.0) <= 6.0);
    }

    #[test]
    fn interval_scales_stretch_around_the_median_within_bounds() {
        let mut f = crate::forecast(&crate::ForecastRequest::new(
            &[5.0, 6.0, 5.5, 6.5, 6.0, 7.0, 6.5, 7.5, 7.0, 8.0, 7.5, 8.5],
            3,
        ))
        .expect("forecast");
        let before = f.clone();
        let bounds = Bounds::new(Some(0.0), None).expect("bounds");
        apply_interval_scales(&mut f, &[(0.8, 2.0), (0.95, 2.0)], bounds);
        let i10 = f
            .quantile_levels
            .levels()
            .iter()
            .position(|l| (*l - 0.1).abs() < 1e-9);
        let i90 = f
            .quantile_levels
            .levels()
            .iter()
            .position(|l| (*l - 0.9).abs() < 1e-9);
        let (i10, i90) = (i10.expect("0.1"), i90.expect("0.9"));
        for s in 0..3 {
            let w0 = before.quantiles[i90][s] - before.quantiles[i10][s];
            let w1 = f.quantiles[i90][s] - f.quantiles[i10][s];
            assert!(w1 > 1.5 * w0, "step {s}: {w0} -> {w1}");
            for j in 1..f.quantiles.len() {
                assert!(f.quantiles[j][s] >= f.quantiles[j - 1][s]);
            }
            assert!(f.quantiles[0][s] >= 0.0);
            let i80 = &f.intervals[0];
            assert!(
                i80.hi[s] - i80.lo[s]
                    > 1.5 * (before.intervals[0].hi[s] - before.intervals[0].lo[s])
            );
        }
    }
}
