//! Per-key rate limits with GCRA (the generic cell rate algorithm): one number per key, the
//! theoretical arrival time (TAT).
//!
//! Every request is decided in this process's memory, so the limit costs no round trip. With
//! Redis configured the TAT is also shared by all API replicas: each replica adds the requests
//! it admitted to the key's TAT in Redis every [`SYNC_INTERVAL`] (one pipelined round trip
//! for all keys, an atomic Lua script per key) and takes the shared TAT back when it is further
//! ahead than its own; a key a replica has not seen yet, or has seen idle long enough to be
//! fully replenished, is read from Redis before its next request is decided. A key can
//! therefore exceed its limit across replicas by at most what each replica admits within one
//! sync interval — a few requests at typical limits — in exchange for requests that mostly
//! never wait on Redis.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use deadpool_redis::redis;
use uuid::Uuid;

use crate::redis_guard::RedisGuard;

/// How often a replica adds its admitted requests to the shared TATs in Redis.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(100);

// KEYS[1]: the key's TAT; ARGV[1]: requests admitted elsewhere since the last sync, ARGV[2]:
// emission interval (seconds). Adds them to the shared TAT (at least now) and returns how far
// ahead of now it runs, in seconds (a string keeps the fractions). Redis's own clock is used,
// and only the difference to it leaves the script, so replicas' clocks need not agree.
const GCRA_ADD: &str = r#"
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or t)
if tat < t then tat = t end
local n = tonumber(ARGV[1])
if n > 0 then
  tat = tat + n * tonumber(ARGV[2])
  redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil((tat - t) * 1000) + 1000)
end
return tostring(tat - t)
"#;

/// One key's state in this process.
#[derive(Clone, Copy, Debug)]
struct KeyState {
    /// TAT, seconds since the limiter's epoch.
    tat: f64,
    /// Requests admitted here and not yet added to the shared TAT.
    unsynced: u32,
}

/// The Redis side of a shared limiter.
struct Shared {
    redis: Arc<RedisGuard>,
    /// A sync is in flight (one at a time; other requests do not wait for it).
    syncing: AtomicBool,
    /// Milliseconds since the epoch of the last sync.
    last_sync_ms: AtomicU64,
}

/// Per-key GCRA limiter, decided in memory, shared through Redis when configured.
pub struct Limiter {
    /// Seconds between requests at the sustained rate.
    interval: f64,
    /// How far ahead of now the TAT may run (the burst).
    tolerance: f64,
    /// Start of the clock.
    epoch: Instant,
    keys: Mutex<HashMap<Uuid, KeyState>>,
    shared: Option<Shared>,
}

impl Limiter {
    /// A limiter allowing `per_sec` sustained and `burst` at once, shared through Redis when
    /// given.
    pub fn new(per_sec: f64, burst: u32, redis: Option<Arc<RedisGuard>>) -> Self {
        let interval = 1.0 / per_sec;
        Self {
            interval,
            tolerance: interval * f64::from(burst.max(1)),
            epoch: Instant::now(),
            keys: Mutex::new(HashMap::new()),
            shared: redis.map(|redis| Shared {
                redis,
                syncing: AtomicBool::new(false),
                last_sync_ms: AtomicU64::new(0),
            }),
        }
    }

    fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, KeyState>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `None` when the request of `key` may go ahead, else whole seconds to wait (at least 1).
    /// A Redis failure lets the decision stand on this replica's own state: the limit protects
    /// capacity, and refusing every request because Redis is down would be the bigger outage.
    pub async fn check(&self, key: Uuid) -> Option<u64> {
        if let Some(shared) = &self.shared {
            let known = self.lock().contains_key(&key);
            if !known {
                self.sync(shared, Some(key)).await;
            } else {
                let now_ms = self.epoch.elapsed().as_millis() as u64;
                let due = now_ms.saturating_sub(shared.last_sync_ms.load(Ordering::Relaxed))
                    >= SYNC_INTERVAL.as_millis() as u64;
                if due
                    && shared
                        .syncing
                        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
                {
                    shared.last_sync_ms.store(now_ms, Ordering::Relaxed);
                    self.sync(shared, None).await;
                    shared.syncing.store(false, Ordering::Release);
                }
            }
        }
        let now = self.now();
        let mut keys = self.lock();
        if keys.len() > 100_000 {
            keys.retain(|_, s| s.tat > now || s.unsynced > 0);
        }
        let state = keys.entry(key).or_insert(KeyState {
            tat: now,
            unsynced: 0,
        });
        let new_tat = state.tat.max(now) + self.interval;
        let ahead = new_tat - now;
        if ahead > self.tolerance {
            let wait = ahead - self.tolerance;
            return Some(wait.ceil().max(1.0) as u64);
        }
        state.tat = new_tat;
        if self.shared.is_some() {
            state.unsynced += 1;
        }
        None
    }

