//! Classification of a series: Syntetos–Boylan demand class, zero share, trend and seasonal
//! strength, and the detected season length. The class routes a series to its candidate models.

use horizon_domain::{SeriesClass, SeriesProfile};

use crate::seasonality;

/// ADI cut-off between regular and sporadic demand (Syntetos & Boylan 2005).
pub const ADI_CUTOFF: f64 = 1.32;
/// CV² cut-off between low and high demand-size variability.
pub const CV2_CUTOFF: f64 = 0.49;
/// Seasonal strength above which zeros are taken as part of the cycle rather than as
/// sporadic demand.
pub const SEASONAL_ZEROS_STRENGTH: f64 = 0.6;

/// Measures `y` (missing values, i.e. non-finite ones, are skipped) and classifies it. The
/// detected season length is the shortest of `candidate_periods` passing the 90% ACF test.
/// A series without any non-zero value is intermittent with `adi` equal to its length; an empty
/// one is smooth with every feature zero.
pub fn classify(y: &[f64], candidate_periods: &[usize]) -> SeriesProfile {
    let finite: Vec<f64> = y.iter().copied().filter(|v| v.is_finite()).collect();
    let n = finite.len();
    let (mut count, mut sum, mut sum2) = (0usize, 0.0f64, 0.0f64);
    // Scale by the largest magnitude so squares of huge values do not overflow.
    let scale = finite.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let scale = if scale > 0.0 && scale.is_finite() {
        scale
    } else {
        1.0
    };
    for v in &finite {
        if *v != 0.0 {
            let s = v / scale;
            count += 1;
            sum += s;
            sum2 += s * s;
        }
    }
    let zero_share = if n == 0 {
        0.0
    } else {
        (n - count) as f64 / n as f64
    };
    let adi = if count == 0 {
        n as f64
    } else {
        n as f64 / count as f64
    };
    let cv2 = if count < 2 {
        0.0
    } else {
        let mean = sum / count as f64;
        let var = (sum2 / count as f64 - mean * mean).max(0.0);
        if mean != 0.0 {
            var / (mean * mean)
        } else {
            0.0
        }
    };
    let scaled: Vec<f64> = finite.iter().map(|v| v / scale).collect();
    let season_length = seasonality::detect_periods(&scaled, candidate_periods)
        .first()
        .copied();
    let (trend_strength, seasonal_strength) = seasonality::strengths(&scaled, season_length);
    // Zeros that come back at the same phase of a strong cycle (solar output at night, a shop
    // closed on Sundays) are structure, not sporadic demand: such a series is routed to the
    // seasonal models, not to Croston and friends.
    let seasonal_zeros = season_length.is_some() && seasonal_strength >= SEASONAL_ZEROS_STRENGTH;
    let sporadic = n > 0 && (count == 0 || adi >= ADI_CUTOFF) && !seasonal_zeros;
    let class = match (sporadic, cv2 >= CV2_CUTOFF) {
        (false, false) => SeriesClass::Smooth,
        (false, true) => SeriesClass::Erratic,
        (true, false) => SeriesClass::Intermittent,
        (true, true) => SeriesClass::Lumpy,
    };
    let clean = |v: f64| {
        if v.is_finite() {
            v.clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    SeriesProfile {
        class,
        adi,
        cv2,
        zero_share,
        length: n,
        trend_strength: clean(trend_strength),
        seasonal_strength: if season_length.is_some() {
            clean(seasonal_strength)
        } else {
            0.0
        },
        season_length,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntetos_boylan_classes() {
        let smooth: Vec<f64> = (0..40).map(|t| 10.0 + (t % 3) as f64).collect();
        assert_eq!(classify(&smooth, &[]).class, SeriesClass::Smooth);
        let erratic: Vec<f64> = (0..40)
            .map(|t| if t % 2 == 0 { 1.0 } else { 9.0 })
            .collect();
        assert_eq!(classify(&erratic, &[]).class, SeriesClass::Erratic);
        let intermittent: Vec<f64> = (0..40)
            .map(|t| if t % 3 == 0 { 5.0 } else { 0.0 })
            .collect();
        let p = classify(&intermittent, &[]);
        assert_eq!(p.class, SeriesClass::Intermittent);
        assert!((p.adi - 40.0 / 14.0).abs() < 1e-12);
        assert!((p.zero_share - 26.0 / 40.0).abs() < 1e-12);
        let lumpy: Vec<f64> = (0..40)
            .map(|t| match t % 6 {
                0 => 1.0,
                3 => 20.0,
                _ => 0.0,
            })
            .collect();
        assert_eq!(classify(&lumpy, &[]).class, SeriesClass::Lumpy);
        assert_eq!(classify(&[0.0; 10], &[]).class, SeriesClass::Intermittent);
        assert_eq!(classify(&[], &[]).length, 0);
    }

    #[test]
    fn zeros_at_the_same_phase_of_a_strong_cycle_are_not_intermittent() {
        // Hourly solar-like output: zero at night, a hump by day, for three weeks.
        let y: Vec<f64> = (0..24 * 21)
            .map(|t| {
                let h = (t % 24) as f64;
                if (6.0..=18.0).contains(&h) {
                    10.0 * (std::f64::consts::PI * (h - 6.0) / 12.0).sin()
                        * (1.0 + 0.05 * ((t / 24) % 3) as f64)
                } else {
                    0.0
                }
            })
            .collect();
        let p = classify(&y, &[24, 168]);
        assert!(p.zero_share > 0.4, "{p:?}");
        assert_eq!(p.season_length, Some(24));
        assert!(!p.class.is_sporadic(), "{p:?}");
        // the same values without the cycle test stay intermittent
        assert!(classify(&y, &[]).class.is_sporadic());
    }

    #[test]
    fn detects_season() {
        let y: Vec<f64> = (0..60)
            .map(|t| 100.0 + [5.0, -3.0, 8.0, -10.0][t % 4] + 0.1 * t as f64)
            .collect();
        let p = classify(&y, &[4]);
        assert_eq!(p.season_length, Some(4));
        assert!(p.seasonal_strength > 0.5);
        let huge: Vec<f64> = y.iter().map(|v| v * 1e300).collect();
        assert_eq!(classify(&huge, &[4]).season_length, Some(4));
    }
}
