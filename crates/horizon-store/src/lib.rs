//! Horizon's persistence. One [`Store`] wraps a sea-orm connection pool to PostgreSQL (the
//! production store) or SQLite (the embedded default); its repository methods take and return
//! domain types, never entities. Beside it: the ingest [`event_store`] (rusqlite, WAL) and the
//! optional Redis pool ([`cache`]).
//!
//! Every repository works the same on both databases; the test suite runs each test on both.

pub mod cache;
mod codec;
pub mod entities;
mod error;
pub mod event_store;
mod repo;

use std::time::Duration;

use horizon_migration::{Migrator, MigratorTrait};
use horizon_settings::{DatabaseKind, Settings, redact};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, sqlx::sqlite,
};

pub use error::{StoreError, is_transient};
pub use repo::{
    api_keys::NewApiKey,
    covariates::{InForce, VintageConflict, VintageSummary, VintageWindow, VintageWrite},
    executions::NewStep,
    observations::ObservationRow,
    operator::OperatorCounts,
    partitions::{JobQueue, QueuedJob},
    predictions::{NewPrediction, PredictionFilter},
    series::{SeriesFilter, SeriesPage},
};

/// Pool sizes and timeouts for [`Store::connect_with`].
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Largest number of connections.
    pub max_connections: u32,
    /// Idle connections kept open.
    pub min_connections: u32,
    /// Wait for a free connection before failing.
    pub acquire_timeout: Duration,
    /// How long a SQLite writer waits for the lock.
    pub sqlite_busy_timeout: Duration,
}

impl PoolOptions {
    /// The pool options the settings ask for.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            max_connections: settings.db_max_connections,
            min_connections: settings.db_min_connections,
            acquire_timeout: Duration::from_secs(settings.db_acquire_timeout_secs),
            sqlite_busy_timeout: Duration::from_millis(settings.sqlite_busy_timeout_ms),
        }
    }
}

impl PoolOptions {
    /// The API's pool: like [`PoolOptions::from_settings`] but a request waits at most
    /// `api_db_acquire_timeout_ms` for a connection, so a database outage is answered 503
    /// within that instead of holding every request for the workers' longer timeout.
    pub fn for_api(settings: &Settings) -> Self {
        Self {
            acquire_timeout: Duration::from_millis(settings.api_db_acquire_timeout_ms),
            ..Self::from_settings(settings)
        }
    }
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 1,
            acquire_timeout: Duration::from_secs(10),
            sqlite_busy_timeout: Duration::from_secs(30),
        }
    }
}

/// The shared database: series, observations, forecasts, executions, keys.
#[derive(Debug, Clone)]
pub struct Store {
    db: DatabaseConnection,
}

impl Store {
    /// Connects with the settings' URL and pool sizes, applies migrations when
    /// `migrate_on_start` is set, and refuses a schema newer than this build knows.
    pub async fn open(settings: &Settings) -> Result<Self, StoreError> {
        Self::open_with(settings, &PoolOptions::from_settings(settings)).await
    }

    /// [`Store::open`] with other pool options (the API's: [`PoolOptions::for_api`]).
    pub async fn open_with(settings: &Settings, pool: &PoolOptions) -> Result<Self, StoreError> {
        let store = Self::connect_with(&settings.database_url, pool).await?;
        if settings.migrate_on_start {
            store.migrate().await?;
        }
        store.check_schema().await?;
        Ok(store)
    }

