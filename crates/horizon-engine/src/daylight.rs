//! When a PV plant's location is unknown, its own history says when it is day.
//!
//! Without a latitude and longitude there is no sun position, but a plant's output is still
//! zero at the same times of day every night, and its best recent days trace its clear-sky
//! curve (orientation, shading and inverter limit included). [`Daylight::estimate`] reads, for
//! every step of the history and the horizon, from the same time of day on the preceding
//! [`PROFILE_DAYS`] days of history:
//!
//! - the plant's **clear-day profile**: the [`PROFILE_QUANTILE`] quantile of its output, a
//!   share of capacity;
//! - the irradiance covariate's clear-day level the same way, so that the forecast's ratio to
//!   it is a clear-sky index with the plant's own geometry folded in;
//! - whether the step is **dark**: output at most 1% of the peak on each of the last
//!   [`DARK_DAYS`] days at that time. The irradiance forecast is not asked: a coarser weather
//!   file interpolated onto the plant's steps, or a stamp labelled at the other end of its
//!   interval, lights steps that were dark (on the PVDAQ set without its location that lit
//!   sunrise steps at up to 18% of capacity); while the sunrise moves by a few minutes a day,
//!   what a dark step misses is the first minutes of light.
//!
//! The irradiance covariate is `ghi` when given; otherwise the covariate that is dark when the
//! plant is and follows its output most closely by day (a measured `irradiation` column, a
//! weather model's downward short-wave radiation under another name).
//!
//! The features built on these ([`Daylight::features`]) all vanish in the dark, so the solar
//! regression stays exactly zero at night, as with a known location.

use crate::{covariates::Covariate, covariates::Timeline, util};

/// Days of history the profile and the darkness of a time of day are read from: a month
/// holds clear days in most climates, while the sunrise moves by less than an hour.
/// Chosen on the PVDAQ system 50 and Kaggle development sets (bench/solar).
pub const PROFILE_DAYS: usize = 30;
/// Days a time of day must have been dark on to be forecast dark (sunrise moves by up to
/// three minutes a day at mid latitudes: a week is less than one 15-minute step's worth).
pub const DARK_DAYS: usize = 7;
/// A time of day's ceiling over its month's most ([`Daylight::ceiling`]): the sun at a time of
/// day climbs by a few degrees a month. On PVDAQ system 50 (2011–13 and 2016, 15-minute
/// steps), 0.04% of the steps exceeded the ceiling read from the 30 days before them, by at
/// most 8% of the peak.
pub const CEILING_FACTOR: f64 = 1.25;
/// Quantile of a time of day's output over [`PROFILE_DAYS`] read as its clear-day value.
pub const PROFILE_QUANTILE: f64 = 0.9;
/// Share of the times of day that must be dark (and lit) for a history to read as PV output:
/// nights are longer than a sixth of a day below the polar circles.
const MIN_DARK_SHARE: f64 = 0.15;
/// Lowest correlation by day of an unnamed covariate with the output for it to be read as the
/// plant's irradiance.
const MIN_IRRADIANCE_CORRELATION: f64 = 0.6;

/// The history's own day and night, step by step over the history and the horizon.
#[derive(Debug, Clone)]
pub(crate) struct Daylight {
    /// Clear-day output at each step, a share of the peak output (0 in the dark).
    profile: Vec<f64>,
    /// Clear-day irradiance at each step, in the irradiance covariate's unit.
    clear_irradiance: Vec<f64>,
    /// Whether each step is dark.
    dark: Vec<bool>,
    /// Most a step can produce: [`CEILING_FACTOR`] times the most the same time of day
    /// produced over [`PROFILE_DAYS`], plus 2% of the peak.
    ceiling: Vec<f64>,
    /// Seconds into the (UTC) day of each step's interval middle, as a phase in radians.
    phase: Vec<f64>,
    /// The covariate read as irradiance, if any.
    pub(crate) irradiance: Option<usize>,
    /// Its peak over the history.
    irradiance_peak: f64,
}

