//! Per-key rate limits with GCRA (the generic cell rate algorithm): one stored number per
//! key, the theoretical arrival time, so the limit costs one Redis round trip (a Lua script, atomic
//! across API replicas) or one map update in memory when there is no Redis.

use std::{collections::HashMap, sync::Mutex, time::Instant};

use deadpool_redis::redis;
use horizon_store::cache::RedisPool;
use uuid::Uuid;

// KEYS[1]: the key's TAT; ARGV[1]: emission interval, ARGV[2]: burst tolerance (seconds).
// Returns "0" when allowed, else the seconds to wait; strings keep the fractions.
const GCRA: &str = r#"
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or t)
if tat < t then tat = t end
local new_tat = tat + interval
local ahead = new_tat - t
if ahead > tolerance then
  return tostring(ahead - tolerance)
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(ahead * 1000) + 1000)
return '0'
"#;

/// Where the limit state lives.
pub enum Limiter {
    /// In this process (one replica, or no Redis).
    Memory {
        /// Seconds between requests at the sustained rate.
        interval: f64,
        /// How far ahead of now the TAT may run.
        tolerance: f64,
        /// Start of the clock.
        epoch: Instant,
        /// TAT per key, seconds since `epoch`.
        tat: Mutex<HashMap<Uuid, f64>>,
    },
    /// In Redis, shared by all replicas.
    Redis {
        /// Seconds between requests at the sustained rate.
        interval: f64,
        /// How far ahead of now the TAT may run.
        tolerance: f64,
        /// The pool.
        pool: RedisPool,
    },
}

impl Limiter {
    /// A limiter allowing `per_sec` sustained and `burst` at once, in Redis when given.
    pub fn new(per_sec: f64, burst: u32, redis: Option<RedisPool>) -> Self {
        let interval = 1.0 / per_sec;
        let tolerance = interval * f64::from(burst.max(1));
        match redis {
            Some(pool) => Limiter::Redis {
                interval,
                tolerance,
                pool,
            },
            None => Limiter::Memory {
                interval,
                tolerance,
                epoch: Instant::now(),
                tat: Mutex::new(HashMap::new()),
            },
        }
    }

    /// `None` when the request of `key` may go ahead, else whole seconds to wait (at least 1).
    /// A Redis failure lets the request through: the limit protects capacity, and refusing
    /// every request because the limiter is down would be the bigger outage.
    pub async fn check(&self, key: Uuid) -> Option<u64> {
        let wait = match self {
            Limiter::Memory {
                interval,
                tolerance,
                epoch,
                tat,
            } => {
                let now = epoch.elapsed().as_secs_f64();
                let mut map = tat.lock().unwrap_or_else(|p| p.into_inner());
                if map.len() > 100_000 {
                    map.retain(|_, t| *t > now);
                }
                let current = map.get(&key).copied().unwrap_or(now).max(now);
                let new_tat = current + interval;
                let ahead = new_tat - now;
                if ahead > *tolerance {
                    ahead - tolerance
                } else {
                    map.insert(key, new_tat);
                    0.0
                }
            }
            Limiter::Redis {
                interval,
                tolerance,
                pool,
            } => {
                let result: Result<String, String> = async {
                    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                    // EVAL rather than EVALSHA: Redis caches the compiled script by its hash
                    // anyway, and the text is a few hundred bytes.
                    redis::cmd("EVAL")
                        .arg(GCRA)
                        .arg(1)
                        .arg(format!("hzn:rl:{key}"))
                        .arg(*interval)
                        .arg(*tolerance)
                        .query_async(&mut conn)
                        .await
                        .map_err(|e| e.to_string())
                }
                .await;
                match result {
                    Ok(s) => s.parse::<f64>().unwrap_or(0.0),
                    Err(e) => {
                        tracing::warn!(error = %e, "rate limiter unavailable; letting the request through");
                        0.0
                    }
                }
            }
        };
        (wait > 0.0).then(|| wait.ceil().max(1.0) as u64)
    }
}
