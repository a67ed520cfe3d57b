//! A bounded, deterministic Nelder–Mead minimiser for the small smooth problems of the
//! statistical models (smoothing parameters and initial states).
//!
//! Bounds are enforced by clamping every trial point into the box, as statsforecast does; an
//! objective may also return `+inf` (or NaN, read as `+inf`) for points outside a feasible region
//! that is not a box (e.g. `beta < alpha`), as R's `optim` callers do. All working memory is
//! allocated once before the loop.

/// Settings of [`nelder_mead`].
#[derive(Debug, Clone, PartialEq)]
pub struct NelderMeadOptions {
    /// Most iterations (reflection steps) per start.
    pub max_iter: usize,
    /// Absolute tolerance: stop when the simplex's function values span at most
    /// `f_abs_tol + f_rel_tol * |f_best|`.
    pub f_abs_tol: f64,
    /// Relative tolerance, see `f_abs_tol`.
    pub f_rel_tol: f64,
    /// Initial simplex step for a coordinate with finite bounds, as a share of `upper - lower`.
    pub bounded_step: f64,
    /// Initial simplex step for an unbounded coordinate, as a share of `|x0|`.
    pub relative_step: f64,
    /// Initial simplex step for an unbounded coordinate that is zero.
    pub zero_step: f64,
    /// Dimension-adaptive coefficients (Gao & Han 2012), better above a few dimensions.
    pub adaptive: bool,
    /// Extra starts from the best point found, each with a fresh simplex; a restart that does
    /// not improve ends the search.
    pub restarts: usize,
}

impl Default for NelderMeadOptions {
    fn default() -> Self {
        Self {
            max_iter: 1_000,
            f_abs_tol: 1e-8,
            f_rel_tol: 1e-8,
            bounded_step: 0.1,
            relative_step: 0.1,
            zero_step: 1e-3,
            adaptive: true,
            restarts: 1,
        }
    }
}

/// What [`nelder_mead`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct NelderMeadResult {
    /// The best point (inside the bounds).
    pub x: Vec<f64>,
    /// The objective at `x` (`+inf` when no finite value was ever seen).
    pub f: f64,
    /// Iterations done, over all starts.
    pub iterations: usize,
    /// Objective evaluations done.
    pub evaluations: usize,
    /// Whether the last start met the tolerance before `max_iter`.
    pub converged: bool,
}

