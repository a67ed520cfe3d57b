//! Horizon's HTTP API on actix-web. [`AppState::open`] connects what the settings name (Redis
//! is optional) and [`server`] builds the whole server on a bound listener, so the binary, the
//! demo and the tests share one wiring; tests bind port 0. [`Application`] is the whole
//! process: state, server and the optional in-process job worker.

mod application;
mod auth;
mod cache;
mod canonical;
mod coalesce;
mod error;
mod limit;
mod metrics;
mod pages;
mod redis_guard;
mod routes;

use std::{net::TcpListener, sync::Arc, time::Duration};

use actix_web::{
    App, HttpServer,
    dev::Server,
    error::JsonPayloadError,
    middleware::{self, from_fn},
    web,
};
use horizon_settings::Settings;
use horizon_store::{Store, StoreError, cache::RedisPool};

pub use application::Application;
pub use auth::{GeneratedKey, TOKEN_PREFIX, generate_key, hash_secret, parse_token};
pub use canonical::{PathRejection, canonical_path};
pub use error::{ApiError, HttpProblem};
pub use redis_guard::{OPEN_FOR, RedisCalls, RedisGuard, TRIP_AFTER};
pub use routes::{ApiDoc, MAX_PAGE};

/// How long the API waits for Redis to answer at start before it starts without it.
pub const REDIS_START_WAIT: Duration = Duration::from_secs(2);

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The shared database.
    pub store: Store,
    /// The settings the process started with.
    pub settings: Arc<Settings>,
    /// The Redis pool, when `REDIS_URL` is set.
    pub redis: Option<RedisPool>,
    /// The same pool behind a deadline and a circuit breaker: what requests use.
    redis_guard: Option<Arc<RedisGuard>>,
    keys: Arc<auth::KeyCache>,
    limiter: Arc<limit::Limiter>,
    auth_failures: Arc<limit::FailureLimiter>,
    trusted_proxies: Arc<Vec<std::net::IpAddr>>,
    metrics: Arc<metrics::Metrics>,
    forecasts: Arc<cache::MemoryTier>,
    reads: Arc<coalesce::ForecastReads>,
    /// Set on SIGTERM/SIGINT: responses close their connections and readiness fails.
    draining: Arc<std::sync::atomic::AtomicBool>,
}

impl AppState {
    /// State for `store`, with a Redis pool when the settings name one. A Redis that does not
    /// answer within [`REDIS_START_WAIT`] is logged and the API starts anyway: Redis is an
    /// optimisation, and the circuit breaker keeps an absent one cheap until it answers. A URL
    /// that is not a Redis URL is an error.
    pub async fn open(settings: Arc<Settings>, store: Store) -> Result<Self, StoreError> {
        let redis = match &settings.redis_url {
            Some(url) => {
                let pool = horizon_store::cache::redis_pool(url, settings.redis_pool_size)?;
                match tokio::time::timeout(
                    REDIS_START_WAIT,
                    horizon_store::cache::ping_redis(&pool),
                )
                .await
                {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "redis does not answer at start; continuing")
                    }
                    Err(_) => tracing::warn!(
                        wait_ms = REDIS_START_WAIT.as_millis() as u64,
                        "redis does not answer at start; continuing"
                    ),
                }
                Some(pool)
            }
            None => None,
        };
        Ok(Self::with_redis(settings, store, redis))
    }

    /// State for `store` and an optional Redis pool.
    pub fn with_redis(settings: Arc<Settings>, store: Store, redis: Option<RedisPool>) -> Self {
        let redis_guard = redis.clone().map(|pool| {
            Arc::new(RedisGuard::new(
                pool,
                Duration::from_millis(settings.redis_timeout_ms),
            ))
        });
        Self {
            keys: Arc::new(auth::KeyCache::new(Duration::from_secs(
                settings.api_key_cache_secs,
            ))),
            limiter: Arc::new(limit::Limiter::new(
                settings.api_rate_limit_per_sec,
                settings.api_rate_limit_burst,
                redis_guard.clone(),
            )),
            auth_failures: Arc::new(limit::FailureLimiter::new(
                settings.api_auth_failures_per_sec,
                settings.api_auth_failures_burst,
            )),
            trusted_proxies: Arc::new(settings.trusted_proxies()),
            metrics: Arc::new(metrics::Metrics::default()),
            forecasts: Arc::new(cache::MemoryTier::new(settings.api_forecast_cache_mb)),
            reads: Arc::new(coalesce::ForecastReads::new(settings.db_max_connections)),
            store,
            settings,
            redis,
            redis_guard,
            draining: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        }
    }
}

/// Runs a database read, and once more when its connection broke under it (after a database
/// restart every pooled connection is dead, and each is found out by the statement that uses
/// it); a second failure, or a timed-out wait for a connection, is returned as it is.
pub(crate) async fn retry_broken<T, F, Fut>(read: F) -> Result<T, StoreError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    match read().await {
        Err(e) if e.is_broken_connection() => {
            tracing::info!(error = %e, "database connection broke; retrying the read once");
            read().await
        }
        other => other,
    }
}

