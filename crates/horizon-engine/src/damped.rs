//! Damped-trend exponential smoothing on the seasonally adjusted series (the "damped" member of
//! the M4 SHD/Comb benchmark): classical decomposition indices when a season is given and
//! usable (multiplicative for positive data, additive otherwise), an `ETS(A,Ad,N)` fit on the
//! adjusted series, and the indices put back on forecasts, quantiles and fitted values.

use horizon_domain::QuantileLevels;

use crate::{EngineError, FittedModel, ModelKind, ets, ets::EtsFit, seasonality};

#[derive(Debug, Clone)]
enum Season {
    None,
    Multiplicative(Vec<f64>),
    Additive(Vec<f64>),
}

impl Season {
    fn apply(&self, t: usize, v: f64) -> f64 {
        match self {
            Season::None => v,
            Season::Multiplicative(idx) => v * idx[t % idx.len()],
            Season::Additive(idx) => v + idx[t % idx.len()],
        }
    }

    fn remove(&self, t: usize, v: f64) -> f64 {
        match self {
            Season::None => v,
            Season::Multiplicative(idx) => v / idx[t % idx.len()],
            Season::Additive(idx) => v - idx[t % idx.len()],
        }
    }
}

/// A fitted damped-trend model on seasonally adjusted data.
#[derive(Debug, Clone)]
pub struct DampedFit {
    inner: EtsFit,
    season: Season,
    n: usize,
    fitted: Vec<f64>,
}

/// Fits the damped trend; `season_length` is used only when it is at least 2 and the history
/// holds more than two full seasons.
pub fn damped_trend(y: &[f64], season_length: Option<usize>) -> Result<DampedFit, EngineError> {
    crate::baseline::check(y, ModelKind::DampedTrend, 4)?;
    let season = match season_length {
        Some(m) if m >= 2 && y.len() > 2 * m => match seasonality::multiplicative_indices(y, m) {
            Some(idx) if idx.iter().all(|v| *v > 0.0 && v.is_finite()) => {
                Season::Multiplicative(idx)
            }
            _ => seasonality::additive_indices(y, m).map_or(Season::None, Season::Additive),
        },
        _ => Season::None,
    };
    let adjusted: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(t, v)| season.remove(t, *v))
        .collect();
    let inner = ets::fit_spec(&adjusted, None, "AAdN")?;
    let fitted = inner
        .fitted()
        .iter()
        .enumerate()
        .map(|(t, v)| season.apply(t, *v))
        .collect();
    Ok(DampedFit {
        inner,
        season,
        n: y.len(),
        fitted,
    })
}

impl FittedModel for DampedFit {
    fn kind(&self) -> ModelKind {
        ModelKind::DampedTrend
    }

    fn forecast_mean(&self, horizon: usize) -> Vec<f64> {
        let mut f = self.inner.forecast_mean(horizon);
        for (i, v) in f.iter_mut().enumerate() {
            *v = self.season.apply(self.n + i, *v);
        }
        f
    }

    fn forecast_quantiles(&self, horizon: usize, levels: &QuantileLevels) -> Option<Vec<Vec<f64>>> {
        let mut q = self.inner.forecast_quantiles(horizon, levels)?;
        for path in &mut q {
            for (i, v) in path.iter_mut().enumerate() {
                *v = self.season.apply(self.n + i, *v);
            }
        }
        Some(q)
    }

    fn fitted(&self) -> &[f64] {
        &self.fitted
    }
}
