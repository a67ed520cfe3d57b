//! Horizon's settings, read in three layers: built-in defaults, then an optional TOML file
//! (`horizon.toml` in the working directory, or the file named by `HORIZON_CONFIG`), then the
//! environment (`DATABASE_URL`, `REDIS_URL` and `HORIZON_*`). The defaults need no server: the
//! database is a SQLite file in the data directory and Redis is off.
//!
//! Every setting is checked at start; a bad one fails with a message naming the key and value.
//!
//! ```
//! let settings = horizon_settings::Settings::from_figment(
//!     horizon_settings::Settings::figment_defaults(),
//! ).unwrap();
//! assert!(settings.database_url.starts_with("sqlite://"));
//! assert!(settings.redis_url.is_none());
//! ```

use std::{net::SocketAddr, path::PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

mod ingest;
#[cfg(test)]
mod tests;

pub use ingest::{IngestFormat, IngestSource};

/// A setting that could not be read or is out of range.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value has the wrong type or shape; figment's message names the key and its source.
    #[error("bad setting: {0}")]
    Parse(String),
    /// A value parsed but breaks a rule.
    #[error("bad setting {key} = {value:?}: {reason}")]
    Invalid {
        /// The environment variable (or file key) that holds the value.
        key: &'static str,
        /// The value as given.
        value: String,
        /// The rule it breaks.
        reason: String,
    },
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Every setting of every Horizon process. Field names are the TOML keys; the environment
/// variable is `HORIZON_` + the upper-cased name (plus `DATABASE_URL` and `REDIS_URL`).
///
/// Every field has a default (`impl Default`), so a layer names only what it changes. The
/// database URL and the event store path default to files in `data_dir`; an empty value means
/// "derive it", filled in by [`Settings::from_figment`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Directory for the embedded database, the event store and ingest bookkeeping.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`. Defaults to `sqlite://DATA_DIR/horizon.db`.
    pub database_url: String,
    /// `redis://HOST:PORT`; unset means no cache and in-memory rate limits.
    pub redis_url: Option<String>,
    /// Path of the ingest event store (SQLite in WAL mode). Defaults to `DATA_DIR/events.db`.
    pub event_store_path: PathBuf,
    /// Largest number of pooled database connections.
    pub db_max_connections: u32,
    /// Connections kept open when idle.
    pub db_min_connections: u32,
    /// Seconds to wait for a pooled connection before failing.
    pub db_acquire_timeout_secs: u64,
    /// Milliseconds a SQLite writer waits for a lock before failing.
    pub sqlite_busy_timeout_ms: u64,
    /// Apply pending migrations when a process starts.
    pub migrate_on_start: bool,
    /// Size of the Redis connection pool.
    pub redis_pool_size: usize,
    /// Address the API listens on.
    pub api_bind: SocketAddr,
    /// Header that carries the API key (`Authorization: Bearer` is accepted too).
    pub api_key_header: String,
    /// Comma-separated origins allowed by CORS; empty allows none.
    pub api_cors_origins: String,
    /// Largest request body in bytes.
    pub api_max_body_bytes: usize,
    /// Largest file `POST /v1/observations:import` takes, in bytes (spooled to disk beside the
    /// event store, never held in memory).
    pub api_max_import_bytes: u64,
    /// Seconds an API key lookup is cached; revocation and expiry take effect within this.
    pub api_key_cache_secs: u64,
    /// Sustained requests per second allowed per API key.
    pub api_rate_limit_per_sec: f64,
    /// Requests per API key allowed in a burst above the sustained rate.
    pub api_rate_limit_burst: u32,
    /// Megabytes of forecast documents the API keeps in its own memory (forecasts never
    /// change, so this tier needs no invalidation); 0 turns it off. Redis, when configured,
    /// is the tier behind it, shared by all replicas.
    pub api_forecast_cache_mb: usize,
    /// Milliseconds an API request waits for a pooled database connection before it is
    /// answered 503 with `Retry-After` (the other processes wait `db_acquire_timeout_secs`).
    pub api_db_acquire_timeout_ms: u64,
    /// Comma-separated addresses of reverse proxies whose `X-Forwarded-For` names the client;
    /// from any other peer the socket's address is the client.
    pub api_trusted_proxies: String,
    /// Failed authentications per second allowed per client address, sustained.
    pub api_auth_failures_per_sec: f64,
    /// Failed authentications per client address allowed in a burst; more are answered 429.
    pub api_auth_failures_burst: u32,
    /// Milliseconds any one Redis call may take before it counts as failed; after a few
    /// failures in a row Redis is skipped for a while (the circuit breaker), so a slow or
    /// frozen Redis costs at most this per request.
    pub redis_timeout_ms: u64,
    /// Seconds a stopping server keeps answering requests already received before it closes
    /// the remaining connections.
    pub shutdown_grace_secs: u64,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A tracing filter such as `info` or `horizon=debug,info`.
    pub log_level: String,
    /// Forecast horizon in steps when a series' frequency gives no better default.
    pub forecast_horizon: usize,
    /// Series per pipeline partition.
    pub pipeline_partition_size: usize,
    /// Partitions one worker process works at once.
    pub pipeline_concurrency: usize,
    /// Seconds without a heartbeat after which a worker is deemed dead and its partitions are redone by others (PostgreSQL queue).
    pub pipeline_lease_secs: u64,
    /// Seconds without any sign of life (heartbeat, partition started or finished) after which
    /// the watchdog fails a pipeline run still marked running; at least twice the lease.
    pub pipeline_stall_secs: u64,
    /// Attempts per partition or job before it fails for good.
    pub pipeline_max_attempts: i32,
    /// Whether runs learn ensemble weights and interval scales from scored outcomes.
    pub pipeline_calibration: bool,
    /// Hedge learning rate `η` of the calibration weights.
    pub pipeline_hedge_rate: f64,
    /// Share `λ` of a model's past loss kept per calibration update.
    pub pipeline_hedge_forgetting: f64,
    /// Damping `γ` of each interval-scale update, in (0, 1].
    pub pipeline_interval_step: f64,
    /// Days back from the as-of date within which forecasts are still scored.
    pub pipeline_outcome_days: u32,
    /// Whether the API process also works jobs (all-in-one deployments and the demo).
    pub api_worker: bool,
    /// Longest record a source may send, in bytes.
    pub ingest_max_record_bytes: usize,
    /// Rejections of one input file kept one by one; the rest are counted in one more.
    pub ingest_max_rejections_per_file: usize,
    /// Most bytes one archive may expand to.
    pub ingest_max_decompressed_bytes: u64,
    /// Most one archive may expand relative to its own size (a GDELT export is about 4:1).
    pub ingest_max_compression_ratio: u64,
    /// Earliest year of an accepted timestamp; earlier ones are rejected with the reason.
    pub ingest_min_year: i32,
    /// Latest year of an accepted timestamp; later ones are rejected with the reason.
    pub ingest_max_year: i32,
    /// Sources the ingest daemon watches and polls.
    pub ingest_sources: Vec<IngestSource>,
    /// Longest lead of an accepted covariate vintage value, in days: a value whose `ds` is
    /// further than this after its `issued_at` is rejected (a typo in a date, not a forecast).
    pub ingest_max_vintage_lead_days: u32,
    /// Oldest covariate vintage a forecast uses, in hours before the run's as-of instant; a
    /// series whose latest vintage is older is forecast without its covariates, with a warning.
    pub covariate_max_age_hours: u32,
    /// Milliseconds between scans of the watched directories.
    pub ingest_poll_interval_ms: u64,
    /// Records landed per event-store transaction.
    pub ingest_batch_records: usize,
    /// Days of event time kept in the event store; 0 keeps everything. Buckets older than
    /// this are no longer recomputed, so late records for them are landed but not rolled up.
    pub ingest_retention_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: String::new(),
            redis_url: None,
            event_store_path: PathBuf::new(),
            data_dir: PathBuf::from("data"),
            db_max_connections: 10,
            db_min_connections: 1,
            db_acquire_timeout_secs: 10,
            sqlite_busy_timeout_ms: 30_000,
            migrate_on_start: true,
            redis_pool_size: 16,
            api_bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            api_key_header: "X-API-Key".into(),
            api_cors_origins: String::new(),
            api_max_body_bytes: 4 * 1024 * 1024,
            api_max_import_bytes: 256 * 1024 * 1024,
            api_key_cache_secs: 5,
            api_rate_limit_per_sec: 50.0,
            api_rate_limit_burst: 100,
            api_forecast_cache_mb: 64,
            api_db_acquire_timeout_ms: 2_000,
            api_trusted_proxies: String::new(),
            api_auth_failures_per_sec: 5.0,
            api_auth_failures_burst: 50,
            redis_timeout_ms: 25,
            shutdown_grace_secs: 30,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            forecast_horizon: 14,
            pipeline_partition_size: 500,
            pipeline_concurrency: 1,
            pipeline_lease_secs: 60,
            pipeline_max_attempts: 3,
            pipeline_stall_secs: 900,
            pipeline_calibration: true,
            pipeline_hedge_rate: 4.0,
            pipeline_hedge_forgetting: 0.7,
            pipeline_interval_step: 0.5,
            pipeline_outcome_days: 400,
            api_worker: false,
            ingest_max_record_bytes: 64 * 1024,
            ingest_max_rejections_per_file: 1_000,
            ingest_max_decompressed_bytes: 2 * 1024 * 1024 * 1024,
            ingest_max_compression_ratio: 200,
            ingest_min_year: 1900,
            ingest_max_year: 2200,
            ingest_sources: Vec::new(),
            ingest_max_vintage_lead_days: 30,
            covariate_max_age_hours: 36,
            ingest_poll_interval_ms: 1_000,
            ingest_batch_records: 50_000,
            ingest_retention_days: 0,
        }
    }
}

