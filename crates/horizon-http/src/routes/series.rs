//! Series: list, read, create or replace, patch.

use super::*;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SeriesQuery {
    /// Only series of this entity.
    #[param(max_length = 200)]
    entity: Option<String>,
    /// Only series of this metric.
    #[param(max_length = 200)]
    metric: Option<String>,
    /// Only series whose latest classification is this class.
    #[param(pattern = "^(smooth|erratic|intermittent|lumpy)$")]
    class: Option<String>,
    /// Only series whose key or entity contains this text, ignoring case (`%` and `_` are
    /// plain characters here).
    #[param(max_length = 200)]
    q: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

#[utoipa::path(summary = "List series", tag = "series", params(SeriesQuery), security(("api_key" = [])), responses(
    (status = 200, description = "a page of series", body = SeriesPageDto), (status = 400, body = Problem), (status = 401, body = Problem)))]
#[get("/v1/series")]
pub(super) async fn list_series(
    state: web::Data<AppState>,
    query: web::Query<SeriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit_of(query.limit, 100)?;
    let query = query.into_inner();
    for (name, value) in [
        ("entity", &query.entity),
        ("metric", &query.metric),
        ("q", &query.q),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > 200) {
            return Err(ApiError::invalid(format!(
                "{name} is longer than 200 characters"
            )));
        }
        // No key, entity or metric holds one, and PostgreSQL refuses NUL in text.
        if value
            .as_ref()
            .is_some_and(|v| v.chars().any(char::is_control))
        {
            return Err(ApiError::invalid(format!(
                "{name} contains a control character"
            )));
        }
    }
    let filter = SeriesFilter {
        entity: query.entity,
        metric: query.metric,
        class: query.class.as_deref().map(str::parse).transpose()?,
        search: query.q,
    };
    let page = state
        .store
        .list_series(&filter, query.cursor.as_deref(), limit)
        .await?;
    Ok(json_ok(&SeriesPageDto {
        items: page.items.iter().map(SeriesDto::from).collect(),
        next_cursor: page.next_after,
    }))
}

#[utoipa::path(summary = "One series by key", tag = "series", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$")),
    security(("api_key" = [])),
    responses((status = 200, description = "the series", body = SeriesDto), (status = 404, body = Problem)))]
#[get("/v1/series/{key}")]
pub(super) async fn get_series(
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

fn attributes_of(dto: &SeriesAttributesDto) -> Result<horizon_domain::SeriesAttributes, ApiError> {
    dto.to_domain()
        .map_err(|e| ApiError::unprocessable(format!("attributes: {e}")))
}

fn bounds_of(lower: Option<f64>, upper: Option<f64>) -> Result<Bounds, ApiError> {
    Bounds::new(lower, upper).map_err(|e| ApiError::unprocessable(e.to_string()))
}

/// `tags`, refused when one is the old `thresholds` tag: thresholds are a field of their own,
/// and a tag of that name would be read by nothing.
fn tags_of(tags: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ApiError> {
    if tags.contains_key("thresholds") {
        return Err(ApiError::unprocessable(
            "tags: \"thresholds\" is not a tag any more; give the field `thresholds`, e.g. \
             [{\"value\": 16, \"direction\": \"above\"}]",
        ));
    }
    Ok(tags)
}

fn thresholds_of(list: &[SeriesThresholdDto]) -> Result<Vec<Threshold>, ApiError> {
    SeriesThresholdDto::to_domain(list).map_err(|e| ApiError::unprocessable(e.to_string()))
}

#[utoipa::path(summary = "Create or replace a series", tag = "series", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$")),
    request_body = SeriesWrite, security(("api_key" = [])),
    responses((status = 200, description = "updated", body = SeriesDto),
        (status = 201, description = "created", body = SeriesDto),
        (status = 400, body = Problem), (status = 422, body = Problem)))]
#[put("/v1/series/{key}")]
pub(super) async fn put_series(
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
        tags: tags_of(body.tags)?,
        attributes: attributes_of(&body.attributes)?,
        thresholds: thresholds_of(&body.thresholds)?,
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

#[utoipa::path(summary = "Change some fields of a series", tag = "series", params(("key" = String, Path, description = "series key", pattern = "^[A-Za-z0-9_.:-]{1,128}$")),
    request_body = SeriesPatch, security(("api_key" = [])),
    responses((status = 200, description = "the series", body = SeriesDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[patch("/v1/series/{key}")]
pub(super) async fn patch_series(
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
    meta.unit = patch.unit.apply(meta.unit);
    if !(patch.lower_bound.is_keep() && patch.upper_bound.is_keep()) {
        meta.bounds = bounds_of(
            patch.lower_bound.apply(meta.bounds.lower()),
            patch.upper_bound.apply(meta.bounds.upper()),
        )?;
    }
    if let Some(tags) = patch.tags {
        meta.tags.extend(tags_of(tags)?);
    }
    if let Some(thresholds) = &patch.thresholds {
        meta.thresholds = thresholds_of(thresholds)?;
    }
    if let Some(attributes) = &patch.attributes {
        meta.attributes =
            attributes_of(&SeriesAttributesDto::from(&meta.attributes).patched(attributes))?;
    }
    let s = state.store.upsert_series(&meta).await?;
    Ok(json_ok(&SeriesDto::from(&s)))
}
