//! A PostgreSQL cluster of a test's own (`initdb` + `pg_ctl` on a free port, as user
//! `postgres`), so a test can restart or stop its database without touching the shared server.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

/// A private cluster, stopped and deleted on drop.
pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    root: tempfile::TempDir,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

/// The directory of `initdb` and `pg_ctl`: `PG_BIN` when set, else the newest
/// `/usr/lib/postgresql/*/bin`.
fn pg_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl PgCluster {
    /// Starts a new cluster; `None` when PostgreSQL's server binaries are not installed (and
    /// the test suite does not require servers: then it panics).
    pub fn start() -> Option<PgCluster> {
        let Some(bin) = pg_bin() else {
            assert!(
                !horizon_test_support::require_servers(),
                "PostgreSQL server binaries (initdb, pg_ctl) are required: install postgresql \
                 or set PG_BIN"
            );
            eprintln!("skipped: no initdb found (set PG_BIN)");
            return None;
        };
        let root = tempfile::Builder::new()
            .prefix("horizon-pg-")
            .tempdir()
            .expect("a temporary directory");
        let data = root.path().join("data");
        std::fs::create_dir(&data).expect("creating the data directory");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(root.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown of the cluster directory failed");
        }
        let cluster = PgCluster {
            bin,
            data,
            port: crate::free_port(),
            root,
        };
        cluster.pg(
            "initdb",
            &[
                "-D",
                &cluster.data.display().to_string(),
                "--auth=trust",
                "--username=postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        cluster.pg_ctl(&["start"]);
        Some(cluster)
    }

    /// Runs a PostgreSQL tool as user `postgres` (initdb refuses root), failing the test when
    /// it fails.
    fn pg(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .current_dir(self.root.path())
            .output()
            .unwrap_or_else(|e| panic!("running {tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    fn pg_ctl(&self, action: &[&str]) {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.root.path().display()
        );
        let data = self.data.display().to_string();
        let log = self.log_path().display().to_string();
        let mut args = vec!["-D", &data, "-l", &log, "-w", "-t", "60", "-o", &opts];
        args.extend_from_slice(action);
        self.pg("pg_ctl", &args);
    }

    fn log_path(&self) -> PathBuf {
        self.root.path().join("postgres.log")
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A directory for the test's other files (logs, event store).
    pub fn dir(&self) -> &Path {
        self.root.path()
    }

    /// `pg_ctl restart -m immediate`: every connection is cut without a goodbye, as in a crash
    /// of the server, and it starts again (crash recovery included).
    pub fn restart_immediate(&self) {
        self.pg_ctl(&["-m", "immediate", "restart"]);
    }

    /// Stops the server (`-m immediate`).
    pub fn stop(&self) {
        self.pg_ctl(&["-m", "immediate", "stop"]);
    }

    /// Starts a stopped server.
    pub fn start_again(&self) {
        self.pg_ctl(&["start"]);
    }

    /// Waits until the server accepts connections (at most `timeout`).
    pub fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        let exe = self.bin.join("pg_ctl");
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let _ = cmd
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}
