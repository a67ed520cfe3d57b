//! The ingest daemon: cycles over the configured sources (watched directories, HTTP feeds),
//! lands their records in the event store, acknowledges them — a file moves to `processed/`, a
//! feed's cursor advances — only once they are committed there, then rolls everything landed
//! up into the shared database. One `ingest_runs` row per cycle and source that had input.
//!
//! A file that cannot be read as a whole (not a zip, empty, no header) moves to `failed/` with
//! a dead-letter row; bad records inside a good file are set aside one by one. A crash at any
//! point loses nothing: an unacknowledged file is landed again (identical records are no-ops)
//! and roll-ups recompute from the event store behind their watermarks.

use std::{
    collections::HashMap,
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use horizon_domain::{IngestRejection, IngestRun, IngestStatus};
use horizon_settings::{IngestSource, Settings};
use horizon_store::{Store, event_store::EventStore};
use tokio::sync::Notify;

use super::{
    ROLLUP_WATERMARK, open_event_store, roll_up,
    rollup::{GDELT_WATERMARK, SeriesIds, roll_up_gdelt},
    source::{LandCtx, Landed, issued_at_from_name, land_file},
};
use crate::ServiceError;

/// Folder (inside a watched directory) that ingested files move to.
pub const PROCESSED_DIR: &str = "processed";
/// Folder (inside a watched directory) that unusable files move to.
pub const FAILED_DIR: &str = "failed";

/// What one cycle did, per source that had input.
#[derive(Debug, Clone, Default)]
pub struct CycleReport {
    /// The runs, one per source with input.
    pub runs: Vec<IngestRun>,
}

/// The daemon's state across cycles.
pub struct Ingestor {
    store: Store,
    settings: Settings,
    events: Arc<Mutex<EventStore>>,
    ids: SeriesIds,
    stop: Arc<AtomicBool>,
    wake: Arc<Notify>,
    next_poll: HashMap<String, Instant>,
    http: reqwest::Client,
    last_retention: Option<Instant>,
    /// Progress bars, when stderr is a terminal (interactive backfills).
    progress: Option<indicatif::MultiProgress>,
    /// A cycle failed, possibly leaving its run marked running (its database write was what
    /// failed); the next cycle closes such runs first.
    runs_left_open: bool,
}

impl Ingestor {
    /// Opens the event store, checks every source's pattern and closes the runs of these
    /// sources that a stopped process left running (a source belongs to one ingest process,
    /// the one whose event store holds its cursor).
    pub async fn new(store: Store, settings: Settings) -> Result<Self, ServiceError> {
        let started = chrono::Utc::now();
        for s in &settings.ingest_sources {
            glob::Pattern::new(&s.glob).map_err(|e| ServiceError::Input {
                path: format!("source {}", s.name),
                reason: format!("glob {:?}: {e}", s.glob),
            })?;
        }
        let events = open_event_store(settings.event_store_path.clone()).await?;
        let names: Vec<String> = settings
            .ingest_sources
            .iter()
            .map(|s| s.name.clone())
            .collect();
        let abandoned = store.abandon_ingest_runs(&names, started).await?;
        if abandoned > 0 {
            tracing::warn!(
                runs = abandoned,
                "closed ingest runs left running by a stopped process"
            );
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| ServiceError::Internal(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            store,
            settings,
            events,
            ids: SeriesIds::default(),
            stop: Arc::new(AtomicBool::new(false)),
            wake: Arc::new(Notify::new()),
            next_poll: HashMap::new(),
            http,
            last_retention: None,
            progress: std::io::stderr()
                .is_terminal()
                .then(indicatif::MultiProgress::new),
            runs_left_open: false,
        })
    }

    /// A handle that stops the daemon after the current transaction.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            stop: self.stop.clone(),
            wake: self.wake.clone(),
        }
    }

    /// Runs cycles until stopped. A failing cycle is logged and retried on the next one.
    pub async fn run(&mut self) -> Result<(), ServiceError> {
        let interval = Duration::from_millis(self.settings.ingest_poll_interval_ms);
        tracing::info!(
            sources = self.settings.ingest_sources.len(),
            poll_ms = self.settings.ingest_poll_interval_ms,
            "ingest daemon started"
        );
        while !self.stopping() {
            if let Err(e) = self.cycle().await {
                tracing::error!(error = %e, "ingest cycle failed; retrying next cycle");
                self.runs_left_open = true;
            }
            if self.stopping() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = self.wake.notified() => {}
            }
        }
        tracing::info!("ingest daemon stopped");
        Ok(())
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// One cycle over every source (feeds only when due), then retention when due.
    pub async fn cycle(&mut self) -> Result<CycleReport, ServiceError> {
        if self.runs_left_open {
            let names: Vec<String> = self
                .settings
                .ingest_sources
                .iter()
                .map(|s| s.name.clone())
                .collect();
            let closed = self
                .store
                .abandon_ingest_runs(&names, chrono::Utc::now())
                .await?;
            if closed > 0 {
                tracing::warn!(
                    runs = closed,
                    "closed ingest runs a failed cycle left running"
                );
            }
            self.runs_left_open = false;
        }
        let mut report = CycleReport::default();
        let sources = self.settings.ingest_sources.clone();
        for source in &sources {
            if self.stopping() {
                break;
            }
            let run = match (&source.dir, &source.url) {
                (Some(dir), _) => self.dir_cycle(source, dir).await?,
                (None, Some(url)) => self.feed_cycle(source, url).await?,
                (None, None) => None,
            };
            report.runs.extend(run);
        }
        // Work landed by an earlier, interrupted process is rolled up even without new input.
        if !self.stopping() {
            self.roll_up_all().await?;
            self.retention().await?;
        }
        Ok(report)
    }

    async fn roll_up_all(&mut self) -> Result<i64, ServiceError> {
        let cutoff = self.cutoff_day();
        let started = Instant::now();
        let obs = roll_up(&self.store, &self.events).await?;
        let gdelt = roll_up_gdelt(
            &self.store,
            &self.events,
            &mut self.ids,
            cutoff,
            &self.stop,
            self.progress.as_ref(),
        )
        .await?;
        if obs + gdelt > 0 {
            tracing::info!(
                observations = obs,
                gdelt_observations = gdelt,
                secs = started.elapsed().as_secs_f64(),
                "rolled up"
            );
        }
        Ok(obs + gdelt)
    }

    fn cutoff_day(&self) -> Option<i64> {
        let days = self.settings.ingest_retention_days;
        (days > 0).then(|| chrono::Utc::now().timestamp().div_euclid(86_400) - days as i64)
    }

    async fn retention(&mut self) -> Result<(), ServiceError> {
        let Some(cutoff) = self.cutoff_day() else {
            return Ok(());
        };
        if self
            .last_retention
            .is_some_and(|t| t.elapsed() < Duration::from_secs(3_600))
        {
            return Ok(());
        }
        self.last_retention = Some(Instant::now());
        let events = self.events.clone();
        let deleted = tokio::task::spawn_blocking(move || {
            let es = events
                .lock()
                .map_err(|_| ServiceError::Internal("event store lock poisoned".into()))?;
            es.apply_retention(cutoff, ROLLUP_WATERMARK, GDELT_WATERMARK)
                .map_err(ServiceError::from)
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("retention task: {e}")))??;
        tracing::info!(
            deleted,
            cutoff_day = cutoff,
            "event store retention applied"
        );
        Ok(())
    }

    fn ctx(&self, source: String, run: &IngestRun) -> LandCtx {
        LandCtx {
            events: self.events.clone(),
            source,
            run_id: run.id,
            limits: super::source::Limits::from_settings(&self.settings),
            batch_records: self.settings.ingest_batch_records,
            stop: self.stop.clone(),
            progress: None,
            targets: None,
            issued_at: None,
        }
    }

    async fn land(
        &self,
        ctx: LandCtx,
        path: PathBuf,
        source: &IngestSource,
    ) -> Result<Landed, ServiceError> {
        let format = source.format;
        let progress = self.progress.clone();
        let mut ctx = ctx;
        if format.is_covariates() {
            ctx.targets = Some(super::target_check(&self.store));
            if let Some(pattern) = &source.issued_at_pattern {
                // A feed's file is a download: its name is the URL's last segment.
                let name = source
                    .url
                    .as_deref()
                    .and_then(|u| u.rsplit('/').next())
                    .map(str::to_owned)
                    .unwrap_or_else(|| file_name(&path));
                ctx.issued_at = Some(issued_at_from_name(pattern, &name).ok_or_else(|| {
                    ctx.input_error(format!(
                        "the name {name:?} does not match the source's issued_at_pattern \
                         {pattern:?}"
                    ))
                })?);
            }
        }
        tokio::task::spawn_blocking(move || {
            let mut ctx = ctx;
            ctx.progress = progress.map(|m| m.add(progress_bar(&path)));
            let out = land_file(&ctx, &path, format);
            if let Some(bar) = &ctx.progress {
                bar.finish_and_clear();
            }
            out
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("landing task: {e}")))?
    }

    async fn dir_cycle(
        &mut self,
        source: &IngestSource,
        dir: &Path,
    ) -> Result<Option<IngestRun>, ServiceError> {
        let files = list_files(dir, &source.glob)?;
        if files.is_empty() {
            return Ok(None);
        }
        let mut run = self.store.start_ingest_run(&source.name).await?;
        tracing::info!(source = %source.name, run_id = %run.id, files = files.len(), "ingest cycle started");
        let mut failures = Vec::new();
        let mut outcome: Result<(), ServiceError> = Ok(());
        // A backfill of many files shows how far it got, next to the bar of the current file.
        let files_bar = self
            .progress
            .as_ref()
            .filter(|_| files.len() > 1)
            .map(|m| m.add(new_files_bar(&source.name, files.len())));
        for path in files {
            if let Some(bar) = &files_bar {
                bar.inc(1);
            }
            if self.stopping() {
                break;
            }
            let name = file_name(&path);
            let ctx = self.ctx(format!("{}/{name}", source.name), &run);
            let started = Instant::now();
            match self.land(ctx, path.clone(), source).await {
                Ok(landed) => {
                    let interrupted = landed.interrupted;
                    let (read, new) = (landed.counts.read, landed.counts.landed);
                    self.account(&mut run, landed, &name).await?;
                    if interrupted {
                        outcome = Err(ServiceError::Internal(format!(
                            "interrupted by shutdown in {name}; it is landed again on restart"
                        )));
                        break;
                    }
                    move_to(&path, PROCESSED_DIR)?;
                    tracing::info!(
                        source = %source.name,
                        file = %name,
                        read,
                        landed = new,
                        secs = started.elapsed().as_secs_f64(),
                        "file ingested"
                    );
                }
                Err(ServiceError::Input {
                    path: input,
                    reason,
                }) => {
                    // The file as a whole is unusable: set it aside, keep going.
                    tracing::warn!(source = %source.name, file = %name, %reason, "file rejected");
                    self.store
                        .insert_rejections(&[IngestRejection {
                            run_id: Some(run.id),
                            source: super::source::storable(input.as_bytes()),
                            line: None,
                            reason: super::source::storable(reason.as_bytes()),
                            raw: None,
                        }])
                        .await?;
                    run.rows_rejected += 1;
                    move_to(&path, FAILED_DIR)?;
                    failures.push(format!("{name}: {reason}"));
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        if let Some(bar) = files_bar {
            bar.finish_and_clear();
        }
        self.finish(run, outcome, failures).await.map(Some)
    }

    async fn account(
        &self,
        run: &mut IngestRun,
        landed: Landed,
        checkpoint: &str,
    ) -> Result<(), ServiceError> {
        self.store.insert_rejections(&landed.rejections).await?;
        for r in landed.rejections.iter().take(5) {
            tracing::warn!(source = %r.source, line = r.line, reason = %r.reason, "record rejected");
        }
        run.rows_read += landed.counts.read;
        run.rows_landed += landed.counts.landed;
        run.rows_rejected += landed.rejected;
        run.checkpoint = Some(format!("{checkpoint}:{}", landed.counts.last_line));
        Ok(())
    }

    async fn finish(
        &mut self,
        mut run: IngestRun,
        outcome: Result<(), ServiceError>,
        failures: Vec<String>,
    ) -> Result<IngestRun, ServiceError> {
        let mut errors: Vec<String> = failures;
        if let Err(e) = outcome {
            errors.push(e.to_string());
        }
        if !self.stopping() {
            match self.roll_up_all().await {
                Ok(n) => run.rows_rolled_up = n,
                Err(e) => errors.push(format!("roll-up: {e}")),
            }
        }
        run.status = if errors.is_empty() {
            IngestStatus::Succeeded
        } else {
            IngestStatus::Failed
        };
        run.error = (!errors.is_empty()).then(|| errors.join("; "));
        self.store.finish_ingest_run(&run).await?;
        tracing::info!(
            source = %run.source,
            run_id = %run.id,
            status = %run.status,
            read = run.rows_read,
            landed = run.rows_landed,
            rolled_up = run.rows_rolled_up,
            rejected = run.rows_rejected,
            checkpoint = run.checkpoint.as_deref().unwrap_or(""),
            error = run.error.as_deref().unwrap_or(""),
            "ingest cycle finished"
        );
        Ok(run)
    }

    /// Polls a feed when due: the body is spooled to a file, landed, and only then is the
    /// feed's cursor (its `ETag` or `Last-Modified`) advanced, so an unchanged feed is not
    /// fetched again and a crash before the commit fetches it again.
    async fn feed_cycle(
        &mut self,
        source: &IngestSource,
        url: &str,
    ) -> Result<Option<IngestRun>, ServiceError> {
        let now = Instant::now();
        if self.next_poll.get(&source.name).is_some_and(|t| *t > now) {
            return Ok(None);
        }
        self.next_poll.insert(
            source.name.clone(),
            now + Duration::from_secs(source.interval_secs),
        );
        let cursor_name = format!("feed:{}", source.name);
        let cursor = {
            let events = self.events.clone();
            let name = cursor_name.clone();
            tokio::task::spawn_blocking(move || {
                let es = events
                    .lock()
                    .map_err(|_| ServiceError::Internal("event store lock poisoned".into()))?;
                es.cursor(&name).map_err(ServiceError::from)
            })
            .await
            .map_err(|e| ServiceError::Internal(format!("cursor task: {e}")))??
        };
        let mut req = self.http.get(url);
        if let Some(c) = &cursor {
            if let Some(etag) = c.strip_prefix("etag:") {
                req = req.header("If-None-Match", etag);
            } else if let Some(lm) = c.strip_prefix("last-modified:") {
                req = req.header("If-Modified-Since", lm);
            }
        }
        // Fetched before a run is opened: an unchanged feed leaves no row behind.
        let fetched = self.fetch(req, source).await;
        let mut run = match &fetched {
            Ok(None) => return Ok(None),
            _ => self.store.start_ingest_run(&source.name).await?,
        };
        let (path, next_cursor) = match fetched {
            Ok(Some(x)) => x,
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::warn!(source = %source.name, error = %e, "feed poll failed");
                return self.finish(run, Err(e), Vec::new()).await.map(Some);
            }
        };
        let ctx = self.ctx(format!("{}/{url}", source.name), &run);
        let mut failures = Vec::new();
        let mut outcome = Ok(());
        match self.land(ctx, path.clone(), source).await {
            Ok(landed) => {
                let interrupted = landed.interrupted;
                self.account(&mut run, landed, url).await?;
                if interrupted {
                    outcome = Err(ServiceError::Internal(
                        "interrupted by shutdown; the feed is fetched again on restart".into(),
                    ));
                } else if let Some(next) = next_cursor {
                    let events = self.events.clone();
                    tokio::task::spawn_blocking(move || {
                        let es = events.lock().map_err(|_| {
                            ServiceError::Internal("event store lock poisoned".into())
                        })?;
                        es.set_cursor(&cursor_name, &next)
                            .map_err(ServiceError::from)
                    })
                    .await
                    .map_err(|e| ServiceError::Internal(format!("cursor task: {e}")))??;
                }
            }
            Err(ServiceError::Input { reason, .. }) => failures.push(format!("{url}: {reason}")),
            Err(e) => outcome = Err(e),
        }
        let _ = std::fs::remove_file(&path);
        self.finish(run, outcome, failures).await.map(Some)
    }

    async fn fetch(
        &self,
        req: reqwest::RequestBuilder,
        source: &IngestSource,
    ) -> Result<Option<(PathBuf, Option<String>)>, ServiceError> {
        let feed_error = |reason: String| ServiceError::Input {
            path: source.name.clone(),
            reason,
        };
        let mut resp = req
            .send()
            .await
            .map_err(|e| feed_error(format!("request failed: {e}")))?;
        if resp.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(feed_error(format!("the feed answered {}", resp.status())));
        }
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let next = header("etag")
            .map(|e| format!("etag:{e}"))
            .or_else(|| header("last-modified").map(|l| format!("last-modified:{l}")));
        let spool = self.settings.data_dir.join("ingest-spool");
        std::fs::create_dir_all(&spool)
            .map_err(|e| ServiceError::Internal(format!("creating {}: {e}", spool.display())))?;
        let path = spool.join(format!("{}.body", source.name));
        let mut file = std::fs::File::create(&path)
            .map_err(|e| ServiceError::Internal(format!("creating {}: {e}", path.display())))?;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| feed_error(format!("reading the body failed: {e}")))?
        {
            file.write_all(&chunk)
                .map_err(|e| ServiceError::Internal(format!("spooling the feed: {e}")))?;
        }
        Ok(Some((path, next)))
    }
}

