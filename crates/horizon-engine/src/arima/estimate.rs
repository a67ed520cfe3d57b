//! Conditional-sum-of-squares estimation of one order.

use super::{ArimaFit, ArimaOrder, ROOT_MARGIN, difference};
use crate::{EngineError, optim::least_squares, util};

/// Most Levenberg–Marquardt iterations of one fit.
const LM_ITERATIONS: usize = 100;

/// Largest partial autocorrelation the optimiser may set: a root this close to the unit
/// circle is ruled out by [`ROOT_MARGIN`] anyway, and the CSS surface is flat beyond.
const PACF_BOUND: f64 = 0.99;

/// CSS residuals of `w` for expanded coefficients: zero for the first `ncond` steps (they
/// condition the recursion), as R's `arima(method = "CSS")` sets them.
pub(super) fn residuals(w: &[f64], ar: &[f64], ma: &[f64], mu: f64, ncond: usize) -> Vec<f64> {
    let mut e = Vec::with_capacity(w.len());
    residuals_into(w, ar, ma, mu, ncond, &mut e);
    e
}

/// [`residuals`] into a buffer the caller keeps (the optimiser calls this thousands of times).
pub(super) fn residuals_into(
    w: &[f64],
    ar: &[f64],
    ma: &[f64],
    mu: f64,
    ncond: usize,
    e: &mut Vec<f64>,
) {
    let n = w.len();
    e.clear();
    e.resize(n, 0.0);
    for t in ncond..n {
        let mut v = w[t] - mu;
        // Only the non-zero lags count: a seasonal model has a handful among dozens.
        for (k, &a) in ar.iter().enumerate() {
            if a != 0.0 {
                v -= a * (w[t - k - 1] - mu);
            }
        }
        for (k, &b) in ma.iter().enumerate().take(t) {
            if b != 0.0 {
                v -= b * e[t - k - 1];
            }
        }
        e[t] = v;
    }
}

/// AR coefficients (`x_t = Σ a_k x_{t−k}`) of the partial autocorrelations `u` (Durbin–Levinson):
/// stationary whenever every `|u| < 1`.
pub(super) fn pacf_to_ar(u: &[f64]) -> Vec<f64> {
    let mut a = Vec::new();
    pacf_to_ar_into(u, &mut a, &mut Vec::new());
    a
}

fn pacf_to_ar_into(u: &[f64], a: &mut Vec<f64>, tmp: &mut Vec<f64>) {
    a.clear();
    a.resize(u.len(), 0.0);
    tmp.clear();
    tmp.resize(u.len(), 0.0);
    for k in 0..u.len() {
        for j in 0..k {
            tmp[j] = a[j] - u[k] * a[k - 1 - j];
        }
        a[..k].copy_from_slice(&tmp[..k]);
        a[k] = u[k];
    }
}

/// Whether every root of `1 − Σ a_k zᵏ` lies outside the circle of radius `radius`: the
/// step-down (reverse Levinson) recursion on the coefficients scaled by `radius^k` keeps every
/// reflection coefficient inside (−1, 1) exactly then.
pub(super) fn roots_outside(a: &[f64], radius: f64) -> bool {
    let mut c: Vec<f64> = a
        .iter()
        .enumerate()
        .map(|(k, v)| v * radius.powi(k as i32 + 1))
        .collect();
    while let Some(&kappa) = c.last() {
        if !kappa.is_finite() || kappa.abs() >= 1.0 {
            return false;
        }
        let p = c.len();
        let den = 1.0 - kappa * kappa;
        let prev: Vec<f64> = (0..p - 1)
            .map(|k| (c[k] + kappa * c[p - 2 - k]) / den)
            .collect();
        c = prev;
    }
    true
}

/// `(1 − Σ φ_i Bⁱ)(1 − Σ Φ_j Bʲᵐ)` as expanded AR coefficients.
pub(super) fn expand_ar(phi: &[f64], sphi: &[f64], m: usize) -> Vec<f64> {
    let mut a = Vec::new();
    expand_into(phi, sphi, m, -1.0, &mut a);
    a
}

