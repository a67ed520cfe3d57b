//! Attacks on the server's edges, each of which once worked: encoded paths that skipped the key
//! and scope checks, made-up HTTP methods that grew `/metrics`, made-up keys that each cost a
//! database read, a page without security headers, docs that needed a CDN.

use std::net::SocketAddr;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::*;

/// Sends `method path` as written, byte for byte (reqwest would normalise dot segments away),
/// and returns the status and the response head and body.
async fn raw(
    base: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let addr: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(k) = key {
        req.push_str(&format!("X-API-Key: {k}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status in {text:?}"));
    (status, text)
}

/// Every spelling of a route gets the answer of its canonical spelling, scopes included, and
/// every ambiguous spelling gets 400, whatever the key.
pub(super) async fn path_normalisation_matrix(db: TestDb) {
    let app = start(&db).await;
    let (_, read) = app.key("read", None).await;
    let (_, write) = app.key("write", None).await;
    let (_, admin) = app.key("admin", None).await;
    let keys: [(&str, Option<&str>); 4] = [
        ("none", None),
        ("read", Some(&read)),
        ("write", Some(&write)),
        ("admin", Some(&admin)),
    ];
    let mut failures = Vec::new();
    let mut check = |what: String, got: u16, want: &[u16]| {
        if !want.contains(&got) {
            failures.push(format!("{what}: got {got}, want {want:?}"));
        }
    };

    // The admin route, plain and with unreserved characters encoded in any case.
    for path in [
        "/v1/keys",
        "/%761/keys",
        "/v1/%6Beys",
        "/v1/%6beys",
        "/v%31/keys",
        "/%76%31/%6B%65%79%73",
        "/v1/keys?limit=5",
        "/%761/keys?limit=5",
    ] {
        for (scope, key) in keys {
            let want: &[u16] = match scope {
                "none" => &[401],
                "read" | "write" => &[403],
                _ => &[200],
            };
            let (got, _) = raw(&app.base, "GET", path, key, None).await;
            check(format!("GET {path} as {scope}"), got, want);
        }
    }

    // A write route, plain and encoded.
    let series = json!({"entity": "x", "metric": "y"}).to_string();
    for (i, path) in [
        "/v1/series/p{}",
        "/%761/series/p{}",
        "/v1/%73eries/p{}",
        "/v1/series/%70{}",
    ]
    .iter()
    .enumerate()
    {
        for (scope, key) in keys {
            let path = path.replace("{}", &format!("{i}{scope}"));
            let want: &[u16] = match scope {
                "none" => &[401],
                "read" => &[403],
                _ => &[201],
            };
            let (got, text) = raw(&app.base, "PUT", &path, key, Some(&series)).await;
            check(format!("PUT {path} as {scope} ({text:.0})"), got, want);
        }
    }

    // Ambiguous spellings: refused before any key check.
    for path in [
        "/v1%2Fkeys",
        "/v1/%2fkeys",
        "/v1/./keys",
        "/x/../v1/keys",
        "/v1/x/../keys",
        "/v1/%2E%2E/v1/keys",
        "/v1/%2e/keys",
        "/v1/keys/.",
        "//v1/keys",
        "/v1//keys",
        "/v1/keys%",
        "/v1/ke%zzys",
        "/v1/%5Ckeys",
        "/v1\\keys",
    ] {
        for (scope, key) in keys {
            let (got, text) = raw(&app.base, "GET", path, key, None).await;
            check(format!("GET {path} as {scope}"), got, &[400]);
            if got == 400 {
                assert!(text.contains("application/problem+json"), "{path}: {text}");
            }
        }
    }

    // Double encoding and case variants name other (unrouted) paths: never a 2xx.
    for path in [
        "/%25761/keys",
        "/v1/%256Beys",
        "/v1/%256beys",
        "/V1/keys",
        "/v1/KEYS",
        "/V%31/keys",
        "/v1/Keys",
    ] {
        for (scope, key) in keys {
            let (got, _) = raw(&app.base, "GET", path, key, None).await;
            check(format!("GET {path} as {scope}"), got, &[400, 401, 403, 404]);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Exactly the three series written with a write or admin key exist; none from read or none.
    let stored = app.store.list_api_keys().await.unwrap().len();
    assert_eq!(stored, 3);
    for (i, _) in ["", "", "", ""].iter().enumerate() {
        for scope in ["none", "read"] {
            let key = format!("p{i}{scope}");
            let resp = app.get(&format!("/v1/series/{key}"), &read).await;
            assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{key} was created");
        }
        for scope in ["write", "admin"] {
            let key = format!("p{i}{scope}");
            let resp = app.get(&format!("/v1/series/{key}"), &read).await;
            assert_eq!(resp.status(), StatusCode::OK, "{key} was not created");
        }
    }
    app.handle.stop(true).await;
}

/// Made-up methods and paths fold into fixed labels, so `/metrics` stays the same size.
pub(super) async fn metrics_labels_are_bounded(db: TestDb) {
    let app = start(&db).await;
    for i in 0..20 {
        let method = Method::from_bytes(format!("FOO{i}").as_bytes()).unwrap();
        app.call(method, &format!("/made/up/{i}"), None, None).await;
        app.call(Method::GET, &format!("/v1/other/{i}"), None, None)
            .await;
    }
    app.metrics().await;
    let before = app.metrics().await;
    for i in 20..200 {
        let method = Method::from_bytes(format!("FOO{i}").as_bytes()).unwrap();
        app.call(method, &format!("/made/up/{i}"), None, None).await;
        app.call(Method::GET, &format!("/v1/other/{i}"), None, None)
            .await;
    }
    let after = app.metrics().await;
    let series = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("horizon_http_requests_total"))
            .count()
    };
    assert_eq!(series(&before), series(&after), "{after}");
    assert!(after.contains("method=\"other\""), "{after}");
    assert!(!after.contains("FOO"), "{after}");
    app.handle.stop(true).await;
}

fn lookups(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("horizon_api_key_lookups_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no key lookup counter in {metrics}"))
}

