//! Horizon's wire types: the JSON bodies of the HTTP API, separate from domain types and
//! database entities, with explicit conversions from the domain. Field names here are a public
//! contract: change them only in a new API version.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use horizon_domain::{DomainError, Prediction, Series, SeriesAttributes, interval_quantiles};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A series and its metadata.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct SeriesDto {
    /// Stable key.
    pub key: String,
    /// Entity (country code, SKU, plant).
    pub entity: String,
    /// What is measured.
    pub metric: String,
    /// Sampling frequency, e.g. `1d` or `15min`.
    pub frequency: Option<String>,
    /// Unit of values.
    pub unit: Option<String>,
    /// Lower physical bound.
    pub lower_bound: Option<f64>,
    /// Upper physical bound (e.g. plant capacity).
    pub upper_bound: Option<f64>,
    /// Labels.
    pub tags: BTreeMap<String, String>,
    /// Where and how it is measured.
    pub attributes: SeriesAttributesDto,
    /// Thresholds every forecast reports crossing probabilities for.
    pub thresholds: Vec<SeriesThresholdDto>,
    /// When this series is a covariate of another (its key is `<target>:<name>`), its name
    /// there.
    pub covariate_name: Option<String>,
    /// First seen.
    pub created_at: DateTime<Utc>,
    /// Metadata last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&Series> for SeriesDto {
    fn from(s: &Series) -> Self {
        Self {
            key: s.meta.key.to_string(),
            entity: s.meta.entity.clone(),
            metric: s.meta.metric.clone(),
            frequency: s.meta.frequency.map(|f| f.to_string()),
            unit: s.meta.unit.clone(),
            lower_bound: s.meta.bounds.lower(),
            upper_bound: s.meta.bounds.upper(),
            tags: s.meta.tags.clone(),
            attributes: SeriesAttributesDto::from(&s.meta.attributes),
            thresholds: s
                .meta
                .thresholds
                .iter()
                .map(SeriesThresholdDto::from)
                .collect(),
            covariate_name: s.covariate_of.as_ref().map(|c| c.name.clone()),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A page of results with the cursor of the next page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One forecast step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ForecastStepDto {
    /// Step number, from 1.
    pub step: usize,
    /// The instant forecast.
    pub target_at: DateTime<Utc>,
    /// Mean of the predictive distribution.
    pub mean: f64,
    /// Quantile values, one per entry of `quantile_levels`.
    pub quantiles: Vec<f64>,
}

/// A central prediction interval band.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct IntervalDto {
    /// Nominal coverage in percent.
    pub level: f64,
    /// Lower edge per step.
    pub lower: Vec<f64>,
    /// Upper edge per step.
    pub upper: Vec<f64>,
}

/// An ensemble member.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct MemberDto {
    /// Model family.
    pub model: String,
    /// Weight.
    pub weight: f64,
    /// Why it was chosen.
    pub reason: String,
}

/// Crossing probabilities of a threshold.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ThresholdDto {
    /// The threshold's value.
    pub threshold: f64,
    /// Which side counts as crossing.
    #[serde(default)]
    pub direction: ThresholdDirectionDto,
    /// P(crossed) per step: P(value > threshold) above, P(value < threshold) below.
    pub per_step: Vec<f64>,
    /// P(crossed at least once in the horizon).
    pub any_step: f64,
}

/// Which side of a threshold counts as crossing it.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdDirectionDto {
    /// The value is strictly greater than the threshold.
    #[default]
    Above,
    /// The value is strictly less than the threshold.
    Below,
}

impl From<horizon_domain::ThresholdDirection> for ThresholdDirectionDto {
    fn from(d: horizon_domain::ThresholdDirection) -> Self {
        match d {
            horizon_domain::ThresholdDirection::Above => Self::Above,
            horizon_domain::ThresholdDirection::Below => Self::Below,
        }
    }
}

impl From<ThresholdDirectionDto> for horizon_domain::ThresholdDirection {
    fn from(d: ThresholdDirectionDto) -> Self {
        match d {
            ThresholdDirectionDto::Above => Self::Above,
            ThresholdDirectionDto::Below => Self::Below,
        }
    }
}

/// A threshold a series is watched against: every forecast of the series reports the
/// probability of crossing it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesThresholdDto {
    /// The value, in the series' unit.
    pub value: f64,
    /// Which side counts as crossing (default `above`).
    #[serde(default)]
    pub direction: ThresholdDirectionDto,
}

impl From<&horizon_domain::Threshold> for SeriesThresholdDto {
    fn from(t: &horizon_domain::Threshold) -> Self {
        Self {
            value: t.value,
            direction: t.direction.into(),
        }
    }
}

