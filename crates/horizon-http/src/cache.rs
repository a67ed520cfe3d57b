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
pub(crate) struct MemoryTier(
    Option<quick_cache::sync::Cache<Uuid, Bytes, BytesWeighter>>,
    /// The newest forecast id served per series key, for answers while the database is down.
    quick_cache::sync::Cache<String, Uuid>,
);

impl MemoryTier {
    /// A tier holding about `megabytes` of documents; none at all for 0.
    pub(crate) fn new(megabytes: usize) -> Self {
        // Series keys are at most 128 bytes: 100,000 of them hold a few megabytes.
        let latest = quick_cache::sync::Cache::new(100_000);
        if megabytes == 0 {
            return Self(None, latest);
        }
        let bytes = megabytes as u64 * 1024 * 1024;
        // The item estimate only sizes the index; a forecast document is a few kilobytes.
        let items = (bytes / 4096).max(16) as usize;
        Self(
            Some(quick_cache::sync::Cache::with_weighter(
                items,
                bytes,
                BytesWeighter,
            )),
            latest,
        )
    }

    /// Records `id` as the newest forecast of `key` read from the database.
    pub(crate) fn remember_latest(&self, key: &impl std::fmt::Display, id: Uuid) {
        self.1.insert(key.to_string(), id);
    }

    /// The newest forecast id of `key` this process has read, if any.
    pub(crate) fn last_latest(&self, key: &impl std::fmt::Display) -> Option<Uuid> {
        self.1.get(&key.to_string())
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
    let Some(redis) = &state.redis_guard else {
        return load(state, id).await;
    };
    let cached = redis
        .call("reading a cached forecast", |mut conn| async move {
            conn.get::<_, Option<Vec<u8>>>(key(id)).await
        })
        .await
        .flatten();
    if let Some(json) = cached {
        return Ok(Bytes::from(json));
    }
    let json = load(state, id).await?;
    let copy = json.clone();
    redis
        .call("caching a forecast", |mut conn| async move {
            conn.set_ex::<_, _, ()>(key(id), &copy[..], TTL_SECS).await
        })
        .await;
    Ok(json)
}

async fn load(state: &AppState, id: Uuid) -> Result<Bytes, ApiError> {
    state.reads.read(&state.store, id).await
}
