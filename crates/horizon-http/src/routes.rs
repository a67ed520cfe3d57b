//! Route handlers. Every `/v1` route is authenticated by [`crate::auth`] before it runs; wire
//! input is parsed into domain types here, at the edge.

use std::collections::BTreeMap;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, get, http::header, patch, post, put, web};
use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use horizon_domain::{
    Bounds, ExecutionKind, ExecutionStatus, Frequency, QuantileLevels, SeriesClass, SeriesKey,
    SeriesMeta, Timestamp,
};
use horizon_dto::*;
use horizon_store::{ObservationRow, PredictionFilter, StoreError};
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
    cfg.service(healthz)
        .service(readyz)
        .service(list_series)
        .service(get_series)
        .service(put_series)
        .service(patch_series)
        .service(get_observations)
        .service(post_observations)
        .service(get_classification)
        .service(list_forecasts)
        .service(get_forecast)
        .service(list_series_forecasts)
        .service(latest_forecast)
        .service(list_executions)
        .service(get_execution)
        .service(train)
        .service(predict)
        .service(backtest)
        .service(generate)
        .service(model_families)
        .service(list_models)
        .service(post_outcomes)
        .service(list_outcomes)
        .service(current_calibration)
        .service(calibration_history)
        .service(list_forecast_metrics)
        .service(list_keys);
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

#[utoipa::path(tag = "operations", responses((status = 200, description = "alive", body = Health)))]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    json_ok(&Health {
        status: "ok".into(),
    })
}

#[utoipa::path(tag = "operations", responses(
    (status = 200, description = "ready", body = Readiness),
    (status = 503, description = "a dependency is down", body = Readiness)))]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = match state.store.ping().await {
        Ok(()) => "ok",
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unavailable");
            "unavailable"
        }
    };
    let redis = match &state.redis_guard {
        None => "not configured",
        // Through the guard: a frozen Redis answers "unavailable" within the deadline.
        Some(guard) => match guard
            .call("readiness", |mut conn| async move {
                deadpool_redis::redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
            })
            .await
        {
            Some(_) => "ok",
            None => "unavailable",
        },
    };
    let draining = state.draining.load(std::sync::atomic::Ordering::Acquire);
    let ok = database == "ok" && redis != "unavailable" && !draining;
    let body = Readiness {
        status: if ok { "ok" } else { "unavailable" }.into(),
        database: database.into(),
        redis: redis.into(),
    };
    if ok {
        json_ok(&body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

// ---------------------------------------------------------------------------------- series

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SeriesQuery {
    /// Only series of this entity.
    entity: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

#[utoipa::path(tag = "series", params(SeriesQuery), security(("api_key" = [])), responses(
    (status = 200, body = SeriesPageDto), (status = 400, body = Problem), (status = 401, body = Problem)))]
#[get("/v1/series")]
async fn list_series(
    state: web::Data<AppState>,
    query: web::Query<SeriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit_of(query.limit, 100)?;
    let page = state
        .store
        .list_series(query.entity.as_deref(), query.cursor.as_deref(), limit)
        .await?;
    Ok(json_ok(&SeriesPageDto {
        items: page.items.iter().map(SeriesDto::from).collect(),
        next_cursor: page.next_after,
    }))
}

#[utoipa::path(tag = "series", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$")),
    security(("api_key" = [])),
    responses((status = 200, body = SeriesDto), (status = 404, body = Problem)))]
#[get("/v1/series/{key}")]
async fn get_series(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = parse_key(&key)?;
    let s = state.store.series_by_key(&key).await?;
    Ok(json_ok(&SeriesDto::from(&s)))
}

fn frequency_of(raw: Option<&str>) -> Result<Option<Frequency>, ApiError> {
    raw.map(|f| {
        f.parse::<Frequency>()
            .map_err(|e| ApiError::unprocessable(format!("frequency {f:?}: {e}")))
    })
    .transpose()
}

fn check_text(what: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() || value.len() > 200 {
        return Err(ApiError::unprocessable(format!(
            "{what} must be 1 to 200 characters"
        )));
    }
    Ok(())
}