/// The OpenAPI document served at `/openapi.json`, pretty-printed.
pub fn openapi_json() -> String {
    use utoipa::OpenApi;
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Registers every route under `cfg`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    routes::configure(cfg);
    pages::configure(cfg);
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            ApiError::too_large(format!("the request body exceeds {limit} bytes"))
        }
        JsonPayloadError::ContentType => {
            ApiError::invalid("the request body must be JSON (Content-Type: application/json)")
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::unprocessable(format!("invalid JSON body: {e}"))
        }
        other => ApiError::invalid(format!("invalid JSON body: {other}")),
    }
}

fn cors(settings: &Settings) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "OPTIONS"])
        .allow_any_header()
        .expose_headers(["Location", "Retry-After", "X-Request-Id"])
        .max_age(3600);
    for origin in settings.cors_origins() {
        cors = cors.allowed_origin(&origin);
    }
    cors
}

/// How long a stopping server keeps serving with `Connection: close` before it stops accepting:
/// long enough for clients on kept-alive connections to be told, and for a load balancer to
/// see `/readyz` fail, short against any grace period.
const DRAIN: Duration = Duration::from_secs(1);

/// Builds the server on `listener`; await the returned [`Server`] to run it.
///
/// On SIGINT/SIGTERM it drains: for one second every response carries `Connection: close` (so a
/// client on a kept-alive connection sends its next request on a new connection instead of one
/// the server is about to close) and `/readyz` answers 503; then it stops accepting and
/// finishes the requests it has received, for at most `shutdown_grace_secs` in all.
pub fn server(state: AppState, listener: TcpListener) -> std::io::Result<Server> {
    let max_body = state.settings.api_max_body_bytes;
    let shutdown_grace = state.settings.shutdown_grace_secs;
    let draining = state.draining.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .app_data(
                web::JsonConfig::default()
                    .limit(max_body)
                    .error_handler(|err, _req| json_error(err).into()),
            )
            .app_data(
                web::PathConfig::default()
                    .error_handler(|err, _req| ApiError::invalid(err.to_string()).into()),
            )
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|err, _req| ApiError::invalid(err.to_string()).into()),
            )
            .wrap(from_fn(auth::authenticate))
            .wrap(cors(&state.settings))
            .wrap(
                middleware::Logger::new("%r %s %Dms request_id=%{x-request-id}i")
                    .log_target("horizon::http"),
            )
            // Inside the metrics so refusals are counted; outside everything that reads the path.
            .wrap(from_fn(canonical::canonicalise))
            .wrap(from_fn(metrics::observe))
            // Outermost, so every response carries them, refusals included.
            .wrap(pages::security_headers())
            .wrap(from_fn(close_when_draining))
            .configure(configure)
            .default_service(web::to(no_route))
    })
    .listen(listener)?
    .shutdown_timeout(shutdown_grace.saturating_sub(DRAIN.as_secs()))
    .disable_signals()
    .run();
    let handle = server.handle();
    tokio::spawn(async move {
        horizon_services::shutdown_signal().await;
        tracing::info!(
            drain_ms = DRAIN.as_millis() as u64,
            grace_secs = shutdown_grace,
            "shutdown requested; draining, then finishing the requests received"
        );
        draining.store(true, std::sync::atomic::Ordering::Release);
        tokio::time::sleep(DRAIN).await;
        handle.stop(true).await;
    });
    Ok(server)
}

/// The methods of every documented path template, from the OpenAPI document (one source of
/// truth for the routes), so an unrouted request on a known path is 405 with `Allow`.
fn documented_methods() -> &'static [(Vec<String>, String)] {
    static METHODS: std::sync::OnceLock<Vec<(Vec<String>, String)>> = std::sync::OnceLock::new();
    METHODS.get_or_init(|| {
        use utoipa::OpenApi;
        ApiDoc::openapi()
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let mut methods = Vec::new();
                for (name, op) in [
                    ("GET", &item.get),
                    ("PUT", &item.put),
                    ("POST", &item.post),
                    ("PATCH", &item.patch),
                    ("DELETE", &item.delete),
                ] {
                    if op.is_some() {
                        methods.push(name);
                    }
                }
                let segments = template.split('/').map(str::to_owned).collect();
                (segments, methods.join(", "))
            })
            .collect()
    })
}

/// The default service: 405 with `Allow` when the path is a documented one, else 404.
async fn no_route(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let segments: Vec<&str> = req.path().split('/').collect();
    let matches = |template: &[String]| {
        template.len() == segments.len()
            && template
                .iter()
                .zip(&segments)
                .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
    };
    // A literal template wins over one with a parameter in the same place.
    let best = documented_methods()
        .iter()
        .filter(|(t, _)| matches(t))
        .min_by_key(|(t, _)| t.iter().filter(|s| s.starts_with('{')).count());
    match best {
        // The method is the path's own, yet nothing routed it (a parameter out of shape).
        Some((_, allow)) if allow.split(", ").any(|m| m == req.method().as_str()) => {
            Err(ApiError::not_found("no such route"))
        }
        Some((_, allow)) => Err(ApiError::method_not_allowed(
            req.method().as_str(),
            allow.clone(),
        )),
        None => Err(ApiError::not_found("no such route")),
    }
}

/// Middleware: while the server drains, every response closes its connection.
async fn close_when_draining(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let draining = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.draining.load(std::sync::atomic::Ordering::Acquire));
    let mut res = next.call(req).await?;
    if draining {
        res.response_mut()
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    Ok(res)
}

#[cfg(test)]
mod tests;
