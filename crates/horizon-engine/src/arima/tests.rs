//! AutoARIMA against R's `forecast::auto.arima` on R's own datasets (`tests_data.rs`, written
//! by `bench/accuracy/arima_reference.R`), and the building blocks on known cases.

use super::estimate::{expand_ar, expand_ma, pacf_to_ar, roots_outside};
use super::tests_data::REFERENCES;
use super::*;

#[test]
fn partial_autocorrelations_map_to_stationary_coefficients_and_back_through_the_root_test() {
    // AR(1) with φ = 0.5; AR(2) from the PACF (0.5, 0.3): φ2 = 0.3, φ1 = 0.5 − 0.3·0.5.
    assert_eq!(pacf_to_ar(&[0.5]), vec![0.5]);
    let a = pacf_to_ar(&[0.5, 0.3]);
    assert!(
        (a[0] - 0.35).abs() < 1e-12 && (a[1] - 0.3).abs() < 1e-12,
        "{a:?}"
    );
    assert!(roots_outside(&a, 1.0));
    // 1 − 1.2z + 0.2z² = (1 − z)(1 − 0.2z): a unit root.
    assert!(!roots_outside(&[1.2, -0.2], 1.0));
    // 1 − 0.99z: root 1.0101 is outside 1 but inside the 1.01 margin? 1/0.99 = 1.0101 > 1.01.
    assert!(roots_outside(&[0.99], 1.01));
    assert!(!roots_outside(&[0.995], 1.01));
}

#[test]
fn seasonal_factors_multiply_out() {
    // (1 − 0.5B)(1 − 0.4B⁴) = 1 − 0.5B − 0.4B⁴ + 0.2B⁵.
    assert_eq!(expand_ar(&[0.5], &[0.4], 4), vec![0.5, 0.0, 0.0, 0.4, -0.2]);
    // (1 + 0.5B)(1 + 0.4B⁴) = 1 + 0.5B + 0.4B⁴ + 0.2B⁵.
    assert_eq!(expand_ma(&[0.5], &[0.4], 4), vec![0.5, 0.0, 0.0, 0.4, 0.2]);
}

#[test]
fn kpss_tells_a_random_walk_from_noise() {
    // A deterministic pseudo-random sequence: noise, and its running sum.
    let mut s = 12345u64;
    let noise: Vec<f64> = (0..200)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        })
        .collect();
    let walk: Vec<f64> = noise
        .iter()
        .scan(0.0, |acc, v| {
            *acc += v;
            Some(*acc)
        })
        .collect();
    assert!(kpss_statistic(&noise) < search::KPSS_CRITICAL_5PCT);
    assert!(kpss_statistic(&walk) > search::KPSS_CRITICAL_5PCT);
    assert_eq!(ndiffs(&noise), 0);
    assert_eq!(ndiffs(&walk), 1);
}

/// How far a forecast is from R's, relative to R's 95% half-width at the same step.
fn worst_gap(ours: &[f64], r: &super::tests_data::Reference) -> f64 {
    ours.iter()
        .zip(r.mean)
        .zip(r.upper95.iter().zip(r.lower95))
        .map(|((a, b), (u, l))| (a - b).abs() / ((u - l) / 2.0))
        .fold(0.0, f64::max)
}

#[test]
fn the_search_matches_r_on_rs_datasets() {
    let mut agree = 0;
    let mut report = String::new();
    for r in REFERENCES {
        let fit = fit_auto(r.y, Some(r.m)).unwrap_or_else(|e| panic!("{}: {e}", r.name));
        let o = fit.order();
        let ours = [o.p, o.d, o.q, o.sp, o.sd, o.sq];
        let h = r.mean.len();
        let mean = fit.forecast_mean(h);
        let gap = worst_gap(&mean, r);
        let levels = QuantileLevels::new(vec![0.025, 0.975]).unwrap();
        let q = fit.forecast_quantiles(h, &levels).unwrap();
        let width_ratio = (q[1][h - 1] - q[0][h - 1]) / (r.upper95[h - 1] - r.lower95[h - 1]);
        report.push_str(&format!(
            "{:<20} Fs {:.3} R {:?}{} ours {:?}{} gap {:.3} width {:.3}\n",
            r.name,
            seasonal_strength(r.y, r.m),
            r.order,
            if r.constant { "+c" } else { "" },
            ours,
            if o.constant { "+c" } else { "" },
            gap,
            width_ratio
        ));
        if ours == r.order
            && o.constant == r.constant
            && gap < 0.05
            && (width_ratio - 1.0).abs() < 0.03
        {
            agree += 1;
        }
    }
    eprintln!("{report}");
    // Every series: R's orders and constant, the mean within 5% of R's 95% half-width at every
    // step, the last step's 95% width within 3% of R's.
    assert_eq!(agree, REFERENCES.len(), "{report}");
}
