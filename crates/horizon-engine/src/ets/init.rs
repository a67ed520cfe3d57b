//! Initial states by R's `initstate` heuristic, the optimiser's starting parameters, and
//! unpacking its vector.

use super::*;

/// Ordinary least squares by normal equations (k <= 4 columns); `None` when singular.
pub(super) fn least_squares(rows: &[[f64; 4]], y: &[f64], k: usize) -> Option<[f64; 4]> {
    let mut a = [[0.0f64; 5]; 4];
    for (row, yt) in rows.iter().zip(y) {
        for i in 0..k {
            for j in 0..k {
                a[i][j] += row[i] * row[j];
            }
            a[i][4] += row[i] * yt;
        }
    }
    for col in 0..k {
        let piv = (col..k).max_by(|x, y| a[*x][col].abs().total_cmp(&a[*y][col].abs()))?;
        if a[piv][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, piv);
        for r in 0..k {
            if r != col {
                let f = a[r][col] / a[col][col];
                let pivot_row = a[col];
                for (v, p) in a[r].iter_mut().zip(pivot_row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    let mut out = [0.0; 4];
    for i in 0..k {
        out[i] = a[i][4] / a[i][i];
    }
    out.iter().all(|v| v.is_finite()).then_some(out)
}

/// Intercept and slope of `y` on `1..=n`.
pub(super) fn line_fit(y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    if y.len() < 2 {
        return (y.first().copied().unwrap_or(0.0), 0.0);
    }
    let xm = (n + 1.0) / 2.0;
    let ym = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let dx = (i + 1) as f64 - xm;
        sxy += dx * (v - ym);
        sxx += dx * dx;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (ym - slope * xm, slope)
}

/// R's `initstate`: `[l0, b0?, s_0 .. s_{m-2}]` (seasonal states most recent first, the last one
/// left implicit).
pub(super) fn init_states(y: &[f64], spec: Spec, m: usize) -> Vec<f64> {
    let n = y.len();
    let mut out = Vec::with_capacity(2 + m);
    let mut y_sa: Vec<f64> = y.to_vec();
    let mut init_seas = Vec::new();
    let m_eff = if spec.seasonal() { m } else { 1 };
    if spec.seasonal() {
        let mult = spec.season == Comp::M;
        let seasonal: Vec<f64> = if n < 3 * m {
            // Trend plus one Fourier pair, as R does for short series.
            let w = 2.0 * std::f64::consts::PI / m as f64;
            let k = if m == 2 { 3 } else { 4 };
            let rows: Vec<[f64; 4]> = (1..=n)
                .map(|t| {
                    let tf = t as f64;
                    if m == 2 {
                        [1.0, tf, (w * tf).cos(), 0.0]
                    } else {
                        [1.0, tf, (w * tf).sin(), (w * tf).cos()]
                    }
                })
                .collect();
            match least_squares(&rows, y, k) {
                Some(c) => (1..=n)
                    .map(|t| {
                        let tr = c[0] + c[1] * t as f64;
                        if mult { y[t - 1] / tr } else { y[t - 1] - tr }
                    })
                    .collect(),
                None => vec![if mult { 1.0 } else { 0.0 }; n],
            }
        } else {
            let idx = if mult {
                crate::seasonality::multiplicative_indices(y, m)
            } else {
                crate::seasonality::additive_indices(y, m)
            };
            match idx {
                Some(idx) => (0..n).map(|t| idx[t % m]).collect(),
                None => vec![if mult { 1.0 } else { 0.0 }; n],
            }
        };
        init_seas = (1..m).rev().map(|t| seasonal[t]).collect();
        if mult {
            init_seas.iter_mut().for_each(|s| *s = s.max(1e-2));
            let sum: f64 = init_seas.iter().sum();
            if sum > m as f64 {
                let d: f64 = init_seas.iter().map(|s| s + 1e-2).sum();
                init_seas.iter_mut().for_each(|s| *s /= d);
            }
            for (v, s) in y_sa.iter_mut().zip(&seasonal) {
                *v /= s.max(1e-2);
            }
        } else {
            for (v, s) in y_sa.iter_mut().zip(&seasonal) {
                *v -= s;
            }
        }
        init_seas.iter_mut().for_each(|s| {
            if !s.is_finite() {
                *s = if mult { 1.0 } else { 0.0 };
            }
        });
    }
    let maxn = (10usize.max(2 * m_eff)).min(n);
    if spec.has_trend() {
        let (mut l0, mut b0) = line_fit(&y_sa[..maxn]);
        if (l0 + b0).abs() < 1e-8 {
            l0 *= 1.0 + 1e-3;
            b0 *= 1.0 - 1e-3;
        }
        out.push(l0);
        out.push(b0);
    } else {
        out.push(y_sa[..maxn].iter().sum::<f64>() / maxn as f64);
    }
    out.extend(init_seas);
    out
}

/// R's `initparam` with the usual bounds.
pub(super) fn init_params(spec: Spec, m: usize) -> Vec<f64> {
    let mf = if spec.seasonal() { m as f64 } else { 1.0 };
    let mut out = Vec::with_capacity(4);
    let mut alpha = LOWER[0] + 0.2 * (UPPER[0] - LOWER[0]) / mf;
    if !(0.0..=1.0).contains(&alpha) {
        alpha = LOWER[0] + 2e-3;
    }
    out.push(alpha);
    if spec.has_trend() {
        let up = UPPER[1].min(alpha);
        let mut beta = LOWER[1] + 0.1 * (up - LOWER[1]);
        if beta < 0.0 || beta > alpha {
            beta = alpha - 1e-3;
        }
        out.push(beta);
    }
    if spec.seasonal() {
        let up = UPPER[2].min(1.0 - alpha);
        let mut gamma = LOWER[2] + 0.05 * (up - LOWER[2]);
        if gamma < 0.0 || gamma > 1.0 - alpha {
            gamma = 1.0 - alpha - 1e-3;
        }
        out.push(gamma);
    }
    if spec.damped {
        out.push(LOWER[3] + 0.99 * (UPPER[3] - LOWER[3]));
    }
    out
}

/// Splits an optimiser vector into parameters and fills the seasonal ring; `None` when the
/// seasonal states are inadmissible.
pub(super) fn unpack(
    x: &[f64],
    spec: Spec,
    m: usize,
    seas: &mut [f64],
) -> Option<(Params, f64, f64)> {
    let mut i = 0;
    let mut next = || {
        let v = x[i];
        i += 1;
        v
    };
    let alpha = next();
    let beta = if spec.has_trend() { next() } else { 0.0 };
    let gamma = if spec.seasonal() { next() } else { 0.0 };
    let phi = if spec.damped { next() } else { 1.0 };
    let l0 = next();
    let b0 = if spec.has_trend() { next() } else { 0.0 };
    let p = Params {
        alpha,
        beta,
        gamma,
        phi,
    };
    if spec.seasonal() {
        let free = &x[i..];
        let target = if spec.season == Comp::M {
            m as f64
        } else {
            0.0
        };
        let last = target - free.iter().sum::<f64>();
        // R order: s_0 (most recent) .. s_{m-1} (oldest, used first). Ring order reverses it.
        seas[0] = last;
        for (j, s) in free.iter().enumerate() {
            seas[m - 1 - j] = *s;
        }
        if spec.season == Comp::M && seas.iter().any(|s| *s < 0.0) {
            return None;
        }
    }
    Some((p, l0, b0))
}