/// Minimises `f` from `x0` inside the box `[lower, upper]` (either bound may be infinite).
///
/// Deterministic: the same inputs give the same result. `lower`/`upper` shorter than `x0` leave
/// the remaining coordinates unbounded. An empty `x0` returns at once with `f(&[])`.
pub fn nelder_mead(
    mut f: impl FnMut(&[f64]) -> f64,
    x0: &[f64],
    lower: &[f64],
    upper: &[f64],
    opts: &NelderMeadOptions,
) -> NelderMeadResult {
    let n = x0.len();
    let lo = |i: usize| lower.get(i).copied().unwrap_or(f64::NEG_INFINITY);
    let hi = |i: usize| upper.get(i).copied().unwrap_or(f64::INFINITY);
    let clamp = |x: &mut [f64]| {
        for (i, v) in x.iter_mut().enumerate() {
            let (l, h) = (lo(i), hi(i));
            if v.is_nan() {
                *v = if l.is_finite() { l } else { 0.0 };
            }
            if *v < l {
                *v = l;
            }
            if *v > h {
                *v = h;
            }
        }
    };
    let mut eval = |x: &[f64], count: &mut usize| {
        *count += 1;
        let v = f(x);
        if v.is_nan() { f64::INFINITY } else { v }
    };

    let mut evaluations = 0;
    let mut best_x = x0.to_vec();
    clamp(&mut best_x);
    let mut best_f = eval(&best_x, &mut evaluations);
    if n == 0 {
        return NelderMeadResult {
            x: best_x,
            f: best_f,
            iterations: 0,
            evaluations,
            converged: true,
        };
    }

    let nf = n as f64;
    let (rho, chi, psi, sigma) = if opts.adaptive && n > 1 {
        (1.0, 1.0 + 2.0 / nf, 0.75 - 1.0 / (2.0 * nf), 1.0 - 1.0 / nf)
    } else {
        (1.0, 2.0, 0.5, 0.5)
    };

    // Working memory, allocated once.
    let mut simplex = vec![0.0; (n + 1) * n];
    let mut fs = vec![0.0; n + 1];
    let mut centroid = vec![0.0; n];
    let mut xr = vec![0.0; n];
    let mut xe = vec![0.0; n];
    let mut xc = vec![0.0; n];

    let mut iterations = 0;
    let mut converged = false;
    for start in 0..=opts.restarts {
        let start_f = best_f;
        // Initial simplex around the best point.
        for v in 0..=n {
            let row = &mut simplex[v * n..(v + 1) * n];
            row.copy_from_slice(&best_x);
            if v > 0 {
                let i = v - 1;
                let (l, h) = (lo(i), hi(i));
                let step = if l.is_finite() && h.is_finite() {
                    opts.bounded_step * (h - l)
                } else if row[i] != 0.0 {
                    opts.relative_step * row[i].abs()
                } else {
                    opts.zero_step
                };
                let step = if step > 0.0 && step.is_finite() {
                    step
                } else {
                    opts.zero_step
                };
                row[i] = if row[i] + step <= h {
                    row[i] + step
                } else {
                    row[i] - step
                };
                clamp(row);
            }
        }
        fs[0] = best_f;
        for v in 1..=n {
            fs[v] = eval(&simplex[v * n..(v + 1) * n], &mut evaluations);
        }

        converged = false;
        for _ in 0..opts.max_iter {
            // Best, worst and second worst by a linear scan.
            let (mut b, mut w) = (0, 0);
            for v in 1..=n {
                if fs[v] < fs[b] {
                    b = v;
                }
                if fs[v] >= fs[w] {
                    w = v;
                }
            }
            if b == w {
                w = if b == 0 { 1 } else { 0 };
            }
            let mut sw = b;
            for v in 0..=n {
                if v != w && fs[v] >= fs[sw] {
                    sw = v;
                }
            }
            let span = fs[w] - fs[b];
            if fs[b].is_finite()
                && span.is_finite()
                && span <= opts.f_abs_tol + opts.f_rel_tol * fs[b].abs()
            {
                converged = true;
                break;
            }
            iterations += 1;

            centroid.fill(0.0);
            for v in 0..=n {
                if v != w {
                    for (c, x) in centroid.iter_mut().zip(&simplex[v * n..(v + 1) * n]) {
                        *c += x;
                    }
                }
            }
            centroid.iter_mut().for_each(|c| *c /= nf);

            let worst = &simplex[w * n..(w + 1) * n];
            for i in 0..n {
                xr[i] = centroid[i] + rho * (centroid[i] - worst[i]);
            }
            clamp(&mut xr);
            let fr = eval(&xr, &mut evaluations);

            if fr < fs[b] {
                for i in 0..n {
                    xe[i] = centroid[i] + chi * (xr[i] - centroid[i]);
                }
                clamp(&mut xe);
                let fe = eval(&xe, &mut evaluations);
                let row = &mut simplex[w * n..(w + 1) * n];
                if fe < fr {
                    row.copy_from_slice(&xe);
                    fs[w] = fe;
                } else {
                    row.copy_from_slice(&xr);
                    fs[w] = fr;
                }
                continue;
            }
            if fr < fs[sw] {
                simplex[w * n..(w + 1) * n].copy_from_slice(&xr);
                fs[w] = fr;
                continue;
            }
            // Contraction: outside when the reflection beat the worst, inside otherwise.
            let outside = fr < fs[w];
            let worst = &simplex[w * n..(w + 1) * n];
            for i in 0..n {
                xc[i] = if outside {
                    centroid[i] + psi * (xr[i] - centroid[i])
                } else {
                    centroid[i] + psi * (worst[i] - centroid[i])
                };
            }
            clamp(&mut xc);
            let fc = eval(&xc, &mut evaluations);
            if (outside && fc <= fr) || (!outside && fc < fs[w]) {
                simplex[w * n..(w + 1) * n].copy_from_slice(&xc);
                fs[w] = fc;
                continue;
            }
            // Shrink towards the best vertex.
            let (head, tail) = simplex.split_at_mut(b * n);
            let (best_row, rest) = tail.split_at_mut(n);
            for v in 0..=n {
                if v == b {
                    continue;
                }
                let row = if v < b {
                    &mut head[v * n..(v + 1) * n]
                } else {
                    &mut rest[(v - b - 1) * n..(v - b) * n]
                };
                for i in 0..n {
                    row[i] = best_row[i] + sigma * (row[i] - best_row[i]);
                }
                clamp(row);
                fs[v] = eval(row, &mut evaluations);
            }
        }

        let mut b = 0;
        for v in 1..=n {
            if fs[v] < fs[b] {
                b = v;
            }
        }
        if fs[b] < best_f {
            best_f = fs[b];
            best_x.copy_from_slice(&simplex[b * n..(b + 1) * n]);
        }
        // A restart that found nothing better ends the search.
        let improved = start_f - best_f > opts.f_abs_tol + opts.f_rel_tol * best_f.abs();
        if start > 0 && !improved {
            break;
        }
        if !best_f.is_finite() {
            break;
        }
    }

    NelderMeadResult {
        x: best_x,
        f: best_f,
        iterations,
        evaluations,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_rosenbrock_inside_bounds() {
        let rosen = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let opts = NelderMeadOptions {
            max_iter: 5_000,
            f_abs_tol: 1e-14,
            f_rel_tol: 0.0,
            ..Default::default()
        };
        let r = nelder_mead(rosen, &[-1.2, 1.0], &[-2.0, -2.0], &[2.0, 2.0], &opts);
        assert!((r.x[0] - 1.0).abs() < 1e-3, "{r:?}");
        assert!((r.x[1] - 1.0).abs() < 1e-3, "{r:?}");
    }

    #[test]
    fn respects_bounds_and_infinite_regions() {
        // The unconstrained minimum (3, 3) lies outside; x0 + x1 <= 4 is enforced by +inf.
        let f = |x: &[f64]| {
            if x[0] + x[1] > 4.0 {
                f64::INFINITY
            } else {
                (x[0] - 3.0).powi(2) + (x[1] - 3.0).powi(2)
            }
        };
        let r = nelder_mead(
            f,
            &[0.0, 0.0],
            &[0.0, 0.0],
            &[2.5, 10.0],
            &Default::default(),
        );
        assert!(r.x[0] <= 2.5 && r.x[0] >= 0.0);
        assert!(r.x[0] + r.x[1] <= 4.0 + 1e-9);
        assert!((r.f - 2.0).abs() < 1e-3, "{r:?}");
    }

    #[test]
    fn deterministic_and_tolerates_nan() {
        let f = |x: &[f64]| {
            if x[0] < 0.0 {
                f64::NAN
            } else {
                (x[0] - 1.0).powi(2)
            }
        };
        let a = nelder_mead(f, &[5.0], &[], &[], &Default::default());
        let b = nelder_mead(f, &[5.0], &[], &[], &Default::default());
        assert_eq!(a, b);
        assert!((a.x[0] - 1.0).abs() < 1e-3);
        let empty = nelder_mead(|_| 1.0, &[], &[], &[], &Default::default());
        assert_eq!(empty.f, 1.0);
    }
}

/// What [`least_squares`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct LeastSquaresResult {
    /// The best point (inside the bounds).
    pub x: Vec<f64>,
    /// Sum of squared residuals at `x` (`+inf` when no finite value was seen).
    pub ssr: f64,
    /// Residual evaluations done.
    pub evaluations: usize,
}

