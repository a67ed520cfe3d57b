//! Forecast accuracy metrics, per point and per series, reusable for live scoring.
//!
//! Per-point functions ([`pinball`], [`crps_from_quantiles`], [`interval_covered`],
//! [`interval_score`], [`brier`]) score one outcome; per-series functions take the actual and
//! forecast paths. Pairs where either side is not finite are skipped; a metric with nothing to
//! average over, or a zero denominator, is NaN.

/// Pinball (quantile) loss of the forecast `q_value` of quantile `level` for outcome `y`.
pub fn pinball(y: f64, q_value: f64, level: f64) -> f64 {
    let d = y - q_value;
    if d >= 0.0 {
        level * d
    } else {
        (level - 1.0) * d
    }
}

/// CRPS approximated from quantiles: twice the mean pinball loss over `levels` (which should be
/// spread over `(0, 1)`, e.g. 0.1..0.9 or denser). `values[i]` is the forecast of `levels[i]`.
pub fn crps_from_quantiles(y: f64, levels: &[f64], values: &[f64]) -> f64 {
    let n = levels.len().min(values.len());
    if n == 0 {
        return f64::NAN;
    }
    2.0 * (0..n)
        .map(|i| pinball(y, values[i], levels[i]))
        .sum::<f64>()
        / n as f64
}

/// Whether `y` lies in the closed interval `[lo, hi]`.
pub fn interval_covered(y: f64, lo: f64, hi: f64) -> bool {
    y >= lo && y <= hi
}

/// Winkler interval score of a central `(1 - alpha)` interval: width plus `2/alpha` times the
/// distance by which `y` falls outside (the numerator of MSIS).
pub fn interval_score(y: f64, lo: f64, hi: f64, alpha: f64) -> f64 {
    let mut s = hi - lo;
    if y < lo {
        s += 2.0 / alpha * (lo - y);
    }
    if y > hi {
        s += 2.0 / alpha * (y - hi);
    }
    s
}

/// Brier score of probability `p` for an event that did (`true`) or did not happen.
pub fn brier(p: f64, happened: bool) -> f64 {
    let o = if happened { 1.0 } else { 0.0 };
    (p - o) * (p - o)
}

fn pairs<'a>(actual: &'a [f64], forecast: &'a [f64]) -> impl Iterator<Item = (f64, f64)> + 'a {
    actual
        .iter()
        .zip(forecast)
        .filter(|(a, f)| a.is_finite() && f.is_finite())
        .map(|(a, f)| (*a, *f))
}

