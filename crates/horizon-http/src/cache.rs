//! The read-through forecast cache. A forecast never changes once written, so its JSON is
//! cached under its id with no invalidation; "latest forecast of a series" first reads the
//! newest id (an index-only query), so a newer forecast is served as soon as it lands.
//!
//! Two tiers: the process's own memory (bounded by `api_forecast_cache_mb`, least recently
//! and least frequently used documents go first), then Redis when configured (shared by all
//! replicas, so a forecast one replica loaded is a Redis hit for the others). Because the
//! documents are immutable, neither tier can serve anything stale.

use actix_web::web::Bytes;
use deadpool_redis::redis::AsyncCommands;
use uuid::Uuid;

use crate::{ApiError, AppState};

// Cached documents expire anyway, so the cache holds the forecasts people read, not all.
const TTL_SECS: u64 = 3600;

fn key(id: Uuid) -> String {
    format!("hzn:v1:forecast:{id}")
}

/// Weighs a cached document by its size, so the memory tier is bounded in bytes.
#[derive(Clone, Copy, Debug)]
struct BytesWeighter;

impl quick_cache::Weighter<Uuid, Bytes> for BytesWeighter {
    fn weight(&self, _id: &Uuid, json: &Bytes) -> u64 {
        json.len() as u64 + 64
    }
}

/// The in-process tier: forecast JSON by id.
pub(crate) struct MemoryTier(Option<quick_cache::sync::Cache<Uuid, Bytes, BytesWeighter>>);

impl MemoryTier {
    /// A tier holding about `megabytes` of documents; none at all for 0.
    pub(crate) fn new(megabytes: usize) -> Self {
        if megabytes == 0 {
            return Self(None);
        }
        let bytes = megabytes as u64 * 1024 * 1024;
        // The item estimate only sizes the index; a forecast document is a few kilobytes.
        let items = (bytes / 4096).max(16) as usize;
        Self(Some(quick_cache::sync::Cache::with_weighter(
            items,
            bytes,
            BytesWeighter,
        )))
    }

    fn get(&self, id: Uuid) -> Option<Bytes> {
        self.0.as_ref()?.get(&id)
    }

    fn put(&self, id: Uuid, json: &Bytes) {
        if let Some(cache) = &self.0 {
            cache.insert(id, json.clone());
        }
    }
}

/// The JSON of forecast `id`: from this process's memory, else from Redis when configured,
/// else from the database (then kept in both). Redis failures fall back to the database.
pub async fn forecast_json(state: &AppState, id: Uuid) -> Result<Bytes, ApiError> {
    if let Some(json) = state.forecasts.get(id) {
        return Ok(json);
    }
    let json = shared_or_load(state, id).await?;
    state.forecasts.put(id, &json);
    Ok(json)
}

async fn shared_or_load(state: &AppState, id: Uuid) -> Result<Bytes, ApiError> {
    if let Some(pool) = &state.redis {
        match pool.get().await {
            Ok(mut conn) => {
                match conn.get::<_, Option<Vec<u8>>>(key(id)).await {
                    Ok(Some(json)) => return Ok(Bytes::from(json)),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "forecast cache read failed"),
                }
                let json = load(state, id).await?;
                if let Err(e) = conn.set_ex::<_, _, ()>(key(id), &json[..], TTL_SECS).await {
                    tracing::warn!(error = %e, "forecast cache write failed");
                }
                return Ok(json);
            }
            Err(e) => tracing::warn!(error = %e, "forecast cache unavailable"),
        }
    }
    load(state, id).await
}

async fn load(state: &AppState, id: Uuid) -> Result<Bytes, ApiError> {
    state.reads.read(&state.store, id).await
}