fn bounds_of(lower: Option<f64>, upper: Option<f64>) -> Result<Bounds, ApiError> {
    Bounds::new(lower, upper).map_err(|e| ApiError::unprocessable(e.to_string()))
}

#[utoipa::path(tag = "series", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$")),
    request_body = SeriesWrite, security(("api_key" = [])),
    responses((status = 200, description = "updated", body = SeriesDto),
        (status = 201, description = "created", body = SeriesDto),
        (status = 400, body = Problem), (status = 422, body = Problem)))]
#[put("/v1/series/{key}")]
async fn put_series(
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: web::Json<SeriesWrite>,
) -> Result<HttpResponse, ApiError> {
    let key = parse_key(&key)?;
    let body = body.into_inner();
    check_text("entity", &body.entity)?;
    check_text("metric", &body.metric)?;
    let meta = SeriesMeta {
        key: key.clone(),
        entity: body.entity,
        metric: body.metric,
        frequency: frequency_of(body.frequency.as_deref())?,
        unit: body.unit,
        bounds: bounds_of(body.lower_bound, body.upper_bound)?,
        tags: body.tags,
    };
    let existed = match state.store.series_by_key(&key).await {
        Ok(_) => true,
        Err(StoreError::NotFound { .. }) => false,
        Err(e) => return Err(e.into()),
    };
    let s = state.store.upsert_series(&meta).await?;
    let dto = SeriesDto::from(&s);
    Ok(if existed {
        json_ok(&dto)
    } else {
        HttpResponse::Created()
            .insert_header((header::LOCATION, format!("/v1/series/{}", key)))
            .json(dto)
    })
}

