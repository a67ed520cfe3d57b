//! Intermittent-demand models as in statsforecast: Croston (classic), SBA, TSB, ADIDA, IMAPA.
//!
//! All forecast a flat line ([`SimpleFit`]). Smoothing constants follow statsforecast's
//! defaults: 0.1 for Croston/SBA, `alpha_d = alpha_p = 0.1` for TSB (statsforecast has no default;
//! 0.1 is the value of its documentation examples), and SES with alpha optimised in `[0.1, 0.3]`
//! on the aggregated series for ADIDA and IMAPA. A history of zeros forecasts zeros.

use crate::{EngineError, ModelKind, baseline::SimpleFit, baseline::check, util};

const ALPHA: f64 = 0.1;

/// Intervals between non-zero observations as statsforecast's `_intervals`: the first is the
/// position (1-based) of the first non-zero value.
fn intervals(y: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    let mut last = 0usize;
    for (i, v) in y.iter().enumerate() {
        if *v != 0.0 {
            out.push((i + 1 - last) as f64);
            last = i + 1;
        }
    }
    out
}

fn flat(kind: ModelKind, level: f64, fitted: Vec<f64>) -> SimpleFit {
    SimpleFit::new(kind, vec![level], 0.0, fitted)
}

/// One-step fitted values of Croston's recursion (NaN before the first demand), scaled by
/// `factor` (0.95 for SBA).
fn croston_fitted(y: &[f64], factor: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(y.len());
    let mut state: Option<(f64, f64)> = None;
    let mut since = 0.0;
    for &v in y {
        out.push(state.map_or(f64::NAN, |(d, i)| factor * d / i));
        since += 1.0;
        if v != 0.0 {
            state = Some(match state {
                None => (v, since),
                Some((d, i)) => (
                    ALPHA * v + (1.0 - ALPHA) * d,
                    ALPHA * since + (1.0 - ALPHA) * i,
                ),
            });
            since = 0.0;
        }
    }
    out
}

fn croston_level(y: &[f64]) -> f64 {
    let demand: Vec<f64> = y.iter().copied().filter(|v| *v != 0.0).collect();
    if demand.is_empty() {
        return 0.0;
    }
    let d = util::ses(&demand, ALPHA, None);
    let i = util::ses(&intervals(y), ALPHA, None);
    if i > 0.0 { d / i } else { 0.0 }
}

/// Croston's classic method: SES (alpha 0.1) of the non-zero demands divided by SES of the
/// intervals between them.
pub fn croston(y: &[f64]) -> Result<SimpleFit, EngineError> {
    check(y, ModelKind::Croston, 1)?;
    Ok(flat(
        ModelKind::Croston,
        croston_level(y),
        croston_fitted(y, 1.0),
    ))
}

/// Syntetos–Boylan approximation: Croston times `1 - alpha/2 = 0.95`.
pub fn sba(y: &[f64]) -> Result<SimpleFit, EngineError> {
    check(y, ModelKind::Sba, 1)?;
    let factor = 1.0 - ALPHA / 2.0;
    Ok(flat(
        ModelKind::Sba,
        factor * croston_level(y),
        croston_fitted(y, factor),
    ))
}

/// Teunter–Syntetos–Babai: SES (`alpha_p`) of the demand occurrence, updated every period,
/// times SES (`alpha_d`) of the non-zero demands.
pub fn tsb(y: &[f64], alpha_d: f64, alpha_p: f64) -> Result<SimpleFit, EngineError> {
    check(y, ModelKind::Tsb, 1)?;
    let (ad, ap) = (alpha_d.clamp(0.0, 1.0), alpha_p.clamp(0.0, 1.0));
    let mut fitted = Vec::with_capacity(y.len());
    let mut p: Option<f64> = None;
    let mut d: Option<f64> = None;
    for &v in y {
        fitted.push(match (p, d) {
            (Some(p), Some(d)) => p * d,
            (Some(_), None) => 0.0,
            _ => f64::NAN,
        });
        let occurred = if v != 0.0 { 1.0 } else { 0.0 };
        p = Some(p.map_or(occurred, |p| ap * occurred + (1.0 - ap) * p));
        if v != 0.0 {
            d = Some(d.map_or(v, |d| ad * v + (1.0 - ad) * d));
        }
    }
    // statsforecast's SES forecast also applies one smoothing step to the first value, which
    // leaves it unchanged, so the running levels are the forecasts.
    let level = match (p, d) {
        (Some(p), Some(d)) => p * d,
        _ => 0.0,
    };
    Ok(flat(ModelKind::Tsb, level, fitted))
}

