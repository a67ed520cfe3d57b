//! The one place where errors become HTTP responses: RFC 9457 problem+json with a stable
//! `type`, the status and a message naming the problem. Internal causes are logged, never sent.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use horizon_domain::{DomainError, ErrorCode};
use horizon_dto::Problem;
use horizon_store::StoreError;

/// Problems the domain's closed [`ErrorCode`] set does not name, because only HTTP has them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HttpProblem {
    /// A well-formed request whose content cannot be processed (422).
    Unprocessable,
    /// The body is larger than `api_max_body_bytes` (413).
    TooLarge,
    /// The path exists but not with this method (405, with `Allow`).
    MethodNotAllowed,
    /// The body's `Content-Type` is not one the operation reads (415).
    UnsupportedMediaType,
    /// The key's rate limit is spent; retry after this many seconds (429).
    RateLimited {
        /// Seconds until a request would be allowed.
        retry_after: u64,
    },
}

/// An error on its way to the client.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{detail}")]
pub struct ApiError {
    /// Its kind.
    pub code: ErrorCode,
    /// What the client is told.
    pub detail: String,
    /// An HTTP-only refinement of `code`.
    pub http: Option<HttpProblem>,
    /// The methods of the path, for a 405's `Allow` header.
    allow: Option<String>,
}

impl ApiError {
    fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            http: None,
            allow: None,
        }
    }

    /// A 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, detail)
    }

    /// A 400.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, detail)
    }

    /// A 422: well-formed, but the content cannot be processed.
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self {
            http: Some(HttpProblem::Unprocessable),
            ..Self::new(ErrorCode::Invalid, detail)
        }
    }

    /// A 413.
    pub fn too_large(detail: impl Into<String>) -> Self {
        Self {
            http: Some(HttpProblem::TooLarge),
            ..Self::new(ErrorCode::Invalid, detail)
        }
    }

    /// A 415: the body's media type is not one the operation reads.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self {
            http: Some(HttpProblem::UnsupportedMediaType),
            ..Self::new(ErrorCode::Invalid, detail)
        }
    }

    /// A 401: no usable credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, detail)
    }

    /// A 403: valid credentials without the right.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, detail)
    }

    /// A 409.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, detail)
    }

    /// A 503.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, detail)
    }

    /// A 405 naming the methods `allow` (comma-separated) the path has.
    pub fn method_not_allowed(method: &str, allow: String) -> Self {
        Self {
            http: Some(HttpProblem::MethodNotAllowed),
            detail: format!("{method} is not allowed here; this path allows {allow}"),
            allow: Some(allow),
            ..Self::new(ErrorCode::Invalid, "")
        }
    }

    /// A 429 with `Retry-After: retry_after`, for a client address that sent too many bad keys.
    pub fn rate_limited_client(retry_after: u64) -> Self {
        Self {
            http: Some(HttpProblem::RateLimited { retry_after }),
            ..Self::new(
                ErrorCode::Unavailable,
                format!(
                    "too many failed authentications from this address; retry after {retry_after} s"
                ),
            )
        }
    }

    /// A 429 with `Retry-After: retry_after`.
    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            http: Some(HttpProblem::RateLimited { retry_after }),
            ..Self::new(
                ErrorCode::Unavailable,
                format!("rate limit exceeded for this key; retry after {retry_after} s"),
            )
        }
    }
}

/// What a 503 tells clients to wait: a database restart or failover takes seconds.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

/// Status, `type` slug and title of each error.
fn describe(
    code: ErrorCode,
    http: Option<HttpProblem>,
) -> (StatusCode, &'static str, &'static str) {
    match http {
        Some(HttpProblem::Unprocessable) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                "Unprocessable content",
            );
        }
        Some(HttpProblem::TooLarge) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request body too large",
            );
        }
        Some(HttpProblem::UnsupportedMediaType) => {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            );
        }
        Some(HttpProblem::MethodNotAllowed) => {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            );
        }
        Some(HttpProblem::RateLimited { .. }) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
            );
        }
        None => {}
    }
    match code {
        ErrorCode::NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
        ErrorCode::Invalid => (
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "Invalid request",
        ),
        ErrorCode::Conflict => (StatusCode::CONFLICT, "conflict", "Conflict"),
        ErrorCode::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
        ErrorCode::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
        ErrorCode::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
        ),
        ErrorCode::Internal => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        ),
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        describe(self.code, self.http).0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, slug, title) = describe(self.code, self.http);
        let mut resp = HttpResponse::build(status);
        resp.content_type("application/problem+json");
        if let Some(HttpProblem::RateLimited { retry_after }) = self.http {
            resp.insert_header(("Retry-After", retry_after.to_string()));
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.insert_header(("Retry-After", UNAVAILABLE_RETRY_AFTER_SECS.to_string()));
        }
        if let Some(allow) = &self.allow {
            resp.insert_header(("Allow", allow.clone()));
        }
        if self.code == ErrorCode::Unauthorized {
            resp.insert_header(("WWW-Authenticate", "Bearer realm=\"horizon\""));
        }
        resp.json(Problem {
            kind: format!("https://horizon.dev/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: self.detail.clone(),
        })
    }
}

impl ApiError {
    /// An error of `code` whose message is shown to clients unless it is internal or an
    /// unavailable dependency; those are logged here and replaced by a generic message.
    fn from_library(code: ErrorCode, e: &dyn std::fmt::Display) -> Self {
        let detail = match code {
            ErrorCode::Internal => {
                tracing::error!(error = %e, "internal error");
                "an internal error occurred; it has been logged".to_owned()
            }
            ErrorCode::Unavailable => {
                tracing::warn!(error = %e, "dependency unavailable");
                "a backing service is unavailable; retry later".to_owned()
            }
            _ => e.to_string(),
        };
        Self::new(code, detail)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::from_library(e.code(), &e)
    }
}

impl From<horizon_services::ServiceError> for ApiError {
    fn from(e: horizon_services::ServiceError) -> Self {
        Self::from_library(e.code(), &e)
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        Self::new(e.code(), e.to_string())
    }
}
