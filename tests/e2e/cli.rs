//! Every binary answers `--help`, `-h` and `--version` and does nothing else: no database file,
//! no migration, no listening socket.

use horizon_e2e::bin_dir;

#[test]
fn help_and_version_have_no_side_effects() {
    let dir = tempfile::tempdir().unwrap();
    for bin in [
        "horizon",
        "horizon-api",
        "horizon-ingest",
        "horizon-pipeline",
    ] {
        for flag in ["--help", "-h", "--version", "-V"] {
            let out = std::process::Command::new(bin_dir().join(bin))
                .arg(flag)
                .current_dir(dir.path())
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{bin} {flag}: {out:?}");
            if flag.contains('V') || flag == "--version" {
                assert!(text.starts_with(&format!("{bin} ")), "{bin} {flag}: {text}");
            } else {
                assert!(text.contains("Usage:"), "{bin} {flag}: {text}");
            }
            let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
            assert!(left.is_empty(), "{bin} {flag} created {left:?}");
        }
    }
}

/// A second `horizon demo` on a port in use fails at once, naming the address, and leaves the
/// running demo and its key working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_demo_keeps_the_first_ones_key() {
    let db = horizon_e2e::TestDb::sqlite().await;
    let mut env = horizon_e2e::Env::for_db(&db);
    let port = horizon_e2e::free_port();
    env.set("HORIZON_API_BIND", &format!("127.0.0.1:{port}"));
    let mut first = env.spawn("horizon", &["demo"]);
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        horizon_e2e::wait_healthy(
            &format!("{base}/healthz"),
            std::time::Duration::from_secs(120)
        )
        .await,
        "{}",
        first.log_text()
    );
    // The demo prints its key on standard output, which spawn discards: make one the same way
    // a user would check theirs, before the second demo runs.
    let key = env.create_key("read");
    let keys_before = horizon_e2e::count_rows(&db, "api_keys").await;
    let (ok, out, err) = env.output("horizon", &["demo"]);
    assert!(!ok, "the second demo did not fail:\n{out}\n{err}");
    assert!(
        err.contains(&format!("HORIZON_API_BIND=127.0.0.1:{port}")) && err.contains("another"),
        "{err}"
    );
    // Nothing revoked or created by the failed demo, and the first one still answers.
    assert_eq!(horizon_e2e::count_rows(&db, "api_keys").await, keys_before);
    let revoked = horizon_e2e::try_count(&db.url, "api_keys WHERE revoked_at IS NOT NULL")
        .await
        .unwrap();
    assert_eq!(revoked, 0, "the failed demo revoked a key");
    let status = reqwest::Client::new()
        .get(format!("{base}/v1/series"))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    assert!(first.try_wait().is_none(), "the first demo stopped");
}

/// The batch CLI as a filter: `-` reads standard input and writes standard output; a file with
/// two rows at one stamp stops the run naming both lines unless `--on-duplicate` says which to
/// keep; an empty file and a backtest that scores nothing fail with the reason.
#[test]
fn the_batch_cli_pipes_and_refuses_what_it_cannot_read() {
    use std::io::Write;
    let run = |args: &[&str], stdin: &str| {
        let mut child = std::process::Command::new(bin_dir().join("horizon"))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let mut csv = String::from("unique_id,ds,y\n");
    for t in 1..=30 {
        csv.push_str(&format!("a,{t},{}\n", 10 + t % 4));
    }
    let forecast = [
        "forecast",
        "--input",
        "-",
        "--horizon",
        "2",
        "--output",
        "-",
    ];
    let (ok, stdout, stderr) = run(&forecast, &csv);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "unique_id,ds,mean,lo-80,hi-80,lo-95,hi-95");
    assert!(
        lines[1].starts_with("a,31,") && lines[2].starts_with("a,32,"),
        "{stdout}"
    );

    let duplicated = format!("{csv}a,5,99\n");
    let (ok, _, stderr) = run(&forecast, &duplicated);
    assert!(!ok);
    assert!(stderr.contains("lines 6 and 32"), "{stderr}");
    let mut mean = forecast.to_vec();
    mean.extend(["--on-duplicate", "mean"]);
    let (ok, _, stderr) = run(&mean, &duplicated);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("1 duplicate rows (their mean kept)"),
        "{stderr}"
    );

    let (ok, _, stderr) = run(&forecast, "");
    assert!(!ok);
    assert!(stderr.contains("the file is empty"), "{stderr}");
    let backtest = [
        "backtest",
        "--input",
        "-",
        "--horizon",
        "40",
        "--output",
        "-",
    ];
    let (ok, stdout, stderr) = run(&backtest, &csv);
    assert!(!ok && stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("no series could be backtested"), "{stderr}");
}
