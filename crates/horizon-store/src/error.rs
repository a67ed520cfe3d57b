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
        StoreError::Database { context, source }
    }

    /// Whether retrying may succeed: the database was unreachable or the connection broke,
    /// as opposed to a query the database refused.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Connect { .. } | StoreError::Cache { .. } => true,
            StoreError::Database { source, .. } => is_transient(source),
            _ => false,
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

    /// Whether the error came from a connection that broke under the statement (a pooled
    /// connection the server dropped while idle, say) rather than from waiting for one: the
    /// statement is worth one retry on a fresh connection, while a wait that timed out is not.
    pub fn is_broken_connection(&self) -> bool {
        use sea_orm::{RuntimeErr, sqlx};
        match self {
            StoreError::Database { source, .. } => match source {
                DbErr::ConnectionAcquire(_) => false,
                DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
                    !matches!(
                        e.as_ref(),
                        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
                    ) && is_transient(source)
                }
                other => is_transient(other),
            },
            _ => false,
        }
    }

    /// The error's kind.
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::NotFound { .. } => ErrorCode::NotFound,
            StoreError::Conflict(_) => ErrorCode::Conflict,
            StoreError::Invalid(_) => ErrorCode::Invalid,
            StoreError::Connect { .. } | StoreError::Cache { .. } => ErrorCode::Unavailable,
            StoreError::Database { source, .. } if is_transient(source) => ErrorCode::Unavailable,
            StoreError::Database { .. } => ErrorCode::Internal,
            StoreError::Config { .. }
            | StoreError::SchemaTooNew { .. }
            | StoreError::SchemaBehind { .. }
            | StoreError::EventStore { .. } => ErrorCode::Internal,
        }
    }
}

/// Whether `err` says the database could not be reached or the connection broke (server
/// restarted, network reset, pool timed out) rather than that a statement failed.
pub fn is_transient(err: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx};
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                // "got 0 bytes at EOF" and its kin: the server went away mid-conversation.
                sqlx::Error::Protocol(_) => true,
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    // 08: connection exception; 57P01-03: admin shutdown, crash shutdown,
                    // cannot connect now (starting up or shutting down).
                    code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
                }),
                _ => false,
            }
        }
        _ => false,
    }
}
