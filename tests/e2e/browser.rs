//! The dashboard in a real browser: Debian's Chromium, headless, driven over WebDriver
//! (chromedriver) against the real `horizon-api` on a database this test fills through the real
//! binaries (the demo's sample, forecast by the pipeline, plus 2,000 more series). Screenshots go
//! to `<target>/tmp/dashboard-screenshots/` (the test prints the path).
//!
//! Chromium and chromedriver come from `tests/chromium.sh`, which `.ci/run` calls first; when
//! they are missing the test runs that script itself (it installs Debian's packages as root), and
//! fails when it cannot, unless servers are optional (`HORIZON_TEST_REQUIRE_SERVERS` unset).

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator};
use horizon_e2e::{Env, TestDb, free_port, wait_healthy};
use horizon_test_support::require_servers;
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Where Chromium and chromedriver are, installing them when missing.
fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let find = |name: &str| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
    };
    if find("chromium").is_none() || find("chromedriver").is_none() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("chromium.sh");
        let installed = Command::new("bash")
            .arg(&script)
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            assert!(
                !require_servers(),
                "HORIZON_TEST_REQUIRE_SERVERS=1 but chromium/chromedriver are missing and \
                 {} could not install them",
                script.display()
            );
            eprintln!("skipped: chromium and chromedriver are not installed");
            return None;
        }
    }
    Some((find("chromium")?, find("chromedriver")?))
}

/// chromedriver on a free port, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn browser(dir: &Path) -> Option<(Driver, Client)> {
    let (chromium, chromedriver) = browser_binaries()?;
    let port = free_port();
    let driver = Driver(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver"),
    );
    let profile = dir.join("chromium-profile");
    // The flags keep a headless Chromium from calling out to Google's services (this machine's
    // network refuses them) and from needing a GPU or a sandbox (the tests may run as root).
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1400,1100",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let mut last = None;
    for _ in 0..50 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return Some((driver, client)),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no WebDriver session from chromedriver at {url}: {last:?}");
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("running {script:?} in the page: {e}"))
}

