//! Seasonal ARIMA with automatic order selection, after Hyndman & Khandakar (2008) as R's
//! `forecast::auto.arima` does it: the differencing orders from unit-root and seasonal-strength
//! tests, then a stepwise search over the ARMA orders by AICc.
//!
//! The model of a history `y` with period `m` is
//! `φ(B) Φ(Bᵐ) (w_t − μ) = θ(B) Θ(Bᵐ) ε_t` with `w = (1 − B)ᵈ (1 − Bᵐ)ᴰ y`: `μ` is the mean
//! when nothing is differenced and the drift when one difference is taken (R's "with drift"),
//! absent otherwise. Parameters are estimated as R's default `CSS-ML` does: conditional sum of
//! squares, refined by exact maximum likelihood (a Kalman filter); long or very seasonal
//! series are searched by the CSS approximation and only the chosen order is refitted
//! exactly, as `auto.arima`'s `approximation` does (`tests` compare with R on its datasets).
//!
//! Stationarity and invertibility hold by construction: the optimiser works on partial
//! autocorrelations, mapped to coefficients by the Durbin–Levinson recursion; and, as in R, a
//! fit with a root within [`ROOT_MARGIN`] of the unit circle is not selected.

mod estimate;
mod search;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_data;

pub use search::{
    APPROXIMATION_LENGTH, Criterion, KPSS_CRITICAL_5PCT, MAX_D, SEASONAL_STRENGTH_DIFFERENCE,
    SEASONAL_WINDOW_CYCLES, fit_auto, fit_auto_with, kpss_statistic, ndiffs, nsdiffs,
    seasonal_strength,
};

use horizon_domain::QuantileLevels;

use crate::{EngineError, FittedModel, ModelKind, util};

/// Roots of the AR and MA polynomials closer than this to the unit circle (in modulus) rule a
/// fit out of the search, as in R's `auto.arima` (`1 + 1e-2`).
pub const ROOT_MARGIN: f64 = 1.01;
/// Largest non-seasonal AR and MA orders the search visits (R's `max.p`, `max.q`).
pub const MAX_P: usize = 5;
/// Largest seasonal AR and MA orders the search visits (R's `max.P`, `max.Q`).
pub const MAX_SEASONAL_P: usize = 2;
/// Most models one search fits (R's `nmodels`).
pub const MAX_MODELS: usize = 94;

/// The orders of a seasonal ARIMA and whether it has a constant (mean or drift).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArimaOrder {
    /// Non-seasonal AR order.
    pub p: usize,
    /// Non-seasonal differences.
    pub d: usize,
    /// Non-seasonal MA order.
    pub q: usize,
    /// Seasonal AR order.
    pub sp: usize,
    /// Seasonal differences.
    pub sd: usize,
    /// Seasonal MA order.
    pub sq: usize,
    /// Season length (1: no seasonal part).
    pub m: usize,
    /// A mean (no difference) or a drift (one difference in all).
    pub constant: bool,
}

impl ArimaOrder {
    /// `ARIMA(p,d,q)(P,D,Q)[m]`, with " with drift" / " with mean" as R prints it.
    pub fn spec(&self) -> String {
        let mut s = format!("ARIMA({},{},{})", self.p, self.d, self.q);
        if self.m > 1 && (self.sp + self.sd + self.sq) > 0 {
            s.push_str(&format!(
                "({},{},{})[{}]",
                self.sp, self.sd, self.sq, self.m
            ));
        }
        if self.constant {
            s.push_str(if self.d + self.sd == 0 {
                " with mean"
            } else {
                " with drift"
            });
        }
        s
    }

    /// Estimated coefficients, sigma² included (R's `npar`).
    fn n_params(&self) -> usize {
        self.p + self.q + self.sp + self.sq + usize::from(self.constant) + 1
    }

    /// The differencing lags, seasonal first, each once per difference.
    fn lags(&self) -> Vec<usize> {
        let mut lags = vec![self.m; self.sd];
        lags.extend(std::iter::repeat_n(1, self.d));
        lags
    }
}

/// A fitted seasonal ARIMA.
#[derive(Debug, Clone)]
pub struct ArimaFit {
    order: ArimaOrder,
    /// Expanded AR coefficients by lag (`w_t − μ = Σ ar[k−1] (w_{t−k} − μ) + …`).
    ar: Vec<f64>,
    /// Expanded MA coefficients by lag (`… + ε_t + Σ ma[k−1] ε_{t−k}`).
    ma: Vec<f64>,
    /// The factors as estimated: φ, θ, Φ, Θ.
    coefficients: [Vec<f64>; 4],
    mu: f64,
    sigma2: f64,
    aicc: f64,
    y: Vec<f64>,
    fitted: Vec<f64>,
}

impl ArimaFit {
    /// The orders.
    pub fn order(&self) -> ArimaOrder {
        self.order
    }

    /// `ARIMA(p,d,q)(P,D,Q)[m]` as R prints it.
    pub fn spec(&self) -> String {
        self.order.spec()
    }

    /// Non-seasonal AR, non-seasonal MA, seasonal AR and seasonal MA coefficients, in R's sign
    /// conventions (`ar1`, `ma1`, `sar1`, `sma1`…).
    pub fn coefficients(&self) -> &[Vec<f64>; 4] {
        &self.coefficients
    }

    /// The mean or drift per step of the differenced series (0 without a constant).
    pub fn constant(&self) -> f64 {
        self.mu
    }

