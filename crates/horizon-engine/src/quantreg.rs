//! Linear quantile regression (Koenker–Bassett) by iteratively reweighted least squares, and
//! the small dense least-squares solver it needs.
//!
//! IRLS replaces the check loss `ρ_τ(r)` by `w·r²` with `w = c_τ(r) / max(|r|, ε)` and
//! re-solves until the loss stops falling; at the problem sizes of a forecast (thousands of
//! rows, under a dozen features) it reaches the linear program's optimum to well under a
//! percent of the loss in a few dozen cheap solves, with no LP solver to ship.

/// Most IRLS iterations per level.
const MAX_ITERATIONS: usize = 40;
/// Relative fall of the loss below which IRLS stops.
const TOLERANCE: f64 = 1e-5;

/// Solves `a x = b` for a symmetric positive definite `a` (`p × p`, row-major) by Cholesky,
/// adding `ridge` times the mean diagonal; `None` if it is not positive definite.
pub(crate) fn solve_spd(a: &[f64], b: &[f64], p: usize, ridge: f64) -> Option<Vec<f64>> {
    let mut l = a.to_vec();
    let mean_diag = (0..p).map(|i| a[i * p + i]).sum::<f64>() / p.max(1) as f64;
    let shift = ridge * mean_diag.max(1e-300);
    for i in 0..p {
        l[i * p + i] += shift;
    }
    for j in 0..p {
        let mut d = l[j * p + j];
        for k in 0..j {
            d -= l[j * p + k] * l[j * p + k];
        }
        if d.is_nan() || d <= 0.0 {
            return None;
        }
        let d = d.sqrt();
        l[j * p + j] = d;
        for i in j + 1..p {
            let mut s = l[i * p + j];
            for k in 0..j {
                s -= l[i * p + k] * l[j * p + k];
            }
            l[i * p + j] = s / d;
        }
    }
    let mut z = b.to_vec();
    for i in 0..p {
        for k in 0..i {
            z[i] -= l[i * p + k] * z[k];
        }
        z[i] /= l[i * p + i];
    }
    for i in (0..p).rev() {
        for k in i + 1..p {
            z[i] -= l[k * p + i] * z[k];
        }
        z[i] /= l[i * p + i];
    }
    z.iter().all(|v| v.is_finite()).then_some(z)
}

/// Weighted least squares `min Σ wᵢ (yᵢ − xᵢᵀβ)²` over rows `x` (each of length `p`).
pub(crate) fn weighted_least_squares(
    x: &[Vec<f64>],
    y: &[f64],
    w: &[f64],
    p: usize,
) -> Option<Vec<f64>> {
    weighted_least_squares_flat(&flatten(x, p), y, w, p)
}

/// The rows laid end to end (row-major, `p` per row): the IRLS loop reads them twice per
/// iteration, and one contiguous block is several times faster to stream than a vector
/// per row.
fn flatten(x: &[Vec<f64>], p: usize) -> Vec<f64> {
    x.iter().flat_map(|row| row[..p].iter().copied()).collect()
}

/// [`weighted_least_squares`] on rows laid out by [`flatten`].
fn weighted_least_squares_flat(x: &[f64], y: &[f64], w: &[f64], p: usize) -> Option<Vec<f64>> {
    let mut a = vec![0.0; p * p];
    let mut b = vec![0.0; p];
    // Four rows at a time: each entry of `a` is loaded and stored once per four rows instead
    // of once per row (the loads and stores of `a`, not the arithmetic, bound this loop: it
    // was three quarters of a PV plant's fit).
    let blocks = y.len() / 4;
    let (x4, x1) = x.split_at(4 * blocks * p);
    for ((rows, ys), ws) in x4
        .chunks_exact(4 * p)
        .zip(y.chunks_exact(4))
        .zip(w.chunks_exact(4))
    {
        let (r0, rest) = rows.split_at(p);
        let (r1, rest) = rest.split_at(p);
        let (r2, r3) = rest.split_at(p);
        for i in 0..p {
            let (w0, w1, w2, w3) = (ws[0] * r0[i], ws[1] * r1[i], ws[2] * r2[i], ws[3] * r3[i]);
            b[i] += w0 * ys[0] + w1 * ys[1] + w2 * ys[2] + w3 * ys[3];
            // The lower triangle only: the upper half is its mirror, written below.
            for ((((aij, x0), x1), x2), x3) in a[i * p..=i * p + i]
                .iter_mut()
                .zip(r0)
                .zip(r1)
                .zip(r2)
                .zip(r3)
            {
                *aij += w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3;
            }
        }
    }
    for ((row, yi), wi) in x1
        .chunks_exact(p)
        .zip(&y[4 * blocks..])
        .zip(&w[4 * blocks..])
    {
        for i in 0..p {
            let wx = wi * row[i];
            b[i] += wx * yi;
            for (aij, xj) in a[i * p..=i * p + i].iter_mut().zip(row) {
                *aij += wx * xj;
            }
        }
    }
    for i in 0..p {
        for j in 0..i {
            a[j * p + i] = a[i * p + j];
        }
    }
    solve_spd(&a, &b, p, 1e-9)
}

/// The check (pinball) loss of residual `r` at level `tau`.
pub(crate) fn check_loss(r: f64, tau: f64) -> f64 {
    if r >= 0.0 { tau * r } else { (tau - 1.0) * r }
}