impl Settings {
    /// Reads defaults, the TOML file and the environment, then validates.
    pub fn load() -> Result<Self, SettingsError> {
        let file = std::env::var("HORIZON_CONFIG").unwrap_or_else(|_| "horizon.toml".into());
        if std::env::var_os("HORIZON_CONFIG").is_some() && !std::path::Path::new(&file).exists() {
            return Err(SettingsError::Invalid {
                key: "HORIZON_CONFIG",
                value: file,
                reason: "no such file".into(),
            });
        }
        let figment = Self::figment_defaults()
            .merge(Toml::file(file))
            // HORIZON_CONFIG names the file and HORIZON_TEST_* steer the test suite: neither is a
            // setting. Every other HORIZON_ variable must be one, so a typo fails loudly.
            .merge(Env::prefixed("HORIZON_").filter(|key| {
                let key = key.as_str().to_ascii_lowercase();
                key != "config" && !key.starts_with("test_")
            }))
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL", "REDIS_URL"])
                    .lowercase(true),
            );
        Self::from_figment(figment)
    }

    /// The built-in defaults alone, as a figment layer to merge others onto.
    pub fn figment_defaults() -> Figment {
        Figment::from(Serialized::defaults(Settings::default()))
    }

    /// Extracts and validates settings from any figment (tests build their own).
    pub fn from_figment(figment: Figment) -> Result<Self, SettingsError> {
        let mut settings: Settings = figment
            .extract()
            .map_err(|e| SettingsError::Parse(e.to_string()))?;
        if settings.database_url.trim().is_empty() {
            settings.database_url = format!(
                "sqlite://{}?mode=rwc",
                settings.data_dir.join("horizon.db").display()
            );
        }
        settings.redis_url = settings.redis_url.filter(|u| !u.trim().is_empty());
        if settings.event_store_path.as_os_str().is_empty() {
            settings.event_store_path = settings.data_dir.join("events.db");
        }
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let invalid = |key: &'static str, value: String, reason: &str| {
            Err(SettingsError::Invalid {
                key,
                value,
                reason: reason.into(),
            })
        };
        match self.database_kind() {
            Some(_) => {}
            None => {
                return invalid(
                    "DATABASE_URL",
                    redact(&self.database_url),
                    "must start with sqlite:// or postgres://",
                );
            }
        }
        if self.database_kind() == Some(DatabaseKind::Postgres)
            && url::Url::parse(&self.database_url).is_err()
        {
            return invalid(
                "DATABASE_URL",
                redact(&self.database_url),
                "not a valid URL",
            );
        }
        if let Some(redis) = &self.redis_url
            && !(redis.starts_with("redis://") || redis.starts_with("rediss://"))
        {
            return invalid(
                "REDIS_URL",
                redact(redis),
                "must start with redis:// or rediss://",
            );
        }
        if self.db_max_connections == 0 {
            return invalid(
                "HORIZON_DB_MAX_CONNECTIONS",
                "0".into(),
                "must be at least 1",
            );
        }
        if self.db_min_connections > self.db_max_connections {
            return invalid(
                "HORIZON_DB_MIN_CONNECTIONS",
                self.db_min_connections.to_string(),
                "must not exceed HORIZON_DB_MAX_CONNECTIONS",
            );
        }
        if self.redis_pool_size == 0 {
            return invalid("HORIZON_REDIS_POOL_SIZE", "0".into(), "must be at least 1");
        }
        if self.api_key_header.trim().is_empty()
            || !self
                .api_key_header
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return invalid(
                "HORIZON_API_KEY_HEADER",
                self.api_key_header.clone(),
                "must be a header name such as X-API-Key",
            );
        }
        if !(self.api_rate_limit_per_sec.is_finite() && self.api_rate_limit_per_sec > 0.0) {
            return invalid(
                "HORIZON_API_RATE_LIMIT_PER_SEC",
                self.api_rate_limit_per_sec.to_string(),
                "must be a positive number",
            );
        }
        if self.api_max_body_bytes < 1024 {
            return invalid(
                "HORIZON_API_MAX_BODY_BYTES",
                self.api_max_body_bytes.to_string(),
                "must be at least 1024",
            );
        }
        if self.api_max_import_bytes < 1024 {
            return invalid(
                "HORIZON_API_MAX_IMPORT_BYTES",
                self.api_max_import_bytes.to_string(),
                "must be at least 1024",
            );
        }
        if self.api_db_acquire_timeout_ms == 0 {
            return invalid(
                "HORIZON_API_DB_ACQUIRE_TIMEOUT_MS",
                "0".into(),
                "must be at least 1",
            );
        }
        if let Err(bad) = parse_proxies(&self.api_trusted_proxies) {
            return invalid(
                "HORIZON_API_TRUSTED_PROXIES",
                bad,
                "must be a comma-separated list of IP addresses",
            );
        }
        if !(self.api_auth_failures_per_sec.is_finite() && self.api_auth_failures_per_sec > 0.0) {
            return invalid(
                "HORIZON_API_AUTH_FAILURES_PER_SEC",
                self.api_auth_failures_per_sec.to_string(),
                "must be a positive number",
            );
        }
        if self.redis_timeout_ms == 0 {
            return invalid("HORIZON_REDIS_TIMEOUT_MS", "0".into(), "must be at least 1");
        }
        if self.forecast_horizon == 0 || self.forecast_horizon > 10_000 {
            return invalid(
                "HORIZON_FORECAST_HORIZON",
                self.forecast_horizon.to_string(),
                "must be between 1 and 10000",
            );
        }
        if self.pipeline_partition_size == 0 {
            return invalid(
                "HORIZON_PIPELINE_PARTITION_SIZE",
                "0".into(),
                "must be at least 1",
            );
        }
        if self.pipeline_concurrency == 0 || self.pipeline_concurrency > 256 {
            return invalid(
                "HORIZON_PIPELINE_CONCURRENCY",
                self.pipeline_concurrency.to_string(),
                "must be between 1 and 256",
            );
        }
        if self.pipeline_lease_secs < 2 {
            return invalid(
                "HORIZON_PIPELINE_LEASE_SECS",
                self.pipeline_lease_secs.to_string(),
                "must be at least 2",
            );
        }
        if self.pipeline_stall_secs < 2 * self.pipeline_lease_secs {
            return invalid(
                "HORIZON_PIPELINE_STALL_SECS",
                self.pipeline_stall_secs.to_string(),
                "must be at least twice HORIZON_PIPELINE_LEASE_SECS",
            );
        }
        if self.pipeline_max_attempts < 1 {
            return invalid(
                "HORIZON_PIPELINE_MAX_ATTEMPTS",
                self.pipeline_max_attempts.to_string(),
                "must be at least 1",
            );
        }
        if !(self.pipeline_hedge_rate.is_finite() && self.pipeline_hedge_rate > 0.0) {
            return invalid(
                "HORIZON_PIPELINE_HEDGE_RATE",
                self.pipeline_hedge_rate.to_string(),
                "must be a positive number",
            );
        }
        if !(0.0..1.0).contains(&self.pipeline_hedge_forgetting) {
            return invalid(
                "HORIZON_PIPELINE_HEDGE_FORGETTING",
                self.pipeline_hedge_forgetting.to_string(),
                "must be in [0, 1)",
            );
        }
        if !(self.pipeline_interval_step > 0.0 && self.pipeline_interval_step <= 1.0) {
            return invalid(
                "HORIZON_PIPELINE_INTERVAL_STEP",
                self.pipeline_interval_step.to_string(),
                "must be in (0, 1]",
            );
        }
        if self.ingest_max_record_bytes < 64 {
            return invalid(
                "HORIZON_INGEST_MAX_RECORD_BYTES",
                self.ingest_max_record_bytes.to_string(),
                "must be at least 64",
            );
        }
        if self.ingest_max_compression_ratio == 0 {
            return invalid(
                "HORIZON_INGEST_MAX_COMPRESSION_RATIO",
                "0".into(),
                "must be at least 1",
            );
        }
        if self.ingest_min_year > self.ingest_max_year || self.ingest_min_year < 1 {
            return invalid(
                "HORIZON_INGEST_MIN_YEAR",
                self.ingest_min_year.to_string(),
                "must be at least 1 and not after HORIZON_INGEST_MAX_YEAR",
            );
        }
        ingest::validate_sources(&self.ingest_sources)?;
        if self.ingest_max_vintage_lead_days == 0 || self.ingest_max_vintage_lead_days > 3_660 {
            return invalid(
                "HORIZON_INGEST_MAX_VINTAGE_LEAD_DAYS",
                self.ingest_max_vintage_lead_days.to_string(),
                "must be 1 to 3660",
            );
        }
        if self.covariate_max_age_hours == 0 {
            return invalid(
                "HORIZON_COVARIATE_MAX_AGE_HOURS",
                "0".into(),
                "must be at least 1",
            );
        }
        if self.ingest_poll_interval_ms == 0 {
            return invalid(
                "HORIZON_INGEST_POLL_INTERVAL_MS",
                "0".into(),
                "must be at least 1",
            );
        }
        if self.ingest_batch_records == 0 {
            return invalid(
                "HORIZON_INGEST_BATCH_RECORDS",
                "0".into(),
                "must be at least 1",
            );
        }
        Ok(())
    }

    /// Which database the URL names.
    pub fn database_kind(&self) -> Option<DatabaseKind> {
        DatabaseKind::of(&self.database_url)
    }

    /// The trusted proxies' addresses (validated at load, so never an error here).
    pub fn trusted_proxies(&self) -> Vec<std::net::IpAddr> {
        parse_proxies(&self.api_trusted_proxies).unwrap_or_default()
    }

    /// The CORS origins as a list.
    pub fn cors_origins(&self) -> Vec<String> {
        self.api_cors_origins
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// The addresses of a comma-separated list, or the first entry that is not one.
fn parse_proxies(list: &str) -> Result<Vec<std::net::IpAddr>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| s.to_owned()))
        .collect()
}

/// The two supported databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// The embedded default.
    Sqlite,
    /// The production store.
    Postgres,
}

impl DatabaseKind {
    /// The kind a URL names, from its scheme.
    pub fn of(url: &str) -> Option<DatabaseKind> {
        if url.starts_with("sqlite:") {
            Some(DatabaseKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(DatabaseKind::Postgres)
        } else {
            None
        }
    }
}

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
