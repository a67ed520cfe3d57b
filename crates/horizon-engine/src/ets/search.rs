//! Fitting: one form by Nelder–Mead on R's criterion, and the AICc search over forms with
//! warm starts; refits for validation windows.

use super::*;

/// One fitted form, on the scaled data.
#[derive(Debug, Clone)]
pub(super) struct Fitted {
    pub(super) spec: Spec,
    pub(super) m: usize,
    pub(super) params: Params,
    pub(super) lik: f64,
    pub(super) aicc: f64,
    pub(super) sigma2: f64,
    pub(super) n_params: usize,
    pub(super) fitted: Vec<f64>,
    pub(super) level: f64,
    pub(super) growth: f64,
    /// Final seasonal states in order of use: `seas[i]` applies to step `i + 1` ahead.
    pub(super) seas: Vec<f64>,
    /// The optimiser's solution (parameters then initial states), a warm start for related forms.
    pub(super) x: Vec<f64>,
}

/// Optimiser settings: statsforecast's tolerance on the likelihood (1e-4) and iteration cap
/// (1 000), R's coefficients made dimension-adaptive.
pub(super) fn nm_options() -> NelderMeadOptions {
    NelderMeadOptions {
        max_iter: 1_000,
        f_abs_tol: 1e-4,
        f_rel_tol: 0.0,
        bounded_step: 0.1,
        relative_step: 0.1,
        zero_step: 1e-2,
        adaptive: true,
        restarts: 0,
    }
}

/// Iteration cap of the second, full-dimensional stage for seasonal forms.
pub(super) const SEASONAL_STAGE_TWO_ITER: usize = 300;
/// The same cap while searching forms and refitting on validation windows: the search only
/// ranks forms, and the winner is refitted with [`SEASONAL_STAGE_TWO_ITER`]. 100 and 300 gave
/// the same M1/Tourism monthly accuracy (OWA 0.911 / 0.830) at three quarters of the time.
pub(super) const SEASONAL_SEARCH_ITER: usize = 100;
/// The cap while ranking forms in [`fit_auto`]: half of [`SEASONAL_SEARCH_ITER`]. With the warm
/// starts and the looser stage one below, the search took half the instructions of the
/// previous one on M1 monthly, at the same M1/Tourism OWA (0.850 / 0.879).
pub(super) const SEASONAL_RANK_ITER: usize = 50;
/// Stage one (seasonal states held) only prepares stage two: it stops when the likelihood
/// criterion spans at most this much across the simplex (stage two keeps `nm_options`'s 1e-4;
/// AICc differences that decide between forms are of order 1)...
pub(super) const STAGE_ONE_TOL: f64 = 1e-3;
/// ... or after this many iterations (the damped seasonal forms took up to 1 600 evaluations).
pub(super) const STAGE_ONE_ITER: usize = 300;
/// Initial simplex of the seasonal winner's polish, as a share of the usual one.
pub(super) const POLISH_SIMPLEX: f64 = 0.5;
/// Damping parameter of a damped form started from its undamped fit (just below R's upper
/// bound 0.98, so that the first simplex explores real damping).
pub(super) const WARM_PHI: f64 = 0.97;

/// Where [`fit_form`] starts the optimiser.
#[derive(Clone, Copy)]
pub(super) enum Start<'a> {
    /// From the heuristic initial states and parameters (`init_states`, `init_params`).
    Heuristic,
    /// From a solution of a related fit (same parameter layout), with the initial simplex
    /// scaled by `simplex`; taken only when it is at least as good as the heuristic start.
    Warm { x: &'a [f64], simplex: f64 },
}

