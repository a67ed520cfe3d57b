//! What is known about where and how a series is measured: the attributes the solar physics
//! and the calendar need, and which end of its interval a time stamp names.

use std::{fmt, str::FromStr};

use crate::DomainError;

/// A point on the Earth, in degrees (WGS 84): latitude in [-90, 90], longitude in [-180, 180].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    latitude: f64,
    longitude: f64,
}

impl Location {
    /// Checks both coordinates.
    pub fn new(latitude: f64, longitude: f64) -> Result<Self, DomainError> {
        if !(latitude.is_finite() && (-90.0..=90.0).contains(&latitude)) {
            return Err(DomainError::invalid(
                "latitude",
                format!("{latitude} is not between -90 and 90"),
            ));
        }
        if !(longitude.is_finite() && (-180.0..=180.0).contains(&longitude)) {
            return Err(DomainError::invalid(
                "longitude",
                format!("{longitude} is not between -180 and 180"),
            ));
        }
        Ok(Self {
            latitude,
            longitude,
        })
    }

    /// Degrees north.
    pub fn latitude(&self) -> f64 {
        self.latitude
    }

    /// Degrees east.
    pub fn longitude(&self) -> f64 {
        self.longitude
    }
}

/// The orientation of a fixed plane (a PV array), in pvlib's conventions: `tilt` from the
/// horizontal in [0, 90] degrees, `azimuth` clockwise from north in [0, 360) (180 = facing
/// south).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orientation {
    tilt: f64,
    azimuth: f64,
}

impl Orientation {
    /// Checks both angles; an azimuth of 360 is read as 0.
    pub fn new(tilt: f64, azimuth: f64) -> Result<Self, DomainError> {
        if !(tilt.is_finite() && (0.0..=90.0).contains(&tilt)) {
            return Err(DomainError::invalid(
                "tilt",
                format!("{tilt} is not between 0 and 90 degrees"),
            ));
        }
        if !(azimuth.is_finite() && (0.0..=360.0).contains(&azimuth)) {
            return Err(DomainError::invalid(
                "azimuth",
                format!("{azimuth} is not between 0 and 360 degrees"),
            ));
        }
        Ok(Self {
            tilt,
            azimuth: azimuth % 360.0,
        })
    }

    /// Degrees from the horizontal.
    pub fn tilt(&self) -> f64 {
        self.tilt
    }

    /// Degrees clockwise from north.
    pub fn azimuth(&self) -> f64 {
        self.azimuth
    }
}

/// The attributes of a series that models may use. Every field is optional: a model that
/// needs one that is absent is skipped, and the forecast says so.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesAttributes {
    /// Where the series is measured.
    pub location: Option<Location>,
    /// Metres above sea level.
    pub altitude: Option<f64>,
    /// The most the series can reach (a plant's rated output), in the series' unit.
    pub capacity: Option<f64>,
    /// The orientation of a PV array.
    pub orientation: Option<Orientation>,
    /// IANA time zone name, e.g. `America/Denver`.
    pub timezone: Option<String>,
    /// ISO 3166-1 alpha-2 country code, upper case, e.g. `US`.
    pub country: Option<String>,
}

/// Which end of its interval a sub-daily time stamp names. A meter's reading stamped 10:15
/// with 15-minute steps covers 10:00–10:15 under `End` (the usual convention of energy meters
/// and of accumulated weather fields) and 10:15–10:30 under `Start`. A date names its whole
/// day either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntervalLabel {
    /// The stamp is the interval's start.
    Start,
    /// The stamp is the interval's end.
    #[default]
    End,
}

impl fmt::Display for IntervalLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IntervalLabel::Start => "start",
            IntervalLabel::End => "end",
        })
    }
}

impl FromStr for IntervalLabel {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "start" => Ok(IntervalLabel::Start),
            "end" => Ok(IntervalLabel::End),
            other => Err(DomainError::invalid(
                "label",
                format!("{other:?} is not \"start\" or \"end\""),
            )),
        }
    }
}
