//! Baseline models: naive, seasonal naive, drift, window average and historic average.
//!
//! They follow statsforecast's definitions. Each returns a [`SimpleFit`]: a repeated pattern
//! plus a linear slope, which is also how the intermittent models forecast.

use crate::{EngineError, FittedModel, ModelKind, util};

/// A fitted model whose forecast is a repeated pattern plus a straight line:
/// `pattern[(step - 1) % pattern.len()] + slope * step`.
#[derive(Debug, Clone, PartialEq)]
pub struct SimpleFit {
    kind: ModelKind,
    pattern: Vec<f64>,
    slope: f64,
    fitted: Vec<f64>,
}

impl SimpleFit {
    pub(crate) fn new(kind: ModelKind, pattern: Vec<f64>, slope: f64, fitted: Vec<f64>) -> Self {
        Self {
            kind,
            pattern,
            slope,
            fitted,
        }
    }

    /// The repeated part of the forecast (one value for flat forecasts, a season for seasonal
    /// naive).
    pub fn pattern(&self) -> &[f64] {
        &self.pattern
    }

    /// Change of the forecast per step (non-zero only for drift).
    pub fn slope(&self) -> f64 {
        self.slope
    }
}

impl FittedModel for SimpleFit {
    fn kind(&self) -> ModelKind {
        self.kind
    }

    fn forecast_mean(&self, horizon: usize) -> Vec<f64> {
        if self.pattern.is_empty() {
            return vec![f64::NAN; horizon];
        }
        (0..horizon)
            .map(|i| self.pattern[i % self.pattern.len()] + self.slope * (i + 1) as f64)
            .collect()
    }

    fn fitted(&self) -> &[f64] {
        &self.fitted
    }
}

/// Checks that `y` has at least `min_len` values, all finite.
pub(crate) fn check(y: &[f64], model: ModelKind, min_len: usize) -> Result<(), EngineError> {
    if y.len() < min_len.max(1) {
        return Err(EngineError::CannotFit {
            model: model.as_str(),
            reason: format!(
                "needs at least {} observations, got {}",
                min_len.max(1),
                y.len()
            ),
        });
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(EngineError::CannotFit {
            model: model.as_str(),
            reason: "the history contains missing or non-finite values".to_owned(),
        });
    }
    Ok(())
}

/// Last value, repeated.
pub fn naive(y: &[f64]) -> Result<SimpleFit, EngineError> {
    check(y, ModelKind::Naive, 1)?;
    let mut fitted = Vec::with_capacity(y.len());
    fitted.push(f64::NAN);
    fitted.extend_from_slice(&y[..y.len() - 1]);
    Ok(SimpleFit::new(
        ModelKind::Naive,
        vec![y[y.len() - 1]],
        0.0,
        fitted,
    ))
}

/// The last full season, repeated. Falls back to naive when `season_length` is 0 or 1; needs
/// at least one full season.
pub fn seasonal_naive(y: &[f64], season_length: usize) -> Result<SimpleFit, EngineError> {
    let m = season_length.max(1);
    check(y, ModelKind::SeasonalNaive, m)?;
    let n = y.len();
    let fitted = (0..n)
        .map(|t| if t >= m { y[t - m] } else { f64::NAN })
        .collect();
    Ok(SimpleFit::new(
        ModelKind::SeasonalNaive,
        y[n - m..].to_vec(),
        0.0,
        fitted,
    ))
}

/// Random walk with drift: the line through the first and the last value, extended.
pub fn drift(y: &[f64]) -> Result<SimpleFit, EngineError> {
    check(y, ModelKind::Drift, 1)?;
    let n = y.len();
    let slope = if n > 1 {
        (y[n - 1] - y[0]) / (n - 1) as f64
    } else {
        0.0
    };
    let mut fitted = Vec::with_capacity(n);
    fitted.push(f64::NAN);
    fitted.extend(y[..n - 1].iter().map(|v| v + slope));
    Ok(SimpleFit::new(
        ModelKind::Drift,
        vec![y[n - 1]],
        slope,
        fitted,
    ))
}

/// Mean of the last `window` values (all of them when the history is shorter).
pub fn window_average(y: &[f64], window: usize) -> Result<SimpleFit, EngineError> {
    check(y, ModelKind::WindowAverage, 1)?;
    let w = window.clamp(1, y.len());
    let level = util::mean(&y[y.len() - w..]);
    let fitted = (0..y.len())
        .map(|t| {
            if t >= w {
                util::mean(&y[t - w..t])
            } else {
                f64::NAN
            }
        })
        .collect();
    Ok(SimpleFit::new(
        ModelKind::WindowAverage,
        vec![level],
        0.0,
        fitted,
    ))
}

/// Mean of the whole history.
pub fn historic_average(y: &[f64]) -> Result<SimpleFit, EngineError> {
    check(y, ModelKind::HistoricAverage, 1)?;
    let level = util::mean(y);
    Ok(SimpleFit::new(
        ModelKind::HistoricAverage,
        vec![level],
        0.0,
        vec![level; y.len()],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baselines_forecast_as_defined() -> Result<(), EngineError> {
        let y = [1.0, 2.0, 3.0, 4.0, 6.0];
        assert_eq!(naive(&y)?.forecast_mean(2), vec![6.0, 6.0]);
        assert_eq!(seasonal_naive(&y, 2)?.forecast_mean(3), vec![4.0, 6.0, 4.0]);
        assert_eq!(drift(&y)?.forecast_mean(2), vec![7.25, 8.5]);
        assert_eq!(window_average(&y, 2)?.forecast_mean(1), vec![5.0]);
        assert_eq!(historic_average(&y)?.forecast_mean(1), vec![3.2]);
        assert_eq!(naive(&y)?.fitted()[1], 1.0);
        Ok(())
    }

    #[test]
    fn baselines_reject_bad_input() {
        assert!(naive(&[]).is_err());
        assert!(drift(&[1.0, f64::NAN]).is_err());
        assert!(seasonal_naive(&[1.0, 2.0], 4).is_err());
        assert!(window_average(&[1.0], 0).is_ok());
    }
}
