//! Laying a covariate on a target's steps (history then horizon), whatever its resolution:
//! - a covariate at the **same** resolution gives each step its own stamp's value;
//! - a covariate **finer** than the target (shorter median step) is averaged over the target
//!   step's interval (the label says which end of it a stamp names);
//! - a covariate **coarser** than the target is interpolated linearly between the centres of
//!   its intervals (irradiance, temperature, prices: quantities that change smoothly), except a
//!   column whose values are all 0 or 1 (a flag: promotion, holiday), which is held at the
//!   value of the interval the step falls in; coarser irradiance goes through the clear-sky
//!   index ([`align_irradiance`]);
//! - a step no rule reaches is missing (NaN): allowed in the history, an error of the engine
//!   naming the covariate and step inside the horizon.
//!
//! Pure functions of `(stamp, value)` points and target stamps (Unix seconds), shared by the
//! batch CLI and the pipeline.

use std::collections::HashMap;

use horizon_domain::{IntervalLabel, SeriesAttributes};

/// The median gap between consecutive stamps, seconds.
pub fn median_step(points: &[(i64, f64)]) -> Option<i64> {
    let mut gaps: Vec<i64> = points
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .filter(|g| *g > 0)
        .collect();
    gaps.sort_unstable();
    gaps.get(gaps.len() / 2).copied()
}

/// The centre of the interval a stamp names.
fn centre(t: i64, step: i64, label: IntervalLabel) -> f64 {
    match label {
        IntervalLabel::End => t as f64 - step as f64 / 2.0,
        IntervalLabel::Start => t as f64 + step as f64 / 2.0,
    }
}

/// `points` laid on `stamps` (target step `step` seconds), see the module docs.
pub fn align(
    points: &[(i64, f64)],
    stamps: &[i64],
    step: i64,
    label: IntervalLabel,
    held: bool,
) -> Vec<f64> {
    let Some(cstep) = median_step(points) else {
        // One point: only its own stamp.
        return stamps
            .iter()
            .map(|t| points.iter().find(|p| p.0 == *t).map_or(f64::NAN, |p| p.1))
            .collect();
    };
    let exact: HashMap<i64, f64> = points.iter().copied().collect();
    let centres: Vec<f64> = points.iter().map(|p| centre(p.0, cstep, label)).collect();
    stamps
        .iter()
        .map(|&t| {
            // The same resolution: the stamp's own value. A coarser or finer value at the
            // same stamp covers another interval, so it goes through the rules below.
            if cstep == step
                && let Some(v) = exact.get(&t)
            {
                return *v;
            }
            if cstep < step {
                // Finer: the mean over the target's interval.
                let (lo, hi) = match label {
                    IntervalLabel::End => (t - step, t),
                    IntervalLabel::Start => (t, t + step),
                };
                let inside = |p: &&(i64, f64)| match label {
                    IntervalLabel::End => p.0 > lo && p.0 <= hi,
                    IntervalLabel::Start => p.0 >= lo && p.0 < hi,
                };
                let start = points.partition_point(|p| p.0 < lo);
                let vals: Vec<f64> = points[start..]
                    .iter()
                    .take_while(|p| p.0 <= hi)
                    .filter(inside)
                    .map(|p| p.1)
                    .collect();
                // At least half the interval must be covered.
                if vals.is_empty() || (vals.len() as i64) * cstep * 2 < step {
                    return f64::NAN;
                }
                return vals.iter().sum::<f64>() / vals.len() as f64;
            }
            let c = centre(t, step, label);
            let j = centres.partition_point(|x| *x < c);
            if held {
                // The covariate interval holding the step's centre.
                let k = centres.partition_point(|x| *x - cstep as f64 / 2.0 <= c);
                return match k.checked_sub(1) {
                    Some(k) if (c - centres[k]).abs() <= cstep as f64 / 2.0 + 0.5 => points[k].1,
                    _ => f64::NAN,
                };
            }
            if j == 0 || j >= centres.len() {
                // Outside the covariate's span: half a covariate step of slack at either end.
                let k = if j == 0 { 0 } else { centres.len() - 1 };
                return if (c - centres[k]).abs() <= cstep as f64 / 2.0 + 0.5 {
                    points[k].1
                } else {
                    f64::NAN
                };
            }
            let (a, b) = (j - 1, j);
            let gap = centres[b] - centres[a];
            if gap > 2.0 * cstep as f64 {
                return f64::NAN; // a hole in the covariate: no guessing across it
            }
            let w = (c - centres[a]) / gap;
            points[a].1 + w * (points[b].1 - points[a].1)
        })
        .collect()
}

