//! Covariates of a series: what it has, the values (observations, or the vintage in force at
//! an instant), and small writes of either.

use std::collections::HashMap;

use horizon_domain::VintageValue;

use super::*;

/// The target and the covariate's own series, by the target's key and the name.
async fn covariate_series(
    state: &AppState,
    key: &str,
    name: &str,
) -> Result<(horizon_domain::Series, SeriesKey), ApiError> {
    let target = state.store.series_by_key(&parse_key(key)?).await?;
    let own = covariate_key(&target.meta.key, name)?;
    Ok((target, own))
}

/// `<target>:<name>`, checked: the name is 1 to 64 of `A-Z a-z 0-9 _ . -`.
fn covariate_key(target: &SeriesKey, name: &str) -> Result<SeriesKey, ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !ok {
        return Err(ApiError::invalid(format!(
            "covariate name {name:?}: 1 to 64 of A-Z a-z 0-9 _ . -"
        )));
    }
    Ok(SeriesKey::parse(&format!("{target}:{name}"))?)
}

#[utoipa::path(summary = "Covariates of a series with their latest vintage", tag = "covariates", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$")),
    security(("api_key" = [])),
    responses((status = 200, description = "the covariates of the series", body = CovariateListDto), (status = 404, body = Problem)))]
#[get("/v1/series/{key}/covariates")]
pub(super) async fn list_covariates(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let target = state.store.series_by_key(&parse_key(&key)?).await?;
    let mut items = Vec::new();
    for c in state.store.covariates_of(&[target.id]).await? {
        let name = c
            .covariate_of
            .as_ref()
            .map(|l| l.name.clone())
            .unwrap_or_default();
        let latest = state.store.latest_vintage(c.id, None).await?;
        items.push(CovariateDto {
            role: horizon_services::pipeline::covariate_role(&name).into(),
            name,
            key: c.meta.key.to_string(),
            observations: state.store.count_observations(Some(c.id)).await?,
            latest_vintage: latest.map(|v| VintageSummaryDto {
                issued_at: v.issued_at,
                first: v.first,
                last: v.last,
                values: v.values,
            }),
        });
    }
    Ok(json_ok(&CovariateListDto {
        series_key: target.meta.key.to_string(),
        items,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CovariateValuesQuery {
    /// From this instant (inclusive): a date, an RFC 3339 datetime or Unix seconds.
    #[serde(default, deserialize_with = "from_param")]
    from: Option<DateTime<Utc>>,
    /// To this instant (exclusive).
    #[serde(default, deserialize_with = "to_param")]
    to: Option<DateTime<Utc>>,
    /// Read the vintage (forecast) in force at this instant: the latest issued at or before
    /// it. Without it, the observations.
    #[serde(default, deserialize_with = "as_of_param")]
    as_of: Option<DateTime<Utc>>,
}

/// Most values one read returns.
const MAX_VALUES: usize = 10_000;

#[utoipa::path(summary = "Values of a covariate: observations or the vintage in force at as_of", tag = "covariates", params(
        ("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$"),
        ("name" = String, Path, description = "covariate name", pattern = "^[A-Za-z0-9_.-]{1,64}$"),
        CovariateValuesQuery),
    security(("api_key" = [])),
    responses((status = 200, description = "the values in the window", body = CovariateValuesDto), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/series/{key}/covariates/{name}/values")]
pub(super) async fn get_covariate_values(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<CovariateValuesQuery>,
) -> Result<HttpResponse, ApiError> {
    let (key, name) = path.into_inner();
    let (_, own) = covariate_series(&state, &key, &name).await?;
    let cov = state.store.series_by_key(&own).await?;
    if let (Some(from), Some(to)) = (query.from, query.to)
        && from >= to
    {
        return Err(ApiError::invalid("from must be before to"));
    }
    let (source, issued_at, values) = match query.as_of {
        Some(as_of) => {
            let latest = state
                .store
                .latest_vintage(cov.id, Some(as_of))
                .await?
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "covariate {name} of {key} has no forecast issued at or before {}",
                        as_of.to_rfc3339()
                    ))
                })?;
            // `to` is exclusive; the vintage read is inclusive.
            let to = query
                .to
                .and_then(|t| t.checked_sub_signed(chrono::Duration::microseconds(1)));
            let values = state
                .store
                .vintage(cov.id, latest.issued_at, query.from, to)
                .await?
                .into_iter()
                .map(|v| ObservationDto {
                    ts: v.ts,
                    value: v.value,
                })
                .collect::<Vec<_>>();
            ("vintage", Some(latest.issued_at), values)
        }
        None => {
            let page = state
                .store
                .observations_page(cov.id, query.from, query.to, MAX_VALUES as u64)
                .await?;
            let values = page
                .into_iter()
                .map(|o| ObservationDto {
                    ts: o.ts,
                    value: o.value,
                })
                .collect();
            ("observations", None, values)
        }
    };
    let mut values = values;
    values.truncate(MAX_VALUES);
    Ok(json_ok(&CovariateValuesDto {
        name,
        source: source.into(),
        issued_at,
        values,
    }))
}