/// Waits until `script` returns something truthy; returns it.
async fn until(c: &Client, what: &str, script: &str) -> Value {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let v = js(c, script).await;
        let truthy =
            !matches!(&v, Value::Null | Value::Bool(false)) && v != json!(0) && v != json!("");
        if truthy {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            let error = js(c, "return document.getElementById('error').textContent").await;
            let view = js(c, "return document.getElementById('view').innerText").await;
            panic!("timed out waiting for {what}; error banner {error}, view:\n{view}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens `url` and waits until `script` returns something truthy; returns it.
async fn visit(c: &Client, url: &str, what: &str, script: &str) -> Value {
    c.goto(url).await.unwrap();
    until(c, what, script).await
}

async fn screenshot(c: &Client, dir: &Path, name: &str) {
    let png = c.screenshot().await.expect("taking a screenshot");
    std::fs::write(dir.join(name), png).expect("writing a screenshot");
}

async fn sign_in(c: &Client, key: &str) {
    let field = c.find(Locator::Id("key")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(key).await.unwrap();
    c.find(Locator::Id("signin-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// What the fan chart of the open series shows, read from the page: the axis labels it drew,
/// its bands and thresholds, the legend, and how many of the canvas' pixels carry the band
/// colour and the first threshold's colour.
const FAN_FACTS: &str = r#"
const fan = document.getElementById('fan');
const canvas = fan.querySelector('canvas');
const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
let band = 0, threshold = 0;
for (let i = 0; i < d.length; i += 4) {
  const [r, g, b, a] = [d[i], d[i + 1], d[i + 2], d[i + 3]];
  // the interval fill: #2171b5 at 16-32% opacity on a transparent canvas
  if (a > 20 && a < 160 && Math.abs(r - 33) < 14 && Math.abs(g - 113) < 14 && Math.abs(b - 181) < 14) band++;
  // the first threshold line: #a50f15, opaque
  if (a > 200 && r > 130 && g < 60 && b < 60) threshold++;
}
return {
  xTicks: fan.dataset.xTicks || '', yLabel: fan.dataset.yLabel || '',
  bands: fan.dataset.bands || '', thresholds: fan.dataset.thresholds || '',
  legend: fan.querySelector('.u-legend') ? fan.querySelector('.u-legend').innerText : '',
  members: document.querySelectorAll('table.members tbody tr').length,
  membersText: document.querySelector('table.members') ? document.querySelector('table.members').innerText : '',
  thresholdRows: document.querySelectorAll('table.thresholds tbody tr').length,
  exceedance: !!document.querySelector('#exceedance canvas'),
  meta: document.querySelector('#view .meta') ? document.querySelector('#view .meta').innerText : '',
  bandPixels: band, thresholdPixels: threshold,
};"#;

async fn open_series(c: &Client, base: &str, key: &str) -> Value {
    visit(
        c,
        &format!("{base}/#/series/{key}"),
        &format!("the fan chart of {key}"),
        &format!(
            "const h = document.querySelector('#view h2'); const f = document.getElementById('fan'); \
             return h && h.textContent === '{key}' && f && f.dataset.ready === '1' && f.dataset.xTicks"
        ),
    )
    .await;
    js(c, FAN_FACTS).await
}

/// Everything a forecaster reads off a series page is there and drawn.
fn assert_readable(key: &str, facts: &Value, unit: &str, sub_daily: bool) {
    let s = |k: &str| facts[k].as_str().unwrap_or_default().to_owned();
    let n = |k: &str| facts[k].as_u64().unwrap_or_default();
    let ticks = s("xTicks");
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    assert!(
        months.iter().any(|m| ticks.contains(m)) && ticks.chars().any(|c| c.is_ascii_digit()),
        "{key}: the time axis has no dates: {ticks:?}"
    );
    assert_eq!(
        ticks.contains(':'),
        sub_daily,
        "{key}: hours on the axis exactly for sub-daily steps: {ticks:?}"
    );
    assert!(
        s("yLabel").contains(&format!("({unit})")),
        "{key}: no unit on the value axis: {facts}"
    );
    assert_eq!(s("bands"), "95,80", "{key}: {facts}");
    assert!(
        n("bandPixels") > 500,
        "{key}: the interval bands are not drawn: {facts}"
    );
    let legend = s("legend");
    for label in ["history", "95% upper", "80% lower", "median", "threshold"] {
        assert!(
            legend.contains(label),
            "{key}: legend lacks {label:?}: {legend}"
        );
    }
    assert!(
        !s("thresholds").is_empty() && n("thresholdRows") >= 1 && facts["exceedance"] == true,
        "{key}: no threshold or exceedance probabilities: {facts}"
    );
    assert!(
        n("thresholdPixels") > 100,
        "{key}: the threshold line is not drawn: {facts}"
    );
    assert!(
        n("members") >= 1 && s("membersText").contains('%'),
        "{key}: no members table with weights: {facts}"
    );
}

const SAMPLE_SERIES: &str = include_str!("../../samples/demo/series.csv");

/// Writes actuals through the API.
struct Actuals {
    http: reqwest::Client,
    base: String,
    read: String,
    write: String,
}

impl Actuals {
    /// Posts a predict job for `key` and waits until it succeeded; returns its execution id.
    async fn predict(&self, key: &str) -> String {
        let accepted: Value = self
            .http
            .post(format!("{}/v1/predict", self.base))
            .bearer_auth(&self.write)
            .json(&json!({ "series": [key] }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = accepted["execution_id"].as_str().unwrap().to_owned();
        for _ in 0..300 {
            let e: Value = self
                .http
                .get(format!("{}/v1/executions/{id}", self.base))
                .bearer_auth(&self.read)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            match e["status"].as_str() {
                Some("succeeded") => return id,
                Some("failed") => panic!("the predict job failed: {e}"),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        panic!("the predict job {id} did not finish in 30 s");
    }

    /// Values for the first `steps` steps of `key`'s latest forecast (at its mean, give or
    /// take 15%), posted as observations.
    async fn post(&self, key: &str, steps: usize) {
        let latest: Value = self
            .http
            .get(format!("{}/v1/series/{key}/forecasts/latest", self.base))
            .bearer_auth(&self.read)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items: Vec<Value> = latest["steps"].as_array().unwrap()[..steps]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let wiggle = 1.0 + 0.15 * (i as f64 * 1.7 + key.len() as f64).sin();
                json!({"ts": s["target_at"], "value": s["mean"].as_f64().unwrap() * wiggle})
            })
            .collect();
        let posted = self
            .http
            .post(format!("{}/v1/series/{key}/observations", self.base))
            .bearer_auth(&self.write)
            .json(&json!({ "items": items }))
            .send()
            .await
            .unwrap();
        assert!(posted.status().is_success(), "{:?}", posted.text().await);
    }
}

async fn dashboard_in_a_real_browser(db: TestDb) {
    let mut env = Env::for_db(&db);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let Some((_driver, c)) = browser(env.dir()).await else {
        return;
    };

    // The demo's sample (countries, SKUs, solar plants), forecast by the real pipeline.
    let (ok, out, err) = env.output("horizon", &["demo", "--no-serve"]);
    assert!(ok, "horizon demo --no-serve failed:\n{out}\n{err}");
    // 2,000 more series for the search to find one among.
    let mut csv = String::from("key,entity,metric,unit\n");
    for i in 0..2_000 {
        let _ = writeln!(csv, "store-{i:04},STORE-{i:04},units_sold,units");
    }
    let file = env.dir().join("stores.csv");
    std::fs::write(&file, csv).unwrap();
    let (ok, log) = env.run(
        "horizon-ingest",
        &["once", "--series", &file.display().to_string()],
    );
    assert!(ok, "loading 2,000 series failed:\n{log}");

    let port = free_port();
    env.set("HORIZON_API_BIND", &format!("127.0.0.1:{port}"));
    // All-in-one: the API works the jobs posted to it.
    env.set("HORIZON_API_WORKER", "true");
    let base = format!("http://127.0.0.1:{port}");
    let mut api = env.spawn("horizon-api", &[]);
    assert!(
        wait_healthy(&format!("{base}/healthz"), Duration::from_secs(60)).await,
        "api did not become healthy: {}",
        api.log_text()
    );
    let read = env.create_key("read");
    let write = env.create_key("read,write");

    // Actuals that arrive after the forecast was issued: the first five steps of USA's.
    let actuals = Actuals {
        http: reqwest::Client::new(),
        base: base.clone(),
        read: read.clone(),
        write,
    };
    actuals.post("events-USA", 5).await;

    // A bad key: the page says it was refused.
    c.goto(&format!("{base}/")).await.unwrap();
    sign_in(&c, "hzn_this-key-does-not-exist").await;
    let error = until(
        &c,
        "the refused-key banner",
        "const e = document.getElementById('error'); return !e.hidden && e.textContent",
    )
    .await;
    assert!(error.as_str().unwrap().contains("refused (401)"), "{error}");
    screenshot(&c, &shots, "bad-key.png").await;
    let kept = js(&c, "return sessionStorage.getItem('horizon-key')").await;
    assert_eq!(kept, Value::Null, "a refused key is forgotten");
    let stored = js(&c, "return localStorage.length + document.cookie.length").await;
    assert_eq!(stored, json!(0), "nothing in localStorage or cookies");

    // The right key: the browser lists series; the search finds one among 2,030 on the server.
    sign_in(&c, &read).await;
    let kept = js(&c, "return sessionStorage.getItem('horizon-key')").await;
    assert_eq!(
        kept,
        json!(read),
        "the key lives in the tab's session storage"
    );
    let stored = js(&c, "return localStorage.length + document.cookie.length").await;
    assert_eq!(stored, json!(0), "never in localStorage or a cookie");
    until(
        &c,
        "the first page of series",
        "return document.querySelectorAll('#results li').length === 50 \
         && document.getElementById('count').textContent === '50+ series'",
    )
    .await;
    // A hand-edited address with a malformed escape is an error on the page, not a dead page.
    let error = visit(
        &c,
        &format!("{base}/#/series/%E0%A4%A"),
        "the malformed-address banner",
        "const e = document.getElementById('error'); return !e.hidden && e.textContent",
    )
    .await;
    assert!(error.as_str().unwrap().contains("malformed"), "{error}");
    c.find(Locator::Id("q"))
        .await
        .unwrap()
        .send_keys("ORE-1234")
        .await
        .unwrap();
    until(
        &c,
        "the search result",
        "const li = document.querySelectorAll('#results li'); \
         return li.length === 1 && li[0].dataset.key === 'store-1234' \
         && document.getElementById('count').textContent === '1 series'",
    )
    .await;
    screenshot(&c, &shots, "search.png").await;
    // filters narrow on the server too: the class filter finds the plants the pipeline classed
    c.find(Locator::Id("q"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    c.find(Locator::Id("f-metric"))
        .await
        .unwrap()
        .send_keys("ac_power")
        .await
        .unwrap();
    until(
        &c,
        "the real PV plant",
        "const li = [...document.querySelectorAll('#results li')].map(l => l.dataset.key); \
         return li.length === 1 && li[0] === 'pvdaq50_serf_east_2016'",
    )
    .await;

    // A solar plant, a SKU and a country: each chart drawn and readable.
    let solar = open_series(&c, &base, "pvdaq50_serf_east_2016").await;
    assert_readable("pvdaq50_serf_east_2016", &solar, "W", true);
    assert!(
        solar["xTicks"].as_str().unwrap().len() > 5,
        "the plant: {solar}"
    );
    // The weather forecasts it used, by name, with their issue.
    let used = js(
        &c,
        "return [...document.querySelectorAll('table.covariates tbody tr')] \
         .map(r => r.textContent).join(' | ')",
    )
    .await;
    let used = used.as_str().unwrap_or_default();
    assert!(
        used.contains("ghi") && used.contains("temp_air") && used.contains("solar_qr"),
        "covariates used: {used}"
    );
    screenshot(&c, &shots, "solar.png").await;
    // The SKU after an ad-hoc predict job (the API's job, not the pipeline's run).
    let job = actuals.predict("sku-1003").await;
    let sku = open_series(&c, &base, "sku-1003").await;
    assert_readable("sku-1003", &sku, "units", false);
    // The whole execution id (the link's), not the 8 characters shown: ids made within the
    // same minute share them, which let the latest scheduled forecast pass for the job's.
    let drawn_by = js(
        &c,
        "const a = document.querySelector('a[href^=\"#/executions/\"]'); return a && a.getAttribute('href')",
    )
    .await;
    assert_eq!(
        drawn_by.as_str(),
        Some(format!("#/executions/{job}").as_str()),
        "sku-1003 not drawn from the job's forecast {job}: {sku}"
    );
    screenshot(&c, &shots, "sku.png").await;
    let country = open_series(&c, &base, "events-USA").await;
    assert_readable("events-USA", &country, "events", false);
    assert!(
        country["meta"]
            .as_str()
            .unwrap()
            .contains("5 actuals arrived since"),
        "events-USA: {country}"
    );
    assert!(
        country["legend"]
            .as_str()
            .unwrap()
            .contains("actual after issue"),
        "{country}"
    );
    screenshot(&c, &shots, "country.png").await;

    // The pipeline's execution and its step log.
    visit(
        &c,
        &format!("{base}/#/executions"),
        "the executions table",
        "return document.querySelectorAll('table.executions tbody tr').length",
    )
    .await;
    c.find(Locator::Css("table.executions tbody tr a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let steps = until(
        &c,
        "an execution's step log",
        "const rows = document.querySelectorAll('table.steps tbody tr'); \
         return rows.length >= 3 && document.querySelector('table.steps').innerText",
    )
    .await;
    assert!(steps.as_str().unwrap().contains("succeeded"), "{steps}");
    screenshot(&c, &shots, "execution.png").await;

    // Two more days of actuals for every country, each followed by a pipeline run that scores
    // the forecasts against them and recalibrates: the calibration page charts both updates.
    let countries: Vec<String> = (1..=12)
        .map(|i| {
            let line = SAMPLE_SERIES.lines().nth(i).unwrap();
            line.split(',').next().unwrap().to_owned()
        })
        .collect();
    assert!(
        countries.iter().all(|k| k.starts_with("events-")),
        "{countries:?}"
    );
    for round in 0..2 {
        for key in &countries {
            // (USA's first five are in already, with the same values: rewriting them is a no-op)
            actuals.post(key, 7).await;
        }
        let (ok, log) = env.run("horizon-pipeline", &["run", "--wait"]);
        assert!(ok, "pipeline run {round} failed:\n{log}");
    }
    let charts = visit(
        &c,
        &format!("{base}/#/calibration"),
        "the calibration charts",
        "const ready = [...document.querySelectorAll('#view .chart')].filter(c => c.dataset.ready === '1' && c.querySelector('canvas')); \
         return ready.length >= 2 && document.querySelectorAll('table.weights tbody tr').length >= 1 && ready.length",
    )
    .await;
    let legend = js(
        &c,
        "return [...document.querySelectorAll('#view .u-legend')].map(l => l.innerText).join(' | ')",
    )
    .await;
    let legend = legend.as_str().unwrap();
    assert!(
        legend.contains("80% interval") && legend.contains("ets"),
        "{charts}: {legend}"
    );
    screenshot(&c, &shots, "calibration.png").await;

    // The API's docs render from the bundled Swagger UI (no CDN, same CSP).
    visit(
        &c,
        &format!("{base}/docs"),
        "Swagger UI's operations",
        "return document.querySelectorAll('.opblock').length >= 20",
    )
    .await;

    c.close().await.unwrap();
    assert!(api.terminate(), "api: {}", api.log_text());
    eprintln!("dashboard screenshots in {}", shots.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_draws_forecasts_finds_series_and_refuses_a_bad_key() {
    // PostgreSQL when it is configured (production's store), else the embedded default.
    let db = match TestDb::postgres().await {
        Some(db) => db,
        None => TestDb::sqlite().await,
    };
    dashboard_in_a_real_browser(db).await;
}
