//! A series' history laid on its calendar grid and the engine's request built from it.

use super::*;

/// Longest history handed to the engine, in steps: enough for eight weekly cycles of
/// 15-minute data, and a bound on memory per series.
pub(super) const MAX_LOADED_STEPS: usize = 6_000;

/// A series' history laid on its regular grid.
pub(crate) struct Prepared {
    pub(crate) series: Series,
    pub(crate) frequency: Frequency,
    pub(crate) values: Vec<f64>,
    pub(super) last_ts: Timestamp,
    pub(crate) horizon: usize,
    pub(crate) bounds: Bounds,
    pub(super) thresholds: Vec<horizon_domain::Threshold>,
    /// Its covariates on the same grid (history then horizon), and what they came from.
    pub(crate) covariates: super::covariates::LaidCovariates,
}

impl Prepared {
    /// The engine's request for this series with what every caller shares: its history and
    /// horizon, the frequency's candidate cycles, its bounds, and when it was observed (steps
    /// of a fixed length only: a day's rhythm is read from the stamps). Callers add quantiles,
    /// thresholds, weights and models.
    pub(crate) fn request(&self) -> ForecastRequest<'_> {
        let mut r = ForecastRequest::new(&self.values, self.horizon);
        r.attributes = self.series.meta.attributes.clone();
        r.covariates = self
            .covariates
            .series
            .iter()
            .map(|(name, values)| horizon_engine::Covariate { name, values })
            .collect();
        r.season_lengths = self.frequency.season_lengths();
        r.bounds = self.bounds;
        if let Some(step_seconds) = self.frequency.fixed_seconds()
            && !self.values.is_empty()
        {
            let back = self.values.len() as i64 - 1;
            r.timeline = Some(Timeline {
                start: self.frequency.advance(self.last_ts, -back),
                step_seconds,
                // Stored stamps name the start of their interval (as ingest's files do).
                label: IntervalLabel::Start,
            });
        }
        r
    }
}

impl Prepared {
    /// The stamp of grid step `i`: 0 is the first history value, `values.len()` the first
    /// horizon step.
    pub(crate) fn stamp(&self, i: usize) -> Timestamp {
        let back = self.values.len() as i64 - 1;
        self.frequency.advance(self.last_ts, i as i64 - back)
    }
}

pub(crate) fn prepare(
    series: Series,
    history: &[Observation],
    options: &PipelineOptions,
    fallback_horizon: usize,
) -> Result<Prepared, String> {
    let timestamps: Vec<Timestamp> = history.iter().map(|o| o.ts).collect();
    let frequency = series
        .meta
        .frequency
        .or_else(|| Frequency::infer(&timestamps))
        .ok_or_else(|| "fewer than two observations".to_owned())?;
    let (Some(first), Some(last)) = (history.first(), history.last()) else {
        return Err("no observations".into());
    };
    let values = regular_grid(history, frequency, first.ts);
    let mut bounds = series.meta.bounds;
    if bounds.lower().is_none() && values.iter().all(|v| v.is_nan() || *v >= 0.0) {
        // Series that never went negative are taken to be non-negative (counts, sales, power).
        bounds = Bounds::new(Some(0.0), bounds.upper()).map_err(|e| e.to_string())?;
    }
    let thresholds = series.meta.thresholds.clone();
    Ok(Prepared {
        horizon: options
            .horizon
            .unwrap_or_else(|| default_horizon(frequency, fallback_horizon)),
        frequency,
        last_ts: last.ts,
        values,
        bounds,
        thresholds,
        series,
        covariates: Default::default(),
    })
}

/// Lays observations on the grid `first + k·step`, NaN where none fell; keeps the last
/// [`MAX_LOADED_STEPS`] steps.
pub(super) fn regular_grid(
    history: &[Observation],
    frequency: Frequency,
    first: Timestamp,
) -> Vec<f64> {
    let index = |ts: Timestamp| frequency.index_of(first, ts);
    let Some(last) = history.last() else {
        return Vec::new();
    };
    let len = index(last.ts).max(0) as usize + 1;
    let offset = len.saturating_sub(MAX_LOADED_STEPS);
    let mut values = vec![f64::NAN; len - offset];
    for o in history {
        let i = index(o.ts);
        if i >= offset as i64 && (i as usize) < len {
            values[i as usize - offset] = o.value;
        }
    }
    values
}
