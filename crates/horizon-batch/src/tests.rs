//! Tests of CSV parsing and output.

use std::io::Cursor;

use crate::input::read_with;
use crate::{BatchError, ForecastArgs, run_forecast};

fn parse(text: &str) -> Result<crate::SeriesSet, BatchError> {
    read_with(
        Cursor::new(text.as_bytes().to_vec()),
        crate::OnDuplicate::First,
    )
}

#[test]
fn errors_name_line_and_column() {
    let e = parse("unique_id,ds,y\na,1,1.0\na,2,abc\n");
    match e {
        Err(BatchError::Parse { line, column, .. }) => assert_eq!((line, column), (3, 3)),
        other => panic!("{other:?}"),
    }
    let e = parse("unique_id,ds,y\na,2020-13-45,1\n");
    assert!(
        matches!(
            e,
            Err(BatchError::Parse {
                line: 2,
                column: 2,
                ..
            })
        ),
        "{e:?}"
    );
    let e = parse("unique_id,ds,y\na,1,1\na,2020-01-01,1\n");
    assert!(
        matches!(
            e,
            Err(BatchError::Parse {
                line: 3,
                column: 2,
                ..
            })
        ),
        "{e:?}"
    );
    let e = parse("id,ds,y\na,1,1\n");
    assert!(matches!(e, Err(BatchError::Input(m)) if m.contains("unique_id")));
    assert!(matches!(
        parse("unique_id,ds,y\n"),
        Err(BatchError::Input(_))
    ));
}

#[test]
fn mixed_frequencies_are_rejected() {
    let e = parse(
        "unique_id,ds,y\na,2020-01-01,1\na,2020-01-02,2\na,2020-01-03,2\nb,2020-01-01,1\nb,2020-02-01,1\nb,2020-03-01,1\n",
    );
    assert!(matches!(e, Err(BatchError::Input(m)) if m.contains("mixed frequencies")));
}

#[test]
fn gaps_become_missing_values_and_ds_continues() -> Result<(), BatchError> {
    let set = parse(
        "unique_id,ds,y\na,2020-01-01,1\na,2020-03-01,3\na,2020-04-01,4\nb,2020-01-01,NA\nb,2020-02-01,2\n",
    )?;
    assert_eq!(set.series.len(), 2);
    assert_eq!(set.series[0].values.len(), 4);
    assert!(set.series[0].values[1].is_nan());
    assert_eq!(set.format_ds(set.next_ds(&set.series[0], 1)), "2020-05-01");
    let ints = parse("unique_id,ds,y\nx,10,1\nx,12,1\nx,14,2\n")?;
    assert_eq!(ints.format_ds(ints.next_ds(&ints.series[0], 2)), "18");
    let dt = parse(
        "unique_id,ds,y\ns,2024-01-01 00:00:00,1\ns,2024-01-01 00:15:00,2\ns,2024-01-01 00:30:00,3\n",
    )?;
    assert_eq!(
        dt.format_ds(dt.next_ds(&dt.series[0], 1)),
        "2024-01-01 00:45:00"
    );
    Ok(())
}

