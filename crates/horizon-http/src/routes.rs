//! Route handlers.

use actix_web::{HttpResponse, get, web};
use horizon_domain::SeriesKey;
use horizon_dto::{ForecastDto, Health, Page, SeriesDto};
use serde::Deserialize;
use uuid::Uuid;

use crate::{ApiError, AppState};

/// Largest page the API returns.
const MAX_PAGE: u64 = 500;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz)
        .service(list_series)
        .service(get_forecast)
        .service(latest_forecast);
}

#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesQuery {
    entity: Option<String>,
    cursor: Option<String>,
    limit: Option<u64>,
}

#[get("/v1/series")]
async fn list_series(
    state: web::Data<AppState>,
    query: web::Query<SeriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and {MAX_PAGE}, got {limit}"
        )));
    }
    let page = state
        .store
        .list_series(query.entity.as_deref(), query.cursor.as_deref(), limit)
        .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: page.items.iter().map(SeriesDto::from).collect(),
        next_cursor: page.next_after,
    }))
}

#[get("/v1/forecasts/{id}")]
async fn get_forecast(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::invalid(format!("forecast id {:?} is not a UUID", id.as_str())))?;
    let p = state.store.prediction(id).await?;
    let series = state.store.series_by_id(p.series_id).await?;
    Ok(HttpResponse::Ok().json(ForecastDto::from_prediction(&p, series.meta.key.as_str())))
}

#[get("/v1/series/{key}/forecasts/latest")]
async fn latest_forecast(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = SeriesKey::parse(&key)?;
    let series = state.store.series_by_key(&key).await?;
    let p = state
        .store
        .latest_prediction(series.id)
        .await
        .map_err(|e| match e {
            horizon_store::StoreError::NotFound { .. } => {
                ApiError::not_found(format!("series {key} has no forecast yet"))
            }
            other => other.into(),
        })?;
    Ok(HttpResponse::Ok().json(ForecastDto::from_prediction(&p, key.as_str())))
}
