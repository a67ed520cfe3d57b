//! The state space filter: one pass over the data for a form and parameters, specialised per
//! form at compile time.

use super::*;

/// Runs the ETS recursion of R's `etscalc` from the initial level `l0`, growth `b0` and the
/// seasonal ring `seas` (in order of use: `seas[k]` is `s_{t-m}` at step `t = k`), updating them
/// in place. Returns R's likelihood criterion and the final level, growth and ring position.
/// `fitted`, when given, receives the one-step forecasts.
///
/// This is the innermost loop of every ETS fit (most of the engine's time): it dispatches once
/// to a kernel compiled for the form, so the loop carries no per-step branching on the form.
#[allow(clippy::too_many_arguments)]
pub(super) fn filter(
    y: &[f64],
    spec: Spec,
    p: &Params,
    l0: f64,
    b0: f64,
    seas: &mut [f64],
    fitted: Option<&mut [f64]>,
) -> (f64, f64, f64, usize) {
    let season = match spec.season {
        _ if seas.is_empty() => SEASON_NONE,
        Comp::A => SEASON_ADD,
        Comp::M => SEASON_MUL,
        Comp::N => SEASON_NONE,
    };
    let args = (y, p, l0, b0, seas, fitted);
    match (spec.error == Comp::M, spec.has_trend(), season) {
        (false, false, SEASON_NONE) => filter_kernel::<false, false, SEASON_NONE>(args),
        (false, false, SEASON_ADD) => filter_kernel::<false, false, SEASON_ADD>(args),
        (false, false, _) => filter_kernel::<false, false, SEASON_MUL>(args),
        (false, true, SEASON_NONE) => filter_kernel::<false, true, SEASON_NONE>(args),
        (false, true, SEASON_ADD) => filter_kernel::<false, true, SEASON_ADD>(args),
        (false, true, _) => filter_kernel::<false, true, SEASON_MUL>(args),
        (true, false, SEASON_NONE) => filter_kernel::<true, false, SEASON_NONE>(args),
        (true, false, SEASON_ADD) => filter_kernel::<true, false, SEASON_ADD>(args),
        (true, false, _) => filter_kernel::<true, false, SEASON_MUL>(args),
        (true, true, SEASON_NONE) => filter_kernel::<true, true, SEASON_NONE>(args),
        (true, true, SEASON_ADD) => filter_kernel::<true, true, SEASON_ADD>(args),
        (true, true, _) => filter_kernel::<true, true, SEASON_MUL>(args),
    }
}

pub(super) type FilterArgs<'a> = (
    &'a [f64],
    &'a Params,
    f64,
    f64,
    &'a mut [f64],
    Option<&'a mut [f64]>,
);

/// [`filter`] for one form: multiplicative error, trend, and season kind fixed at compile time.
#[inline(always)]
pub(super) fn filter_kernel<const MULT_ERR: bool, const TREND: bool, const SEASON: u8>(
    (y, p, l0, b0, seas, mut fitted): FilterArgs<'_>,
) -> (f64, f64, f64, usize) {
    let m = seas.len();
    let (mut l, mut b, mut k) = (l0, if TREND { b0 } else { 0.0 }, 0usize);
    // The log-sum of |f| is kept as a running product, renormalised rarely: one `ln` per
    // many steps instead of one per step.
    let (mut sse, mut logsum, mut prod) = (0.0f64, 0.0f64, 1.0f64);
    let ratio = p.beta / p.alpha;
    for (t, &yt) in y.iter().enumerate() {
        let phib = if TREND { p.phi * b } else { 0.0 };
        let q = l + phib;
        let s_old = if SEASON != SEASON_NONE { seas[k] } else { 0.0 };
        let f = match SEASON {
            SEASON_ADD => q + s_old,
            SEASON_MUL => q * s_old,
            _ => q,
        };
        if let Some(fv) = fitted.as_deref_mut() {
            fv[t] = f;
        }
        // With a multiplicative season and error, y/q and the relative error both come from
        // y/f (f = q s): divisions are the slowest operations of the loop. y/s stays a division
        // of its own, off the chain from one level to the next (s is known m steps ahead).
        let (e, pp, tt) = match SEASON {
            SEASON_MUL if MULT_ERR && s_old.abs() >= TOL && q.abs() >= TOL => {
                let yr = yt / f;
                (yr - 1.0, yt / s_old, yr * s_old)
            }
            SEASON_MUL => (
                if MULT_ERR { (yt - f) / f } else { yt - f },
                if s_old.abs() < TOL { HUGEN } else { yt / s_old },
                if q.abs() < TOL { HUGEN } else { yt / q },
            ),
            SEASON_ADD => (
                if MULT_ERR { (yt - f) / f } else { yt - f },
                yt - s_old,
                yt - q,
            ),
            _ => (if MULT_ERR { (yt - f) / f } else { yt - f }, yt, 0.0),
        };
        sse += e * e;
        if MULT_ERR {
            prod *= f.abs();
            if !(1e-100..=1e100).contains(&prod) {
                logsum += prod.ln();
                prod = 1.0;
            }
        }
        let l_new = q + p.alpha * (pp - q);
        if TREND {
            b = phib + ratio * ((l_new - l) - phib);
        }
        if SEASON != SEASON_NONE {
            seas[k] = s_old + p.gamma * (tt - s_old);
            k += 1;
            if k == m {
                k = 0;
            }
        }
        l = l_new;
    }
    let mut lik = y.len() as f64 * sse.ln();
    if MULT_ERR {
        lik += 2.0 * (logsum + prod.ln());
    }
    (lik, l, b, k)
}
