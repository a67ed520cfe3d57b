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
    let created: Vec<&str> = report.created.keys.iter().map(|k| k.as_str()).collect();
    assert_eq!((created, report.created.count), (vec!["a", "b"], 2));
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
    assert_eq!(again.created, Default::default());
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
    let text = "key,entity,metric,frequency,unit,lower,upper,thresholds,timezone,latitude,longitude,tilt,azimuth,capacity,country\n\
                solar-1,PLANT1,power_mw,15min,MW,0,20,16;<2.5,Europe/Berlin,52.5,13.4,30,180,25,de\n";
    assert_eq!(load_series_csv(&store, "s", reader(text)).await.unwrap(), 1);
    let s = store
        .series_by_key(&SeriesKey::parse("solar-1").unwrap())
        .await
        .unwrap();
    assert_eq!(s.meta.bounds.upper(), Some(20.0));
    assert_eq!(s.meta.frequency, Some(Frequency::Minutes(15)));
    assert_eq!(
        s.meta.thresholds,
        vec![Threshold::above(16.0), Threshold::below(2.5)]
    );
    assert!(s.meta.tags.is_empty());
    let a = &s.meta.attributes;
    assert_eq!(a.timezone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(
        a.location.map(|l| (l.latitude(), l.longitude())),
        Some((52.5, 13.4))
    );
    assert_eq!(
        a.orientation.map(|o| (o.tilt(), o.azimuth())),
        Some((30.0, 180.0))
    );
    assert_eq!((a.capacity, a.country.as_deref()), (Some(25.0), Some("DE")));
    for (file, column) in [
        ("key,latitude\nx,52\n", "longitude"),
        ("key,latitude,longitude\nx,91,0\n", "latitude"),
        ("key,tilt,azimuth\nx,30,400\n", "azimuth"),
        ("key,capacity\nx,-1\n", "capacity"),
        ("key,country\nx,DEU\n", "country"),
        ("unique_id,altitude\nx,high\n", "altitude"),
        ("key,thresholds\nx,16;>high\n", "thresholds"),
        ("key,thresholds\nx,16;16\n", "thresholds"),
    ] {
        let err = load_series_csv(&store, "s", reader(file))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 2") && err.contains(column),
            "{file}: {err}"
        );
    }
    let err = load_series_csv(&store, "s", reader("key,timezone\nx,Europe/<b>\n"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2") && err.contains("timezone"), "{err}");
    let err = load_series_csv(&store, "s", reader("key,lower,upper\nx,5,1\n"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2") && err.contains("lower"), "{err}");
}

async fn covariate_files_keep_vintages_apart_and_refuse_what_would_falsify_them(db: TestDb) {
    let (store, settings) = setup(&db).await;
    ingest_csv(
        &store,
        &settings,
        "plant",
        reader("unique_id,ds,y\nplant,2026-06-01T10:00:00Z,5\n"),
    )
    .await
    .unwrap();
    let covariates = |name: &'static str, text: &str| {
        ingest_reader(
            &store,
            &settings,
            name,
            reader(text),
            IngestFormat::Covariates,
        )
    };
    let text = "unique_id,ds,issued_at,ghi,temp_air\n\
        plant,2026-06-02T10:00:00Z,2026-06-01T06:00:00Z,510,21.5\n\
        plant,2026-06-02T10:15:00Z,2026-06-01T06:00:00Z,cloudy,21.0\n\
        plant,2026-06-02T10:30:00Z,2026-06-03T06:00:00Z,530,20.5\n\
        plant,2026-08-02T10:30:00Z,2026-06-01T06:00:00Z,530,20.5\n\
        nowhere,2026-06-02T10:30:00Z,2026-06-01T06:00:00Z,530,20.5\n\
        plant,2026-06-01T10:00:00Z,,480,19.0\n";
    let report = covariates("weather", text).await.unwrap();
    assert_eq!(report.run.rows_read, 6);
    assert_eq!(report.run.rows_rejected, 4);
    // two vintage values and two observations
    assert_eq!(report.run.rows_landed, 4);
    let reasons: Vec<(i64, String)> = store
        .rejections(report.run.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.line.unwrap(), r.reason))
        .collect();
    let expect = [
        (3, "column ghi: \"cloudy\" is not a number"),
        (4, "is later than its ds"),
        (5, "more than 30 days before its ds"),
        (6, "unknown target series nowhere"),
    ];
    assert_eq!(reasons.len(), expect.len(), "{reasons:?}");
    for ((line, reason), (want_line, want)) in reasons.iter().zip(expect) {
        assert!(
            *line == want_line && reason.contains(want),
            "{line}: {reason}"
        );
    }
    let plant = store
        .series_by_key(&SeriesKey::parse("plant").unwrap())
        .await
        .unwrap();
    let covs = store.covariates_of(&[plant.id]).await.unwrap();
    assert_eq!(covs.len(), 2);
    let ghi = &covs[0];
    assert_eq!(ghi.meta.key.as_str(), "plant:ghi");
    assert_eq!(ghi.covariate_of.as_ref().unwrap().target_id, plant.id);
    let t = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let vintage = store
        .vintage(ghi.id, t("2026-06-01T06:00:00Z"), None, None)
        .await
        .unwrap();
    assert_eq!(vintage.len(), 1);
    assert_eq!(vintage[0].value, 510.0);
    // the observation went to observations, not to the vintage
    let obs = store.observations(ghi.id, None, None).await.unwrap();
    assert_eq!(obs.len(), 1);
    assert_eq!(obs[0].value, 480.0);

    // The same vintage again changes nothing; the same issue and instant with another value
    // is refused with the line, and the stored value stays.
    let again = covariates("weather", text).await.unwrap();
    assert_eq!(again.run.rows_landed, 0);
    let changed =
        "unique_id,ds,issued_at,ghi\nplant,2026-06-02T10:00:00Z,2026-06-01T06:00:00Z,999\n";
    let report = covariates("changed", changed).await.unwrap();
    assert_eq!(report.run.rows_rejected, 1);
    let r = &store.rejections(report.run.id).await.unwrap()[0];
    assert_eq!(r.line, Some(2));
    assert!(
        r.reason
            .contains("vintage already stored with another value"),
        "{}",
        r.reason
    );
    assert!(r.reason.contains("510"), "{}", r.reason);
    let vintage = store
        .vintage(ghi.id, t("2026-06-01T06:00:00Z"), None, None)
        .await
        .unwrap();
    assert_eq!(vintage[0].value, 510.0);

    // JSON Lines: the same rules.
    let jsonl = "{\"unique_id\":\"plant\",\"ds\":\"2026-06-02T11:00:00Z\",\"issued_at\":\"2026-06-01T06:00:00Z\",\"ghi\":600}\n\
        {\"unique_id\":\"plant\",\"ds\":\"2026-06-02T11:15:00Z\",\"issued_at\":\"2026-06-01T06:00:00Z\",\"ghi\":\"x\"}\n";
    let report = ingest_reader(
        &store,
        &settings,
        "j",
        reader(jsonl),
        IngestFormat::CovariatesJsonl,
    )
    .await
    .unwrap();
    assert_eq!((report.run.rows_landed, report.run.rows_rejected), (1, 1));
    // A file with the target's own values is not a covariates file.
    let err = covariates("wrong", "unique_id,ds,y\nplant,2026-06-01,1\n")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no y column"), "{err}");
}

/// Parquet files pandas wrote, named anything, go in as their rows; in a format other than
/// the long one they are refused, saying so.
async fn parquet_files_go_in_as_their_rows(db: TestDb) {
    let (store, settings) = setup(&db).await;
    let fixture = |name: &str| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../horizon-batch/tests/fixtures")
            .join(name)
    };
    let report = ingest_file(
        &store,
        &settings,
        &fixture("daily-date-zstd.parquet"),
        IngestFormat::Csv,
    )
    .await
    .unwrap();
    assert_eq!(
        (
            report.run.rows_read,
            report.run.rows_landed,
            report.run.rows_rejected
        ),
        (112, 112, 0)
    );
    assert_eq!(report.created.count, 2);
    // The other file holds the same rows (nanosecond timestamps): nothing new.
    let again = ingest_file(
        &store,
        &settings,
        &fixture("daily-ns-snappy.parquet"),
        IngestFormat::Csv,
    )
    .await
    .unwrap();
    assert_eq!(again.run.rows_landed, 0, "{:?}", again.rejections);
    let err = ingest_file(
        &store,
        &settings,
        &fixture("daily-ns-snappy.parquet"),
        IngestFormat::Covariates,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("long format"), "{err}");
    assert_eq!(store.count_observations(None).await.unwrap(), 112);
}

