//! Solar geometry and clear-sky irradiance as forecasting features, in pvlib's conventions
//! (azimuth clockwise from north, 180 = south; tilt from the horizontal; W/m²).
//!
//! The sun's position comes from the `solar-positioning` crate (Grena3 within 2010–2110,
//! ±0.01°; SPA outside it). Everything else is a short closed formula, named after its
//! source as pvlib names it:
//! - extraterrestrial normal irradiance: Spencer (1971), as `pvlib.irradiance.get_extra_radiation`;
//! - clear-sky GHI: Haurwitz (1945), as `pvlib.clearsky.haurwitz` (needs no turbidity, so no
//!   climatology table has to ship with the engine);
//! - beam/diffuse split of a GHI: Erbs et al. (1982), as `pvlib.irradiance.erbs`;
//! - plane-of-array irradiance: the isotropic sky model with ground reflection, albedo 0.25,
//!   as `pvlib.irradiance.get_total_irradiance(model="isotropic")`.
//!
//! A step's features are averages over its interval (see [`Timeline`]), sampled every
//! [`SAMPLE_SECONDS`] and at both ends, so an hourly step at sunrise gets the part of the
//! hour the sun is up, not the value at its label.

use std::f64::consts::PI;

use horizon_domain::{Location, Orientation, SeriesAttributes};
use solar_positioning::{SolarPositions, time::JulianDate};

use crate::covariates::Timeline;

/// Seconds between the samples that average a step's geometry (at least both ends are used).
pub const SAMPLE_SECONDS: i64 = 300;
/// Most samples per step: longer steps (days) are sampled more sparsely.
const MAX_SAMPLES: i64 = 49;
/// Ground reflectance used for the plane-of-array irradiance (pvlib's default for grass is
/// 0.25 as well).
pub const ALBEDO: f64 = 0.25;
/// Solar constant, W/m² (pvlib's 1,366.1).
const SOLAR_CONSTANT: f64 = 1366.1;

/// The sun over one step's interval.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SunStep {
    /// Mean of `max(cos(zenith), 0)` over the interval.
    pub cos_zenith: f64,
    /// Share of the interval's samples with the sun above the horizon, in [0, 1]; 0 is night.
    pub daylight: f64,
    /// Mean clear-sky global horizontal irradiance (Haurwitz), W/m².
    pub clear_ghi: f64,
    /// Extraterrestrial normal irradiance, W/m².
    pub extra_dni: f64,
    /// Mean of `max(cos(angle of incidence), 0)` on the plane while the sun is up; equals
    /// `cos_zenith` for a horizontal plane or when no orientation is known.
    pub cos_incidence: f64,
    /// Mean solar elevation over the samples, degrees.
    pub elevation: f64,
    /// Mean solar azimuth while the sun is up, degrees (180 when it never is).
    pub azimuth: f64,
}

impl SunStep {
    /// Whether the sun stays below the horizon for the whole interval.
    pub fn is_night(&self) -> bool {
        self.daylight <= 0.0
    }
}

/// Clear-sky GHI of Haurwitz (1945) for `cos(zenith)`, W/m²; 0 with the sun down.
pub fn haurwitz(cos_zenith: f64) -> f64 {
    if cos_zenith <= 0.0 {
        0.0
    } else {
        1098.0 * cos_zenith * (-0.059 / cos_zenith).exp()
    }
}

/// Extraterrestrial normal irradiance on day `day_of_year` (1–366), Spencer (1971), W/m².
pub fn extraterrestrial(day_of_year: f64) -> f64 {
    let b = 2.0 * PI * (day_of_year - 1.0) / 365.0;
    SOLAR_CONSTANT
        * (1.00011
            + 0.034221 * b.cos()
            + 0.00128 * b.sin()
            + 0.000719 * (2.0 * b).cos()
            + 0.000077 * (2.0 * b).sin())
}

/// Splits a GHI into (DNI, DHI) by Erbs et al. (1982), W/m²; the clearness index is capped
/// at 1 and the sun's `cos(zenith)` floored at 0.065 (about 86°) as pvlib's `min_cos_zenith`.
pub fn erbs(ghi: f64, cos_zenith: f64, extra_dni: f64) -> (f64, f64) {
    if ghi <= 0.0 || cos_zenith <= 0.0 {
        return (0.0, ghi.max(0.0));
    }
    let cz = cos_zenith.max(0.065);
    let kt = (ghi / (extra_dni * cz)).clamp(0.0, 1.0);
    let df = if kt <= 0.22 {
        1.0 - 0.09 * kt
    } else if kt <= 0.8 {
        0.9511 - 0.1604 * kt + 4.388 * kt.powi(2) - 16.638 * kt.powi(3) + 12.336 * kt.powi(4)
    } else {
        0.165
    };
    let dhi = df * ghi;
    let dni = ((ghi - dhi) / cz).max(0.0);
    (dni, dhi)
}

