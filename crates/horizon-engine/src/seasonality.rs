//! Seasonality: the M4 "Naive2" autocorrelation test for a seasonal period, classical
//! decomposition indices (as R's `decompose`), and trend/seasonal strengths.
//!
//! Series are indexed from their first value: seasonal index `i` belongs to the observations at
//! positions `t` with `t % m == i`.

/// One-sided 90% normal quantile used by the M4 seasonality test.
const Z90: f64 = 1.645;

/// Autocorrelations at lags `1..=max_lag` (the usual biased estimator, as R's `acf`). Returns
/// `None` when the series is too short or has no variance.
fn acf(y: &[f64], max_lag: usize) -> Option<Vec<f64>> {
    let n = y.len();
    if n < 2 || max_lag >= n {
        return None;
    }
    let mean = y.iter().sum::<f64>() / n as f64;
    let denom: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    if !(denom.is_finite() && denom > 0.0) {
        return None;
    }
    if n.saturating_mul(max_lag) > FFT_WORK {
        return acf_fft(y, mean, denom, max_lag);
    }
    let out = (1..=max_lag)
        .map(|k| {
            let num: f64 = (k..n).map(|t| (y[t] - mean) * (y[t - k] - mean)).sum();
            num / denom
        })
        .collect();
    Some(out)
}

/// Above this many multiply-adds (values × lags) the autocorrelations come from a real FFT,
/// `O(n log n)` for all lags at once, instead of the direct sums, `O(n · lags)`: a weekly lag
/// of 15-minute data is 672 lags. Below it the direct sums are cheaper.
const FFT_WORK: usize = 250_000;

/// [`acf`] by the Wiener–Khinchin route: the inverse transform of the power spectrum of the
/// centred series, zero-padded to avoid wrap-around, is the autocovariance at every lag.
fn acf_fft(y: &[f64], mean: f64, denom: f64, max_lag: usize) -> Option<Vec<f64>> {
    use realfft::{RealFftPlanner, num_complex::Complex};
    let len = (2 * y.len()).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(len);
    let inverse = planner.plan_fft_inverse(len);
    let mut buf = vec![0.0; len];
    for (b, v) in buf.iter_mut().zip(y) {
        *b = v - mean;
    }
    let mut spectrum = forward.make_output_vec();
    forward.process(&mut buf, &mut spectrum).ok()?;
    for c in spectrum.iter_mut() {
        *c = Complex::new(c.norm_sqr(), 0.0);
    }
    let mut cov = inverse.make_output_vec();
    inverse.process(&mut spectrum, &mut cov).ok()?;
    // The unnormalised inverse scales by `len`.
    let norm = len as f64 * denom;
    Some(cov[1..=max_lag].iter().map(|c| c / norm).collect())
}

/// The ACF test alone, without a length rule: `|acf_m| > 1.645 sqrt((1 + 2 sum_{k<m} acf_k^2)/n)`.
pub(crate) fn acf_test(y: &[f64], m: usize) -> bool {
    if m < 2 || y.iter().any(|v| !v.is_finite()) {
        return false;
    }
    let Some(r) = acf(y, m) else {
        return false;
    };
    let s: f64 = r[..m - 1].iter().map(|v| v * v).sum();
    let limit = Z90 * ((1.0 + 2.0 * s) / y.len() as f64).sqrt();
    r[m - 1].abs() > limit
}

/// Seasonal period detection: the M4 "Naive2" 90% ACF test. Returns true when the lag-m
/// autocorrelation is significant: `|acf_m| > 1.645 * sqrt((1 + 2*sum_{k<m} acf_k^2)/n)`.
/// Requires `n >= 3*m` and `m >= 2`; false for series with non-finite values or no variance.
pub fn is_seasonal(y: &[f64], m: usize) -> bool {
    m >= 2 && y.len() >= 3 * m && acf_test(y, m)
}

/// Seasonal strength ([`strengths`]) a cycle longer than one already kept must show on the
/// series adjusted for the kept ones. The ACF test alone cannot tell a weekly cycle from a
/// daily one: lag 168 of an hourly series is a multiple of 24, so any daily cycle passes it.
/// Per-phase means over K cycles of pure noise give a strength near 1/(K+1) (0.14 for the six
/// weeks of a 1,008-hour history); 0.5 sits well above that. Chosen on the high-frequency
/// development set (`bench/accuracy`, dataset `hf`, hourly subset, cycle 168 after 24): half-hourly
/// demand (`taylor`, averaged to hours) 0.98–0.99, hourly air temperatures of two cities
/// 0.01–0.08, hourly PV output 0.10–0.44; keeping the weekly cycle took the temperatures'
/// MSTL from OWA 0.4 to 1.1–1.4 and dropping it took `taylor`'s from 0.12 to 1.34.
pub const LONGER_CYCLE_STRENGTH: f64 = 0.5;

