//! Closing the loop: earlier forecasts whose target times have observations are scored
//! (`outcome_records`), and the scores update the calibration — ensemble weights per
//! (series class, model) by Hedge on each member's relative CRPS, and interval scales per
//! (class, level) from observed coverage. The rules are in `horizon_engine::calibration`.
//!
//! Scoring is idempotent: an outcome is unique per (prediction, step) and a prediction's
//! `steps_scored` only moves forward, so a replayed pass adds nothing.

use std::collections::HashMap;

use horizon_domain::{
    CalibrationWeight, IntervalScale, OutcomeRecord, Prediction, SeriesClass, Timestamp,
};
use horizon_engine::{
    ModelKind,
    calibration::{HedgeConfig, adapt_scale, hedge_update},
    metrics,
};
use horizon_settings::Settings;
use horizon_store::Store;
use uuid::Uuid;

use crate::ServiceError;

/// Predictions looked at per scoring pass.
const SCORING_BATCH: u64 = 50_000;

/// Nominal central coverages whose interval scales are learned.
pub const CALIBRATED_LEVELS: [f64; 2] = [0.8, 0.95];

/// What a scoring pass did.
#[derive(Debug, Clone, Default)]
pub struct ScoringReport {
    /// Predictions with at least one newly scored step.
    pub predictions: usize,
    /// Steps scored.
    pub outcomes: u64,
    /// Classes whose calibration changed.
    pub classes: usize,
}

/// Per class: the members' relative CRPS and the intervals' hits in this pass.
#[derive(Debug, Default)]
struct ClassScores {
    /// model → (sum of relative CRPS, count)
    relative_crps: HashMap<ModelKind, (f64, usize)>,
    /// level → (hits, count)
    coverage: HashMap<u32, (usize, usize)>,
}

fn level_key(level: f64) -> u32 {
    (level * 1000.0).round() as u32
}