/// An unknown key id is read from the database once and then answered from the negative cache;
/// a client sending bad keys is refused (429) after its burst without any database read, other
/// clients are not; behind a trusted proxy the client is the forwarded address.
pub(super) async fn failed_authentications_are_cheap_and_limited(db: TestDb) {
    let app = start_with(
        &db,
        &[
            ("api_key_cache_secs", json!(60)),
            ("api_auth_failures_burst", json!(5)),
            ("api_auth_failures_per_sec", json!(0.01)),
            ("api_trusted_proxies", json!("127.0.0.1")),
        ],
    )
    .await;
    let (_, read) = app.key("read", None).await;
    let from = |ip: &str, key: &str| {
        app.http
            .get(format!("{}/v1/series", app.base))
            .header("X-API-Key", key.to_owned())
            .header("X-Forwarded-For", format!("203.0.113.9, {ip}"))
            .send()
    };

    // One unknown key id, asked four times: one database read.
    let stranger = generate_key().token;
    let start = lookups(&app.metrics().await);
    for _ in 0..4 {
        problem(from("198.51.100.1", &stranger).await.unwrap(), 401).await;
    }
    assert_eq!(
        lookups(&app.metrics().await) - start,
        1,
        "the negative cache was not used"
    );

    // The fifth failure of that address spends its burst; then 429 with Retry-After, and no
    // further lookups even for new made-up keys.
    problem(
        from("198.51.100.1", &generate_key().token).await.unwrap(),
        401,
    )
    .await;
    let before = lookups(&app.metrics().await);
    for _ in 0..10 {
        let resp = from("198.51.100.1", &generate_key().token).await.unwrap();
        assert!(resp.headers().contains_key("retry-after"));
        problem(resp, 429).await;
    }
    assert_eq!(
        lookups(&app.metrics().await),
        before,
        "blocked clients cost no database read"
    );
    // Even a good key from that address waits: the address is what is limited.
    problem(from("198.51.100.1", &read).await.unwrap(), 429).await;
    // Another address (the forwarded one, since the peer is a trusted proxy) is unaffected.
    assert_eq!(
        from("198.51.100.2", &read).await.unwrap().status(),
        StatusCode::OK
    );
    problem(from("198.51.100.2", &stranger).await.unwrap(), 401).await;
    app.handle.stop(true).await;
}

