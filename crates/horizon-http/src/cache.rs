//! The read-through forecast cache. A forecast never changes once written, so its JSON is
//! cached under its id with no invalidation; "latest forecast of a series" first reads the
//! newest id (an index-only query), so a newer forecast is served as soon as it lands.

use deadpool_redis::redis::AsyncCommands;
use horizon_dto::ForecastDto;
use uuid::Uuid;

use crate::{ApiError, AppState};

// Cached documents expire anyway, so the cache holds the forecasts people read, not all.
const TTL_SECS: u64 = 3600;

fn key(id: Uuid) -> String {
    format!("hzn:v1:forecast:{id}")
}

/// The JSON of forecast `id`, from Redis when configured and cached, else from the database
/// (and then cached). Redis failures fall back to the database.
pub async fn forecast_json(state: &AppState, id: Uuid) -> Result<String, ApiError> {
    if let Some(pool) = &state.redis {
        match pool.get().await {
            Ok(mut conn) => {
                match conn.get::<_, Option<String>>(key(id)).await {
                    Ok(Some(json)) => return Ok(json),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "forecast cache read failed"),
                }
                let json = load(state, id).await?;
                if let Err(e) = conn.set_ex::<_, _, ()>(key(id), &json, TTL_SECS).await {
                    tracing::warn!(error = %e, "forecast cache write failed");
                }
                return Ok(json);
            }
            Err(e) => tracing::warn!(error = %e, "forecast cache unavailable"),
        }
    }
    load(state, id).await
}

async fn load(state: &AppState, id: Uuid) -> Result<String, ApiError> {
    let p = state.store.prediction(id).await?;
    let series = state.store.series_by_id(p.series_id).await?;
    serde_json::to_string(&ForecastDto::from_prediction(&p, series.meta.key.as_str())).map_err(
        |e| {
            tracing::error!(error = %e, "serialising a forecast");
            ApiError::unavailable("the forecast could not be encoded")
        },
    )
}
