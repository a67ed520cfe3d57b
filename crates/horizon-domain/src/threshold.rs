//! Thresholds a series is watched against: "above 16 °C", "below 5 units in stock". Each
//! forecast reports, for each threshold, the probability of crossing it per step and at least
//! once within the horizon.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Which side of a [`Threshold`] counts as crossing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdDirection {
    /// Crossed when the value is strictly greater than the threshold (also what a threshold
    /// stored before directions existed reads as).
    #[default]
    Above,
    /// Crossed when the value is strictly less than the threshold.
    Below,
}

impl ThresholdDirection {
    /// `above` or `below`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Above => "above",
            Self::Below => "below",
        }
    }
}

/// A finite value and the side of it that counts as crossing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The value, in the series' unit.
    pub value: f64,
    /// Which side counts as crossing.
    #[serde(default)]
    pub direction: ThresholdDirection,
}

/// At most this many thresholds per series: each costs a pass over the sample paths.
pub const MAX_THRESHOLDS: usize = 32;

impl Threshold {
    /// `value` crossed from below (a finite value; not checked here, see [`Threshold::new`]).
    pub const fn above(value: f64) -> Self {
        Self {
            value,
            direction: ThresholdDirection::Above,
        }
    }

    /// `value` crossed from above.
    pub const fn below(value: f64) -> Self {
        Self {
            value,
            direction: ThresholdDirection::Below,
        }
    }

    /// A threshold at a finite `value`.
    pub fn new(value: f64, direction: ThresholdDirection) -> Result<Self, DomainError> {
        if !value.is_finite() {
            return Err(DomainError::invalid(
                "threshold",
                format!("{value} is not a finite number"),
            ));
        }
        Ok(Self { value, direction })
    }

    /// Whether `value` is on the crossing side.
    pub fn crossed_by(&self, value: f64) -> bool {
        match self.direction {
            ThresholdDirection::Above => value > self.value,
            ThresholdDirection::Below => value < self.value,
        }
    }

    /// Checks a list: every value finite, at most [`MAX_THRESHOLDS`], no threshold twice.
    pub fn check_list(list: &[Threshold]) -> Result<(), DomainError> {
        if list.len() > MAX_THRESHOLDS {
            return Err(DomainError::invalid(
                "thresholds",
                format!("{} given, at most {MAX_THRESHOLDS}", list.len()),
            ));
        }
        for (i, t) in list.iter().enumerate() {
            Threshold::new(t.value, t.direction)?;
            if list[..i].contains(t) {
                return Err(DomainError::invalid(
                    "thresholds",
                    format!("{t} is listed twice"),
                ));
            }
        }
        Ok(())
    }

    /// Parses the text form used in CSV files and the old `thresholds` tag: thresholds
    /// separated by `;`, each a number (crossed above) or a number after `>` (above) or `<`
    /// (below): `"16;18"`, `">30;<5"`. Blank items are skipped.
    pub fn parse_list(text: &str) -> Result<Vec<Threshold>, DomainError> {
        let mut list = Vec::new();
        for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let (direction, number) = if let Some(rest) = item.strip_prefix('<') {
                (ThresholdDirection::Below, rest)
            } else if let Some(rest) = item.strip_prefix('>') {
                (ThresholdDirection::Above, rest)
            } else {
                (ThresholdDirection::Above, item)
            };
            let value: f64 = number.trim().parse().map_err(|_| {
                DomainError::invalid(
                    "threshold",
                    format!("{item:?} is not a number, `>number` or `<number`"),
                )
            })?;
            list.push(Threshold::new(value, direction)?);
        }
        Threshold::check_list(&list)?;
        Ok(list)
    }
}

impl fmt::Display for Threshold {
    /// `>16` or `<5`: the form [`Threshold::parse_list`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.direction {
            ThresholdDirection::Above => write!(f, ">{}", self.value),
            ThresholdDirection::Below => write!(f, "<{}", self.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_with_directions_and_refuse_what_is_not_a_threshold() {
        assert_eq!(
            Threshold::parse_list(" 16; >18 ;<-2.5;").unwrap(),
            vec![
                Threshold::above(16.0),
                Threshold::above(18.0),
                Threshold::below(-2.5)
            ]
        );
        assert!(Threshold::parse_list("").unwrap().is_empty());
        let err = Threshold::parse_list("16;abc").unwrap_err().to_string();
        assert!(err.contains("\"abc\""), "{err}");
        assert!(Threshold::parse_list("NaN").is_err());
        assert!(Threshold::parse_list(">inf").is_err());
        assert!(
            Threshold::parse_list("16;>16")
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        let many = (0..=MAX_THRESHOLDS)
            .map(|i| i.to_string())
            .collect::<Vec<_>>();
        assert!(Threshold::parse_list(&many.join(";")).is_err());
        // Both sides of the same value are two thresholds.
        assert_eq!(Threshold::parse_list("<3;>3").unwrap().len(), 2);
    }

    #[test]
    fn crossing_is_strict_and_on_the_named_side() {
        let above = Threshold::above(10.0);
        let below = Threshold::below(10.0);
        assert!(above.crossed_by(10.5) && !above.crossed_by(10.0) && !above.crossed_by(9.0));
        assert!(below.crossed_by(9.5) && !below.crossed_by(10.0) && !below.crossed_by(11.0));
        assert_eq!(format!("{above};{below}"), ">10;<10");
        let back = Threshold::parse_list(&format!("{above};{below}")).unwrap();
        assert_eq!(back, vec![above, below]);
    }

    #[test]
    fn stored_thresholds_without_a_direction_read_as_above() {
        let t: Threshold = serde_json::from_str(r#"{"value": 4}"#).unwrap();
        assert_eq!(t, Threshold::above(4.0));
        let json = serde_json::to_string(&Threshold::below(2.0)).unwrap();
        assert_eq!(json, r#"{"value":2.0,"direction":"below"}"#);
    }
}
