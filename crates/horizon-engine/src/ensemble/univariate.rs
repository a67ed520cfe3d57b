//! The univariate ensemble: impute, classify, route, validate, weigh, spread, combine.

use super::*;

/// The ensemble of univariate members: the whole of [`forecast`] for a series without
/// covariates.
pub(crate) fn univariate(request: &ForecastRequest<'_>) -> Result<Forecast, EngineError> {
    let h = request.horizon;
    if h == 0 || h > MAX_HORIZON {
        return Err(invalid(
            "horizon",
            format!("{h} is not between 1 and {MAX_HORIZON}"),
        ));
    }
    let grid = LevelGrid::of(request)?;
    let Prepared {
        y,
        scale,
        mut warnings,
    } = prepare(request)?;

    let profile = classify(&y, &request.season_lengths);
    warnings.extend(short_history(y.len(), h, &request.season_lengths, &profile));
    let requested = request.models.as_ref().filter(|m| !m.is_empty());
    let (kinds, ctx) = route(request, &y, &profile);

    let candidates = fit_candidates(
        kinds,
        &y,
        h,
        &ctx,
        &profile,
        requested.is_some(),
        &mut warnings,
    )?;

    let (weights, weight_notes) = member_weights(
        request,
        &profile,
        &candidates,
        y.len() >= LONG_HISTORY,
        &mut warnings,
    );

    // Member quantile sources.
    enum Source {
        Model(Vec<Vec<f64>>),
        Spread(Spread),
    }
    let sources: Vec<Source> = candidates
        .iter()
        .map(|c| {
            if MODEL_QUANTILES
                && let Some(q) = c.model.forecast_quantiles(h, &grid.levels)
                && q.len() == grid.len()
                && q.iter()
                    .all(|p| p.len() == h && p.iter().all(|v| v.is_finite()))
            {
                return Source::Model(q);
            }
            // Tail-window errors alone understate the spread on short histories: never go
            // below the in-sample residual spread grown by sqrt(step).
            let resid = residual_spread(c.model.as_ref(), &y, h);
            match conformal_spread(&c.errors, h) {
                // Sporadic series: flat forecasts whose errors do not accumulate.
                Some(s) if profile.class.is_sporadic() => Source::Spread(s),
                Some(mut s) => {
                    for (a, b) in s.scale.iter_mut().zip(&resid.scale) {
                        if b.is_finite() && *b > *a {
                            *a = *b;
                        }
                    }
                    Source::Spread(s)
                }
                None => Source::Spread(resid),
            }
        })
        .collect();

    let rho = error_correlation(&candidates);

    // Combine per step.
    let bounds = request.bounds;
    let unscale = |v: f64| {
        let x = v * scale;
        if x.is_finite() {
            x
        } else if x.is_nan() {
            0.0
        } else {
            x.signum() * f64::MAX
        }
    };
    // Member quantiles on the grid, `member_q[k][j][s]`.
    let member_q: Vec<Vec<Vec<f64>>> = candidates
        .iter()
        .zip(sources)
        .map(|(c, src)| match src {
            Source::Model(q) => q,
            Source::Spread(sp) => grid
                .as_slice()
                .iter()
                .map(|l| {
                    let z = sp.standard_quantile(*l);
                    (0..h)
                        .map(|s| c.mean[s] + sp.scale.get(s).copied().unwrap_or(0.0) * z)
                        .collect()
                })
                .collect(),
        })
        .collect();
    let calibrate = !profile.class.is_sporadic();
    let history = calibrate
        .then(|| drift_spread(&y, profile.season_length, h))
        .flatten();
    // Long histories hold enough rolling-origin errors to narrow the intervals as well as
    // widen them; short ones keep the floors (see `MIN_CALIBRATION`).
    let narrowest = if y.len() >= LONG_HISTORY {
        MIN_CALIBRATION
    } else {
        1.0
    };
    let combined = combine_quantiles(
        &candidates,
        &member_q,
        &weights,
        grid.as_slice(),
        h,
        calibrate.then_some(narrowest),
        history.as_ref(),
    );

    // A sub-daily history dark at the same times every day (PV output, a shop's till): those
    // steps are exactly zero, the others at most what the time of day gave over the last month.
    // Without timestamps, a long history whose cycle divides a day is read the same way with
    // its cycle as the day: the rule asks only that a phase was 0 on each of the last week of
    // cycles, which is structure whatever the clock (hourly PV output given as positions with
    // `--season-length 24`: without it, every night step of the development set's hourly PV
    // series got a small positive forecast).
    let daylight = request
        .timeline
        .filter(Timeline::is_sub_daily)
        .or_else(|| cycle_as_day(request, &profile))
        .and_then(|t| Daylight::estimate(request.values, &t, &[], h).ok());
    let history_end = request.values.len();
    let limit = |s: usize, v: f64| match &daylight {
        Some(d) if d.is_dark(history_end + s) => bounds.clamp(0.0),
        Some(d) => bounds.clamp(v.min(d.ceiling(history_end + s))),
        None => bounds.clamp(v),
    };
    if let Some(d) = &daylight {
        let dark = (0..h).filter(|s| d.is_dark(history_end + s)).count();
        warnings.push(warn(
            WarningKind::StructuralZeros,
            format!(
                "dark at the same times every day (as PV output is): {dark} of {h} steps forecast \
             as exactly 0, the rest capped by the time of day's last month"
            ),
        ));
    }
    // PV output and other series dark every night are half zeros by nature: they get the
    // structural-zeros warning above instead.
    if daylight.is_none() && profile.zero_share >= MANY_ZEROS {
        warnings.push(warn(
            WarningKind::ManyZeros,
            format!(
                "many zeros: {:.0}% of the {} values are 0; forecast as {} demand",
                100.0 * profile.zero_share,
                profile.length,
                profile.class
            ),
        ));
    }
    let mut mean = vec![0.0; h];
    let mut all_q: Vec<Vec<f64>> = vec![vec![0.0; h]; grid.len()];
    for s in 0..h {
        let m: f64 = candidates
            .iter()
            .zip(&weights)
            .map(|(c, w)| w * c.mean[s])
            .sum();
        let m = unscale(m);
        for (j, row) in combined.iter().enumerate() {
            all_q[j][s] = limit(s, unscale(row[s]));
        }
        // The members' mean, not the mean of the clipped distribution: widened tails clipped at
        // a bound would otherwise pull the point forecast away from it.
        mean[s] = limit(s, m);
    }

    let quantiles = grid.requested(request, &all_q, |_, v| v);
    let intervals = grid.intervals(&all_q);
    let threshold_probabilities = threshold_probabilities(
        &request.thresholds,
        grid.as_slice(),
        &all_q,
        rho,
        request.seed,
    );

    let members = candidates
        .iter()
        .zip(&weights)
        .zip(weight_notes)
        .zip(&member_q)
        .map(|(((c, w), note), q)| {
            let mut quantiles = grid.requested(request, q, |s, v| limit(s, unscale(v)));
            // Members' own quantiles may cross where a spread was estimated per level.
            for s in 0..h {
                let mut col: Vec<f64> = quantiles.iter().map(|p| p[s]).collect();
                util::sort_floats(&mut col);
                for (p, v) in quantiles.iter_mut().zip(col) {
                    p[s] = v;
                }
            }
            // Its intervals off its whole grid, uncrossed the same way.
            let mut on_grid: Vec<Vec<f64>> = q
                .iter()
                .map(|p| {
                    p.iter()
                        .enumerate()
                        .map(|(s, v)| limit(s, unscale(*v)))
                        .collect()
                })
                .collect();
            for s in 0..h {
                let mut col: Vec<f64> = on_grid.iter().map(|p| p[s]).collect();
                util::sort_floats(&mut col);
                for (p, v) in on_grid.iter_mut().zip(col) {
                    p[s] = v;
                }
            }
            Member {
                kind: c.kind,
                weight: *w,
                reason: format!("{}; {note}", c.reason),
                mean: c
                    .mean
                    .iter()
                    .enumerate()
                    .map(|(s, v)| limit(s, unscale(*v)))
                    .collect(),
                quantiles,
                intervals: grid.intervals(&on_grid),
            }
        })
        .collect();
    Ok(Forecast {
        mean,
        quantile_levels: request.quantile_levels.clone(),
        quantiles,
        intervals,
        members,
        profile,
        threshold_probabilities,
        warnings,
    })
}

