//! The ingest daemon under SIGKILL: files of observations, covariate vintages (day-ahead
//! forecasts of the observed series' `ghi`) and GDELT 2.0 events (plain and zipped, with
//! duplicates across files) arrive while `horizon-ingest run` is killed at
//! pseudo-random moments and restarted, at least 20 times. At the end the event store and the
//! shared database hold exactly the expected records and aggregates: none lost, none doubled.
//!
//! `HORIZON_TEST_INGEST_RECORDS` sets the number of distinct records (default 60,000, about
//! half GDELT events); `HORIZON_TEST_INGEST_KILLS` the number of kills (default 24).

use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write as _,
    io::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use horizon_e2e::{Env, TestDb};
use horizon_services::ingest::{
    gdelt::{GdeltVersion, format_line},
    rollup::{bucket_values, series_key},
};
use horizon_store::{
    PoolOptions, Store,
    event_store::{EventStore, GdeltAggregate, GdeltBucket},
};
use horizon_test_support::both_backends;

const COUNTRIES: [&str; 8] = ["USA", "GBR", "FRA", "DEU", "CHN", "RUS", "IND", "BRA"];
const OBS_SERIES: usize = 40;
/// 2026-01-01 in days since the epoch.
const DAY0: i64 = 20_454;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (the test must be reproducible).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Event {
    id: i64,
    day: i64,
    slot: i64,
    a1: &'static str,
    a2: &'static str,
    root: u8,
    quad: u8,
    goldstein: f64,
    mentions: i64,
    tone: f64,
}

fn ymd(day: i64) -> String {
    let d = chrono::DateTime::from_timestamp(day * 86_400, 0).unwrap_or_default();
    d.format("%Y%m%d").to_string()
}

fn event_line(e: &Event) -> String {
    let added = chrono::DateTime::from_timestamp(e.slot * 900 + 17, 0)
        .unwrap_or_default()
        .format("%Y%m%d%H%M%S")
        .to_string();
    format_line(
        GdeltVersion::V2,
        e.id,
        &ymd(e.day),
        e.a1,
        e.a2,
        e.root,
        e.quad,
        e.goldstein,
        e.mentions,
        e.tone,
        &added,
    )
}

/// The input files (written to a staging folder, to be moved into the inboxes over time) and
/// the expected contents of the shared database, key → (unix seconds → value).
struct Inputs {
    files: Vec<(PathBuf, PathBuf)>,
    expected: HashMap<String, BTreeMap<i64, f64>>,
    events: usize,
    observations: usize,
    vintages: usize,
}

/// Issues of the covariate forecasts per observed series, each covering 24 hourly steps.
const VINTAGE_ISSUES: usize = 30;

