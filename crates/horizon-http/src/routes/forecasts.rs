//! Forecasts: by id, lists, latest per series (through the caches).

use super::*;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ForecastQuery {
    /// Only forecasts of this series key.
    series: Option<String>,
    /// Only forecasts of this entity (e.g. a country code).
    entity: Option<String>,
    /// Only forecasts of this execution.
    execution: Option<Uuid>,
    /// Only `scheduled` or `adhoc` forecasts (default `any`).
    #[param(value_type = Option<ForecastKindFilter>)]
    kind: Option<String>,
    /// Created at or after: a date, an RFC 3339 datetime or Unix seconds.
    #[serde(default, deserialize_with = "from_param")]
    from: Option<DateTime<Utc>>,
    /// Created before: a date, an RFC 3339 datetime or Unix seconds.
    #[serde(default, deserialize_with = "to_param")]
    to: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

async fn forecast_page(
    state: &AppState,
    query: &ForecastQuery,
    series: Option<(Uuid, String)>,
) -> Result<ForecastPage, ApiError> {
    let limit = limit_of(query.limit, 50)?;
    check_window(query.from, query.to)?;
    let filter = PredictionFilter {
        series_id: series.as_ref().map(|(id, _)| *id),
        entity: query.entity.clone(),
        execution_id: query.execution,
        kind: kind_param(query.kind.as_deref(), ForecastKindFilter::Any)?.kind(),
        created_from: query.from,
        created_to: query.to,
        before_id: query
            .cursor
            .as_deref()
            .map(|c| parse_uuid("cursor", c))
            .transpose()?,
    };
    let items = state.store.list_predictions(&filter, limit + 1).await?;
    let more = items.len() as u64 > limit;
    let page = &items[..items.len().min(limit as usize)];
    let keys = match series {
        Some((id, key)) => BTreeMap::from([(id, key)]),
        None => series_keys(state, page.iter().map(|p| p.series_id)).await?,
    };
    let out: Vec<ForecastDto> = page
        .iter()
        .map(|p| ForecastDto::from_prediction(p, key_of(&keys, p.series_id)))
        .collect();
    let next_cursor = if more {
        out.last().map(|f| f.id.to_string())
    } else {
        None
    };
    Ok(ForecastPage {
        items: out,
        next_cursor,
    })
}

#[utoipa::path(summary = "List forecasts of all series", tag = "forecasts", params(ForecastQuery), security(("api_key" = [])),
    responses((status = 200, description = "a page of forecasts", body = ForecastPage), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/forecasts")]
pub(super) async fn list_forecasts(
    state: web::Data<AppState>,
    query: web::Query<ForecastQuery>,
) -> Result<HttpResponse, ApiError> {
    let series = match &query.series {
        Some(k) => {
            let key = parse_key(k)?;
            let s = state.store.series_by_key(&key).await?;
            Some((s.id, key.to_string()))
        }
        None => None,
    };
    Ok(json_ok(&forecast_page(&state, &query, series).await?))
}

#[utoipa::path(summary = "List forecasts of one series", tag = "forecasts", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$"), ForecastQuery),
    security(("api_key" = [])),
    responses((status = 200, description = "a page of forecasts", body = ForecastPage), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/series/{key}/forecasts")]
pub(super) async fn list_series_forecasts(
    state: web::Data<AppState>,
    key: web::Path<String>,
    query: web::Query<ForecastQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = parse_key(&key)?;
    if query.series.is_some() {
        return Err(ApiError::invalid("series is given by the path here"));
    }
    let s = state.store.series_by_key(&key).await?;
    Ok(json_ok(
        &forecast_page(&state, &query, Some((s.id, key.to_string()))).await?,
    ))
}

fn json_text(json: impl actix_web::body::MessageBody + 'static) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(json)
}

#[utoipa::path(summary = "One forecast by id", tag = "forecasts", params(("id" = Uuid, Path, description = "forecast id (UUID)")),
    security(("api_key" = [])),
    responses((status = 200, description = "the forecast", body = ForecastDto), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/forecasts/{id}")]
pub(super) async fn get_forecast(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("forecast id", &id)?;
    Ok(json_text(cache::forecast_json(&state, id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LatestQuery {
    /// `scheduled` (default: what the pipeline publishes), `adhoc` (the newest API job's) or
    /// `any` (the newest of either).
    #[param(value_type = Option<ForecastKindFilter>)]
    kind: Option<String>,
}

/// The `kind` parameter, read here rather than by serde so a bad value is named.
fn kind_param(
    text: Option<&str>,
    default: ForecastKindFilter,
) -> Result<ForecastKindFilter, ApiError> {
    text.map_or(Ok(default), |t| t.parse().map_err(ApiError::invalid))
}

#[utoipa::path(summary = "Latest forecast of a series", tag = "forecasts", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$"), LatestQuery),
    security(("api_key" = [])),
    responses((status = 200, description = "the forecast", body = ForecastDto), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/series/{key}/forecasts/latest")]
pub(super) async fn latest_forecast(
    state: web::Data<AppState>,
    key: web::Path<String>,
    query: web::Query<LatestQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = parse_key(&key)?;
    let filter = kind_param(query.kind.as_deref(), ForecastKindFilter::Scheduled)?;
    let lookup = || async {
        let series = state.store.series_by_key(&key).await?;
        state
            .store
            .latest_prediction_id(series.id, filter.kind())
            .await
    };
    // The last-served cache is per series and kind.
    let remembered = format!("{key}\u{1f}{filter:?}");
    let id = match crate::retry_broken(lookup).await {
        Ok(Some(id)) => {
            state.forecasts.remember_latest(&remembered, id);
            id
        }
        Ok(None) => {
            let what = match filter {
                ForecastKindFilter::Scheduled => {
                    "scheduled forecast (ask ?kind=any for ad-hoc ones)"
                }
                ForecastKindFilter::Adhoc => "ad-hoc forecast",
                ForecastKindFilter::Any => "forecast",
            };
            return Err(ApiError::not_found(format!(
                "series {key} has no {what} yet"
            )));
        }
        // While the database is away, the newest forecast this process has served for the
        // series is still the best answer it has (forecasts never change once written).
        Err(e) if e.is_transient() => match state.forecasts.last_latest(&remembered) {
            Some(id) => id,
            None => return Err(e.into()),
        },
        Err(e) => return Err(e.into()),
    };
    Ok(json_text(cache::forecast_json(&state, id).await?))
}