/// `(1 + Σ θ_i Bⁱ)(1 + Σ Θ_j Bʲᵐ)` as expanded MA coefficients.
pub(super) fn expand_ma(theta: &[f64], stheta: &[f64], m: usize) -> Vec<f64> {
    let mut b = Vec::new();
    expand_into(theta, stheta, m, 1.0, &mut b);
    b
}

/// The coefficients by lag of `(1 + σ Σ c_i Bⁱ)(1 + σ Σ s_j Bʲᵐ)` read back with the sign `σ`
/// (−1 for the AR side, written `1 − Σ a_k Bᵏ`; +1 for the MA side): each factor's own
/// coefficients, and the cross terms `σ c_i s_j` at lags `i + jm`.
fn expand_into(c: &[f64], s: &[f64], m: usize, sign: f64, out: &mut Vec<f64>) {
    out.clear();
    out.resize(c.len() + s.len() * m, 0.0);
    for (i, v) in c.iter().enumerate() {
        out[i] += v;
    }
    for (j, sv) in s.iter().enumerate() {
        let lag = (j + 1) * m;
        out[lag - 1] += sv;
        for (i, v) in c.iter().enumerate() {
            out[lag + i] += sign * v * sv;
        }
    }
}

/// Buffers one fit reuses across the optimiser's thousands of evaluations.
#[derive(Default)]
struct Work {
    factors: [Vec<f64>; 4],
    tmp: Vec<f64>,
    ar: Vec<f64>,
    ma: Vec<f64>,
    e: Vec<f64>,
    kalman: KalmanWork,
}

impl Work {
    /// Expands the optimiser's point into `ar`, `ma`; returns the constant.
    fn model_at(&mut self, x: &[f64], o: &ArimaOrder, k: usize, scale: f64) -> f64 {
        let (p, q, sp) = (o.p, o.q, o.sp);
        let ranges = [0..p, p..p + q, p + q..p + q + sp, p + q + sp..k];
        for (i, r) in ranges.into_iter().enumerate() {
            pacf_to_ar_into(&x[r], &mut self.factors[i], &mut self.tmp);
            if i % 2 == 1 {
                // MA factors: θ = −(the AR coefficients of the same partial autocorrelations).
                self.factors[i].iter_mut().for_each(|v| *v = -*v);
            }
        }
        expand_into(
            &self.factors[0],
            &self.factors[2],
            o.m.max(1),
            -1.0,
            &mut self.ar,
        );
        expand_into(
            &self.factors[1],
            &self.factors[3],
            o.m.max(1),
            1.0,
            &mut self.ma,
        );
        if o.constant { x[k] * scale } else { 0.0 }
    }
}

/// The four factors from the optimiser's partial autocorrelations.
fn factors(x: &[f64], o: &ArimaOrder) -> [Vec<f64>; 4] {
    let (p, q, sp, sq) = (o.p, o.q, o.sp, o.sq);
    let phi = pacf_to_ar(&x[..p]);
    let theta: Vec<f64> = pacf_to_ar(&x[p..p + q]).iter().map(|v| -v).collect();
    let sphi = pacf_to_ar(&x[p + q..p + q + sp]);
    let stheta: Vec<f64> = pacf_to_ar(&x[p + q + sp..p + q + sp + sq])
        .iter()
        .map(|v| -v)
        .collect();
    [phi, theta, sphi, stheta]
}

