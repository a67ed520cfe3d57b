//! Small numeric helpers shared by the models and the ensemble (crate-private).

/// Mean of `x`; 0 for an empty slice.
pub(crate) fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        0.0
    } else {
        x.iter().sum::<f64>() / x.len() as f64
    }
}

/// Population variance of `x`; 0 for fewer than two values.
pub(crate) fn variance(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.len() as f64
}

/// Minimum and maximum of the finite values of `x`, or `None` when there are none.
pub(crate) fn finite_range(x: &[f64]) -> Option<(f64, f64)> {
    x.iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, &v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Linear-interpolated quantile of an ascending `sorted` slice at `p` in `[0, 1]` (type 7).
pub(crate) fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = p.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            let frac = pos - lo as f64;
            sorted[lo] + (sorted[hi] - sorted[lo]) * frac
        }
    }
}

/// The standard normal quantile function (Acklam's rational approximation, relative error
/// below 1.2e-9).
pub(crate) fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let plow = 0.02425;
    if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        horner(&C, q) / (horner(&D, q) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        horner(&A, r) * q / (horner(&B, r) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -horner(&C, q) / (horner(&D, q) * q + 1.0)
    }
}

/// `((c[0]·x + c[1])·x + …)·x + c[n−1]`, the same operations as the nested form written out
/// (kept as a loop: deeply nested arithmetic makes rustfmt take tens of seconds).
fn horner(c: &[f64], x: f64) -> f64 {
    c[1..].iter().fold(c[0], |acc, k| acc * x + k)
}

/// The standard normal distribution function.
pub(crate) fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
pub(crate) fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    // Innermost coefficient first: `k + t·(…)` from the inside out.
    const K: [f64; 8] = [
        -0.822_152_23,
        1.488_515_87,
        -1.135_203_98,
        0.278_868_07,
        -0.186_288_06,
        0.096_784_18,
        0.374_091_96,
        1.000_023_68,
    ];
    let poly = K.iter().fold(0.170_872_77, |acc, k| k + t * acc);
    let r = t * (-z * z - 1.265_512_23 + t * poly).exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Sorts `v` ascending in place, treating NaN as largest (never panics).
pub(crate) fn sort_floats(v: &mut [f64]) {
    v.sort_by(f64::total_cmp);
}

/// Simple exponential smoothing as statsforecast's `_ses_forecast`: returns the one-step
/// forecast after the last value and writes one-step fitted values into `fitted` (NaN first).
pub(crate) fn ses(x: &[f64], alpha: f64, fitted: Option<&mut Vec<f64>>) -> f64 {
    let Some(&first) = x.first() else {
        return f64::NAN;
    };
    let mut level = first;
    if let Some(f) = fitted {
        f.clear();
        f.push(f64::NAN);
        for w in x.windows(2) {
            level = alpha * w[0] + (1.0 - alpha) * level;
            f.push(level);
        }
        // `level` is now the forecast for the last value; one more update gives the next one.
        if x.len() > 1 {
            return alpha * x[x.len() - 1] + (1.0 - alpha) * level;
        }
        return alpha * first + (1.0 - alpha) * first;
    }
    for &v in &x[..x.len() - 1] {
        level = alpha * v + (1.0 - alpha) * level;
    }
    alpha * x[x.len() - 1] + (1.0 - alpha) * level
}

/// Sum of squared one-step errors of SES with `alpha` (statsforecast's `_ses_sse`).
pub(crate) fn ses_sse(x: &[f64], alpha: f64) -> f64 {
    let Some(&first) = x.first() else {
        return 0.0;
    };
    let mut forecast = first;
    let mut sse = 0.0;
    for w in x.windows(2) {
        forecast = alpha * w[0] + (1.0 - alpha) * forecast;
        sse += (w[1] - forecast) * (w[1] - forecast);
    }
    sse
}