#[utoipa::path(summary = "Write covariate observations or one vintage", tag = "covariates", params(
        ("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$"),
        ("name" = String, Path, description = "covariate name", pattern = "^[A-Za-z0-9_.-]{1,64}$")),
    request_body = CovariateValuesWrite, security(("api_key" = [])),
    responses((status = 200, description = "how many values were written and how many were already stored", body = CovariateWriteDto), (status = 404, body = Problem),
        (status = 409, description = "a vintage already stored with other values", body = Problem), (status = 422, body = Problem)))]
#[put("/v1/series/{key}/covariates/{name}/values")]
pub(super) async fn put_covariate_values(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Json<CovariateValuesWrite>,
) -> Result<HttpResponse, ApiError> {
    let (key, name) = path.into_inner();
    let body = body.into_inner();
    if body.values.len() > MAX_VALUES {
        return Err(ApiError::unprocessable(format!(
            "at most {MAX_VALUES} values per request, got {}",
            body.values.len()
        )));
    }
    if let Some(v) = body.values.iter().find(|v| !v.value.is_finite()) {
        return Err(ApiError::unprocessable(format!(
            "value at {} is not a finite number",
            v.ts
        )));
    }
    for v in &body.values {
        check_year(&state, "ts", v.ts)?;
    }
    if let Some(issued_at) = body.issued_at {
        check_year(&state, "issued_at", issued_at)?;
    }
    let (_, own) = covariate_series(&state, &key, &name).await?;
    let max_lead = state.settings.ingest_max_vintage_lead_days;
    if let Some(issued_at) = body.issued_at {
        for v in &body.values {
            horizon_services::ingest::check_vintage_lead(issued_at, v.ts, max_lead)
                .map_err(ApiError::unprocessable)?;
        }
    }
    let ids = state
        .store
        .ensure_series(&[SeriesMeta::first_sight(own.clone())])
        .await?;
    let id = *ids.get(&own).ok_or_else(|| StoreError::NotFound {
        what: "series",
        id: own.to_string(),
    })?;
    let written = match body.issued_at {
        Some(issued_at) => {
            // Refuse a changed value before writing anything, so a 409 leaves the store as
            // it was.
            let (from, to) = span(&body.values);
            if let (Some(from), Some(to)) = (from, to) {
                let stored: HashMap<i64, f64> = state
                    .store
                    .vintage(id, issued_at, Some(from), Some(to))
                    .await?
                    .into_iter()
                    .map(|v| (v.ts.timestamp_micros(), v.value))
                    .collect();
                if let Some((v, old)) = body.values.iter().find_map(|v| {
                    stored
                        .get(&v.ts.timestamp_micros())
                        .filter(|old| **old != v.value)
                        .map(|old| (v, *old))
                }) {
                    return Err(ApiError::conflict(format!(
                        "vintage already stored with another value: {own} issued at {} for {} \
                         is {old}, this request says {}",
                        issued_at.to_rfc3339(),
                        v.ts.to_rfc3339(),
                        v.value
                    )));
                }
            }
            let rows: Vec<(Uuid, VintageValue)> = body
                .values
                .iter()
                .map(|v| {
                    (
                        id,
                        VintageValue {
                            issued_at,
                            ts: v.ts,
                            value: v.value,
                        },
                    )
                })
                .collect();
            let w = state.store.insert_vintages(&rows).await?;
            if let Some(c) = w.conflicts.first() {
                return Err(ApiError::conflict(format!(
                    "vintage already stored with another value at {}: {} (sent {})",
                    c.sent.ts.to_rfc3339(),
                    c.stored,
                    c.sent.value
                )));
            }
            w.inserted
        }
        None => {
            let rows: Vec<ObservationRow> = body
                .values
                .iter()
                .map(|v| ObservationRow {
                    series_id: id,
                    ts: v.ts,
                    value: v.value,
                })
                .collect();
            state.store.upsert_observations(&rows).await?
        }
    };
    Ok(json_ok(&CovariateWriteDto {
        key: own.to_string(),
        written,
    }))
}

fn span(values: &[ObservationDto]) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    (
        values.iter().map(|v| v.ts).min(),
        values.iter().map(|v| v.ts).max(),
    )
}
