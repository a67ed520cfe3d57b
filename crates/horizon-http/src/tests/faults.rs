//! The API while what it depends on fails: PostgreSQL unreachable (every connection cut, new
//! ones refused, as in a restart) and Redis frozen (connections accepted, nothing answered, as
//! under SIGSTOP). Both faults are made on the wire between the API and the real server, so the
//! shared servers themselves are never touched.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration as StdDuration, Instant},
};

use tokio::{net::TcpListener as TokioListener, sync::Notify};

use super::*;

/// A TCP relay to `target` that can be cut: cutting closes every relayed connection and
/// closes new ones at once, as a restarting server does; restoring relays again.
struct Relay {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    cut: Arc<Notify>,
}

impl Relay {
    async fn to(target: SocketAddr) -> Relay {
        let listener = TokioListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(Notify::new());
        let (up2, cut2) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::Acquire) {
                    drop(client);
                    continue;
                }
                let cut = cut2.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.notified() => {}
                    }
                });
            }
        });
        Relay { addr, up, cut }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::Release);
        self.cut.notify_waiters();
    }

    fn restore(&self) {
        self.up.store(true, Ordering::Release);
    }
}

/// Requests during a database outage get 200 (what the caches hold: keys verified before,
/// forecasts read before) or 503 with Retry-After, never 500; after the database is back the
/// same server answers 200 again without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_is_answered_honestly() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let mut url = url::Url::parse(&db.url).unwrap();
    let target: SocketAddr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432))
        .parse()
        .unwrap();
    let relay = Relay::to(target).await;
    url.set_port(Some(relay.addr.port())).unwrap();
    let pool = PoolOptions {
        acquire_timeout: StdDuration::from_millis(500),
        ..PoolOptions::default()
    };
    let app = start_at(
        url.as_str(),
        &pool,
        None,
        &[
            ("api_key_cache_secs", json!(1)),
            ("api_rate_limit_per_sec", json!(100_000)),
            ("api_rate_limit_burst", json!(100_000)),
        ],
    )
    .await;
    let (_, read) = app.key("read", None).await;
    seed(&app.store).await;
    let latest = "/v1/series/events-USA/forecasts/latest";
    let forecast: ForecastDto = app.ok(latest, &read).await;
    let by_id = format!("/v1/forecasts/{}", forecast.id);
    app.ok::<ForecastDto>(&by_id, &read).await;

    relay.cut();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let started = Instant::now();
    // Past the key cache's second, so keys are checked against a database that is not there.
    while started.elapsed() < StdDuration::from_millis(2_500) {
        for path in [latest, by_id.as_str(), "/v1/series", "/v1/executions"] {
            let t = Instant::now();
            let resp = app.get(path, &read).await;
            let status = resp.status().as_u16();
            *statuses.entry(status).or_default() += 1;
            match status {
                200 => assert!(
                    path == latest || path == by_id,
                    "{path} answered 200 without a database"
                ),
                503 => {
                    assert!(resp.headers().contains_key("retry-after"), "{path}");
                    problem(resp, 503).await;
                }
                other => panic!("{path} answered {other} during the outage"),
            }
            // Fails fast: the acquire timeout, not the workers' 10 s.
            assert!(t.elapsed() < StdDuration::from_secs(5), "{path} hung");
        }
    }
    eprintln!("statuses during the outage: {statuses:?}");
    assert!(statuses.get(&503).is_some_and(|n| *n > 0), "{statuses:?}");
    // The cached forecasts kept being served.
    let forecast_while_down = app.get(latest, &read).await;
    assert_eq!(forecast_while_down.status(), StatusCode::OK);

    relay.restore();
    let back = Instant::now();
    let mut recovered = false;
    while back.elapsed() < StdDuration::from_secs(20) {
        let resp = app.get("/v1/series", &read).await;
        match resp.status().as_u16() {
            200 => {
                recovered = true;
                break;
            }
            503 => tokio::time::sleep(StdDuration::from_millis(100)).await,
            other => panic!("answered {other} while recovering"),
        }
    }
    assert!(
        recovered,
        "the API did not recover after the database came back"
    );
    for path in [latest, by_id.as_str(), "/v1/series", "/v1/executions"] {
        assert_eq!(
            app.get(path, &read).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
    app.handle.stop(true).await;
}

/// A listener that accepts and holds every connection and answers nothing: a frozen server.
async fn black_hole() -> SocketAddr {
    let hole = TokioListener::bind("127.0.0.1:0").await.unwrap();
    let addr = hole.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = hole.accept().await {
            held.push(s);
        }
    });
    addr
}

