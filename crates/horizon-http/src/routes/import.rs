//! Files of observations over HTTP: `POST /v1/observations:import`.
//!
//! The body is spooled to a temporary file beside the event store as it arrives (memory stays
//! one chunk whatever the size), counted against `HORIZON_API_MAX_IMPORT_BYTES`, then ingested
//! exactly as `horizon-ingest once` ingests a file: landed in the event store (deduplicated,
//! crash-safe), rolled up into the shared database, recorded as an ingest run with its
//! rejections.

use futures_util::StreamExt;
use horizon_services::ingest::parquet::CsvRows;
use horizon_settings::IngestFormat;
use tokio::io::AsyncWriteExt;

use super::*;

/// Rejections listed in the answer; all are stored with the run.
const REJECTIONS_LISTED: usize = 100;

/// The media types the import reads.
const CSV: &str = "text/csv";
const PARQUET: &str = "application/vnd.apache.parquet";

#[utoipa::path(summary = "Import a file of observations", tag = "observations",
    description = "A long-format file (`unique_id,ds,y`, the format of `horizon-ingest once`) as the body: \
        CSV (`Content-Type: text/csv`) or Parquet (`application/vnd.apache.parquet`; `ds` a timestamp, a date, \
        Unix seconds or text), up to `HORIZON_API_MAX_IMPORT_BYTES` (default 256 MiB), streamed to disk. \
        Unknown series are created with default metadata and listed; bad records are set aside with their line \
        and reason, and the rest is kept. Sending the same file again changes nothing.",
    request_body(content((String = "text/csv"), (Vec<u8> = "application/vnd.apache.parquet")),
        description = "unique_id,ds,y"),
    security(("api_key" = [])),
    responses((status = 200, description = "what was read, written, created and set aside", body = ImportResult),
        (status = 415, description = "neither CSV nor Parquet", body = Problem, content_type = "application/problem+json")))]
#[post("/v1/observations:import")]
pub(super) async fn import_observations(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let parquet = match media.as_deref() {
        Some(CSV) => false,
        Some(PARQUET) => true,
        other => {
            return Err(ApiError::unsupported_media_type(format!(
                "Content-Type {}: the import reads {CSV} or {PARQUET} (unique_id,ds,y)",
                other.map_or("missing".to_owned(), |m| format!("{m:?}"))
            )));
        }
    };
    let limit = state.settings.api_max_import_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let dir = spool_dir(&state.settings.event_store_path);
    let spool = tempfile::Builder::new()
        .prefix(".import-")
        .tempfile_in(&dir)
        .map_err(|e| spool_error(&dir, e))?;
    let mut file = tokio::fs::File::from_std(spool.reopen().map_err(|e| spool_error(&dir, e))?);
    let mut bytes: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::invalid(format!("reading the body: {e}")))?;
        bytes += chunk.len() as u64;
        if bytes > limit {
            return Err(too_large(limit));
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| spool_error(&dir, e))?;
    }
    file.flush().await.map_err(|e| spool_error(&dir, e))?;
    drop(file);
    let source = match req.extensions().get::<Principal>() {
        Some(p) => format!("api:{}", p.key_id),
        None => "api".to_owned(),
    };
    let file = spool.reopen().map_err(|e| spool_error(&dir, e))?;
    let reader: Box<dyn std::io::Read + Send> = if parquet {
        // Its footer is read here; a file that is not Parquet is a 400 naming why.
        let source = source.clone();
        Box::new(
            tokio::task::spawn_blocking(move || CsvRows::open(file, &source))
                .await
                .map_err(|e| ApiError::unavailable(format!("reading the upload: {e}")))??,
        )
    } else {
        Box::new(file)
    };
    let report = horizon_services::ingest::ingest_reader(
        &state.store,
        &state.settings,
        &source,
        reader,
        IngestFormat::Csv,
    )
    .await?;
    // `spool` is removed when dropped, here or on any early return above.
    drop(spool);
    let run = &report.run;
    Ok(json_ok(&ImportResult {
        run_id: run.id,
        bytes,
        rows_read: run.rows_read,
        rows_landed: run.rows_landed,
        rows_rolled_up: run.rows_rolled_up,
        rows_rejected: run.rows_rejected,
        series_created: report.created.keys.iter().map(|k| k.to_string()).collect(),
        series_created_count: report.created.count,
        rejections: report
            .rejections
            .iter()
            .take(REJECTIONS_LISTED)
            .map(|r| ImportRejection {
                line: r.line,
                reason: r.reason.clone(),
            })
            .collect(),
    }))
}

fn too_large(limit: u64) -> ApiError {
    ApiError::too_large(format!(
        "the file is larger than HORIZON_API_MAX_IMPORT_BYTES ({limit} bytes); split it or \
         raise the limit"
    ))
}

/// The directory of the event store (the import's spool lives on the same disk).
fn spool_dir(event_store: &std::path::Path) -> std::path::PathBuf {
    match event_store.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

/// The spool could not be written (disk full, no permission): the server's fault, so 503 —
/// nothing of the file was stored.
fn spool_error(dir: &std::path::Path, e: std::io::Error) -> ApiError {
    tracing::error!(dir = %dir.display(), error = %e, "import spool failed");
    ApiError::unavailable(format!(
        "the upload could not be stored on the server ({}); nothing was imported",
        e.kind()
    ))
}