both_backends!(
    parquet_files_go_in_as_their_rows,
    covariate_files_keep_vintages_apart_and_refuse_what_would_falsify_them,
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

mod daemon_tests {
    //! The daemon over watched directories: bad input is set aside, good input around it kept,
    //! GDELT events rolled up and recomputed when late ones arrive.

    use std::io::Write as _;

    use horizon_settings::{IngestFormat, IngestSource};
    use horizon_store::{PoolOptions, Store};
    use horizon_test_support::{TestDb, both_backends};

    use super::super::{
        daemon::Ingestor,
        gdelt::{GdeltVersion, format_line, parse_line},
        rollup::GDELT_WATERMARK,
    };
    use super::*;

    fn gline(id: i64, day: &str, a1: &str, a2: &str, root: u8, quad: u8, g: f64) -> String {
        format_line(
            GdeltVersion::V2,
            id,
            day,
            a1,
            a2,
            root,
            quad,
            g,
            3,
            -2.5,
            &format!("{day}101500"),
        )
    }

    fn source(name: &str, dir: &std::path::Path, glob: &str, format: IngestFormat) -> IngestSource {
        IngestSource {
            name: name.into(),
            format,
            dir: Some(dir.to_path_buf()),
            glob: glob.into(),
            url: None,
            interval_secs: 60,
            issued_at_pattern: None,
        }
    }

    async fn ingestor(db: &TestDb) -> (Ingestor, Store, std::path::PathBuf, std::path::PathBuf) {
        let store = Store::connect_with(&db.url, &PoolOptions::default())
            .await
            .unwrap();
        let mut settings = Settings::from_figment(Settings::figment_defaults()).unwrap();
        settings.event_store_path = db.path("events.db");
        settings.data_dir = db.path("data");
        settings.ingest_max_record_bytes = 1_000;
        settings.ingest_batch_records = 2;
        let csv_dir = db.path("csv");
        let gdelt_dir = db.path("gdelt");
        std::fs::create_dir_all(&csv_dir).unwrap();
        std::fs::create_dir_all(&gdelt_dir).unwrap();
        settings.ingest_sources = vec![
            source("sales", &csv_dir, "*.csv", IngestFormat::Csv),
            source("gdelt", &gdelt_dir, "*", IngestFormat::Gdelt2),
        ];
        let ing = Ingestor::new(store.clone(), settings).await.unwrap();
        (ing, store, csv_dir, gdelt_dir)
    }

    async fn obs_of(store: &Store, key: &str) -> Vec<f64> {
        let s = store
            .series_by_key(&SeriesKey::parse(key).unwrap())
            .await
            .unwrap();
        store
            .observations(s.id, None, None)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.value)
            .collect()
    }

    /// A covariate feed that publishes one file per issue, the issue in its name.
    async fn a_covariate_source_reads_the_issue_off_the_file_name(db: TestDb) {
        let store = Store::connect_with(&db.url, &PoolOptions::default())
            .await
            .unwrap();
        let mut settings = Settings::from_figment(Settings::figment_defaults()).unwrap();
        settings.event_store_path = db.path("events.db");
        settings.data_dir = db.path("data");
        let dir = db.path("weather");
        std::fs::create_dir_all(&dir).unwrap();
        let mut weather = source("weather", &dir, "*.csv", IngestFormat::Covariates);
        weather.issued_at_pattern = Some("weather_%Y%m%d%H".into());
        settings.ingest_sources = vec![weather];
        store
            .upsert_series(&horizon_domain::SeriesMeta::first_sight(
                SeriesKey::parse("plant").unwrap(),
            ))
            .await
            .unwrap();
        std::fs::write(
            dir.join("weather_2026060106.csv"),
            "unique_id,ds,ghi\nplant,2026-06-02T10:00:00Z,510\nplant,2026-06-01T05:00:00Z,1\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("no_issue.csv"),
            "unique_id,ds,ghi\nplant,2026-06-02T10:00:00Z,1\n",
        )
        .unwrap();
        let mut ing = Ingestor::new(store.clone(), settings).await.unwrap();
        let report = ing.cycle().await.unwrap();
        let run = &report.runs[0];
        assert_eq!(run.rows_landed, 1, "{run:?}");
        let reasons: Vec<String> = store
            .rejections(run.id)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.reason)
            .collect();
        assert!(
            reasons.iter().any(|r| r.contains("later than its ds")),
            "a value before the issue in the name: {reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("no_issue.csv") && r.contains("issued_at_pattern")),
            "a name without the issue: {reasons:?}"
        );
        let ghi = store
            .series_by_key(&SeriesKey::parse("plant:ghi").unwrap())
            .await
            .unwrap();
        let issued = chrono::DateTime::parse_from_rfc3339("2026-06-01T06:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let v = store.vintage(ghi.id, issued, None, None).await.unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].value, 510.0);
        assert!(dir.join("processed/weather_2026060106.csv").exists());
    }

    async fn bad_input_is_set_aside_and_the_daemon_keeps_going(db: TestDb) {
        let (mut ing, store, csv_dir, gdelt_dir) = ingestor(&db).await;
        let long = "9".repeat(2_000);
        std::fs::write(
            csv_dir.join("a.csv"),
            format!(
                "unique_id,ds,y,temp\n\
                 s1,2026-01-01,1,20\n\
                 s1,2026-01-02,x,20\n\
                 s1,2026-01-03,3\n\
                 s1,2026-13-45,4,20\n\
                 s1,2026-01-04,{long},1\n\
                 s1,2026-01-05T00:00:00+01:00,5,warm\n\
                 s1,1767571200,6,21.5\n"
            ),
        )
        .unwrap();
        std::fs::write(csv_dir.join("b-empty.csv"), "").unwrap();
        let good = gline(11, "20260101", "USA", "FRA", 14, 3, -6.5);
        let cut = gline(12, "20260101", "USA", "", 1, 1, 1.0);
        std::fs::write(
            gdelt_dir.join("1.export.CSV"),
            format!(
                "{good}\n{}\n{}",
                gline(13, "20260101", "FRA", "", 2, 1, 2.0),
                &cut[..40]
            ),
        )
        .unwrap();
        std::fs::write(gdelt_dir.join("2.export.CSV.zip"), "this is not a zip").unwrap();
        std::fs::write(
            gdelt_dir.join("3.export.CSV"),
            format!("{}\n", gline(14, "2026-01-01", "USA", "", 1, 1, 1.0)),
        )
        .unwrap();

        let report = ing.cycle().await.unwrap();
        assert_eq!(report.runs.len(), 2);
        let sales = &report.runs[0];
        assert_eq!(sales.status, IngestStatus::Failed, "{:?}", sales.error);
        assert!(
            sales
                .error
                .as_deref()
                .unwrap()
                .contains("b-empty.csv: the file is empty")
        );
        let reasons: Vec<(Option<i64>, String)> = store
            .rejections(sales.id)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.line, r.reason))
            .collect();
        let has = |line: Option<i64>, text: &str| {
            reasons.iter().any(|(l, r)| *l == line && r.contains(text))
        };
        assert!(
            has(Some(3), "column y: \"x\" is not a number"),
            "{reasons:?}"
        );
        assert!(has(Some(4), "expected 4 columns, found 3"), "{reasons:?}");
        assert!(has(Some(5), "column ds"), "{reasons:?}");
        assert!(has(Some(6), "exceeds the maximum of 1000"), "{reasons:?}");
        assert!(
            has(Some(7), "column temp: \"warm\" is not a number"),
            "{reasons:?}"
        );
        assert!(has(None, "the file is empty"), "{reasons:?}");
        assert_eq!(obs_of(&store, "s1").await, vec![1.0, 6.0]);
        assert_eq!(obs_of(&store, "s1:temp").await, vec![20.0, 21.5]);
        assert!(csv_dir.join("processed/a.csv").exists());
        assert!(csv_dir.join("failed/b-empty.csv").exists());

        let gd = &report.runs[1];
        let reasons: Vec<(Option<i64>, String)> = store
            .rejections(gd.id)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.line, r.reason))
            .collect();
        let has = |line: Option<i64>, text: &str| {
            reasons.iter().any(|(l, r)| *l == line && r.contains(text))
        };
        assert!(
            has(Some(3), "expected 61 tab-separated fields"),
            "{reasons:?}"
        );
        assert!(has(None, "not a readable zip archive"), "{reasons:?}");
        assert!(has(Some(1), "field SQLDATE: \"2026-01-01\""), "{reasons:?}");
        assert!(gdelt_dir.join("failed/2.export.CSV.zip").exists());
        assert!(gdelt_dir.join("processed/1.export.CSV").exists());
        assert!(gdelt_dir.join("processed/3.export.CSV").exists());
        assert_eq!(obs_of(&store, "gdelt.USA.daily.events").await, vec![1.0]);
        assert_eq!(obs_of(&store, "gdelt.FRA.daily.events").await, vec![2.0]);
        assert_eq!(
            obs_of(&store, "gdelt.FRA.15min.events_root_14").await,
            vec![1.0]
        );
        assert_eq!(
            obs_of(&store, "gdelt.FRA.daily.goldstein_mean").await,
            vec![-2.25]
        );
        let usa = store
            .series_by_key(&SeriesKey::parse("gdelt.USA.daily.events_quad_3").unwrap())
            .await
            .unwrap();
        assert_eq!(usa.meta.entity, "USA");
        assert_eq!(usa.meta.frequency, Some(Frequency::Days(1)));
        assert_eq!(usa.meta.bounds.lower(), Some(0.0));

        // still running: the next files are taken as usual; a late event and a duplicate
        // recompute the day instead of adding to it
        let mut zipped = Vec::new();
        {
            let mut zw = zip::ZipWriter::new(std::io::Cursor::new(&mut zipped));
            zw.start_file("4.export.CSV", zip::write::SimpleFileOptions::default())
                .unwrap();
            writeln!(zw, "{good}").unwrap();
            writeln!(zw, "{}", gline(15, "20260101", "USA", "GBR", 14, 4, -9.5)).unwrap();
            zw.finish().unwrap();
        }
        std::fs::write(gdelt_dir.join("4.export.CSV.zip"), zipped).unwrap();
        let report = ing.cycle().await.unwrap();
        assert_eq!(report.runs.len(), 1);
        assert_eq!(report.runs[0].status, IngestStatus::Succeeded);
        assert_eq!(report.runs[0].rows_landed, 1, "the duplicate is a no-op");
        assert_eq!(obs_of(&store, "gdelt.USA.daily.events").await, vec![2.0]);
        assert_eq!(
            obs_of(&store, "gdelt.USA.daily.events_root_14").await,
            vec![2.0]
        );
        assert_eq!(
            obs_of(&store, "gdelt.USA.daily.goldstein_mean").await,
            vec![-8.0]
        );
        assert_eq!(obs_of(&store, "gdelt.USA.daily.mentions").await, vec![6.0]);
        assert_eq!(
            obs_of(&store, "gdelt.GBR.daily.events_quad_4").await,
            vec![1.0]
        );
        let before = store.count_observations(None).await.unwrap();
        // replaying a processed file changes nothing
        std::fs::rename(
            gdelt_dir.join("processed/4.export.CSV.zip"),
            gdelt_dir.join("4.export.CSV.zip"),
        )
        .unwrap();
        let report = ing.cycle().await.unwrap();
        assert_eq!(report.runs[0].rows_landed, 0);
        assert_eq!(store.count_observations(None).await.unwrap(), before);
        assert_eq!(obs_of(&store, "gdelt.USA.daily.events").await, vec![2.0]);
    }

    async fn runs_left_running_by_a_stopped_process_are_closed(db: TestDb) {
        let store = Store::connect_with(&db.url, &PoolOptions::default())
            .await
            .unwrap();
        // a process killed in the middle of a cycle leaves its run running
        let killed = store.start_ingest_run("gdelt").await.unwrap();
        let elsewhere = store.start_ingest_run("another-host-source").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let (mut ing, store, _, gdelt_dir) = ingestor(&db).await;
        let runs = store.list_ingest_runs(None, 10).await.unwrap();
        let of = |id| runs.iter().find(|r| r.id == id).unwrap();
        assert_eq!(of(killed.id).status, IngestStatus::Failed);
        assert!(of(killed.id).finished_at.is_some());
        let error = of(killed.id).error.clone().unwrap_or_default();
        assert!(error.contains("before finishing this run"), "{error}");
        assert_eq!(
            of(elsewhere.id).status,
            IngestStatus::Running,
            "runs of sources this process does not own are left alone"
        );
        // the new process's own runs are not touched
        std::fs::write(
            gdelt_dir.join("1.export.CSV"),
            format!("{}\n", gline(1, "20260101", "USA", "", 1, 1, 1.0)),
        )
        .unwrap();
        let report = ing.cycle().await.unwrap();
        assert_eq!(report.runs[0].status, IngestStatus::Succeeded);
    }

    async fn retention_removes_old_rolled_up_events_and_keeps_the_rest(db: TestDb) {
        let today = chrono::Utc::now().date_naive();
        let day = |ago: i64| today - chrono::Duration::days(ago);
        let gday = |ago: i64| day(ago).format("%Y%m%d").to_string();
        let (mut ing, store, csv_dir, gdelt_dir) = ingestor(&db).await;
        std::fs::write(
            csv_dir.join("a.csv"),
            format!("unique_id,ds,y\nold,{},1\nnew,{},2\n", day(40), day(1)),
        )
        .unwrap();
        std::fs::write(
            gdelt_dir.join("1.export.CSV"),
            format!(
                "{}\n{}\n",
                gline(1, &gday(40), "USA", "", 1, 1, 1.0),
                gline(2, &gday(1), "USA", "", 1, 1, 1.0)
            ),
        )
        .unwrap();
        ing.cycle().await.unwrap();
        drop(ing);
        assert_eq!(
            obs_of(&store, "gdelt.USA.daily.events").await,
            vec![1.0, 1.0]
        );

        // landed by a process killed before its roll-up: old, but not rolled up yet
        let path = db.path("events.db");
        let mut es = EventStore::open(&path).unwrap();
        let late = gline(3, &gday(40), "FRA", "", 1, 1, 1.0);
        es.land_gdelt(&[parse_line(late.as_bytes(), GdeltVersion::V2).unwrap()])
            .unwrap();
        es.land_observations(&[("late".into(), format!("{}T00:00:00Z", day(40)), 3.0)])
            .unwrap();
        let cutoff = (day(30) - chrono::NaiveDate::default()).num_days();
        let deleted = es
            .apply_retention(cutoff, ROLLUP_WATERMARK, GDELT_WATERMARK)
            .unwrap();
        assert_eq!(deleted, 2, "the old rolled-up event and observation");
        assert_eq!(
            es.count_gdelt().unwrap(),
            2,
            "the recent and the un-rolled-up event"
        );
        assert_eq!(es.count_observations().unwrap(), 2);
        drop(es);

        // a daemon with 30 days of retention rolls the late records up first (an old bucket
        // is not recomputed from a partial event store), then removes them
        let mut settings = Settings::from_figment(Settings::figment_defaults()).unwrap();
        settings.event_store_path = path.clone();
        settings.data_dir = db.path("data");
        settings.ingest_retention_days = 30;
        let mut ing = Ingestor::new(store.clone(), settings).await.unwrap();
        ing.cycle().await.unwrap();
        drop(ing);
        let es = EventStore::open(&path).unwrap();
        assert_eq!(es.count_gdelt().unwrap(), 1);
        assert_eq!(es.count_observations().unwrap(), 1);
        assert_eq!(
            obs_of(&store, "gdelt.USA.daily.events").await,
            vec![1.0, 1.0]
        );
        assert_eq!(obs_of(&store, "late").await, vec![3.0]);
        assert_eq!(obs_of(&store, "new").await, vec![2.0]);
    }

    /// A watched directory of Parquet files: landed as their rows, moved to `processed/`.
    async fn a_watched_directory_takes_parquet(db: TestDb) {
        let store = Store::connect_with(&db.url, &PoolOptions::default())
            .await
            .unwrap();
        let mut settings = Settings::from_figment(Settings::figment_defaults()).unwrap();
        settings.event_store_path = db.path("events.db");
        settings.data_dir = db.path("data");
        let dir = db.path("pq");
        std::fs::create_dir_all(&dir).unwrap();
        settings.ingest_sources = vec![source("pq", &dir, "*.parquet", IngestFormat::Csv)];
        std::fs::copy(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../horizon-batch/tests/fixtures/daily-ns-snappy.parquet"),
            dir.join("a.parquet"),
        )
        .unwrap();
        let mut ing = Ingestor::new(store.clone(), settings).await.unwrap();
        let report = ing.cycle().await.unwrap();
        assert_eq!(report.runs[0].rows_landed, 112, "{:?}", report.runs);
        assert_eq!(obs_of(&store, "p-a").await.len(), 56);
        assert!(dir.join("processed/a.parquet").exists());
    }

    both_backends!(
        a_watched_directory_takes_parquet,
        a_covariate_source_reads_the_issue_off_the_file_name,
        bad_input_is_set_aside_and_the_daemon_keeps_going,
        runs_left_running_by_a_stopped_process_are_closed,
        retention_removes_old_rolled_up_events_and_keeps_the_rest
    );

    #[test]
    fn gdelt_fields_are_read_by_documented_index() {
        let v2 = gline(42, "20260102", "USA", "CHN", 19, 4, -10.0);
        let e = parse_line(v2.as_bytes(), GdeltVersion::V2).unwrap();
        assert_eq!(e.event_id, 42);
        assert_eq!(e.day, 20_455);
        assert_eq!(e.slot, Some(20_455 * 96 + 41));
        assert_eq!(
            (e.actor1_country.as_str(), e.actor2_country.as_str()),
            ("USA", "CHN")
        );
        assert_eq!((e.root_code, e.quad_class, e.mentions), (19, 4, 3));
        assert_eq!((e.goldstein, e.tone), (-10.0, -2.5));
        let v1 = format_line(
            GdeltVersion::V1,
            7,
            "20130401",
            "",
            "IRN",
            4,
            1,
            3.4,
            10,
            1.25,
            "",
        );
        let e = parse_line(v1.as_bytes(), GdeltVersion::V1).unwrap();
        assert_eq!(
            (e.event_id, e.slot, e.root_code, e.mentions),
            (7, None, 4, 10)
        );
        assert_eq!(e.actor2_country, "IRN");
        // the 57-field backfile form (no SOURCEURL) is GDELT 1.0 too
        let short = v1.rsplit_once('\t').unwrap().0;
        assert!(parse_line(short.as_bytes(), GdeltVersion::V1).is_ok());
        let err = parse_line(v1.as_bytes(), GdeltVersion::V2).unwrap_err();
        assert!(err.contains("expected 61"), "{err}");
        let bad = v2.replace("\t19\t4\t", "\t21\t4\t");
        let err = parse_line(bad.as_bytes(), GdeltVersion::V2).unwrap_err();
        assert!(err.contains("EventRootCode"), "{err}");
    }
}

