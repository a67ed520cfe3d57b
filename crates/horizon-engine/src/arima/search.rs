//! Choosing the differences and searching the orders (Hyndman & Khandakar 2008).

use std::collections::HashSet;

use super::{ArimaFit, ArimaOrder, MAX_MODELS, MAX_P, MAX_SEASONAL_P, difference, estimate};
use crate::{EngineError, seasonality};

/// KPSS critical value at 5% for a level-stationary null (Kwiatkowski et al. 1992, table 1):
/// above it, the series is differenced once more (R's `ndiffs`, `alpha = 0.05`).
pub const KPSS_CRITICAL_5PCT: f64 = 0.463;
/// Seasonal strength above which one seasonal difference is taken (R's `nsdiffs` with its
/// default `test = "seas"`, Wang, Smith & Hyndman 2006).
pub const SEASONAL_STRENGTH_DIFFERENCE: f64 = 0.64;
/// Longest history whose orders are compared by exact likelihood; longer ones (or seasons
/// above 12) are searched by conditional sum of squares and only the chosen order is refitted
/// exactly (R's `approximation = length(x) > 150 || frequency(x) > 12`).
pub const APPROXIMATION_LENGTH: usize = 150;
/// Most non-seasonal differences (R's `max.d`).
pub const MAX_D: usize = 2;

/// The KPSS statistic of `x` for level stationarity, with the Newey–West long-run variance over
/// `⌊3√n / 13⌋` lags (as R's `ndiffs` calls `urca::ur.kpss`).
pub fn kpss_statistic(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 2 {
        return 0.0;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let e: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let mut s = 0.0;
    let mut num = 0.0;
    for v in &e {
        s += v;
        num += s * s;
    }
    let nf = n as f64;
    let lags = (3.0 * nf.sqrt() / 13.0) as usize;
    let mut s2 = e.iter().map(|v| v * v).sum::<f64>() / nf;
    for i in 1..=lags.min(n - 1) {
        let cov: f64 = (i..n).map(|t| e[t] * e[t - i]).sum::<f64>() / nf;
        s2 += 2.0 * (1.0 - i as f64 / (lags as f64 + 1.0)) * cov;
    }
    if s2 <= 0.0 {
        return 0.0;
    }
    num / (nf * nf) / s2
}

fn is_constant(x: &[f64]) -> bool {
    x.windows(2).all(|w| w[0] == w[1])
}

/// Non-seasonal differences needed by repeated KPSS tests at 5%, at most [`MAX_D`].
pub fn ndiffs(x: &[f64]) -> usize {
    let mut x = x.to_vec();
    let mut d = 0;
    if x.len() < 3 || is_constant(&x) {
        return 0;
    }
    while d < MAX_D && kpss_statistic(&x) > KPSS_CRITICAL_5PCT {
        d += 1;
        x = difference(&x, 1);
        if x.len() < 3 || is_constant(&x) {
            break;
        }
    }
    d
}

/// Cycles on each side of a step whose same-phase values form its seasonal component in
/// [`seasonal_strength`]: an evolving seasonal pattern like STL's (R's `mstl` smooths each phase
/// over 11 cycles with tricube weights, about as narrow as a flat window over 7).
pub const SEASONAL_WINDOW_CYCLES: usize = 3;

/// Seasonal strength `max(0, 1 − var(R)/var(S + R))` of `x` with period `m`, the seasonal
/// component allowed to evolve (each step's is the mean of the detrended values of its phase
/// within [`SEASONAL_WINDOW_CYCLES`] cycles): a classical decomposition's fixed indices read a
/// growing seasonal swing (R's `UKgas`) as remainder, and R's test, on STL, does not.
pub fn seasonal_strength(x: &[f64], m: usize) -> f64 {
    let n = x.len();
    if m < 2 || n < 2 * m + 1 {
        return 0.0;
    }
    let trend = seasonality::centred_ma(x, m);
    let detrended: Vec<f64> = x.iter().zip(&trend).map(|(v, t)| v - t).collect();
    let mut s_plus_r = Vec::with_capacity(n);
    let mut r = Vec::with_capacity(n);
    for t in 0..n {
        if !detrended[t].is_finite() {
            continue;
        }
        let (mut sum, mut count) = (0.0, 0usize);
        for k in 0..=2 * SEASONAL_WINDOW_CYCLES {
            let Some(u) = (t + k * m).checked_sub(SEASONAL_WINDOW_CYCLES * m) else {
                continue;
            };
            if let Some(v) = detrended.get(u).filter(|v| v.is_finite()) {
                sum += v;
                count += 1;
            }
        }
        let seasonal = sum / count as f64;
        s_plus_r.push(detrended[t]);
        r.push(detrended[t] - seasonal);
    }
    let total = crate::util::variance(&s_plus_r);
    if r.len() < 3 || total.is_nan() || total <= 0.0 {
        return 0.0;
    }
    (1.0 - crate::util::variance(&r) / total).clamp(0.0, 1.0)
}

/// Seasonal differences (0 or 1): one when the [`seasonal_strength`] with period `m` exceeds
/// [`SEASONAL_STRENGTH_DIFFERENCE`].
pub fn nsdiffs(x: &[f64], m: usize) -> usize {
    if m < 2 || x.len() < 2 * m + 1 || is_constant(x) {
        return 0;
    }
    usize::from(seasonal_strength(x, m) > SEASONAL_STRENGTH_DIFFERENCE)
}

/// How [`fit_auto_with`] compares the orders it visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criterion {
    /// As R's `auto.arima`: exact likelihood for histories of up to [`APPROXIMATION_LENGTH`]
    /// values with seasons up to 12, the CSS approximation beyond.
    AsR,
    /// The CSS approximation for every history, the chosen order refitted exactly: a Kalman
    /// filter per optimiser step is what an exact search spends its time on (on M1's quarterly
    /// series 6x the approximate one's), for orders that rarely differ.
    Approximate,
    /// The CSS approximation throughout, the chosen order kept as CSS fitted it (R's
    /// `method = "CSS"`): no Kalman filter at all. Beside the default members it scored as the
    /// exact refit did (OWA M1 yearly 0.741 vs 0.744, M1 quarterly 0.850 vs 0.847, Tourism
    /// quarterly 0.850 vs 0.853) in two thirds of the time, but alone on M1's short monthly
    /// series it chose poor orders (OWA 1.062 against R's 0.956; so did [`Self::Approximate`]),
    /// which is why the ensemble's member searches as R does.
    Conditional,
}