/// A Redis that accepts connections and never answers (a frozen process): each request waits
/// at most the Redis deadline, the breaker opens after a few failures, and while it is open no
/// Redis call is made at all (counted), and every request is still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_redis_costs_at_most_the_deadline() {
    let db = TestDb::sqlite().await;
    let hole_addr = black_hole().await;
    let mut cfg = deadpool_redis::Config::from_url(format!("redis://{hole_addr}"));
    cfg.pool = Some(deadpool_redis::PoolConfig::new(4));
    let redis = cfg
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap();
    let deadline_ms = 200;
    let app = start_at(
        &db.url,
        &PoolOptions::default(),
        Some(redis),
        &[
            ("redis_timeout_ms", json!(deadline_ms)),
            // No in-process forecast tier, so every read goes to the (frozen) Redis tier.
            ("api_forecast_cache_mb", json!(0)),
        ],
    )
    .await;
    let (_, read) = app.key("read", None).await;
    let (_, id) = seed(&app.store).await;
    let path = format!("/v1/forecasts/{id}");
    let calls = |text: &str, outcome: &str| -> u64 {
        let prefix = format!("horizon_redis_calls_total{{outcome=\"{outcome}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {outcome} count in {text}"))
    };

    // Until the breaker opens, a request makes at most three Redis calls (rate-limit sync,
    // cache read, cache write), each cut at the deadline.
    for _ in 0..3 {
        let t = Instant::now();
        assert_eq!(app.get(&path, &read).await.status(), StatusCode::OK);
        assert!(
            t.elapsed() < StdDuration::from_millis(3 * deadline_ms + 1_000),
            "a request took {:?}",
            t.elapsed()
        );
    }
    let open = app.metrics().await;
    assert!(
        calls(&open, "failed") >= u64::from(crate::TRIP_AFTER),
        "{open}"
    );
    // Open: requests make no Redis call and do not wait for one.
    let attempted = calls(&open, "attempted");
    for _ in 0..20 {
        let t = Instant::now();
        assert_eq!(app.get(&path, &read).await.status(), StatusCode::OK);
        assert!(
            t.elapsed() < StdDuration::from_millis(deadline_ms),
            "a request took {:?} with the breaker open",
            t.elapsed()
        );
    }
    let after = app.metrics().await;
    assert_eq!(calls(&after, "attempted"), attempted, "{after}");
    assert!(calls(&after, "skipped") >= 20, "{after}");
    // Readiness says so, within the deadline.
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    app.handle.stop(true).await;
}

/// A Redis frozen (or absent) when the API starts delays the start by at most
/// `REDIS_START_WAIT`; the API then serves without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_redis_at_start_does_not_hold_the_api() {
    let db = TestDb::sqlite().await;
    let hole_addr = black_hole().await;
    use figment::providers::Serialized;
    let settings = Arc::new(
        Settings::from_figment(Settings::figment_defaults().merge(Serialized::default(
            "redis_url",
            format!("redis://{hole_addr}"),
        )))
        .unwrap(),
    );
    let store = Store::connect_with(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    let t = Instant::now();
    let state = crate::AppState::open(settings, store).await.unwrap();
    assert!(t.elapsed() < crate::REDIS_START_WAIT + StdDuration::from_secs(2));
    assert!(state.redis.is_some());
}