/// Non-overlapping sums of `chunk` values over the last multiple of `chunk` observations.
fn chunk_sums(y: &[f64], chunk: usize) -> Vec<f64> {
    let cut = &y[y.len() % chunk..];
    cut.chunks_exact(chunk).map(|c| c.iter().sum()).collect()
}

fn aggregated_level(y: &[f64], level: usize) -> f64 {
    let sums = chunk_sums(y, level);
    if sums.is_empty() {
        return util::mean(y);
    }
    util::optimized_ses(&sums, 0.1, 0.3) / level as f64
}

fn mean_interval_rounded(y: &[f64]) -> Option<usize> {
    let iv = intervals(y);
    if iv.is_empty() {
        return None;
    }
    // Python's round() rounds half to even; means of whole numbers rarely sit on .5 exactly.
    let m = util::mean(&iv);
    let r = m.round_ties_even();
    Some((r as usize).clamp(1, y.len()))
}

/// ADIDA: sum over blocks of the mean inter-demand interval, SES with optimised alpha,
/// disaggregated by the block length.
pub fn adida(y: &[f64]) -> Result<SimpleFit, EngineError> {
    check(y, ModelKind::Adida, 1)?;
    let level = mean_interval_rounded(y).map_or(0.0, |k| aggregated_level(y, k));
    Ok(flat(ModelKind::Adida, level, vec![f64::NAN; y.len()]))
}

/// IMAPA: the mean of ADIDA-style forecasts over every aggregation level from 1 to the rounded
/// mean inter-demand interval.
pub fn imapa(y: &[f64]) -> Result<SimpleFit, EngineError> {
    check(y, ModelKind::Imapa, 1)?;
    let level = mean_interval_rounded(y).map_or(0.0, |max_k| {
        (1..=max_k).map(|k| aggregated_level(y, k)).sum::<f64>() / max_k as f64
    });
    Ok(flat(ModelKind::Imapa, level, vec![f64::NAN; y.len()]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FittedModel;

    // Hand-computed with statsforecast's recursions (see the module docs):
    // demand [2,3,1] -> SES 1.99; intervals [2,3,2] -> SES 2.09.
    const Y: [f64; 7] = [0.0, 2.0, 0.0, 0.0, 3.0, 0.0, 1.0];

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn croston_and_sba_match_reference() -> Result<(), EngineError> {
        assert_eq!(intervals(&Y), vec![2.0, 3.0, 2.0]);
        let c = croston(&Y)?.forecast_mean(1)[0];
        assert!(close(c, 1.99 / 2.09), "{c}");
        let s = sba(&Y)?.forecast_mean(1)[0];
        assert!(close(s, 0.95 * 1.99 / 2.09), "{s}");
        Ok(())
    }

    #[test]
    fn tsb_matches_reference() -> Result<(), EngineError> {
        // occurrence SES: 0,0,.1,.09,.081,.1729,.15561 -> forecast .240049; demand 1.99
        let t = tsb(&Y, 0.1, 0.1)?.forecast_mean(1)[0];
        assert!(close(t, 0.240_049 * 1.99), "{t}");
        Ok(())
    }

    #[test]
    fn adida_and_imapa_match_reference() -> Result<(), EngineError> {
        // mean interval 7/3 -> 2; sums of [2,0,0,3,0,1] by 2 = [2,3,1]; SSE = 1 + (1+a)^2 is
        // smallest at the bound a = 0.1: forecast 1.99, per period 0.995.
        let a = adida(&Y)?.forecast_mean(1)[0];
        assert!((a - 0.995).abs() < 1e-6, "{a}");
        // level 1: SES on the raw series with the SSE-optimal alpha in [0.1, 0.3]
        let best = (0..=2000)
            .map(|i| 0.1 + 0.2 * i as f64 / 2000.0)
            .min_by(|a, b| util::ses_sse(&Y, *a).total_cmp(&util::ses_sse(&Y, *b)))
            .map_or(0.1, |a| a);
        let l1 = util::ses(&Y, best, None);
        let i = imapa(&Y)?.forecast_mean(1)[0];
        assert!((i - (l1 + 0.995) / 2.0).abs() < 1e-4, "{i}");
        Ok(())
    }

    #[test]
    fn zeros_forecast_zeros() -> Result<(), EngineError> {
        let z = [0.0; 5];
        for f in [
            croston(&z)?,
            sba(&z)?,
            tsb(&z, 0.1, 0.1)?,
            adida(&z)?,
            imapa(&z)?,
        ] {
            assert_eq!(f.forecast_mean(2), vec![0.0, 0.0]);
        }
        Ok(())
    }
}
