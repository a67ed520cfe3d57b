//! Tests of CSV parsing and output.

use std::io::Cursor;

use crate::input::read_from;
use crate::{BatchError, ForecastArgs, run_forecast};

fn parse(text: &str) -> Result<crate::SeriesSet, BatchError> {
    read_from(Cursor::new(text.as_bytes().to_vec()))
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
        season_length: Some(4),
        levels: vec![80.0, 95.0],
        quantiles: vec![0.1, 0.5],
        models: vec![],
        output: dir.join("out.csv"),
        seed: 1,
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
