//! Request and response bodies of a series' own metadata and of its covariates: the series
//! writes (PUT, PATCH) and the covariate list, values and writes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ObservationDto;
use crate::{Patch, SeriesAttributesDto, SeriesAttributesPatch, SeriesThresholdDto};

/// Full metadata of a series, to create it or replace its metadata.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesWrite {
    /// Entity (country code, SKU, plant).
    pub entity: String,
    /// What is measured.
    pub metric: String,
    /// Sampling frequency, e.g. `1d` or `15min`.
    #[serde(default)]
    pub frequency: Option<String>,
    /// Unit of values.
    #[serde(default)]
    pub unit: Option<String>,
    /// Lower physical bound.
    #[serde(default)]
    pub lower_bound: Option<f64>,
    /// Upper physical bound.
    #[serde(default)]
    pub upper_bound: Option<f64>,
    /// Labels.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Where and how it is measured (none when absent).
    #[serde(default)]
    pub attributes: SeriesAttributesDto,
    /// Thresholds every forecast reports crossing probabilities for (none when absent).
    #[serde(default)]
    pub thresholds: Vec<SeriesThresholdDto>,
}

/// A partial update of a series' metadata, as a JSON merge patch (RFC 7396): fields present
/// are changed, absent ones kept, and the optional ones (unit, bounds, each attribute) set to
/// `null` are cleared.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesPatch {
    /// New entity.
    #[serde(default)]
    pub entity: Option<String>,
    /// New metric.
    #[serde(default)]
    pub metric: Option<String>,
    /// New frequency.
    #[serde(default)]
    pub frequency: Option<String>,
    /// New unit; `null` clears.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[schema(value_type = Option<String>)]
    pub unit: Patch<String>,
    /// New lower bound; `null` clears.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[schema(value_type = Option<f64>)]
    pub lower_bound: Patch<f64>,
    /// New upper bound; `null` clears.
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    #[schema(value_type = Option<f64>)]
    pub upper_bound: Patch<f64>,
    /// Tags to set (merged into the existing ones).
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
    /// Attributes to change: each field present replaces the stored one, `null` clears it.
    #[serde(default)]
    pub attributes: Option<SeriesAttributesPatch>,
    /// The new list of thresholds, replacing the stored one (`[]` clears).
    #[serde(default)]
    pub thresholds: Option<Vec<SeriesThresholdDto>>,
}

/// A covariate of a series: another series keyed `<target>:<name>`, with observations (what
/// was measured) and vintages (forecasts, each issued at an instant).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct CovariateDto {
    /// Its name.
    pub name: String,
    /// Its own series key.
    pub key: String,
    /// How the engine reads it: `weather` (the solar physics reads it by name: `ghi`,
    /// `temp_air`, `cloud_cover`) or `driver` (the regression on drivers).
    pub role: String,
    /// Observations stored.
    pub observations: u64,
    /// The latest vintage, when any was stored.
    pub latest_vintage: Option<VintageSummaryDto>,
}

/// The covariates of a series.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct CovariateListDto {
    /// The target series.
    pub series_key: String,
    /// Its covariates, by key.
    pub items: Vec<CovariateDto>,
}

/// A vintage's issue instant and the instants it covers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct VintageSummaryDto {
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// The first instant it covers.
    pub first: DateTime<Utc>,
    /// The last instant it covers.
    pub last: DateTime<Utc>,
    /// How many values it has.
    pub values: u64,
}

/// Values of a covariate: its observations, or the vintage in force at an instant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct CovariateValuesDto {
    /// The covariate's name.
    pub name: String,
    /// `observations` or `vintage`.
    pub source: String,
    /// The vintage's issue instant (for `vintage`).
    pub issued_at: Option<DateTime<Utc>>,
    /// The values, oldest first.
    pub values: Vec<ObservationDto>,
}

/// Covariate values to store: a vintage when `issued_at` is given (each `ts` after it), its
/// observations otherwise.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CovariateValuesWrite {
    /// When the covariate forecast was issued; absent for observations.
    #[serde(default)]
    pub issued_at: Option<DateTime<Utc>>,
    /// The values (at most 10,000).
    pub values: Vec<ObservationDto>,
}

/// What storing covariate values did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct CovariateWriteDto {
    /// The covariate's series key.
    pub key: String,
    /// Values new to the store (a re-sent identical vintage adds none).
    pub written: u64,
}