fn generate(root: &Path, records: usize) -> Inputs {
    let stage = root.join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    let mut rng = Lcg(42);
    let mut files = Vec::new();
    let mut expected: HashMap<String, BTreeMap<i64, f64>> = HashMap::new();

    // GDELT 2.0: one file per 15-minute slot; events mostly of the slot's day, some late.
    let n_events = records / 2;
    let per_file = 1_500.min(n_events.max(1));
    let n_files = n_events.div_ceil(per_file);
    let slot0 = DAY0 * 96;
    let mut all: Vec<Event> = Vec::with_capacity(n_events);
    for f in 0..n_files {
        let slot = slot0 + 2 * f as i64;
        let day_of_slot = slot.div_euclid(96);
        let start = all.len();
        for i in 0..per_file.min(n_events - start) {
            let a1 = COUNTRIES[rng.below(8) as usize];
            let a2 = if rng.below(4) == 0 {
                ""
            } else {
                COUNTRIES[rng.below(8) as usize]
            };
            all.push(Event {
                id: 1_000_000_000 + (start + i) as i64,
                day: day_of_slot - (rng.below(10) == 0) as i64,
                slot,
                a1,
                a2,
                root: 1 + rng.below(20) as u8,
                quad: 1 + rng.below(4) as u8,
                goldstein: (rng.below(201) as f64 - 100.0) / 10.0,
                mentions: 1 + rng.below(30) as i64,
                tone: (rng.below(2001) as f64 - 1000.0) / 100.0,
            });
        }
        let mut text = String::new();
        // duplicates: the last 100 events of the previous file again
        for e in &all[start.saturating_sub(100)..] {
            let _ = writeln!(text, "{}", event_line(e));
        }
        let name = format!("2026{f:08}.export.CSV");
        let target_dir = root.join("inbox-gdelt");
        if f % 3 == 0 {
            let zip_name = format!("{name}.zip");
            let path = stage.join(&zip_name);
            let file = std::fs::File::create(&path).unwrap();
            let mut zw = zip::ZipWriter::new(file);
            zw.start_file(
                name.as_str(),
                zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated),
            )
            .unwrap();
            zw.write_all(text.as_bytes()).unwrap();
            zw.finish().unwrap();
            files.push((path, target_dir.join(zip_name)));
        } else {
            let path = stage.join(&name);
            std::fs::write(&path, text).unwrap();
            files.push((path, target_dir.join(name)));
        }
    }
    // expected aggregates, with the roll-up's own folding of per-group sums
    let mut groups: HashMap<GdeltBucket, HashMap<(String, u8, u8), GdeltAggregate>> =
        HashMap::new();
    for e in &all {
        for bucket in [GdeltBucket::Day(e.day), GdeltBucket::Slot(e.slot)] {
            let mut countries = vec![e.a1];
            if !e.a2.is_empty() && e.a2 != e.a1 {
                countries.push(e.a2);
            }
            for c in countries {
                let g = groups
                    .entry(bucket)
                    .or_default()
                    .entry((c.to_owned(), e.root, e.quad))
                    .or_insert_with(|| GdeltAggregate {
                        country: c.to_owned(),
                        root_code: e.root,
                        quad_class: e.quad,
                        events: 0,
                        goldstein_sum: 0.0,
                        tone_sum: 0.0,
                        mentions: 0,
                    });
                g.events += 1;
                g.goldstein_sum += e.goldstein;
                g.tone_sum += e.tone;
                g.mentions += e.mentions;
            }
        }
    }
    for (bucket, aggs) in groups {
        let aggs: Vec<GdeltAggregate> = aggs.into_values().collect();
        let secs = match bucket {
            GdeltBucket::Day(d) => d * 86_400,
            GdeltBucket::Slot(s) => s * 900,
        };
        for (country, values) in bucket_values(&aggs) {
            for (metric, v) in values {
                expected
                    .entry(series_key(&country, bucket, metric))
                    .or_default()
                    .insert(secs, v);
            }
        }
    }

    // Observations: long-format CSV with a covariate, 2,000 rows a file, each file repeating
    // the previous file's last 200 rows.
    let n_obs_rows = records - n_events;
    let mut rows: Vec<String> = Vec::with_capacity(n_obs_rows);
    for i in 0..n_obs_rows {
        let s = i % OBS_SERIES;
        let step = (i / OBS_SERIES) as i64;
        let ts = (DAY0 - 2_000 + step) * 86_400;
        let y = ((i * 7919) % 1000) as f64 / 4.0;
        let key = format!("obs-{s:02}");
        expected.entry(key.clone()).or_default().insert(ts, y);
        rows.push(format!("{key},{ts},{y}"));
    }
    for (f, chunk_start) in (0..n_obs_rows).step_by(2_000).enumerate() {
        let mut text = String::from("unique_id,ds,y\n");
        for r in &rows[chunk_start.saturating_sub(200)..(chunk_start + 2_000).min(n_obs_rows)] {
            text.push_str(r);
            text.push('\n');
        }
        let name = format!("obs-{f:05}.csv");
        let path = stage.join(&name);
        std::fs::write(&path, text).unwrap();
        files.push((path, root.join("inbox-obs").join(name)));
    }
    // interleave the two kinds in arrival order
    // Day-ahead forecasts of each observed series' covariate `ghi`: an issue a day, 24 hourly
    // values from 6 h after it; files of 2,000 rows, each repeating the previous file's last
    // 200 (identical re-sends that must change nothing).
    let mut vrows: Vec<String> = Vec::new();
    for s in 0..OBS_SERIES {
        for k in 0..VINTAGE_ISSUES as i64 {
            let issued = (DAY0 + k) * 86_400;
            for h in 6..30 {
                let ts = issued + h * 3_600;
                let v = ((s as i64 * 131 + k * 17 + h) % 1000) as f64;
                vrows.push(format!("obs-{s:02},{ts},{issued},{v}"));
            }
        }
    }
    for (f, chunk_start) in (0..vrows.len()).step_by(2_000).enumerate() {
        let mut text = String::from("unique_id,ds,issued_at,ghi\n");
        for r in &vrows[chunk_start.saturating_sub(200)..(chunk_start + 2_000).min(vrows.len())] {
            text.push_str(r);
            text.push('\n');
        }
        let name = format!("wx-{f:05}.csv");
        let path = stage.join(&name);
        std::fs::write(&path, text).unwrap();
        files.push((path, root.join("inbox-wx").join(name)));
    }
    files.sort_by_key(|(p, _)| {
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        let digits: String = n.chars().filter(char::is_ascii_digit).collect();
        digits.parse::<u64>().unwrap_or(0) % 1_000_000
    });
    Inputs {
        files,
        expected,
        events: n_events,
        observations: n_obs_rows,
        vintages: vrows.len(),
    }
}