/// Fits `order` by CSS and, when `exact`, refines the CSS solution by exact maximum likelihood
/// (R's default `CSS-ML`), which is what the AICc then measures.
pub(super) fn fit_order(
    y: &[f64],
    order: ArimaOrder,
    exact: bool,
) -> Result<ArimaFit, EngineError> {
    let cannot = |reason: String| EngineError::CannotFit {
        model: "auto_arima",
        reason,
    };
    if y.iter().any(|v| !v.is_finite()) {
        return Err(cannot(
            "the history holds a missing or non-finite value".into(),
        ));
    }
    let m = order.m.max(1);
    let mut w = y.to_vec();
    for lag in order.lags() {
        w = difference(&w, lag);
    }
    let ncond = order.p + order.sp * m;
    let n_params = order.n_params();
    let nw = w.len();
    if nw < ncond + n_params + 2 {
        return Err(cannot(format!(
            "{} needs more than {} values",
            order.spec(),
            y.len()
        )));
    }
    // The constant is optimised in units of the differenced series' spread.
    let scale = util::variance(&w)
        .sqrt()
        .max(1e-10 * util::mean(&w).abs())
        .max(1e-300);
    let k = order.p + order.q + order.sp + order.sq;
    let mut css_work = Work::default();
    let css_residuals = |x: &[f64], out: &mut Vec<f64>| -> bool {
        let mu = css_work.model_at(x, &order, k, scale);
        residuals_into(&w, &css_work.ar, &css_work.ma, mu, ncond, &mut css_work.e);
        out.clear();
        out.extend_from_slice(&css_work.e[ncond..]);
        out.iter().all(|v| v.is_finite())
    };
    let mut x0 = vec![0.0; k];
    let mut lower = vec![-PACF_BOUND; k];
    let mut upper = vec![PACF_BOUND; k];
    if order.constant {
        x0.push(util::mean(&w) / scale);
        lower.push(f64::NEG_INFINITY);
        upper.push(f64::INFINITY);
    }
    // Both criteria are sums of squares (CSS: the residuals; exact likelihood: the
    // standardised innovations scaled by the geometric mean of their variances, whose sum is
    // the concentrated likelihood's), so Levenberg–Marquardt fits them in a few dozen passes.
    // A relative change of 1e-8 in the sum moves the AICc by about 1e-8 · n.
    let mut x = least_squares(css_residuals, &x0, &lower, &upper, LM_ITERATIONS, 1e-6).x;
    let mut ml_work = Work::default();
    let exact_residuals = |x: &[f64], out: &mut Vec<f64>| -> bool {
        let mu = ml_work.model_at(x, &order, k, scale);
        let Work {
            ar, ma, kalman: kw, ..
        } = &mut ml_work;
        let (obj, _) = kalman(&w, ar, ma, mu, Some(out), kw);
        if !obj.is_finite() {
            return false;
        }
        out.iter().all(|v| v.is_finite())
    };
    let mut exact_fit = None;
    if exact {
        if !x.is_empty() {
            let refined = least_squares(exact_residuals, &x, &lower, &upper, LM_ITERATIONS, 1e-6);
            if refined.ssr.is_finite() {
                x = refined.x;
            }
        }
        let mu = ml_work.model_at(&x, &order, k, scale);
        let Work {
            ar, ma, kalman: kw, ..
        } = &mut ml_work;
        let (obj, s2) = kalman(&w, ar, ma, mu, None, kw);
        if obj.is_finite() {
            exact_fit = Some((obj, s2));
        }
    }
    let coefficients = factors(&x, &order);
    let [phi, theta, sphi, stheta] = &coefficients;
    let ar = expand_ar(phi, sphi, m);
    let ma = expand_ma(theta, stheta, m);
    let mu = if order.constant { x[k] * scale } else { 0.0 };
    let e = residuals(&w, &ar, &ma, mu, ncond);
    let n_used = nw - ncond;
    let css_sigma2 = e[ncond..].iter().map(|v| v * v).sum::<f64>() / n_used as f64;
    let ml_sigma2 = exact_fit.map_or(css_sigma2, |(_, s2)| s2);
    if !ml_sigma2.is_finite() {
        return Err(cannot(format!("{}: no finite fit", order.spec())));
    }
    let roots_ok = roots_outside(phi, ROOT_MARGIN)
        && roots_outside(&theta.iter().map(|v| -v).collect::<Vec<_>>(), ROOT_MARGIN)
        && roots_outside(sphi, ROOT_MARGIN.powi(m as i32))
        && roots_outside(
            &stheta.iter().map(|v| -v).collect::<Vec<_>>(),
            ROOT_MARGIN.powi(m as i32),
        );
    // R's approximate criterion: −2 log L of the CSS fit up to a constant shared by every
    // order of the same differencing, over the differenced length.
    let nstar = nw as f64;
    let npar = n_params as f64;
    // −2 log L: exact, or R's approximation from the CSS variance.
    let neg2_loglik = match exact_fit {
        Some((obj, _)) => 2.0 * nstar * obj + nstar * (1.0 + (2.0 * std::f64::consts::PI).ln()),
        None => nstar * (2.0 * std::f64::consts::PI * ml_sigma2.max(1e-300)).ln() + nstar,
    };
    // The variance the intervals use is corrected for the estimated coefficients, as R's
    // `forecast::Arima` does (residual sum of squares over `n − npar + 1`).
    let sigma2 = if nstar - npar + 1.0 > 0.0 {
        ml_sigma2 * nstar / (nstar - npar + 1.0)
    } else {
        ml_sigma2
    };
    let aicc = if roots_ok && nstar - npar - 1.0 > 0.0 {
        neg2_loglik + 2.0 * npar + 2.0 * npar * (npar + 1.0) / (nstar - npar - 1.0)
    } else {
        f64::INFINITY
    };
    let skip = y.len() - nw + ncond;
    let fitted: Vec<f64> = (0..y.len())
        .map(|t| {
            if t < skip {
                f64::NAN
            } else {
                y[t] - e[t - (y.len() - nw)]
            }
        })
        .collect();
    Ok(ArimaFit {
        order,
        ar,
        ma,
        coefficients: coefficients.clone(),
        mu,
        sigma2,
        aicc,
        y: y.to_vec(),
        fitted,
    })
}

