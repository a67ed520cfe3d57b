//! Fault injection with real processes against a PostgreSQL cluster the test owns, restarted
//! with `pg_ctl -m immediate` (every connection cut, as in a server crash) while the processes
//! work: pipeline workers finish the run without exiting; the API answers only 200 or 503 and
//! recovers without a restart, serving cached forecasts throughout.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    time::{Duration, Instant},
};

use horizon_domain::ExecutionStatus;
use horizon_e2e::{Env, PgCluster, free_port, wait_healthy};
use horizon_store::{PoolOptions, Store};

const SERIES: usize = 200;
const DAYS: i64 = 400;

fn write_series(env: &Env) -> String {
    let mut csv = String::from("unique_id,ds,y\n");
    let start = 20_089; // 2025-01-01 in days since the epoch
    for s in 0..SERIES {
        for d in 0..DAYS {
            let y = 100.0 + 10.0 * ((d % 7) as f64) + 0.05 * d as f64 + s as f64;
            let _ = writeln!(csv, "r-{s:03},{},{y}", (start + d) * 86_400);
        }
    }
    let file = env.dir().join("series.csv");
    std::fs::write(&file, csv).unwrap();
    file.display().to_string()
}

/// Ingests the series, forecasts those starting `r-00`, makes a read key and starts
/// `horizon-api` on `port`; returns the process, the key and the base URL.
async fn forecast_and_serve(env: &Env, port: u16) -> (horizon_e2e::Proc, String, String) {
    let file = write_series(env);
    let (ok, log) = env.run("horizon-ingest", &["once", "--file", &file]);
    assert!(ok, "ingest failed:\n{log}");
    let (ok, _, log) = env.output("horizon-pipeline", &["run", "--local", "--series", "r-00"]);
    assert!(ok, "the run failed:\n{log}");
    let key = env.create_key("read");
    let api = env.spawn("horizon-api", &[]);
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        wait_healthy(&format!("{base}/healthz"), Duration::from_secs(30)).await,
        "{}",
        api.log_text()
    );
    (api, key, base)
}

