//! API keys (admin scope).

use super::*;

#[utoipa::path(summary = "List API keys (admin)", tag = "keys", security(("api_key" = [])),
    responses((status = 200, description = "needs the admin scope", body = ApiKeyList), (status = 403, body = Problem)))]
#[get("/v1/keys")]
pub(super) async fn list_keys(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let keys = state.store.list_api_keys().await?;
    Ok(json_ok(&ApiKeyList {
        items: keys.iter().map(ApiKeyDto::from).collect(),
    }))
}
