//! Series identity and physical bounds.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The stable, human-readable key of a series, e.g. `events-USA` or `sku-00017`.
///
/// 1 to 128 characters from `A-Z a-z 0-9 _ . : -`, so it can appear in a URL path as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SeriesKey(String);

impl SeriesKey {
    /// Longest key accepted.
    pub const MAX_LEN: usize = 128;

    /// Checks `raw` and wraps it.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if raw.is_empty() {
            return Err(DomainError::invalid("series key", "must not be empty"));
        }
        if raw.len() > Self::MAX_LEN {
            return Err(DomainError::invalid(
                "series key",
                format!("longer than {} characters", Self::MAX_LEN),
            ));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')))
        {
            return Err(DomainError::invalid(
                "series key",
                format!("{raw:?} contains {bad:?}; allowed are A-Z a-z 0-9 _ . : -"),
            ));
        }
        // A key is a path segment of the API, where these two mean "here" and "up".
        if raw == "." || raw == ".." {
            return Err(DomainError::invalid(
                "series key",
                format!("{raw:?} is not a key (it is a dot segment in a URL path)"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for SeriesKey {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SeriesKey> for String {
    fn from(key: SeriesKey) -> Self {
        key.0
    }
}

/// Physical bounds of a series' values, e.g. `[0, capacity]` for a solar plant or `[0, ∞)` for
/// counts. Forecast distributions are clipped to them as a whole, not only their mean.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Bounds {
    lower: Option<f64>,
    upper: Option<f64>,
}

impl Bounds {
    /// No bounds at all.
    pub const UNBOUNDED: Bounds = Bounds {
        lower: None,
        upper: None,
    };

    /// Bounds `[0, ∞)`, the usual ones for counts and sales.
    pub const NON_NEGATIVE: Bounds = Bounds {
        lower: Some(0.0),
        upper: None,
    };

    /// Checks that both ends are finite and `lower <= upper`.
    pub fn new(lower: Option<f64>, upper: Option<f64>) -> Result<Self, DomainError> {
        for (name, v) in [("lower", lower), ("upper", upper)] {
            if let Some(v) = v
                && !v.is_finite()
            {
                return Err(DomainError::invalid(
                    "bounds",
                    format!("{name} bound {v} is not finite"),
                ));
            }
        }
        if let (Some(l), Some(u)) = (lower, upper)
            && l > u
        {
            return Err(DomainError::invalid(
                "bounds",
                format!("lower bound {l} is above upper bound {u}"),
            ));
        }
        Ok(Self { lower, upper })
    }

    /// The lower bound, if any.
    pub fn lower(&self) -> Option<f64> {
        self.lower
    }

    /// The upper bound, if any.
    pub fn upper(&self) -> Option<f64> {
        self.upper
    }

    /// `value` moved inside the bounds. NaN stays NaN.
    pub fn clamp(&self, value: f64) -> f64 {
        let mut v = value;
        if let Some(l) = self.lower
            && v < l
        {
            v = l;
        }
        if let Some(u) = self.upper
            && v > u
        {
            v = u;
        }
        v
    }

    /// Whether `value` lies within the bounds.
    pub fn contains(&self, value: f64) -> bool {
        self.lower.is_none_or(|l| value >= l) && self.upper.is_none_or(|u| value <= u)
    }
}