/// Most doublings of the sum that gives the state's stationary covariance: 2¹² terms of its
/// MA(∞) form, enough for an AR root at the [`ROOT_MARGIN`].
const P0_DOUBLINGS: usize = 12;

/// The stationary covariance `P = Σ_k Tᵏ R Rᵀ Tᵏᵀ` of Harvey's state (`T` the companion of `ar`,
/// `R = (1, θ_1, …)`), row-major `r × r`, by doubling: `P ← P + A P Aᵀ`, `A ← A²` sums
/// `2ʲ` terms after `j` steps, and stops once `A` has vanished.
fn stationary_covariance(ar: &[f64], ma: &[f64], r: usize, work: &mut KalmanWork) {
    let rv = |i: usize| {
        if i == 0 {
            1.0
        } else {
            ma.get(i - 1).copied().unwrap_or(0.0)
        }
    };
    let KalmanWork { p, a, ap, next, .. } = work;
    for buf in [&mut *p, &mut *a, &mut *ap, &mut *next] {
        buf.clear();
        buf.resize(r * r, 0.0);
    }
    for i in 0..r {
        for j in 0..r {
            p[i * r + j] = rv(i) * rv(j);
        }
    }
    for i in 0..r {
        a[i * r] = ar.get(i).copied().unwrap_or(0.0);
        if i + 1 < r {
            a[i * r + i + 1] = 1.0;
        }
    }
    let matmul = |x: &[f64], y: &[f64], out: &mut [f64], transpose_y: bool| {
        for i in 0..r {
            for j in 0..r {
                let mut acc = 0.0;
                for k in 0..r {
                    let yk = if transpose_y {
                        y[j * r + k]
                    } else {
                        y[k * r + j]
                    };
                    acc += x[i * r + k] * yk;
                }
                out[i * r + j] = acc;
            }
        }
    };
    for _ in 0..P0_DOUBLINGS {
        matmul(a, p, ap, false);
        matmul(ap, a, next, true);
        let mut added = 0.0f64;
        let mut size = 0.0f64;
        for (pi, ni) in p.iter_mut().zip(next.iter()) {
            *pi += ni;
            added = added.max(ni.abs());
            size = size.max(pi.abs());
        }
        // The terms still to come are smaller than these: stop once they cannot matter.
        if added <= 1e-10 * size {
            break;
        }
        matmul(a, a, ap, false);
        std::mem::swap(a, ap);
    }
}

/// The Kalman filter's buffers, kept across evaluations.
#[derive(Default)]
pub(super) struct KalmanWork {
    p: Vec<f64>,
    a: Vec<f64>,
    ap: Vec<f64>,
    next: Vec<f64>,
    state: Vec<f64>,
    tp: Vec<f64>,
    gain: Vec<f64>,
    row0: Vec<f64>,
}