fn write_config(env: &Env, batch: usize) {
    let dir = env.dir();
    std::fs::create_dir_all(dir.join("inbox-gdelt")).unwrap();
    std::fs::create_dir_all(dir.join("inbox-obs")).unwrap();
    std::fs::create_dir_all(dir.join("inbox-wx")).unwrap();
    let toml = format!(
        "ingest_poll_interval_ms = 50\n\
         ingest_batch_records = {batch}\n\
         [[ingest_sources]]\nname = \"gdelt\"\ndir = \"{}\"\nglob = \"*.export.CSV*\"\nformat = \"gdelt2\"\n\
         [[ingest_sources]]\nname = \"obs\"\ndir = \"{}\"\nglob = \"*.csv\"\nformat = \"csv\"\n\
         [[ingest_sources]]\nname = \"wx\"\ndir = \"{}\"\nglob = \"*.csv\"\nformat = \"covariates\"\n",
        dir.join("inbox-gdelt").display(),
        dir.join("inbox-obs").display(),
        dir.join("inbox-wx").display(),
    );
    std::fs::write(dir.join("horizon.toml"), toml).unwrap();
}

fn pending(env: &Env) -> usize {
    ["inbox-gdelt", "inbox-obs", "inbox-wx"]
        .iter()
        .map(|d| {
            std::fs::read_dir(env.dir().join(d))
                .map(|it| {
                    it.filter_map(Result::ok)
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                        .count()
                })
                .unwrap_or(0)
        })
        .sum()
}