mod feed_tests {
    //! An HTTP pull feed on loopback in JSON Lines: landed once, then not fetched again while
    //! its ETag is unchanged.

    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use horizon_settings::{IngestFormat, IngestSource};
    use horizon_store::{PoolOptions, Store};
    use horizon_test_support::{TestDb, both_backends};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::super::daemon::Ingestor;
    use super::*;

    /// Serves `body` with an ETag; answers 304 to a request that carries it.
    async fn serve(body: &'static str) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let full = Arc::new(AtomicUsize::new(0));
        let counter = full.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
                let resp = if req.contains("if-none-match: \"v1\"") {
                    "HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_owned()
                } else {
                    counter.fetch_add(1, Ordering::SeqCst);
                    format!(
                        "HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            }
        });
        (format!("http://{addr}/feed.jsonl"), full)
    }

    async fn a_feed_is_landed_once_per_version(db: TestDb) {
        let (url, full) = serve(
            "{\"unique_id\":\"f1\",\"ds\":\"2026-01-01\",\"y\":1.5,\"price\":3}\n\
             {\"unique_id\":\"f1\",\"ds\":1767312000,\"y\":2}\n\
             not json\n\
             {\"unique_id\":\"f1\",\"ds\":\"2026-01-03\",\"y\":\"x\"}\n",
        )
        .await;
        let store = Store::connect_with(&db.url, &PoolOptions::default())
            .await
            .unwrap();
        let mut settings = Settings::from_figment(Settings::figment_defaults()).unwrap();
        settings.event_store_path = db.path("events.db");
        settings.data_dir = db.path("data");
        settings.ingest_sources = vec![IngestSource {
            name: "feed".into(),
            format: IngestFormat::Jsonl,
            dir: None,
            glob: "*".into(),
            url: Some(url),
            interval_secs: 1,
            issued_at_pattern: None,
        }];
        let mut ing = Ingestor::new(store.clone(), settings).await.unwrap();
        let report = ing.cycle().await.unwrap();
        assert_eq!(report.runs.len(), 1);
        let run = &report.runs[0];
        assert_eq!(
            (run.rows_read, run.rows_landed, run.rows_rejected),
            (4, 3, 2)
        );
        let reasons: Vec<String> = store
            .rejections(run.id)
            .await
            .unwrap()
            .into_iter()
            .map(|r| format!("{:?}:{}", r.line, r.reason))
            .collect();
        assert!(
            reasons[0].starts_with("Some(3):not a JSON object"),
            "{reasons:?}"
        );
        assert!(reasons[1].starts_with("Some(4):column y"), "{reasons:?}");
        let f1 = store
            .series_by_key(&SeriesKey::parse("f1").unwrap())
            .await
            .unwrap();
        assert_eq!(store.count_observations(Some(f1.id)).await.unwrap(), 2);
        let price = store
            .series_by_key(&SeriesKey::parse("f1:price").unwrap())
            .await
            .unwrap();
        assert_eq!(store.count_observations(Some(price.id)).await.unwrap(), 1);
        // next poll: the cursor (ETag) is sent, the feed answers 304, nothing is recorded
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        let report = ing.cycle().await.unwrap();
        assert!(report.runs.is_empty());
        assert_eq!(full.load(Ordering::SeqCst), 1);
    }