/// Fits one form to scaled, finite data; `None` when it cannot be fitted.
///
/// `seasonal_iter` caps the second stage of a seasonal form; non-seasonal forms always get
/// `nm_options`'s budget, and `restarts` fresh-simplex restarts, which seasonal forms never get.
///
/// Seasonal forms are fitted in two stages from a heuristic start (see below); a warm start
/// that is taken goes straight to the second: its seasonal states come from a fit already, so
/// holding them fixed first only spends evaluations (on M1 and Tourism, skipping that stage
/// for every warm start cut the ensemble's CPU time by a fifth at the same OWA to three
/// decimals).
pub(super) fn fit_form(
    y: &[f64],
    spec: Spec,
    m: usize,
    start: Start<'_>,
    seasonal_iter: usize,
    restarts: usize,
) -> Option<Fitted> {
    let n = y.len();
    let m = if spec.seasonal() { m } else { 1 };
    let states = init_states(y, spec, m);
    let mut x0 = init_params(spec, m);
    x0.extend(&states);
    let n_free = x0.len();
    if n_free + 1 >= n {
        return None;
    }
    let mut lower = vec![f64::NEG_INFINITY; x0.len()];
    let mut upper = vec![f64::INFINITY; x0.len()];
    {
        let mut j = 0;
        let mut set = |idx: usize| {
            lower[j] = LOWER[idx];
            upper[j] = UPPER[idx];
            j += 1;
        };
        set(0);
        if spec.has_trend() {
            set(1);
        }
        if spec.seasonal() {
            set(2);
        }
        if spec.damped {
            set(3);
        }
    }
    let mut seas = vec![0.0; if spec.seasonal() { m } else { 0 }];
    let mut objective = |x: &[f64]| -> f64 {
        let Some((p, l0, b0)) = unpack(x, spec, m, &mut seas) else {
            return f64::INFINITY;
        };
        if !check_params(spec, &p, m) {
            return f64::INFINITY;
        }
        let (lik, ..) = filter(y, spec, &p, l0, b0, &mut seas, None);
        if lik.is_nan() || lik == f64::INFINITY {
            f64::INFINITY
        } else {
            lik.max(-1e10)
        }
    };
    // A warm start from a related form replaces the heuristic start when it is at least as good;
    // only then does the search start from a smaller simplex than usual.
    let mut simplex_share = 1.0;
    let mut warm_taken = false;
    if let Start::Warm { x: w, simplex } = start
        && w.len() == x0.len()
    {
        let fw = objective(w);
        if fw.is_finite() && fw <= objective(&x0) {
            x0.copy_from_slice(w);
            simplex_share = simplex;
            warm_taken = true;
        }
    }
    let opts = NelderMeadOptions {
        bounded_step: nm_options().bounded_step * simplex_share,
        relative_step: nm_options().relative_step * simplex_share,
        ..nm_options()
    };
    // Stage one: smoothing parameters, level and growth with the heuristic seasonal states held
    // (few dimensions, converges fast); stage two: everything, from there.
    let head = x0.len() - if spec.seasonal() { m - 1 } else { 0 };
    if spec.seasonal() && !warm_taken {
        let mut full = x0.clone();
        let stage1 = nelder_mead(
            |sub: &[f64]| {
                full[..head].copy_from_slice(sub);
                objective(&full)
            },
            &x0[..head],
            &lower[..head],
            &upper[..head],
            &NelderMeadOptions {
                f_abs_tol: STAGE_ONE_TOL,
                max_iter: STAGE_ONE_ITER,
                ..opts.clone()
            },
        );
        if stage1.f.is_finite() {
            x0[..head].copy_from_slice(&stage1.x);
        }
    }
    let opts2 = if spec.seasonal() {
        NelderMeadOptions {
            max_iter: seasonal_iter,
            ..opts
        }
    } else {
        NelderMeadOptions { restarts, ..opts }
    };
    let res = nelder_mead(&mut objective, &x0, &lower, &upper, &opts2);
    if !res.f.is_finite() {
        return None;
    }
    let mut seas = vec![0.0; if spec.seasonal() { m } else { 0 }];
    let (params, l0, b0) = unpack(&res.x, spec, m, &mut seas)?;
    let mut fitted = vec![0.0; n];
    let (lik, level, growth, k) = filter(y, spec, &params, l0, b0, &mut seas, Some(&mut fitted));
    let lik = lik.max(-1e10);
    if !lik.is_finite() || fitted.iter().any(|v| !v.is_finite()) {
        return None;
    }
    seas.rotate_left(k);
    let n_params = n_free + 1;
    let k_f = n_params as f64;
    let aic = lik + 2.0 * k_f;
    let denom = n as f64 - k_f - 1.0;
    if denom <= 0.0 {
        return None;
    }
    let aicc = aic + 2.0 * k_f * (k_f + 1.0) / denom;
    let sse: f64 = y
        .iter()
        .zip(&fitted)
        .map(|(yt, f)| {
            let e = if spec.error == Comp::M {
                (yt - f) / f
            } else {
                yt - f
            };
            e * e
        })
        .sum();
    let sigma2 = sse / (n as f64 - k_f).max(1.0);
    Some(Fitted {
        spec,
        m,
        params,
        lik,
        aicc,
        sigma2,
        n_params,
        fitted,
        level,
        growth,
        seas,
        x: res.x,
    })
}