/// [`fit_auto_with`] as R does it ([`Criterion::AsR`]).
///
/// # Errors
/// As [`fit_auto_with`].
pub fn fit_auto(y: &[f64], season: Option<usize>) -> Result<ArimaFit, EngineError> {
    fit_auto_with(y, season, Criterion::AsR)
}

/// Chooses the differences, then searches the ARMA orders stepwise from R's four starting
/// models, moving to the first neighbour with a lower AICc until none is (at most
/// [`MAX_MODELS`] fits). `season` below 2 (or a history shorter than two seasons and one value)
/// searches non-seasonal models only.
///
/// # Errors
/// [`EngineError::CannotFit`] when the history is too short (fewer than 3 values), holds a
/// non-finite value, or no order can be fitted.
pub fn fit_auto_with(
    y: &[f64],
    season: Option<usize>,
    criterion: Criterion,
) -> Result<ArimaFit, EngineError> {
    let cannot = |reason: &str| EngineError::CannotFit {
        model: "auto_arima",
        reason: reason.to_owned(),
    };
    let n = y.len();
    if n < 3 {
        return Err(cannot("needs at least 3 values"));
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(cannot("the history holds a missing or non-finite value"));
    }
    let m = season.filter(|m| *m >= 2 && n > 2 * m).unwrap_or(1);
    if is_constant(y) {
        return estimate::fit_order(
            y,
            ArimaOrder {
                p: 0,
                d: 0,
                q: 0,
                sp: 0,
                sd: 0,
                sq: 0,
                m: 1,
                constant: true,
            },
            false,
        );
    }
    let sd = nsdiffs(y, m);
    let mut dx = y.to_vec();
    for _ in 0..sd {
        dx = difference(&dx, m);
    }
    let d = ndiffs(&dx);
    let max_sp = if m > 1 {
        MAX_SEASONAL_P.min(n / 3 / m)
    } else {
        0
    };
    // As R: no more AR/MA terms than a third of the history, nor (with seasonal terms) than
    // the season has steps.
    let mut max_p = MAX_P.min(n / 3);
    if max_sp > 0 {
        max_p = max_p.min(m - 1);
    }
    let max_q = max_p;
    let mut search = Search {
        y,
        m,
        d,
        sd,
        tried: HashSet::new(),
        exact: criterion == Criterion::AsR && n <= APPROXIMATION_LENGTH && m <= 12,
        best: None,
    };
    let allow_constant = d + sd <= 1;
    let base = |p, q, sp, sq, constant| ArimaOrder {
        p,
        d,
        q,
        sp,
        sd,
        sq,
        m,
        constant,
    };
    let seasonal = usize::from(m > 1);
    search.try_order(base(
        2.min(max_p),
        2.min(max_q),
        seasonal.min(max_sp),
        seasonal.min(max_sp),
        allow_constant,
    ));
    search.try_order(base(0, 0, 0, 0, allow_constant));
    if max_p > 0 || max_sp > 0 {
        search.try_order(base(
            usize::from(max_p > 0),
            0,
            usize::from(max_sp > 0),
            0,
            allow_constant,
        ));
    }
    if max_q > 0 || max_sp > 0 {
        search.try_order(base(
            0,
            usize::from(max_q > 0),
            0,
            usize::from(max_sp > 0),
            allow_constant,
        ));
    }
    if allow_constant {
        search.try_order(base(0, 0, 0, 0, false));
    }
    // The search's position. As in R, `constant` changes only by its own move: the
    // constant-free null model can become the best fit while the neighbours keep the constant.
    let (mut p, mut q, mut sp, mut sq) = match search.best.as_ref().map(|(_, f)| f.order) {
        Some(o) => (o.p, o.q, o.sp, o.sq),
        None => return Err(cannot("no order could be fitted")),
    };
    let mut constant = allow_constant;
    // R's order of neighbours: seasonal first, then non-seasonal; the constant last.
    const MOVES: [(isize, isize, isize, isize); 16] = [
        (0, 0, -1, 0),
        (0, 0, 0, -1),
        (0, 0, 1, 0),
        (0, 0, 0, 1),
        (0, 0, -1, -1),
        (0, 0, -1, 1),
        (0, 0, 1, -1),
        (0, 0, 1, 1),
        (-1, 0, 0, 0),
        (0, -1, 0, 0),
        (1, 0, 0, 0),
        (0, 1, 0, 0),
        (-1, -1, 0, 0),
        (-1, 1, 0, 0),
        (1, -1, 0, 0),
        (1, 1, 0, 0),
    ];
    'search: while search.tried.len() < MAX_MODELS {
        for (dp, dq, dsp, dsq) in MOVES {
            let step =
                |v: usize, dv: isize, max: usize| v.checked_add_signed(dv).filter(|v| *v <= max);
            let (Some(np), Some(nq), Some(nsp), Some(nsq)) = (
                step(p, dp, max_p),
                step(q, dq, max_q),
                step(sp, dsp, max_sp),
                step(sq, dsq, max_sp),
            ) else {
                continue;
            };
            if search.try_order(base(np, nq, nsp, nsq, constant)) {
                (p, q, sp, sq) = (np, nq, nsp, nsq);
                continue 'search;
            }
        }
        if allow_constant && search.try_order(base(p, q, sp, sq, !constant)) {
            constant = !constant;
            continue 'search;
        }
        break;
    }
    match search.best {
        // As R: a search by the approximation ends with the chosen order refitted exactly.
        Some((_, fit)) if !search.exact && criterion != Criterion::Conditional => {
            Ok(estimate::fit_order(y, fit.order, true).unwrap_or(fit))
        }
        Some((_, fit)) => Ok(fit),
        None => Err(cannot("no order could be fitted")),
    }
}

struct Search<'a> {
    y: &'a [f64],
    m: usize,
    d: usize,
    sd: usize,
    tried: HashSet<ArimaOrder>,
    /// Compare orders by exact likelihood (short series), else by the CSS approximation.
    exact: bool,
    best: Option<(f64, ArimaFit)>,
}

impl Search<'_> {
    /// Fits `order` unless tried already; `true` when it became the best.
    fn try_order(&mut self, order: ArimaOrder) -> bool {
        debug_assert_eq!((order.d, order.sd, order.m), (self.d, self.sd, self.m));
        if self.tried.len() >= MAX_MODELS || !self.tried.insert(order) {
            return false;
        }
        let Ok(fit) = estimate::fit_order(self.y, order, self.exact) else {
            return false;
        };
        let ic = fit.aicc;
        if !ic.is_finite() {
            return false;
        }
        if self.best.as_ref().is_none_or(|(b, _)| ic < *b) {
            self.best = Some((ic, fit));
            return true;
        }
        false
    }
}
