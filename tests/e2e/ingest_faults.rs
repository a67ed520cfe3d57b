//! Hostile input files for the real `horizon-ingest` process, small versions of the fault
//! benchmark's (`bench/faults`): a NUL byte, a zip bomb over the ratio limit, an over-long line
//! and header, a year-10000 timestamp, 10,000 bad rows; and a database outage in mid-cycle. Each is rejected with a reason, the good rows beside
//! them and the files after them are ingested, and nothing is dropped without a word.

use std::{fmt::Write as _, io::Write as _};

use horizon_e2e::{Env, TestDb, count_rows};
use horizon_store::{PoolOptions, Store};
use horizon_test_support::both_backends;

async fn hostile_files_are_rejected_with_reasons(db: TestDb) {
    let mut env = Env::for_db(&db);
    let inbox = env.dir().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    env.set(
        "HORIZON_INGEST_SOURCES",
        &format!(
            "[{{name=\"drop\",dir=\"{}\",glob=\"*\",format=\"csv\"}}]",
            inbox.display()
        ),
    );
    let header = "unique_id,ds,y\n";
    // 1. A NUL byte in a value, between two good rows.
    std::fs::write(
        inbox.join("a-nul.csv"),
        format!("{header}a,2026-01-01,1\na,2026-01-02,2\0\na,2026-01-03,3\n"),
    )
    .unwrap();
    // 2. A zip that expands 1,000-fold: 4 MB of zeros in about 4 KB.
    {
        let file = std::fs::File::create(inbox.join("b-bomb.zip")).unwrap();
        let mut zw = zip::ZipWriter::new(file);
        zw.start_file(
            "zeros.csv",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
        zw.write_all(header.as_bytes()).unwrap();
        zw.write_all(&vec![b'0'; 4 << 20]).unwrap();
        zw.finish().unwrap();
    }
    // 3. A line of 300 KB (the limit is 64 KiB) between good rows.
    std::fs::write(
        inbox.join("c-long.csv"),
        format!(
            "{header}c,2026-01-01,1\nc,2026-01-02,{}\nc,2026-01-03,3\n",
            "9".repeat(300_000)
        ),
    )
    .unwrap();
    // 4. A timestamp in the year 10000 (and one in 1850), between good rows.
    std::fs::write(
        inbox.join("d-year.csv"),
        format!("{header}d,2026-01-01,1\nd,253402300800,2\nd,1850-01-01,3\nd,2026-01-03,4\n"),
    )
    .unwrap();
    // 5. 10,000 bad rows and one good one.
    let mut bad = String::from(header);
    for i in 0..10_000 {
        let _ = writeln!(bad, "e,2026-01-01,not-a-number-{i}");
    }
    bad.push_str("e,2026-01-02,5\n");
    std::fs::write(inbox.join("e-bad.csv"), bad).unwrap();
    // 6. A header line of 100 KB (the limit is 64 KiB).
    std::fs::write(
        inbox.join("g-header.csv"),
        format!("unique_id,ds,y,{}\ng,2026-01-01,1\n", "x".repeat(100_000)),
    )
    .unwrap();
    // 7. A good file after all of them.
    std::fs::write(
        inbox.join("f-good.csv"),
        format!("{header}f,2026-01-01,1\nf,2026-01-02,2\n"),
    )
    .unwrap();

    // The bomb could not be ingested, so the cycle says so in its exit status; the other files
    // were.
    let (ok, log) = env.run("horizon-ingest", &["once"]);
    assert!(
        !ok && log.contains("some inputs could not be ingested"),
        "{log}"
    );

    let moved = |dir: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(inbox.join(dir))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    assert_eq!(
        moved("processed"),
        [
            "a-nul.csv",
            "c-long.csv",
            "d-year.csv",
            "e-bad.csv",
            "f-good.csv"
        ],
        "{log}"
    );
    assert_eq!(moved("failed"), ["b-bomb.zip", "g-header.csv"], "{log}");

    let store = Store::connect_with(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    let runs = store.list_ingest_runs(Some("drop"), 10).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    let rejections = store.rejections(run.id).await.unwrap();
    let find = |file: &str, needle: &str| {
        rejections
            .iter()
            .filter(|r| r.source.contains(file) && r.reason.contains(needle))
            .count()
    };
    // Good rows around every bad one were kept: a 2, c 2, d 2, e 1, f 2.
    assert_eq!(count_rows(&db, "observations").await, 9, "{rejections:#?}");
    // The NUL row is stored, escaped.
    let nul: Vec<_> = rejections
        .iter()
        .filter(|r| r.source.contains("a-nul"))
        .collect();
    assert_eq!(nul.len(), 1, "{rejections:#?}");
    assert!(
        nul[0].raw.as_deref().unwrap_or("").contains("\\0"),
        "{nul:?}"
    );
    assert_eq!(nul[0].line, Some(3));
    assert_eq!(find("b-bomb", "expands"), 1, "{rejections:#?}");
    assert_eq!(find("c-long", "exceeds the maximum"), 1, "{rejections:#?}");
    assert_eq!(find("g-header", "header line"), 1, "{rejections:#?}");
    assert_eq!(
        find("d-year", "outside the accepted years"),
        2,
        "{rejections:#?}"
    );
    // 10,000 bad rows: 1,000 stored one by one, one more counting the other 9,000.
    assert_eq!(find("e-bad", "not a number"), 1_000);
    assert_eq!(find("e-bad", "9000 more"), 1, "{rejections:#?}");
    // The run counts every rejection, stored or only counted: 1 + 1 + 1 + 2 + 10,000 + 1.
    assert_eq!(run.rows_rejected, 10_006, "{run:?}");
}

both_backends!(hostile_files_are_rejected_with_reasons);

/// The ingest daemon through a database outage in the middle of a cycle: the file is landed in
/// the event store, the cycle fails when it reaches the database, and its run — which it could
/// not close — is closed by the next cycle (`failed`, with the reason) once the database is
/// back; the roll-up catches up, so every record arrives exactly once and nothing stays
/// `running`. The daemon never exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_runs_cut_by_a_database_outage_are_closed() {
    let Some(pg) = horizon_e2e::PgCluster::start() else {
        return;
    };
    let mut env = Env::for_url(&pg.url(), pg.dir());
    let inbox = env.dir().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    env.set(
        "HORIZON_INGEST_SOURCES",
        &format!(
            "[{{name=\"drop\",dir=\"{}\",glob=\"*.csv\",format=\"csv\"}}]",
            inbox.display()
        ),
    );
    env.set("HORIZON_INGEST_POLL_INTERVAL_MS", "100");
    env.set("HORIZON_INGEST_BATCH_RECORDS", "5000");
    let store = Store::connect_with(&pg.url(), &PoolOptions::default())
        .await
        .unwrap();
    let mut daemon = env.spawn("horizon-ingest", &["run"]);
    // Enough rows that landing them takes a moment, in which the database goes away.
    let (series, days) = (300usize, 1_000i64);
    let mut csv = String::from("unique_id,ds,y\n");
    for s in 0..series {
        for d in 0..days {
            let _ = writeln!(
                csv,
                "o-{s:03},{},{}",
                1_700_000_000 + d * 86_400,
                s as i64 + d
            );
        }
    }
    let staged = env.dir().join("big.csv.part");
    std::fs::write(&staged, csv).unwrap();
    std::fs::rename(&staged, inbox.join("big.csv")).unwrap();
    // The moment the run is recorded, stop the database.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no run started:\n{}",
            daemon.log_text()
        );
        let runs = store
            .list_ingest_runs(Some("drop"), 5)
            .await
            .unwrap_or_default();
        if runs
            .iter()
            .any(|r| r.status == horizon_domain::IngestStatus::Running)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    pg.stop();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(
        daemon.try_wait().is_none(),
        "the daemon exited:\n{}",
        daemon.log_text()
    );
    pg.start_again();
    assert!(pg.wait_ready(std::time::Duration::from_secs(30)));

    // Everything arrives once, and no run is left running.
    let want = (series as i64) * days;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let n = horizon_e2e::try_count(&pg.url(), "observations").await;
        let runs = store
            .list_ingest_runs(Some("drop"), 10)
            .await
            .unwrap_or_default();
        let running = runs
            .iter()
            .filter(|r| r.status == horizon_domain::IngestStatus::Running)
            .count();
        if n == Some(want) && running == 0 && !runs.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "observations {n:?} of {want}, runs {runs:#?}\n{}",
            daemon.log_text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let runs = store.list_ingest_runs(Some("drop"), 10).await.unwrap();
    println!("runs after the outage: {runs:#?}");
    assert!(
        runs.iter()
            .any(|r| r.status == horizon_domain::IngestStatus::Failed
                && r.error
                    .as_deref()
                    .unwrap_or("")
                    .contains("before finishing this run")),
        "the cut run was not closed with the reason: {runs:#?}"
    );
    assert!(daemon.try_wait().is_none(), "the daemon exited");
    assert!(daemon.terminate(), "{}", daemon.log_text());
}