/// SES with alpha chosen in `[lo, hi]` by golden-section search on the SSE, as statsforecast's
/// `_optimized_ses_forecast` (which uses L-BFGS-B on the same bounds). Returns the forecast.
pub(crate) fn optimized_ses(x: &[f64], lo: f64, hi: f64) -> f64 {
    let phi = 0.618_033_988_749_895;
    let (mut a, mut b) = (lo, hi);
    let mut c = b - phi * (b - a);
    let mut d = a + phi * (b - a);
    let (mut fc, mut fd) = (ses_sse(x, c), ses_sse(x, d));
    for _ in 0..40 {
        if fc <= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - phi * (b - a);
            fc = ses_sse(x, c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + phi * (b - a);
            fd = ses_sse(x, d);
        }
    }
    let alpha = 0.5 * (a + b);
    ses(x, alpha, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_known_values() {
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-6);
        assert!((normal_quantile(0.5)).abs() < 1e-9);
        assert!((normal_quantile(0.1) + 1.281_551_566).abs() < 1e-6);
        assert!((normal_cdf(1.959_963_985) - 0.975).abs() < 1e-6);
    }

    #[test]
    fn ses_matches_recursion() {
        // level0 = 1; fitted[1] = .5*1+.5*1 = 1; fitted[2] = .5*3+.5*1 = 2; forecast = .5*5+.5*2
        let mut fitted = Vec::new();
        let f = ses(&[1.0, 3.0, 5.0], 0.5, Some(&mut fitted));
        assert!((f - 3.5).abs() < 1e-12);
        assert!(fitted[0].is_nan());
        assert_eq!(&fitted[1..], &[1.0, 2.0]);
        assert!((ses(&[1.0, 3.0, 5.0], 0.5, None) - 3.5).abs() < 1e-12);
    }

    #[test]
    fn quantiles_of_sorted() {
        assert_eq!(quantile_sorted(&[1.0, 2.0, 3.0], 0.5), 2.0);
        assert_eq!(quantile_sorted(&[1.0, 3.0], 0.25), 1.5);
    }
}

/// What a history is divided by before fitting, so that optimiser tolerances and starting
/// values mean the same whatever the series' units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScaleBy {
    /// The largest absolute value (ETS, the ensemble: R's `forecast` keeps the data in a
    /// comparable range the same way).
    MaxAbs,
    /// The mean absolute value (Theta's decomposition and SES, as statsforecast's Theta).
    MeanAbs,
}

/// The stretch of a history a model is fitted on, scaled: the last run of finite values, at
/// most `max_len` of them (a long, high-frequency history is fitted on its tail). The one rule
/// for trimming and scaling that the models and the ensemble share.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FitWindow {
    /// Position in the input of the first value used.
    pub(crate) start: usize,
    /// Length of the input.
    pub(crate) total: usize,
    /// What the values were divided by (1 when they are all zero).
    pub(crate) scale: f64,
    /// The values used, divided by `scale`.
    pub(crate) y: Vec<f64>,
}

impl FitWindow {
    /// The window of `y`; see the type's docs.
    pub(crate) fn tail(y: &[f64], max_len: usize, scale_by: ScaleBy) -> Self {
        let (start, used) = crate::ets::trailing_finite(y);
        let skip = used.len().saturating_sub(max_len);
        let (start, used) = (start + skip, &used[skip..]);
        let scale = match scale_by {
            ScaleBy::MaxAbs => used.iter().fold(0.0f64, |a, v| a.max(v.abs())),
            ScaleBy::MeanAbs => used.iter().map(|v| v.abs()).sum::<f64>() / used.len() as f64,
        };
        let scale = if scale > 0.0 && scale.is_finite() {
            scale
        } else {
            1.0
        };
        Self {
            start,
            total: y.len(),
            scale,
            y: used.iter().map(|v| v / scale).collect(),
        }
    }
}

/// The weighted least-squares line through `(ln step, ln spread, weight)` points: how an error
/// spread grows with the step, `ln spread = a + b·ln step`, its slope held in [0, 1] (between
/// a flat spread and linear growth) and `flat_slope` when the steps do not vary. Returns
/// `(a, b)`. Shared by the members' spreads and the widening factors.
pub(crate) fn growth_line(pts: &[(f64, f64, f64)], flat_slope: f64) -> (f64, f64) {
    let wsum: f64 = pts.iter().map(|p| p.2).sum();
    let mx = pts.iter().map(|p| p.0 * p.2).sum::<f64>() / wsum;
    let my = pts.iter().map(|p| p.1 * p.2).sum::<f64>() / wsum;
    let sxx: f64 = pts.iter().map(|p| p.2 * (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| p.2 * (p.0 - mx) * (p.1 - my)).sum();
    let b = if sxx > 0.0 {
        (sxy / sxx).clamp(0.0, 1.0)
    } else {
        flat_slope
    };
    (my - b * mx, b)
}