/// Writes the residuals `y − xβ` into `r` and returns their case-weighted check loss.
fn residuals(x: &[f64], y: &[f64], case: &[f64], beta: &[f64], tau: f64, r: &mut [f64]) -> f64 {
    let p = beta.len();
    let mut loss = 0.0;
    for (((ri, row), yi), c) in r.iter_mut().zip(x.chunks_exact(p)).zip(y).zip(case) {
        *ri = yi - dot(row, beta);
        loss += c * check_loss(*ri, tau);
    }
    loss
}

/// Fits the `tau` quantile of `y` given rows `x` (length `p` each). `start` (e.g. the fit of a
/// neighbouring level) speeds convergence. `None` when the rows do not determine `β`.
/// `case` weighs the rows (e.g. by recency); `None` weighs them equally.
pub(crate) fn fit(
    x: &[Vec<f64>],
    y: &[f64],
    case: Option<&[f64]>,
    tau: f64,
    p: usize,
    start: Option<&[f64]>,
) -> Option<Vec<f64>> {
    let ones;
    let case = match case {
        Some(c) => c,
        None => {
            ones = vec![1.0; y.len()];
            &ones
        }
    };
    if x.len() < p || p == 0 {
        return None;
    }
    let x = flatten(x, p);
    let scale = y.iter().fold(0.0f64, |a, v| a.max(v.abs())).max(1e-12);
    let eps = 1e-6 * scale;
    let mut beta = match start {
        Some(b) => b.to_vec(),
        None => weighted_least_squares_flat(&x, y, case, p)?,
    };
    // The residuals of the current β serve both its loss and the next iteration's weights.
    let mut r = vec![0.0; y.len()];
    let mut r_next = vec![0.0; y.len()];
    let mut loss = residuals(&x, y, case, &beta, tau, &mut r);
    let mut w = vec![0.0; y.len()];
    for _ in 0..MAX_ITERATIONS {
        for ((wi, ri), ci) in w.iter_mut().zip(&r).zip(case) {
            let c = if *ri >= 0.0 { tau } else { 1.0 - tau };
            *wi = ci * c / ri.abs().max(eps);
        }
        let Some(next) = weighted_least_squares_flat(&x, y, &w, p) else {
            break;
        };
        let next_loss = residuals(&x, y, case, &next, tau, &mut r_next);
        if next_loss > loss {
            break;
        }
        let fall = (loss - next_loss) / loss.max(1e-300);
        beta = next;
        loss = next_loss;
        std::mem::swap(&mut r, &mut r_next);
        if fall < TOLERANCE {
            break;
        }
    }
    Some(beta)
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_quantiles_of_a_heteroscedastic_line() {
        // y = 2x + x·u with u uniform on [-1, 1]: the τ quantile is (2 + (2τ − 1))·x.
        let n = 4000;
        let mut state = 12345u64;
        let mut uniform = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut x = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n {
            let xi = 1.0 + 9.0 * uniform();
            let u = 2.0 * uniform() - 1.0;
            x.push(vec![xi]);
            y.push(2.0 * xi + xi * u);
        }
        for tau in [0.1, 0.5, 0.9] {
            let b = fit(&x, &y, None, tau, 1, None).unwrap();
            let want = 2.0 + (2.0 * tau - 1.0);
            assert!((b[0] - want).abs() < 0.05, "tau {tau}: {} vs {want}", b[0]);
        }
    }

    #[test]
    fn weighted_least_squares_matches_the_normal_equations_summed_row_by_row() {
        // 103 rows: 25 blocks of four and a remainder of three, five features.
        let (n, p) = (103, 5);
        let mut state = 99u64;
        let mut uniform = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let x: Vec<Vec<f64>> = (0..n)
            .map(|_| (0..p).map(|_| uniform() - 0.5).collect())
            .collect();
        let y: Vec<f64> = (0..n).map(|_| uniform()).collect();
        let w: Vec<f64> = (0..n).map(|_| 0.1 + uniform()).collect();
        let mut a = vec![0.0; p * p];
        let mut b = vec![0.0; p];
        for ((row, yi), wi) in x.iter().zip(&y).zip(&w) {
            for i in 0..p {
                b[i] += wi * row[i] * yi;
                for j in 0..p {
                    a[i * p + j] += wi * row[i] * row[j];
                }
            }
        }
        let want = solve_spd(&a, &b, p, 1e-9).unwrap();
        let got = weighted_least_squares(&x, &y, &w, p).unwrap();
        for (g, v) in got.iter().zip(&want) {
            assert!(
                (g - v).abs() < 1e-10 * (1.0 + v.abs()),
                "{got:?} vs {want:?}"
            );
        }
        // The last three rows count: leaving them out changes the solution.
        let short = weighted_least_squares(&x[..100], &y[..100], &w[..100], p).unwrap();
        assert!(short.iter().zip(&want).any(|(s, v)| (s - v).abs() > 1e-6));
    }

    #[test]
    fn solves_a_small_system() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let x = solve_spd(&a, &[2.0, 1.0], 2, 0.0).unwrap();
        assert!((4.0 * x[0] + 2.0 * x[1] - 2.0).abs() < 1e-12);
        assert!((2.0 * x[0] + 3.0 * x[1] - 1.0).abs() < 1e-12);
        assert!(solve_spd(&[0.0, 0.0, 0.0, 0.0], &[1.0, 1.0], 2, 0.0).is_none());
    }
}