    /// Adds every key's unsynced requests to its shared TAT and takes the shared TATs back;
    /// keys that are still within their burst window here but sent nothing are read, so that
    /// what other replicas admitted reaches this one; keys this replica has fully replenished
    /// are forgotten (the next request reads them afresh); `fetch` (a key not seen here yet)
    /// is read too.
    async fn sync(&self, shared: &Shared, fetch: Option<Uuid>) {
        let mut batch: Vec<(Uuid, u32)> = {
            let now = self.now();
            let mut keys = self.lock();
            keys.retain(|_, s| s.unsynced > 0 || s.tat > now);
            keys.iter_mut()
                .map(|(k, s)| (*k, std::mem::take(&mut s.unsynced)))
                .collect()
        };
        if let Some(k) = fetch
            && !batch.iter().any(|(b, _)| *b == k)
        {
            batch.push((k, 0));
        }
        if batch.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for (k, n) in &batch {
            pipe.cmd("EVAL")
                .arg(GCRA_ADD)
                .arg(1)
                .arg(format!("hzn:rl:{k}"))
                .arg(*n)
                .arg(self.interval);
        }
        // A failed or skipped sync leaves the decision to this replica's own state.
        let Some(aheads) = shared
            .redis
            .call("sharing rate limits", |mut conn| async move {
                pipe.query_async::<Vec<String>>(&mut conn).await
            })
            .await
        else {
            return;
        };
        let now = self.now();
        let mut keys = self.lock();
        for ((k, _), ahead) in batch.iter().zip(aheads) {
            let shared_tat = now + ahead.parse::<f64>().unwrap_or(0.0);
            let state = keys.entry(*k).or_insert(KeyState {
                tat: now,
                unsynced: 0,
            });
            state.tat = state.tat.max(shared_tat);
        }
    }
}

/// Failed authentications per client address, GCRA in this process's memory. Checked before
/// a key is looked up, so a client spraying made-up keys is refused without a database read
/// once its burst is spent; successful requests never touch it.
pub struct FailureLimiter {
    interval: f64,
    tolerance: f64,
    epoch: Instant,
    clients: Mutex<HashMap<std::net::IpAddr, f64>>,
}

// Addresses remembered at once; beyond this the replenished ones are forgotten first.
const MAX_CLIENTS: usize = 100_000;

impl FailureLimiter {
    /// A limiter allowing `per_sec` failures sustained and `burst` at once per address.
    pub fn new(per_sec: f64, burst: u32) -> Self {
        let interval = 1.0 / per_sec;
        Self {
            interval,
            tolerance: interval * f64::from(burst.max(1)),
            epoch: Instant::now(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(seconds)` to wait when `client` has spent its failures, else `None`.
    pub fn blocked(&self, client: std::net::IpAddr) -> Option<u64> {
        let now = self.epoch.elapsed().as_secs_f64();
        let clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let tat = *clients.get(&client)?;
        let ahead = tat.max(now) + self.interval - now;
        (ahead > self.tolerance).then(|| (ahead - self.tolerance).ceil().max(1.0) as u64)
    }

    /// Counts one failed authentication of `client`.
    pub fn record(&self, client: std::net::IpAddr) {
        let now = self.epoch.elapsed().as_secs_f64();
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if clients.len() >= MAX_CLIENTS {
            clients.retain(|_, tat| *tat > now);
            if clients.len() >= MAX_CLIENTS {
                clients.clear();
            }
        }
        let tat = clients.entry(client).or_insert(now);
        *tat = tat.max(now) + self.interval;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_limited_per_client() {
        let limiter = FailureLimiter::new(1.0, 3);
        let (a, b) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        for _ in 0..3 {
            assert_eq!(limiter.blocked(a), None);
            limiter.record(a);
        }
        assert!(limiter.blocked(a).is_some());
        assert_eq!(limiter.blocked(b), None, "limits are per client");
    }

    #[tokio::test]
    async fn memory_limits_bursts_per_key() {
        let limiter = Limiter::new(1.0, 3, None);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        for _ in 0..3 {
            assert_eq!(limiter.check(a).await, None);
        }
        assert_eq!(limiter.check(a).await, Some(1));
        assert_eq!(limiter.check(b).await, None, "limits are per key");
    }

    /// Two replicas share a key's limit through Redis: what one admitted counts for the other
    /// after a sync, and a replica that has never seen a key reads its shared state first.
    #[tokio::test]
    async fn replicas_share_limits_through_redis() {
        let Some(pool) = horizon_test_support::redis().await else {
            eprintln!("skipped: TEST_REDIS_URL is not set");
            return;
        };
        let key = Uuid::now_v7();
        let guard = || {
            Some(Arc::new(RedisGuard::new(
                pool.clone(),
                Duration::from_secs(2),
            )))
        };
        let first = Limiter::new(0.5, 4, guard());
        for _ in 0..3 {
            assert_eq!(first.check(key).await, None);
        }
        // Push the three admitted requests to Redis.
        first.sync(first.shared.as_ref().unwrap(), None).await;
        // A second replica, new to the key, reads the shared TAT before deciding: one request
        // of the burst of four is left.
        let second = Limiter::new(0.5, 4, guard());
        assert_eq!(second.check(key).await, None);
        assert!(second.check(key).await.is_some(), "the burst is shared");
        // And what the second admitted reaches the first.
        second.sync(second.shared.as_ref().unwrap(), None).await;
        first.sync(first.shared.as_ref().unwrap(), None).await;
        assert!(first.check(key).await.is_some());
    }
}
