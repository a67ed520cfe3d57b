//! Route handlers. Every `/v1` route is authenticated by [`crate::auth`] before it runs; wire
//! input is parsed into domain types here, at the edge.

mod calibration;
mod covariates;
mod executions;
mod forecasts;
mod import;
mod jobs;
mod keys;
mod models;
mod observations;
mod ops;
mod outcomes;
mod series;

use std::collections::BTreeMap;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, get, http::header, patch, post, put, web};
use chrono::{DateTime, Duration, Utc};
use horizon_domain::{
    Bounds, ExecutionKind, ExecutionStatus, Frequency, QuantileLevels, SeriesClass, SeriesKey,
    SeriesMeta, Threshold, Timestamp,
};
use horizon_dto::*;
use horizon_store::{ObservationRow, PredictionFilter, SeriesFilter, StoreError};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{ApiError, AppState, auth::Principal, cache};

/// Largest page the API returns.
pub const MAX_PAGE: u64 = 500;
/// Largest number of observations one write may carry.
pub const MAX_WRITE_ITEMS: usize = 50_000;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(series::list_series)
        .service(series::get_series)
        .service(series::put_series)
        .service(series::patch_series)
        .service(observations::get_observations)
        .service(observations::post_observations)
        .service(import::import_observations)
        .service(observations::get_classification)
        .service(covariates::list_covariates)
        .service(covariates::get_covariate_values)
        .service(covariates::put_covariate_values)
        .service(forecasts::list_forecasts)
        .service(forecasts::get_forecast)
        .service(forecasts::list_series_forecasts)
        .service(forecasts::latest_forecast)
        .service(executions::list_executions)
        .service(executions::get_execution)
        .service(jobs::train)
        .service(jobs::predict)
        .service(jobs::backtest)
        .service(jobs::generate)
        .service(models::model_families)
        .service(models::list_models)
        .service(outcomes::post_outcomes)
        .service(outcomes::list_outcomes)
        .service(calibration::current_calibration)
        .service(calibration::calibration_history)
        .service(calibration::list_forecast_metrics)
        .service(keys::list_keys);
}

/// A timestamp in a query: whatever CSV ingest accepts (a date, an RFC 3339 datetime with or
/// without offset, Unix seconds — one rule, `ingest::parse_timestamp`), also when the URL turned
/// the offset's `+` into a space (`…T12:00:00 02:00`, from an unencoded `+`).
fn query_timestamp(param: &str, raw: &str) -> Result<Timestamp, String> {
    let text = raw.trim();
    let repaired = match text.rsplit_once(' ') {
        Some((head, offset))
            if head.contains(':')
                && offset.len() == 5
                && offset.as_bytes()[2] == b':'
                && offset.bytes().filter(u8::is_ascii_digit).count() == 4 =>
        {
            format!("{head}+{offset}")
        }
        _ => text.to_owned(),
    };
    horizon_services::ingest::parse_timestamp(&repaired).ok_or_else(|| {
        format!(
            "parameter {param}: {raw:?} is not a timestamp; use a date (2026-10-10), an RFC 3339 \
             datetime (2026-10-10T12:00:00Z, or 2026-10-10T12:00:00%2B02:00 with the + encoded) \
             or Unix seconds"
        )
    })
}

macro_rules! timestamp_param {
    ($name:ident, $param:literal) => {
        fn $name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
            let raw: Option<String> = Option::deserialize(d)?;
            raw.map(|r| query_timestamp($param, &r).map_err(serde::de::Error::custom))
                .transpose()
        }
    };
}
timestamp_param!(from_param, "from");
timestamp_param!(to_param, "to");
timestamp_param!(cursor_param, "cursor");
timestamp_param!(as_of_param, "as_of");

fn limit_of(limit: Option<u64>, default: u64) -> Result<u64, ApiError> {
    let limit = limit.unwrap_or(default);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and {MAX_PAGE}, got {limit}"
        )));
    }
    Ok(limit)
}

fn parse_uuid(what: &str, raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::invalid(format!("{what} {raw:?} is not a UUID")))
}

fn parse_key(raw: &str) -> Result<SeriesKey, ApiError> {
    Ok(SeriesKey::parse(raw)?)
}

