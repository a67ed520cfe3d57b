//! Open, non-API pages: the OpenAPI document, its browsable docs (Swagger UI, bundled), Prometheus
//! metrics, the dashboard at `/` (uPlot, bundled), and the security headers every response
//! carries. The pages hold no data: the dashboard reads the `/v1` API with the key its user
//! pastes.

use std::io::Read;

use actix_web::{HttpRequest, HttpResponse, get, http::header, web};

use crate::{ApiError, AppState};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(openapi)
        .service(docs)
        .service(assets)
        .service(prometheus)
        .service(index);
}

#[get("/openapi.json")]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(crate::openapi_json())
}

#[get("/docs")]
async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("../assets/docs.html"))
}

/// A file served from the binary: its bytes, whether they are gzip-compressed, and its type.
struct Asset {
    bytes: &'static [u8],
    gzipped: bool,
    content_type: &'static str,
}

fn asset(name: &str) -> Option<Asset> {
    let (bytes, gzipped, content_type): (&'static [u8], bool, &'static str) = match name {
        "page.js" => (
            include_bytes!("../assets/page.js"),
            false,
            "text/javascript; charset=utf-8",
        ),
        "page.css" => (
            include_bytes!("../assets/page.css"),
            false,
            "text/css; charset=utf-8",
        ),
        "docs.js" => (
            include_bytes!("../assets/docs.js"),
            false,
            "text/javascript; charset=utf-8",
        ),
        "vendor/uPlot.iife.min.js" => (
            include_bytes!("../assets/vendor/uPlot.iife.min.js"),
            false,
            "text/javascript; charset=utf-8",
        ),
        "vendor/uPlot.min.css" => (
            include_bytes!("../assets/vendor/uPlot.min.css"),
            false,
            "text/css; charset=utf-8",
        ),
        "vendor/swagger-ui-bundle.js" => (
            include_bytes!("../assets/vendor/swagger-ui-bundle.js.gz"),
            true,
            "text/javascript; charset=utf-8",
        ),
        "vendor/swagger-ui.css" => (
            include_bytes!("../assets/vendor/swagger-ui.css.gz"),
            true,
            "text/css; charset=utf-8",
        ),
        _ => return None,
    };
    Some(Asset {
        bytes,
        gzipped,
        content_type,
    })
}

fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// The page's and the docs' scripts and styles, from the binary (nothing from a CDN).
#[get("/assets/{name:.*}")]
async fn assets(req: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let a = asset(&name).ok_or_else(|| ApiError::not_found("no such asset"))?;
    let mut resp = HttpResponse::Ok();
    resp.content_type(a.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::VARY, "Accept-Encoding"));
    if !a.gzipped {
        return Ok(resp.body(a.bytes));
    }
    if accepts_gzip(&req) {
        // Sent as stored; `Encoding::identity` keeps actix from compressing it again.
        resp.insert_header((header::CONTENT_ENCODING, "gzip"));
        return Ok(resp.body(a.bytes));
    }
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(a.bytes)
        .read_to_end(&mut plain)
        .map_err(|e| ApiError::unavailable(format!("a bundled asset is unreadable: {e}")))?;
    Ok(resp.body(plain))
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
    let mut body = state
        .metrics
        .render(pool, state.redis_guard.as_ref().map(|g| g.calls()));
    if let Some(counts) = state.metrics.operator_counts(&state.store).await {
        body.push_str(&crate::metrics::render_operator(
            &counts,
            chrono::Utc::now(),
        ));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}

#[get("/")]
async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("../assets/page.html"))
}

/// The Content-Security-Policy of every response: scripts, styles, fonts and requests only from
/// this origin (no inline script, no `eval`), images also as `data:` URIs (Swagger UI's icons);
/// inline style attributes are allowed because Swagger UI sets them. No framing, no `<base>`.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
     font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Headers added to every response that does not set its own.
pub(crate) fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    /// The vendored files are the ones `assets/vendor/README.md` names.
    #[test]
    fn vendored_assets_match_their_recorded_hashes() {
        let readme = include_str!("../assets/vendor/README.md");
        for name in [
            "vendor/swagger-ui-bundle.js",
            "vendor/swagger-ui.css",
            "vendor/uPlot.iife.min.js",
            "vendor/uPlot.min.css",
        ] {
            let a = asset(name).unwrap();
            let mut plain = Vec::new();
            if a.gzipped {
                flate2::read::GzDecoder::new(a.bytes)
                    .read_to_end(&mut plain)
                    .unwrap();
            } else {
                plain = a.bytes.to_vec();
            }
            let hash = hex::encode(Sha256::digest(&plain));
            assert!(
                readme.contains(&hash),
                "{name}: {hash} is not in the README"
            );
        }
    }
}