/// Every response carries the security headers; the page's script and the docs come from this
/// server, not a CDN, and the key is not kept in localStorage.
pub(super) async fn pages_are_self_contained(db: TestDb) {
    let app = start(&db).await;
    for path in ["/", "/docs", "/healthz", "/v1/series", "/v1//x", "/nope"] {
        let resp = app.call(Method::GET, path, None, None).await;
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("script-src 'self' 'unsafe"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
    }
    for page in ["/", "/docs"] {
        let html = app
            .call(Method::GET, page, None, None)
            .await
            .text()
            .await
            .unwrap();
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{page} loads from elsewhere: {html}"
        );
        let inline = html.matches("<script>").count() + html.matches("<script >").count();
        assert_eq!(inline, 0, "{page} has an inline script");
        for src in html
            .split("src=\"")
            .skip(1)
            .chain(html.split("href=\"").skip(1))
        {
            let url = &src[..src.find('"').unwrap()];
            if url.starts_with("/assets/") {
                let resp = app.call(Method::GET, url, None, None).await;
                assert_eq!(resp.status(), StatusCode::OK, "{page} -> {url}");
                assert!(resp.bytes().await.unwrap().len() > 100, "{url} is empty");
            }
        }
    }
    let script = app
        .call(Method::GET, "/assets/page.js", None, None)
        .await
        .text()
        .await
        .unwrap();
    assert!(!script.contains("localStorage") && script.contains("sessionStorage"));
    // The vendored bundle is served compressed to clients that take gzip, plain to the others.
    let gz = app
        .http
        .get(format!("{}/assets/vendor/swagger-ui-bundle.js", app.base))
        .header("Accept-Encoding", "identity")
        .send()
        .await
        .unwrap();
    assert!(gz.headers().get("content-encoding").is_none());
    let plain = gz.text().await.unwrap();
    assert!(plain.contains("SwaggerUIBundle"), "not the plain bundle");
    let resp = app
        .call(Method::GET, "/assets/../Cargo.toml", None, None)
        .await;
    assert!(resp.status().is_client_error());
    let _: Option<Value> = None;
    app.handle.stop(true).await;
}

/// Observation reads are pages of at most 10,000 items whatever the series' length, raw or
/// resampled; following `next_cursor` returns every observation once, in order.
pub(super) async fn observation_reads_are_paged(db: TestDb) {
    let app = start(&db).await;
    let (_, write) = app.key("write", None).await;
    let resp = app
        .call(
            Method::PUT,
            "/v1/series/long",
            Some(&write),
            Some(json!({"entity": "x", "metric": "m", "frequency": "1h"})),
        )
        .await;
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let n = 10_050usize;
    let items: Vec<Value> = (0..n)
        .map(|i| json!({"ts": t0 + Duration::hours(i as i64), "value": i as f64}))
        .collect();
    let resp = app
        .call(
            Method::POST,
            "/v1/series/long/observations",
            Some(&write),
            Some(json!({ "items": items })),
        )
        .await;
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());

    // The default page is bounded.
    let first: ObservationsDto = app.ok("/v1/series/long/observations", &write).await;
    assert_eq!(first.items.len(), 10_000);
    assert_eq!(first.next_cursor, Some(t0 + Duration::hours(10_000)));

    // Small pages, followed to the end.
    let mut seen = Vec::new();
    let mut cursor: Option<Timestamp> = None;
    let mut pages = 0;
    loop {
        let path = match cursor {
            None => "/v1/series/long/observations?limit=4000".to_owned(),
            Some(c) => format!(
                "/v1/series/long/observations?limit=4000&cursor={}",
                c.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        };
        let page: ObservationsDto = app.ok(&path, &write).await;
        assert!(page.items.len() <= 4000);
        seen.extend(page.items.iter().map(|o| o.value as usize));
        pages += 1;
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, (0..n).collect::<Vec<_>>());

    // Resampled: pages of buckets, each bucket whole.
    let days: ObservationsDto = app
        .ok(
            "/v1/series/long/observations?resample=day&agg=count&limit=3",
            &write,
        )
        .await;
    assert_eq!(days.items.len(), 3);
    assert!(days.items.iter().all(|b| b.value == 24.0), "{days:?}");
    assert_eq!(days.next_cursor, Some(t0 + Duration::days(3)));
    // Hourly buckets of hourly data: one value each, on the hour.
    let hours: ObservationsDto = app
        .ok(
            "/v1/series/long/observations?resample=hour&agg=sum&limit=5",
            &write,
        )
        .await;
    assert_eq!(hours.items.len(), 5);
    assert_eq!(hours.items[1].ts, t0 + Duration::hours(1));
    assert_eq!(hours.items[4].value, 4.0);
    let all_days: ObservationsDto = app
        .ok(
            "/v1/series/long/observations?resample=day&agg=count",
            &write,
        )
        .await;
    let total: f64 = all_days.items.iter().map(|b| b.value).sum();
    assert_eq!(total as usize, n);
    assert_eq!(all_days.next_cursor, None);
    for bad in ["limit=0", "limit=10001", "cursor=yesterday"] {
        let resp = app
            .get(&format!("/v1/series/long/observations?{bad}"), &write)
            .await;
        problem(resp, 400).await;
    }
    app.handle.stop(true).await;
}

