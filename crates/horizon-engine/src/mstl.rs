//! MSTL-style multiple seasonal decomposition with a trend forecast.
//!
//! A simplified, documented variant of MSTL (Bandara, Hyndman & Bergmeir 2021): instead of
//! loess, each seasonal component is extracted by a centred moving-average detrending followed
//! by per-phase means over the most recent cycles (at most [`RECENT_CYCLES`]), centred to sum
//! zero; the components are re-estimated in two back-fitting passes, shortest period first.
//! The seasonally adjusted series is forecast by `ets::fit_auto` (non-seasonal), falling back
//! to a damped-trend ETS and then to naive; each seasonal component repeats its last cycle.

use crate::{EngineError, FittedModel, ModelKind, baseline, ets};

/// Number of most recent cycles whose per-phase means form a seasonal component.
pub const RECENT_CYCLES: usize = 8;

/// A fitted MSTL model.
pub struct MstlFit {
    trend: Box<dyn FittedModel>,
    /// Per period: the seasonal index by phase, where phase `i` belongs to positions
    /// `t % period == i` counted from the first observation.
    components: Vec<(usize, Vec<f64>)>,
    n: usize,
    fitted: Vec<f64>,
}

impl std::fmt::Debug for MstlFit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MstlFit")
            .field("trend", &self.trend.kind())
            .field("periods", &self.periods())
            .field("n", &self.n)
            .finish()
    }
}

impl MstlFit {
    /// The seasonal periods that were extracted.
    pub fn periods(&self) -> Vec<usize> {
        self.components.iter().map(|(p, _)| *p).collect()
    }

    fn seasonal_at(&self, t: usize) -> f64 {
        self.components.iter().map(|(p, idx)| idx[t % p]).sum()
    }
}

/// Centred moving average of order `p` (2×p when `p` is even) written into `out`, NaN where
/// the window does not fit.
fn centred_ma(x: &[f64], p: usize, out: &mut Vec<f64>) {
    let n = x.len();
    out.clear();
    out.resize(n, f64::NAN);
    if p < 2 || n < p + 1 {
        return;
    }
    let half = p / 2;
    if p % 2 == 1 {
        let mut sum: f64 = x[..p].iter().sum();
        for t in half..n - half {
            if t > half {
                sum += x[t + half] - x[t - half - 1];
            }
            out[t] = sum / p as f64;
        }
    } else {
        // 2×p MA: weights 1/2p at both ends, 1/p inside, over p+1 values.
        let mut sum: f64 = x[..=p].iter().sum();
        for t in half..n - half {
            if t > half {
                sum += x[t + half] - x[t - half - 1];
            }
            out[t] = (sum - 0.5 * (x[t - half] + x[t + half])) / p as f64;
        }
    }
}

fn seasonal_indices(x: &[f64], p: usize, trend: &mut Vec<f64>) -> Vec<f64> {
    centred_ma(x, p, trend);
    let mut sums = vec![0.0; p];
    let mut counts = vec![0usize; p];
    let start = x.len().saturating_sub(RECENT_CYCLES * p + p);
    for t in start..x.len() {
        if trend[t].is_finite() {
            sums[t % p] += x[t] - trend[t];
            counts[t % p] += 1;
        }
    }
    let mut idx: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, c)| if *c > 0 { s / *c as f64 } else { 0.0 })
        .collect();
    let mean = idx.iter().sum::<f64>() / p as f64;
    idx.iter_mut().for_each(|v| *v -= mean);
    idx
}

/// Decomposes `y` by the given seasonal `periods` (each at least 2 and with at least two full
/// cycles in the history; others are ignored) and fits the trend. With no usable period it is
/// a plain trend model.
pub fn mstl(y: &[f64], periods: &[usize]) -> Result<MstlFit, EngineError> {
    baseline::check(y, ModelKind::Mstl, 2)?;
    let n = y.len();
    let mut ps: Vec<usize> = periods
        .iter()
        .copied()
        .filter(|p| *p >= 2 && n >= 2 * p)
        .collect();
    ps.sort_unstable();
    ps.dedup();
    let mut components: Vec<(usize, Vec<f64>)> = ps.iter().map(|p| (*p, vec![0.0; *p])).collect();
    let mut work = vec![0.0; n];
    let mut trend = Vec::with_capacity(n);
    for _pass in 0..2 {
        for i in 0..components.len() {
            for (t, w) in work.iter_mut().enumerate() {
                let others: f64 = components
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, (p, idx))| idx[t % p])
                    .sum();
                *w = y[t] - others;
            }
            let p = components[i].0;
            components[i].1 = seasonal_indices(&work, p, &mut trend);
        }
    }
    for (t, w) in work.iter_mut().enumerate() {
        *w = y[t] - components.iter().map(|(p, idx)| idx[t % p]).sum::<f64>();
    }
    let trend_model: Box<dyn FittedModel> = match ets::fit_auto(&work, None) {
        Ok(f) => Box::new(f),
        Err(_) => match ets::fit_spec(&work, None, "AAdN") {
            Ok(f) => Box::new(f),
            Err(_) => Box::new(baseline::naive(&work)?),
        },
    };
    let mut out = MstlFit {
        trend: trend_model,
        components,
        n,
        fitted: Vec::new(),
    };
    let fitted: Vec<f64> = out
        .trend
        .fitted()
        .iter()
        .enumerate()
        .map(|(t, f)| f + out.seasonal_at(t))
        .collect();
    out.fitted = fitted;
    Ok(out)
}

impl FittedModel for MstlFit {
    fn kind(&self) -> ModelKind {
        ModelKind::Mstl
    }

    fn forecast_mean(&self, horizon: usize) -> Vec<f64> {
        let mut f = self.trend.forecast_mean(horizon);
        for (i, v) in f.iter_mut().enumerate() {
            *v += self.seasonal_at(self.n + i);
        }
        f
    }

    fn forecast_quantiles(&self, _horizon: usize, _levels: &[f64]) -> Option<Vec<Vec<f64>>> {
        None
    }

    fn fitted(&self) -> &[f64] {
        &self.fitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_two_seasonalities() -> Result<(), EngineError> {
        let y: Vec<f64> = (0..24 * 7 * 4)
            .map(|t| {
                let d = (t % 24) as f64;
                let w = ((t / 24) % 7) as f64;
                10.0 + (d * std::f64::consts::PI / 12.0).sin() * 3.0
                    + if w >= 5.0 { 2.0 } else { 0.0 }
            })
            .collect();
        let fit = mstl(&y, &[24, 168])?;
        assert_eq!(fit.periods(), vec![24, 168]);
        let f = fit.forecast_mean(48);
        let n = y.len();
        for (i, v) in f.iter().enumerate() {
            let t = n + i;
            let d = (t % 24) as f64;
            let w = ((t / 24) % 7) as f64;
            let truth = 10.0
                + (d * std::f64::consts::PI / 12.0).sin() * 3.0
                + if w >= 5.0 { 2.0 } else { 0.0 };
            assert!((v - truth).abs() < 0.5, "step {i}: {v} vs {truth}");
        }
        Ok(())
    }

    #[test]
    fn moving_average_even_and_odd() {
        let mut out = Vec::new();
        centred_ma(&[1.0, 2.0, 3.0, 4.0, 5.0], 3, &mut out);
        assert_eq!(&out[1..4], &[2.0, 3.0, 4.0]);
        centred_ma(&[1.0, 2.0, 3.0, 4.0, 5.0], 2, &mut out);
        assert_eq!(&out[1..4], &[2.0, 3.0, 4.0]);
        assert!(out[0].is_nan());
    }
}