impl SeriesThresholdDto {
    /// The domain's checked list of `list`: finite values, at most
    /// [`horizon_domain::MAX_THRESHOLDS`], none twice.
    pub fn to_domain(
        list: &[SeriesThresholdDto],
    ) -> Result<Vec<horizon_domain::Threshold>, DomainError> {
        let list: Vec<horizon_domain::Threshold> = list
            .iter()
            .map(|t| horizon_domain::Threshold::new(t.value, t.direction.into()))
            .collect::<Result<_, _>>()?;
        horizon_domain::Threshold::check_list(&list)?;
        Ok(list)
    }
}

/// Why a forecast was made.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForecastKindDto {
    /// Written by a pipeline run: what the schedule publishes.
    Scheduled,
    /// Written by an API job (`predict`, `generate`).
    Adhoc,
}

impl From<horizon_domain::ForecastKind> for ForecastKindDto {
    fn from(kind: horizon_domain::ForecastKind) -> Self {
        match kind {
            horizon_domain::ForecastKind::Scheduled => ForecastKindDto::Scheduled,
            horizon_domain::ForecastKind::Adhoc => ForecastKindDto::Adhoc,
        }
    }
}

/// What a forecast warning is about; see the message for the figures.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WarningKindDto {
    /// The data end so long before the as-of that part of the horizon is already past.
    StaleData,
    /// Too short a history to validate the models, or for a requested cycle.
    ShortHistory,
    /// At least half of the history is zero.
    ManyZeros,
    /// Missing steps were filled before fitting.
    GapsFilled,
    /// Several values for one step were reduced to one.
    DuplicatesResolved,
    /// Only the most recent part of a long history was used.
    HistoryTrimmed,
    /// A model could not be used, or a fallback ran.
    ModelDropped,
    /// Covariates were left out, fell back to observations, or were dropped.
    Covariates,
    /// Steps forecast as exactly zero (dark every night, as PV output is).
    StructuralZeros,
    /// Anything else, and warnings stored before they had a kind.
    Note,
}

impl From<horizon_domain::WarningKind> for WarningKindDto {
    fn from(kind: horizon_domain::WarningKind) -> Self {
        use horizon_domain::WarningKind as K;
        match kind {
            K::StaleData => Self::StaleData,
            K::ShortHistory => Self::ShortHistory,
            K::ManyZeros => Self::ManyZeros,
            K::GapsFilled => Self::GapsFilled,
            K::DuplicatesResolved => Self::DuplicatesResolved,
            K::HistoryTrimmed => Self::HistoryTrimmed,
            K::ModelDropped => Self::ModelDropped,
            K::Covariates => Self::Covariates,
            K::StructuralZeros => Self::StructuralZeros,
            K::Note => Self::Note,
        }
    }
}

/// One warning of a forecast.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct WarningDto {
    /// What it is about: a client can filter or alert on it.
    pub kind: WarningKindDto,
    /// What happened, with the figures, for people.
    pub message: String,
}

impl From<&horizon_domain::ForecastWarning> for WarningDto {
    fn from(w: &horizon_domain::ForecastWarning) -> Self {
        Self {
            kind: w.kind.into(),
            message: w.message.clone(),
        }
    }
}

/// Which forecasts a read selects by kind.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForecastKindFilter {
    /// Only scheduled forecasts.
    Scheduled,
    /// Only ad-hoc forecasts.
    Adhoc,
    /// Both.
    Any,
}

impl std::str::FromStr for ForecastKindFilter {
    type Err = String;

    /// Reads a query parameter's value; the error names the accepted values.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "scheduled" => Ok(ForecastKindFilter::Scheduled),
            "adhoc" => Ok(ForecastKindFilter::Adhoc),
            "any" => Ok(ForecastKindFilter::Any),
            other => Err(format!(
                "kind: {other:?} is not one of scheduled, adhoc, any"
            )),
        }
    }
}

impl ForecastKindFilter {
    /// The kind to select, `None` for both.
    pub fn kind(self) -> Option<horizon_domain::ForecastKind> {
        match self {
            ForecastKindFilter::Scheduled => Some(horizon_domain::ForecastKind::Scheduled),
            ForecastKindFilter::Adhoc => Some(horizon_domain::ForecastKind::Adhoc),
            ForecastKindFilter::Any => None,
        }
    }
}