/// A timeline whose day is the series' detected cycle, for a history given without
/// timestamps: at least [`LONG_HISTORY`] values and a cycle of at least 8 steps that divides a
/// day's seconds (24 for hourly positions, 48, 96).
fn cycle_as_day(request: &ForecastRequest<'_>, profile: &SeriesProfile) -> Option<Timeline> {
    let p = profile.season_length?;
    let usable = request.timeline.is_none()
        && request.values.len() >= LONG_HISTORY
        && p >= 8
        && 86_400 % p == 0;
    usable.then(|| Timeline {
        start: chrono::DateTime::UNIX_EPOCH,
        step_seconds: (86_400 / p) as i64,
        label: horizon_domain::IntervalLabel::End,
    })
}

/// Share of zeros from which a history is said to have many: the point where a series' zero
/// steps outnumber its others, so a reader should expect intermittent-demand methods and
/// bands that start at 0. A reading aid, not a routing rule (routing uses ADI and CV²).
const MANY_ZEROS: f64 = 0.5;

/// Why a history of `n` values is too short for what the forecast would otherwise do: no
/// rolling-origin validation (intervals from in-sample residuals alone), or fewer than two
/// cycles of a requested season (the cycle is not modelled).
fn short_history(
    n: usize,
    h: usize,
    season_lengths: &[usize],
    profile: &SeriesProfile,
) -> Option<ForecastWarning> {
    let (origins, _) = validation_origins(n, h, profile.season_length, 1);
    if origins.is_empty() {
        return Some(warn(
            WarningKind::ShortHistory,
            format!(
                "short history: {n} values, too few to validate the models on past origins; \
                 intervals from in-sample residuals alone"
            ),
        ));
    }
    let longest = season_lengths.iter().copied().filter(|&m| m > 1).max()?;
    (n < 2 * longest).then(|| {
        warn(
            WarningKind::ShortHistory,
            format!(
                "short history: {n} values, fewer than two cycles of {longest} steps; that cycle \
                 is not modelled"
            ),
        )
    })
}

