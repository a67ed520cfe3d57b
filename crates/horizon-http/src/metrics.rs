//! Prometheus metrics: request counts and latency histograms by route pattern, method and
//! status, and the database pool's size. A mutex-guarded map is enough at API request rates
//! (one short critical section per request) and spares a metrics framework.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use actix_web::{
    Error,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    web,
};
use horizon_store::OperatorCounts;
use uuid::Uuid;

use crate::AppState;

const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request metrics.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Series>>,
    key_lookups: AtomicU64,
    /// The operator counts of the last scrape and when they were read.
    operator: tokio::sync::Mutex<Option<(Instant, OperatorCounts)>>,
}

/// How long the counts read from the database serve scrapes: `/metrics` is open to anyone
/// who reaches the port, and a scrape storm must cost the database one read per interval.
const OPERATOR_COUNTS_TTL: std::time::Duration = std::time::Duration::from_secs(10);

impl Metrics {
    /// The operator counts, read at most once per [`OPERATOR_COUNTS_TTL`]; `None` when the
    /// database does not answer (the scrape still shows the process's own metrics).
    pub async fn operator_counts(&self, store: &horizon_store::Store) -> Option<OperatorCounts> {
        let mut held = self.operator.lock().await;
        if let Some((at, counts)) = held.as_ref()
            && at.elapsed() < OPERATOR_COUNTS_TTL
        {
            return Some(counts.clone());
        }
        match store.operator_counts().await {
            Ok(counts) => {
                *held = Some((Instant::now(), counts.clone()));
                Some(counts)
            }
            Err(e) => {
                tracing::warn!(error = %e, "operator metrics not read");
                None
            }
        }
    }
}

/// The operator metrics in the text exposition: runs, jobs, partitions, ingest rows and the
/// age of the stalest forecast per class, for alerts ("a run failed", "forecasts older than a
/// day").
pub fn render_operator(counts: &OperatorCounts, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut out = String::new();
    out.push_str("# HELP horizon_pipeline_runs_total Pipeline runs by status.\n");
    out.push_str("# TYPE horizon_pipeline_runs_total counter\n");
    for (kind, status, n) in &counts.executions {
        if kind == "pipeline" {
            let _ = writeln!(
                out,
                "horizon_pipeline_runs_total{{status=\"{status}\"}} {n}"
            );
        }
    }
    out.push_str("# HELP horizon_jobs_total API jobs by kind and status.\n");
    out.push_str("# TYPE horizon_jobs_total counter\n");
    for (kind, status, n) in &counts.executions {
        if kind != "pipeline" {
            let _ = writeln!(
                out,
                "horizon_jobs_total{{kind=\"{kind}\",status=\"{status}\"}} {n}"
            );
        }
    }
    out.push_str("# HELP horizon_partitions_total Pipeline partitions by status.\n");
    out.push_str("# TYPE horizon_partitions_total counter\n");
    for (status, n) in &counts.partitions {
        let _ = writeln!(out, "horizon_partitions_total{{status=\"{status}\"}} {n}");
    }
    out.push_str("# HELP horizon_ingest_records_total Ingested rows by source and outcome (the busiest sources).\n");
    out.push_str("# TYPE horizon_ingest_records_total counter\n");
    for (source, landed, rejected) in &counts.ingest_records {
        let source = label_value(source);
        let _ = writeln!(
            out,
            "horizon_ingest_records_total{{source=\"{source}\",outcome=\"landed\"}} {landed}"
        );
        let _ = writeln!(
            out,
            "horizon_ingest_records_total{{source=\"{source}\",outcome=\"rejected\"}} {rejected}"
        );
    }
    out.push_str("# HELP horizon_forecast_age_seconds Age of the stalest newest scheduled forecast among the series of a class.\n");
    out.push_str("# TYPE horizon_forecast_age_seconds gauge\n");
    for (class, at) in &counts.oldest_forecast {
        let age = (now - *at).num_milliseconds().max(0) as f64 / 1000.0;
        let _ = writeln!(
            out,
            "horizon_forecast_age_seconds{{class=\"{}\"}} {age}",
            label_value(class)
        );
    }
    out
}

