//! Rolling-origin evaluation of the ensemble (or of any model subset) with the metrics of
//! [`crate::metrics`].
//!
//! Window `w` (0 = oldest) has its cutoff at `n - gap - horizon - (windows - 1 - w) * step`:
//! the forecast is made from the values before the cutoff for `gap + horizon` steps, and the
//! last `horizon` steps are scored against the actual values.

use horizon_domain::interval_quantiles;

use crate::{
    EngineError,
    ensemble::{self, Forecast, ForecastRequest},
    metrics,
};

/// How to cut the history into evaluation windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacktestConfig {
    /// Steps scored per window.
    pub horizon: usize,
    /// Number of windows.
    pub windows: usize,
    /// Distance between consecutive cutoffs.
    pub step: usize,
    /// Steps skipped between a cutoff and the first scored step.
    pub gap: usize,
}

/// Scores aggregated over every scored point of every window (NaN where undefined).
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute percentage error (percent).
    pub mape: f64,
    /// Symmetric MAPE (percent, 0–200).
    pub smape: f64,
    /// Weighted absolute percentage error.
    pub wape: f64,
    /// Mean absolute scaled error (scale from the history before the first cutoff).
    pub mase: f64,
    /// Root mean squared scaled error.
    pub rmsse: f64,
    /// Mean of forecast − actual.
    pub bias: f64,
    /// Mean pinball loss per quantile level: `(level, loss)`.
    pub pinball: Vec<(f64, f64)>,
    /// Weighted quantile loss over the forecast's quantile levels.
    pub wql: f64,
    /// Scaled CRPS from the quantiles.
    pub scaled_crps: f64,
    /// Share of actuals inside each interval: `(level in percent, coverage)`.
    pub coverage: Vec<(f64, f64)>,
    /// Mean scaled interval score per interval level: `(level in percent, msis)`.
    pub msis: Vec<(f64, f64)>,
    /// Mean Brier score of each threshold's per-step exceedance probability:
    /// `(threshold, score)`.
    pub brier: Vec<(f64, f64)>,
}

impl Metrics {
    /// The scores as named values, in one spelling everywhere (the batch CLI's columns, the
    /// API's stored metrics): snake_case, interval scores suffixed by their level
    /// (`coverage_80`, `msis_95`). Pinball and Brier scores are per level or threshold and
    /// are left to callers that want them.
    pub fn named(&self) -> Vec<(String, f64)> {
        let mut out = vec![
            ("mae".to_owned(), self.mae),
            ("rmse".to_owned(), self.rmse),
            ("mape".to_owned(), self.mape),
            ("smape".to_owned(), self.smape),
            ("wape".to_owned(), self.wape),
            ("mase".to_owned(), self.mase),
            ("rmsse".to_owned(), self.rmsse),
            ("bias".to_owned(), self.bias),
            ("wql".to_owned(), self.wql),
            ("scaled_crps".to_owned(), self.scaled_crps),
        ];
        for (level, c) in &self.coverage {
            out.push((format!("coverage_{level}"), *c));
        }
        for (level, s) in &self.msis {
            out.push((format!("msis_{level}"), *s));
        }
        out
    }
}

/// One evaluated window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowResult {
    /// Number of values the forecast was made from.
    pub cutoff: usize,
    /// The scored actual values.
    pub actual: Vec<f64>,
    /// The forecast, cut to the scored steps.
    pub forecast: Forecast,
}

/// The result of a backtest.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestReport {
    /// The windows, oldest first.
    pub windows: Vec<WindowResult>,
    /// Metrics over all windows.
    pub metrics: Metrics,
}

fn cut(v: &[f64], from: usize) -> Vec<f64> {
    v.get(from..).map_or_else(Vec::new, <[f64]>::to_vec)
}