/// Stops an [`Ingestor`] after its current transaction.
#[derive(Clone)]
pub struct Stopper {
    stop: Arc<AtomicBool>,
    wake: Arc<Notify>,
}

impl Stopper {
    /// Asks the daemon to stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }
}

pub use crate::shutdown_signal;

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Files directly in `dir` whose name matches `pattern`, by name.
fn list_files(dir: &Path, pattern: &str) -> Result<Vec<PathBuf>, ServiceError> {
    let pattern = glob::Pattern::new(pattern).map_err(|e| ServiceError::Input {
        path: dir.display().to_string(),
        reason: format!("glob {pattern:?}: {e}"),
    })?;
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(ServiceError::Internal(format!(
                "listing {}: {e}",
                dir.display()
            )));
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| pattern.matches(&file_name(p)))
        .collect();
    files.sort();
    Ok(files)
}

/// Moves `path` into the sibling folder `folder` (created if needed), replacing a file of the
/// same name there.
fn move_to(path: &Path, folder: &str) -> Result<(), ServiceError> {
    let dir = path
        .parent()
        .map(|p| p.join(folder))
        .unwrap_or_else(|| PathBuf::from(folder));
    std::fs::create_dir_all(&dir)
        .map_err(|e| ServiceError::Internal(format!("creating {}: {e}", dir.display())))?;
    let target = dir.join(path.file_name().unwrap_or_default());
    std::fs::rename(path, &target).map_err(|e| {
        ServiceError::Internal(format!(
            "moving {} to {}: {e}",
            path.display(),
            target.display()
        ))
    })
}

fn progress_bar(path: &Path) -> indicatif::ProgressBar {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(file_name(path));
    bar
}

fn new_files_bar(source: &str, files: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(files as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] file {pos}/{len} ({elapsed}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_prefix(source.to_owned());
    bar
}