impl Daylight {
    /// Reads the day and night of `y` (the history) over `n + horizon` steps; `Err` says why
    /// the history does not read as PV output.
    pub(crate) fn estimate(
        y: &[f64],
        timeline: &Timeline,
        covariates: &[Covariate<'_>],
        horizon: usize,
    ) -> Result<Self, String> {
        let step = timeline.step_seconds;
        if step <= 0 || 86_400 % step != 0 || step > 3 * 3_600 {
            return Err("its steps do not divide a day into at least eight".to_owned());
        }
        let per_day = (86_400 / step) as usize;
        let n = y.len();
        if n < 3 * per_day {
            return Err(format!(
                "the history holds {n} steps, fewer than three days"
            ));
        }
        let peak = y
            .iter()
            .filter(|v| v.is_finite())
            .fold(0.0f64, |a, v| a.max(*v));
        if peak <= 0.0 {
            return Err("the history is never positive".to_owned());
        }
        let total = n + horizon;
        let earlier = |i: usize, days: usize| same_time_earlier(y, n, per_day, i, days);
        // Off is near zero, not below it: PV output dips a little under 0 at night (the
        // inverter's own draw), while a temperature of -3 °C is a value, not a dark step.
        let is_off = |v: f64| v.abs() <= 0.01 * peak;

        // Whether the history reads as PV output: a share of the times of day off on
        // (nearly) every day, the rest lit on most.
        let mut dark_slots = 0usize;
        let mut lit_slots = 0usize;
        for slot in n.saturating_sub(per_day)..n {
            let past = earlier(slot + per_day, PROFILE_DAYS);
            if past.len() < 3 {
                continue;
            }
            let off = past.iter().filter(|v| is_off(**v)).count() as f64 / past.len() as f64;
            if off >= 0.95 {
                dark_slots += 1;
            } else if off <= 0.5 {
                lit_slots += 1;
            }
        }
        let share = |k: usize| k as f64 / per_day as f64;
        if share(dark_slots) < MIN_DARK_SHARE || share(lit_slots) < MIN_DARK_SHARE {
            return Err(format!(
                "{:.0}% of its times of day are dark and {:.0}% lit over the last {PROFILE_DAYS} \
                 days (PV output needs both at least {:.0}%)",
                100.0 * share(dark_slots),
                100.0 * share(lit_slots),
                100.0 * MIN_DARK_SHARE
            ));
        }

        let mut profile = vec![0.0; total];
        let mut dark = vec![false; total];
        let mut ceiling = vec![peak; total];
        for i in 0..total {
            let mut past = earlier(i, PROFILE_DAYS);
            if past.is_empty() {
                continue;
            }
            dark[i] = past.iter().take(DARK_DAYS).all(|v| is_off(*v));
            util::sort_floats(&mut past);
            ceiling[i] = (CEILING_FACTOR * past[past.len() - 1] + 0.02 * peak).min(peak * 1.5);
            profile[i] = if dark[i] {
                0.0
            } else {
                (util::quantile_sorted(&past, PROFILE_QUANTILE) / peak).max(0.0)
            };
        }

        // The irradiance covariate: `ghi`, else the one dark with the plant that follows it.
        let irradiance = covariates
            .iter()
            .position(|c| c.name == crate::covariates::GHI)
            .or_else(|| best_irradiance(y, covariates, &dark));
        let mut clear_irradiance = vec![0.0; total];
        let mut irradiance_peak = 0.0;
        if let Some(c) = irradiance {
            let g = covariates[c].values;
            let g_peak = g[..n]
                .iter()
                .filter(|v| v.is_finite())
                .fold(0.0f64, |a, v| a.max(*v));
            irradiance_peak = g_peak;
            for (i, clear) in clear_irradiance.iter_mut().enumerate() {
                let mut past = same_time_earlier(g, n, per_day, i, PROFILE_DAYS);
                past.iter_mut().for_each(|v| *v = v.max(0.0));
                if past.is_empty() {
                    continue;
                }
                util::sort_floats(&mut past);
                *clear = util::quantile_sorted(&past, PROFILE_QUANTILE);
            }
        }
        let phase = (0..total)
            .map(|i| {
                let (a, b) = timeline.interval(i);
                let mid = (a + b) as f64 / 2.0;
                std::f64::consts::TAU * mid.rem_euclid(86_400.0) / 86_400.0
            })
            .collect();
        Ok(Self {
            profile,
            clear_irradiance,
            dark,
            ceiling,
            phase,
            irradiance,
            irradiance_peak,
        })
    }

    /// The most step `i` can produce, going by the same time of day over the last month: where
    /// the sunrise moves later (autumn), a step lit last week is dark or nearly so now, and
    /// nothing in the features says so.
    pub(crate) fn ceiling(&self, i: usize) -> f64 {
        self.ceiling[i]
    }

    /// The clear-day profile at step `i`, a share of the peak.
    pub(crate) fn profile(&self, i: usize) -> f64 {
        self.profile[i]
    }

    /// Whether step `i` is dark (forecast exactly zero).
    pub(crate) fn is_dark(&self, i: usize) -> bool {
        self.dark[i]
    }

    /// The solar regression's features of step `i` without a location; `None` in the dark or
    /// where a weather value is missing. `irradiance` and `temp_air` are the covariates'
    /// values (history then horizon), `cloud_cover` a fraction used when no irradiance is.
    pub(crate) fn features(
        &self,
        i: usize,
        irradiance: Option<&[f64]>,
        temp_air: Option<&[f64]>,
        cloud_cover: Option<&[f64]>,
    ) -> Option<Vec<f64>> {
        if self.dark[i] {
            return None;
        }
        let prof = self.profile[i];
        let (sin_p, cos_p) = self.phase[i].sin_cos();
        let mut f = match (irradiance, cloud_cover) {
            (Some(g), _) => {
                let g = g[i];
                if !g.is_finite() {
                    return None;
                }
                let g = g.max(0.0);
                let cs = self.clear_irradiance[i];
                let k = if cs > 0.0 {
                    (g / cs).clamp(0.0, 1.5)
                } else {
                    0.0
                };
                // The raw irradiance too, bent through the day: where the profile is poor
                // (a sunrise that moved, a month without a clear day at some hour).
                let gn = g / self.irradiance_peak.max(1e-12);
                vec![
                    prof * k,
                    prof,
                    prof * 4.0 * k.min(1.0) * (1.0 - k.min(1.0)),
                    gn,
                    gn * sin_p,
                    gn * cos_p,
                ]
            }
            (None, Some(c)) => {
                let c = c[i];
                if !c.is_finite() {
                    return None;
                }
                let c = if c > 1.5 { c / 100.0 } else { c }.clamp(0.0, 1.0);
                // Kasten and Czeplak (1980): GHI = clear-sky GHI · (1 − 0.75 c^3.4).
                let k = 1.0 - 0.75 * c.powf(3.4);
                vec![prof * k, prof, prof * k * sin_p, prof * k * cos_p]
            }
            (None, None) => vec![prof, prof * sin_p, prof * cos_p],
        };
        if let Some(t) = temp_air {
            let t = t[i];
            if !t.is_finite() {
                return None;
            }
            f.push(f[0] * (t - 25.0) / 25.0);
        }
        Some(f)
    }
}

/// The covariate read as irradiance when none is named `ghi`: at most 1% of its peak in
/// (nearly) every dark step of the history and correlated with the output by day at least
/// [`MIN_IRRADIANCE_CORRELATION`].
fn best_irradiance(y: &[f64], covariates: &[Covariate<'_>], dark: &[bool]) -> Option<usize> {
    let n = y.len();
    let mut best: Option<(usize, f64)> = None;
    for (k, c) in covariates.iter().enumerate() {
        let peak = c.values[..n]
            .iter()
            .filter(|v| v.is_finite())
            .fold(0.0f64, |a, v| a.max(*v));
        if peak <= 0.0 {
            continue;
        }
        let (mut dark_steps, mut dark_off) = (0usize, 0usize);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for i in 0..n {
            let v = c.values[i];
            if !v.is_finite() || !y[i].is_finite() {
                continue;
            }
            if dark[i] {
                dark_steps += 1;
                if v <= 0.01 * peak {
                    dark_off += 1;
                }
            } else {
                a.push(v);
                b.push(y[i]);
            }
        }
        if dark_steps == 0 || (dark_off as f64) < 0.95 * dark_steps as f64 || a.len() < 10 {
            continue;
        }
        let r = correlation(&a, &b);
        if r >= MIN_IRRADIANCE_CORRELATION && best.is_none_or(|(_, s)| r > s) {
            best = Some((k, r));
        }
    }
    best.map(|(k, _)| k)
}

/// `values` at the time of day of step `i` on up to `days` earlier days of the history (the
/// first `n` steps), most recent first, finite ones only.
fn same_time_earlier(values: &[f64], n: usize, per_day: usize, i: usize, days: usize) -> Vec<f64> {
    // The first step at or after the history's end with `i`'s time of day, or `i` itself.
    let last = i.min(n + (i % per_day + per_day - n % per_day) % per_day);
    let mut out = Vec::with_capacity(days);
    let mut j = last;
    while j >= per_day && out.len() < days {
        j -= per_day;
        if values[j].is_finite() {
            out.push(values[j]);
        }
    }
    out
}

/// Pearson correlation of two equally long samples (0 when either is constant).
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (util::mean(a), util::mean(b));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    if saa <= 0.0 || sbb <= 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}
