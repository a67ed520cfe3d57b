//! The batch CLI's covariate contract on real PV data (`samples/pvdaq50`, an excerpt
//! of NREL PVDAQ system 50): `horizon forecast --input y.csv --covariates x.csv --series
//! attrs.csv --horizon H --quantiles ... --output out.csv`, as external scripts call it.

use std::path::{Path, PathBuf};

use horizon_e2e::bin_dir;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples/pvdaq50")
        .join(name)
}

/// Writes the first `keep` rows of the power file (the history) to `path`.
fn history(path: &Path, keep: usize) {
    let text = std::fs::read_to_string(fixture("power.csv")).unwrap();
    let lines: Vec<&str> = text.lines().take(keep + 1).collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn run(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(bin_dir().join("horizon"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_day_ahead_plant_forecast_follows_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let y = dir.path().join("y.csv");
    let out = dir.path().join("out.csv");
    history(&y, 13 * 96);
    let quantiles = "0.01,0.1,0.5,0.9,0.99";
    let (ok, stderr) = run(&[
        "forecast",
        "--input",
        y.to_str().unwrap(),
        "--covariates",
        fixture("weather.csv").to_str().unwrap(),
        "--series",
        fixture("plants.csv").to_str().unwrap(),
        "--horizon",
        "96",
        "--quantiles",
        quantiles,
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("columns ignored: capacity_basis"),
        "the unread attribute column is noted: {stderr}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "unique_id,ds,mean,lo-80,hi-80,lo-95,hi-95,q-0.01,q-0.1,q-0.5,q-0.9,q-0.99"
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), 96);
    // `ds` comes back as it came in (`…Z`), continuing the history's grid.
    assert_eq!(rows[0][1], "2016-07-14T07:00:00Z");
    assert_eq!(rows[95][1], "2016-07-15T06:45:00Z");
    let actual: Vec<f64> = std::fs::read_to_string(fixture("power.csv"))
        .unwrap()
        .lines()
        .skip(1 + 13 * 96)
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    let capacity = 5426.4;
    let (mut night, mut abs_err, mut day) = (0, 0.0, 0);
    for (r, a) in rows.iter().zip(&actual) {
        let v: Vec<f64> = r[2..].iter().map(|x| x.parse().unwrap()).collect();
        assert!(v.iter().all(|x| (0.0..=capacity).contains(x)), "{r:?}");
        let q = &v[5..];
        assert!(q.windows(2).all(|w| w[0] <= w[1]), "crossing: {r:?}");
        if q[4] == 0.0 {
            night += 1;
            assert!(v.iter().all(|x| *x == 0.0), "night not zero-width: {r:?}");
        } else {
            day += 1;
            abs_err += (q[2] - a).abs();
        }
    }
    assert!(
        night >= 30,
        "a July night in Colorado is over 8 h: {night} zero steps"
    );
    // The weather is known (satellite GHI): the day's median is within 12% of capacity on
    // average, where yesterday's value (the univariate models' best guess) is not.
    let mae = abs_err / day as f64 / capacity;
    assert!(mae < 0.12, "daytime MAE {mae:.3} of capacity");
}

#[test]
fn covariates_short_of_the_horizon_name_the_covariate_and_step() {
    let dir = tempfile::tempdir().unwrap();
    let y = dir.path().join("y.csv");
    let x = dir.path().join("x.csv");
    let out = dir.path().join("out.csv");
    history(&y, 13 * 96);
    // The weather stops 10 steps into the horizon.
    let text = std::fs::read_to_string(fixture("weather.csv")).unwrap();
    let lines: Vec<&str> = text.lines().take(1 + 13 * 96 + 10).collect();
    std::fs::write(&x, lines.join("\n") + "\n").unwrap();
    let (_, stderr) = run(&[
        "forecast",
        "--input",
        y.to_str().unwrap(),
        "--covariates",
        x.to_str().unwrap(),
        "--series",
        fixture("plants.csv").to_str().unwrap(),
        "--horizon",
        "96",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(
        stderr.contains("covariate \"ghi\"") && stderr.contains("step 11"),
        "{stderr}"
    );
}
