use std::io::Cursor;

use horizon_domain::SeriesKey;
use horizon_store::{PoolOptions, Store};
use horizon_test_support::{TestDb, both_backends};

use super::*;

async fn setup(db: &TestDb) -> (Store, Settings) {
    let store = Store::connect_with(&db.url, &PoolOptions::default())
        .await
        .unwrap();
    let mut settings = Settings::from_figment(Settings::figment_defaults()).unwrap();
    settings.event_store_path = db.path("events.db");
    settings.ingest_max_record_bytes = 200;
    (store, settings)
}

fn reader(text: &str) -> Box<dyn Read + Send> {
    Box::new(Cursor::new(text.as_bytes().to_vec()))
}

async fn bad_rows_are_set_aside_and_good_rows_kept(db: TestDb) {
    let (store, settings) = setup(&db).await;
    let long = "x".repeat(300);
    let text = format!(
        "unique_id,ds,y\n\
         a,2026-01-01,1\n\
         a,2026-01-02,abc\n\
         a,2026-01-03\n\
         b/c,2026-01-01,2\n\
         a,not-a-date,4\n\
         a,{long},5\n\
         a,2026-01-04T00:00:00+02:00,4\n\
         b,2026-01-01 06:30:00,7\n"
    );
    let report = ingest_csv(&store, &settings, "test", reader(&text))
        .await
        .unwrap();
    assert_eq!(report.run.rows_read, 8);
    assert_eq!(report.run.rows_landed, 3);
    assert_eq!(report.run.rows_rolled_up, 3);
    assert_eq!(report.run.rows_rejected, 5);
    let reasons: Vec<(i64, String)> = store
        .rejections(report.run.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.line.unwrap(), r.reason))
        .collect();
    assert_eq!(reasons.len(), 5);
    assert!(reasons[0].0 == 3 && reasons[0].1.contains("column y") && reasons[0].1.contains("abc"));
    assert!(reasons[1].0 == 4 && reasons[1].1.contains("expected 3 columns, found 2"));
    assert!(reasons[2].0 == 5 && reasons[2].1.contains("unique_id"));
    assert!(reasons[3].0 == 6 && reasons[3].1.contains("column ds"));
    assert!(reasons[4].0 == 7 && reasons[4].1.contains("exceeds the maximum"));

    let a = store
        .series_by_key(&SeriesKey::parse("a").unwrap())
        .await
        .unwrap();
    let obs = store.observations(a.id, None, None).await.unwrap();
    assert_eq!(obs.len(), 2);
    assert_eq!(obs[1].ts.to_rfc3339(), "2026-01-03T22:00:00+00:00");

    // the same file again: nothing duplicated
    let again = ingest_csv(&store, &settings, "test", reader(&text))
        .await
        .unwrap();
    assert_eq!(again.run.rows_landed, 0, "identical records change nothing");
    assert_eq!(again.run.rows_rolled_up, 0);
    assert_eq!(store.count_observations(None).await.unwrap(), 3);
}

async fn unusable_files_fail_with_a_reason_and_keep_stored_data(db: TestDb) {
    let (store, settings) = setup(&db).await;
    ingest_csv(
        &store,
        &settings,
        "good",
        reader("unique_id,ds,y\na,2026-01-01,1\n"),
    )
    .await
    .unwrap();
    let err = ingest_csv(&store, &settings, "empty", reader(""))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    let err = ingest_csv(&store, &settings, "nohdr", reader("id,when,value\na,b,c\n"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unique_id"), "{err}");
    let runs = store.list_ingest_runs(Some("empty"), 1).await.unwrap();
    assert_eq!(runs[0].status, IngestStatus::Failed);
    assert_eq!(store.count_observations(None).await.unwrap(), 1);
}

async fn series_file_sets_metadata(db: TestDb) {
    let (store, _) = setup(&db).await;
    let text = "key,entity,metric,frequency,unit,lower,upper,thresholds\n\
                solar-1,PLANT1,power_mw,15min,MW,0,20,16;18\n";
    assert_eq!(load_series_csv(&store, "s", reader(text)).await.unwrap(), 1);
    let s = store
        .series_by_key(&SeriesKey::parse("solar-1").unwrap())
        .await
        .unwrap();
    assert_eq!(s.meta.bounds.upper(), Some(20.0));
    assert_eq!(s.meta.frequency, Some(Frequency::Minutes(15)));
    assert_eq!(s.meta.tags["thresholds"], "16;18");
    let err = load_series_csv(&store, "s", reader("key,lower,upper\nx,5,1\n"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2") && err.contains("lower"), "{err}");
}

both_backends!(
    bad_rows_are_set_aside_and_good_rows_kept,
    unusable_files_fail_with_a_reason_and_keep_stored_data,
    series_file_sets_metadata,
);

#[test]
fn timestamps_parse_in_every_documented_form() {
    for (text, expect) in [
        ("2026-01-02", "2026-01-02T00:00:00+00:00"),
        ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05+00:00"),
        ("2026-01-02T03:04:05+01:00", "2026-01-02T02:04:05+00:00"),
        ("2026-01-02 03:04:05", "2026-01-02T03:04:05+00:00"),
        ("1767225600", "2026-01-01T00:00:00+00:00"),
    ] {
        assert_eq!(
            parse_timestamp(text).unwrap().to_rfc3339(),
            expect,
            "{text}"
        );
    }
    assert!(parse_timestamp("2026-13-01").is_none());
    assert!(parse_timestamp("").is_none());
}