/// The history as the members see it, and what the request asked for, checked.
struct Prepared {
    /// The history: imputed, trimmed to [`history_length`], divided by `scale`.
    y: Vec<f64>,
    /// `max |y|` of the trimmed history (1 when that is 0).
    scale: f64,
    /// What was imputed or dropped.
    warnings: Vec<ForecastWarning>,
}

/// Stage 1: imputes, trims and scales the history.
fn prepare(request: &ForecastRequest<'_>) -> Result<Prepared, EngineError> {
    let mut warnings = Vec::new();
    let (y, imputed) = impute(request.values);
    if y.is_empty() {
        return Err(invalid("values", "the history has no finite value"));
    }
    if imputed > 0 {
        warnings.push(warn(
            WarningKind::GapsFilled,
            format!("{imputed} missing values imputed"),
        ));
    }
    let keep = history_length(&request.season_lengths);
    if y.len() > keep {
        warnings.push(warn(
            WarningKind::HistoryTrimmed,
            format!("only the last {keep} of {} values used", y.len()),
        ));
    }
    // Imputed, so every value is finite: the window is the last `keep` values.
    let util::FitWindow { y, scale, .. } = util::FitWindow::tail(&y, keep, util::ScaleBy::MaxAbs);
    Ok(Prepared { y, scale, warnings })
}

/// Stage 2: the models a series is routed to (or the ones asked for) and what fitting them
/// needs (its cycles).
fn route(
    request: &ForecastRequest<'_>,
    y: &[f64],
    profile: &SeriesProfile,
) -> (Vec<ModelKind>, FitContext) {
    let requested = request.models.as_ref().filter(|m| !m.is_empty());
    let periods = if request.season_lengths.len() > 1 {
        seasonality::detect_periods(y, &request.season_lengths)
    } else {
        profile.season_length.into_iter().collect()
    };
    let mut kinds = match requested {
        Some(list) => list.clone(),
        None => default_models(
            profile,
            &periods,
            request.season_lengths.iter().all(|&m| m <= 1),
            y.len() >= LONG_HISTORY,
        ),
    };
    kinds.sort();
    kinds.dedup();
    let ctx = FitContext {
        season: profile.season_length,
        periods: periods.clone(),
        mstl_trend: None,
        ets_season: profile.season_length.or_else(|| {
            request
                .season_lengths
                .iter()
                .copied()
                .filter(|m| *m >= 2)
                .min()
        }),
        arima_order: None,
    };
    (kinds, ctx)
}

