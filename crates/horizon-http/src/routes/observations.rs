//! Observations: paged and resampled reads, bulk writes.

use horizon_domain::{Accumulator, Aggregate};

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum Bucket {
    Hour,
    Day,
    Week,
    Month,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum Agg {
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
    /// Resample into buckets: hour, day, week (ISO weeks, from Monday 00:00 UTC) or month.
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

impl From<Bucket> for horizon_domain::Bucket {
    fn from(b: Bucket) -> Self {
        match b {
            Bucket::Hour => Self::Hour,
            Bucket::Day => Self::Day,
            Bucket::Week => Self::Week,
            Bucket::Month => Self::Month,
        }
    }
}

impl From<Agg> for Aggregate {
    fn from(a: Agg) -> Self {
        match a {
            Agg::Sum => Self::Sum,
            Agg::Mean => Self::Mean,
            Agg::Min => Self::Min,
            Agg::Max => Self::Max,
            Agg::Count => Self::Count,
        }
    }
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
    let (bucket, agg) = (horizon_domain::Bucket::from(bucket), Aggregate::from(agg));
    let mut buckets: Vec<(Timestamp, Accumulator)> = Vec::new();
    let dtos = |buckets: &[(Timestamp, Accumulator)]| -> Vec<ObservationDto> {
        buckets
            .iter()
            .map(|(ts, a)| ObservationDto {
                ts: *ts,
                value: a.value(agg),
            })
            .collect()
    };
    let mut start = from;
    loop {
        let chunk = state
            .store
            .observations_page(series, start, to, RESAMPLE_CHUNK)
            .await?;
        let full = chunk.len() as u64 == RESAMPLE_CHUNK;
        for o in &chunk {
            let b = bucket.start_of(o.ts);
            match buckets.last_mut() {
                Some((at, acc)) if *at == b => acc.add(o.value),
                _ => {
                    if buckets.len() as u64 == limit {
                        return Ok((dtos(&buckets), Some(b)));
                    }
                    let mut acc = Accumulator::default();
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
    Ok((dtos(&buckets), None))
}

#[utoipa::path(summary = "Observations of a series, optionally resampled", tag = "observations", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$"), ObservationsQuery),
    security(("api_key" = [])),
    responses((status = 200, description = "the observations in the window", body = ObservationsDto), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/series/{key}/observations")]
pub(super) async fn get_observations(
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

#[utoipa::path(summary = "Write observations of a series", tag = "observations", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$")),
    request_body = ObservationsWrite, security(("api_key" = [])),
    responses((status = 200, description = "how many observations were written", body = WriteResult), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[post("/v1/series/{key}/observations")]
pub(super) async fn post_observations(
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
        check_year(&state, "ts", o.ts)?;
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

#[utoipa::path(summary = "Demand classification of a series", tag = "series", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$")),
    security(("api_key" = [])),
    responses((status = 200, description = "the classification", body = ClassificationDto), (status = 404, body = Problem)))]
#[get("/v1/series/{key}/classification")]
pub(super) async fn get_classification(
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