#[test]
fn forecast_file_has_expected_columns() -> Result<(), BatchError> {
    let dir = std::env::temp_dir().join(format!("horizon-batch-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| crate::io_error(&dir, e))?;
    let input = dir.join("in.csv");
    let mut text = String::from("unique_id,ds,y\n");
    for t in 0..30 {
        text.push_str(&format!("a,{t},{}\n", 10 + t % 4));
        text.push_str(&format!("b,{t},{}\n", if t % 3 == 0 { 2 } else { 0 }));
    }
    std::fs::write(&input, text).map_err(|e| crate::io_error(&input, e))?;
    let args = ForecastArgs {
        input,
        horizon: 3,
        season_length: vec![4.0],
        levels: vec![80.0, 95.0],
        quantiles: vec![0.1, 0.5],
        models: vec![],
        output: dir.join("out.csv"),
        seed: 1,
        on_duplicate: crate::OnDuplicate::Error,
        drivers: crate::DriverArgs::default(),
    };
    let summary = run_forecast(&args)?;
    assert_eq!(summary.rows, 6);
    assert!(summary.failed.is_empty());
    let out =
        std::fs::read_to_string(&args.output).map_err(|e| crate::io_error(&args.output, e))?;
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("unique_id,ds,mean,lo-80,hi-80,lo-95,hi-95,q-0.1,q-0.5")
    );
    assert!(out.contains("\na,30,") && out.contains("\nb,32,"));
    let bad = ForecastArgs {
        models: vec!["nope".to_owned()],
        ..args.clone()
    };
    assert!(matches!(
        run_forecast(&bad),
        Err(BatchError::Argument { .. })
    ));
    let single = ForecastArgs {
        models: vec!["ets".to_owned()],
        ..args
    };
    assert_eq!(run_forecast(&single)?.rows, 6);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn covariates_are_averaged_interpolated_or_held_onto_the_target_grid() {
    use crate::covariates::{align, is_flag};
    use horizon_domain::IntervalLabel::End;
    // Five-minute values onto 15-minute steps: the mean of the three in each interval.
    let fine: Vec<(i64, f64)> = (1..=12).map(|k| (k * 300, k as f64)).collect();
    let got = align(&fine, &[900, 1800, 2700], 900, End, false);
    assert_eq!(got, vec![2.0, 5.0, 8.0]);
    // Hourly values (stamped at the hour's end, centres at :30) onto 15-minute steps:
    // linear between centres; a flag is held over its hour.
    let hourly = vec![(3600, 0.0), (7200, 1.0), (10800, 0.0)];
    let got = align(&hourly, &[4500, 5400, 7200], 900, End, false);
    // Step ending 4500 has its centre at 4050: 1,850 s past the 1,800 s centre of the
    // first hour, of 3,600 to the next centre.
    assert!((got[0] - 2250.0 / 3600.0).abs() < 1e-9, "{got:?}");
    // A coarser value at the same stamp covers the whole hour: interpolated like the rest
    // (centre 6,750 s, 1,350 s past the 5,400 s centre of the value 1).
    assert!((got[2] - 0.625).abs() < 1e-9, "{got:?}");
    assert!(is_flag(&hourly));
    let held = align(&hourly, &[4500, 5400, 6300], 900, End, true);
    assert_eq!(held, vec![1.0, 1.0, 1.0]);
    // Beyond the covariate's span (more than half its step): missing.
    let out = align(&hourly, &[20_000], 900, End, false);
    assert!(out[0].is_nan());
}

#[test]
fn hourly_irradiance_goes_through_the_clear_sky_index() {
    use crate::covariates::{align, align_irradiance};
    use horizon_domain::{IntervalLabel::End, Location, SeriesAttributes};
    let attributes = SeriesAttributes {
        location: Some(Location::new(39.742, -105.1727).unwrap()),
        ..SeriesAttributes::default()
    };
    // A clear morning in Golden, CO (sunrise about 11:30 UTC on 1 July): hourly means.
    let t0 = chrono::DateTime::parse_from_rfc3339("2016-07-01T11:00:00Z")
        .unwrap()
        .timestamp();
    let hourly: Vec<(i64, f64)> = [(1, 20.0), (2, 180.0), (3, 400.0), (4, 600.0)]
        .iter()
        .map(|(h, v)| (t0 + h * 3600, *v))
        .collect();
    let stamps: Vec<i64> = (1..=16).map(|k| t0 + k * 900).collect();
    let by_index = align_irradiance(&hourly, &stamps, 900, End, &attributes);
    let plain = align(&hourly, &stamps, 900, End, false);
    // Before sunrise the clear sky is zero, so is the irradiance; plain interpolation smears
    // the hour's mean over the dark part.
    assert_eq!(by_index[1], 0.0, "{by_index:?}");
    assert!(plain[1] > 0.0);
    // Both rise through the morning.
    assert!(
        by_index.windows(2).skip(3).all(|w| w[1] >= w[0] - 1.0),
        "{by_index:?}"
    );
}

#[test]
fn the_attributes_file_is_checked_and_unknown_columns_are_noted() {
    use crate::covariates::read_attributes_from;
    let text =
        "key,latitude,longitude,capacity,tilt,azimuth,owner\nplant-1,39.7,-105.2,500,30,180,acme\n";
    let (info, ignored) = read_attributes_from(Cursor::new(text)).unwrap();
    assert_eq!(ignored, vec!["owner".to_owned()]);
    let p = &info["plant-1"];
    assert_eq!(
        p.bounds.and_then(|b| b.upper()),
        Some(500.0),
        "capacity sets upper"
    );
    assert_eq!(p.attributes.orientation.map(|o| o.azimuth()), Some(180.0));
    let bad = "unique_id,latitude,longitude\nplant-1,91,0\n";
    let e = read_attributes_from(Cursor::new(bad))
        .unwrap_err()
        .to_string();
    assert!(e.contains("latitude") && e.contains("91"), "{e}");
    let half = "unique_id,latitude\nplant-1,40\n";
    let e = read_attributes_from(Cursor::new(half))
        .unwrap_err()
        .to_string();
    assert!(e.contains("longitude"), "{e}");
}

#[test]
fn rfc3339_stamps_in_utc_come_back_with_z() {
    let set =
        parse("unique_id,ds,y\na,2020-01-01T00:00:00Z,1\na,2020-01-01T01:00:00Z,2\n").unwrap();
    let s = &set.series[0];
    assert_eq!(set.format_ds(set.next_ds(s, 1)), "2020-01-01T02:00:00Z");
    let set = parse("unique_id,ds,y\na,2020-01-01T00:00:00,1\na,2020-01-01T01:00:00,2\n").unwrap();
    let s = &set.series[0];
    assert_eq!(set.format_ds(set.next_ds(s, 1)), "2020-01-01T02:00:00");
}

#[test]
fn an_empty_file_says_so() {
    for text in ["", "\n"] {
        let err = parse(text).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("the file is empty"), "{text:?}: {err}");
    }
}

#[test]
fn a_backtest_that_scores_nothing_fails_with_the_reason() -> Result<(), BatchError> {
    let dir = std::env::temp_dir().join(format!("horizon-batch-short-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| crate::io_error(&dir, e))?;
    let input = dir.join("short.csv");
    std::fs::write(&input, "unique_id,ds,y\na,1,3\na,2,4\nb,1,5\n")
        .map_err(|e| crate::io_error(&input, e))?;
    let args = crate::BacktestArgs {
        output_format: Default::default(),
        input,
        horizon: 6,
        season_length: vec![],
        windows: 3,
        step: None,
        gap: 0,
        levels: vec![80.0, 95.0],
        models: vec![],
        output: dir.join("metrics.csv"),
        summary: None,
        on_duplicate: crate::OnDuplicate::Error,
        drivers: crate::DriverArgs::default(),
    };
    let err = crate::run_backtest(&args)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("no series could be backtested (2 of 2)"),
        "{err}"
    );
    assert!(!args.output.exists(), "no metrics file is written");
    Ok(())
}

#[test]
fn duplicate_stamps_are_refused_or_resolved_as_asked() {
    use crate::OnDuplicate;
    use crate::input::read_with;
    let text = "unique_id,ds,y\na,1,1\na,2,2\na,2,6\na,3,3\n";
    let read = |rule| read_with(Cursor::new(text.as_bytes().to_vec()), rule);
    let err = read(OnDuplicate::Error)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("lines 3 and 4"), "{err}");
    for (rule, want) in [
        (OnDuplicate::First, 2.0),
        (OnDuplicate::Last, 6.0),
        (OnDuplicate::Mean, 4.0),
    ] {
        let set = read(rule).expect("resolved");
        assert_eq!(set.series[0].values, vec![1.0, want, 3.0], "{rule:?}");
        assert_eq!(set.notes.len(), 1);
        assert!(
            set.notes[0].1.message.contains("1 duplicate rows"),
            "{:?}",
            set.notes
        );
    }
}

#[test]
fn backtest_metrics_are_spelled_as_the_api_spells_them() -> Result<(), BatchError> {
    let dir = std::env::temp_dir().join(format!("horizon-batch-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| crate::io_error(&dir, e))?;
    let input = dir.join("series.csv");
    let mut text = String::from("unique_id,ds,y\n");
    for t in 1..=60 {
        text.push_str(&format!("a,{t},{}\n", 10.0 + (t % 7) as f64));
    }
    std::fs::write(&input, text).map_err(|e| crate::io_error(&input, e))?;
    let args = crate::BacktestArgs {
        output_format: Default::default(),
        input,
        horizon: 7,
        season_length: vec![7.0],
        windows: 2,
        step: None,
        gap: 0,
        levels: vec![80.0, 95.0],
        models: vec![],
        output: dir.join("metrics.csv"),
        summary: None,
        on_duplicate: crate::OnDuplicate::Error,
        drivers: crate::DriverArgs::default(),
    };
    crate::run_backtest(&args)?;
    let written =
        std::fs::read_to_string(&args.output).map_err(|e| crate::io_error(&args.output, e))?;
    let header = written.lines().next().unwrap_or_default();
    for name in [
        "windows",
        "mase",
        "scaled_crps",
        "coverage_80",
        "coverage_95",
        "msis_95",
    ] {
        assert!(
            header.split(',').any(|h| h == name),
            "{name} not in {header}"
        );
    }
    assert!(!header.contains('-'), "{header}");
    Ok(())
}

/// A weekly-cycle daily file of two series, written to a fresh directory.
fn weekly_file(name: &str) -> Result<(std::path::PathBuf, std::path::PathBuf), BatchError> {
    let dir = std::env::temp_dir().join(format!("horizon-batch-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| crate::io_error(&dir, e))?;
    let input = dir.join("y.csv");
    let mut text = String::from("unique_id,ds,y\n");
    for id in ["a", "b"] {
        let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        for t in 0..70u32 {
            let ds = start + chrono::Duration::days(t.into());
            let y = 10.0
                + 4.0 * f64::from(t % 7)
                + f64::from(t * 7 % 3)
                + if id == "b" { 5.0 } else { 0.0 };
            text.push_str(&format!("{id},{ds},{y}\n"));
        }
    }
    std::fs::write(&input, text).map_err(|e| crate::io_error(&input, e))?;
    Ok((dir, input))
}

fn rows(path: &std::path::Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

#[test]
fn several_models_add_one_column_set_each_and_one_model_keeps_the_plain_columns()
-> Result<(), BatchError> {
    let (dir, input) = weekly_file("models")?;
    let args = ForecastArgs {
        input,
        horizon: 4,
        season_length: vec![],
        levels: vec![80.0],
        quantiles: vec![0.5],
        models: vec!["ets".into(), "snaive".into(), "ets".into()],
        output: dir.join("out.csv"),
        seed: 0,
        on_duplicate: crate::OnDuplicate::Error,
        drivers: crate::DriverArgs::default(),
    };
    run_forecast(&args)?;
    let out = rows(&args.output);
    assert_eq!(
        out[0].join(","),
        "unique_id,ds,mean,lo-80,hi-80,q-0.5,ets,ets-lo-80,ets-hi-80,ets-q-0.5,\
         snaive,snaive-lo-80,snaive-hi-80,snaive-q-0.5"
    );
    assert_eq!(out.len(), 1 + 2 * 4);
    for row in &out[1..] {
        let v: Vec<f64> = row[2..].iter().map(|x| x.parse().unwrap()).collect();
        assert!(v.iter().all(|x| x.is_finite()), "{row:?}");
        // Each set is ordered lo <= q-0.5 <= hi, and the models differ.
        for set in v.chunks(4) {
            assert!(set[1] <= set[3] && set[3] <= set[2], "{row:?}");
        }
        assert_ne!(v[4], v[8], "ets and snaive give the same mean: {row:?}");
    }
    // The seasonal naive's mean repeats the last week: step 1 of "a" is the value 7 days
    // before the day after the end.
    let snaive_first: f64 = out[1][10].parse().unwrap();
    let t = 70u32 - 7;
    let expected = 10.0 + 4.0 * f64::from(t % 7) + f64::from(t * 7 % 3);
    assert!(
        (snaive_first - expected).abs() < 1e-9,
        "{snaive_first} vs {expected}"
    );

    let one = ForecastArgs {
        models: vec!["ets".into()],
        output: dir.join("one.csv"),
        ..args.clone()
    };
    run_forecast(&one)?;
    assert_eq!(
        rows(&one.output)[0].join(","),
        "unique_id,ds,mean,lo-80,hi-80,q-0.5"
    );
    Ok(())
}

#[test]
fn a_cv_backtest_writes_every_scored_step_with_its_cutoff_and_actual() -> Result<(), BatchError> {
    let (dir, input) = weekly_file("cv")?;
    let args = crate::BacktestArgs {
        output_format: crate::BacktestOutput::Cv,
        input,
        horizon: 3,
        season_length: vec![],
        windows: 2,
        step: Some(5),
        gap: 1,
        levels: vec![80.0],
        models: vec!["naive".into(), "snaive".into()],
        output: dir.join("cv.csv"),
        summary: None,
        on_duplicate: crate::OnDuplicate::Error,
        drivers: crate::DriverArgs::default(),
    };
    crate::run_backtest(&args)?;
    let out = rows(&args.output);
    assert_eq!(
        out[0].join(","),
        "unique_id,ds,cutoff,y,mean,lo-80,hi-80,naive,naive-lo-80,naive-hi-80,\
         snaive,snaive-lo-80,snaive-hi-80"
    );
    assert_eq!(out.len(), 1 + 2 * 2 * 3, "series x windows x steps");
    let input_rows = rows(&args.input);
    let value_at = |id: &str, ds: &str| -> f64 {
        input_rows
            .iter()
            .find(|r| r[0] == id && r[1] == ds)
            .map(|r| r[2].parse().unwrap())
            .unwrap()
    };
    // Windows end 1 + 3 + 5 and 1 + 3 steps before the end (70 days from 2026-01-01): the
    // later cutoff is 2026-03-07, the earlier five days before; the gap skips one day.
    let cutoffs: Vec<&str> = out[1..]
        .iter()
        .filter(|r| r[0] == "a")
        .map(|r| r[2].as_str())
        .collect();
    assert_eq!(
        cutoffs,
        [
            "2026-03-02",
            "2026-03-02",
            "2026-03-02",
            "2026-03-07",
            "2026-03-07",
            "2026-03-07"
        ]
    );
    for row in &out[1..] {
        assert_eq!(
            row[3].parse::<f64>().unwrap(),
            value_at(&row[0], &row[1]),
            "{row:?}"
        );
        assert!(row[1] > row[2], "{row:?}");
        // The naive forecast is the value at the cutoff.
        let naive: f64 = row[7].parse().unwrap();
        assert!((naive - value_at(&row[0], &row[2])).abs() < 1e-9, "{row:?}");
    }
    assert_eq!(
        out[1][1], "2026-03-04",
        "first scored day: cutoff + gap + 1"
    );
    // The default stays the metrics file.
    let metrics = crate::BacktestArgs {
        output_format: crate::BacktestOutput::Metrics,
        output: dir.join("m.csv"),
        ..args.clone()
    };
    crate::run_backtest(&metrics)?;
    assert!(
        rows(&metrics.output)[0]
            .join(",")
            .starts_with("unique_id,windows,mae")
    );
    Ok(())
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The columns and rows of a Parquet file, every value as text, read with the crate's own
/// reader.
fn parquet_rows(path: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let names = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    let rows = reader
        .get_row_iter(None)
        .unwrap()
        .map(|r| {
            r.unwrap()
                .get_column_iter()
                .map(|(_, f)| f.to_string())
                .collect()
        })
        .collect();
    (names, rows)
}

/// Files pandas wrote (nanosecond timestamps with snappy and its index column; dates with
/// zstd) forecast exactly as the same data in CSV, and `.parquet` output has the CSV's columns,
/// typed.
#[test]
fn parquet_in_and_out_match_the_csv_path() -> Result<(), BatchError> {
    let dir = std::env::temp_dir().join(format!("horizon-batch-parquet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| crate::io_error(&dir, e))?;
    let args = ForecastArgs {
        input: fixture("daily.csv"),
        horizon: 5,
        season_length: vec![],
        levels: vec![80.0],
        quantiles: vec![0.5],
        models: vec![],
        output: dir.join("csv.csv"),
        seed: 0,
        on_duplicate: crate::OnDuplicate::Error,
        drivers: crate::DriverArgs::default(),
    };
    run_forecast(&args)?;
    let from_csv = std::fs::read_to_string(&args.output).unwrap();
    for input in ["daily-ns-snappy.parquet", "daily-date-zstd.parquet"] {
        let run = ForecastArgs {
            input: fixture(input),
            output: dir.join(format!("{input}.csv")),
            ..args.clone()
        };
        run_forecast(&run)?;
        let out = std::fs::read_to_string(&run.output).unwrap();
        // The same numbers; stamps written as the input had them (a date, or a UTC instant).
        let strip = |t: &str| -> Vec<String> {
            t.lines()
                .map(|l| l.replace("T00:00:00Z", "").replace(" 00:00:00", ""))
                .collect()
        };
        assert_eq!(strip(&out), strip(&from_csv), "{input}");
    }
    let to_parquet = ForecastArgs {
        output: dir.join("out.parquet"),
        ..args.clone()
    };
    run_forecast(&to_parquet)?;
    let (names, rows) = parquet_rows(&to_parquet.output);
    assert_eq!(
        names,
        ["unique_id", "ds", "mean", "lo-80", "hi-80", "q-0.5"]
    );
    let csv_rows: Vec<Vec<String>> = from_csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), csv_rows.len());
    for (p, c) in rows.iter().zip(&csv_rows) {
        assert_eq!(p[0].trim_matches('"'), c[0]);
        assert_eq!(&p[1], &c[1], "a date column stays a date");
        for (a, b) in p[2..].iter().zip(&c[2..]) {
            assert_eq!(a.parse::<f64>().unwrap(), b.parse::<f64>().unwrap());
        }
    }
    // A Parquet input read back from our own output needs `y`: named, with what there is.
    let err = run_forecast(&ForecastArgs {
        input: to_parquet.output.clone(),
        output: dir.join("never.csv"),
        ..args.clone()
    })
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        err.contains("no \"y\" column") && err.contains("mean"),
        "{err}"
    );
    // A CSV file with a .parquet name is not taken for one.
    let fake = dir.join("fake.parquet");
    std::fs::copy(fixture("daily.csv"), &fake).unwrap();
    let err = run_forecast(&ForecastArgs {
        input: fake,
        output: dir.join("never.csv"),
        ..args.clone()
    })
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("not a readable Parquet file"), "{err}");
    Ok(())
}

#[test]
fn many_series_are_written_in_input_order_as_they_are_forecast() -> Result<(), BatchError> {
    // Four times more series than may be in flight (FORECASTS_IN_FLIGHT_PER_THREAD a
    // thread), interleaved in the file, one failing: all are written, in order of first
    // appearance, each series' rows together, and a failed series costs only its own rows.
    let dir = std::env::temp_dir().join(format!("horizon-batch-chunks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| crate::io_error(&dir, e))?;
    let input = dir.join("in.csv");
    let n = 4 * rayon::current_num_threads() * crate::FORECASTS_IN_FLIGHT_PER_THREAD + 3;
    let ids: Vec<String> = (0..n)
        .map(|k| format!("s{:03}", (k * 7919) % 1000))
        .collect();
    let mut text = String::from("unique_id,ds,y\n");
    for t in 0..24 {
        for (k, id) in ids.iter().enumerate() {
            // Series 5 is all missing: it cannot be forecast.
            let y = if k == 5 {
                "NA".to_owned()
            } else {
                format!("{}", k as f64 + (t % 4) as f64)
            };
            text.push_str(&format!("{id},{t},{y}\n"));
        }
    }
    std::fs::write(&input, text).map_err(|e| crate::io_error(&input, e))?;
    let args = ForecastArgs {
        input,
        horizon: 2,
        season_length: vec![4.0],
        levels: vec![80.0],
        quantiles: vec![],
        models: vec![],
        output: dir.join("out.csv"),
        seed: 1,
        on_duplicate: crate::OnDuplicate::Error,
        drivers: crate::DriverArgs::default(),
    };
    let summary = run_forecast(&args)?;
    assert_eq!(summary.failed.len(), 1, "{:?}", summary.failed);
    assert_eq!(summary.failed[0].0, ids[5]);
    assert_eq!(summary.rows, 2 * (n - 1));
    let out =
        std::fs::read_to_string(&args.output).map_err(|e| crate::io_error(&args.output, e))?;
    let written: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap_or(""))
        .collect();
    let expected: Vec<&str> = ids
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != 5)
        .flat_map(|(_, id)| [id.as_str(), id.as_str()])
        .collect();
    assert_eq!(written, expected);
    // Series k's mean is about its own level (k + 1.5): no row went to another series.
    for line in out.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let k = ids.iter().position(|i| i == cells[0]).unwrap_or(usize::MAX);
        let mean: f64 = cells[2].parse().unwrap_or(f64::NAN);
        assert!((mean - (k as f64 + 1.5)).abs() < 2.0, "{line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[test]
fn held_series_compute_the_stamps_read_would_have_listed() -> Result<(), BatchError> {
    use crate::input::{Ds, read_held};
    let dir = std::env::temp_dir().join(format!("horizon-batch-held-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| crate::io_error(&dir, e))?;
    let day = |y, m, d| {
        Ds::Time(
            chrono::NaiveDate::from_ymd_opt(y, m, d)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
                .expect("a date"),
        )
    };
    // Month ends with March missing (advancing Jan 31 by two months is Mar 31, advancing Feb
    // 28 by one is Mar 28), integer steps of 3 with a gap, and stamps off any grid.
    let cases = [
        (
            "unique_id,ds,y\nm,2023-01-31,1\nm,2023-02-28,2\nm,2023-04-30,4\nm,2023-05-31,5\n",
            vec![
                day(2023, 1, 31),
                day(2023, 2, 28),
                day(2023, 3, 31),
                day(2023, 4, 30),
                day(2023, 5, 31),
            ],
            day(2023, 6, 30),
        ),
        (
            "unique_id,ds,y\na,3,1\na,6,2\na,9,3\na,15,5\n",
            (1..=5).map(|k| Ds::Int(3 * k)).collect(),
            Ds::Int(18),
        ),
        (
            "unique_id,ds,y\nb,0,1\nb,2,2\nb,5,3\nb,7,4\n",
            vec![Ds::Int(0), Ds::Int(2), Ds::Int(5), Ds::Int(7)],
            Ds::Int(9),
        ),
    ];
    for (k, (text, stamps, next)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("{k}.csv"));
        std::fs::write(&path, text).map_err(|e| crate::io_error(&path, e))?;
        let held = read_held(&path, crate::OnDuplicate::First)?;
        let s = held.held[0].series(held.set.frequency);
        assert_eq!(s.ds, stamps, "case {k}");
        assert_eq!(s.values.len(), stamps.len(), "case {k}: one value a stamp");
        assert_eq!(held.set.next_ds(&s, 1), next, "case {k}");
        // The public reader gives the same series.
        same_series(&s, &crate::read_series(&path)?.series[0]);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Equal stamps, ids and steps, and values equal bit for bit (NaN included).
fn same_series(a: &crate::Series, b: &crate::Series) {
    assert_eq!((&a.id, &a.ds, a.int_step), (&b.id, &b.ds, b.int_step));
    let bits = |s: &crate::Series| s.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(a), bits(b), "{}", a.id);
}

#[test]
fn decimal_season_lengths_are_taken_to_the_nearest_step_with_a_note() -> Result<(), BatchError> {
    use crate::parse_season_length;
    assert_eq!(parse_season_length("52.18"), Ok(52.18));
    assert_eq!(parse_season_length(" 365.25 "), Ok(365.25));
    assert_eq!(parse_season_length("1"), Ok(1.0));
    for bad in ["0.5", "0", "-7", "nan", "inf", "abc", ""] {
        let e = parse_season_length(bad).expect_err(bad);
        assert!(e.contains("steps"), "{bad}: {e}");
    }
    let dir = std::env::temp_dir().join(format!("horizon-batch-seasons-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| crate::io_error(&dir, e))?;
    let input = dir.join("y.csv");
    // Eight years of weekly values with a yearly cycle of 52 steps.
    let mut text = String::from("unique_id,ds,y\n");
    for t in 0..416 {
        let y = 100.0 + 10.0 * (std::f64::consts::TAU * f64::from(t % 52) / 52.0).sin();
        text.push_str(&format!("a,{t},{y}\n"));
    }
    std::fs::write(&input, text).map_err(|e| crate::io_error(&input, e))?;
    let run = |season: f64, name: &str| {
        let args = ForecastArgs {
            input: input.clone(),
            horizon: 13,
            season_length: vec![season],
            levels: vec![80.0],
            quantiles: vec![],
            models: vec![],
            output: dir.join(name),
            seed: 1,
            on_duplicate: crate::OnDuplicate::Error,
            drivers: crate::DriverArgs::default(),
        };
        let summary = run_forecast(&args)?;
        let out =
            std::fs::read_to_string(&args.output).map_err(|e| crate::io_error(&args.output, e))?;
        Ok::<_, BatchError>((summary, out))
    };
    let (exact, whole) = (run(52.18, "a.csv")?, run(52.0, "b.csv")?);
    assert_eq!(exact.1, whole.1, "52.18 forecasts as 52 does");
    assert!(
        exact
            .0
            .warnings
            .iter()
            .any(|(_, w)| w.message.contains("52.18 taken as 52 steps")),
        "{:?}",
        exact.0.warnings
    );
    assert!(
        !whole
            .0
            .warnings
            .iter()
            .any(|(_, w)| w.message.contains("taken as")),
        "a whole season length is not noted"
    );
    // The cycle is followed: a quarter of a cycle after the end is near the peak.
    let peak = exact.1.lines().nth(13).unwrap_or("");
    let mean: f64 = peak
        .split(',')
        .nth(2)
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    assert!((mean - 110.0).abs() < 2.0, "{peak}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