    async fn a_feed_is_fetched_over_https(db: TestDb) {
        // a loopback server that records the first bytes of the connection: a TLS client
        // opens with a handshake record (0x16, version 3.x)
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            if let Ok((mut sock, _)) = listener.accept().await {
                let mut head = [0u8; 3];
                let _ = sock.read_exact(&mut head).await;
                let _ = tx.send(head);
            }
        });
        let store = Store::connect_with(&db.url, &PoolOptions::default())
            .await
            .unwrap();
        let mut settings = Settings::from_figment(Settings::figment_defaults()).unwrap();
        settings.event_store_path = db.path("events.db");
        settings.data_dir = db.path("data");
        settings.ingest_sources = vec![IngestSource {
            name: "secure".into(),
            format: IngestFormat::Jsonl,
            dir: None,
            glob: "*".into(),
            url: Some(format!("https://{addr}/feed.jsonl")),
            interval_secs: 60,
            issued_at_pattern: None,
        }];
        let mut ing = Ingestor::new(store.clone(), settings).await.unwrap();
        let report = ing.cycle().await.unwrap();
        let head = rx.await.unwrap();
        assert_eq!(head[..2], [0x16, 0x03], "a TLS handshake, got {head:?}");
        // the handshake fails (the server speaks no TLS): the run says so, the daemon goes on
        let run = &report.runs[0];
        assert_eq!(run.status, IngestStatus::Failed);
        assert!(
            run.error
                .as_deref()
                .unwrap_or("")
                .contains("request failed"),
            "{:?}",
            run.error
        );
    }

    both_backends!(
        a_feed_is_landed_once_per_version,
        a_feed_is_fetched_over_https
    );
}
