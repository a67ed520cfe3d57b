//! The services' error type.

use horizon_domain::{DomainError, ErrorCode};
use horizon_store::StoreError;

/// What went wrong in a service.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A value broke a domain rule.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The engine refused the request.
    #[error(transparent)]
    Engine(#[from] horizon_engine::EngineError),
    /// An input file is unusable as a whole (missing, unreadable, no header).
    #[error("{path}: {reason}")]
    Input {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The settings ask for something this deployment cannot do (e.g. queue workers on
    /// SQLite).
    #[error("{setting}: {reason}")]
    Config {
        /// The setting, as its environment variable is named.
        setting: &'static str,
        /// What is wrong and what to do instead.
        reason: String,
    },
    /// A background task died.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// Whether the error is the database being unreachable or a connection breaking, which
    /// retrying after the database is back can cure.
    pub fn is_transient(&self) -> bool {
        matches!(self, ServiceError::Store(e) if e.is_transient())
    }

    /// The error's kind.
    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::Store(e) => e.code(),
            ServiceError::Domain(_) | ServiceError::Input { .. } | ServiceError::Config { .. } => {
                ErrorCode::Invalid
            }
            ServiceError::Engine(horizon_engine::EngineError::InvalidInput { .. }) => {
                ErrorCode::Invalid
            }
            ServiceError::Engine(_) | ServiceError::Internal(_) => ErrorCode::Internal,
        }
    }
}
