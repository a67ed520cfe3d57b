//! MSTL-style multiple seasonal decomposition with a trend forecast.
//!
//! A simplified, documented variant of MSTL (Bandara, Hyndman & Bergmeir 2021): instead of
//! loess, each seasonal component is extracted by a centred moving-average detrending followed
//! by per-phase means over the most recent cycles (at most [`RECENT_CYCLES`]), centred to sum
//! zero; the components are re-estimated in two back-fitting passes, shortest period first.
//! The seasonally adjusted series is forecast by a non-seasonal additive-error ETS chosen by
//! AICc (`ets::fit_auto_additive_trend`), falling back to a damped-trend ETS and then to
//! naive; each seasonal component repeats its last cycle.

use crate::{EngineError, FittedModel, ModelKind, baseline, ets};

/// Number of most recent cycles whose per-phase means form a seasonal component.
pub const RECENT_CYCLES: usize = 8;
/// The trend is fitted on this many of the most recent cycles of the shortest period (at least
/// [`MIN_TREND_FIT`] values): the level and slope of a seasonally adjusted high-frequency series
/// are local, and every value costs a filter step per optimiser iteration.
pub const TREND_FIT_CYCLES: usize = 2;
/// Fewest values the trend is fitted on when the history has them.
pub const MIN_TREND_FIT: usize = 200;

/// A fitted MSTL model.
pub struct MstlFit {
    /// Fitted on the seasonally adjusted values from position `trend_from` on.
    trend: Box<dyn FittedModel>,
    trend_from: usize,
    /// The trend's exponential smoothing form (`None` when it fell back to naive).
    trend_form: Option<String>,
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

    /// The exponential smoothing form of the trend, e.g. `"AAdN"`; `None` when the trend fell
    /// back to the naive forecast.
    pub fn trend_form(&self) -> Option<&str> {
        self.trend_form.as_deref()
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
    mstl_with_trend(y, periods, None)
}

/// [`mstl`] with the trend's exponential smoothing form given (e.g. `"AAdN"`, as
/// [`MstlFit::trend_form`] reports it) instead of selected: the ensemble refits the form chosen
/// on the whole history on its validation windows, with a shorter search.
pub(crate) fn mstl_with_trend(
    y: &[f64],
    periods: &[usize],
    trend_form: Option<&str>,
) -> Result<MstlFit, EngineError> {
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
    let shortest = components.first().map_or(1, |(p, _)| *p);
    let trend_from = n.saturating_sub(MIN_TREND_FIT.max(TREND_FIT_CYCLES * shortest));
    let work = &work[trend_from..];
    let selected = match trend_form {
        Some(form) => {
            ets::fit_spec_quick(work, None, form).or_else(|_| ets::fit_auto_additive_trend(work))
        }
        None => ets::fit_auto_additive_trend(work),
    };
    let (trend_model, trend_form): (Box<dyn FittedModel>, Option<String>) = match selected {
        Ok(f) => {
            let form = ets::form_of(&f.spec());
            (Box::new(f), Some(form))
        }
        Err(_) => match ets::fit_spec(work, None, "AAdN") {
            Ok(f) => (Box::new(f), Some("AAdN".to_owned())),
            Err(_) => (Box::new(baseline::naive(work)?), None),
        },
    };
    let mut out = MstlFit {
        trend: trend_model,
        trend_from,
        trend_form,
        components,
        n,
        fitted: Vec::new(),
    };
    let mut fitted = vec![f64::NAN; trend_from];
    fitted.extend(
        out.trend
            .fitted()
            .iter()
            .enumerate()
            .map(|(t, f)| f + out.seasonal_at(trend_from + t)),
    );
    out.fitted = fitted;
    Ok(out)
}

impl FittedModel for MstlFit {
    fn kind(&self) -> ModelKind {
        ModelKind::Mstl
    }

    fn forecast_from(&self, origin: usize, horizon: usize) -> Option<Vec<f64>> {
        let mut f = self
            .trend
            .forecast_from(origin.checked_sub(self.trend_from)?, horizon)?;
        for (i, v) in f.iter_mut().enumerate() {
            *v += self.seasonal_at(origin + i);
        }
        Some(f)
    }

    fn forecast_mean(&self, horizon: usize) -> Vec<f64> {
        let mut f = self.trend.forecast_mean(horizon);
        for (i, v) in f.iter_mut().enumerate() {
            *v += self.seasonal_at(self.n + i);
        }
        f
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
