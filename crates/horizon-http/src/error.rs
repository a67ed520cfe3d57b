//! The one place where errors become HTTP responses: RFC 9457 problem+json with a stable
//! `type`, the status and a message naming the problem. Internal causes are logged, never sent.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use horizon_domain::{DomainError, ErrorCode};
use horizon_dto::Problem;
use horizon_store::StoreError;

/// An error on its way to the client.
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct ApiError {
    /// Its kind.
    pub code: ErrorCode,
    /// What the client is told.
    pub detail: String,
}

impl ApiError {
    /// A 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::NotFound,
            detail: detail.into(),
        }
    }

    /// A 400.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::Invalid,
            detail: detail.into(),
        }
    }
}

/// Status, `type` slug and title of each error code.
fn describe(code: ErrorCode) -> (StatusCode, &'static str, &'static str) {
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
        describe(self.code).0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, slug, title) = describe(self.code);
        HttpResponse::build(status)
            .content_type("application/problem+json")
            .json(Problem {
                kind: format!("https://horizon.dev/problems/{slug}"),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: self.detail.clone(),
            })
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let code = e.code();
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
        Self { code, detail }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        Self {
            code: e.code(),
            detail: e.to_string(),
        }
    }
}
