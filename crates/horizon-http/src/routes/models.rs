//! Model families and fitted models.

use super::*;

#[utoipa::path(summary = "Model families the engine offers", tag = "models", security(("api_key" = [])), responses((status = 200, description = "the model families", body = ModelFamilies)))]
#[get("/v1/models/families")]
pub(super) async fn model_families() -> HttpResponse {
    json_ok(&ModelFamilies {
        items: horizon_domain::ModelKind::ALL
            .iter()
            .map(|k| ModelFamilyDto {
                name: k.as_str().to_owned(),
            })
            .collect(),
    })
}

#[utoipa::path(summary = "Fitted models with their ensemble weights", tag = "models", params(BySeriesQuery), security(("api_key" = [])),
    responses((status = 200, description = "a page of models", body = ModelList), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/models")]
pub(super) async fn list_models(
    state: web::Data<AppState>,
    query: web::Query<BySeriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit_of(query.limit, 100)?;
    let id = series_id_of(&state, query.series.as_deref()).await?;
    let items = state.store.list_models(id, limit).await?;
    let keys = series_keys(&state, items.iter().filter_map(|m| m.series_id)).await?;
    Ok(json_ok(&ModelList {
        items: items
            .iter()
            .map(|m| {
                let key = m.series_id.and_then(|id| keys.get(&id)).map(String::as_str);
                ModelDto::new(m, key)
            })
            .collect(),
    }))
}
