//! How a series behaves: its demand class and the features that decided it.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The Syntetos–Boylan demand class of a series (ADI cut-off 1.32, CV² cut-off 0.49). The class
/// routes a series to its candidate models; calibration weights are kept per class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesClass {
    /// Regular demand, low variability (ADI < 1.32, CV² < 0.49).
    Smooth,
    /// Regular demand, high variability (ADI < 1.32, CV² ≥ 0.49).
    Erratic,
    /// Sporadic demand, low variability (ADI ≥ 1.32, CV² < 0.49).
    Intermittent,
    /// Sporadic demand, high variability (ADI ≥ 1.32, CV² ≥ 0.49).
    Lumpy,
}

impl SeriesClass {
    /// Every class, in a stable order.
    pub const ALL: [SeriesClass; 4] = [
        SeriesClass::Smooth,
        SeriesClass::Erratic,
        SeriesClass::Intermittent,
        SeriesClass::Lumpy,
    ];

    /// The class's name as stored and served.
    pub fn as_str(&self) -> &'static str {
        match self {
            SeriesClass::Smooth => "smooth",
            SeriesClass::Erratic => "erratic",
            SeriesClass::Intermittent => "intermittent",
            SeriesClass::Lumpy => "lumpy",
        }
    }

    /// Whether demand is sporadic (intermittent or lumpy).
    pub fn is_sporadic(&self) -> bool {
        matches!(self, SeriesClass::Intermittent | SeriesClass::Lumpy)
    }
}

impl fmt::Display for SeriesClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SeriesClass {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SeriesClass::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                DomainError::invalid(
                    "series class",
                    format!("{s:?} is not one of smooth, erratic, intermittent, lumpy"),
                )
            })
    }
}

/// The features measured on a series and the class they give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesProfile {
    /// Demand class.
    pub class: SeriesClass,
    /// Average demand interval: observations per non-zero observation.
    pub adi: f64,
    /// Squared coefficient of variation of the non-zero values.
    pub cv2: f64,
    /// Share of observations that are zero, in `[0, 1]`.
    pub zero_share: f64,
    /// Number of finite observations.
    pub length: usize,
    /// Strength of trend in `[0, 1]` (Wang, Smith & Hyndman 2006).
    pub trend_strength: f64,
    /// Strength of seasonality in `[0, 1]`, 0 when no season was detected.
    pub seasonal_strength: f64,
    /// The seasonal period detected, if any.
    pub season_length: Option<usize>,
}