/// Stage 3: fits every routed model, drops those whose forecast is not finite or leaves a
/// wide guard around the history, and collects each one's errors over the rolling validation
/// origins; naive when nothing is left.
fn fit_candidates(
    kinds: Vec<ModelKind>,
    y: &[f64],
    h: usize,
    ctx: &FitContext,
    profile: &SeriesProfile,
    requested: bool,
    warnings: &mut Vec<ForecastWarning>,
) -> Result<Vec<Candidate>, EngineError> {
    let n = y.len();
    // Guard limits, in scaled units.
    let (lo, hi) = util::finite_range(y).unwrap_or((0.0, 0.0));
    let range = (hi - lo).max(lo.abs().max(hi.abs()) * 0.01).max(1e-12);
    let k = 10.0 * (h as f64 / n as f64).max(1.0);
    let (guard_lo, guard_hi) = (lo - k * range, hi + k * range);
    let sane = |f: &[f64]| {
        f.iter()
            .all(|v| v.is_finite() && *v >= guard_lo && *v <= guard_hi)
    };

    let longest_cycle = ctx.periods.iter().copied().max().unwrap_or(1);
    let (origins, hv) = validation_origins(n, h, ctx.season, longest_cycle);
    let mut candidates: Vec<Candidate> = Vec::with_capacity(kinds.len());
    for kind in kinds {
        let mut ctx_k = ctx.clone();
        // Validation windows refit the form selected here: much cheaper than a new search.
        // ETS windows start from the whole history's solution (`EtsFit::refit_quick`).
        let mut ets_full: Option<ets::EtsFit> = None;
        let fitted = match kind {
            ModelKind::AutoEts => ets::fit_auto(y, ctx.ets_season).map(|f| {
                ets_full = Some(f.clone());
                Box::new(f) as Box<dyn FittedModel>
            }),
            ModelKind::AutoArima => {
                arima::fit_auto_with(y, ctx.ets_season.or(ctx.season), arima::Criterion::AsR).map(
                    |f| {
                        ctx_k.arima_order = Some(f.order());
                        Box::new(f) as Box<dyn FittedModel>
                    },
                )
            }
            ModelKind::Mstl => mstl::mstl(y, &ctx.periods).map(|f| {
                ctx_k.mstl_trend = f.trend_form().map(str::to_owned);
                Box::new(f) as Box<dyn FittedModel>
            }),
            _ => fit_kind(kind, y, ctx),
        };
        let model = match fitted {
            Ok(m) => m,
            Err(e) => {
                warnings.push(warn(
                    WarningKind::ModelDropped,
                    format!("{kind} dropped: {e}"),
                ));
                continue;
            }
        };
        let mean = model.forecast_mean(h);
        if mean.len() != h || !sane(&mean) {
            warnings.push(warn(
                WarningKind::ModelDropped,
                format!("{kind} dropped: forecast not finite or out of range"),
            ));
            continue;
        }
        let mut errors = Vec::with_capacity(origins.len());
        for &o in &origins {
            let steps = hv.min(n - o);
            let kept = if n >= LONG_HISTORY {
                model.forecast_from(o, steps)
            } else {
                None
            };
            let refit = || match &ets_full {
                Some(full) => full
                    .refit_quick(&y[..o], ctx.ets_season)
                    .or_else(|_| ets::fit_auto(&y[..o], ctx.ets_season))
                    .map(|f| Box::new(f) as Box<dyn FittedModel>),
                None => fit_kind(kind, &y[..o], &ctx_k),
            };
            let f = match kept {
                Some(f) => f,
                None => match refit() {
                    Ok(m) => m.forecast_mean(steps),
                    // Keep windows aligned across members: a failed refit is a window of NaN.
                    Err(_) => {
                        errors.push(vec![f64::NAN; steps]);
                        continue;
                    }
                },
            };
            errors.push(
                (0..steps)
                    .map(|s| {
                        let v = y[o + s] - f.get(s).copied().unwrap_or(f64::NAN);
                        if v.is_finite() { v } else { f64::NAN }
                    })
                    .collect(),
            );
        }
        candidates.push(Candidate {
            kind,
            reason: reason_for(kind, profile, requested),
            model,
            mean,
            errors,
        });
    }
    if candidates.is_empty() {
        warnings.push(warn(
            WarningKind::ModelDropped,
            "no model could be used; naive forecast instead",
        ));
        let model = fit_kind(ModelKind::Naive, y, ctx)?;
        let mean = model.forecast_mean(h);
        let mut errors = Vec::with_capacity(origins.len());
        for &o in &origins {
            let steps = hv.min(n - o);
            let f = fit_kind(ModelKind::Naive, &y[..o], ctx)?.forecast_mean(steps);
            errors.push((0..steps).map(|s| y[o + s] - f[s]).collect());
        }
        candidates.push(Candidate {
            kind: ModelKind::Naive,
            model,
            mean,
            errors,
            reason: "fallback: no other model could be used".to_owned(),
        });
    }
    Ok(candidates)
}