/// Irradiance on a plane: beam on the plane plus isotropic sky diffuse plus ground reflection
/// ([`ALBEDO`]). `cos_incidence` and `cos_zenith` are the step's means; the beam part is the
/// horizontal beam scaled by their ratio (capped at 10, for grazing sun).
pub fn plane_of_array(ghi: f64, step: &SunStep, tilt_deg: f64, extra_dni: f64) -> f64 {
    if ghi <= 0.0 || step.cos_zenith <= 0.0 {
        return 0.0;
    }
    let (dni, dhi) = erbs(ghi, step.cos_zenith, extra_dni);
    let beam_h = (ghi - dhi).max(0.0).min(dni * step.cos_zenith.max(0.065));
    let ratio = (step.cos_incidence / step.cos_zenith).min(10.0);
    let t = tilt_deg.to_radians();
    beam_h * ratio + dhi * (1.0 + t.cos()) / 2.0 + ghi * ALBEDO * (1.0 - t.cos()) / 2.0
}

/// Cosine of the angle of incidence of the sun at (`zenith`, `azimuth`) on a plane, degrees.
pub fn cos_incidence(zenith: f64, azimuth: f64, orientation: &Orientation) -> f64 {
    let (z, a) = (zenith.to_radians(), azimuth.to_radians());
    let (t, p) = (
        orientation.tilt().to_radians(),
        orientation.azimuth().to_radians(),
    );
    z.cos() * t.cos() + z.sin() * t.sin() * (a - p).cos()
}

/// Unix seconds → UT Julian date.
fn julian(unix: f64) -> f64 {
    unix / 86_400.0 + 2_440_587.5
}

/// (zenith, azimuth) in degrees at `unix` seconds, without refraction; `None` when the crate
/// refuses the time (before year -2000 or after 6000).
pub fn position(location: &Location, altitude: f64, unix: f64) -> Option<(f64, f64)> {
    let jd = julian(unix);
    let year = 1970.0 + unix / 31_556_952.0;
    let delta_t = solar_positioning::delta_t::estimate(year).unwrap_or(69.0);
    let time = JulianDate::new(jd, delta_t).ok()?;
    let loc = solar_positioning::Location {
        latitude: location.latitude(),
        longitude: location.longitude(),
    };
    let fast = (2011.0..2109.0).contains(&year);
    let positions = if fast {
        SolarPositions::grena3()
    } else {
        SolarPositions::new()
    };
    // Grena3 takes no height; the parallax of a few km of altitude is far below its error.
    let height = if fast { 0.0 } else { altitude };
    let p = positions.at_from_julian(time, loc, height, None).ok()?;
    Some((p.zenith_angle(), p.azimuth()))
}

/// The sun over `count` steps of `timeline` (history and horizon alike) at `attributes`'
/// location; `None` without a location.
pub fn sun_steps(
    attributes: &SeriesAttributes,
    timeline: &Timeline,
    count: usize,
) -> Option<Vec<SunStep>> {
    let location = attributes.location?;
    let altitude = attributes.altitude.unwrap_or(0.0);
    let step = timeline.step_seconds.max(1);
    let samples = (step / SAMPLE_SECONDS).clamp(1, MAX_SAMPLES - 1) + 1;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (start, end) = timeline.interval(i);
        let (mut cz_sum, mut cs_sum, mut ci_sum, mut el_sum) = (0.0, 0.0, 0.0, 0.0);
        let (mut up, mut az_sum) = (0usize, 0.0);
        for k in 0..samples {
            let t = start as f64 + (end - start) as f64 * k as f64 / (samples - 1) as f64;
            let Some((zenith, azimuth)) = position(&location, altitude, t) else {
                continue;
            };
            let cz = zenith.to_radians().cos();
            el_sum += 90.0 - zenith;
            if cz > 0.0 {
                up += 1;
                cz_sum += cz;
                cs_sum += haurwitz(cz);
                az_sum += azimuth;
                ci_sum += match &attributes.orientation {
                    Some(o) => cos_incidence(zenith, azimuth, o).max(0.0),
                    None => cz,
                };
            }
        }
        let n = samples as f64;
        let mid = (start + end) as f64 / 2.0;
        let doy = ((mid / 86_400.0).rem_euclid(365.2425)) + 1.0;
        out.push(SunStep {
            cos_zenith: cz_sum / n,
            daylight: up as f64 / n,
            clear_ghi: cs_sum / n,
            extra_dni: extraterrestrial(doy),
            cos_incidence: ci_sum / n,
            elevation: el_sum / n,
            azimuth: if up > 0 { az_sum / up as f64 } else { 180.0 },
        });
    }
    Some(out)
}
