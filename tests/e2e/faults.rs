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

fn execution_id_of(out: &str) -> uuid::Uuid {
    out.split_whitespace()
        .nth(1)
        .and_then(|w| w.trim_end_matches(':').parse().ok())
        .unwrap_or_else(|| panic!("no execution id in {out:?}"))
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

/// (1) Two workers on a run; the database restarts immediately while partitions are being
/// worked. The run ends `succeeded` with exactly one prediction per series, and no worker
/// exited.
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
    let (ok, out, log) = env.output("horizon-pipeline", &["run"]);
    assert!(ok, "planning failed:\n{log}");
    let execution_id = execution_id_of(&out);

    let store = Store::connect_with(&pg.url(), &PoolOptions::default())
        .await
        .unwrap();
    let mut workers: Vec<_> = (0..2)
        .map(|_| env.spawn("horizon-pipeline", &["worker"]))
        .collect();
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
        assert!(done < parts.len(), "the run finished before the restart");
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
        for w in workers.iter_mut() {
            assert!(
                w.try_wait().is_none(),
                "a worker exited after the restart:\n{}",
                w.log_text()
            );
        }
        assert!(
            Instant::now() < deadline,
            "the run did not end: {e:?}\n{}",
            workers[0].log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{execution:?}\n{}\n{}",
        workers[0].log_text(),
        workers[1].log_text()
    );
    assert_eq!(
        until_ok("counting", || store.count_predictions(Some(execution_id))).await,
        SERIES as u64
    );
    for w in workers.iter_mut() {
        assert!(w.try_wait().is_none(), "a worker exited:\n{}", w.log_text());
        assert!(
            w.terminate(),
            "a worker did not stop on SIGTERM:\n{}",
            w.log_text()
        );
    }
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
    let file = write_series(&env);
    let (ok, log) = env.run("horizon-ingest", &["once", "--file", &file]);
    assert!(ok, "ingest failed:\n{log}");
    let (ok, _, log) = env.output("horizon-pipeline", &["run", "--local", "--series", "r-00"]);
    assert!(ok, "the run failed:\n{log}");
    let key = env.create_key("read");
    let mut api = env.spawn("horizon-api", &[]);
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        wait_healthy(&format!("{base}/healthz"), Duration::from_secs(30)).await,
        "{}",
        api.log_text()
    );
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

/// SIGTERM under load on kept-alive connections: every request the API received is answered
/// (none cut off mid-response, none 5xx), responses during the drain carry `Connection: close`
/// so no kept-alive connection is left to be cut, then new connections are refused and the
/// process exits cleanly. (A connection still in the kernel's accept queue when the listener
/// closes is reset: no server can answer it; a load balancer stops sending when `/readyz`
/// turns 503 at the start of the drain.)
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
    let started = Instant::now();
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (base, key) = (base.clone(), key.clone());
            tokio::spawn(async move {
                // One client each, so each keeps its own connection alive between requests.
                let http = reqwest::Client::new();
                let (mut answered, mut refused, mut lost, mut server_errors) =
                    (0, 0, Vec::new(), 0);
                let mut told_to_close = 0;
                while started.elapsed() < Duration::from_secs(4) {
                    match http
                        .get(format!("{base}/v1/series?limit=5"))
                        .header("X-API-Key", &key)
                        .send()
                        .await
                    {
                        Ok(r) if r.status().is_server_error() => server_errors += 1,
                        Ok(r) => {
                            answered += 1;
                            if r.headers().get("connection").is_some_and(|v| v == "close") {
                                told_to_close += 1;
                            }
                            let _ = r.bytes().await;
                        }
                        Err(e) => {
                            let text = format!("{e:?}");
                            // A response cut off, or a kept-alive connection closed under a
                            // request: a request the server had and did not answer.
                            if text.contains("IncompleteMessage")
                                || text.contains("closed before message completed")
                                || e.is_body()
                                || e.is_decode()
                            {
                                lost.push(text);
                            } else {
                                // Refused or reset at connect: the listener is closed.
                                refused += 1;
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }
                    }
                }
                assert!(
                    told_to_close > 0,
                    "no response said Connection: close while draining"
                );
                (answered, refused, lost, server_errors)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &api.pid().to_string()])
        .status();
    let (mut answered, mut refused, mut lost, mut server_errors) = (0, 0, Vec::new(), 0);
    for c in clients {
        let (a, r, l, s) = c.await.unwrap();
        answered += a;
        refused += r;
        lost.extend(l);
        server_errors += s;
    }
    println!(
        "answered {answered}, refused after the stop {refused}, lost {}",
        lost.len()
    );
    assert!(answered > 0 && refused > 0, "{answered} {refused}");
    assert_eq!(server_errors, 0);
    assert!(lost.is_empty(), "requests without an answer: {lost:#?}");
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
