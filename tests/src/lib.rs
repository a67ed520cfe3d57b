//! Support for the end-to-end tests: build the real binaries once, run them as OS processes
//! against a test database, capture their logs.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

pub use horizon_test_support::{Backend, TestDb};

#[cfg(test)]
mod architecture;
mod cluster;

pub use cluster::PgCluster;

/// The directory holding the built binaries (`target/debug` or `target/release`), after
/// building them once per test process.
pub fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // The test binary lives in <target>/<profile>/deps/.
        let exe = std::env::current_exe().expect("current exe");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary in <target>/<profile>/deps")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        // The features `cargo test --workspace` resolved (dev-dependencies included: the
        // browser test's WebDriver client turns on a feature of `syn`, which every derive
        // macro is built with): built with the binaries' own, narrower features, every crate
        // above a proc-macro would be compiled a second time (7 of a CI run's minutes). With
        // the test targets selected too they share every artifact of that run.
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet", "--workspace", "--tests", "--bins"])
            .arg("--target-dir")
            .arg(&target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        // cargo gives a test process its package's CARGO_MANIFEST_DIR, CARGO_PKG_* and the
        // like. A build script that watches one of them (ring's watches CARGO_MANIFEST_DIR)
        // would see it differ between this build and one started from a shell, and rebuild
        // everything above it each time the two alternate (3 minutes here).
        for (name, _) in std::env::vars_os() {
            if let Some(name) = name.to_str()
                && (name.starts_with("CARGO_PKG_")
                    || matches!(
                        name,
                        "CARGO_MANIFEST_DIR"
                            | "CARGO_MANIFEST_PATH"
                            | "CARGO_CRATE_NAME"
                            | "CARGO_PRIMARY_PACKAGE"
                            | "CARGO_TARGET_TMPDIR"
                    ))
            {
                cmd.env_remove(name);
            }
        }
        if profile_dir.file_name().and_then(|n| n.to_str()) == Some("release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo build for the binaries");
        assert!(status.success(), "building the binaries failed");
        profile_dir
    })
}

/// A running binary whose stderr goes to a log file.
pub struct Proc {
    /// Name of the binary.
    pub name: String,
    child: Child,
    /// Its log file.
    pub log: PathBuf,
}

/// The environment every process of one test shares.
#[derive(Clone)]
pub struct Env {
    vars: Vec<(String, String)>,
    dir: PathBuf,
}

impl Env {
    /// Settings pointing at `db`, an event store in its directory, JSON logs.
    pub fn for_db(db: &TestDb) -> Self {
        let dir = db.dir.path().to_path_buf();
        Self {
            vars: vec![
                ("DATABASE_URL".into(), db.url.clone()),
                (
                    "HORIZON_EVENT_STORE_PATH".into(),
                    dir.join("events.db").display().to_string(),
                ),
                (
                    "HORIZON_DATA_DIR".into(),
                    dir.join("data").display().to_string(),
                ),
                ("HORIZON_LOG_FORMAT".into(), "json".into()),
                ("HORIZON_DB_MAX_CONNECTIONS".into(), "4".into()),
            ],
            dir,
        }
    }

    /// Settings pointing at the database at `url`, files in `dir`, JSON logs.
    pub fn for_url(url: &str, dir: &Path) -> Self {
        let dir = dir.to_path_buf();
        Self {
            vars: vec![
                ("DATABASE_URL".into(), url.to_owned()),
                (
                    "HORIZON_EVENT_STORE_PATH".into(),
                    dir.join("events.db").display().to_string(),
                ),
                (
                    "HORIZON_DATA_DIR".into(),
                    dir.join("data").display().to_string(),
                ),
                ("HORIZON_LOG_FORMAT".into(), "json".into()),
                ("HORIZON_DB_MAX_CONNECTIONS".into(), "4".into()),
            ],
            dir,
        }
    }

    /// Adds or replaces a variable.
    pub fn set(&mut self, key: &str, value: &str) {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.into(), value.into()));
    }

    /// The test's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts binary `name` with `args`.
    pub fn spawn(&self, name: &str, args: &[&str]) -> Proc {
        let log = self.dir.join(format!(
            "{name}-{}.log",
            Instant::now().elapsed().as_nanos() ^ rand_suffix()
        ));
        let file = std::fs::File::create(&log).expect("creating a log file");
        let mut cmd = Command::new(bin_dir().join(name));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(file));
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Proc {
            name: name.into(),
            child,
            log,
        }
    }

    /// Runs binary `name` to completion; returns its exit success, standard output and log
    /// (standard error) text.
    pub fn output(&self, name: &str, args: &[&str]) -> (bool, String, String) {
        let mut cmd = Command::new(bin_dir().join(name));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("running {name}: {e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Creates an API key with `scopes` through `horizon keys create`; returns the token (the
    /// last line of its output).
    pub fn create_key(&self, scopes: &str) -> String {
        let (ok, out, err) = self.output(
            "horizon",
            &["keys", "create", "--name", "e2e", "--scopes", scopes],
        );
        assert!(ok, "horizon keys create failed:\n{out}\n{err}");
        out.lines().last().unwrap_or_default().trim().to_owned()
    }

    /// Runs binary `name` to completion; returns its exit success and log text.
    pub fn run(&self, name: &str, args: &[&str]) -> (bool, String) {
        let mut p = self.spawn(name, args);
        let ok = p.wait();
        (ok, p.log_text())
    }
}

fn rand_suffix() -> u128 {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as u128
}

impl Proc {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for exit; true on success.
    pub fn wait(&mut self) -> bool {
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }

    /// Whether it has exited, and how.
    pub fn try_wait(&mut self) -> Option<bool> {
        self.child.try_wait().ok().flatten().map(|s| s.success())
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Log lines at ERROR level (JSON logs).
    pub fn error_lines(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|l| l.contains("\"level\":\"ERROR\"") || l.contains("panicked"))
            .map(str::to_owned)
            .collect()
    }

    /// Sends SIGTERM and waits.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(ok) = self.try_wait() {
                return ok;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        false
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.try_wait().is_none() {
            self.kill();
        }
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `url` until it answers 200, for at most `timeout`.
pub async fn wait_healthy(url: &str, timeout: Duration) -> bool {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Counts rows of `table` in the test database.
pub async fn count_rows(db: &TestDb, table: &str) -> i64 {
    try_count(&db.url, table).await.expect("counting rows")
}

/// `SELECT COUNT(*) FROM {from}` on the database at `url` (`from` may carry a `WHERE`), or
/// `None` while that database cannot be reached (tests that stop their own server poll it).
pub async fn try_count(url: &str, from: &str) -> Option<i64> {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let conn = Database::connect(url).await.ok()?;
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {from}"),
        ))
        .await
        .ok()??;
    let n = row.try_get::<i64>("", "n").ok();
    let _ = conn.close().await;
    n
}