/// A probabilistic forecast.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ForecastDto {
    /// Forecast id.
    pub id: Uuid,
    /// The series' key.
    pub series_key: String,
    /// The series' entity.
    pub entity: String,
    /// The run that made it.
    pub execution_id: Option<Uuid>,
    /// `scheduled` (a pipeline run) or `adhoc` (a `predict` or `generate` job).
    pub kind: ForecastKindDto,
    /// Data up to this instant was used.
    pub issued_at: DateTime<Utc>,
    /// Written at.
    pub created_at: DateTime<Utc>,
    /// Step length.
    pub frequency: String,
    /// Number of steps.
    pub horizon: usize,
    /// Levels of `steps[].quantiles`.
    pub quantile_levels: Vec<f64>,
    /// The forecast per step.
    pub steps: Vec<ForecastStepDto>,
    /// Interval bands derived from the quantiles (80% and 95% when present).
    pub intervals: Vec<IntervalDto>,
    /// Ensemble members and weights.
    pub members: Vec<MemberDto>,
    /// Calibration applied.
    #[schema(value_type = Object)]
    pub calibration: serde_json::Value,
    /// Threshold-exceedance probabilities.
    pub thresholds: Vec<ThresholdDto>,
    /// What the reader should know (stale data, short history, many zeros, gaps filled,
    /// duplicates resolved, models or covariates dropped), each with its kind.
    pub warnings: Vec<WarningDto>,
    /// The covariates the forecast used: each one's name, when the vintage laid on the
    /// horizon was issued, and the members that read covariates.
    pub covariates: Vec<CovariateUseDto>,
}

/// A covariate a forecast used.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct CovariateUseDto {
    /// The covariate's name.
    pub name: String,
    /// When the vintage (covariate forecast) laid on the horizon was issued; absent when the
    /// horizon's values were observations (a calendar, a price list).
    pub issued_at: Option<DateTime<Utc>>,
    /// The ensemble members that read covariates.
    pub members: Vec<String>,
}

/// Where and how a series is measured; every field optional. Latitude comes with longitude,
/// tilt with azimuth (a flat array, tilt 0, needs none).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesAttributesDto {
    /// Degrees north, -90 to 90.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    /// Degrees east, -180 to 180.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    /// Metres above sea level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub altitude: Option<f64>,
    /// The most the series can reach (a plant's rated output), in its unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<f64>,
    /// Degrees from the horizontal, 0 to 90.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tilt: Option<f64>,
    /// Degrees clockwise from north, 0 to 360 (180 faces south).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azimuth: Option<f64>,
    /// IANA time zone name, e.g. `Europe/Berlin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl From<&SeriesAttributes> for SeriesAttributesDto {
    fn from(a: &SeriesAttributes) -> Self {
        Self {
            latitude: a.location.map(|l| l.latitude()),
            longitude: a.location.map(|l| l.longitude()),
            altitude: a.altitude,
            capacity: a.capacity,
            tilt: a.orientation.map(|o| o.tilt()),
            azimuth: a.orientation.map(|o| o.azimuth()),
            timezone: a.timezone.clone(),
            country: a.country.clone(),
        }
    }
}

impl SeriesAttributesDto {
    /// The checked domain attributes; the error names the field and the rule.
    pub fn to_domain(&self) -> Result<SeriesAttributes, DomainError> {
        let numbers = [
            ("latitude", self.latitude),
            ("longitude", self.longitude),
            ("altitude", self.altitude),
            ("capacity", self.capacity),
            ("tilt", self.tilt),
            ("azimuth", self.azimuth),
        ]
        // `Display` of an f64 reads back as the same f64.
        .map(|(name, v)| (name, v.map(|x| x.to_string())));
        SeriesAttributes::from_fields(|name| match name {
            "timezone" => self.timezone.as_deref(),
            "country" => self.country.as_deref(),
            _ => numbers
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| v.as_deref()),
        })
    }

    /// These attributes with `patch` applied: each field it sets replaced, each it sets to
    /// `null` cleared, the others kept.
    pub fn patched(&self, patch: &SeriesAttributesPatch) -> Self {
        Self {
            latitude: patch.latitude.apply(self.latitude),
            longitude: patch.longitude.apply(self.longitude),
            altitude: patch.altitude.apply(self.altitude),
            capacity: patch.capacity.apply(self.capacity),
            tilt: patch.tilt.apply(self.tilt),
            azimuth: patch.azimuth.apply(self.azimuth),
            timezone: patch.timezone.apply(self.timezone.clone()),
            country: patch.country.apply(self.country.clone()),
        }
    }
}

/// One field of a partial update, as in a JSON merge patch (RFC 7396): absent keeps the
/// stored value, `null` clears it, a value replaces it. A plain `Option` cannot tell the
/// first two apart, so a wrong location could be corrected but never removed.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    /// Absent: keep the stored value.
    #[default]
    Keep,
    /// `null`: clear it.
    Clear,
    /// A value: replace it.
    Set(T),
}

impl<T: Clone> Patch<T> {
    /// Whether the field was absent (not serialized then).
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }

    /// The value after the update of `current`.
    pub fn apply(&self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Clear => None,
            Patch::Set(v) => Some(v.clone()),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    // Only called for a field that is present (absent ones take `Default`, i.e. `Keep`).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Patch::Clear,
            Some(v) => Patch::Set(v),
        })
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Set(v) => v.serialize(s),
            Patch::Keep | Patch::Clear => s.serialize_none(),
        }
    }
}