/// A store whose every call is retried while the test's own database is away.
async fn until_ok<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, horizon_store::StoreError>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) if Instant::now() < deadline => {
                eprintln!("{what}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// (1) Two workers on a run — `horizon-pipeline run --wait`, which plans the run and works it,
/// and a `horizon-pipeline worker` — and the database restarts immediately while partitions are
/// being worked. The run ends `succeeded` with exactly one prediction per series, no process
/// exited early, and `run --wait` reports the success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_survive_a_database_restart() {
    let Some(pg) = PgCluster::start() else {
        return;
    };
    let mut env = Env::for_url(&pg.url(), pg.dir());
    env.set("HORIZON_PIPELINE_PARTITION_SIZE", "10");
    env.set("HORIZON_PIPELINE_LEASE_SECS", "4");
    env.set("HORIZON_PIPELINE_STALL_SECS", "600");
    let file = write_series(&env);
    let (ok, log) = env.run("horizon-ingest", &["once", "--file", &file]);
    assert!(ok, "ingest failed:\n{log}");

    let store = Store::connect_with(&pg.url(), &PoolOptions::default())
        .await
        .unwrap();
    let mut run = env.spawn("horizon-pipeline", &["run", "--wait"]);
    let mut worker = env.spawn("horizon-pipeline", &["worker"]);
    // The run `run --wait` planned.
    let deadline = Instant::now() + Duration::from_secs(60);
    let execution_id = loop {
        assert!(
            Instant::now() < deadline,
            "no run was planned:\n{}",
            run.log_text()
        );
        let runs = store
            .list_executions(None, 5)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.kind == horizon_domain::ExecutionKind::Pipeline);
        if let Some(e) = runs {
            break e.id;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // Restart once some partitions are done and others are not.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "no partition finished");
        let parts = store.partitions(execution_id).await.unwrap();
        let done = parts
            .iter()
            .filter(|p| p.status == ExecutionStatus::Succeeded)
            .count();
        if done >= 1 && done < parts.len() / 2 {
            break;
        }
        assert!(
            parts.is_empty() || done < parts.len(),
            "the run finished before the restart"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    pg.restart_immediate();
    assert!(pg.wait_ready(Duration::from_secs(30)));

    let deadline = Instant::now() + Duration::from_secs(300);
    let execution = loop {
        let e = until_ok("reading the run", || store.execution(execution_id)).await;
        if e.status.is_terminal() {
            break e;
        }
        assert!(
            worker.try_wait().is_none(),
            "the worker exited after the restart:\n{}",
            worker.log_text()
        );
        assert!(
            run.try_wait().is_none(),
            "run --wait exited before the run ended:\n{}",
            run.log_text()
        );
        assert!(
            Instant::now() < deadline,
            "the run did not end: {e:?}\n{}",
            worker.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{execution:?}\n{}\n{}",
        run.log_text(),
        worker.log_text()
    );
    assert_eq!(
        until_ok("counting", || store.count_predictions(Some(execution_id))).await,
        SERIES as u64
    );
    assert!(
        run.wait(),
        "run --wait did not report success:\n{}",
        run.log_text()
    );
    assert!(
        worker.try_wait().is_none(),
        "the worker exited:\n{}",
        worker.log_text()
    );
    assert!(
        worker.terminate(),
        "the worker did not stop on SIGTERM:\n{}",
        worker.log_text()
    );
}

/// (2) Requests to the API while its database restarts: only 200 and 503 (with Retry-After),
/// the cached forecast served throughout, and 200s again after the restart, from the same
/// process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_through_a_database_restart() {
    let Some(pg) = PgCluster::start() else {
        return;
    };
    let mut env = Env::for_url(&pg.url(), pg.dir());
    let port = free_port();
    env.set("HORIZON_API_BIND", &format!("127.0.0.1:{port}"));
    env.set("HORIZON_API_DB_ACQUIRE_TIMEOUT_MS", "500");
    env.set("HORIZON_API_RATE_LIMIT_PER_SEC", "100000");
    env.set("HORIZON_API_RATE_LIMIT_BURST", "100000");
    let (mut api, key, base) = forecast_and_serve(&env, port).await;
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("{base}{path}"))
            .header("X-API-Key", &key)
            .send()
    };
    let latest = "/v1/series/r-001/forecasts/latest";
    assert_eq!(
        get(latest).await.unwrap().status(),
        200,
        "{}",
        api.log_text()
    );

    // Requests run on while the server restarts (and for a while after).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (http, base, key, stop) = (http.clone(), base.clone(), key.clone(), stop.clone());
        tokio::spawn(async move {
            let mut statuses: BTreeMap<(String, u16), usize> = BTreeMap::new();
            let mut bad = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                for path in [latest, "/v1/series?limit=5", "/v1/executions?limit=5"] {
                    match http
                        .get(format!("{base}{path}"))
                        .header("X-API-Key", &key)
                        .send()
                        .await
                    {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            if status == 503 && !r.headers().contains_key("retry-after") {
                                bad.push(format!("{path}: 503 without Retry-After"));
                            }
                            *statuses.entry((path.to_owned(), status)).or_default() += 1;
                        }
                        Err(e) => bad.push(format!("{path}: {e}")),
                    }
                }
            }
            (statuses, bad)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    pg.stop();
    // Down for a while, so the outage is seen by every route.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = get(latest).await.unwrap();
    assert_eq!(during.status(), 200, "the cached forecast was not served");
    pg.start_again();
    assert!(pg.wait_ready(Duration::from_secs(30)));
    // Recovery: every route answers 200 again without restarting the API.
    let back = Instant::now();
    let mut recovered = None;
    while back.elapsed() < Duration::from_secs(30) {
        if get("/v1/series?limit=5").await.unwrap().status() == 200
            && get("/v1/executions?limit=5").await.unwrap().status() == 200
        {
            recovered = Some(back.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Release);
    let (statuses, bad) = load.await.unwrap();
    println!("requests by status through the restart: {statuses:?}; recovered after {recovered:?}");
    assert!(
        recovered.is_some(),
        "the API did not recover:\n{}",
        api.log_text()
    );
    assert!(bad.is_empty(), "{bad:#?}");
    for (path, status) in statuses.keys() {
        assert!(
            *status == 200 || *status == 503,
            "{path} answered {status} during the restart: {statuses:?}\n{}",
            api.log_text()
        );
        if path == latest {
            assert_eq!(
                *status, 200,
                "the cached forecast was not served: {statuses:?}"
            );
        }
    }
    assert!(
        statuses.iter().any(|((_, s), _)| *s == 503),
        "the outage was never seen: {statuses:?}"
    );
    assert!(api.try_wait().is_none(), "the API exited");
    assert!(api.terminate());
}

/// SIGTERM under load on kept-alive connections. Each client behaves as a load balancer does:
/// it sends requests back to back until a response says `Connection: close` (the drain), then
/// stops sending. Every request sent before that is answered (none cut off, none 5xx), every
/// client is told within the drain, a request after the drain finds the listener closed, and
/// the process exits cleanly. (Before the drain existed, requests on kept-alive connections
/// were cut off at the stop with no warning.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_without_losing_requests() {
    let db = horizon_e2e::TestDb::sqlite().await;
    let mut env = Env::for_db(&db);
    let port = free_port();
    env.set("HORIZON_API_BIND", &format!("127.0.0.1:{port}"));
    env.set("HORIZON_API_RATE_LIMIT_PER_SEC", "100000");
    env.set("HORIZON_API_RATE_LIMIT_BURST", "100000");
    env.set("HORIZON_SHUTDOWN_GRACE_SECS", "10");
    let key = env.create_key("read");
    let mut api = env.spawn("horizon-api", &[]);
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        wait_healthy(&format!("{base}/healthz"), Duration::from_secs(30)).await,
        "{}",
        api.log_text()
    );
    let signalled = std::sync::Arc::new(std::sync::OnceLock::<Instant>::new());
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (base, key, signalled) = (base.clone(), key.clone(), signalled.clone());
            tokio::spawn(async move {
                // One client each, so each keeps its own connection alive between requests.
                let http = reqwest::Client::new();
                let (mut answered, mut lost, mut server_errors) = (0, Vec::new(), 0);
                let mut told_after = None;
                let started = Instant::now();
                while told_after.is_none() && started.elapsed() < Duration::from_secs(10) {
                    match http
                        .get(format!("{base}/v1/series?limit=5"))
                        .header("X-API-Key", &key)
                        .send()
                        .await
                    {
                        Ok(r) => {
                            if r.status().is_server_error() {
                                server_errors += 1;
                            }
                            answered += 1;
                            if r.headers().get("connection").is_some_and(|v| v == "close") {
                                told_after = signalled.get().map(|t| t.elapsed());
                            }
                            let _ = r.bytes().await;
                        }
                        Err(e) => lost.push(format!("{e:?}")),
                    }
                }
                (answered, told_after, lost, server_errors)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let _ = signalled.set(Instant::now());
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &api.pid().to_string()])
        .status();
    let (mut answered, mut lost, mut server_errors) = (0, Vec::new(), 0);
    for c in clients {
        let (a, told_after, l, s) = c.await.unwrap();
        answered += a;
        lost.extend(l);
        server_errors += s;
        let told_after = told_after.expect("a client was never told to close its connection");
        // Told within the drain (1 s), long before the stop.
        assert!(
            told_after < Duration::from_secs(1),
            "told after {told_after:?}"
        );
    }
    println!("answered {answered}, lost {}", lost.len());
    assert!(answered > 0);
    assert_eq!(server_errors, 0);
    assert!(lost.is_empty(), "requests without an answer: {lost:#?}");
    // After the drain the listener is closed.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let late = reqwest::Client::new()
        .get(format!("{base}/v1/series?limit=5"))
        .header("X-API-Key", &key)
        .send()
        .await;
    assert!(
        late.is_err_and(|e| e.is_connect()),
        "a request after the drain was accepted"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let exited = loop {
        if let Some(ok) = api.try_wait() {
            break ok;
        }
        assert!(Instant::now() < deadline, "the API did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exited, "the API did not exit cleanly:\n{}", api.log_text());
}

/// A redis-server of the test's own, on a free port, stopped on drop.
struct OwnRedis {
    child: std::process::Child,
    port: u16,
}

impl OwnRedis {
    fn start() -> Option<OwnRedis> {
        let port = free_port();
        let child = match std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    !horizon_test_support::require_servers(),
                    "redis-server is required: {e}"
                );
                eprintln!("skipped: no redis-server ({e})");
                return None;
            }
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(OwnRedis { child, port })
    }

    fn signal(&self, sig: &str) {
        let _ = std::process::Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {metrics}"))
}

/// (3) Redis frozen with SIGSTOP under the real horizon-api: requests complete within the Redis
/// timeout setting, and once the breaker is open no Redis call is made (counted in /metrics);
/// (4) an unknown key id asked again is answered from the negative cache without a database
/// read (counted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_redis_and_made_up_keys_cost_nothing() {
    let Some(redis) = OwnRedis::start() else {
        return;
    };
    let db = horizon_e2e::TestDb::sqlite().await;
    let mut env = Env::for_db(&db);
    let port = free_port();
    let timeout_ms = 250u64;
    env.set("HORIZON_API_BIND", &format!("127.0.0.1:{port}"));
    env.set("REDIS_URL", &format!("redis://127.0.0.1:{}", redis.port));
    env.set("HORIZON_REDIS_TIMEOUT_MS", &timeout_ms.to_string());
    env.set("HORIZON_API_KEY_CACHE_SECS", "60");
    // Every forecast read goes to the Redis tier (no in-process tier).
    env.set("HORIZON_API_FORECAST_CACHE_MB", "0");
    let (mut api, key, base) = forecast_and_serve(&env, port).await;
    let http = reqwest::Client::new();
    let metrics = || async {
        http.get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let latest: serde_json::Value = http
        .get(format!("{base}/v1/series/r-001/forecasts/latest"))
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let by_id = format!("{base}/v1/forecasts/{}", latest["id"].as_str().unwrap());

    // (4) One made-up key, five times: one database lookup.
    let stranger = horizon_http::generate_key().token;
    let before = counter(&metrics().await, "horizon_api_key_lookups_total");
    for _ in 0..5 {
        let r = http
            .get(format!("{base}/v1/series"))
            .header("X-API-Key", &stranger)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let after = counter(&metrics().await, "horizon_api_key_lookups_total");
    assert_eq!(after - before, 1, "the negative cache was not used");

    // (3) Redis frozen.
    redis.signal("-STOP");
    let get = || http.get(&by_id).header("X-API-Key", &key).send();
    // Until the breaker opens, a request makes at most three Redis calls, each cut at the
    // deadline.
    for _ in 0..3 {
        let t = Instant::now();
        assert_eq!(get().await.unwrap().status(), 200);
        assert!(
            t.elapsed() < Duration::from_millis(3 * timeout_ms + 1_000),
            "{:?}",
            t.elapsed()
        );
    }
    let open = metrics().await;
    let attempted = counter(&open, "horizon_redis_calls_total{outcome=\"attempted\"}");
    let failed = counter(&open, "horizon_redis_calls_total{outcome=\"failed\"}");
    assert!(failed >= 3, "{open}");
    for _ in 0..20 {
        let t = Instant::now();
        assert_eq!(get().await.unwrap().status(), 200);
        assert!(
            t.elapsed() < Duration::from_millis(timeout_ms),
            "a request took {:?} with Redis frozen and the breaker open",
            t.elapsed()
        );
    }
    let later = metrics().await;
    assert_eq!(
        counter(&later, "horizon_redis_calls_total{outcome=\"attempted\"}"),
        attempted,
        "Redis was called with the breaker open: {later}"
    );
    assert!(counter(&later, "horizon_redis_calls_total{outcome=\"skipped\"}") >= 20);
    redis.signal("-CONT");
    assert!(api.try_wait().is_none(), "the API exited");
    assert!(api.terminate());
}
