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

/// The names of the attribute fields, as columns of a series file and keys of the API's
/// `attributes` object.
pub const ATTRIBUTE_FIELDS: [&str; 8] = [
    "latitude",
    "longitude",
    "altitude",
    "capacity",
    "tilt",
    "azimuth",
    "timezone",
    "country",
];

impl SeriesAttributes {
    /// Reads the attributes from named text fields (a CSV row's columns, a form): `field(name)`
    /// returns a field's trimmed text, `None` when absent or empty. Every rule is checked and
    /// the error names the field: coordinates and angles in range, latitude with longitude,
    /// tilt with azimuth (a flat array, tilt 0, needs none), capacity positive, the time zone
    /// shaped as an IANA name, the country an ISO 3166 two-letter code (upper-cased).
    pub fn from_fields<'a>(field: impl Fn(&str) -> Option<&'a str>) -> Result<Self, DomainError> {
        let number = |name: &'static str| -> Result<Option<f64>, DomainError> {
            match field(name) {
                None => Ok(None),
                Some(raw) => match raw.parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(Some(v)),
                    _ => Err(DomainError::invalid(
                        name,
                        format!("{raw:?} is not a number"),
                    )),
                },
            }
        };
        let location = match (number("latitude")?, number("longitude")?) {
            (Some(lat), Some(lon)) => Some(Location::new(lat, lon)?),
            (None, None) => None,
            (Some(_), None) => {
                return Err(DomainError::invalid(
                    "longitude",
                    "latitude given without longitude",
                ));
            }
            (None, Some(_)) => {
                return Err(DomainError::invalid(
                    "latitude",
                    "longitude given without latitude",
                ));
            }
        };
        let orientation = match (number("tilt")?, number("azimuth")?) {
            (Some(t), Some(a)) => Some(Orientation::new(t, a)?),
            // A flat array needs no azimuth.
            (Some(0.0), None) => Some(Orientation::new(0.0, 180.0)?),
            (None, None) => None,
            (Some(_), None) => {
                return Err(DomainError::invalid(
                    "azimuth",
                    "tilt given without azimuth",
                ));
            }
            (None, Some(_)) => {
                return Err(DomainError::invalid("tilt", "azimuth given without tilt"));
            }
        };
        let capacity = number("capacity")?;
        if let Some(c) = capacity
            && c <= 0.0
        {
            return Err(DomainError::invalid(
                "capacity",
                format!("{c} is not positive"),
            ));
        }
        let altitude = number("altitude")?;
        if let Some(a) = altitude
            && !(-500.0..=9_000.0).contains(&a)
        {
            return Err(DomainError::invalid(
                "altitude",
                format!("{a} m is not between -500 and 9000 metres"),
            ));
        }
        Ok(Self {
            location,
            altitude,
            capacity,
            orientation,
            timezone: field("timezone").map(check_timezone).transpose()?,
            country: field("country").map(check_country).transpose()?,
        })
    }

    /// Whether no attribute is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// An IANA time zone name's shape (`Europe/Berlin`, `UTC`, `Etc/GMT+1`); whether the zone
/// exists is for the zone database, which lives in the engine.
fn check_timezone(zone: &str) -> Result<String, DomainError> {
    let shaped = !zone.is_empty()
        && zone.len() <= 64
        && zone
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
    if shaped {
        Ok(zone.to_owned())
    } else {
        Err(DomainError::invalid(
            "timezone",
            format!("{zone:?} is not an IANA time zone name such as Europe/Berlin"),
        ))
    }
}

fn check_country(code: &str) -> Result<String, DomainError> {
    let upper = code.to_ascii_uppercase();
    if upper.len() == 2 && upper.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(upper)
    } else {
        Err(DomainError::invalid(
            "country",
            format!("{code:?} is not an ISO 3166 two-letter code"),
        ))
    }
}