/// Whether a column is a 0/1 flag (held, not interpolated).
pub fn is_flag(points: &[(i64, f64)]) -> bool {
    !points.is_empty() && points.iter().all(|p| p.1 == 0.0 || p.1 == 1.0)
}

/// Lowest clear-sky GHI (W/m²) at which a clear-sky index is read off a coarse irradiance
/// value; below it (dawn, dusk) the index is too noisy to carry.
const MIN_CLEAR_GHI: f64 = 20.0;
/// Furthest (seconds) a clear-sky index is carried to a step without one of its own on both
/// sides (the first and last light of a day).
const MAX_INDEX_CARRY: f64 = 3.0 * 3600.0;

/// Irradiance coarser than the target, laid on its steps through the clear-sky index: the
/// index `k = GHI / clear-sky GHI` of each coarse interval is interpolated between interval
/// centres and multiplied by the target step's own clear-sky GHI. Interpolating the GHI
/// itself would smear the sunrise of an hourly mean over the dark part of the hour and miss
/// the shape of the day within it. Finer or same-resolution irradiance goes through
/// [`align`].
pub fn align_irradiance(
    points: &[(i64, f64)],
    stamps: &[i64],
    step: i64,
    label: IntervalLabel,
    attributes: &SeriesAttributes,
) -> Vec<f64> {
    use crate::{Timeline, solar};
    let Some(cstep) = median_step(points) else {
        return align(points, stamps, step, label, false);
    };
    if cstep <= step || attributes.location.is_none() {
        return align(points, stamps, step, label, false);
    }
    let clear = |t: i64, len: i64| -> Option<f64> {
        let start = chrono::DateTime::from_timestamp(t, 0)?;
        let line = Timeline {
            start,
            step_seconds: len,
            label,
        };
        solar::sun_steps(attributes, &line, 1).and_then(|s| s.first().map(|x| x.clear_ghi))
    };
    // (centre, k) of the coarse intervals with enough sun.
    let index: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|(t, v)| {
            let cs = clear(*t, cstep)?;
            (cs >= MIN_CLEAR_GHI).then(|| (centre(*t, cstep, label), (v / cs).clamp(0.0, 1.5)))
        })
        .collect();
    let (first, last) = match (points.first(), points.last()) {
        (Some(a), Some(b)) => (a.0 - cstep, b.0 + cstep),
        _ => return vec![f64::NAN; stamps.len()],
    };
    stamps
        .iter()
        .map(|&t| {
            if t < first || t > last {
                return f64::NAN;
            }
            let Some(cs) = clear(t, step) else {
                return f64::NAN;
            };
            if cs <= 0.0 {
                return 0.0;
            }
            let c = centre(t, step, label);
            let j = index.partition_point(|x| x.0 < c);
            let before = j.checked_sub(1).map(|i| index[i]);
            let after = index.get(j).copied();
            let k = match (before, after) {
                (Some(a), Some(b)) if b.0 - a.0 <= 2.0 * cstep as f64 => {
                    a.1 + (c - a.0) / (b.0 - a.0) * (b.1 - a.1)
                }
                (Some(a), Some(b)) => {
                    // A night (or a hole) between them: the nearer one, if near enough.
                    let near = if c - a.0 <= b.0 - c { a } else { b };
                    if (c - near.0).abs() <= MAX_INDEX_CARRY {
                        near.1
                    } else {
                        return f64::NAN;
                    }
                }
                (Some(n), None) | (None, Some(n)) if (c - n.0).abs() <= MAX_INDEX_CARRY => n.1,
                _ => return f64::NAN,
            };
            k * cs
        })
        .collect()
}
