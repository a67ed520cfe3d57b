//! Known-future covariates and the time line they are laid on.
//!
//! A covariate is a named numeric series aligned step for step with the history *and* the
//! horizon: a weather forecast, a price, a promotion flag. Aligning files of another
//! resolution onto the target's grid is the caller's job (the batch crate interpolates or
//! averages); the engine checks what it is given: every covariate covers the whole horizon
//! with finite values ([`check`]). Missing values inside the history are allowed (those steps
//! are left out of the fits).
//!
//! A few names are recognised by the solar physics ([`GHI`], [`TEMP_AIR`], [`CLOUD_COVER`]);
//! every other covariate is a generic driver of the regression on drivers
//! ([`ModelKind::DriverRegression`](horizon_domain::ModelKind::DriverRegression)).

use horizon_domain::{IntervalLabel, Timestamp};

use crate::EngineError;

/// Global horizontal irradiance, W/m² (mean over the step).
pub const GHI: &str = "ghi";
/// Air temperature at 2 m, °C.
pub const TEMP_AIR: &str = "temp_air";
/// Total cloud cover, fraction 0–1 (values above 1.5 are read as percent).
pub const CLOUD_COVER: &str = "cloud_cover";

/// Whether the solar physics reads this covariate itself.
pub fn is_weather(name: &str) -> bool {
    matches!(name, GHI | TEMP_AIR | CLOUD_COVER)
}

/// One covariate: `values[i]` belongs to history step `i` for `i < history.len()` and to
/// horizon step `i - history.len()` after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Covariate<'a> {
    /// Its name (a column of the covariates file).
    pub name: &'a str,
    /// History then horizon; NaN marks a missing value.
    pub values: &'a [f64],
}

/// The calendar of a history: when its first value was stamped, the step and which end of
/// its interval a stamp names. Needed by the solar physics (where the sun is) and calendars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeline {
    /// The stamp of the first history value.
    pub start: Timestamp,
    /// Seconds between steps (at least 1).
    pub step_seconds: i64,
    /// Which end of its interval a stamp names.
    pub label: IntervalLabel,
}

impl Timeline {
    /// Step `i`'s interval (0 = the first history value) as Unix seconds `[start, end]`.
    pub fn interval(&self, i: usize) -> (i64, i64) {
        let step = self.step_seconds.max(1);
        let t = self.start.timestamp() + step * i as i64;
        match self.label {
            IntervalLabel::End => (t - step, t),
            IntervalLabel::Start => (t, t + step),
        }
    }

    /// Whether steps are shorter than a day (where the sun's course matters within a step).
    pub fn is_sub_daily(&self) -> bool {
        self.step_seconds < 86_400
    }
}

/// Checks that every covariate covers the history and the horizon, with finite values over
/// the horizon; the error names the covariate and the first bad step (1-based horizon step).
pub fn check(
    covariates: &[Covariate<'_>],
    history: usize,
    horizon: usize,
) -> Result<(), EngineError> {
    let need = history + horizon;
    for c in covariates {
        if c.values.len() < need {
            let first = c.values.len().saturating_sub(history) + 1;
            return Err(EngineError::Covariate {
                name: c.name.to_owned(),
                reason: format!(
                    "covers {} of the {horizon} horizon steps; the first missing one is step {first}",
                    c.values.len().saturating_sub(history).min(horizon)
                ),
            });
        }
        if c.values.len() > need {
            return Err(EngineError::Covariate {
                name: c.name.to_owned(),
                reason: format!(
                    "has {} values, more than the history and horizon ({need})",
                    c.values.len()
                ),
            });
        }
        if let Some(k) = c.values[history..].iter().position(|v| !v.is_finite()) {
            return Err(EngineError::Covariate {
                name: c.name.to_owned(),
                reason: format!("is missing or not finite at horizon step {}", k + 1),
            });
        }
    }
    Ok(())
}