/// A label value escaped as the text format asks (backslash, quote, newline).
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Counts one API key read from the database (a key-cache miss).
    pub fn count_key_lookup(&self) {
        self.key_lookups.fetch_add(1, Ordering::Relaxed);
    }

    fn observe(&self, route: String, method: String, status: u16, secs: f64) {
        let mut map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let s = map.entry((route, method, status)).or_default();
        s.count += 1;
        s.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, pool: Option<(u32, u32)>, redis: Option<crate::RedisCalls>) -> String {
        let map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP horizon_http_requests_total HTTP requests handled.\n");
        out.push_str("# TYPE horizon_http_requests_total counter\n");
        for ((route, method, status), s) in map.iter() {
            let _ = writeln!(
                out,
                "horizon_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        out.push_str("# HELP horizon_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE horizon_http_request_duration_seconds histogram\n");
        for ((route, method, status), s) in map.iter() {
            let labels = format!("route=\"{route}\",method=\"{method}\",status=\"{status}\"");
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "horizon_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "horizon_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "horizon_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "horizon_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out.push_str("# HELP horizon_api_key_lookups_total API keys read from the database (key cache misses).\n");
        out.push_str("# TYPE horizon_api_key_lookups_total counter\n");
        let _ = writeln!(
            out,
            "horizon_api_key_lookups_total {}",
            self.key_lookups.load(Ordering::Relaxed)
        );
        if let Some(r) = redis {
            out.push_str("# HELP horizon_redis_calls_total Redis calls by outcome (skipped: the circuit breaker was open).\n");
            out.push_str("# TYPE horizon_redis_calls_total counter\n");
            for (outcome, n) in [
                ("attempted", r.attempted),
                ("failed", r.failed),
                ("skipped", r.skipped),
            ] {
                let _ = writeln!(
                    out,
                    "horizon_redis_calls_total{{outcome=\"{outcome}\"}} {n}"
                );
            }
        }
        if let Some((size, idle)) = pool {
            out.push_str("# HELP horizon_db_pool_connections Database pool connections.\n");
            out.push_str("# TYPE horizon_db_pool_connections gauge\n");
            let _ = writeln!(out, "horizon_db_pool_connections{{state=\"open\"}} {size}");
            let _ = writeln!(out, "horizon_db_pool_connections{{state=\"idle\"}} {idle}");
        }
        out
    }
}

/// The method as a label from a closed set: a client can send any token as a method, and each
/// would otherwise become a series of its own.
fn method_label(method: &actix_web::http::Method) -> String {
    use actix_web::http::Method;
    const KNOWN: [Method; 8] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
    ];
    if KNOWN.contains(method) {
        method.as_str().to_owned()
    } else {
        "other".to_owned()
    }
}

/// Middleware: gives each request an id (the client's `X-Request-Id` when sane, else a new
/// one), echoes it in the response for the access log, and records the request's metrics.
pub(crate) async fn observe(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| Uuid::now_v7().to_string());
    let header_value = HeaderValue::from_str(&id).ok();
    if let Some(v) = &header_value {
        // On the request too, so the access log (an inner layer) can print it.
        req.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), v.clone());
    }
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = method_label(req.method());
    let span = tracing::info_span!("request", request_id = %id);
    let result = tracing::Instrument::instrument(next.call(req), span).await;
    let (route, status) = match &result {
        Ok(res) => (
            res.request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned()),
            res.status().as_u16(),
        ),
        Err(e) => (
            "unmatched".to_owned(),
            e.as_response_error().status_code().as_u16(),
        ),
    };
    if let Some(state) = state {
        state
            .metrics
            .observe(route, method, status, started.elapsed().as_secs_f64());
    }
    let mut res = result?;
    if let Some(v) = header_value {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}
