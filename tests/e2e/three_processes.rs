//! Ingest and pipeline write while the API reads, all against one database.

use std::{fmt::Write as _, time::Duration};

use horizon_e2e::{Env, TestDb, count_rows, free_port, wait_healthy};
use horizon_test_support::both_backends;

const SERIES: usize = 24;
const DAYS: usize = 150;
const FILES: usize = 4;

fn write_files(env: &Env) -> Vec<String> {
    let start = 20_454; // 2026-01-01 in days since the epoch
    let mut paths = Vec::new();
    for f in 0..FILES {
        let mut csv = String::from("unique_id,ds,y\n");
        for s in (0..SERIES).filter(|s| s % FILES == f) {
            for d in 0..DAYS {
                let secs = (start + d as i64) * 86_400;
                let y = 50.0 + 10.0 * ((d % 7) as f64) + s as f64;
                let _ = writeln!(csv, "series-{s:02},{secs},{y}");
            }
        }
        // one malformed row per file, between good ones
        csv.push_str("series-00,yesterday,1\n");
        let path = env.dir().join(format!("part-{f}.csv"));
        std::fs::write(&path, csv).expect("writing a test file");
        paths.push(path.display().to_string());
    }
    paths
}

async fn three_binaries_share_one_database(db: TestDb) {
    let mut env = Env::for_db(&db);
    let port = free_port();
    env.set("HORIZON_API_BIND", &format!("127.0.0.1:{port}"));
    let files = write_files(&env);
    let base = format!("http://127.0.0.1:{port}");

    let mut api = env.spawn("horizon-api", &[]);
    assert!(
        wait_healthy(&format!("{base}/healthz"), Duration::from_secs(60)).await,
        "api did not become healthy: {}",
        api.log_text()
    );

    // ingest (one process per file, one after another) and the pipeline run at the same time,
    // while the API is read continuously
    let ingest_env = env.clone();
    let ingest = tokio::task::spawn_blocking(move || {
        files
            .iter()
            .map(|f| ingest_env.run("horizon-ingest", &["once", "--file", f]))
            .collect::<Vec<_>>()
    });
    let pipe_env = env.clone();
    let pipeline = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(300));
        pipe_env.run("horizon-pipeline", &["run", "--wait"])
    });
    let key = env.create_key("read");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", key.parse().unwrap());
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let mut reads = 0;
    while !(ingest.is_finished() && pipeline.is_finished()) {
        let r = client
            .get(format!("{base}/v1/series?limit=500"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "read during writes failed");
        reads += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reads > 0);
    for (ok, log) in ingest.await.unwrap() {
        assert!(ok, "ingest failed:\n{log}");
        assert!(
            !log.contains("\"level\":\"ERROR\""),
            "ingest logged an error:\n{log}"
        );
        assert!(
            log.contains("record rejected"),
            "the malformed row was not reported:\n{log}"
        );
    }
    let (ok, log) = pipeline.await.unwrap();
    assert!(
        ok && !log.contains("\"level\":\"ERROR\""),
        "pipeline:\n{log}"
    );

    // a second pipeline run after all data landed: every series gets a forecast
    let (ok, log) = env.run("horizon-pipeline", &["run", "--wait"]);
    assert!(
        ok && !log.contains("\"level\":\"ERROR\""),
        "pipeline:\n{log}"
    );

    assert_eq!(count_rows(&db, "series").await, SERIES as i64);
    assert_eq!(
        count_rows(&db, "observations").await,
        (SERIES * DAYS) as i64
    );
    assert_eq!(count_rows(&db, "ingest_rejections").await, FILES as i64);
    assert_eq!(count_rows(&db, "ingest_runs").await, FILES as i64);
    let page: serde_json::Value = client
        .get(format!("{base}/v1/series?limit=500"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), SERIES);
    for item in items {
        let key = item["key"].as_str().unwrap();
        let r = client
            .get(format!("{base}/v1/series/{key}/forecasts/latest"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "no forecast for {key}");
        let f: serde_json::Value = r.json().await.unwrap();
        assert_eq!(f["horizon"], 14);
        assert_eq!(f["series_key"], key);
    }

    assert!(api.terminate(), "api did not stop cleanly on SIGTERM");
    let errors = api.error_lines();
    assert!(errors.is_empty(), "api logged errors: {errors:#?}");
}

both_backends!(three_binaries_share_one_database);
