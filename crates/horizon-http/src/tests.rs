//! The real server on a real port, on both backends: SQLite without Redis, PostgreSQL with
//! Redis (when `TEST_REDIS_URL` is set).

use std::{net::TcpListener, sync::Arc};

use chrono::{Duration, TimeZone, Utc};
use horizon_domain::*;
use horizon_dto::*;
use horizon_settings::Settings;
use horizon_store::{NewApiKey, NewPrediction, NewStep, PoolOptions, Store};
use horizon_test_support::{Backend, TestDb, both_backends};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{AppState, generate_key};

struct Running {
    base: String,
    store: Store,
    http: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
}

/// Starts the server with settings overrides given as `(key, value)` pairs.
async fn start_with(db: &TestDb, overrides: &[(&str, Value)]) -> Running {
    let redis = match db.backend {
        Backend::Postgres => horizon_test_support::redis().await,
        Backend::Sqlite => None,
    };
    start_at(&db.url, &PoolOptions::default(), redis, overrides).await
}

/// Starts the server on the database at `url` with `pool` options and an optional Redis pool.
async fn start_at(
    url: &str,
    pool: &PoolOptions,
    redis: Option<horizon_store::cache::RedisPool>,
    overrides: &[(&str, Value)],
) -> Running {
    let store = Store::connect_with(url, pool).await.unwrap();
    // As horizon-api does at start: jobs are queued on PostgreSQL.
    horizon_services::queue::install(&store).await.unwrap();
    use figment::providers::Serialized;
    let mut figment =
        Settings::figment_defaults().merge(Serialized::default("api_key_cache_secs", 0));
    for (k, v) in overrides {
        figment = figment.merge(Serialized::default(k, v.clone()));
    }
    let settings = Arc::new(Settings::from_figment(figment).unwrap());
    let state = AppState::with_redis(settings, store.clone(), redis);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = crate::server(state, listener).unwrap();
    let handle = server.handle();
    tokio::spawn(server);
    Running {
        base,
        store,
        http: reqwest::Client::new(),
        handle,
    }
}

async fn start(db: &TestDb) -> Running {
    start_with(db, &[]).await
}

impl Running {
    async fn key(&self, scopes: &str, expires_at: Option<Timestamp>) -> (Uuid, String) {
        let k = generate_key();
        let r = self
            .store
            .create_api_key(NewApiKey {
                name: format!("test {scopes}"),
                prefix: k.key_id,
                secret_hash: k.secret_hash,
                scopes: scopes.parse().unwrap(),
                expires_at,
            })
            .await
            .unwrap();
        (r.id, k.token)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.header("X-API-Key", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// The Prometheus text of `/metrics`.
    async fn metrics(&self) -> String {
        self.call(Method::GET, "/metrics", None, None)
            .await
            .text()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str, key: &str) -> reqwest::Response {
        self.call(Method::GET, path, Some(key), None).await
    }

    async fn ok<T: serde::de::DeserializeOwned>(&self, path: &str, key: &str) -> T {
        let resp = self.get(path, key).await;
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "GET {path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: {e}: {text}"))
    }
}

async fn problem(resp: reqwest::Response, status: u16) -> Problem {
    let got = resp.status().as_u16();
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    let text = resp.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    assert_eq!(ct, "application/problem+json", "{text}");
    let p: Problem = serde_json::from_str(&text).unwrap();
    assert_eq!(p.status, status);
    assert!(p.kind.starts_with("https://horizon.dev/problems/"), "{p:?}");
    p
}

fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap()
}

async fn seed(store: &Store) -> (Series, Uuid) {
    let s = store
        .upsert_series(&SeriesMeta {
            key: SeriesKey::parse("events-USA").unwrap(),
            entity: "USA".into(),
            metric: "event_count".into(),
            frequency: Some(Frequency::Days(1)),
            unit: None,
            bounds: Bounds::NON_NEGATIVE,
            tags: Default::default(),
            attributes: Default::default(),
            thresholds: vec![horizon_domain::Threshold::above(3.5)],
        })
        .await
        .unwrap();
    let levels = QuantileLevels::new(vec![0.025, 0.1, 0.5, 0.9, 0.975]).unwrap();
    let paths: Vec<Vec<f64>> = [1.0, 2.0, 3.0, 4.0, 5.0]
        .iter()
        .map(|v| vec![*v; 3])
        .collect();
    store
        .insert_predictions(&[NewPrediction {
            series_id: s.id,
            execution_id: None,
            kind: ForecastKind::Scheduled,
            entity: "USA".into(),
            issued_at: t0(),
            first_target_at: t0(),
            frequency: Frequency::Days(1),
            quantile_levels: levels,
            matrix: ForecastMatrix::from_paths(&[3.0; 3], &paths).unwrap(),
            members: vec![EnsembleMember {
                model: "ets".into(),
                weight: 1.0,
                reason: "only member".into(),
            }],
            calibration: json!({"source": "test"}),
            thresholds: vec![ThresholdProbability {
                threshold: 3.5,
                direction: Default::default(),
                per_step: vec![0.3; 3],
                any_step: 0.6,
            }],
            warnings: vec![horizon_domain::ForecastWarning::new(
                horizon_domain::WarningKind::GapsFilled,
                "2 missing values imputed",
            )],
            member_forecasts: vec![],
            covariates: vec![],
        }])
        .await
        .unwrap();
    let id = store.latest_prediction(s.id).await.unwrap().id;
    (s, id)
}

