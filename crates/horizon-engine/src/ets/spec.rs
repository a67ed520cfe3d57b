//! A model's form (error, trend, season) and its parameters, and which parameters are
//! admissible (R's "both" bounds and the characteristic roots).

use super::*;

/// One component form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Comp {
    N,
    A,
    M,
}

/// A model form: error, trend (with damping) and season.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Spec {
    pub(super) error: Comp,
    pub(super) trend: Comp,
    pub(super) damped: bool,
    pub(super) season: Comp,
}

impl Spec {
    pub(super) fn parse(s: &str) -> Option<Spec> {
        let c: Vec<char> = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, ',' | ' '))
            .collect();
        let comp = |c: char| match c.to_ascii_uppercase() {
            'N' => Some(Comp::N),
            'A' => Some(Comp::A),
            'M' => Some(Comp::M),
            _ => None,
        };
        let (error, trend, damped, season) = match c.as_slice() {
            [e, t, s] => (comp(*e)?, comp(*t)?, false, comp(*s)?),
            [e, t, d, s] if d.eq_ignore_ascii_case(&'d') => (comp(*e)?, comp(*t)?, true, comp(*s)?),
            _ => return None,
        };
        if error == Comp::N || trend == Comp::M || (damped && trend == Comp::N) {
            return None;
        }
        Some(Spec {
            error,
            trend,
            damped,
            season,
        })
    }

    pub(super) fn label(&self) -> String {
        let c = |c: Comp| match c {
            Comp::N => "N",
            Comp::A => "A",
            Comp::M => "M",
        };
        format!(
            "ETS({},{}{},{})",
            c(self.error),
            c(self.trend),
            if self.damped { "d" } else { "" },
            c(self.season)
        )
    }

    pub(super) fn has_trend(&self) -> bool {
        self.trend != Comp::N
    }

    pub(super) fn seasonal(&self) -> bool {
        self.season != Comp::N
    }
}

/// Smoothing parameters; `beta = 0`, `gamma = 0`, `phi = 1` when the component is absent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Params {
    pub(super) alpha: f64,
    pub(super) beta: f64,
    pub(super) gamma: f64,
    pub(super) phi: f64,
}

/// Season kinds of the monomorphised filter kernels.
pub(super) const SEASON_NONE: u8 = 0;
pub(super) const SEASON_ADD: u8 = 1;
pub(super) const SEASON_MUL: u8 = 2;

/// Whether all roots of `c[0] + c[1] z + ... + c[d] z^d` (with `c[d] != 0`) lie within radius
/// `1 + 1e-10` (Schur–Cohn step-down test). At most 26 coefficients.
pub(super) fn roots_inside_unit_circle(c: &[f64]) -> bool {
    let d = c.len().saturating_sub(1);
    if d == 0 || d > 25 || c[d] == 0.0 {
        return d == 0;
    }
    let r: f64 = 1.0 + 1e-10;
    // a[j] is the coefficient of z^(d-j) of P(r z) / (c[d] r^d): monic, descending powers.
    let mut a = [0.0f64; 26];
    // Powers of r by repeated multiplication (`powi` per coefficient was a tenth of all fits).
    let mut rp = [1.0f64; 26];
    for i in 1..=d {
        rp[i] = rp[i - 1] * r;
    }
    let lead = c[d] * rp[d];
    for (j, aj) in a.iter_mut().enumerate().take(d + 1) {
        *aj = c[d - j] * rp[d - j] / lead;
    }
    let mut tmp = [0.0f64; 26];
    for i in (1..=d).rev() {
        let k = a[i];
        if k.is_nan() || k.abs() >= 1.0 {
            return false;
        }
        // One division per degree, not per coefficient: this test runs at every evaluation.
        let inv = 1.0 / (1.0 - k * k);
        for j in 0..i {
            tmp[j] = (a[j] - k * a[i - j]) * inv;
        }
        a[..i].copy_from_slice(&tmp[..i]);
    }
    true
}

/// R's `admissible` (forecast package) for the given components.
pub(super) fn admissible(spec: Spec, p: &Params, m: usize) -> bool {
    let phi = if spec.damped { p.phi } else { 1.0 };
    let alpha = p.alpha;
    if !(0.0..=1.0 + 1e-8).contains(&phi) {
        return false;
    }
    if !spec.seasonal() || m < 2 {
        if alpha < 1.0 - 1.0 / phi || alpha > 1.0 + 1.0 / phi {
            return false;
        }
        if spec.has_trend() {
            let beta = p.beta;
            if beta < alpha * (phi - 1.0) || beta > (1.0 + phi) * (2.0 - alpha) {
                return false;
            }
        }
        return true;
    }
    let beta = if spec.has_trend() { p.beta } else { 0.0 };
    let gamma = p.gamma;
    let mf = m as f64;
    if gamma < (1.0 - 1.0 / phi - alpha).max(0.0) || gamma > 1.0 + 1.0 / phi - alpha {
        return false;
    }
    if alpha < 1.0 - 1.0 / phi - gamma * (1.0 - mf + phi + phi * mf) / (2.0 * phi * mf) {
        return false;
    }
    if beta < -(1.0 - phi) * (gamma / mf + alpha) {
        return false;
    }
    let mut c = [0.0f64; 26];
    let d = m + 1;
    c[0] = phi * (1.0 - alpha - gamma);
    c[1] = alpha + beta - alpha * phi + gamma - 1.0;
    for cj in c.iter_mut().take(m).skip(2) {
        *cj = alpha + beta - alpha * phi;
    }
    c[m] = alpha + beta - phi;
    c[m + 1] = 1.0;
    roots_inside_unit_circle(&c[..=d])
}

/// R's `check.param` with `bounds = "both"`.
pub(super) fn check_params(spec: Spec, p: &Params, m: usize) -> bool {
    if !(p.alpha >= LOWER[0] && p.alpha <= UPPER[0]) {
        return false;
    }
    if spec.has_trend() && !(p.beta >= LOWER[1] && p.beta <= p.alpha && p.beta <= UPPER[1]) {
        return false;
    }
    if spec.damped && !(p.phi >= LOWER[3] && p.phi <= UPPER[3]) {
        return false;
    }
    if spec.seasonal() && !(p.gamma >= LOWER[2] && p.gamma <= 1.0 - p.alpha && p.gamma <= UPPER[2])
    {
        return false;
    }
    admissible(spec, p, m)
}