    /// Innovation variance.
    pub fn sigma2(&self) -> f64 {
        self.sigma2
    }

    /// The mean forecast of `y` continued for `horizon` steps with this fit's parameters.
    fn forecast_after(&self, y: &[f64], horizon: usize) -> Vec<f64> {
        let lags = self.order.lags();
        // Each stage of differencing, kept to integrate the forecast back.
        let mut stages: Vec<Vec<f64>> = vec![y.to_vec()];
        for &lag in &lags {
            let prev = stages.last().expect("the first stage is y");
            stages.push(difference(prev, lag));
        }
        let w = stages.last().expect("at least y");
        let e = estimate::residuals(w, &self.ar, &self.ma, self.mu, self.ncond());
        let nw = w.len();
        let mut ext: Vec<f64> = w.iter().map(|v| v - self.mu).collect();
        for j in 0..horizon {
            let t = nw + j;
            let mut v = 0.0;
            for (k, a) in self.ar.iter().enumerate() {
                if *a != 0.0 && t > k {
                    v += a * ext[t - k - 1];
                }
            }
            for (k, b) in self.ma.iter().enumerate() {
                let lag = k + 1;
                if *b != 0.0 && t >= lag && t - lag < nw {
                    v += b * e[t - lag];
                }
            }
            ext.push(v);
        }
        let mut f: Vec<f64> = ext[nw..].iter().map(|v| v + self.mu).collect();
        // Integrate: undo the last difference first.
        for (stage, &lag) in stages.iter().rev().skip(1).zip(lags.iter().rev()) {
            let n = stage.len();
            let mut g: Vec<f64> = Vec::with_capacity(horizon);
            for j in 0..horizon {
                let back = if j >= lag {
                    g[j - lag]
                } else {
                    stage[n + j - lag]
                };
                g.push(f[j] + back);
            }
            f = g;
        }
        f
    }

    /// Conditioning values of the CSS recursion: the expanded AR order.
    fn ncond(&self) -> usize {
        self.ar.len()
    }

    /// ψ-weights of the integrated model, `ψ_0 = 1`.
    fn psi(&self, horizon: usize) -> Vec<f64> {
        // AR side as a polynomial 1 − Σ a_k Bᵏ, times each difference (1 − Bˡ).
        let mut poly = vec![1.0];
        poly.extend(self.ar.iter().map(|a| -a));
        for lag in self.order.lags() {
            let mut next = vec![0.0; poly.len() + lag];
            for (i, c) in poly.iter().enumerate() {
                next[i] += c;
                next[i + lag] -= c;
            }
            poly = next;
        }
        let mut psi = vec![0.0; horizon.max(1)];
        psi[0] = 1.0;
        for j in 1..psi.len() {
            let mut v = self.ma.get(j - 1).copied().unwrap_or(0.0);
            for k in 1..=j.min(poly.len() - 1) {
                v -= poly[k] * psi[j - k];
            }
            psi[j] = v;
        }
        psi
    }
}

/// `x_t − x_{t−lag}`.
pub(crate) fn difference(x: &[f64], lag: usize) -> Vec<f64> {
    if x.len() <= lag {
        return Vec::new();
    }
    (lag..x.len()).map(|t| x[t] - x[t - lag]).collect()
}

impl FittedModel for ArimaFit {
    fn kind(&self) -> ModelKind {
        ModelKind::AutoArima
    }

    fn forecast_mean(&self, horizon: usize) -> Vec<f64> {
        self.forecast_after(&self.y, horizon)
    }

    fn forecast_quantiles(&self, horizon: usize, levels: &QuantileLevels) -> Option<Vec<Vec<f64>>> {
        if !(self.sigma2.is_finite() && self.sigma2 >= 0.0) {
            return None;
        }
        let mean = self.forecast_mean(horizon);
        let psi = self.psi(horizon);
        let mut cum = 0.0;
        let sd: Vec<f64> = psi
            .iter()
            .take(horizon)
            .map(|p| {
                cum += p * p;
                (self.sigma2 * cum).sqrt()
            })
            .collect();
        Some(
            levels
                .levels()
                .iter()
                .map(|&q| {
                    let z = util::normal_quantile(q);
                    mean.iter().zip(&sd).map(|(m, s)| m + z * s).collect()
                })
                .collect(),
        )
    }

    fn fitted(&self) -> &[f64] {
        &self.fitted
    }

    fn aicc(&self) -> Option<f64> {
        self.aicc.is_finite().then_some(self.aicc)
    }

    fn forecast_from(&self, origin: usize, horizon: usize) -> Option<Vec<f64>> {
        let needed = self.order.d + self.order.sd * self.order.m + self.ncond() + 1;
        (origin >= needed && origin <= self.y.len())
            .then(|| self.forecast_after(&self.y[..origin], horizon))
    }
}

/// Fits the given orders by conditional sum of squares.
///
/// # Errors
/// [`EngineError::CannotFit`] when the history is too short for the orders or holds a
/// non-finite value, or when no finite fit is found.
pub fn fit(y: &[f64], order: ArimaOrder) -> Result<ArimaFit, EngineError> {
    estimate::fit_order(y, order, true)
}

/// Fits the given orders by conditional sum of squares alone (no exact refinement): what a
/// validation window refits, where the order is known and only its forecast is scored.
///
/// # Errors
/// As [`fit`].
pub fn fit_conditional(y: &[f64], order: ArimaOrder) -> Result<ArimaFit, EngineError> {
    estimate::fit_order(y, order, false)
}