/// Among candidate periods (from the frequency, e.g. `[12]` or `[96, 672]`) the ones that pass
/// [`is_seasonal`], shortest first, without duplicates; each one after the first must also
/// show a seasonal strength of at least [`LONGER_CYCLE_STRENGTH`] once the shorter kept cycles
/// are taken out (classical additive decomposition).
pub fn detect_periods(y: &[f64], candidates: &[usize]) -> Vec<usize> {
    let mut c: Vec<usize> = candidates.to_vec();
    c.sort_unstable();
    c.dedup();
    let mut kept: Vec<usize> = Vec::new();
    let mut adjusted: Option<Vec<f64>> = None;
    for m in c.into_iter().filter(|m| is_seasonal(y, *m)) {
        let series = adjusted.as_deref().unwrap_or(y);
        if !kept.is_empty() && strengths(series, Some(m)).1 < LONGER_CYCLE_STRENGTH {
            continue;
        }
        if let Some(idx) = additive_indices(series, m) {
            let next: Vec<f64> = series
                .iter()
                .enumerate()
                .map(|(t, v)| v - idx[t % m])
                .collect();
            adjusted = Some(next);
        }
        kept.push(m);
    }
    kept
}

/// Centred moving average of order `m` (a 2×m MA when `m` is even), NaN where undefined, as R's
/// `decompose` uses for the trend.
pub(crate) fn centred_ma(y: &[f64], m: usize) -> Vec<f64> {
    let n = y.len();
    let mut out = vec![f64::NAN; n];
    if m == 0 || n < m + 1 {
        return out;
    }
    let half = m / 2;
    if m % 2 == 1 {
        for (t, o) in out.iter_mut().enumerate().take(n - half).skip(half) {
            *o = y[t - half..=t + half].iter().sum::<f64>() / m as f64;
        }
    } else {
        for (t, o) in out.iter_mut().enumerate().take(n - half).skip(half) {
            let inner: f64 = y[t + 1 - half..t + half].iter().sum();
            *o = (0.5 * y[t - half] + inner + 0.5 * y[t + half]) / m as f64;
        }
    }
    out
}

/// Classical decomposition figure: per-position means of the detrended values, normalised.
fn classical_indices(y: &[f64], m: usize, multiplicative: bool) -> Option<Vec<f64>> {
    let n = y.len();
    if m < 2 || n <= 2 * m || y.iter().any(|v| !v.is_finite()) {
        return None;
    }
    if multiplicative && y.iter().any(|v| *v <= 0.0) {
        return None;
    }
    let trend = centred_ma(y, m);
    let mut sums = vec![0.0; m];
    let mut counts = vec![0usize; m];
    for t in 0..n {
        if trend[t].is_finite() {
            let d = if multiplicative {
                y[t] / trend[t]
            } else {
                y[t] - trend[t]
            };
            if d.is_finite() {
                sums[t % m] += d;
                counts[t % m] += 1;
            }
        }
    }
    if counts.contains(&0) {
        return None;
    }
    let mut fig: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, c)| s / *c as f64)
        .collect();
    let mean = fig.iter().sum::<f64>() / m as f64;
    if multiplicative {
        if !(mean.is_finite() && mean > 0.0) {
            return None;
        }
        fig.iter_mut().for_each(|v| *v /= mean);
    } else {
        fig.iter_mut().for_each(|v| *v -= mean);
    }
    fig.iter().all(|v| v.is_finite()).then_some(fig)
}

/// Classical multiplicative decomposition seasonal indices (length `m`, mean 1), as R's
/// `decompose(type = "multiplicative")` / M4 Naive2. `None` when any value is `<= 0` or not
/// finite, `m < 2`, or there are not more than two full periods.
pub fn multiplicative_indices(y: &[f64], m: usize) -> Option<Vec<f64>> {
    classical_indices(y, m, true)
}

/// Classical additive decomposition seasonal indices (length `m`, sum 0), as R's
/// `decompose(type = "additive")`. `None` under the same conditions as
/// [`multiplicative_indices`] except positivity.
pub fn additive_indices(y: &[f64], m: usize) -> Option<Vec<f64>> {
    classical_indices(y, m, false)
}

