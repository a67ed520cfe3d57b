//! Test support: each test gets its own freshly migrated database on both backends — a
//! temporary SQLite file always, and a fresh PostgreSQL database when `TEST_DATABASE_URL` is
//! set (cloned from a template migrated once per migration set, dropped afterwards) — and a
//! Redis pool when `TEST_REDIS_URL` is set.
//!
//! Without those variables the PostgreSQL and Redis tests print that they were skipped and
//! pass. With `HORIZON_TEST_REQUIRE_SERVERS=1` (as CI sets) a missing variable or an
//! unreachable server fails the test instead.
//!
//! [`both_backends!`] writes a suite once and instantiates it per backend, so test names read
//! `sqlite::series_round_trip` and `postgres::series_round_trip`.

use std::{path::PathBuf, time::Duration};

use horizon_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on the server of `TEST_DATABASE_URL`.
    Postgres,
}

/// Whether servers must be present (`HORIZON_TEST_REQUIRE_SERVERS=1`).
pub fn require_servers() -> bool {
    matches!(
        std::env::var("HORIZON_TEST_REQUIRE_SERVERS").as_deref(),
        Ok("1") | Ok("true")
    )
}

/// A migrated database that exists for one test.
pub struct TestDb {
    /// Connection URL of the database.
    pub url: String,
    /// Its backend.
    pub backend: Backend,
    /// Directory holding the SQLite file (and anything else the test wants to put there).
    pub dir: tempfile::TempDir,
    admin: Option<(String, String)>,
}

impl TestDb {
    /// A temporary SQLite database, migrated.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        let path = dir.path().join("horizon.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        migrate(&url).await;
        TestDb {
            url,
            backend: Backend::Sqlite,
            dir,
            admin: None,
        }
    }

    /// A fresh PostgreSQL database, migrated; `None` (the test is skipped) when
    /// `TEST_DATABASE_URL` is unset and servers are not required.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            assert!(
                !require_servers(),
                "HORIZON_TEST_REQUIRE_SERVERS=1 but TEST_DATABASE_URL is not set"
            );
            eprintln!("skipped: TEST_DATABASE_URL is not set");
            return None;
        };
        let name = format!("horizon_test_{}", uuid::Uuid::now_v7().simple());
        // One connection, so the advisory lock and its release happen on the same session.
        let admin = Database::connect(
            sea_orm::ConnectOptions::new(admin_url.clone())
                .max_connections(1)
                .to_owned(),
        )
        .await
        .unwrap_or_else(|e| {
            panic!("cannot reach PostgreSQL at TEST_DATABASE_URL={admin_url}: {e}")
        });
        let template = migrated_template(&admin, &admin_url).await;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .unwrap_or_else(|e| panic!("creating test database {name} from {template}: {e}"));
        let _ = admin.close().await;
        let url = database_url(&admin_url, &name);
        Some(TestDb {
            url,
            backend: Backend::Postgres,
            dir: tempfile::tempdir().expect("creating a temporary directory"),
            admin: Some((admin_url, name)),
        })
    }

    /// A database of `backend`, or `None` when that backend is skipped.
    pub async fn of(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite().await),
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A path inside the test's own temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.admin.take() {
            // Drop runs outside async; a short-lived runtime on its own thread does the cleanup.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(admin) = Database::connect(&admin_url).await {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                ))
                                .await;
                            let _ = admin.close().await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// `admin_url` pointing at database `name`.
fn database_url(admin_url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

/// The name of a migrated template database for the migrations as they are in this checkout,
/// creating it when missing. Tests clone it (`CREATE DATABASE … TEMPLATE`, as crates.io's test
/// databases do) instead of migrating each database: test binaries run as separate processes,
/// so the one-time creation is guarded by a PostgreSQL advisory lock. The name carries a hash
/// of the migration sources, so an edited migration gets a new template; the template is
/// built under a temporary name and renamed when complete, so a killed run leaves no
/// half-migrated template behind.
async fn migrated_template(admin: &sea_orm::DatabaseConnection, admin_url: &str) -> String {
    let template = format!("horizon_template_{:016x}", migration_sources_hash());
    let exists = |admin: &sea_orm::DatabaseConnection| {
        let sql = format!("SELECT 1 FROM pg_database WHERE datname = '{template}'");
        let admin = admin.clone();
        async move {
            !admin
                .query_all_raw(sea_orm::Statement::from_string(
                    sea_orm::DatabaseBackend::Postgres,
                    sql,
                ))
                .await
                .expect("looking up the template database")
                .is_empty()
        }
    };
    if exists(admin).await {
        return template;
    }
    // An arbitrary constant: the advisory lock key of this one-time creation.
    const LOCK: i64 = 0x0068_6f72_5f74_706c;
    admin
        .execute_unprepared(&format!("SELECT pg_advisory_lock({LOCK})"))
        .await
        .expect("taking the template lock");
    if !exists(admin).await {
        let building = format!("{template}_building");
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .await
            .expect("dropping a half-built template");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {building}"))
            .await
            .expect("creating the template database");
        migrate(&database_url(admin_url, &building)).await;
        admin
            .execute_unprepared(&format!("ALTER DATABASE {building} RENAME TO {template}"))
            .await
            .expect("naming the template database");
    }
    admin
        .execute_unprepared(&format!("SELECT pg_advisory_unlock({LOCK})"))
        .await
        .expect("releasing the template lock");
    template
}

/// FNV-1a over the migration crate's sources, in file-name order.
fn migration_sources_hash() -> u64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migration/src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_default();
        for b in f
            .file_name()
            .unwrap_or_default()
            .as_encoded_bytes()
            .iter()
            .chain(&bytes)
        {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

async fn migrate(url: &str) {
    let db = Database::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to test database {url}: {e}"));
    Migrator::up(&db, None)
        .await
        .unwrap_or_else(|e| panic!("migrating test database {url}: {e}"));
    let _ = db.close().await;
}

/// The URL of the test Redis (`TEST_REDIS_URL`), or `None` (skip) when unset and not required.
pub fn redis_url() -> Option<String> {
    match std::env::var("TEST_REDIS_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                !require_servers(),
                "HORIZON_TEST_REQUIRE_SERVERS=1 but TEST_REDIS_URL is not set"
            );
            eprintln!("skipped: TEST_REDIS_URL is not set");
            None
        }
    }
}

/// A Redis pool on `TEST_REDIS_URL`, checked with a PING; `None` when skipped.
pub async fn redis() -> Option<deadpool_redis::Pool> {
    let url = redis_url()?;
    let pool = deadpool_redis::Config::from_url(&url)
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap_or_else(|e| panic!("creating a redis pool for {url}: {e}"));
    let mut conn = tokio::time::timeout(Duration::from_secs(5), pool.get())
        .await
        .unwrap_or_else(|_| panic!("timed out connecting to redis at {url}"))
        .unwrap_or_else(|e| panic!("cannot reach redis at TEST_REDIS_URL={url}: {e}"));
    let pong: String = deadpool_redis::redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("redis at {url} did not answer PING: {e}"));
    assert_eq!(pong, "PONG");
    drop(conn);
    Some(pool)
}

/// Instantiates async test functions `async fn name(db: TestDb)` once per backend, in modules
/// `sqlite` and `postgres`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::TestDb::sqlite().await;
                    super::$name(db).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::TestDb::postgres().await {
                        super::$name(db).await;
                    }
                }
            )+
        }
    };
}