pub(super) fn cannot(reason: impl Into<String>) -> EngineError {
    EngineError::CannotFit {
        model: MODEL,
        reason: reason.into(),
    }
}

/// The stretch ETS is fitted on: the last [`MAX_FIT_LENGTH`] finite values, scaled by their
/// largest magnitude; at least 4 of them.
pub(super) fn prepare(y: &[f64]) -> Result<FitWindow, EngineError> {
    let window = FitWindow::tail(y, MAX_FIT_LENGTH, ScaleBy::MaxAbs);
    if window.y.len() < 4 {
        return Err(cannot(format!(
            "needs at least 4 consecutive finite values, has {}",
            window.y.len()
        )));
    }
    Ok(window)
}

pub(super) fn finish(prep: &FitWindow, inner: Fitted) -> EtsFit {
    let mut fitted = vec![f64::NAN; prep.total];
    for (o, v) in fitted[prep.start..].iter_mut().zip(&inner.fitted) {
        *o = v * prep.scale;
    }
    let n = inner.fitted.len() as f64;
    let aicc = inner.aicc + 2.0 * n * prep.scale.ln();
    EtsFit {
        inner,
        scale: prep.scale,
        aicc,
        fitted,
        start: prep.start,
        used: prep.y.clone(),
    }
}

/// A constant series: simple exponential smoothing with `alpha = 0.9999`, zero variance, and
/// the AICc floor of R's optimiser (`-1e10`).
pub(super) fn constant_fit(prep: &FitWindow) -> EtsFit {
    let n = prep.y.len();
    let v = prep.y[n - 1];
    let inner = Fitted {
        spec: Spec {
            error: Comp::A,
            trend: Comp::N,
            damped: false,
            season: Comp::N,
        },
        m: 1,
        params: Params {
            alpha: 0.9999,
            beta: 0.0,
            gamma: 0.0,
            phi: 1.0,
        },
        lik: -1e10,
        aicc: -1e10,
        sigma2: 0.0,
        n_params: 3,
        fitted: vec![v; n],
        level: v,
        growth: 0.0,
        seas: Vec::new(),
        x: Vec::new(),
    };
    let mut fit = finish(prep, inner);
    fit.aicc = -1e10;
    fit
}

pub(super) fn is_constant(y: &[f64]) -> bool {
    y.iter().all(|v| *v == y[0])
}

pub(super) fn usable_season(m: Option<usize>, n: usize) -> usize {
    match m {
        Some(m) if (2..=MAX_SEASON_LENGTH).contains(&m) && n > m => m,
        _ => 1,
    }
}