/// Stage 4: each member's weight and why: the caller's table (per model, or per class), else
/// inverse validation MAE (trimmed on long histories, [`LONG_HISTORY_TRIM`]), else equal.
fn member_weights(
    request: &ForecastRequest<'_>,
    profile: &SeriesProfile,
    candidates: &[Candidate],
    long_history: bool,
    warnings: &mut Vec<ForecastWarning>,
) -> (Vec<f64>, Vec<String>) {
    let mut weights = vec![1.0 / candidates.len() as f64; candidates.len()];
    let mut weight_notes = vec![String::new(); candidates.len()];
    let table = request.model_weights.or_else(|| {
        request
            .class_weights
            .and_then(|by_class| by_class.get(&profile.class))
    });
    if let Some(table) = table {
        let raw: Vec<f64> = candidates
            .iter()
            .map(|c| {
                table
                    .get(&c.kind)
                    .copied()
                    .filter(|w| w.is_finite() && *w > 0.0)
                    .unwrap_or(0.0)
            })
            .collect();
        let total: f64 = raw.iter().sum();
        if total > 0.0 {
            weights = raw.iter().map(|w| w / total).collect();
            weight_notes
                .iter_mut()
                .for_each(|n| *n = "caller weight".to_owned());
        } else {
            warnings.push(warn(
                WarningKind::ModelDropped,
                "caller weights cover no fitted model; equal weights used",
            ));
        }
    } else {
        let maes: Vec<Option<f64>> = candidates
            .iter()
            .map(|c| {
                let (s, k) = c
                    .errors
                    .iter()
                    .flatten()
                    .filter(|e| e.is_finite())
                    .fold((0.0, 0usize), |(s, k), e| (s + e.abs(), k + 1));
                (k > 0).then(|| s / k as f64)
            })
            .collect();
        if maes.iter().all(|m| m.is_some()) && candidates.len() > 1 {
            // Floored alike, so that members all exact on a noiseless history keep weight.
            let floor = |m: &Option<f64>| m.unwrap_or(1.0).max(1e-9);
            let best = maes.iter().map(floor).fold(f64::INFINITY, f64::min);
            let inv: Vec<f64> = maes
                .iter()
                .map(|m| {
                    let m = floor(m);
                    if long_history && m > LONG_HISTORY_TRIM * best {
                        0.0
                    } else {
                        1.0 / m
                    }
                })
                .collect();
            let total: f64 = inv.iter().sum();
            weights = inv.iter().map(|v| v / total).collect();
            for ((note, m), w) in weight_notes.iter_mut().zip(&maes).zip(&inv) {
                *note = format!("validation scaled MAE {:.4}", m.unwrap_or(f64::NAN));
                if *w == 0.0 {
                    note.push_str(&format!(
                        ", over {LONG_HISTORY_TRIM} times the best member's: no weight"
                    ));
                }
            }
        } else {
            weight_notes
                .iter_mut()
                .for_each(|n| *n = "equal weight".to_owned());
        }
    }
    (weights, weight_notes)
}

/// The step-to-step correlation of the members' validation errors, for the sample paths
/// (0.5 when there are none).
fn error_correlation(candidates: &[Candidate]) -> f64 {
    {
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for c in candidates {
            for w in &c.errors {
                for p in w.windows(2) {
                    if p[0].is_finite() && p[1].is_finite() {
                        sxy += p[0] * p[1];
                        sxx += p[0] * p[0];
                        syy += p[1] * p[1];
                    }
                }
            }
        }
        if sxx > 0.0 && syy > 0.0 {
            (sxy / (sxx * syy).sqrt()).clamp(0.0, 0.99)
        } else {
            0.5
        }
    }
}