fn variance(v: &[f64]) -> f64 {
    let n = v.len();
    if n < 2 {
        return 0.0;
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64
}

/// Strength of trend and of seasonality in `[0, 1]` (Wang, Smith & Hyndman 2006):
/// `F_T = max(0, 1 - var(R)/var(T+R))`, `F_S = max(0, 1 - var(R)/var(S+R))`, from a classical
/// additive decomposition with period `m` (more than two full periods needed), or, without a
/// usable `m`, from a centred moving-average trend (odd window about `n/10`, 3 to 25).
/// Seasonality is 0 when `m` is `None` or unusable; both are 0 on degenerate input.
pub fn strengths(y: &[f64], m: Option<usize>) -> (f64, f64) {
    let n = y.len();
    if n < 4 || y.iter().any(|v| !v.is_finite()) {
        return (0.0, 0.0);
    }
    let season = m.and_then(|m| additive_indices(y, m).map(|idx| (m, idx)));
    let trend = match &season {
        Some((m, _)) => centred_ma(y, *m),
        None => {
            let w = ((n / 10) | 1).clamp(3, 25);
            if n < w + 1 {
                return (0.0, 0.0);
            }
            centred_ma(y, w)
        }
    };
    let mut tr = Vec::with_capacity(n);
    let mut sr = Vec::with_capacity(n);
    let mut r = Vec::with_capacity(n);
    for t in 0..n {
        if !trend[t].is_finite() {
            continue;
        }
        let s = season.as_ref().map_or(0.0, |(m, idx)| idx[t % m]);
        let rem = y[t] - trend[t] - s;
        r.push(rem);
        tr.push(trend[t] + rem);
        sr.push(s + rem);
    }
    if r.len() < 3 {
        return (0.0, 0.0);
    }
    let vr = variance(&r);
    let strength = |v: f64| {
        if v > 0.0 && v.is_finite() {
            (1.0 - vr / v).clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    let ft = strength(variance(&tr));
    let fs = if season.is_some() {
        strength(variance(&sr))
    } else {
        0.0
    };
    (ft, fs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ets::tests_data::AIR_PASSENGERS;

    #[test]
    fn fft_and_direct_autocorrelations_agree() {
        let y: Vec<f64> = (0..3_000)
            .map(|t| {
                ((t % 96) as f64 / 96.0 * std::f64::consts::TAU).sin()
                    + ((t * 7919) % 101) as f64 / 100.0
            })
            .collect();
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        let denom: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
        let fast = acf_fft(&y, mean, denom, 700).expect("fft");
        for k in [1usize, 2, 95, 96, 97, 672, 700] {
            let direct: f64 = (k..y.len())
                .map(|t| (y[t] - mean) * (y[t - k] - mean))
                .sum::<f64>()
                / denom;
            assert!(
                (fast[k - 1] - direct).abs() < 1e-9,
                "lag {k}: {} vs {direct}",
                fast[k - 1]
            );
        }
    }

    #[test]
    fn air_passengers_is_seasonal_at_12() {
        assert!(is_seasonal(&AIR_PASSENGERS, 12));
        assert!(detect_periods(&AIR_PASSENGERS, &[12, 12, 4]).ends_with(&[12]));
        assert!(!is_seasonal(&AIR_PASSENGERS[..30], 12)); // shorter than 3 periods
    }

    #[test]
    fn multiplicative_indices_match_r_decompose() {
        // R: decompose(AirPassengers, "multiplicative")$figure
        let r = [
            0.9102304, 0.8836253, 1.0073663, 0.9759060, 0.9813780, 1.1127758, 1.2265555, 1.2199110,
            1.0604919, 0.9217572, 0.8011781, 0.8988244,
        ];
        let Some(idx) = multiplicative_indices(&AIR_PASSENGERS, 12) else {
            panic!("no indices");
        };
        for (a, b) in idx.iter().zip(r) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        let mean = idx.iter().sum::<f64>() / 12.0;
        assert!((mean - 1.0).abs() < 1e-12);
        let Some(add) = additive_indices(&AIR_PASSENGERS, 12) else {
            panic!("no additive indices");
        };
        assert!(add.iter().sum::<f64>().abs() < 1e-9);
    }

    #[test]
    fn degenerate_inputs() {
        assert!(!is_seasonal(&[], 12));
        assert!(!is_seasonal(&[1.0; 100], 12));
        assert!(!is_seasonal(&[f64::NAN; 100], 12));
        assert!(!is_seasonal(&[1.0; 100], 0));
        assert!(multiplicative_indices(&[1.0, 0.0, 2.0, 3.0, 1.0, 2.0, 3.0], 2).is_none());
        assert!(multiplicative_indices(&[1.0; 3], 12).is_none());
        assert_eq!(strengths(&[], Some(12)), (0.0, 0.0));
        assert_eq!(strengths(&[5.0; 50], Some(12)), (0.0, 0.0));
        assert_eq!(strengths(&[1.0, f64::NAN, 2.0, 3.0, 4.0], None), (0.0, 0.0));
    }

    #[test]
    fn strengths_are_sensible() {
        let (ft, fs) = strengths(&AIR_PASSENGERS, Some(12));
        assert!(ft > 0.9 && fs > 0.6, "{ft} {fs}");
        let (_, fs0) = strengths(&AIR_PASSENGERS, None);
        assert_eq!(fs0, 0.0);
        // White-noise-like: weak trend.
        let noise: Vec<f64> = (0..200)
            .map(|i| ((i as f64 * 12.9898).sin() * 43758.5453).fract())
            .collect();
        let (ft, _) = strengths(&noise, None);
        assert!(ft < 0.5, "{ft}");
    }
}