/// A start for `spec` from an already fitted related form: the damped form from the undamped
/// one (phi near its upper bound), multiplicative error from additive error with the same trend
/// and additive or no season (the same parameters and states).
pub(super) fn warm_start(done: &[(Spec, Vec<f64>)], spec: Spec) -> Option<Vec<f64>> {
    if spec.damped {
        let undamped = Spec {
            damped: false,
            ..spec
        };
        let (_, x) = done.iter().find(|(s, _)| *s == undamped)?;
        // Parameter order: alpha, beta, gamma?, phi, states.
        let at = 2 + usize::from(spec.seasonal());
        let mut w = x.clone();
        w.insert(at, WARM_PHI);
        return Some(w);
    }
    if spec.error == Comp::M && spec.season != Comp::M {
        let additive = Spec {
            error: Comp::A,
            ..spec
        };
        return done
            .iter()
            .find(|(s, _)| *s == additive)
            .map(|(_, x)| x.clone());
    }
    None
}

/// How wide [`search`] looks.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Search {
    /// Every admissible form; a non-seasonal winner gets a restart of the optimiser.
    Full,
    /// Non-seasonal additive-error forms, one optimiser start each.
    AdditiveTrend,
}

pub(super) fn search(y: &[f64], m: Option<usize>, how: Search) -> Result<EtsFit, EngineError> {
    let prep = prepare(y)?;
    if is_constant(&prep.y) {
        return Ok(constant_fit(&prep));
    }
    let n = prep.y.len();
    let m = usable_season(m, n);
    let positive = prep.y.iter().all(|v| *v > 0.0);
    let mut best: Option<Fitted> = None;
    let mut done: Vec<(Spec, Vec<f64>)> = Vec::new();
    let errors: &[Comp] = if positive && how == Search::Full {
        &[Comp::A, Comp::M]
    } else {
        &[Comp::A]
    };
    let seasons: &[Comp] = match (m > 1, positive) {
        (false, _) => &[Comp::N],
        (true, true) => &[Comp::N, Comp::A, Comp::M],
        (true, false) => &[Comp::N, Comp::A],
    };
    // Ranking: one optimiser start per form, seasonal forms with a short second stage.
    for &error in errors {
        for (trend, damped) in [(Comp::N, false), (Comp::A, false), (Comp::A, true)] {
            for &season in seasons {
                if error == Comp::A && season == Comp::M {
                    continue;
                }
                let spec = Spec {
                    error,
                    trend,
                    damped,
                    season,
                };
                let warm = warm_start(&done, spec);
                let start = match warm.as_deref() {
                    Some(x) => Start::Warm { x, simplex: 1.0 },
                    None => Start::Heuristic,
                };
                if let Some(f) = fit_form(&prep.y, spec, m, start, SEASONAL_RANK_ITER, 0) {
                    let better = best.as_ref().is_none_or(|b| f.aicc < b.aicc);
                    done.push((spec, f.x.clone()));
                    if better {
                        best = Some(f);
                    }
                }
            }
        }
    }
    // Polish: only the winner gets what ranking leaves out — a seasonal form the full
    // second-stage budget, a non-seasonal one (in the full search) a restart with a fresh
    // simplex. Both continue from the ranking's solution, so they can only improve it. On M1
    // and Tourism this ranked the same forms as giving every form a restart and the seasonal
    // winner a new fit from scratch (OWA within 0.001), in a third less time.
    if let Some(b) = best.as_ref() {
        let simplex = if b.spec.seasonal() {
            Some(POLISH_SIMPLEX)
        } else if how == Search::Full {
            Some(1.0)
        } else {
            None
        };
        if let Some(simplex) = simplex
            && let Some(f) = fit_form(
                &prep.y,
                b.spec,
                m,
                Start::Warm { x: &b.x, simplex },
                SEASONAL_STAGE_TWO_ITER,
                0,
            )
            && f.aicc < b.aicc
        {
            best = Some(f);
        }
    }
    best.map(|b| finish(&prep, b))
        .ok_or_else(|| cannot("no exponential smoothing form could be fitted"))
}

