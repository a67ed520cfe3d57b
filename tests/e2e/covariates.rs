//! Covariates through the whole service with the three real binaries on one database: a
//! plant and its day-ahead weather forecasts are ingested by `horizon-ingest`, forecast by
//! `horizon-pipeline`, and served by `horizon-api`, which names the vintage each forecast
//! used. Real data: the PVDAQ system 50 excerpt in `samples/pvdaq50` (see its README).

use std::{fmt::Write as _, path::PathBuf, time::Duration};

use chrono::{DateTime, Duration as Span, Utc};
use horizon_e2e::{Env, TestDb, free_port, wait_healthy};
use horizon_test_support::both_backends;
use serde_json::{Value, json};

const PLANT: &str = "pvdaq50_serf_east_2016";

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../samples/pvdaq50")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// The fixture's day `k` starts at 07:00Z (midnight in Golden, CO).
fn day_start(k: i64) -> DateTime<Utc> {
    t("2016-07-01T07:00:00Z") + Span::days(k)
}

/// The files: the plant (attributes), its power up to day 13, its measured weather up to day
/// 13 and day-ahead forecasts of days 1–13 (issued 25 h before each day, off by a daily
/// error), plus a forecast of day 13 issued *after* the run's as-of that must not be used.
fn write_files(env: &Env) -> [String; 4] {
    let as_of = day_start(13);
    let write = |name: &str, text: String| {
        let path = env.dir().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let plants = format!(
        "unique_id,entity,metric,frequency,unit,latitude,longitude,capacity,tilt,azimuth,timezone,country\n\
         {PLANT},SERF East,ac_power,15min,W,39.742,-105.1727,5426.4,45,158,America/Denver,US\n"
    );
    let mut power = String::from("unique_id,ds,y\n");
    for l in fixture("power.csv").lines().skip(1) {
        if t(l.split(',').nth(1).unwrap()) < as_of {
            let _ = writeln!(power, "{l}");
        }
    }
    let mut weather = String::from("unique_id,ds,issued_at,ghi,temp_air\n");
    for l in fixture("weather.csv").lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        let ts = t(f[1]);
        let k = (ts - day_start(0)).num_days();
        let (ghi, temp): (f64, f64) = (f[2].parse().unwrap(), f[3].parse().unwrap());
        if ts < as_of {
            let _ = writeln!(weather, "{},{},,{ghi},{temp}", f[0], f[1]);
        }
        if k >= 1 {
            let err = ((k * 7919) % 31) as f64 / 15.0 - 1.0;
            let issued = (day_start(k) - Span::hours(25)).to_rfc3339();
            let _ = writeln!(
                weather,
                "{},{},{issued},{:.1},{:.2}",
                f[0],
                f[1],
                ghi * (1.0 + 0.15 * err),
                temp + 1.5 * err
            );
        }
        if k == 13 && ts > as_of + Span::hours(1) {
            // Issued an hour after as-of: a run at as-of must not see it.
            let issued = (as_of + Span::hours(1)).to_rfc3339();
            let _ = writeln!(weather, "{},{},{issued},0,0", f[0], f[1]);
        }
    }
    [
        write("plants.csv", plants),
        write("power.csv", power),
        write("weather.csv", weather),
        as_of.to_rfc3339(),
    ]
}