    /// Connects to `url` (`sqlite://...` or `postgres://...`). SQLite files are created with
    /// their directory, in WAL mode with a busy timeout and foreign keys on.
    pub async fn connect_with(url: &str, pool: &PoolOptions) -> Result<Self, StoreError> {
        let kind = DatabaseKind::of(url).ok_or_else(|| StoreError::Config {
            reason: format!(
                "DATABASE_URL {} must start with sqlite:// or postgres://",
                redact(url)
            ),
        })?;
        if kind == DatabaseKind::Sqlite {
            ensure_sqlite_dir(url)?;
        }
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.max_connections(pool.max_connections)
            .min_connections(pool.min_connections)
            .acquire_timeout(pool.acquire_timeout)
            .connect_timeout(pool.acquire_timeout)
            // A ping on every checkout doubles the round trips of every short query; a
            // connection only needs one after sitting idle long enough for the server or a
            // proxy to have dropped it.
            .test_before_acquire_if_idle_for(Duration::from_secs(30))
            .sqlx_logging(false);
        let busy = pool.sqlite_busy_timeout;
        opts.map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlite::SqliteSynchronous::Normal)
                .busy_timeout(busy)
                .foreign_keys(true)
                .create_if_missing(true)
        });
        let db = Database::connect(opts)
            .await
            .map_err(|source| StoreError::Connect {
                url: redact(url),
                source,
            })?;
        Ok(Self { db })
    }

    /// Wraps an existing connection (tests, embedding applications).
    pub fn from_connection(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The underlying connection, for the few callers that need raw SQL.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Begins a transaction that reads and then writes. On SQLite it takes the write lock at
    /// `BEGIN` (`IMMEDIATE`): a deferred transaction that read before another process
    /// committed cannot upgrade to a writer and fails at once with `SQLITE_BUSY_SNAPSHOT`
    /// ("database is locked", code 517), which the busy timeout does not wait out. With the
    /// lock taken first, concurrent writers queue on the busy timeout instead.
    pub(crate) async fn begin_write(&self) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
        use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
        self.db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }

    /// Which database this is.
    pub fn backend(&self) -> DatabaseKind {
        match self.db.get_database_backend() {
            DbBackend::Postgres => DatabaseKind::Postgres,
            _ => DatabaseKind::Sqlite,
        }
    }

    /// Applies pending migrations. Refuses when the database has migrations this build does not
    /// know (a newer binary migrated it).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        // Pending migrations are what this applies; only a schema newer than this build stops it.
        match self.check_schema().await {
            Ok(()) | Err(StoreError::SchemaBehind { .. }) => {}
            Err(e) => return Err(e),
        }
        Migrator::up(&self.db, None)
            .await
            .map_err(|e| StoreError::db("applying migrations", e))
    }

    /// Fails with [`StoreError::SchemaTooNew`] when the database carries migrations this build
    /// does not know, and with [`StoreError::SchemaBehind`] when migrations are pending.
    pub async fn check_schema(&self) -> Result<(), StoreError> {
        let known = horizon_migration::known_migrations();
        let applied = self.applied_migrations().await?;
        let unknown: Vec<String> = applied
            .iter()
            .filter(|a| !known.contains(a))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(StoreError::SchemaTooNew { unknown });
        }
        let pending: Vec<String> = known.into_iter().filter(|k| !applied.contains(k)).collect();
        if !pending.is_empty() && !applied.is_empty() {
            return Err(StoreError::SchemaBehind { pending });
        }
        if applied.is_empty() && !pending.is_empty() && self.table_exists("series").await? {
            return Err(StoreError::SchemaBehind { pending });
        }
        Ok(())
    }

    /// Applied migration names, oldest first; empty on a fresh database.
    pub async fn applied_migrations(&self) -> Result<Vec<String>, StoreError> {
        if !self.table_exists("seaql_migrations").await? {
            return Ok(Vec::new());
        }
        let rows = self
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                "SELECT version FROM seaql_migrations ORDER BY version",
            ))
            .await
            .map_err(|e| StoreError::db("reading applied migrations", e))?;
        rows.iter()
            .map(|r| {
                r.try_get::<String>("", "version")
                    .map_err(|e| StoreError::db("reading applied migrations", e))
            })
            .collect()
    }

    async fn table_exists(&self, table: &str) -> Result<bool, StoreError> {
        let backend = self.db.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => "SELECT COUNT(*) AS n FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = $1"
                .to_owned(),
            _ => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?"
                .to_owned(),
        };
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                sql,
                [table.into()],
            ))
            .await
            .map_err(|e| StoreError::db("checking the schema", e))?;
        let n: i64 = match row {
            Some(r) => r
                .try_get("", "n")
                .map_err(|e| StoreError::db("checking the schema", e))?,
            None => 0,
        };
        Ok(n > 0)
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db
            .ping()
            .await
            .map_err(|e| StoreError::db("pinging the database", e))
    }
}

fn ensure_sqlite_dir(url: &str) -> Result<(), StoreError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Config {
            reason: format!("cannot create directory {} for SQLite: {e}", dir.display()),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