/// Scores every step of earlier forecasts that has an actual by `as_of`, then (with
/// calibration on) updates weights and interval scales from the new scores.
pub async fn score_and_recalibrate(
    store: &Store,
    settings: &Settings,
    as_of: Timestamp,
    execution_id: Uuid,
) -> Result<ScoringReport, ServiceError> {
    let since = as_of - chrono::Duration::days(i64::from(settings.pipeline_outcome_days));
    let predictions = store
        .predictions_to_score(since, as_of, SCORING_BATCH)
        .await?;
    if predictions.is_empty() {
        return Ok(ScoringReport::default());
    }
    let mut ids: Vec<Uuid> = predictions.iter().map(|p| p.series_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let from = predictions
        .iter()
        .map(|p| p.first_target_at)
        .min()
        .unwrap_or(as_of);
    let actuals = store.load_windows(&ids, from, as_of).await?;

    let resolved_at = chrono::Utc::now();
    let mut outcomes = Vec::new();
    let mut progress = Vec::new();
    let mut classes: HashMap<SeriesClass, ClassScores> = HashMap::new();
    let empty = Vec::new();
    for p in &predictions {
        let series_actuals = actuals.get(&p.series_id).unwrap_or(&empty);
        let (scored, records) = score_prediction(p, series_actuals, as_of, resolved_at);
        if scored <= p.steps_scored {
            continue;
        }
        let class = p
            .calibration
            .get("class")
            .and_then(|c| c.as_str())
            .and_then(|c| c.parse::<SeriesClass>().ok());
        if let Some(class) = class {
            let scores = classes.entry(class).or_default();
            for (o, step) in records.iter().map(|o| (o, o.step as usize - 1)) {
                add_member_scores(scores, p, step, o.actual);
                for (level, covered) in [(0.8, o.covered_80), (0.95, o.covered_95)] {
                    if let Some(c) = covered {
                        let e = scores.coverage.entry(level_key(level)).or_default();
                        e.0 += usize::from(c);
                        e.1 += 1;
                    }
                }
            }
        }
        progress.push((p.id, scored));
        outcomes.extend(records);
    }
    let inserted = store.insert_outcomes(&outcomes).await?;
    store.set_steps_scored(&progress).await?;
    let mut report = ScoringReport {
        predictions: progress.len(),
        outcomes: inserted,
        classes: 0,
    };
    if settings.pipeline_calibration && inserted > 0 {
        report.classes = recalibrate(store, settings, &classes, execution_id).await?;
    }
    Ok(report)
}

/// Scores `actual` against step `step` (1-based) of `p`: error, CRPS and pinball of every
/// quantile, whether the 80% and 95% intervals covered it (when `p` has their quantiles), and
/// the Brier score of every threshold. The one scorer of the pipeline and the API.
pub fn score_step(
    p: &Prediction,
    step: usize,
    actual: f64,
    resolved_at: Timestamp,
) -> OutcomeRecord {
    let s = step - 1;
    let levels = p.quantile_levels.levels();
    let quantiles: Vec<f64> = (0..levels.len()).map(|q| p.matrix.quantile(s, q)).collect();
    let mean = p.matrix.mean(s);
    let covered = |level: f64| {
        let (lo, hi) = horizon_domain::interval_quantiles(level).ok()?;
        let (lo, hi) = (
            p.quantile_levels.position(lo)?,
            p.quantile_levels.position(hi)?,
        );
        Some(metrics::interval_covered(
            actual,
            quantiles[lo],
            quantiles[hi],
        ))
    };
    OutcomeRecord {
        id: Uuid::now_v7(),
        prediction_id: p.id,
        series_id: p.series_id,
        step: step as i32,
        target_at: p.target_at(step),
        actual,
        forecast_mean: mean,
        abs_error: (actual - mean).abs(),
        sq_error: (actual - mean).powi(2),
        crps: metrics::crps_from_quantiles(actual, levels, &quantiles),
        pinball: levels
            .iter()
            .zip(&quantiles)
            .map(|(l, q)| (*l, metrics::pinball(actual, *q, *l)))
            .collect(),
        covered_80: covered(80.0),
        covered_95: covered(95.0),
        brier: p
            .thresholds
            .iter()
            .filter_map(|t| {
                let prob = *t.per_step.get(s)?;
                Some((t.threshold, metrics::brier(prob, t.of().crossed_by(actual))))
            })
            .collect(),
        resolved_at,
    }
}

/// Scores the steps of `p` after those already scored, up to the first step whose actual has
/// not arrived. A step whose target time passed while later observations exist (a gap in the
/// data) is passed over without a record. Returns the steps now scored and the new records.
fn score_prediction(
    p: &Prediction,
    actuals: &[horizon_domain::Observation],
    as_of: Timestamp,
    resolved_at: Timestamp,
) -> (u32, Vec<OutcomeRecord>) {
    let last_seen = actuals.last().map(|o| o.ts);
    let mut scored = p.steps_scored;
    let mut out = Vec::new();
    for step in (p.steps_scored as usize + 1)..=p.horizon() {
        let target = p.target_at(step);
        // What happened at `as_of` itself is not yet known to a run as of then.
        if target >= as_of {
            break;
        }
        let Ok(i) = actuals.binary_search_by(|o| o.ts.cmp(&target)) else {
            if last_seen.is_some_and(|t| t > target) {
                scored = step as u32;
                continue;
            }
            break;
        };
        out.push(score_step(p, step, actuals[i].value, resolved_at));
        scored = step as u32;
    }
    (scored, out)
}

/// Adds each member's CRPS at `step`, relative to the members' mean CRPS there, so series of
/// any scale weigh alike and 1 means "as good as the average member".
fn add_member_scores(scores: &mut ClassScores, p: &Prediction, step: usize, y: f64) {
    if p.member_forecasts.len() != p.members.len() || p.members.len() < 2 {
        return;
    }
    let levels = p.quantile_levels.levels();
    let crps: Vec<Option<(ModelKind, f64)>> = p
        .members
        .iter()
        .zip(&p.member_forecasts)
        .map(|(m, f)| {
            let kind = m.model.parse::<ModelKind>().ok()?;
            if step >= f.horizon() || f.quantile_count() != levels.len() {
                return None;
            }
            let q: Vec<f64> = (0..levels.len()).map(|j| f.quantile(step, j)).collect();
            let c = metrics::crps_from_quantiles(y, levels, &q);
            c.is_finite().then_some((kind, c))
        })
        .collect();
    let valid: Vec<(ModelKind, f64)> = crps.into_iter().flatten().collect();
    let mean = valid.iter().map(|(_, c)| c).sum::<f64>() / valid.len().max(1) as f64;
    if valid.len() < 2 || mean <= 0.0 || !mean.is_finite() {
        return;
    }
    for (kind, c) in valid {
        let e = scores.relative_crps.entry(kind).or_default();
        e.0 += c / mean;
        e.1 += 1;
    }
}

/// Writes a new version of the weights and interval scales of every class scored in this
/// pass. Returns the number of classes updated.
async fn recalibrate(
    store: &Store,
    settings: &Settings,
    classes: &HashMap<SeriesClass, ClassScores>,
    execution_id: Uuid,
) -> Result<usize, ServiceError> {
    let config = HedgeConfig {
        learning_rate: settings.pipeline_hedge_rate,
        forgetting: settings.pipeline_hedge_forgetting,
        ..HedgeConfig::default()
    };
    let current = store.current_calibration_weights().await?;
    let current_scales = store.interval_scales(None, true, 10_000).await?;
    let effective_at = chrono::Utc::now();
    let mut weights = Vec::new();
    let mut scales = Vec::new();
    for (class, scores) in classes {
        let losses: HashMap<ModelKind, f64> = scores
            .relative_crps
            .iter()
            .filter(|(_, (_, n))| *n > 0)
            .map(|(m, (sum, n))| (*m, sum / *n as f64))
            .collect();
        if !losses.is_empty() {
            let cumulative: HashMap<ModelKind, f64> = current
                .get(class)
                .into_iter()
                .flatten()
                .filter_map(|w| Some((w.model.parse().ok()?, w.score?)))
                .collect();
            let (next, w) = hedge_update(&cumulative, &losses, &config);
            for (model, weight) in w {
                weights.push(CalibrationWeight {
                    series_class: *class,
                    model: model.to_string(),
                    weight,
                    score: next.get(&model).copied(),
                    samples: scores.relative_crps.get(&model).map_or(0, |(_, n)| *n) as i64,
                    effective_at,
                    execution_id: Some(execution_id),
                });
            }
        }
        for level in CALIBRATED_LEVELS {
            let Some((hits, n)) = scores.coverage.get(&level_key(level)).copied() else {
                continue;
            };
            let old = current_scales
                .iter()
                .find(|s| s.series_class == *class && (s.level - level).abs() < 1e-9)
                .map_or(1.0, |s| s.scale);
            let observed = hits as f64 / n.max(1) as f64;
            let scale = adapt_scale(old, level, observed, n, settings.pipeline_interval_step);
            scales.push(IntervalScale {
                series_class: *class,
                level,
                scale,
                coverage: Some(observed),
                samples: n as i64,
                effective_at,
                execution_id: Some(execution_id),
            });
        }
    }
    store.insert_calibration_weights(&weights).await?;
    store.insert_interval_scales(&scales).await?;
    let mut updated: Vec<SeriesClass> = weights
        .iter()
        .map(|w| w.series_class)
        .chain(scales.iter().map(|s| s.series_class))
        .collect();
    updated.sort_by_key(|c| c.as_str());
    updated.dedup();
    Ok(updated.len())
}