fn check_window(from: Option<Timestamp>, to: Option<Timestamp>) -> Result<(), ApiError> {
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return Err(ApiError::invalid(format!(
            "from ({from}) must be before to ({to})"
        )));
    }
    Ok(())
}

fn json_ok<T: serde::Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct BySeriesQuery {
    /// Only this series key.
    series: Option<String>,
    /// At most this many, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

async fn series_id_of(state: &AppState, series: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    match series {
        Some(k) => Ok(Some(state.store.series_by_key(&parse_key(k)?).await?.id)),
        None => Ok(None),
    }
}

/// Refuses a stamp outside the years ingest accepts (`HORIZON_INGEST_MIN_YEAR` to
/// `HORIZON_INGEST_MAX_YEAR`, 1900 to 2200 by default): written through the API, a year 9534
/// would stretch the series' grid over millennia of missing steps, as it would from a file.
fn check_year(state: &AppState, what: &str, ts: DateTime<Utc>) -> Result<(), ApiError> {
    use chrono::Datelike;
    let (min, max) = (
        state.settings.ingest_min_year,
        state.settings.ingest_max_year,
    );
    if !(min..=max).contains(&ts.year()) {
        return Err(ApiError::unprocessable(format!(
            "{what} {ts} is outside the years {min} to {max} (HORIZON_INGEST_MIN_YEAR, \
             HORIZON_INGEST_MAX_YEAR)"
        )));
    }
    Ok(())
}

/// The keys of the series `ids`, in one read: every list that names series by id names them
/// by key too.
async fn series_keys(
    state: &AppState,
    ids: impl Iterator<Item = Uuid>,
) -> Result<BTreeMap<Uuid, String>, ApiError> {
    let mut ids: Vec<Uuid> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(state
        .store
        .series_by_ids(&ids)
        .await?
        .into_iter()
        .map(|s| (s.id, s.meta.key.to_string()))
        .collect())
}

/// The key of series `id` in `keys` (empty when the series is gone: a list is not refused
/// because one of its series was deleted after the row was written).
fn key_of(keys: &BTreeMap<Uuid, String>, id: Uuid) -> &str {
    keys.get(&id).map_or("", String::as_str)
}

/// The OpenAPI document of every route above.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Horizon API", description = "Probabilistic forecasts for many series."),
    paths(ops::healthz, ops::readyz, series::list_series, series::get_series, series::put_series, series::patch_series, observations::get_observations, observations::post_observations, import::import_observations, observations::get_classification, covariates::list_covariates, covariates::get_covariate_values, covariates::put_covariate_values, forecasts::list_forecasts, forecasts::get_forecast, forecasts::list_series_forecasts, forecasts::latest_forecast, executions::list_executions, executions::get_execution, jobs::train, jobs::predict, jobs::backtest, jobs::generate, models::model_families, models::list_models, outcomes::post_outcomes, outcomes::list_outcomes, calibration::current_calibration, calibration::calibration_history, calibration::list_forecast_metrics, keys::list_keys),
    components(schemas(Problem, ForecastKindFilter, observations::Bucket, observations::Agg)),
    modifiers(&SecurityAddon)
)]
pub struct ApiDoc;

struct SecurityAddon;

/// Error statuses every authenticated operation can answer, all as problem+json.
const ERROR_STATUSES: [(&str, &str); 9] = [
    ("400", "invalid request"),
    ("401", "no or invalid API key"),
    ("403", "the key lacks the scope"),
    ("404", "not found"),
    ("413", "body too large"),
    ("422", "unprocessable content"),
    ("429", "rate limited; see Retry-After"),
    ("500", "internal error"),
    ("503", "a backing service is unavailable"),
];

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            ContentBuilder, Ref, ResponseBuilder,
            security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // Errors are problem+json everywhere: one definition, stamped on every operation, so
        // the per-route annotations only name the success bodies.
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/v1/") {
                continue;
            }
            let ops = [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ];
            for op in ops.into_iter().flatten() {
                for (status, description) in ERROR_STATUSES {
                    let response = ResponseBuilder::new().description(description).content(
                        "application/problem+json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    );
                    op.responses
                        .responses
                        .insert(status.to_owned(), response.build().into());
                }
            }
        }
    }
}
