//! Open, non-API pages: the OpenAPI document, its browsable docs, Prometheus metrics and the
//! fan-chart page at `/`.

use actix_web::{HttpResponse, get, web};

use crate::AppState;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(openapi)
        .service(docs)
        .service(prometheus)
        .service(index);
}

#[get("/openapi.json")]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(crate::openapi_json())
}

// Scalar renders the spec in the browser from its CDN; nothing is fetched at build time.
const DOCS: &str = r#"<!doctype html>
<html><head><title>Horizon API</title><meta charset="utf-8"></head>
<body><script id="api-reference" data-url="/openapi.json"></script>
<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script></body></html>"#;

#[get("/docs")]
async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(DOCS)
}

#[get("/metrics")]
async fn prometheus(state: web::Data<AppState>) -> HttpResponse {
    let db = state.store.connection();
    // Matching on the backend first keeps clear of the accessors' panics.
    let pool = match state.store.backend() {
        horizon_settings::DatabaseKind::Postgres => {
            let pool = db.get_postgres_connection_pool();
            Some((pool.size(), pool.num_idle() as u32))
        }
        horizon_settings::DatabaseKind::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            Some((pool.size(), pool.num_idle() as u32))
        }
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(pool))
}

#[get("/")]
async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("fan_chart.html"))
}