#[utoipa::path(tag = "series", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$")),
    request_body = SeriesPatch, security(("api_key" = [])),
    responses((status = 200, body = SeriesDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[patch("/v1/series/{key}")]
async fn patch_series(
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: web::Json<SeriesPatch>,
) -> Result<HttpResponse, ApiError> {
    let key = parse_key(&key)?;
    let patch = body.into_inner();
    let mut meta = state.store.series_by_key(&key).await?.meta;
    if let Some(entity) = patch.entity {
        check_text("entity", &entity)?;
        meta.entity = entity;
    }
    if let Some(metric) = patch.metric {
        check_text("metric", &metric)?;
        meta.metric = metric;
    }
    if patch.frequency.is_some() {
        meta.frequency = frequency_of(patch.frequency.as_deref())?;
    }
    if patch.unit.is_some() {
        meta.unit = patch.unit;
    }
    if patch.lower_bound.is_some() || patch.upper_bound.is_some() {
        meta.bounds = bounds_of(
            patch.lower_bound.or(meta.bounds.lower()),
            patch.upper_bound.or(meta.bounds.upper()),
        )?;
    }
    if let Some(tags) = patch.tags {
        meta.tags.extend(tags);
    }
    let s = state.store.upsert_series(&meta).await?;
    Ok(json_ok(&SeriesDto::from(&s)))
}

// ---------------------------------------------------------------------------- observations

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum Bucket {
    Day,
    Week,
    Month,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum Agg {
    Sum,
    Mean,
    Min,
    Max,
    Count,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ObservationsQuery {
    /// From this instant (inclusive): a date, an RFC 3339 datetime or Unix seconds.
    #[serde(default, deserialize_with = "from_param")]
    from: Option<DateTime<Utc>>,
    /// To this instant (exclusive): a date, an RFC 3339 datetime or Unix seconds.
    #[serde(default, deserialize_with = "to_param")]
    to: Option<DateTime<Utc>>,
    /// Resample into buckets: day, week (ISO weeks, from Monday 00:00 UTC) or month.
    resample: Option<Bucket>,
    /// Aggregate of each bucket: sum, mean, min, max or count (default sum).
    agg: Option<Agg>,
    /// At most this many items (observations, or buckets when resampled), 1 to 10000
    /// (default 10000).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<u64>,
    /// `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "cursor_param")]
    cursor: Option<DateTime<Utc>>,
}

/// Largest page of observations (or buckets): 10,000 items are about 400 KB of JSON.
pub const MAX_OBSERVATIONS_PAGE: u64 = 10_000;
/// Rows read per round trip while resampling, so memory stays bounded whatever the series.
const RESAMPLE_CHUNK: u64 = 50_000;

/// One bucket's running aggregate.
#[derive(Clone, Copy)]
struct Acc {
    sum: f64,
    count: u64,
    min: f64,
    max: f64,
}

impl Acc {
    fn new() -> Self {
        Acc {
            sum: 0.0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn add(&mut self, v: f64) {
        self.sum += v;
        self.count += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    fn value(&self, agg: Agg) -> f64 {
        match agg {
            Agg::Sum => self.sum,
            Agg::Mean => self.sum / self.count as f64,
            Agg::Min => self.min,
            Agg::Max => self.max,
            Agg::Count => self.count as f64,
        }
    }
}

/// Start of the bucket holding `ts`, in UTC.
fn bucket_start(bucket: Bucket, ts: Timestamp) -> Timestamp {
    let day = ts.date_naive();
    let start = match bucket {
        Bucket::Day => day,
        Bucket::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        Bucket::Month => day.with_day(1).unwrap_or(day),
    };
    Utc.from_utc_datetime(&start.and_time(chrono::NaiveTime::MIN))
}

/// Up to `limit` buckets of the series from `from`, read in bounded chunks, and the start of
/// the next bucket when there are more.
async fn resample(
    state: &AppState,
    series: Uuid,
    (from, to): (Option<Timestamp>, Option<Timestamp>),
    bucket: Bucket,
    agg: Agg,
    limit: u64,
) -> Result<(Vec<ObservationDto>, Option<Timestamp>), ApiError> {
    let mut buckets: Vec<(Timestamp, Acc)> = Vec::new();
    let mut start = from;
    loop {
        let chunk = state
            .store
            .observations_page(series, start, to, RESAMPLE_CHUNK)
            .await?;
        let full = chunk.len() as u64 == RESAMPLE_CHUNK;
        for o in &chunk {
            let b = bucket_start(bucket, o.ts);
            match buckets.last_mut() {
                Some((at, acc)) if *at == b => acc.add(o.value),
                _ => {
                    if buckets.len() as u64 == limit {
                        let items = buckets
                            .iter()
                            .map(|(ts, a)| ObservationDto {
                                ts: *ts,
                                value: a.value(agg),
                            })
                            .collect();
                        return Ok((items, Some(b)));
                    }
                    let mut acc = Acc::new();
                    acc.add(o.value);
                    buckets.push((b, acc));
                }
            }
        }
        match chunk.last() {
            Some(last) if full => start = Some(last.ts + Duration::microseconds(1)),
            _ => break,
        }
    }
    let items = buckets
        .iter()
        .map(|(ts, a)| ObservationDto {
            ts: *ts,
            value: a.value(agg),
        })
        .collect();
    Ok((items, None))
}

#[utoipa::path(tag = "observations", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$"), ObservationsQuery),
    security(("api_key" = [])),
    responses((status = 200, body = ObservationsDto), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/series/{key}/observations")]
async fn get_observations(
    state: web::Data<AppState>,
    key: web::Path<String>,
    query: web::Query<ObservationsQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = parse_key(&key)?;
    check_window(query.from, query.to)?;
    if query.agg.is_some() && query.resample.is_none() {
        return Err(ApiError::invalid("agg needs resample"));
    }
    let limit = query.limit.unwrap_or(MAX_OBSERVATIONS_PAGE);
    if limit == 0 || limit > MAX_OBSERVATIONS_PAGE {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and {MAX_OBSERVATIONS_PAGE}, got {limit}"
        )));
    }
    // The cursor is where the next page starts; with `from` too, the later one counts.
    let from = match (query.from, query.cursor) {
        (Some(f), Some(c)) => Some(f.max(c)),
        (f, c) => f.or(c),
    };
    let s = state.store.series_by_key(&key).await?;
    let (items, agg, next_cursor) = match query.resample {
        Some(bucket) => {
            let agg = query.agg.unwrap_or(Agg::Sum);
            let (items, next) =
                resample(&state, s.id, (from, query.to), bucket, agg, limit).await?;
            (items, Some(agg), next)
        }
        None => {
            let mut obs = state
                .store
                .observations_page(s.id, from, query.to, limit + 1)
                .await?;
            let next = (obs.len() as u64 > limit).then(|| obs[limit as usize].ts);
            obs.truncate(limit as usize);
            let items = obs
                .iter()
                .map(|o| ObservationDto {
                    ts: o.ts,
                    value: o.value,
                })
                .collect();
            (items, None, next)
        }
    };
    let name = |v: &dyn std::fmt::Debug| format!("{v:?}").to_lowercase();
    Ok(json_ok(&ObservationsDto {
        series_key: key.to_string(),
        resample: query.resample.map(|b| name(&b)),
        agg: agg.map(|a| name(&a)),
        items,
        next_cursor,
    }))
}

#[utoipa::path(tag = "observations", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$")),
    request_body = ObservationsWrite, security(("api_key" = [])),
    responses((status = 200, body = WriteResult), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[post("/v1/series/{key}/observations")]
async fn post_observations(
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: web::Json<ObservationsWrite>,
) -> Result<HttpResponse, ApiError> {
    let key = parse_key(&key)?;
    let body = body.into_inner();
    if body.items.len() > MAX_WRITE_ITEMS {
        return Err(ApiError::unprocessable(format!(
            "at most {MAX_WRITE_ITEMS} observations per request, got {}",
            body.items.len()
        )));
    }
    let s = state.store.series_by_key(&key).await?;
    let mut rows = Vec::with_capacity(body.items.len());
    for o in &body.items {
        if !o.value.is_finite() {
            return Err(ApiError::unprocessable(format!(
                "value at {} is not a finite number",
                o.ts
            )));
        }
        if !s.meta.bounds.contains(o.value) {
            return Err(ApiError::unprocessable(format!(
                "value {} at {} is outside the series' bounds",
                o.value, o.ts
            )));
        }
        rows.push(ObservationRow {
            series_id: s.id,
            ts: o.ts,
            value: o.value,
        });
    }
    let written = state.store.upsert_observations(&rows).await?;
    Ok(json_ok(&WriteResult { written }))
}

#[utoipa::path(tag = "series", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$")),
    security(("api_key" = [])),
    responses((status = 200, body = ClassificationDto), (status = 404, body = Problem)))]
#[get("/v1/series/{key}/classification")]
async fn get_classification(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = parse_key(&key)?;
    let s = state.store.series_by_key(&key).await?;
    let c = state
        .store
        .latest_classification(s.id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("series {key} has not been classified yet")))?;
    Ok(json_ok(&ClassificationDto::from_domain(&c, key.as_str())))
}

// ------------------------------------------------------------------------------- forecasts

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
    let mut keys: BTreeMap<Uuid, String> = BTreeMap::new();
    if let Some((id, key)) = series {
        keys.insert(id, key);
    }
    let mut out = Vec::with_capacity(items.len());
    for p in items.iter().take(limit as usize) {
        if let std::collections::btree_map::Entry::Vacant(slot) = keys.entry(p.series_id) {
            let s = state.store.series_by_id(p.series_id).await?;
            slot.insert(s.meta.key.to_string());
        }
        let key = keys.get(&p.series_id).map(String::as_str).unwrap_or("");
        out.push(ForecastDto::from_prediction(p, key));
    }
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

#[utoipa::path(tag = "forecasts", params(ForecastQuery), security(("api_key" = [])),
    responses((status = 200, body = ForecastPage), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/forecasts")]
async fn list_forecasts(
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

#[utoipa::path(tag = "forecasts", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$"), ForecastQuery),
    security(("api_key" = [])),
    responses((status = 200, body = ForecastPage), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/series/{key}/forecasts")]
async fn list_series_forecasts(
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

#[utoipa::path(tag = "forecasts", params(("id" = Uuid, Path, description = "forecast id (UUID)")),
    security(("api_key" = [])),
    responses((status = 200, body = ForecastDto), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/forecasts/{id}")]
async fn get_forecast(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("forecast id", &id)?;
    Ok(json_text(cache::forecast_json(&state, id).await?))
}

#[utoipa::path(tag = "forecasts", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$")),
    security(("api_key" = [])),
    responses((status = 200, body = ForecastDto), (status = 404, body = Problem)))]
#[get("/v1/series/{key}/forecasts/latest")]
async fn latest_forecast(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = parse_key(&key)?;
    let lookup = || async {
        let series = state.store.series_by_key(&key).await?;
        state.store.latest_prediction_id(series.id).await
    };
    let id = match crate::retry_broken(lookup).await {
        Ok(Some(id)) => {
            state.forecasts.remember_latest(&key, id);
            id
        }
        Ok(None) => {
            return Err(ApiError::not_found(format!(
                "series {key} has no forecast yet"
            )));
        }
        // While the database is away, the newest forecast this process has served for the
        // series is still the best answer it has (forecasts never change once written).
        Err(e) if e.is_transient() => match state.forecasts.last_latest(&key) {
            Some(id) => id,
            None => return Err(e.into()),
        },
        Err(e) => return Err(e.into()),
    };
    Ok(json_text(cache::forecast_json(&state, id).await?))
}

// ------------------------------------------------------------------------------ executions

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ExecutionQuery {
    /// Only executions in this status: queued, running, succeeded, failed.
    #[param(pattern = "^(queued|running|succeeded|failed)$")]
    status: Option<String>,
    /// At most this many, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

#[utoipa::path(tag = "executions", params(ExecutionQuery), security(("api_key" = [])),
    responses((status = 200, body = ExecutionList), (status = 400, body = Problem)))]
#[get("/v1/executions")]
async fn list_executions(
    state: web::Data<AppState>,
    query: web::Query<ExecutionQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit_of(query.limit, 50)?;
    let status = query
        .status
        .as_deref()
        .map(|s| s.parse::<ExecutionStatus>())
        .transpose()?;
    let items = state.store.list_executions(status, limit).await?;
    Ok(json_ok(&ExecutionList {
        items: items
            .iter()
            .map(|e| ExecutionDto::from_domain(e, None))
            .collect(),
    }))
}

#[utoipa::path(tag = "executions", params(("id" = Uuid, Path, description = "execution id (UUID)")),
    security(("api_key" = [])),
    responses((status = 200, body = ExecutionDto), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/executions/{id}")]
async fn get_execution(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("execution id", &id)?;
    let e = state.store.execution(id).await?;
    let steps = state.store.execution_steps(id).await?;
    let partitions = state.store.partitions(e.id).await?;
    Ok(json_ok(
        &ExecutionDto::from_domain(&e, Some(&steps)).with_partitions(&partitions),
    ))
}

// ------------------------------------------------------------------------------------ jobs

/// The typed parameters of a job request, defaults applied (quantiles: the domain's default
/// levels; folds: [`horizon_services::jobs::DEFAULT_FOLDS`]), or 422 naming what is wrong.
fn job_params(
    kind: ExecutionKind,
    r: JobRequest,
) -> Result<horizon_services::jobs::JobParams, ApiError> {
    validate_job(kind, &r)?;
    let quantiles = match r.quantiles {
        Some(q) => QuantileLevels::new(q).map_err(|e| ApiError::unprocessable(e.to_string()))?,
        None => QuantileLevels::default(),
    };
    Ok(horizon_services::jobs::JobParams {
        options: horizon_services::pipeline::PipelineOptions {
            as_of: r.as_of,
            series_prefix: r.series_prefix,
            series_keys: r.series,
            models: r.models,
            horizon: r.horizon.map(|h| h as usize),
            quantiles,
        },
        folds: r
            .folds
            .map_or(horizon_services::jobs::DEFAULT_FOLDS, |f| f as usize),
    })
}

fn validate_job(kind: ExecutionKind, r: &JobRequest) -> Result<(), ApiError> {
    if let Some(series) = &r.series {
        if series.is_empty() || series.len() > 10_000 {
            return Err(ApiError::unprocessable(
                "series must list 1 to 10000 keys when given",
            ));
        }
        for k in series {
            SeriesKey::parse(k).map_err(|e| ApiError::unprocessable(e.to_string()))?;
        }
    }
    if let Some(h) = r.horizon
        && !(1..=10_000).contains(&h)
    {
        return Err(ApiError::unprocessable(format!(
            "horizon must be between 1 and 10000, got {h}"
        )));
    }
    if let Some(q) = &r.quantiles {
        QuantileLevels::new(q.clone()).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    }
    if let Some(models) = &r.models {
        if models.is_empty() {
            return Err(ApiError::unprocessable(
                "models must not be empty when given",
            ));
        }
        for m in models {
            m.parse::<horizon_domain::ModelKind>()
                .map_err(|e| ApiError::unprocessable(e.to_string()))?;
        }
    }
    if let Some(f) = r.folds {
        if kind != ExecutionKind::Backtest {
            return Err(ApiError::unprocessable("folds applies to backtests only"));
        }
        if !(1..=50).contains(&f) {
            return Err(ApiError::unprocessable(format!(
                "folds must be between 1 and 50, got {f}"
            )));
        }
    }
    Ok(())
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .ok()
        .filter(|v| !v.is_empty() && v.len() <= 200 && v.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::invalid("Idempotency-Key must be 1 to 200 visible ASCII characters")
        })?;
    Ok(Some(v.to_owned()))
}

fn accepted(e: &horizon_domain::Execution) -> HttpResponse {
    let location = format!("/v1/executions/{}", e.id);
    HttpResponse::Accepted()
        .insert_header((header::LOCATION, location.clone()))
        .json(JobAccepted {
            execution_id: e.id,
            status: e.status.to_string(),
            location,
        })
}

/// Creates (or, for a replayed Idempotency-Key, finds) the execution of a job.
async fn submit(
    state: &AppState,
    req: &HttpRequest,
    kind: ExecutionKind,
    body: JobRequest,
) -> Result<HttpResponse, ApiError> {
    let params = job_params(kind, body)?;
    // A job naming a series that does not exist is refused now, not failed later.
    match horizon_services::jobs::select_series(&state.store, &params.options).await {
        Ok(_) => {}
        Err(e) if e.code() == horizon_domain::ErrorCode::Invalid => {
            return Err(ApiError::unprocessable(e.to_string()));
        }
        Err(e) => return Err(e.into()),
    }
    let principal = req.extensions().get::<Principal>().cloned();
    let request = params.to_request(kind);
    let hash = hex::encode(Sha256::digest(request.to_string().as_bytes()));
    // Keys are per API key, so two clients cannot collide on the same Idempotency-Key.
    let key = idempotency_key(req)?.map(|k| {
        let owner = principal.as_ref().map(|p| p.key_id.to_string());
        format!("{}:{k}", owner.unwrap_or_default())
    });
    let replay = |e: horizon_domain::Execution| {
        if e.request_hash.as_deref() == Some(hash.as_str()) {
            Ok(accepted(&e))
        } else {
            Err(ApiError::unprocessable(
                "this Idempotency-Key was used with a different request",
            ))
        }
    };
    if let Some(k) = &key
        && let Some(e) = state.store.execution_by_idempotency_key(k).await?
    {
        return replay(e);
    }
    match horizon_services::jobs::submit(
        &state.store,
        &state.settings,
        kind,
        request,
        key.clone(),
        Some(hash.clone()),
        principal.map(|p| p.key_id),
    )
    .await
    {
        Ok(e) => Ok(accepted(&e)),
        // A concurrent request with the same key won the insert: answer as a replay.
        Err(err) => match &key {
            Some(k) => match state.store.execution_by_idempotency_key(k).await? {
                Some(e) => replay(e),
                None => Err(err.into()),
            },
            None => Err(err.into()),
        },
    }
}

macro_rules! job_route {
    ($name:ident, $path:literal, $kind:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(tag = "jobs", request_body = JobRequest, security(("api_key" = [])),
            params(("Idempotency-Key" = Option<String>, Header, description = "replays return the same execution")),
            responses((status = 202, body = JobAccepted), (status = 400, body = Problem),
                (status = 422, body = Problem)))]
        #[post($path)]
        async fn $name(
            state: web::Data<AppState>,
            req: HttpRequest,
            body: web::Json<JobRequest>,
        ) -> Result<HttpResponse, ApiError> {
            submit(&state, &req, $kind, body.into_inner()).await
        }
    };
}

job_route!(
    train,
    "/v1/train",
    ExecutionKind::Train,
    "Fits models and registers them."
);
job_route!(
    predict,
    "/v1/predict",
    ExecutionKind::Predict,
    "Forecasts with registered models."
);
job_route!(
    backtest,
    "/v1/backtest",
    ExecutionKind::Backtest,
    "Rolling-origin backtest."
);
job_route!(
    generate,
    "/v1/generate",
    ExecutionKind::Generate,
    "Fits and forecasts in one run."
);

// ---------------------------------------------------------------------------------- models

#[utoipa::path(tag = "models", security(("api_key" = [])), responses((status = 200, body = ModelFamilies)))]
#[get("/v1/models/families")]
async fn model_families() -> HttpResponse {
    json_ok(&ModelFamilies {
        items: horizon_domain::ModelKind::ALL
            .iter()
            .map(|k| ModelFamilyDto {
                name: k.as_str().to_owned(),
            })
            .collect(),
    })
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

#[utoipa::path(tag = "models", params(BySeriesQuery), security(("api_key" = [])),
    responses((status = 200, body = ModelList), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/models")]
async fn list_models(
    state: web::Data<AppState>,
    query: web::Query<BySeriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit_of(query.limit, 100)?;
    let id = series_id_of(&state, query.series.as_deref()).await?;
    let items = state.store.list_models(id, limit).await?;
    Ok(json_ok(&ModelList {
        items: items.iter().map(ModelDto::from).collect(),
    }))
}

// -------------------------------------------------------------------------------- outcomes

#[utoipa::path(tag = "outcomes", request_body = OutcomesWrite, security(("api_key" = [])),
    responses((status = 201, body = OutcomeList), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[post("/v1/outcomes")]
async fn post_outcomes(
    state: web::Data<AppState>,
    body: web::Json<OutcomesWrite>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if body.actuals.is_empty() || body.actuals.len() > 10_000 {
        return Err(ApiError::unprocessable(
            "actuals must hold 1 to 10000 values",
        ));
    }
    let p = state.store.prediction(body.forecast_id).await?;
    let mut records = Vec::with_capacity(body.actuals.len());
    for a in &body.actuals {
        if !a.value.is_finite() {
            return Err(ApiError::unprocessable(format!(
                "actual at {} is not a finite number",
                a.ts
            )));
        }
        let step = (1..=p.horizon())
            .find(|s| p.target_at(*s) == a.ts)
            .ok_or_else(|| {
                ApiError::unprocessable(format!("{} is not a step of forecast {}", a.ts, p.id))
            })?;
        records.push(horizon_services::pipeline::outcomes::score_step(
            &p,
            step,
            a.value,
            Utc::now(),
        ));
    }
    state.store.insert_outcomes(&records).await?;
    Ok(HttpResponse::Created().json(OutcomeList {
        items: records.iter().map(OutcomeDto::from).collect(),
    }))
}

#[utoipa::path(tag = "outcomes", params(BySeriesQuery), security(("api_key" = [])),
    responses((status = 200, body = OutcomeList), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/outcomes")]
async fn list_outcomes(
    state: web::Data<AppState>,
    query: web::Query<BySeriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit_of(query.limit, 100)?;
    let id = series_id_of(&state, query.series.as_deref()).await?;
    let items = state.store.list_outcomes(id, limit).await?;
    Ok(json_ok(&OutcomeList {
        items: items.iter().map(OutcomeDto::from).collect(),
    }))
}

// ----------------------------------------------------------------- calibration and metrics

#[utoipa::path(tag = "calibration", security(("api_key" = [])),
    responses((status = 200, body = CalibrationList)))]
#[get("/v1/calibration")]
async fn current_calibration(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let current = state.store.current_calibration_weights().await?;
    let mut items: Vec<CalibrationWeightDto> = current
        .values()
        .flatten()
        .map(CalibrationWeightDto::from)
        .collect();
    items.sort_by(|a, b| (&a.series_class, &a.model).cmp(&(&b.series_class, &b.model)));
    let mut interval_scales: Vec<IntervalScaleDto> = state
        .store
        .interval_scales(None, true, 1_000)
        .await?
        .iter()
        .map(IntervalScaleDto::from)
        .collect();
    interval_scales.sort_by(|a, b| {
        (&a.series_class, a.level)
            .partial_cmp(&(&b.series_class, b.level))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(json_ok(&CalibrationList {
        items,
        interval_scales,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CalibrationQuery {
    /// Only this series class: smooth, erratic, intermittent, lumpy.
    #[param(pattern = "^(smooth|erratic|intermittent|lumpy)$")]
    class: Option<String>,
    /// At most this many, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

#[utoipa::path(tag = "calibration", params(CalibrationQuery), security(("api_key" = [])),
    responses((status = 200, body = CalibrationList), (status = 400, body = Problem)))]
#[get("/v1/calibration/history")]
async fn calibration_history(
    state: web::Data<AppState>,
    query: web::Query<CalibrationQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit_of(query.limit, 100)?;
    let class = query
        .class
        .as_deref()
        .map(|c| c.parse::<SeriesClass>())
        .transpose()?;
    let items = state.store.calibration_history(class, limit).await?;
    let scales = state.store.interval_scales(class, false, limit).await?;
    Ok(json_ok(&CalibrationList {
        items: items.iter().map(CalibrationWeightDto::from).collect(),
        interval_scales: scales.iter().map(IntervalScaleDto::from).collect(),
    }))
}

#[utoipa::path(tag = "metrics", params(BySeriesQuery), security(("api_key" = [])),
    responses((status = 200, body = ForecastMetricList), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/forecast-metrics")]
async fn list_forecast_metrics(
    state: web::Data<AppState>,
    query: web::Query<BySeriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit_of(query.limit, 100)?;
    let id = series_id_of(&state, query.series.as_deref()).await?;
    let items = state.store.list_forecast_metrics(id, limit).await?;
    Ok(json_ok(&ForecastMetricList {
        items: items.iter().map(ForecastMetricDto::from).collect(),
    }))
}

// ------------------------------------------------------------------------------------ keys

#[utoipa::path(tag = "keys", security(("api_key" = [])),
    responses((status = 200, description = "needs the admin scope", body = ApiKeyList), (status = 403, body = Problem)))]
#[get("/v1/keys")]
async fn list_keys(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let keys = state.store.list_api_keys().await?;
    Ok(json_ok(&ApiKeyList {
        items: keys.iter().map(ApiKeyDto::from).collect(),
    }))
}

/// The OpenAPI document of every route above.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Horizon API", description = "Probabilistic forecasts for many series."),
    paths(healthz, readyz, list_series, get_series, put_series, patch_series, get_observations,
        post_observations, get_classification, list_forecasts, get_forecast,
        list_series_forecasts, latest_forecast, list_executions, get_execution, train, predict,
        backtest, generate, model_families, list_models, post_outcomes, list_outcomes,
        current_calibration, calibration_history, list_forecast_metrics, list_keys),
    components(schemas(Problem, Bucket, Agg)),
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
