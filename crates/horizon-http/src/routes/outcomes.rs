//! Outcomes: actuals scored against earlier forecasts.

use super::*;

#[utoipa::path(summary = "Record what happened", tag = "outcomes", request_body = OutcomesWrite, security(("api_key" = [])),
    responses((status = 201, description = "the outcomes", body = OutcomeList), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[post("/v1/outcomes")]
pub(super) async fn post_outcomes(
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
    let keys = series_keys(&state, records.iter().map(|o| o.series_id)).await?;
    Ok(HttpResponse::Created().json(OutcomeList {
        items: records
            .iter()
            .map(|o| OutcomeDto::new(o, key_of(&keys, o.series_id)))
            .collect(),
    }))
}

#[utoipa::path(summary = "List recorded outcomes", tag = "outcomes", params(BySeriesQuery), security(("api_key" = [])),
    responses((status = 200, description = "the outcomes", body = OutcomeList), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/outcomes")]
pub(super) async fn list_outcomes(
    state: web::Data<AppState>,
    query: web::Query<BySeriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit_of(query.limit, 100)?;
    let id = series_id_of(&state, query.series.as_deref()).await?;
    let items = state.store.list_outcomes(id, limit).await?;
    let keys = series_keys(&state, items.iter().map(|o| o.series_id)).await?;
    Ok(json_ok(&OutcomeList {
        items: items
            .iter()
            .map(|o| OutcomeDto::new(o, key_of(&keys, o.series_id)))
            .collect(),
    }))
}
