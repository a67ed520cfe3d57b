//! Three `horizon-pipeline worker` processes share a run through the PostgreSQL queue; one is
//! killed with SIGKILL in the middle of a partition. Another worker redoes that partition after
//! the lease expires: every series gets exactly one prediction, the run succeeds, and the
//! partition's lease history shows the retry.

use std::{fmt::Write as _, time::Duration};

use horizon_domain::ExecutionStatus;
use horizon_e2e::{Env, TestDb, count_rows};
use horizon_store::{PoolOptions, Store};

const SERIES: usize = 120;
const DAYS: i64 = 400;

#[tokio::test]
async fn a_killed_worker_loses_its_partition_to_another() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let mut env = Env::for_db(&db);
    env.set("HORIZON_PIPELINE_PARTITION_SIZE", "20");
    env.set("HORIZON_PIPELINE_LEASE_SECS", "4");
    let mut csv = String::from("unique_id,ds,y\n");
    let start = 20_089; // 2025-01-01 in days since the epoch
    for s in 0..SERIES {
        for d in 0..DAYS {
            let y = 100.0 + 10.0 * ((d % 7) as f64) + 0.05 * d as f64 + s as f64;
            let _ = writeln!(csv, "w-{s:03},{},{y}", (start + d) * 86_400);
        }
    }
    let file = env.dir().join("series.csv");
    std::fs::write(&file, csv).unwrap();
    let (ok, log) = env.run(
        "horizon-ingest",
        &["once", "--file", &file.display().to_string()],
    );
    assert!(ok, "ingest failed:\n{log}");

    let (ok, out, log) = env.output("horizon-pipeline", &["run"]);
    assert!(ok, "planning failed:\n{log}");
    let execution_id: uuid::Uuid = out
        .split_whitespace()
        .nth(1)
        .and_then(|w| w.trim_end_matches(':').parse().ok())
        .unwrap_or_else(|| panic!("no execution id in {out:?}"));

    let store = Store::connect_with(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    let mut workers: Vec<_> = (0..3)
        .map(|_| env.spawn("horizon-pipeline", &["worker"]))
        .collect();
    // Kill the first worker as soon as it holds a partition.
    let victim = format!(":{}", workers[0].pid());
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let killed_partition = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "worker 0 never took a partition:\n{}",
            workers[0].log_text()
        );
        let parts = store.partitions(execution_id).await.unwrap();
        if let Some(p) = parts.iter().find(|p| {
            p.status == ExecutionStatus::Running
                && p.worker.as_deref().is_some_and(|w| w.ends_with(&victim))
        }) {
            workers[0].kill();
            break p.id;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    let execution = loop {
        let e = store.execution(execution_id).await.unwrap();
        if e.status.is_terminal() {
            break e;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run did not end: {e:?}\n{}",
            workers[1].log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{execution:?}"
    );
    assert_eq!(execution.progress, 1.0);

    // Exactly one prediction per series for the run.
    assert_eq!(
        store.count_predictions(Some(execution_id)).await.unwrap(),
        SERIES as u64
    );
    assert_eq!(count_rows(&db, "predictions").await, SERIES as i64);
    let redone = store.partition(killed_partition).await.unwrap();
    assert_eq!(redone.status, ExecutionStatus::Succeeded);
    assert!(redone.attempts >= 2, "{redone:?}");
    assert!(redone.workers[0].ends_with(&victim), "{redone:?}");
    assert!(!redone.worker.as_deref().unwrap_or("").ends_with(&victim));
    let steps = store.execution_steps(execution_id).await.unwrap();
    assert!(
        steps.iter().any(|s| s.name == "lease"),
        "no lease take-over logged: {steps:?}"
    );
    println!(
        "killed partition {} redone: attempts {}, workers {:?}",
        redone.seq, redone.attempts, redone.workers
    );

    for w in workers.iter_mut().skip(1) {
        assert!(
            w.terminate(),
            "a worker did not stop on SIGTERM:\n{}",
            w.log_text()
        );
        let errors = w.error_lines();
        assert!(errors.is_empty(), "worker errors: {errors:#?}");
    }
}