fn mean_of(it: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = it.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

/// Mean absolute error.
pub fn mae(actual: &[f64], forecast: &[f64]) -> f64 {
    mean_of(pairs(actual, forecast).map(|(a, f)| (a - f).abs()))
}

/// Root mean squared error.
pub fn rmse(actual: &[f64], forecast: &[f64]) -> f64 {
    mean_of(pairs(actual, forecast).map(|(a, f)| (a - f) * (a - f))).sqrt()
}

/// Mean absolute percentage error in percent; points with a zero actual are skipped.
pub fn mape(actual: &[f64], forecast: &[f64]) -> f64 {
    mean_of(
        pairs(actual, forecast)
            .filter(|(a, _)| *a != 0.0)
            .map(|(a, f)| 100.0 * ((a - f) / a).abs()),
    )
}

/// Symmetric MAPE in percent (0 to 200, the M4 definition); points where both are zero count 0.
pub fn smape(actual: &[f64], forecast: &[f64]) -> f64 {
    mean_of(pairs(actual, forecast).map(|(a, f)| {
        let d = a.abs() + f.abs();
        if d == 0.0 {
            0.0
        } else {
            200.0 * (a - f).abs() / d
        }
    }))
}

/// Weighted absolute percentage error: sum of absolute errors over sum of absolute actuals.
pub fn wape(actual: &[f64], forecast: &[f64]) -> f64 {
    let (num, den) = pairs(actual, forecast).fold((0.0, 0.0), |(n, d), (a, f)| {
        (n + (a - f).abs(), d + a.abs())
    });
    if den == 0.0 { f64::NAN } else { num / den }
}

/// Mean error `forecast - actual` (positive: over-forecast).
pub fn bias(actual: &[f64], forecast: &[f64]) -> f64 {
    mean_of(pairs(actual, forecast).map(|(a, f)| f - a))
}

/// In-sample mean absolute (`power` 1) or squared (`power` 2) seasonal-naive error of `insample`
/// with period `m` (1 = naive); NaN when the history is too short.
pub fn naive_scale(insample: &[f64], m: usize, power: i32) -> f64 {
    let m = m.max(1);
    if insample.len() <= m {
        return f64::NAN;
    }
    mean_of(
        insample[m..]
            .iter()
            .zip(insample)
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .map(|(a, b)| (a - b).abs().powi(power)),
    )
}

/// Mean absolute scaled error: MAE over the in-sample seasonal-naive MAE with period `m`.
pub fn mase(actual: &[f64], forecast: &[f64], insample: &[f64], m: usize) -> f64 {
    let s = naive_scale(insample, m, 1);
    if s > 0.0 {
        mae(actual, forecast) / s
    } else {
        f64::NAN
    }
}

/// Root mean squared scaled error (M5): RMSE scaled by the in-sample seasonal-naive RMSE.
pub fn rmsse(actual: &[f64], forecast: &[f64], insample: &[f64], m: usize) -> f64 {
    let s = naive_scale(insample, m, 2);
    if s > 0.0 {
        (mean_of(pairs(actual, forecast).map(|(a, f)| (a - f) * (a - f))) / s).sqrt()
    } else {
        f64::NAN
    }
}

/// Mean pinball loss of one quantile path.
pub fn mean_pinball(actual: &[f64], q_path: &[f64], level: f64) -> f64 {
    mean_of(pairs(actual, q_path).map(|(a, q)| pinball(a, q, level)))
}

/// Weighted quantile loss: `2 * sum over levels and steps of pinball / sum |actual|`, divided by
/// the number of levels (the GluonTS "mean wQL"). `paths[i]` is the path of `levels[i]`.
pub fn weighted_quantile_loss(actual: &[f64], levels: &[f64], paths: &[Vec<f64>]) -> f64 {
    let den: f64 = actual
        .iter()
        .filter(|a| a.is_finite())
        .map(|a| a.abs())
        .sum();
    if den == 0.0 || levels.is_empty() {
        return f64::NAN;
    }
    let total: f64 = levels
        .iter()
        .zip(paths)
        .map(|(l, p)| {
            2.0 * pairs(actual, p)
                .map(|(a, q)| pinball(a, q, *l))
                .sum::<f64>()
        })
        .sum();
    total / den / levels.len() as f64
}

/// Scaled CRPS: the sum over steps of [`crps_from_quantiles`] divided by the sum of absolute
/// actuals (the M5-uncertainty / Nixtla "scaled CRPS").
pub fn scaled_crps(actual: &[f64], levels: &[f64], paths: &[Vec<f64>]) -> f64 {
    let den: f64 = actual
        .iter()
        .filter(|a| a.is_finite())
        .map(|a| a.abs())
        .sum();
    if den == 0.0 || levels.is_empty() {
        return f64::NAN;
    }
    let mut buf = vec![0.0; levels.len()];
    let mut total = 0.0;
    for (t, y) in actual.iter().enumerate() {
        if !y.is_finite() {
            continue;
        }
        for (b, p) in buf.iter_mut().zip(paths) {
            *b = p.get(t).copied().unwrap_or(f64::NAN);
        }
        let c = crps_from_quantiles(*y, levels, &buf);
        if c.is_finite() {
            total += c;
        }
    }
    total / den
}

/// Share of steps whose actual lies in `[lo, hi]`.
pub fn coverage(actual: &[f64], lo: &[f64], hi: &[f64]) -> f64 {
    mean_of(
        actual
            .iter()
            .zip(lo.iter().zip(hi))
            .filter(|(a, _)| a.is_finite())
            .map(|(a, (l, h))| f64::from(u8::from(interval_covered(*a, *l, *h)))),
    )
}

/// Mean scaled interval score (M4) of a central `(1 - alpha)` interval, scaled by the in-sample
/// seasonal-naive MAE with period `m`.
pub fn msis(actual: &[f64], lo: &[f64], hi: &[f64], alpha: f64, insample: &[f64], m: usize) -> f64 {
    let s = naive_scale(insample, m, 1);
    if s.is_nan() || s <= 0.0 {
        return f64::NAN;
    }
    mean_of(
        actual
            .iter()
            .zip(lo.iter().zip(hi))
            .filter(|(a, _)| a.is_finite())
            .map(|(a, (l, h))| interval_score(*a, *l, *h, alpha)),
    ) / s
}

/// Mean Brier score of probabilities `p` against outcomes `happened`.
pub fn mean_brier(p: &[f64], happened: &[bool]) -> f64 {
    mean_of(
        p.iter()
            .zip(happened)
            .filter(|(p, _)| p.is_finite())
            .map(|(p, h)| brier(*p, *h)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn point_metrics_by_hand() {
        assert!(close(pinball(10.0, 8.0, 0.9), 1.8));
        assert!(close(pinball(10.0, 12.0, 0.9), 0.2));
        assert!(interval_covered(1.0, 1.0, 2.0));
        assert!(!interval_covered(2.5, 1.0, 2.0));
        assert!(close(interval_score(3.0, 1.0, 2.0, 0.05), 1.0 + 40.0));
        assert!(close(brier(0.7, true), 0.09));
        // levels .25/.5/.75 with values 1,2,3 and y=2: pinballs .25, 0, .25 -> 2 * .5/3
        assert!(close(
            crps_from_quantiles(2.0, &[0.25, 0.5, 0.75], &[1.0, 2.0, 3.0]),
            1.0 / 3.0
        ));
    }

    #[test]
    fn series_metrics_by_hand() {
        let a = [1.0, 2.0, 4.0];
        let f = [2.0, 2.0, 2.0];
        assert!(close(mae(&a, &f), 1.0));
        assert!(close(rmse(&a, &f), (5.0f64 / 3.0).sqrt()));
        assert!(close(mape(&a, &f), (100.0 + 0.0 + 50.0) / 3.0));
        assert!(close(
            smape(&a, &f),
            (200.0 / 3.0 + 0.0 + 200.0 * 2.0 / 6.0) / 3.0
        ));
        assert!(close(wape(&a, &f), 3.0 / 7.0));
        assert!(close(bias(&a, &f), -1.0 / 3.0));
        // in-sample [1,2,4,7]: naive MAE = (1+2+3)/3 = 2; MSE = 14/3
        let ins = [1.0, 2.0, 4.0, 7.0];
        assert!(close(mase(&a, &f, &ins, 1), 0.5));
        assert!(close(
            rmsse(&a, &f, &ins, 1),
            ((5.0f64 / 3.0) / (14.0 / 3.0)).sqrt()
        ));
        assert!(close(
            coverage(&a, &[0.0, 3.0, 3.0], &[1.5, 4.0, 5.0]),
            2.0 / 3.0
        ));
        assert!(close(mean_brier(&[1.0, 0.5], &[true, false]), 0.125));
        assert!(mape(&[0.0], &[1.0]).is_nan());
        // MSIS: scores 1, 1, 1 + 40*... with alpha .05 and y=4 above hi=3 by 1 -> 1 + 40
        assert!(close(
            msis(&a, &[0.0, 1.0, 2.0], &[1.0, 2.0, 3.0], 0.05, &ins, 1),
            (1.0 + 1.0 + 41.0) / 3.0 / 2.0
        ));
        // wQL with one level .5 and the median path f: 2 * .5 * 3 / 7
        assert!(close(
            weighted_quantile_loss(&a, &[0.5], &[f.to_vec()]),
            3.0 / 7.0
        ));
        assert!(close(scaled_crps(&a, &[0.5], &[f.to_vec()]), 3.0 / 7.0));
    }
}