/// A method a path does not have is 405 with the path's methods in `Allow`; an unknown path is
/// 404.
pub(super) async fn wrong_methods_are_405_with_allow(db: TestDb) {
    let app = start(&db).await;
    let (_, write) = app.key("write", None).await;
    for (method, path, allow) in [
        ("DELETE", "/v1/series/events-USA", "GET, PUT, PATCH"),
        (
            "DELETE",
            "/v1/forecasts/0193aaaa-0000-7000-8000-000000000000",
            "GET",
        ),
        ("PUT", "/v1/executions", "GET"),
        ("GET", "/v1/predict", "POST"),
    ] {
        let (status, text) = raw(&app.base, method, path, Some(&write), None).await;
        assert_eq!(status, 405, "{method} {path}: {text}");
        let head = text.to_ascii_lowercase();
        assert!(
            head.contains(&format!("allow: {}", allow.to_ascii_lowercase())),
            "{method} {path}: {text}"
        );
        assert!(text.contains("method-not-allowed"), "{text}");
    }
    let (status, _) = raw(&app.base, "DELETE", "/v1/nothing/here", Some(&write), None).await;
    assert_eq!(status, 404);
    app.handle.stop(true).await;
}

/// Query timestamps take what CSV ingest takes (a date, RFC 3339 with or without offset, Unix
/// seconds) and an offset whose `+` the URL turned into a space; a bad one names the parameter
/// and the accepted forms.
pub(super) async fn query_timestamps_take_every_form(db: TestDb) {
    let app = start(&db).await;
    seed(&app.store).await;
    let (_, read) = app.key("read", None).await;
    let (_, write) = app.key("write", None).await;
    // Five days around t0 (2026-01-05): two before it, t0 and two after.
    let items: Vec<Value> = (-2..=2)
        .map(|d| json!({"ts": t0() + Duration::days(d), "value": 1.0}))
        .collect();
    let resp = app
        .call(
            Method::POST,
            "/v1/series/events-USA/observations",
            Some(&write),
            Some(json!({ "items": items })),
        )
        .await;
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    for from in [
        "2026-01-05",
        "2026-01-05T00:00:00Z",
        "2026-01-05T02:00:00%2B02:00",
        "2026-01-05T02:00:00+02:00",
        "2026-01-05T00:00:00",
        "1767571200",
    ] {
        let path = format!("/v1/series/events-USA/observations?from={from}");
        let page: ObservationsDto = app.ok(&path, &read).await;
        let days: Vec<Timestamp> = page.items.iter().map(|o| o.ts).collect();
        assert_eq!(
            days,
            [t0(), t0() + Duration::days(1), t0() + Duration::days(2)],
            "{from}"
        );
    }
    let p = problem(
        app.get("/v1/series/events-USA/observations?to=yesterday", &read)
            .await,
        400,
    )
    .await;
    assert!(
        p.detail.contains("parameter to") && p.detail.contains("2026-10-10"),
        "{p:?}"
    );
    app.handle.stop(true).await;
}
