//! The real server on a real port, on both backends.

use std::{net::TcpListener, sync::Arc};

use chrono::{TimeZone, Utc};
use horizon_domain::*;
use horizon_dto::{ForecastDto, Page, Problem, SeriesDto};
use horizon_settings::Settings;
use horizon_store::{NewPrediction, PoolOptions, Store};
use horizon_test_support::{TestDb, both_backends};

struct Running {
    base: String,
    store: Store,
    handle: actix_web::dev::ServerHandle,
}

async fn start(db: &TestDb) -> Running {
    let store = Store::connect_with(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    let settings = Arc::new(Settings::from_figment(Settings::figment_defaults()).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = crate::server(settings, store.clone(), listener).unwrap();
    let handle = server.handle();
    tokio::spawn(server);
    Running {
        base,
        store,
        handle,
    }
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
        })
        .await
        .unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let levels = QuantileLevels::new(vec![0.025, 0.1, 0.5, 0.9, 0.975]).unwrap();
    let paths: Vec<Vec<f64>> = [1.0, 2.0, 3.0, 4.0, 5.0]
        .iter()
        .map(|v| vec![*v; 3])
        .collect();
    store
        .insert_predictions(&[NewPrediction {
            series_id: s.id,
            execution_id: None,
            entity: "USA".into(),
            issued_at: t0,
            first_target_at: t0,
            frequency: Frequency::Days(1),
            quantile_levels: levels,
            matrix: ForecastMatrix::from_paths(&[3.0; 3], &paths).unwrap(),
            members: vec![],
            calibration: serde_json::json!({}),
            thresholds: vec![],
            warnings: vec![],
        }])
        .await
        .unwrap();
    let id = store.latest_prediction(s.id).await.unwrap().id;
    (s, id)
}

use uuid::Uuid;

async fn problem(resp: reqwest::Response, status: u16) -> Problem {
    assert_eq!(resp.status().as_u16(), status);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    resp.json().await.unwrap()
}

async fn skeleton_routes(db: TestDb) {
    let app = start(&db).await;
    let (_, id) = seed(&app.store).await;
    let http = reqwest::Client::new();

    let health: serde_json::Value = http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");

    let page: Page<SeriesDto> = http
        .get(format!("{}/v1/series", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].key, "events-USA");
    assert_eq!(page.items[0].lower_bound, Some(0.0));

    let latest: ForecastDto = http
        .get(format!(
            "{}/v1/series/events-USA/forecasts/latest",
            app.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(latest.id, id);
    assert_eq!(latest.horizon, 3);
    assert_eq!(latest.steps[2].quantiles, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(latest.intervals.len(), 2);
    assert_eq!(latest.intervals[0].lower, vec![2.0; 3]);
    assert_eq!(latest.intervals[1].upper, vec![5.0; 3]);

    let by_id: ForecastDto = http
        .get(format!("{}/v1/forecasts/{id}", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_id, latest);

    let p = problem(
        http.get(format!("{}/v1/forecasts/{}", app.base, Uuid::now_v7()))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert!(
        p.detail.contains("not found") && p.kind.ends_with("not-found"),
        "{p:?}"
    );
    let p = problem(
        http.get(format!("{}/v1/series/nope/forecasts/latest", app.base))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert!(p.detail.contains("nope"), "{p:?}");
    let p = problem(
        http.get(format!("{}/v1/forecasts/not-a-uuid", app.base))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(p.detail.contains("not a UUID"), "{p:?}");
    let p = problem(
        http.get(format!("{}/v1/series?limit=0", app.base))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(p.detail.contains("limit"), "{p:?}");
    let p = problem(
        http.get(format!("{}/v1/series?colour=red", app.base))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(p.detail.contains("colour"), "{p:?}");
    problem(
        http.get(format!("{}/nowhere", app.base))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    app.handle.stop(true).await;
}

both_backends!(skeleton_routes);