pub(super) fn fit_spec_with(
    y: &[f64],
    m: Option<usize>,
    spec: &str,
    seasonal_iter: usize,
) -> Result<EtsFit, EngineError> {
    let Some(parsed) = Spec::parse(spec) else {
        return Err(EngineError::InvalidInput {
            what: "ets form",
            reason: format!("{spec:?} is not an error/trend/season form like AAdM"),
        });
    };
    let prep = prepare(y)?;
    let n = prep.y.len();
    let m = usable_season(m, n);
    if parsed.seasonal() && m < 2 {
        return Err(cannot("a seasonal form needs 2 <= m <= 24 and n > m"));
    }
    let positive = prep.y.iter().all(|v| *v > 0.0);
    if !positive && (parsed.error == Comp::M || parsed.season == Comp::M) {
        return Err(cannot("multiplicative forms need strictly positive data"));
    }
    if is_constant(&prep.y) {
        return Ok(constant_fit(&prep));
    }
    fit_form(&prep.y, parsed, m, Start::Heuristic, seasonal_iter, 1)
        .map(|f| finish(&prep, f))
        .ok_or_else(|| cannot(format!("{} could not be fitted", parsed.label())))
}

/// Initial simplex of a warm refit, as a share of the usual one: the optimum of a validation
/// window lies close to the optimum of the whole history it is a prefix of.
pub(super) const WARM_SIMPLEX: f64 = 0.2;

impl EtsFit {
    /// This fit's form refitted on `y` with the validation budget (as [`fit_spec`] with the
    /// shorter search), the optimiser started from this fit's solution with a smaller simplex.
    /// For validation windows, which are prefixes of the history this fit saw; falls back to a
    /// cold start when the warm one is no better than the usual heuristic start.
    pub(crate) fn refit_quick(&self, y: &[f64], m: Option<usize>) -> Result<EtsFit, EngineError> {
        let spec = self.inner.spec;
        let prep = prepare(y)?;
        if is_constant(&prep.y) {
            return Ok(constant_fit(&prep));
        }
        let m = usable_season(m, prep.y.len());
        if (spec.seasonal() && m != self.inner.m)
            || (!prep.y.iter().all(|v| *v > 0.0)
                && (spec.error == Comp::M || spec.season == Comp::M))
        {
            return fit_spec_quick(y, Some(m), &form_of(&self.spec()));
        }
        // The solution is on this fit's scale: states that are in data units move to the
        // window's scale (multiplicative seasonal states are ratios and stay).
        let factor = self.scale / prep.scale;
        let mut warm = self.inner.x.clone();
        let n_params = 1
            + usize::from(spec.has_trend())
            + usize::from(spec.seasonal())
            + usize::from(spec.damped);
        let additive_states = 1
            + usize::from(spec.has_trend())
            + if spec.season == Comp::A {
                warm.len()
            } else {
                0
            };
        for v in warm.iter_mut().skip(n_params).take(additive_states) {
            *v *= factor;
        }
        let start = Start::Warm {
            x: &warm,
            simplex: WARM_SIMPLEX,
        };
        fit_form(&prep.y, spec, m, start, SEASONAL_SEARCH_ITER, 1)
            .map(|f| finish(&prep, f))
            .ok_or_else(|| cannot(format!("{} could not be fitted", spec.label())))
    }
}

/// Simple exponential smoothing as R's `ses` (ETS(A,N,N) by likelihood) on finite data of at
/// least 4 values: `(alpha, initial level, sigma2 = sum e^2 / (n - 3))`.
pub(crate) fn fit_ses(y: &[f64]) -> Option<(f64, f64, f64)> {
    if y.len() < 4 || y.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let scale = y.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    if !(scale > 0.0 && scale.is_finite()) || is_constant(y) {
        return Some((0.9999, y[0], 0.0));
    }
    let ys: Vec<f64> = y.iter().map(|v| v / scale).collect();
    let spec = Spec {
        error: Comp::A,
        trend: Comp::N,
        damped: false,
        season: Comp::N,
    };
    let f = fit_form(&ys, spec, 1, Start::Heuristic, SEASONAL_STAGE_TWO_ITER, 1)?;
    // Initial level: recover from the first fitted value (the one-step forecast of y[0]).
    let l0 = f.fitted[0] * scale;
    Some((f.params.alpha, l0, f.sigma2 * scale * scale))
}
