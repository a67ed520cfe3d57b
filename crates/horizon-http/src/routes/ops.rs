//! Operations: liveness and readiness.

use super::*;

#[utoipa::path(summary = "Liveness: the process answers", tag = "operations", responses((status = 200, description = "alive", body = Health)))]
#[get("/healthz")]
pub(super) async fn healthz() -> HttpResponse {
    json_ok(&Health {
        status: "ok".into(),
    })
}

#[utoipa::path(summary = "Readiness: the database answers and migrations are applied", tag = "operations", responses(
    (status = 200, description = "ready", body = Readiness),
    (status = 503, description = "a dependency is down", body = Readiness)))]
#[get("/readyz")]
pub(super) async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = match state.store.ping().await {
        Ok(()) => "ok",
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unavailable");
            "unavailable"
        }
    };
    let redis = match &state.redis_guard {
        None => "not configured",
        // Through the guard: a frozen Redis answers "unavailable" within the deadline.
        Some(guard) => match guard
            .call("readiness", |mut conn| async move {
                deadpool_redis::redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
            })
            .await
        {
            Some(_) => "ok",
            None => "unavailable",
        },
    };
    let draining = state.draining.load(std::sync::atomic::Ordering::Acquire);
    let ok = database == "ok" && redis != "unavailable" && !draining;
    let body = Readiness {
        status: if ok { "ok" } else { "unavailable" }.into(),
        database: database.into(),
        redis: redis.into(),
    };
    if ok {
        json_ok(&body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