/// A partial update of a series' attributes: a field absent is kept, `null` clears it, a
/// value replaces it; the result is checked as a whole (latitude with longitude, tilt with
/// azimuth).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesAttributesPatch {
    /// Degrees north, -90 to 90; `null` clears.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[schema(value_type = Option<f64>)]
    pub latitude: Patch<f64>,
    /// Degrees east, -180 to 180; `null` clears.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[schema(value_type = Option<f64>)]
    pub longitude: Patch<f64>,
    /// Metres above sea level; `null` clears.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[schema(value_type = Option<f64>)]
    pub altitude: Patch<f64>,
    /// The most the series can reach, in its unit; `null` clears.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[schema(value_type = Option<f64>)]
    pub capacity: Patch<f64>,
    /// Degrees from the horizontal, 0 to 90; `null` clears.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[schema(value_type = Option<f64>)]
    pub tilt: Patch<f64>,
    /// Degrees clockwise from north, 0 to 360; `null` clears.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[schema(value_type = Option<f64>)]
    pub azimuth: Patch<f64>,
    /// IANA time zone name; `null` clears.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[schema(value_type = Option<String>)]
    pub timezone: Patch<String>,
    /// ISO 3166-1 alpha-2 country code; `null` clears.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[schema(value_type = Option<String>)]
    pub country: Patch<String>,
}

impl ForecastDto {
    /// Builds the wire form of `p`, a forecast of the series with key `series_key`.
    pub fn from_prediction(p: &Prediction, series_key: &str) -> Self {
        let levels = p.quantile_levels.levels().to_vec();
        let steps = (0..p.horizon())
            .map(|s| ForecastStepDto {
                step: s + 1,
                target_at: p.target_at(s + 1),
                mean: p.matrix.mean(s),
                quantiles: (0..p.matrix.quantile_count())
                    .map(|q| p.matrix.quantile(s, q))
                    .collect(),
            })
            .collect();
        let intervals = [80.0, 95.0]
            .into_iter()
            .filter_map(|level| {
                let (lo, hi) = interval_quantiles(level).ok()?;
                let (lo, hi) = (
                    p.quantile_levels.position(lo)?,
                    p.quantile_levels.position(hi)?,
                );
                Some(IntervalDto {
                    level,
                    lower: p.matrix.quantile_path(lo),
                    upper: p.matrix.quantile_path(hi),
                })
            })
            .collect();
        Self {
            id: p.id,
            series_key: series_key.to_owned(),
            entity: p.entity.clone(),
            execution_id: p.execution_id,
            kind: p.kind.into(),
            issued_at: p.issued_at,
            created_at: p.created_at,
            frequency: p.frequency.to_string(),
            horizon: p.horizon(),
            quantile_levels: levels,
            steps,
            intervals,
            members: p
                .members
                .iter()
                .map(|m| MemberDto {
                    model: m.model.clone(),
                    weight: m.weight,
                    reason: m.reason.clone(),
                })
                .collect(),
            calibration: p.calibration.clone(),
            thresholds: p
                .thresholds
                .iter()
                .map(|t| ThresholdDto {
                    threshold: t.threshold,
                    direction: t.direction.into(),
                    per_step: t.per_step.clone(),
                    any_step: t.any_step,
                })
                .collect(),
            warnings: p.warnings.iter().map(WarningDto::from).collect(),
            covariates: p
                .covariates
                .iter()
                .map(|c| CovariateUseDto {
                    name: c.name.clone(),
                    issued_at: c.issued_at,
                    members: c.members.clone(),
                })
                .collect(),
        }
    }
}

/// An RFC 9457 problem document, served as `application/problem+json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Problem {
    /// A stable URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong in this case.
    pub detail: String,
}

/// Liveness answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

mod api;
pub use api::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_tells_absent_from_null() {
        let p: SeriesAttributesPatch =
            serde_json::from_str(r#"{"altitude": null, "tilt": 30, "azimuth": 180}"#).unwrap();
        assert_eq!(p.latitude, Patch::Keep);
        assert_eq!(p.altitude, Patch::Clear);
        assert_eq!(p.tilt, Patch::Set(30.0));
        let stored = SeriesAttributesDto {
            latitude: Some(45.0),
            longitude: Some(7.0),
            altitude: Some(300.0),
            ..Default::default()
        };
        let after = stored.patched(&p);
        assert_eq!(after.latitude, Some(45.0), "absent: kept");
        assert_eq!(after.altitude, None, "null: cleared");
        assert_eq!((after.tilt, after.azimuth), (Some(30.0), Some(180.0)));
        // Written back, absent stays absent and null stays null.
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"altitude": null, "tilt": 30.0, "azimuth": 180.0})
        );
        assert!(serde_json::from_str::<SeriesAttributesPatch>(r#"{"height": 1}"#).is_err());
    }
}
