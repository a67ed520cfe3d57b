//! How far a member's errors spread: conformal from validation errors, from in-sample
//! residuals, or from the history's own drift.

use super::*;

/// Per-step spread and normalised error quantiles of one member.
pub(super) struct Spread {
    /// Scale per step.
    pub(super) scale: Vec<f64>,
    /// Sorted normalised errors.
    pub(super) z: Vec<f64>,
    /// Mean and standard deviation of `z`.
    pub(super) z_mean: f64,
    pub(super) z_sd: f64,
}

impl Spread {
    pub(super) fn new(scale: Vec<f64>, z: Vec<f64>) -> Self {
        let (z_mean, z_sd) = if z.is_empty() {
            (0.0, 1.0)
        } else {
            (util::mean(&z), util::variance(&z).sqrt())
        };
        Self {
            scale,
            z,
            z_mean,
            z_sd,
        }
    }

    /// The normalised error at `level`: the empirical quantile of `z` shrunk toward a normal
    /// with its moments while few errors are known. The same for every step.
    pub(super) fn standard_quantile(&self, level: f64) -> f64 {
        if self.z.is_empty() {
            return util::normal_quantile(level);
        }
        let n = self.z.len() as f64;
        let emp = util::quantile_sorted(&self.z, level);
        let normal = self.z_mean + self.z_sd * util::normal_quantile(level);
        let w = n / (n + 50.0);
        w * emp + (1.0 - w) * normal
    }
}

/// Fits `scale_s = a * s^b` (b in [0, 1]) to the RMS errors per step and returns the scales for
/// steps `1..=horizon` plus the pooled normalised errors.
pub(super) fn conformal_spread(errors: &[Vec<f64>], horizon: usize) -> Option<Spread> {
    let steps = errors.iter().map(Vec::len).max().unwrap_or(0);
    let mut pts: Vec<(f64, f64, f64)> = Vec::with_capacity(steps); // (ln s, ln rms, weight)
    for s in 0..steps {
        let (mut ss, mut c) = (0.0, 0usize);
        for w in errors {
            if let Some(e) = w.get(s)
                && e.is_finite()
            {
                ss += e * e;
                c += 1;
            }
        }
        if c > 0 && ss > 0.0 {
            pts.push((((s + 1) as f64).ln(), (ss / c as f64).sqrt().ln(), c as f64));
        }
    }
    if pts.is_empty() {
        return None;
    }
    let (a, b) = util::growth_line(&pts, 0.5);
    let a = a.exp();
    let scale: Vec<f64> = (1..=horizon).map(|s| a * (s as f64).powf(b)).collect();
    let mut z = Vec::with_capacity(errors.len() * steps);
    for w in errors {
        for (s, e) in w.iter().enumerate() {
            let sc = scale.get(s).copied().unwrap_or(a);
            if e.is_finite() && sc > 0.0 {
                z.push(e / sc);
            }
        }
    }
    util::sort_floats(&mut z);
    Some(Spread::new(scale, z))
}

/// Spread from in-sample one-step residuals grown by `sqrt(step)`, normal shape.
pub(super) fn residual_spread(model: &dyn FittedModel, y: &[f64], horizon: usize) -> Spread {
    let (mut ss, mut c) = (0.0, 0usize);
    for (f, a) in model.fitted().iter().zip(y) {
        if f.is_finite() {
            ss += (a - f) * (a - f);
            c += 1;
        }
    }
    let sigma = if c > 0 { (ss / c as f64).sqrt() } else { 0.0 };
    Spread::new(
        (1..=horizon).map(|s| sigma * (s as f64).sqrt()).collect(),
        Vec::new(),
    )
}

/// How far the history moves in `s` steps beyond its average drift.
pub(super) struct HistorySpread {
    /// Root mean square per step `1..=horizon`.
    pub(super) rms: Vec<f64>,
    /// `rms` is of log values (a share of the level) rather than of values.
    pub(super) relative: bool,
    /// The history was seasonally adjusted first.
    pub(super) seasonal: bool,
}

/// In-sample `s`-step errors of a random walk with the history's mean drift, at every origin,
/// on the seasonally adjusted series (logs when the history is positive), inflated by
/// `sqrt(1 + s/(n-1))` for the uncertainty of the drift; steps longer than the history grow by
/// `sqrt(step)`. `None` on fewer than 4 values.
pub(super) fn drift_spread(y: &[f64], season: Option<usize>, h: usize) -> Option<HistorySpread> {
    let n = y.len();
    if n < 4 {
        return None;
    }
    let relative = y.iter().all(|v| *v > 0.0);
    let mut x: Vec<f64> = if relative {
        y.iter().map(|v| v.ln()).collect()
    } else {
        y.to_vec()
    };
    let seasonal = season.is_some_and(|m| m >= 2 && n > 2 * m);
    if let Some(m) = season.filter(|m| *m >= 2 && n > 2 * m) {
        // Additive indices of the logs when relative: multiplicative seasonality.
        if let Some(idx) = seasonality::additive_indices(&x, m) {
            for (t, v) in x.iter_mut().enumerate() {
                *v -= idx[t % m];
            }
        }
    }
    let drift = (x[n - 1] - x[0]) / (n - 1) as f64;
    let mut rms = Vec::with_capacity(h);
    let mut last: Option<(usize, f64)> = None;
    for s in 1..=h {
        let origins = n.saturating_sub(s);
        if origins >= 3 {
            let ss: f64 = (0..origins)
                .map(|t| (x[t + s] - x[t] - s as f64 * drift).powi(2))
                .sum();
            // Out of sample the drift is estimated too: a random walk with drift has the
            // s-step variance `s σ² (1 + s / (n - 1))` (as R's `rwf(drift = TRUE)`).
            let v = (ss / origins as f64 * (1.0 + s as f64 / (n - 1) as f64)).sqrt();
            last = Some((s, v));
            rms.push(v);
        } else if let Some((ls, lv)) = last {
            rms.push(lv * (s as f64 / ls as f64).sqrt());
        } else {
            return None;
        }
    }
    rms.iter().all(|v| v.is_finite()).then_some(HistorySpread {
        rms,
        relative,
        seasonal,
    })
}