/// Minimises `Σ r_i(x)²` inside the box `[lower, upper]` by Levenberg–Marquardt with a
/// forward-difference Jacobian: the fitting problems that are sums of squares (an ARMA's
/// residuals) converge in a few dozen residual passes where Nelder–Mead needs hundreds.
///
/// `residuals(x, out)` fills `out` (its length fixed by the first call) and returns `false`
/// when `x` is infeasible. Deterministic. Stops when an accepted step lowers the sum by less
/// than `rel_tol` of it, after `max_iter` iterations, or when the damping grows past use.
pub fn least_squares(
    mut residuals: impl FnMut(&[f64], &mut Vec<f64>) -> bool,
    x0: &[f64],
    lower: &[f64],
    upper: &[f64],
    max_iter: usize,
    rel_tol: f64,
) -> LeastSquaresResult {
    let k = x0.len();
    let clamp = |x: &mut [f64]| {
        for (i, v) in x.iter_mut().enumerate() {
            let lo = lower.get(i).copied().unwrap_or(f64::NEG_INFINITY);
            let hi = upper.get(i).copied().unwrap_or(f64::INFINITY);
            *v = v.clamp(lo, hi);
        }
    };
    let mut x = x0.to_vec();
    clamp(&mut x);
    let mut r = Vec::new();
    let mut evaluations = 1;
    let ssr_of = |r: &[f64]| r.iter().map(|v| v * v).sum::<f64>();
    if !residuals(&x, &mut r) || !ssr_of(&r).is_finite() {
        return LeastSquaresResult {
            x,
            ssr: f64::INFINITY,
            evaluations,
        };
    }
    let mut ssr = ssr_of(&r);
    if k == 0 {
        return LeastSquaresResult {
            x,
            ssr,
            evaluations,
        };
    }
    let n = r.len();
    let mut jac = vec![0.0; n * k]; // column-major: jac[j * n + i] = ∂r_i/∂x_j
    let mut rt = Vec::with_capacity(n);
    let mut trial = vec![0.0; k];
    let mut lambda = 1e-3;
    for _ in 0..max_iter {
        // Jacobian by forward differences, stepping inward at an upper bound.
        for j in 0..k {
            let hi = upper.get(j).copied().unwrap_or(f64::INFINITY);
            let mut h = 1e-6 * x[j].abs().max(1e-2);
            if x[j] + h > hi {
                h = -h;
            }
            trial.copy_from_slice(&x);
            trial[j] += h;
            evaluations += 1;
            if !residuals(&trial, &mut rt) || rt.len() != n {
                jac[j * n..(j + 1) * n].fill(0.0);
                continue;
            }
            for i in 0..n {
                jac[j * n + i] = (rt[i] - r[i]) / h;
            }
        }
        // Normal equations JᵀJ δ = −Jᵀr.
        let mut jtj = vec![0.0; k * k];
        let mut jtr = vec![0.0; k];
        for a in 0..k {
            let ca = &jac[a * n..(a + 1) * n];
            jtr[a] = ca.iter().zip(&r).map(|(p, q)| p * q).sum();
            for b in a..k {
                let v: f64 = ca
                    .iter()
                    .zip(&jac[b * n..(b + 1) * n])
                    .map(|(p, q)| p * q)
                    .sum();
                jtj[a * k + b] = v;
                jtj[b * k + a] = v;
            }
        }
        let mut accepted = false;
        while lambda < 1e10 {
            let mut m = jtj.clone();
            for a in 0..k {
                m[a * k + a] += lambda * jtj[a * k + a].max(1e-12);
            }
            let Some(delta) = solve(&mut m, jtr.iter().map(|v| -v).collect(), k) else {
                lambda *= 10.0;
                continue;
            };
            for j in 0..k {
                trial[j] = x[j] + delta[j];
            }
            clamp(&mut trial);
            evaluations += 1;
            if residuals(&trial, &mut rt) && rt.len() == n {
                let s = ssr_of(&rt);
                if s.is_finite() && s < ssr {
                    let gain = ssr - s;
                    x.copy_from_slice(&trial);
                    std::mem::swap(&mut r, &mut rt);
                    ssr = s;
                    lambda = (lambda / 10.0).max(1e-12);
                    accepted = true;
                    if gain <= rel_tol * ssr {
                        return LeastSquaresResult {
                            x,
                            ssr,
                            evaluations,
                        };
                    }
                    break;
                }
            }
            lambda *= 10.0;
        }
        if !accepted {
            break;
        }
    }
    LeastSquaresResult {
        x,
        ssr,
        evaluations,
    }
}

/// Solves `m x = b` (`m` row-major `k × k`) by Gaussian elimination with partial pivoting;
/// `None` when singular.
fn solve(m: &mut [f64], mut b: Vec<f64>, k: usize) -> Option<Vec<f64>> {
    for col in 0..k {
        let piv =
            (col..k).max_by(|&i, &j| m[i * k + col].abs().total_cmp(&m[j * k + col].abs()))?;
        if m[piv * k + col].abs() < 1e-300 {
            return None;
        }
        if piv != col {
            for c in 0..k {
                m.swap(piv * k + c, col * k + c);
            }
            b.swap(piv, col);
        }
        for row in col + 1..k {
            let f = m[row * k + col] / m[col * k + col];
            for c in col..k {
                m[row * k + c] -= f * m[col * k + c];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; k];
    for row in (0..k).rev() {
        let s: f64 = (row + 1..k).map(|c| m[row * k + c] * x[c]).sum();
        x[row] = (b[row] - s) / m[row * k + row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}
