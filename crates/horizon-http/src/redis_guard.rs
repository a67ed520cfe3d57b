//! Every Redis call of the API goes through [`RedisGuard`]: a deadline per call
//! (`redis_timeout_ms`) and a circuit breaker, so a slow or frozen Redis costs a request at most
//! the deadline, and after [`TRIP_AFTER`] failures in a row none at all for [`OPEN_FOR`]: calls
//! are skipped (the cache and the shared rate limit both have a local fallback) until one trial
//! call after that time succeeds. Redis is an optimisation here, never a dependency.

use std::{
    future::Future,
    sync::atomic::{AtomicU32, AtomicU64, Ordering},
    time::{Duration, Instant},
};

use deadpool_redis::{Connection, redis::RedisResult};
use horizon_store::cache::RedisPool;

/// Failures in a row that open the breaker.
pub const TRIP_AFTER: u32 = 3;
/// How long an open breaker skips Redis before it lets one call try again.
pub const OPEN_FOR: Duration = Duration::from_secs(5);

/// The Redis pool behind a deadline and a breaker.
pub struct RedisGuard {
    pool: RedisPool,
    timeout: Duration,
    epoch: Instant,
    failures_in_a_row: AtomicU32,
    /// Milliseconds since `epoch` before which calls are skipped.
    open_until_ms: AtomicU64,
    attempted: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
}

/// Calls counted by outcome, for `/metrics` and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisCalls {
    /// Calls that reached Redis (or tried to).
    pub attempted: u64,
    /// Of those, the ones that failed or ran out of time.
    pub failed: u64,
    /// Calls not made because the breaker was open.
    pub skipped: u64,
}

impl RedisGuard {
    /// Guards `pool` with a per-call deadline of `timeout`.
    pub fn new(pool: RedisPool, timeout: Duration) -> Self {
        Self {
            pool,
            timeout,
            epoch: Instant::now(),
            failures_in_a_row: AtomicU32::new(0),
            open_until_ms: AtomicU64::new(0),
            attempted: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Whether the breaker is open now.
    pub fn is_open(&self) -> bool {
        self.now_ms() < self.open_until_ms.load(Ordering::Acquire)
    }

    /// Runs `f` on a pooled connection within the deadline. `None` when the breaker is open,
    /// no connection came in time, or the command failed or timed out (logged once per trip).
    pub async fn call<T, F, Fut>(&self, what: &'static str, f: F) -> Option<T>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        if self.is_open() {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        self.attempted.fetch_add(1, Ordering::Relaxed);
        let outcome = tokio::time::timeout(self.timeout, async {
            let conn = self.pool.get().await.map_err(|e| e.to_string())?;
            f(conn).await.map_err(|e| e.to_string())
        })
        .await;
        let error = match outcome {
            Ok(Ok(value)) => {
                self.failures_in_a_row.store(0, Ordering::Release);
                return Some(value);
            }
            Ok(Err(e)) => e,
            Err(_) => format!("no answer within {} ms", self.timeout.as_millis()),
        };
        self.failed.fetch_add(1, Ordering::Relaxed);
        let n = self.failures_in_a_row.fetch_add(1, Ordering::AcqRel) + 1;
        if n >= TRIP_AFTER {
            let until = self.now_ms() + OPEN_FOR.as_millis() as u64;
            let was = self.open_until_ms.swap(until, Ordering::AcqRel);
            if n == TRIP_AFTER || was <= self.now_ms() {
                tracing::warn!(error = %error, what, failures = n,
                    "redis is failing; skipping it for {} s", OPEN_FOR.as_secs());
            }
        } else {
            tracing::debug!(error = %error, what, "redis call failed");
        }
        None
    }

    /// The calls so far, by outcome.
    pub fn calls(&self) -> RedisCalls {
        RedisCalls {
            attempted: self.attempted.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
        }
    }
}
