//! The optional Redis pool, for the API's read-through cache and rate limits.

use deadpool_redis::{Config, Pool, Runtime};

use crate::StoreError;

/// A Redis connection pool.
pub type RedisPool = Pool;

/// Builds a pool for `url` with `size` connections and checks one round trip, so a wrong URL
/// fails at start rather than on the first request.
pub async fn connect_redis(url: &str, size: usize) -> Result<RedisPool, StoreError> {
    let pool = redis_pool(url, size)?;
    ping_redis(&pool).await?;
    Ok(pool)
}

/// A pool of up to `size` connections to `url`, connecting lazily (nothing is sent yet).
pub fn redis_pool(url: &str, size: usize) -> Result<RedisPool, StoreError> {
    let mut cfg = Config::from_url(url);
    cfg.pool = Some(deadpool_redis::PoolConfig::new(size));
    cfg.create_pool(Some(Runtime::Tokio1))
        .map_err(|e| StoreError::Cache {
            context: "creating the redis pool",
            reason: e.to_string(),
        })
}

/// One PING through the pool.
pub async fn ping_redis(pool: &RedisPool) -> Result<(), StoreError> {
    let mut conn = pool.get().await.map_err(|e| StoreError::Cache {
        context: "connecting to redis",
        reason: e.to_string(),
    })?;
    let _: String = deadpool_redis::redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .map_err(|e| StoreError::Cache {
            context: "pinging redis",
            reason: e.to_string(),
        })?;
    Ok(())
}