async fn a_plant_is_forecast_with_the_weather_forecast_in_force(db: TestDb) {
    let mut env = Env::for_db(&db);
    let port = free_port();
    env.set("HORIZON_API_BIND", &format!("127.0.0.1:{port}"));
    let base = format!("http://127.0.0.1:{port}");
    let [plants, power, weather, as_of] = write_files(&env);

    let (ok, log) = env.run(
        "horizon-ingest",
        &["once", "--series", &plants, "--file", &power],
    );
    assert!(ok, "ingest of the plant:\n{log}");
    let (ok, log) = env.run(
        "horizon-ingest",
        &["once", "--covariates", "--file", &weather],
    );
    assert!(
        ok && !log.contains("record rejected"),
        "ingest of the weather:\n{log}"
    );
    let (ok, log) = env.run(
        "horizon-pipeline",
        &["run", "--wait", "--as-of", &as_of, "--horizon", "96"],
    );
    assert!(
        ok && !log.contains("\"level\":\"ERROR\""),
        "pipeline:\n{log}"
    );

    let mut api = env.spawn("horizon-api", &[]);
    assert!(
        wait_healthy(&format!("{base}/healthz"), Duration::from_secs(60)).await,
        "api did not become healthy: {}",
        api.log_text()
    );
    let key = env.create_key("read,write");
    let client = reqwest::Client::new();
    let get = |path: String| {
        let req = client
            .get(format!("{base}{path}"))
            .header("x-api-key", &key);
        async move {
            let r = req.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };

    // The plant's attributes, and the plan forecast the plant only.
    let (status, series) = get(format!("/v1/series/{PLANT}")).await;
    assert_eq!(status, 200);
    assert_eq!(series["attributes"]["latitude"], 39.742);
    assert_eq!(series["attributes"]["timezone"], "America/Denver");
    assert_eq!(series["attributes"]["country"], "US");
    let (_, ghi) = get(format!("/v1/series/{PLANT}:ghi")).await;
    assert_eq!(ghi["covariate_name"], "ghi");

    let (status, f) = get(format!("/v1/series/{PLANT}/forecasts/latest")).await;
    assert_eq!(status, 200, "{f}");
    let in_force = (day_start(13) - Span::hours(25)).to_rfc3339();
    let covariates = f["covariates"].as_array().unwrap();
    assert_eq!(covariates.len(), 2, "{f}");
    for c in covariates {
        assert_eq!(
            c["issued_at"].as_str().map(t),
            Some(t(&in_force)),
            "the vintage in force at as-of, not the later one: {c}"
        );
        assert!(
            c["members"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == "solar_qr"),
            "{c}"
        );
    }
    let steps = f["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 96);
    let night = steps
        .iter()
        .filter(|s| s["quantiles"].as_array().unwrap().iter().all(|q| q == 0.0))
        .count();
    assert!(
        night >= 30,
        "a July night in Colorado is over 8 h: {night} zero steps"
    );
    for s in steps {
        for q in s["quantiles"].as_array().unwrap() {
            let q = q.as_f64().unwrap();
            assert!(
                (0.0..=5426.4).contains(&q),
                "outside the plant's capacity: {s}"
            );
        }
    }

    // The covariates as the API lists them, and the vintage in force at as-of.
    let (status, list) = get(format!("/v1/series/{PLANT}/covariates")).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ghi", "temp_air"]);
    assert_eq!(list["items"][0]["role"], "weather");
    let (status, values) = get(format!(
        "/v1/series/{PLANT}/covariates/ghi/values?as_of={}",
        as_of.replace('+', "%2B")
    ))
    .await;
    assert_eq!(status, 200, "{values}");
    assert_eq!(values["source"], "vintage");
    assert_eq!(values["issued_at"].as_str().map(t), Some(t(&in_force)));
    assert_eq!(values["values"].as_array().unwrap().len(), 96);
    let (_, measured) = get(format!("/v1/series/{PLANT}/covariates/ghi/values")).await;
    assert_eq!(measured["source"], "observations");
    assert_eq!(measured["values"].as_array().unwrap().len(), 13 * 96);

    // Small writes: a vintage over PUT, the same again, then a changed value (409, nothing
    // changed), and a vintage issued after the instant it is about (422).
    let put = |name: &str, body: Value| {
        let req = client
            .put(format!("{base}/v1/series/{PLANT}/covariates/{name}/values"))
            .header("x-api-key", &key)
            .json(&body);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let vintage = |value: f64| {
        json!({"issued_at": "2016-07-14T05:00:00Z",
               "values": [{"ts": "2016-07-15T07:00:00Z", "value": value}]})
    };
    assert_eq!(
        put("cloud_cover", vintage(0.5)).await,
        (
            200,
            r#"{"key":"pvdaq50_serf_east_2016:cloud_cover","written":1}"#.into()
        )
    );
    assert_eq!(put("cloud_cover", vintage(0.5)).await.0, 200);
    let (status, body) = put("cloud_cover", vintage(0.9)).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("vintage already stored with another value"),
        "{body}"
    );
    let (status, body) = put(
        "cloud_cover",
        json!({"issued_at": "2016-07-16T00:00:00Z",
               "values": [{"ts": "2016-07-15T07:00:00Z", "value": 0.1}]}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("later than its ds"), "{body}");
    let (status, body) = put("bad/name", vintage(0.5)).await;
    assert!(status == 400 || status == 404, "{status} {body}");
    let (status, _) = get("/v1/series/nowhere/covariates".into()).await;
    assert_eq!(status, 404);

    // Attributes are written through PATCH, checked field by field.
    let patch = |body: Value| {
        let req = client
            .patch(format!("{base}/v1/series/{PLANT}"))
            .header("x-api-key", &key)
            .json(&body);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, s) = patch(json!({"attributes": {"altitude": 1730}})).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["attributes"]["altitude"], 1730.0);
    assert_eq!(
        s["attributes"]["tilt"], 45.0,
        "the other attributes are kept"
    );
    let (status, p) = patch(json!({"attributes": {"latitude": 123}})).await;
    assert_eq!(status, 422, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("latitude"), "{p}");
    // `null` clears (a JSON merge patch); the result is checked as a whole.
    let (status, s) = patch(json!({"attributes": {"altitude": null}, "unit": null})).await;
    assert_eq!(status, 200, "{s}");
    assert!(s["attributes"].get("altitude").is_none(), "{s}");
    assert!(s["unit"].is_null(), "{s}");
    assert_eq!(s["attributes"]["latitude"], 39.742, "the others are kept");
    let (status, p) = patch(json!({"attributes": {"longitude": null}})).await;
    assert_eq!(status, 422, "a latitude without a longitude: {p}");
    assert!(p["detail"].as_str().unwrap().contains("longitude"), "{p}");
    let (status, s) = patch(json!({"attributes": {"latitude": null, "longitude": null}})).await;
    assert_eq!(status, 200, "{s}");
    assert!(s["attributes"].get("latitude").is_none(), "{s}");
    let stored = get(format!("/v1/series/{PLANT}")).await.1;
    assert!(stored["attributes"].get("longitude").is_none(), "{stored}");

    assert!(api.terminate(), "api did not stop cleanly on SIGTERM");
    let errors = api.error_lines();
    assert!(errors.is_empty(), "api logged errors: {errors:#?}");
}

both_backends!(a_plant_is_forecast_with_the_weather_forecast_in_force);
