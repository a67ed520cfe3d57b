//! The store's error type.

use horizon_domain::{DomainError, ErrorCode};
use sea_orm::DbErr;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached.
    #[error("cannot connect to the database at {url}: {source}")]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// The driver's error.
        source: DbErr,
    },
    /// A configuration value is unusable.
    #[error("{reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The database was migrated by a newer build.
    #[error(
        "the database schema is newer than this build of horizon (unknown migrations: {}); \
         upgrade horizon before starting it against this database",
        unknown.join(", ")
    )]
    SchemaTooNew {
        /// Migrations applied but unknown to this build.
        unknown: Vec<String>,
    },
    /// Migrations are pending and were not applied.
    #[error(
        "the database schema is behind this build (pending migrations: {}); run `horizon migrate` \
         or set HORIZON_MIGRATE_ON_START=true",
        pending.join(", ")
    )]
    SchemaBehind {
        /// Migrations known but not applied.
        pending: Vec<String>,
    },
    /// Nothing matches.
    #[error("{what} {id} not found")]
    NotFound {
        /// Kind of thing.
        what: &'static str,
        /// Its id or key.
        id: String,
    },
    /// The change conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// A value is invalid (input, or stored data that no longer parses).
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// A database operation failed.
    #[error("database error while {context}: {source}")]
    Database {
        /// What the store was doing.
        context: &'static str,
        /// The driver's error.
        source: DbErr,
    },
    /// The event store failed.
    #[error("event store error while {context}: {source}")]
    EventStore {
        /// What the store was doing.
        context: &'static str,
        /// The driver's error.
        source: rusqlite::Error,
    },
    /// Redis failed.
    #[error("redis error while {context}: {reason}")]
    Cache {
        /// What the store was doing.
        context: &'static str,
        /// The error text.
        reason: String,
    },
}

impl StoreError {
    pub(crate) fn db(context: &'static str, source: DbErr) -> Self {
        match &source {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
                StoreError::Database { context, source }
            }
            _ => StoreError::Database { context, source },
        }
    }

    /// Maps the error of an update by id: no row updated means the id is unknown.
    pub(crate) fn update(
        what: &'static str,
        id: uuid::Uuid,
        context: &'static str,
    ) -> impl FnOnce(DbErr) -> Self {
        move |err| match err {
            DbErr::RecordNotUpdated => StoreError::NotFound {
                what,
                id: id.to_string(),
            },
            other => StoreError::db(context, other),
        }
    }

    /// The error's kind.
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::NotFound { .. } => ErrorCode::NotFound,
            StoreError::Conflict(_) => ErrorCode::Conflict,
            StoreError::Invalid(_) => ErrorCode::Invalid,
            StoreError::Connect { .. } | StoreError::Cache { .. } => ErrorCode::Unavailable,
            StoreError::Database { source, .. } => match source {
                DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => ErrorCode::Unavailable,
                _ => ErrorCode::Internal,
            },
            StoreError::Config { .. }
            | StoreError::SchemaTooNew { .. }
            | StoreError::SchemaBehind { .. }
            | StoreError::EventStore { .. } => ErrorCode::Internal,
        }
    }
}