async fn auth_rules(db: TestDb) {
    let app = start(&db).await;
    seed(&app.store).await;
    let (_, read) = app.key("read", None).await;
    let (_, write) = app.key("write", None).await;
    let (_, admin) = app.key("admin", None).await;
    let (revoked_id, revoked) = app.key("read", None).await;
    let (_, expired) = app
        .key("read", Some(Utc::now() - Duration::minutes(1)))
        .await;

    // Open paths.
    for path in [
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/docs",
        "/",
        "/metrics",
    ] {
        let resp = app.call(Method::GET, path, None, None).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }

    // 401s.
    let p = problem(app.call(Method::GET, "/v1/series", None, None).await, 401).await;
    assert!(p.detail.contains("X-API-Key"), "{p:?}");
    let p = problem(app.get("/v1/series", "hzn_nonsense").await, 401).await;
    assert!(p.detail.contains("malformed"), "{p:?}");
    // Well-formed, right checksum, unknown key id.
    let stranger = generate_key().token;
    problem(app.get("/v1/series", &stranger).await, 401).await;
    // Known key id, wrong secret (checksum recomputed so only the secret differs).
    let parts: Vec<&str> = read.split('_').collect();
    let body = format!("hzn_{}_{}", parts[1], "0".repeat(64));
    let forged = format!("{body}_{:08x}", crc32fast::hash(body.as_bytes()));
    let p = problem(app.get("/v1/series", &forged).await, 401).await;
    assert!(p.detail.contains("not valid"), "{p:?}");
    app.store.revoke_api_key(revoked_id).await.unwrap();
    let p = problem(app.get("/v1/series", &revoked).await, 401).await;
    assert!(p.detail.contains("revoked"), "{p:?}");
    let p = problem(app.get("/v1/series", &expired).await, 401).await;
    assert!(p.detail.contains("expired"), "{p:?}");

    // Scopes: admin ⊇ write ⊇ read.
    assert_eq!(app.get("/v1/series", &read).await.status(), StatusCode::OK);
    let body = json!({"entity": "USA", "metric": "m"});
    let p = problem(
        app.call(
            Method::PUT,
            "/v1/series/x1",
            Some(&read),
            Some(body.clone()),
        )
        .await,
        403,
    )
    .await;
    assert!(p.detail.contains("write"), "{p:?}");
    let resp = app
        .call(Method::PUT, "/v1/series/x1", Some(&write), Some(body))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    problem(app.get("/v1/keys", &write).await, 403).await;
    let keys: ApiKeyList = app.ok("/v1/keys", &admin).await;
    assert_eq!(keys.items.len(), 5);
    assert!(
        keys.items
            .iter()
            .all(|k| !admin.contains(&k.id.to_string())),
        "listing shows no secrets"
    );

    // Bearer works too.
    let resp = app
        .http
        .get(format!("{}/v1/series", app.base))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // The secret is nowhere in the database, only its hash.
    let secret = read.split('_').nth(2).unwrap();
    for k in app.store.list_api_keys().await.unwrap() {
        assert!(!k.secret_hash.contains(secret) && !k.prefix.contains(secret));
    }
    app.handle.stop(true).await;
}

