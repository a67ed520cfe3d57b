//! The names of the engine's model families.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The model families of the engine, by the names the command line, the API and the database
/// use: parsed here, once, wherever a name arrives.
/// Stored and sent as its name (`"ets"`), so a stored job request reads back as it was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ModelKind {
    /// Last value.
    Naive,
    /// Value one season ago.
    SeasonalNaive,
    /// Line through the first and last value.
    Drift,
    /// Mean of the last window.
    WindowAverage,
    /// Mean of the whole history.
    HistoricAverage,
    /// Exponential smoothing with automatic selection of error/trend/season forms by AICc.
    AutoEts,
    /// Classical Theta (theta = 2) on the seasonally adjusted series.
    Theta,
    /// Optimized Theta (theta and alpha chosen by in-sample MSE).
    OptimizedTheta,
    /// Dynamic optimized Theta.
    DynamicOptimizedTheta,
    /// Croston's method for intermittent demand.
    Croston,
    /// Syntetos–Boylan approximation (bias-corrected Croston).
    Sba,
    /// Teunter–Syntetos–Babai (probability of demand updated every period).
    Tsb,
    /// Aggregate–disaggregate intermittent demand approach.
    Adida,
    /// Intermittent multiple aggregation prediction algorithm.
    Imapa,
    /// Multiple seasonal-trend decomposition by Loess, trend forecast by ETS.
    Mstl,
    /// Damped-trend exponential smoothing on the seasonally adjusted series.
    DampedTrend,
    /// Seasonal ARIMA with orders chosen by a stepwise AICc search (Hyndman–Khandakar).
    AutoArima,
    /// Linear quantile regression of a PV plant's output on solar geometry, clear-sky and
    /// weather-forecast features (needs a location and a sub-daily time line).
    SolarRegression,
    /// Gradient-boosted trees on the solar regression's features, as a location–scale model
    /// whose spread is calibrated on the most recent days out of sample (same needs).
    SolarBoosted,
    /// Linear regression on known-future covariates, its residual forecast by the univariate
    /// ensemble (regression with ETS/Theta errors).
    DriverRegression,
}

impl ModelKind {
    /// Every family, in a stable order.
    pub const ALL: [ModelKind; 20] = [
        ModelKind::Naive,
        ModelKind::SeasonalNaive,
        ModelKind::Drift,
        ModelKind::WindowAverage,
        ModelKind::HistoricAverage,
        ModelKind::AutoEts,
        ModelKind::Theta,
        ModelKind::OptimizedTheta,
        ModelKind::DynamicOptimizedTheta,
        ModelKind::Croston,
        ModelKind::Sba,
        ModelKind::Tsb,
        ModelKind::Adida,
        ModelKind::Imapa,
        ModelKind::Mstl,
        ModelKind::DampedTrend,
        ModelKind::AutoArima,
        ModelKind::SolarRegression,
        ModelKind::SolarBoosted,
        ModelKind::DriverRegression,
    ];

    /// The family's stable name (used on the command line, in the database and the API).
    pub fn as_str(&self) -> &'static str {
        match self {
            ModelKind::Naive => "naive",
            ModelKind::SeasonalNaive => "snaive",
            ModelKind::Drift => "drift",
            ModelKind::WindowAverage => "window_average",
            ModelKind::HistoricAverage => "historic_average",
            ModelKind::AutoEts => "ets",
            ModelKind::Theta => "theta",
            ModelKind::OptimizedTheta => "otm",
            ModelKind::DynamicOptimizedTheta => "dotm",
            ModelKind::Croston => "croston",
            ModelKind::Sba => "sba",
            ModelKind::Tsb => "tsb",
            ModelKind::Adida => "adida",
            ModelKind::Imapa => "imapa",
            ModelKind::Mstl => "mstl",
            ModelKind::DampedTrend => "damped",
            ModelKind::AutoArima => "arima",
            ModelKind::SolarRegression => "solar_qr",
            ModelKind::SolarBoosted => "solar_gbt",
            ModelKind::DriverRegression => "regression",
        }
    }
}

impl ModelKind {
    /// Whether the family needs covariates or series attributes beside the history.
    pub fn needs_covariates(&self) -> bool {
        matches!(
            self,
            ModelKind::SolarRegression | ModelKind::SolarBoosted | ModelKind::DriverRegression
        )
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ModelKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid(
                    "model",
                    format!(
                        "{s:?} is not one of {}",
                        ModelKind::ALL.map(|k| k.as_str()).join(", ")
                    ),
                )
            })
    }
}

impl TryFrom<String> for ModelKind {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ModelKind> for String {
    fn from(kind: ModelKind) -> Self {
        kind.to_string()
    }
}