/// Exact Gaussian likelihood of the ARMA `w − μ` (expanded `ar`, `ma`) by a Kalman filter on
/// Harvey's state-space form, as R's `arima` computes it; returns the concentrated objective
/// `½(ln σ̂² + Σ ln F_t / n)` and `σ̂²`. With `scaled`, also the innovations `v_t / √F_t`
/// times `(Π F_t)^{1/2n}`, whose sum of squares is `n · exp(2 · objective)`. The initial state covariance is the stationary one,
/// summed from the state's MA(∞) representation (`Σ Tᵏ R Rᵀ Tᵏᵀ`) until its terms vanish.
pub(super) fn kalman(
    w: &[f64],
    ar: &[f64],
    ma: &[f64],
    mu: f64,
    mut scaled: Option<&mut Vec<f64>>,
    work: &mut KalmanWork,
) -> (f64, f64) {
    if let Some(out) = scaled.as_deref_mut() {
        out.clear();
    }
    let r = ar.len().max(ma.len() + 1).max(1);
    let a_at = |i: usize| ar.get(i).copied().unwrap_or(0.0);
    stationary_covariance(ar, ma, r, work);
    let KalmanWork {
        p,
        state: a,
        tp,
        gain,
        row0,
        ..
    } = work;
    for (buf, len) in [
        (&mut *a, r),
        (&mut *tp, r * r),
        (&mut *gain, r),
        (&mut *row0, r),
    ] {
        buf.clear();
        buf.resize(len, 0.0);
    }
    let (mut ssq, mut sumlog, mut nu) = (0.0, 0.0, 0usize);
    let mut steady = false;
    for &x in w {
        let f = if steady { 1.0 } else { p[0] };
        if !(f > 0.0 && f.is_finite()) {
            return (f64::INFINITY, f64::NAN);
        }
        let resid = x - mu - a[0];
        if let Some(out) = scaled.as_deref_mut() {
            out.push(resid / f.sqrt());
        }
        ssq += resid * resid / f;
        sumlog += f.ln();
        nu += 1;
        // Update: a += K v with K = P[:,0] / F; P −= P[:,0] P[0,:] / F.
        if !steady {
            for i in 0..r {
                gain[i] = p[i * r] / f;
            }
        }
        for i in 0..r {
            a[i] += gain[i] * resid;
        }
        // Predict: a ← T a.
        let a0 = a[0];
        for i in 0..r {
            a[i] = a_at(i) * a0 + if i + 1 < r { a[i + 1] } else { 0.0 };
        }
        if steady {
            continue;
        }
        row0.copy_from_slice(&p[..r]);
        for i in 0..r {
            for j in 0..r {
                p[i * r + j] -= gain[i] * row0[j];
            }
        }
        // P ← T P Tᵀ + R Rᵀ, T the companion of `ar`.
        for i in 0..r {
            for j in 0..r {
                let below = if i + 1 < r { p[(i + 1) * r + j] } else { 0.0 };
                tp[i * r + j] = a_at(i) * p[j] + below;
            }
        }
        let mut change = 0.0f64;
        for i in 0..r {
            let ri = if i == 0 {
                1.0
            } else {
                ma.get(i - 1).copied().unwrap_or(0.0)
            };
            for j in 0..r {
                let rj = if j == 0 {
                    1.0
                } else {
                    ma.get(j - 1).copied().unwrap_or(0.0)
                };
                let right = if j + 1 < r { tp[i * r + j + 1] } else { 0.0 };
                let next = tp[i * r] * a_at(j) + right + ri * rj;
                change = change.max((next - p[i * r + j]).abs());
                p[i * r + j] = next;
            }
        }
        // Once the filter has converged (an invertible MA: the state is known from the past),
        // F = 1 and the gain is fixed; the covariance recursion is skipped from there.
        if change < 1e-10 && (p[0] - 1.0).abs() < 1e-10 {
            for i in 0..r {
                gain[i] = p[i * r];
            }
            steady = true;
        }
    }
    let s2 = ssq / nu as f64;
    if !(s2 > 0.0 && s2.is_finite()) {
        return (f64::INFINITY, s2);
    }
    if let Some(out) = scaled {
        let g = (0.5 * sumlog / nu as f64).exp();
        out.iter_mut().for_each(|v| *v *= g);
    }
    (0.5 * (s2.ln() + sumlog / nu as f64), s2)
}
