//! Probabilistic forecasts: quantile levels and the compact matrix they are stored in.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// A sorted set of distinct quantile levels, each strictly inside `(0, 1)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f64>", into = "Vec<f64>")]
pub struct QuantileLevels(Vec<f64>);

impl QuantileLevels {
    /// Checks and sorts `levels`; duplicates (to 1e-9) are merged.
    pub fn new(mut levels: Vec<f64>) -> Result<Self, DomainError> {
        if levels.is_empty() {
            return Err(DomainError::invalid(
                "quantile levels",
                "at least one level is needed",
            ));
        }
        if let Some(bad) = levels
            .iter()
            .find(|q| !(q.is_finite() && **q > 0.0 && **q < 1.0))
        {
            return Err(DomainError::invalid(
                "quantile levels",
                format!("{bad} is not strictly between 0 and 1"),
            ));
        }
        levels.sort_by(f64::total_cmp);
        levels.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        Ok(Self(levels))
    }

    /// The default set: P10..P90 by tenths plus 0.025 and 0.975 (the 95% band), and 0.05/0.95.
    pub fn standard() -> Self {
        Self(vec![
            0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.975,
        ])
    }

    /// Levels covering the given central interval levels (in percent, e.g. 80 and 95) merged with
    /// `self`.
    pub fn with_intervals(&self, interval_levels: &[f64]) -> Result<Self, DomainError> {
        let mut all = self.0.clone();
        for level in interval_levels {
            let (lo, hi) = interval_quantiles(*level)?;
            all.push(lo);
            all.push(hi);
        }
        Self::new(all)
    }

    /// The levels, ascending.
    pub fn levels(&self) -> &[f64] {
        &self.0
    }

    /// Number of levels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a set has at least one level.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Index of `level` within the set, if present (to 1e-9).
    pub fn position(&self, level: f64) -> Option<usize> {
        self.0.iter().position(|q| (q - level).abs() < 1e-9)
    }
}

impl Default for QuantileLevels {
    /// P10..P90 by tenths plus the 80% and 95% band ends: 11 levels.
    fn default() -> Self {
        Self(vec![
            0.025, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.975,
        ])
    }
}

impl TryFrom<Vec<f64>> for QuantileLevels {
    type Error = DomainError;
    fn try_from(value: Vec<f64>) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<QuantileLevels> for Vec<f64> {
    fn from(q: QuantileLevels) -> Self {
        q.0
    }
}

/// The lower and upper quantile levels of a central interval given in percent: 80 → (0.1, 0.9).
pub fn interval_quantiles(level_percent: f64) -> Result<(f64, f64), DomainError> {
    if !(level_percent.is_finite() && level_percent > 0.0 && level_percent < 100.0) {
        return Err(DomainError::invalid(
            "interval level",
            format!("{level_percent} is not strictly between 0 and 100"),
        ));
    }
    let alpha = (1.0 - level_percent / 100.0) / 2.0;
    // Round away binary noise so 80 gives exactly 0.1 and 0.9 as written.
    let round = |x: f64| (x * 1e9).round() / 1e9;
    Ok((round(alpha), round(1.0 - alpha)))
}

/// A forecast as stored: `horizon` rows, each the mean followed by one value per quantile level.
///
/// It is kept as `f32` because forecasts do not carry seven significant digits of information
/// and the half-size rows make bulk writes of large runs cheap; [`ForecastMatrix::to_bytes`] is
/// the compact column format (little-endian, row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastMatrix {
    horizon: usize,
    columns: usize,
    values: Vec<f32>,
}

impl ForecastMatrix {
    /// Builds a matrix from the mean path and one path per quantile level
    /// (`quantiles[level][step]`). Every path must have `mean.len()` steps.
    pub fn from_paths(mean: &[f64], quantiles: &[Vec<f64>]) -> Result<Self, DomainError> {
        let horizon = mean.len();
        if let Some(bad) = quantiles.iter().find(|q| q.len() != horizon) {
            return Err(DomainError::invalid(
                "forecast matrix",
                format!(
                    "a quantile path has {} steps, the mean has {horizon}",
                    bad.len()
                ),
            ));
        }
        let columns = 1 + quantiles.len();
        let mut values = Vec::with_capacity(horizon * columns);
        for step in 0..horizon {
            values.push(mean[step] as f32);
            values.extend(quantiles.iter().map(|q| q[step] as f32));
        }
        Ok(Self {
            horizon,
            columns,
            values,
        })
    }

    /// Number of forecast steps.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// Number of quantile columns (excluding the mean).
    pub fn quantile_count(&self) -> usize {
        self.columns - 1
    }

    /// The mean forecast at `step`.
    pub fn mean(&self, step: usize) -> f64 {
        self.values[step * self.columns] as f64
    }

    /// The forecast of quantile column `q` at `step`.
    pub fn quantile(&self, step: usize, q: usize) -> f64 {
        self.values[step * self.columns + 1 + q] as f64
    }

    /// The mean path.
    pub fn mean_path(&self) -> Vec<f64> {
        (0..self.horizon).map(|s| self.mean(s)).collect()
    }

    /// The path of quantile column `q`.
    pub fn quantile_path(&self, q: usize) -> Vec<f64> {
        (0..self.horizon).map(|s| self.quantile(s, q)).collect()
    }

    /// Little-endian `f32` bytes, preceded by the column count as a `u32`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.values.len() * 4);
        out.extend_from_slice(&(self.columns as u32).to_le_bytes());
        for v in &self.values {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Several matrices in one column: each as [`ForecastMatrix::to_bytes`], preceded by its
    /// length as a little-endian `u32`. Used for the members of an ensemble.
    pub fn list_to_bytes(matrices: &[ForecastMatrix]) -> Vec<u8> {
        let mut out = Vec::new();
        for m in matrices {
            let bytes = m.to_bytes();
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// Reads what [`ForecastMatrix::list_to_bytes`] wrote.
    pub fn list_from_bytes(mut bytes: &[u8]) -> Result<Vec<Self>, DomainError> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let (head, rest) = bytes.split_first_chunk::<4>().ok_or_else(|| {
                DomainError::invalid("forecast matrix list", "truncated length".to_owned())
            })?;
            let len = u32::from_le_bytes(*head) as usize;
            if rest.len() < len {
                return Err(DomainError::invalid(
                    "forecast matrix list",
                    "truncated matrix".to_owned(),
                ));
            }
            out.push(Self::from_bytes(&rest[..len])?);
            bytes = &rest[len..];
        }
        Ok(out)
    }

    /// Reads what [`ForecastMatrix::to_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DomainError> {
        let bad = |reason: &str| DomainError::invalid("forecast matrix bytes", reason.to_owned());
        let (head, body) = bytes
            .split_first_chunk::<4>()
            .ok_or_else(|| bad("shorter than its header"))?;
        let columns = u32::from_le_bytes(*head) as usize;
        if columns == 0 || body.len() % (4 * columns) != 0 {
            return Err(bad("length is not a whole number of rows"));
        }
        let values: Vec<f32> = body
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Self {
            horizon: values.len() / columns,
            columns,
            values,
        })
    }
}