async fn resources(db: TestDb) {
    let app = start_with(&db, &[("api_max_body_bytes", json!(SMALL_BODY))]).await;
    let (series, forecast_id) = seed(&app.store).await;
    let (_, key) = app.key("write", None).await;
    let k = key.as_str();

    // Series: create, replace, patch, get, list with cursor pagination.
    let resp = app
        .call(
            Method::PUT,
            "/v1/series/plant-7",
            Some(k),
            Some(
                json!({"entity": "DEU", "metric": "power_mw", "frequency": "1h",
                "lower_bound": 0.0, "upper_bound": 50.0, "tags": {"site": "north"}}),
            ),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.headers()["location"], "/v1/series/plant-7");
    let resp = app
        .call(
            Method::PUT,
            "/v1/series/plant-7",
            Some(k),
            Some(json!({"entity": "DEU", "metric": "power_mw", "frequency": "1h"})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let patched: SeriesDto = app
        .call(
            Method::PATCH,
            "/v1/series/plant-7",
            Some(k),
            Some(json!({"upper_bound": 60.0, "tags": {"owner": "ops"}})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched.upper_bound, Some(60.0));
    assert_eq!(patched.tags["owner"], "ops");
    assert!(patched.thresholds.is_empty());
    // Thresholds: a typed list, replaced whole by a patch, each checked; the old tag refused.
    let patched: SeriesDto = app
        .call(
            Method::PATCH,
            "/v1/series/plant-7",
            Some(k),
            Some(json!({"thresholds": [{"value": 45.0}, {"value": 2, "direction": "below"}]})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&patched.thresholds).unwrap(),
        json!([{"value": 45.0, "direction": "above"}, {"value": 2.0, "direction": "below"}])
    );
    for (body, needle) in [
        (json!({"thresholds": [{"value": 1}, {"value": 1}]}), "twice"),
        (
            json!({"thresholds": [{"value": 1, "direction": "sideways"}]}),
            "sideways",
        ),
        (json!({"thresholds": [{"value": "high"}]}), "expected f64"),
        (
            json!({"tags": {"thresholds": "16;18"}}),
            "field `thresholds`",
        ),
    ] {
        let resp = app
            .call(
                Method::PATCH,
                "/v1/series/plant-7",
                Some(k),
                Some(body.clone()),
            )
            .await;
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(
            status.is_client_error() && text.contains(needle),
            "{body}: {status} {text}"
        );
    }
    let got: SeriesDto = app.ok("/v1/series/plant-7", k).await;
    assert_eq!(got, patched);
    let page: SeriesPageDto = app.ok("/v1/series?limit=1", k).await;
    assert_eq!(page.items[0].key, "events-USA");
    let cursor = page.next_cursor.unwrap();
    let page: SeriesPageDto = app
        .ok(&format!("/v1/series?limit=1&cursor={cursor}"), k)
        .await;
    assert_eq!(page.items[0].key, "plant-7");
    assert!(page.next_cursor.is_none());
    let page: SeriesPageDto = app.ok("/v1/series?entity=DEU", k).await;
    assert_eq!(page.items.len(), 1);
    // search and filters, on the server
    let keys = |page: SeriesPageDto| page.items.into_iter().map(|s| s.key).collect::<Vec<_>>();
    assert_eq!(keys(app.ok("/v1/series?q=NT-7", k).await), ["plant-7"]);
    assert_eq!(keys(app.ok("/v1/series?q=usa", k).await), ["events-USA"]);
    assert_eq!(
        keys(app.ok("/v1/series?metric=power_mw&q=de", k).await),
        ["plant-7"]
    );
    assert!(keys(app.ok("/v1/series?q=%25", k).await).is_empty());
    assert!(keys(app.ok("/v1/series?q=events_USA", k).await).is_empty());
    assert!(keys(app.ok("/v1/series?class=lumpy", k).await).is_empty());
    let long = format!("/v1/series?q={}", "a".repeat(201));
    let p = problem(app.get(&long, k).await, 400).await;
    assert!(p.detail.contains("200 characters"), "{p:?}");
    for path in [
        "/v1/series?q=a%00b",
        "/v1/series?metric=%0A",
        "/v1/series?entity=%00",
    ] {
        let p = problem(app.get(path, k).await, 400).await;
        assert!(p.detail.contains("control character"), "{path}: {p:?}");
    }

    // Observations: bulk write, range read, ISO-week resampling.
    let items: Vec<Value> = (0..14)
        .map(|d| json!({"ts": (t0() + Duration::days(d)).to_rfc3339(), "value": d as f64}))
        .collect();
    let w: WriteResult = app
        .call(
            Method::POST,
            "/v1/series/events-USA/observations",
            Some(k),
            Some(json!({ "items": items })),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(w.written, 14);
    let obs: ObservationsDto = app
        .ok(
            "/v1/series/events-USA/observations?from=2026-01-06T00:00:00Z&to=2026-01-08T00:00:00Z",
            k,
        )
        .await;
    assert_eq!(obs.items.len(), 2);
    assert_eq!(obs.items[0].value, 1.0);
    // 2026-01-05 is a Monday: two whole ISO weeks.
    let weekly: ObservationsDto = app
        .ok(
            "/v1/series/events-USA/observations?resample=week&agg=sum",
            k,
        )
        .await;
    assert_eq!(weekly.items.len(), 2);
    assert_eq!(weekly.items[0].ts, t0());
    assert_eq!(weekly.items[0].value, 21.0);
    assert_eq!(weekly.items[1].value, 70.0);
    let mean: ObservationsDto = app
        .ok(
            "/v1/series/events-USA/observations?resample=week&agg=mean",
            k,
        )
        .await;
    assert_eq!(mean.items[0].value, 3.0);
    let p = problem(
        app.call(
            Method::POST,
            "/v1/series/events-USA/observations",
            Some(k),
            Some(json!({"items": [{"ts": t0().to_rfc3339(), "value": -1.0}]})),
        )
        .await,
        422,
    )
    .await;
    assert!(p.detail.contains("bounds"), "{p:?}");
    // A year ingest would refuse is refused here too (it would stretch the grid over
    // millennia of missing steps).
    let p = problem(
        app.call(
            Method::POST,
            "/v1/series/events-USA/observations",
            Some(k),
            Some(json!({"items": [{"ts": "9534-03-05T22:21:01Z", "value": 1.0}]})),
        )
        .await,
        422,
    )
    .await;
    assert!(p.detail.contains("HORIZON_INGEST_MAX_YEAR"), "{p:?}");

    // Classification.
    problem(
        app.get("/v1/series/events-USA/classification", k).await,
        404,
    )
    .await;
    app.store
        .insert_classifications(&[Classification {
            series_id: series.id,
            execution_id: None,
            classified_at: t0(),
            profile: SeriesProfile {
                class: SeriesClass::Smooth,
                adi: 1.0,
                cv2: 0.1,
                zero_share: 0.0,
                length: 14,
                trend_strength: 0.5,
                seasonal_strength: 0.0,
                season_length: None,
            },
        }])
        .await
        .unwrap();
    let c: ClassificationDto = app.ok("/v1/series/events-USA/classification", k).await;
    assert_eq!(c.class, "smooth");

    // Forecasts: by id, latest, by series, by entity, by window.
    let f: ForecastDto = app.ok(&format!("/v1/forecasts/{forecast_id}"), k).await;
    assert_eq!(f.series_key, "events-USA");
    assert_eq!(f.steps[2].quantiles, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(f.intervals.len(), 2);
    assert_eq!(f.members[0].model, "ets");
    assert_eq!(f.thresholds[0].any_step, 0.6);
    assert_eq!(f.thresholds[0].direction, ThresholdDirectionDto::Above);
    assert_eq!(f.calibration["source"], "test");
    assert_eq!(
        serde_json::to_value(&f.warnings).unwrap(),
        json!([{"kind": "gaps_filled", "message": "2 missing values imputed"}]),
        "warnings are typed on the wire"
    );
    let again: ForecastDto = app.ok(&format!("/v1/forecasts/{forecast_id}"), k).await;
    assert_eq!(again, f, "cached and uncached reads agree");
    let latest: ForecastDto = app.ok("/v1/series/events-USA/forecasts/latest", k).await;
    assert_eq!(latest, f);
    let by_series: ForecastPage = app.ok("/v1/series/events-USA/forecasts", k).await;
    assert_eq!(by_series.items.len(), 1);
    let by_entity: ForecastPage = app.ok("/v1/forecasts?entity=USA", k).await;
    assert_eq!(by_entity.items[0].id, forecast_id);
    let none: ForecastPage = app.ok("/v1/forecasts?entity=FRA", k).await;
    assert!(none.items.is_empty());
    let window: ForecastPage = app
        .ok(
            "/v1/forecasts?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
            k,
        )
        .await;
    assert_eq!(window.items.len(), 1);
    problem(app.get("/v1/series/plant-7/forecasts/latest", k).await, 404).await;

    // A newer forecast replaces the cached latest at once.
    let newer = app.store.latest_prediction(series.id).await.unwrap();
    app.store
        .insert_predictions(&[NewPrediction {
            series_id: series.id,
            kind: ForecastKind::Scheduled,
            execution_id: Some(
                app.store
                    .create_execution(ExecutionKind::Pipeline, json!({}), None, None, None)
                    .await
                    .unwrap()
                    .id,
            ),
            entity: "USA".into(),
            issued_at: newer.issued_at,
            first_target_at: newer.first_target_at,
            frequency: newer.frequency,
            quantile_levels: newer.quantile_levels.clone(),
            matrix: newer.matrix.clone(),
            members: vec![],
            calibration: json!({}),
            thresholds: vec![],
            warnings: vec![],
            member_forecasts: vec![],
            covariates: vec![],
        }])
        .await
        .unwrap();
    let latest: ForecastDto = app.ok("/v1/series/events-USA/forecasts/latest", k).await;
    assert_ne!(latest.id, forecast_id);
    let scheduled_id = latest.id;

    // An ad-hoc forecast (a predict job's: another horizon) is newer, but the latest stays
    // the scheduled one unless the reader asks for ad-hoc or either kind.
    let adhoc_matrix = ForecastMatrix::from_paths(
        &newer.matrix.mean_path()[..2],
        &(0..newer.matrix.quantile_count())
            .map(|q| newer.matrix.quantile_path(q)[..2].to_vec())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    app.store
        .insert_predictions(&[NewPrediction {
            series_id: series.id,
            kind: ForecastKind::Adhoc,
            execution_id: Some(
                app.store
                    .create_execution(ExecutionKind::Predict, json!({}), None, None, None)
                    .await
                    .unwrap()
                    .id,
            ),
            entity: "USA".into(),
            issued_at: newer.issued_at,
            first_target_at: newer.first_target_at,
            frequency: newer.frequency,
            quantile_levels: newer.quantile_levels.clone(),
            matrix: adhoc_matrix,
            members: vec![],
            calibration: json!({}),
            thresholds: vec![],
            warnings: vec![],
            member_forecasts: vec![],
            covariates: vec![],
        }])
        .await
        .unwrap();
    let latest: ForecastDto = app.ok("/v1/series/events-USA/forecasts/latest", k).await;
    assert_eq!(
        (latest.id, latest.kind),
        (scheduled_id, ForecastKindDto::Scheduled)
    );
    let adhoc: ForecastDto = app
        .ok("/v1/series/events-USA/forecasts/latest?kind=adhoc", k)
        .await;
    assert_eq!((adhoc.kind, adhoc.horizon), (ForecastKindDto::Adhoc, 2));
    let any: ForecastDto = app
        .ok("/v1/series/events-USA/forecasts/latest?kind=any", k)
        .await;
    assert_eq!(any.id, adhoc.id);
    let listed: ForecastPage = app
        .ok("/v1/series/events-USA/forecasts?kind=adhoc", k)
        .await;
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].id, adhoc.id);
    let all: ForecastPage = app.ok("/v1/series/events-USA/forecasts", k).await;
    assert_eq!(
        all.items.len(),
        3,
        "a list shows both kinds, each with its kind"
    );
    let bad = problem(
        app.get("/v1/series/events-USA/forecasts/latest?kind=daily", k)
            .await,
        400,
    )
    .await;
    assert!(
        bad.detail.contains("kind: \"daily\" is not one of"),
        "{bad:?}"
    );

    // Outcomes: score actuals against the first forecast.
    let scored: OutcomeList = app
        .call(
            Method::POST,
            "/v1/outcomes",
            Some(k),
            Some(json!({"forecast_id": forecast_id,
                "actuals": [{"ts": (t0() + Duration::days(1)).to_rfc3339(), "value": 3.0}]})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(scored.items[0].step, 2);
    assert_eq!(scored.items[0].covered_80, Some(true));
    assert_eq!(scored.items[0].brier[0].0, 3.5);
    assert_eq!(scored.items[0].series_key, "events-USA");
    let listed: OutcomeList = app.ok("/v1/outcomes?series=events-USA", k).await;
    assert_eq!(listed.items.len(), 1);
    let all: OutcomeList = app.ok("/v1/outcomes", k).await;
    assert_eq!(
        all.items[0].series_key, "events-USA",
        "lists name series by key"
    );
    problem(
        app.call(
            Method::POST,
            "/v1/outcomes",
            Some(k),
            Some(json!({"forecast_id": forecast_id,
                "actuals": [{"ts": "2030-01-01T00:00:00Z", "value": 3.0}]})),
        )
        .await,
        422,
    )
    .await;

    // Executions with steps, models, calibration, metrics.
    let e = app
        .store
        .create_execution(ExecutionKind::Pipeline, json!({"a": 1}), None, None, None)
        .await
        .unwrap();
    app.store
        .add_step(
            e.id,
            NewStep {
                name: "load".into(),
                status: StepStatus::Succeeded,
                message: Some("loaded 2 series".into()),
                items: Some(2),
                started_at: t0(),
                finished_at: Some(t0()),
            },
        )
        .await
        .unwrap();
    let got: ExecutionDto = app.ok(&format!("/v1/executions/{}", e.id), k).await;
    assert_eq!(
        got.steps.unwrap()[0].message.as_deref(),
        Some("loaded 2 series")
    );
    let list: ExecutionList = app.ok("/v1/executions?status=queued&limit=10", k).await;
    assert!(list.items.iter().any(|x| x.id == e.id));
    let fams: ModelFamilies = app.ok("/v1/models/families", k).await;
    assert_eq!(fams.items.len(), horizon_domain::ModelKind::ALL.len());
    app.store
        .register_model(&ModelRecord {
            id: Uuid::now_v7(),
            series_id: Some(series.id),
            execution_id: None,
            family: "ets".into(),
            spec: "ETS(A,N,N)".into(),
            params: json!({"alpha": 0.3}),
            metrics: None,
            fitted_at: t0(),
        })
        .await
        .unwrap();
    let models: ModelList = app.ok("/v1/models?series=events-USA", k).await;
    assert_eq!(models.items[0].spec, "ETS(A,N,N)");
    assert_eq!(models.items[0].series_key.as_deref(), Some("events-USA"));
    app.store
        .insert_calibration_weights(&[CalibrationWeight {
            series_class: SeriesClass::Smooth,
            model: "ets".into(),
            weight: 1.0,
            score: Some(0.2),
            samples: 10,
            effective_at: t0(),
            execution_id: None,
        }])
        .await
        .unwrap();
    let cal: CalibrationList = app.ok("/v1/calibration", k).await;
    assert_eq!(cal.items[0].model, "ets");
    let hist: CalibrationList = app.ok("/v1/calibration/history?class=smooth", k).await;
    assert_eq!(hist.items.len(), 1);
    app.store
        .insert_forecast_metrics(&[ForecastMetric {
            id: Uuid::now_v7(),
            execution_id: None,
            series_id: series.id,
            model: "ensemble".into(),
            horizon_step: None,
            metrics: [("crps".to_owned(), 0.5)].into(),
            created_at: t0(),
        }])
        .await
        .unwrap();
    let m: ForecastMetricList = app.ok("/v1/forecast-metrics?series=events-USA", k).await;
    assert_eq!(m.items[0].metrics["crps"], 0.5);
    assert_eq!(m.items[0].series_key, "events-USA");
    let all: ForecastMetricList = app.ok("/v1/forecast-metrics", k).await;
    assert_eq!(all.items[0].series_key, "events-USA");
    let all: ForecastPage = app.ok("/v1/forecasts?limit=2", k).await;
    assert!(all.items.iter().all(|f| f.series_key == "events-USA"));

    // Validation failures and 404s.
    for (path, needle) in [
        ("/v1/forecasts/not-a-uuid", "not a UUID"),
        ("/v1/series?limit=0", "limit"),
        ("/v1/series?limit=501", "limit"),
        ("/v1/series?colour=red", "colour"),
        ("/v1/series?class=bumpy", "bumpy"),
        ("/v1/forecasts?from=yesterday", ""),
        (
            "/v1/forecasts?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "before",
        ),
        (
            "/v1/series/events-USA/observations?resample=fortnight",
            "fortnight",
        ),
        ("/v1/executions?status=sleeping", "sleeping"),
        ("/v1/series/bad%20key", "key"),
    ] {
        let p = problem(app.get(path, k).await, 400).await;
        assert!(p.detail.contains(needle), "{path}: {p:?}");
    }
    for path in [
        format!("/v1/forecasts/{}", Uuid::now_v7()),
        format!("/v1/executions/{}", Uuid::now_v7()),
        "/v1/series/nope".to_owned(),
        "/v1/series/nope/forecasts/latest".to_owned(),
        "/v1/nowhere".to_owned(),
    ] {
        problem(app.get(&path, k).await, 404).await;
    }
    let p = problem(
        app.call(
            Method::PUT,
            "/v1/series/plant-8",
            Some(k),
            Some(json!({"entity": "DEU", "metric": "m", "colour": "red"})),
        )
        .await,
        422,
    )
    .await;
    assert!(p.detail.contains("colour"), "{p:?}");
    let p = problem(
        app.call(
            Method::PUT,
            "/v1/series/plant-8",
            Some(k),
            Some(json!({"entity": "DEU", "metric": "m", "lower_bound": 5.0, "upper_bound": 1.0})),
        )
        .await,
        422,
    )
    .await;
    assert!(p.detail.contains("bound"), "{p:?}");
    let resp = app
        .http
        .put(format!("{}/v1/series/plant-8", app.base))
        .header("X-API-Key", k)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    problem(resp, 400).await;
    let big = "x".repeat(SMALL_BODY + 10);
    let resp = app
        .call(
            Method::PUT,
            "/v1/series/plant-8",
            Some(k),
            Some(json!({"entity": big, "metric": "m"})),
        )
        .await;
    problem(resp, 413).await;
    app.handle.stop(true).await;
}

const SMALL_BODY: usize = 4096;

async fn jobs(db: TestDb) {
    let app = start(&db).await;
    seed(&app.store).await;
    let (key_id, key) = app.key("write", None).await;
    let post = |path: &'static str, body: Value, idem: Option<&'static str>| {
        let mut req = app
            .http
            .post(format!("{}{path}", app.base))
            .header("X-API-Key", &key)
            .json(&body);
        if let Some(i) = idem {
            req = req.header("Idempotency-Key", i);
        }
        req.send()
    };
    for path in ["/v1/train", "/v1/predict", "/v1/backtest", "/v1/generate"] {
        let resp = post(path, json!({"series": ["events-USA"], "horizon": 7}), None)
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::ACCEPTED, "{path}");
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        let body: JobAccepted = resp.json().await.unwrap();
        assert_eq!(location, format!("/v1/executions/{}", body.execution_id));
        let e: ExecutionDto = app.ok(&location, &key).await;
        assert_eq!(e.status, "queued");
        assert_eq!(e.kind, path.trim_start_matches("/v1/"));
        let stored = app.store.execution(body.execution_id).await.unwrap();
        assert_eq!(stored.requested_by, Some(key_id));
        // Stored typed, defaults applied: the worker never meets a missing field.
        let params = horizon_services::jobs::JobParams::of(&stored).unwrap();
        assert_eq!(params.options.quantiles, QuantileLevels::default());
        assert_eq!(params.folds, horizon_services::jobs::DEFAULT_FOLDS);
    }
    // Every job accepted without quantiles, models or folds runs to success (they failed in
    // the worker with a deserialisation error before).
    let settings = Settings::from_figment(Settings::figment_defaults()).unwrap();
    let worked = horizon_services::jobs::work_queued(&app.store, &settings, "test")
        .await
        .unwrap();
    assert_eq!(worked, 4);
    let ended: ExecutionList = app.ok("/v1/executions?limit=10", &key).await;
    for e in ended.items.iter().filter(|e| e.kind != "pipeline") {
        assert_eq!(e.status, "succeeded", "{e:?}");
    }
    // A series that does not exist: 422 at once, nothing queued.
    let p = problem(
        post("/v1/predict", json!({"series": ["no-such-series"]}), None)
            .await
            .unwrap(),
        422,
    )
    .await;
    assert!(p.detail.contains("no-such-series"), "{p:?}");
    let body = json!({"models": ["ets", "theta"]});
    let first: JobAccepted = post("/v1/train", body.clone(), Some("abc-1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = post("/v1/train", body, Some("abc-1")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let replay: JobAccepted = resp.json().await.unwrap();
    assert_eq!(replay.execution_id, first.execution_id);
    let p = problem(
        post("/v1/train", json!({"models": ["ets"]}), Some("abc-1"))
            .await
            .unwrap(),
        422,
    )
    .await;
    assert!(p.detail.contains("Idempotency-Key"), "{p:?}");
    for bad in [
        json!({"models": ["astrology"]}),
        json!({"horizon": 0}),
        json!({"quantiles": [0.5, 1.5]}),
        json!({"series": ["bad key"]}),
        json!({"folds": 3}),
        json!({"horizon": "seven"}),
        json!({"colour": "red"}),
    ] {
        problem(post("/v1/train", bad, None).await.unwrap(), 422).await;
    }
    app.handle.stop(true).await;
}

async fn rate_limit(db: TestDb) {
    let app = start_with(
        &db,
        &[
            ("api_rate_limit_per_sec", json!(0.5)),
            ("api_rate_limit_burst", json!(3)),
        ],
    )
    .await;
    let (_, key) = app.key("read", None).await;
    let (_, other) = app.key("read", None).await;
    let mut statuses = vec![];
    for _ in 0..5 {
        statuses.push(app.get("/v1/series", &key).await.status().as_u16());
    }
    assert_eq!(&statuses[..3], &[200, 200, 200], "{statuses:?}");
    assert_eq!(statuses[4], 429, "{statuses:?}");
    let resp = app.get("/v1/series", &key).await;
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&retry), "{retry}");
    problem(resp, 429).await;
    // Limits are per key.
    assert_eq!(app.get("/v1/series", &other).await.status(), StatusCode::OK);
    app.handle.stop(true).await;
}

async fn operations(db: TestDb) {
    let app = start_with(&db, &[("api_cors_origins", json!("https://app.example"))]).await;
    let (_, key) = app.key("read", None).await;
    let r: Readiness = app.ok("/readyz", &key).await;
    assert_eq!(r.status, "ok");
    assert_eq!(
        r.redis,
        match db.backend {
            Backend::Sqlite => "not configured",
            Backend::Postgres => "ok",
        }
    );
    let resp = app.get("/v1/series", &key).await;
    assert!(resp.headers().contains_key("x-request-id"));
    let resp = app
        .http
        .request(Method::OPTIONS, format!("{}/v1/series", app.base))
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let metrics = app
        .call(Method::GET, "/metrics", None, None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "horizon_http_requests_total{route=\"/v1/series\",method=\"GET\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("horizon_db_pool_connections"), "{metrics}");

    // What an operator alerts on, read from the shared tables (other processes' work).
    seed(&app.store).await;
    app.store
        .create_execution(
            horizon_domain::ExecutionKind::Predict,
            json!({}),
            None,
            None,
            None,
        )
        .await
        .unwrap();
    let mut run = app.store.start_ingest_run("feed \"gdelt\"").await.unwrap();
    run.rows_landed = 40;
    run.rows_rejected = 2;
    app.store.finish_ingest_run(&run).await.unwrap();
    // The counts of the first scrape were cached with the tables empty; a fresh process reads
    // them at once.
    let again = start(&db).await;
    let metrics = again.metrics().await;
    for line in [
        "horizon_jobs_total{kind=\"predict\",status=\"queued\"} 1",
        "horizon_ingest_records_total{source=\"feed \\\"gdelt\\\"\",outcome=\"landed\"} 40",
        "horizon_ingest_records_total{source=\"feed \\\"gdelt\\\"\",outcome=\"rejected\"} 2",
        "# TYPE horizon_pipeline_runs_total counter",
        "# TYPE horizon_partitions_total counter",
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }
    let age: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("horizon_forecast_age_seconds{class=\"unclassified\"} "))
        .unwrap_or_else(|| panic!("no forecast age in:\n{metrics}"))
        .parse()
        .unwrap();
    assert!((0.0..3600.0).contains(&age), "{age}");
    again.handle.stop(true).await;
    app.handle.stop(true).await;
}

/// Many concurrent reads of forecasts in no cache share database round trips; each still
/// gets its own forecast, and an unknown id in the same batch its own 404.
async fn concurrent_forecast_reads(db: TestDb) {
    let app = start_with(&db, &[("api_forecast_cache_mb", json!(0))]).await;
    let (series, _) = seed(&app.store).await;
    let template = app.store.latest_prediction(series.id).await.unwrap();
    let levels = template.quantile_levels.clone();
    let news: Vec<NewPrediction> = (0..40)
        .map(|i| {
            let level = f64::from(i);
            let paths: Vec<Vec<f64>> = (0..levels.len())
                .map(|q| vec![level + q as f64; 3])
                .collect();
            NewPrediction {
                series_id: series.id,
                execution_id: None,
                kind: ForecastKind::Scheduled,
                entity: "USA".into(),
                issued_at: template.issued_at,
                first_target_at: template.first_target_at,
                frequency: template.frequency,
                quantile_levels: levels.clone(),
                matrix: ForecastMatrix::from_paths(&[level; 3], &paths).unwrap(),
                members: vec![],
                calibration: json!({ "i": i }),
                thresholds: vec![],
                warnings: vec![],
                member_forecasts: vec![],
                covariates: vec![],
            }
        })
        .collect();
    app.store.insert_predictions(&news).await.unwrap();
    let ids: Vec<(Uuid, i64)> = app
        .store
        .list_predictions(
            &horizon_store::PredictionFilter {
                series_id: Some(series.id),
                ..Default::default()
            },
            100,
        )
        .await
        .unwrap()
        .into_iter()
        .filter_map(|p| Some((p.id, p.calibration.get("i")?.as_i64()?)))
        .collect();
    assert_eq!(ids.len(), 40);
    let (_, key) = app.key("read", None).await;
    let mut reads = tokio::task::JoinSet::new();
    for (id, i) in ids
        .iter()
        .copied()
        .map(|(id, i)| (id, Some(i)))
        .chain((0..5).map(|_| (Uuid::now_v7(), None)))
    {
        let (http, url, key) = (
            app.http.clone(),
            format!("{}/v1/forecasts/{id}", app.base),
            key.clone(),
        );
        reads.spawn(async move {
            let resp = http.get(url).header("X-API-Key", key).send().await.unwrap();
            (id, i, resp.status().as_u16(), resp.text().await.unwrap())
        });
    }
    let mut served = 0;
    while let Some(read) = reads.join_next().await {
        let (id, i, status, body) = read.unwrap();
        match i {
            Some(i) => {
                assert_eq!(status, 200, "{body}");
                let f: ForecastDto = serde_json::from_str(&body).unwrap();
                assert_eq!(f.id, id);
                assert_eq!(f.series_key, "events-USA");
                assert_eq!(
                    f.steps[0].mean, i as f64,
                    "forecast {id} got another's numbers"
                );
                assert_eq!(f.calibration["i"], i);
                served += 1;
            }
            None => {
                assert_eq!(status, 404, "{body}");
                assert!(body.contains(&id.to_string()), "{body}");
            }
        }
    }
    assert_eq!(served, 40);
    app.handle.stop(true).await;
}

mod faults;
mod security;
use security::*;

/// A CSV file over HTTP lands like an ingested file: counted, deduplicated, unknown series
/// created and listed, bad lines set aside by line; the wrong media type, a too-large body and
/// a read key are refused without storing anything.
async fn imports(db: TestDb) {
    let spool = tempfile::tempdir().unwrap();
    let app = start_with(
        &db,
        &[
            (
                "event_store_path",
                json!(spool.path().join("events.sqlite").display().to_string()),
            ),
            ("api_max_import_bytes", json!(4096)),
        ],
    )
    .await;
    let (_, write) = app.key("write", None).await;
    let (_, read) = app.key("read", None).await;
    let post = |key: String, content_type: &'static str, body: String| {
        let req = app
            .http
            .post(format!("{}/v1/observations:import", app.base))
            .header("X-API-Key", key)
            .header("Content-Type", content_type)
            .body(body);
        async move { req.send().await.unwrap() }
    };
    let csv = "unique_id,ds,y\nimp-a,2026-01-01,1\nimp-a,2026-01-02,oops\nimp-b,2026-01-01T06:00:00Z,2.5\nimp-a,2026-01-03,3\n";
    let resp = post(write.clone(), "text/csv; charset=utf-8", csv.into()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let r: ImportResult = resp.json().await.unwrap();
    assert_eq!(
        (
            r.rows_read,
            r.rows_landed,
            r.rows_rolled_up,
            r.rows_rejected
        ),
        (4, 3, 3, 1)
    );
    assert_eq!(r.bytes, csv.len() as u64);
    assert_eq!(r.series_created, ["imp-a", "imp-b"]);
    assert_eq!(r.series_created_count, 2);
    assert_eq!(r.rejections.len(), 1);
    assert_eq!(r.rejections[0].line, Some(3));
    assert!(
        r.rejections[0].reason.contains("oops"),
        "{:?}",
        r.rejections
    );
    let obs: ObservationsDto = app.ok("/v1/series/imp-a/observations", &write).await;
    assert_eq!(obs.items.len(), 2);
    // The same file again: nothing new, nothing created.
    let again: ImportResult = post(write.clone(), "text/csv", csv.into())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((again.rows_landed, again.series_created_count), (0, 0));
    // Parquet as pandas writes it (nanosecond timestamps, snappy, its index column): the same
    // rules, 112 rows of two new series.
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../horizon-batch/tests/fixtures/daily-ns-snappy.parquet"
    );
    let resp = app
        .http
        .post(format!("{}/v1/observations:import", app.base))
        .header("X-API-Key", write.clone())
        .header("Content-Type", "application/vnd.apache.parquet")
        .body(std::fs::read(fixture).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let r: ImportResult = resp.json().await.unwrap();
    assert_eq!((r.rows_read, r.rows_landed, r.rows_rejected), (112, 112, 0));
    assert_eq!(r.series_created, ["p-a", "p-b"]);
    let obs: ObservationsDto = app.ok("/v1/series/p-b/observations?limit=2", &write).await;
    assert_eq!(obs.items[0].ts.to_rfc3339(), "2026-01-01T00:00:00+00:00");
    assert_eq!(obs.items[1].value, 37.0);
    let p = problem(
        app.http
            .post(format!("{}/v1/observations:import", app.base))
            .header("X-API-Key", write.clone())
            .header("Content-Type", "application/vnd.apache.parquet")
            .body(csv)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(
        p.detail.contains("not a readable Parquet file"),
        "{}",
        p.detail
    );
    let stored = app.store.count_observations(None).await.unwrap();

    let p = problem(
        post(write.clone(), "application/json", csv.into()).await,
        415,
    )
    .await;
    assert!(p.detail.contains("text/csv"), "{}", p.detail);
    let p = problem(
        app.http
            .post(format!("{}/v1/observations:import", app.base))
            .header("X-API-Key", write.clone())
            .body(csv)
            .send()
            .await
            .unwrap(),
        415,
    )
    .await;
    assert!(p.detail.contains("missing"), "{}", p.detail);
    problem(post(read.clone(), "text/csv", csv.into()).await, 403).await;
    let big = format!(
        "unique_id,ds,y\n{}",
        "imp-c,2026-01-01,1\n".repeat(4096 / 19 + 1)
    );
    let p = problem(post(write.clone(), "text/csv", big.clone()).await, 413).await;
    assert!(
        p.detail.contains("HORIZON_API_MAX_IMPORT_BYTES"),
        "{}",
        p.detail
    );
    // Streamed without a length: counted as it arrives.
    let chunks: Vec<Result<String, std::io::Error>> = big
        .as_bytes()
        .chunks(500)
        .map(|c| Ok(String::from_utf8(c.to_vec()).unwrap()))
        .collect();
    let resp = app
        .http
        .post(format!("{}/v1/observations:import", app.base))
        .header("X-API-Key", write.clone())
        .header("Content-Type", "text/csv")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    // The server answers 413 and may close the connection before the client finished sending.
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    let p = problem(post(write.clone(), "text/csv", String::new()).await, 400).await;
    assert!(
        p.detail.contains("header") || p.detail.contains("empty"),
        "{}",
        p.detail
    );
    assert_eq!(app.store.count_observations(None).await.unwrap(), stored);
    assert!(
        app.store
            .series_by_key(&SeriesKey::parse("imp-c").unwrap())
            .await
            .is_err(),
        "nothing of a refused file is stored"
    );
    // No spool file is left behind.
    let left: Vec<_> = std::fs::read_dir(spool.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".import-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

both_backends!(
    path_normalisation_matrix,
    imports,
    metrics_labels_are_bounded,
    failed_authentications_are_cheap_and_limited,
    pages_are_self_contained,
    observation_reads_are_paged,
    wrong_methods_are_405_with_allow,
    query_timestamps_take_every_form,
    auth_rules,
    resources,
    jobs,
    rate_limit,
    operations,
    concurrent_forecast_reads
);

/// The served OpenAPI document is the committed snapshot; regenerate it with
/// `UPDATE_OPENAPI=1 cargo test -p horizon-http openapi_snapshot`.
#[test]
fn openapi_snapshot() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    let served = crate::openapi_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &served).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == served,
        "the OpenAPI document changed; review it and run UPDATE_OPENAPI=1 cargo test -p \
         horizon-http openapi_snapshot to update {path}"
    );
}

/// Generated clients and the Swagger page show these texts: an operation without a summary is
/// a bare path in a client's method list, a response without a description is invalid OpenAPI.
#[test]
fn every_operation_has_a_summary_and_every_response_a_description() {
    let doc: serde_json::Value = serde_json::from_str(&crate::openapi_json()).unwrap();
    let mut missing = Vec::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "put", "post", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            if op["summary"].as_str().is_none_or(|s| s.trim().is_empty()) {
                missing.push(format!("{method} {path}: summary"));
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if response["description"]
                    .as_str()
                    .is_none_or(|s| s.trim().is_empty())
                {
                    missing.push(format!("{method} {path} {status}: description"));
                }
            }
        }
    }
    assert!(operations >= 30, "{operations} operations");
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn tokens_round_trip_and_reject_typos() {
    let k = generate_key();
    let parsed = crate::parse_token(&k.token).unwrap();
    assert_eq!(parsed.key_id, k.key_id);
    assert_eq!(crate::hash_secret(parsed.secret), k.secret_hash);
    assert!(!k.token.contains(&k.secret_hash));
    let mut typo = k.token.clone().into_bytes();
    typo[30] = if typo[30] == b'a' { b'b' } else { b'a' };
    assert!(crate::parse_token(std::str::from_utf8(&typo).unwrap()).is_none());
    assert!(crate::parse_token("hzn_abc").is_none());
    assert_ne!(generate_key().token, k.token);
}