/// Runs the backtest of `request` (its `values` are the full history; its `horizon` is
/// replaced by `gap + config.horizon`). Windows whose training part would be empty are skipped;
/// fails when none is left or the configuration is invalid. `season_length` scales MASE,
/// RMSSE and MSIS (1 when unknown).
pub fn backtest(
    request: &ForecastRequest<'_>,
    config: &BacktestConfig,
    season_length: usize,
) -> Result<BacktestReport, EngineError> {
    if config.horizon == 0 || config.windows == 0 {
        return Err(EngineError::InvalidInput {
            what: "backtest",
            reason: "horizon and windows must be at least 1".to_owned(),
        });
    }
    let n = request.values.len();
    let step = config.step.max(1);
    let span = config.gap + config.horizon;
    let mut windows = Vec::with_capacity(config.windows);
    for w in 0..config.windows {
        let back = span + (config.windows - 1 - w) * step;
        let Some(cutoff) = n.checked_sub(back) else {
            continue;
        };
        if cutoff == 0 || !request.values[..cutoff].iter().any(|v| v.is_finite()) {
            continue;
        }
        let mut r = request.clone();
        r.values = &request.values[..cutoff];
        r.horizon = span;
        // Covariates as known at the cutoff: the history's and the window's steps (a caller
        // with archived forecasts passes those, so nothing later leaks in).
        for c in &mut r.covariates {
            c.values = &c.values[..(cutoff + span).min(c.values.len())];
        }
        let mut f = ensemble::forecast(&r)?;
        let g = config.gap;
        f.mean = cut(&f.mean, g);
        f.quantiles.iter_mut().for_each(|q| *q = cut(q, g));
        for i in &mut f.intervals {
            i.lo = cut(&i.lo, g);
            i.hi = cut(&i.hi, g);
        }
        for t in &mut f.threshold_probabilities {
            t.per_step = cut(&t.per_step, g);
        }
        for m in &mut f.members {
            m.mean = cut(&m.mean, g);
            m.quantiles.iter_mut().for_each(|q| *q = cut(q, g));
            for i in &mut m.intervals {
                i.lo = cut(&i.lo, g);
                i.hi = cut(&i.hi, g);
            }
        }
        let start = cutoff + g;
        windows.push(WindowResult {
            cutoff,
            actual: request.values[start..start + config.horizon].to_vec(),
            forecast: f,
        });
    }
    let Some(first) = windows.first() else {
        return Err(EngineError::InvalidInput {
            what: "backtest",
            reason: format!(
                "a history of {n} values is too short for {} windows of {span} steps",
                config.windows
            ),
        });
    };
    let insample = &request.values[..first.cutoff];
    let metrics = score(&windows, insample, season_length.max(1));
    Ok(BacktestReport { windows, metrics })
}

fn score(windows: &[WindowResult], insample: &[f64], m: usize) -> Metrics {
    let cat = |f: &dyn Fn(&WindowResult) -> &[f64]| -> Vec<f64> {
        windows.iter().flat_map(|w| f(w).iter().copied()).collect()
    };
    let actual = cat(&|w| &w.actual);
    let mean = cat(&|w| &w.forecast.mean);
    let first = &windows[0].forecast;
    let levels = first.quantile_levels.levels().to_vec();
    let paths: Vec<Vec<f64>> = (0..levels.len())
        .map(|i| cat(&|w| &w.forecast.quantiles[i]))
        .collect();
    let pinball = levels
        .iter()
        .zip(&paths)
        .map(|(l, p)| (*l, metrics::mean_pinball(&actual, p, *l)))
        .collect();
    let mut coverage = Vec::new();
    let mut msis = Vec::new();
    for (i, iv) in first.intervals.iter().enumerate() {
        let lo = cat(&|w| &w.forecast.intervals[i].lo);
        let hi = cat(&|w| &w.forecast.intervals[i].hi);
        coverage.push((iv.level, metrics::coverage(&actual, &lo, &hi)));
        let alpha = interval_quantiles(iv.level).map_or(f64::NAN, |(a, _)| 2.0 * a);
        msis.push((
            iv.level,
            metrics::msis(&actual, &lo, &hi, alpha, insample, m),
        ));
    }
    let brier = first
        .threshold_probabilities
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let p = cat(&|w| &w.forecast.threshold_probabilities[i].per_step);
            let happened: Vec<bool> = actual.iter().map(|a| *a > t.threshold).collect();
            (t.threshold, metrics::mean_brier(&p, &happened))
        })
        .collect();
    Metrics {
        mae: metrics::mae(&actual, &mean),
        rmse: metrics::rmse(&actual, &mean),
        mape: metrics::mape(&actual, &mean),
        smape: metrics::smape(&actual, &mean),
        wape: metrics::wape(&actual, &mean),
        mase: metrics::mase(&actual, &mean, insample, m),
        rmsse: metrics::rmsse(&actual, &mean, insample, m),
        bias: metrics::bias(&actual, &mean),
        pinball,
        wql: metrics::weighted_quantile_loss(&actual, &levels, &paths),
        scaled_crps: metrics::scaled_crps(&actual, &levels, &paths),
        coverage,
        msis,
        brier,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_cut_as_documented() -> Result<(), EngineError> {
        let y: Vec<f64> = (0..40).map(|t| 10.0 + t as f64).collect();
        let mut r = ForecastRequest::new(&y, 1);
        r.models = Some(vec![crate::ModelKind::Drift]);
        let cfg = BacktestConfig {
            horizon: 3,
            windows: 2,
            step: 2,
            gap: 1,
        };
        let rep = backtest(&r, &cfg, 1)?;
        assert_eq!(rep.windows.len(), 2);
        assert_eq!(rep.windows[0].cutoff, 40 - 4 - 2);
        assert_eq!(rep.windows[1].cutoff, 36);
        assert_eq!(rep.windows[1].actual, vec![47.0, 48.0, 49.0]);
        assert_eq!(rep.windows[1].forecast.mean.len(), 3);
        // Drift on a straight line is exact.
        assert!(rep.metrics.mae < 1e-9, "{:?}", rep.metrics);
        assert!(backtest(&r, &BacktestConfig { windows: 50, ..cfg }, 1).is_ok());
        let short = [1.0, 2.0];
        let r2 = ForecastRequest::new(&short, 1);
        assert!(backtest(&r2, &cfg, 1).is_err());
        Ok(())
    }
}