async fn ingest_survives_sigkill(db: TestDb) {
    let records = env_usize("HORIZON_TEST_INGEST_RECORDS", 60_000);
    let kills = env_usize("HORIZON_TEST_INGEST_KILLS", 24);
    let started = Instant::now();
    let env = Env::for_db(&db);
    write_config(&env, 2_000);
    let inputs = generate(env.dir(), records);
    // The covariates' targets exist before their forecasts arrive.
    let targets = env.dir().join("targets.csv");
    let list: String = (0..OBS_SERIES).map(|s| format!("obs-{s:02}\n")).collect();
    std::fs::write(&targets, format!("key\n{list}")).unwrap();
    let (ok, log) = env.run(
        "horizon-ingest",
        &["once", "--series", &targets.display().to_string()],
    );
    assert!(ok, "loading the targets failed: {log}");
    let mut rng = Lcg(7);
    let per_round = inputs.files.len().div_ceil(kills).max(1);
    let mut next_file = 0;
    let mut killed = 0;
    while killed < kills {
        // new files arrive (atomically, by rename) before each start
        for (from, to) in inputs.files.iter().skip(next_file).take(per_round) {
            std::fs::rename(from, to).unwrap();
        }
        next_file = (next_file + per_round).min(inputs.files.len());
        let mut p = env.spawn("horizon-ingest", &["run"]);
        std::thread::sleep(Duration::from_millis(150 + rng.below(900)));
        if p.try_wait().is_some() {
            panic!("horizon-ingest exited on its own: {}", p.log_text());
        }
        p.kill();
        killed += 1;
    }
    for (from, to) in inputs.files.iter().skip(next_file) {
        std::fs::rename(from, to).unwrap();
    }
    // a last, uninterrupted cycle lands what is left and rolls everything up
    let (ok, log) = env.run("horizon-ingest", &["once"]);
    assert!(ok, "final cycle failed: {log}");
    assert_eq!(pending(&env), 0, "files left in the inboxes: {log}");

    let events = EventStore::open(&env.dir().join("events.db")).unwrap();
    let landed_events = events.count_gdelt().unwrap();
    let landed_obs = events.count_observations().unwrap();
    assert_eq!(
        landed_events, inputs.events as i64,
        "GDELT events in the event store"
    );
    assert_eq!(
        landed_obs, inputs.observations as i64,
        "observations in the event store"
    );

    let store = Store::connect_with(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    let series = store.series_to_forecast().await.unwrap();
    let ids: Vec<_> = series.iter().map(|s| s.id).collect();
    // Every vintage value once in the event store and once in the database, its covariate
    // series linked to its target.
    let mut landed_vintages = 0;
    let mut after = 0;
    loop {
        let batch = events.vintages_after(after, 100_000).unwrap();
        let Some(last) = batch.last() else { break };
        after = last.seq;
        landed_vintages += batch.len();
    }
    assert_eq!(
        landed_vintages, inputs.vintages,
        "vintages in the event store"
    );
    let covariates = store.covariates_of(&ids).await.unwrap();
    assert_eq!(covariates.len(), OBS_SERIES, "covariate series");
    let mut stored_vintages = 0;
    for c in &covariates {
        let from = chrono::DateTime::from_timestamp(DAY0 * 86_400, 0).unwrap();
        let to = from + chrono::Duration::days(VINTAGE_ISSUES as i64 + 2);
        stored_vintages += store
            .load_vintages(&[c.id], from, to, to)
            .await
            .unwrap()
            .values()
            .map(Vec::len)
            .sum::<usize>();
    }
    assert_eq!(stored_vintages, inputs.vintages, "vintages in the database");
    let histories = store.load_histories(&ids, None).await.unwrap();
    let mut got_rows = 0usize;
    let mut mismatches = Vec::new();
    for s in &series {
        let key = s.meta.key.to_string();
        let got = histories.get(&s.id).cloned().unwrap_or_default();
        got_rows += got.len();
        let Some(want) = inputs.expected.get(&key) else {
            mismatches.push(format!("unexpected series {key}"));
            continue;
        };
        if got.len() != want.len() {
            mismatches.push(format!(
                "{key}: {} rows, expected {}",
                got.len(),
                want.len()
            ));
            continue;
        }
        for o in &got {
            let w = want.get(&o.ts.timestamp()).copied();
            let ok = w.is_some_and(|w| (w - o.value).abs() <= 1e-9 * w.abs().max(1.0));
            if !ok {
                mismatches.push(format!("{key} at {}: {} vs {w:?}", o.ts, o.value));
            }
        }
    }
    // the runs the kills interrupted were closed by the next start; none is left running
    let runs = store.list_ingest_runs(None, 100_000).await.unwrap();
    let open: Vec<_> = runs.iter().filter(|r| !r.status.is_terminal()).collect();
    assert!(open.is_empty(), "runs left running: {open:?}");
    let abandoned = runs
        .iter()
        .filter(|r| {
            r.error
                .as_deref()
                .is_some_and(|e| e.contains("stopped before finishing"))
        })
        .count();
    let want_rows: usize = inputs.expected.values().map(BTreeMap::len).sum();
    assert_eq!(series.len(), inputs.expected.len(), "series count");
    assert!(
        mismatches.is_empty(),
        "{:?}",
        &mismatches[..mismatches.len().min(10)]
    );
    assert_eq!(got_rows, want_rows, "observations in the shared database");
    assert_eq!(
        store.count_observations(None).await.unwrap() as usize,
        want_rows
    );
    eprintln!(
        "ingest crash test ({:?}): {killed} kills, {} files, {} GDELT events and {} \
         observations and {} vintage values in the event store, {} series and {} observations \
         and {stored_vintages} vintage values in the database, 0 lost, 0 duplicated, {} runs \
         ({abandoned} closed as abandoned), {:.1}s",
        db.backend,
        inputs.files.len(),
        landed_events,
        landed_obs,
        landed_vintages,
        series.len(),
        got_rows,
        runs.len(),
        started.elapsed().as_secs_f64()
    );
}

both_backends!(ingest_survives_sigkill);
