//! Tests of the covariate path: solar geometry against pvlib, the solar regression's
//! properties on a generated plant, covariate errors, and regression with ETS errors.

use chrono::{DateTime, Utc};
use horizon_domain::{Bounds, IntervalLabel, Location, ModelKind, Orientation, SeriesAttributes};
use rand::{Rng, SeedableRng, rngs::SmallRng};

use crate::{
    Covariate, EngineError, ForecastRequest, Timeline, driven, forecast,
    solar::{self, SunStep},
};

/// The member of `kind` in `f`; a panic naming `what` and the members there are otherwise.
fn member<'a>(f: &'a crate::Forecast, kind: ModelKind, what: &str) -> &'a crate::ensemble::Member {
    f.members
        .iter()
        .find(|m| m.kind == kind)
        .unwrap_or_else(|| panic!("{what}: {:?}", f.members))
}

fn ts(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Reference values from pvlib 0.13 (`solarposition.get_solarposition(method="nrel_numpy")`,
/// `clearsky.haurwitz` at the geometric zenith, `irradiance.get_extra_radiation(method=
/// "spencer")`): time, latitude, longitude, zenith, azimuth, clear-sky GHI, extraterrestrial.
const PVLIB: [(&str, f64, f64, f64, f64, f64, f64); 4] = [
    (
        "2016-06-21T18:00:00Z",
        39.742,
        -105.1727,
        20.9992,
        136.3004,
        962.299,
        1321.458,
    ),
    (
        "2016-12-21T19:00:00Z",
        39.742,
        -105.1727,
        63.1786,
        180.2256,
        434.704,
        1412.898,
    ),
    (
        "2013-03-20T14:30:00Z",
        39.742,
        -105.1727,
        74.3561,
        103.3869,
        237.900,
        1377.689,
    ),
    (
        "2020-05-20T06:30:00Z",
        28.6,
        77.2,
        9.4239,
        153.6432,
        1020.298,
        1332.633,
    ),
];

#[test]
fn sun_position_and_clear_sky_match_pvlib() {
    for (t, lat, lon, zenith, azimuth, clear, extra) in PVLIB {
        let loc = Location::new(lat, lon).unwrap();
        let (z, a) = solar::position(&loc, 0.0, ts(t).timestamp() as f64).unwrap();
        // Grena3 is within 0.01° of SPA; pvlib's nrel_numpy is SPA.
        assert!((z - zenith).abs() < 0.02, "{t}: zenith {z} vs {zenith}");
        assert!((a - azimuth).abs() < 0.05, "{t}: azimuth {a} vs {azimuth}");
        let cs = solar::haurwitz(zenith.to_radians().cos());
        assert!((cs - clear).abs() < 0.05, "{t}: clear-sky {cs} vs {clear}");
        let doy = ts(t).format("%j").to_string().parse::<f64>().unwrap();
        let e = solar::extraterrestrial(doy);
        assert!(
            (e - extra).abs() < 0.5,
            "{t}: extraterrestrial {e} vs {extra}"
        );
    }
}

#[test]
fn decomposition_and_plane_of_array_match_pvlib() {
    // pvlib: erbs(600, 40°, 2016-06-21) → dni 426.395, dhi 273.362; get_total_irradiance(45,
    // 158, 40°, 200°, ..., model="isotropic", albedo=0.25) → 630.289 (aoi 28.424°).
    let e0 = 1321.458;
    let cz = 40f64.to_radians().cos();
    let (dni, dhi) = solar::erbs(600.0, cz, e0);
    assert!((dni - 426.395).abs() < 0.05, "dni {dni}");
    assert!((dhi - 273.362).abs() < 0.05, "dhi {dhi}");
    let o = Orientation::new(45.0, 158.0).unwrap();
    let ci = solar::cos_incidence(40.0, 200.0, &o);
    assert!((ci.acos().to_degrees() - 28.424).abs() < 0.01);
    let step = SunStep {
        cos_zenith: cz,
        daylight: 1.0,
        cos_incidence: ci,
        extra_dni: e0,
        ..SunStep::default()
    };
    let poa = solar::plane_of_array(600.0, &step, 45.0, e0);
    assert!((poa - 630.289).abs() < 0.1, "poa {poa}");
}

/// A generated plant at Golden, CO: hourly, stamps at the interval's end, output
/// proportional to plane-of-array irradiance of a cloudy sky with noise, capped at capacity.
struct Plant {
    values: Vec<f64>,
    ghi: Vec<f64>,
    temp: Vec<f64>,
    attributes: SeriesAttributes,
    timeline: Timeline,
    capacity: f64,
}

fn plant(days: usize, horizon: usize, seed: u64) -> Plant {
    let attributes = SeriesAttributes {
        location: Some(Location::new(39.742, -105.1727).unwrap()),
        orientation: Some(Orientation::new(30.0, 180.0).unwrap()),
        capacity: Some(1000.0),
        ..SeriesAttributes::default()
    };
    let timeline = Timeline {
        start: ts("2016-05-01T01:00:00Z"),
        step_seconds: 3600,
        label: IntervalLabel::End,
    };
    let n = days * 24;
    let sun = solar::sun_steps(&attributes, &timeline, n + horizon).unwrap();
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut k = 0.8;
    let (mut values, mut ghi, mut temp) = (Vec::new(), Vec::new(), Vec::new());
    for (i, s) in sun.iter().enumerate() {
        k = (0.7 * k + 0.3 * rng.random_range(0.1..1.05f64)).clamp(0.05, 1.05);
        let g = s.clear_ghi * k;
        let poa = solar::plane_of_array(g, s, 30.0, s.extra_dni);
        let noise = 1.0 + 0.05 * (rng.random::<f64>() - 0.5);
        let p = (poa * noise).clamp(0.0, 1000.0);
        if i < n {
            values.push(p);
        }
        ghi.push(g);
        temp.push(15.0 + 10.0 * s.cos_zenith);
    }
    Plant {
        values,
        ghi,
        temp,
        attributes,
        timeline,
        capacity: 1000.0,
    }
}

fn solar_request<'a>(p: &'a Plant, horizon: usize) -> ForecastRequest<'a> {
    let mut r = ForecastRequest::new(&p.values, horizon);
    r.season_lengths = vec![24, 168];
    r.bounds = Bounds::new(Some(0.0), Some(p.capacity)).unwrap();
    r.timeline = Some(p.timeline);
    r.attributes = p.attributes.clone();
    r.covariates = vec![
        Covariate {
            name: "ghi",
            values: &p.ghi,
        },
        Covariate {
            name: "temp_air",
            values: &p.temp,
        },
    ];
    r
}

#[test]
fn a_plant_forecast_is_zero_at_night_bounded_non_crossing_and_deterministic() {
    let h = 48;
    let p = plant(40, h, 1);
    let mut r = solar_request(&p, h);
    r.thresholds = vec![horizon_domain::Threshold::above(500.0)];
    let f = forecast(&r).unwrap();
    let again = forecast(&r).unwrap();
    assert_eq!(f, again, "same request, same forecast");
    let sun = solar::sun_steps(&p.attributes, &p.timeline, p.values.len() + h).unwrap();
    let mut nights = 0;
    for s in 0..h {
        let night = sun[p.values.len() + s].is_night();
        for q in &f.quantiles {
            assert!(
                q[s] >= 0.0 && q[s] <= p.capacity,
                "step {s}: {} out of bounds",
                q[s]
            );
            if night {
                assert_eq!(q[s], 0.0, "night step {s} not zero");
            }
        }
        for w in f.quantiles.windows(2) {
            assert!(w[0][s] <= w[1][s], "crossing at step {s}");
        }
        if night {
            nights += 1;
            assert_eq!(f.mean[s], 0.0);
            assert_eq!(f.threshold_probabilities[0].per_step[s], 0.0);
        }
    }
    assert!(nights >= 10, "48 hours have nights");
    let solar = member(&f, ModelKind::SolarRegression, "solar regression member");
    assert!(solar.weight > 0.5, "{:?}", f.members);
    // The weather-driven forecast follows the generated truth: daytime mean absolute error
    // well under a tenth of capacity (the clouds are known, only the 5% noise is not).
    let truth = plant(40, h, 1);
    let sun_truth = &sun[p.values.len()..];
    let mut err = 0.0;
    let mut count = 0;
    for (s, st) in sun_truth.iter().enumerate() {
        if st.is_night() {
            continue;
        }
        let g = truth.ghi[p.values.len() + s];
        let poa = solar::plane_of_array(g, st, 30.0, st.extra_dni);
        err += (f.mean[s] - poa.min(1000.0)).abs();
        count += 1;
    }
    assert!(
        err / (count as f64) < 50.0,
        "daytime MAE {}",
        err / count as f64
    );
}

#[test]
fn without_a_location_the_history_gives_day_and_night_and_the_result_says_so() {
    let h = 48;
    let p = plant(40, h, 2);
    let mut r = solar_request(&p, h);
    r.attributes.location = None;
    r.attributes.orientation = None;
    let f = forecast(&r).unwrap();
    assert!(
        f.warnings.iter().any(|w| w.message.contains("no location")),
        "{:?}",
        f.warnings
    );
    let solar = member(
        &f,
        ModelKind::SolarRegression,
        "the solar regression is fitted from the history's own day and night",
    );
    assert!(solar.reason.contains("no location"), "{}", solar.reason);
    // Steps dark on each of the last days (every hour the sun is down for the whole hour,
    // away from sunrise and sunset) are exactly zero; nothing exceeds capacity.
    let sun = solar::sun_steps(&p.attributes, &p.timeline, p.values.len() + h).unwrap();
    let mut zero_nights = 0;
    for s in 0..h {
        let i = p.values.len() + s;
        let deep_night = (i.saturating_sub(2)..(i + 3).min(sun.len())).all(|j| sun[j].is_night());
        for q in &f.quantiles {
            assert!(q[s] >= 0.0 && q[s] <= p.capacity, "step {s}: {}", q[s]);
            if deep_night {
                assert_eq!(q[s], 0.0, "night step {s} not zero");
            }
        }
        zero_nights += usize::from(deep_night);
    }
    assert!(zero_nights >= 6, "{zero_nights} deep-night steps");
    // And it is close to what the location gives.
    let located = forecast(&solar_request(&p, h)).unwrap();
    let mae = |g: &[f64]| (0..h).map(|s| (g[s] - located.mean[s]).abs()).sum::<f64>() / h as f64;
    assert!(mae(&f.mean) < 60.0, "{} W apart", mae(&f.mean));
}

#[test]
fn without_a_location_an_irradiance_column_under_another_name_is_found() {
    let h = 24;
    let p = plant(30, h, 4);
    let mut r = solar_request(&p, h);
    r.attributes.location = None;
    r.covariates = vec![
        Covariate {
            name: "price",
            values: &p.temp,
        },
        Covariate {
            name: "irradiation",
            values: &p.ghi,
        },
    ];
    let f = forecast(&r).unwrap();
    let solar = member(
        &f,
        ModelKind::SolarRegression,
        "irradiation is read as irradiance",
    );
    assert!(solar.reason.contains("irradiation"), "{}", solar.reason);
}

#[test]
fn a_plant_without_weather_or_location_is_zero_where_its_history_is_dark() {
    let p = plant(40, 48, 3);
    let mut r = ForecastRequest::new(&p.values, 48);
    r.season_lengths = vec![24, 168];
    r.bounds = Bounds::new(Some(0.0), Some(p.capacity)).unwrap();
    r.timeline = Some(p.timeline);
    let f = forecast(&r).unwrap();
    let n = p.values.len();
    // the same time of day on the last `days` days of history before step `s`
    let earlier = |s: usize, days: usize| -> Vec<f64> {
        (1..=days + 2)
            .map(|d| n + s - 24 * d)
            .filter(|i| *i < n)
            .take(days)
            .map(|i| p.values[i])
            .collect()
    };
    let peak = p.values.iter().fold(0.0f64, |a, v| a.max(*v));
    let dark: Vec<usize> = (0..48)
        .filter(|s| earlier(*s, 7).iter().all(|v| *v <= 0.01 * peak))
        .collect();
    assert!(dark.len() >= 12, "{dark:?}");
    for s in &dark {
        assert_eq!(f.mean[*s], 0.0, "step {s}");
        assert!(f.quantiles.iter().all(|q| q[*s] == 0.0), "step {s}");
        assert!(
            f.intervals
                .iter()
                .all(|i| i.lo[*s] == 0.0 && i.hi[*s] == 0.0)
        );
    }
    // the rest stays under the most the time of day gave, with some room
    for s in (0..48).filter(|s| !dark.contains(s)) {
        let most = earlier(s, 30).into_iter().fold(0.0f64, f64::max);
        assert!(f.quantiles.last().unwrap()[s] <= 1.25 * most + 0.02 * peak + 1e-9);
    }
    assert!(
        f.warnings
            .iter()
            .any(|w| w.message.contains("dark at the same times")),
        "{:?}",
        f.warnings
    );

    // Without stamps a long history's daily cycle stands for the day: the same steps are dark.
    assert!(p.values.len() >= crate::ensemble::LONG_HISTORY);
    r.timeline = None;
    let blind = forecast(&r).unwrap();
    for s in &dark {
        assert!(blind.quantiles.iter().all(|q| q[*s] == 0.0), "step {s}");
    }
    // A short one is left alone: a week of zeros at a phase could be anything.
    let short = &p.values[n - 400..];
    let mut r = ForecastRequest::new(short, 48);
    r.season_lengths = vec![24, 168];
    r.bounds = Bounds::new(Some(0.0), Some(p.capacity)).unwrap();
    let blind = forecast(&r).unwrap();
    assert!(
        dark.iter()
            .any(|s| blind.quantiles.last().unwrap()[*s] > 0.0)
    );

    // A series never dark is not touched by the rule (same forecast with and without stamps).
    let y: Vec<f64> = (0..24 * 30)
        .map(|i| 100.0 + 30.0 * ((i % 24) as f64 / 24.0 * std::f64::consts::TAU).sin())
        .collect();
    let mut r = ForecastRequest::new(&y, 24);
    r.season_lengths = vec![24];
    let without = forecast(&r).unwrap();
    r.timeline = Some(p.timeline);
    let with = forecast(&r).unwrap();
    assert_eq!(without.quantiles, with.quantiles);
}

#[test]
fn a_series_that_is_never_dark_is_not_read_as_pv_output_without_a_location() {
    // Hourly demand with a daily cycle that never falls to zero, driven by a price.
    let n = 24 * 30;
    let h = 24;
    let price: Vec<f64> = (0..n + h).map(|i| 10.0 + ((i * 7) % 5) as f64).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| {
            100.0 + 30.0 * ((i % 24) as f64 / 24.0 * std::f64::consts::TAU).sin() - 2.0 * price[i]
        })
        .collect();
    let mut r = ForecastRequest::new(&y, h);
    r.timeline = Some(Timeline {
        start: ts("2024-01-01T01:00:00Z"),
        step_seconds: 3600,
        label: IntervalLabel::End,
    });
    r.covariates = vec![Covariate {
        name: "price",
        values: &price,
    }];
    let f = forecast(&r).unwrap();
    assert!(
        f.members
            .iter()
            .all(|m| m.kind != ModelKind::SolarRegression)
    );
    assert!(f.mean.iter().all(|v| *v > 40.0), "{:?}", f.mean);
}

#[test]
fn a_covariate_short_of_the_horizon_or_missing_inside_it_names_the_step() {
    let h = 24;
    let p = plant(20, h, 3);
    let short = &p.ghi[..p.values.len() + 10];
    let mut r = solar_request(&p, h);
    r.covariates[0].values = short;
    match forecast(&r) {
        Err(EngineError::Covariate { name, reason }) => {
            assert_eq!(name, "ghi");
            assert!(reason.contains("step 11"), "{reason}");
        }
        other => panic!("expected a covariate error, got {other:?}"),
    }
    let mut holed = p.ghi.clone();
    holed[p.values.len() + 5] = f64::NAN;
    let mut r = solar_request(&p, h);
    r.covariates[0].values = &holed;
    let e = forecast(&r).unwrap_err().to_string();
    assert!(e.contains("\"ghi\"") && e.contains("horizon step 6"), "{e}");
}

#[test]
fn regression_with_ets_errors_recovers_a_known_coefficient() {
    // y = 50 + 3·price + AR(1) noise; a second covariate is pure noise.
    let n = 300;
    let h = 14;
    let mut rng = SmallRng::seed_from_u64(4);
    let price: Vec<f64> = (0..n + h).map(|_| rng.random_range(0.0..10.0)).collect();
    let junk: Vec<f64> = (0..n + h).map(|_| rng.random_range(0.0..1.0)).collect();
    let mut e = 0.0;
    let y: Vec<f64> = (0..n)
        .map(|i| {
            e = 0.6 * e + rng.random_range(-1.0..1.0);
            50.0 + 3.0 * price[i] + e
        })
        .collect();
    let drivers = [
        Covariate {
            name: "price",
            values: &price,
        },
        Covariate {
            name: "junk",
            values: &junk,
        },
    ];
    let coefs = driven::driver_coefficients(&y, &drivers, n).unwrap();
    assert_eq!(coefs.len(), 1, "the noise covariate is dropped: {coefs:?}");
    assert_eq!(coefs[0].0, 0);
    assert!((coefs[0].1 - 3.0).abs() < 0.1, "coefficient {}", coefs[0].1);

    let mut r = ForecastRequest::new(&y, h);
    r.covariates = drivers.to_vec();
    let f = forecast(&r).unwrap();
    let member = member(&f, ModelKind::DriverRegression, "regression member");
    assert!(member.weight > 0.5, "{:?}", f.members);
    assert!(
        f.warnings.iter().any(|w| w.message.contains("junk")),
        "the dropped covariate is named: {:?}",
        f.warnings
    );
    // The forecast moves with the known future price.
    for s in 0..h {
        let want = 50.0 + 3.0 * price[n + s];
        assert!(
            (f.mean[s] - want).abs() < 4.0,
            "step {s}: {} vs {want}",
            f.mean[s]
        );
    }
}

#[test]
fn regression_with_arima_errors_carries_the_residuals_autocorrelation_into_the_forecast() {
    // y = 20 + 2·promo + AR(1) errors with φ = 0.9, ending on an error of +1.8: the next steps
    // stay above the regression line, decaying towards it; the residual's AutoARIMA sees that,
    // an error model without memory cannot (the historic average as the error model, a
    // mutation tried, fails at the first step).
    let n = 400;
    let h = 6;
    let mut rng = SmallRng::seed_from_u64(9);
    let promo: Vec<f64> = (0..n + h)
        .map(|_| {
            if rng.random_range(0.0..1.0) < 0.3 {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let mut e = 0.0;
    let mut errors = Vec::with_capacity(n);
    let y: Vec<f64> = (0..n)
        .map(|i| {
            e = 0.9 * e + rng.random_range(-1.0..1.0);
            errors.push(e);
            20.0 + 2.0 * promo[i] + e
        })
        .collect();
    let drivers = [Covariate {
        name: "promo",
        values: &promo,
    }];
    let mut r = ForecastRequest::new(&y, h);
    r.covariates = drivers.to_vec();
    r.models = Some(vec![ModelKind::DriverRegression, ModelKind::AutoArima]);
    let f = forecast(&r).unwrap();
    let member = member(&f, ModelKind::DriverRegression, "regression member");
    assert!(
        member.reason.contains("with arima errors"),
        "{}",
        member.reason
    );
    let last = errors[n - 1];
    assert!(last > 1.5, "this seed ends on a large error: {last}");
    for s in 0..h {
        // The AR(1) error's own forecast: φ^(s+1) times the last error.
        let want = 20.0 + 2.0 * promo[n + s] + 0.9f64.powi(s as i32 + 1) * last;
        assert!(
            (f.mean[s] - want).abs() < 0.6,
            "step {s}: {} vs {want} (last error {last})",
            f.mean[s]
        );
    }
}

#[test]
fn a_covariate_that_does_not_help_is_dropped_with_a_warning() {
    let n = 200;
    let h = 10;
    let mut rng = SmallRng::seed_from_u64(5);
    let y: Vec<f64> = (0..n)
        .map(|i| 20.0 + (i % 7) as f64 + rng.random_range(-0.5..0.5))
        .collect();
    let noise: Vec<f64> = (0..n + h).map(|_| rng.random_range(0.0..1.0)).collect();
    let mut r = ForecastRequest::new(&y, h);
    r.season_lengths = vec![7];
    r.covariates = vec![Covariate {
        name: "noise",
        values: &noise,
    }];
    let f = forecast(&r).unwrap();
    assert!(
        f.members
            .iter()
            .all(|m| m.kind != ModelKind::DriverRegression)
    );
    assert!(
        f.warnings.iter().any(|w| w.message.contains("noise")),
        "{:?}",
        f.warnings
    );
}

#[test]
fn the_holiday_table_knows_national_holidays() {
    use crate::calendar;
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    assert_eq!(calendar::is_holiday("US", d("2026-07-04")), Some(true));
    assert_eq!(calendar::is_holiday("US", d("2026-11-26")), Some(true)); // Thanksgiving
    assert_eq!(calendar::is_holiday("US", d("2026-07-06")), Some(false));
    assert_eq!(calendar::is_holiday("DE", d("2026-10-03")), Some(true));
    assert_eq!(calendar::is_holiday("IN", d("2026-01-26")), Some(true)); // Republic Day
    assert_eq!(calendar::is_holiday("XX", d("2026-01-01")), None);
    assert_eq!(calendar::is_holiday("US", d("1999-01-01")), None);
    assert!(calendar::knows("FR") && !calendar::knows("XX"));
}

#[test]
fn local_dates_follow_the_time_zone() {
    use crate::calendar;
    // 2026-07-04T03:00Z is still July 3rd in New York.
    let timeline = Timeline {
        start: ts("2026-07-04T03:00:00Z"),
        step_seconds: 3600,
        label: IntervalLabel::End,
    };
    let attributes = SeriesAttributes {
        timezone: Some("America/New_York".to_owned()),
        ..SeriesAttributes::default()
    };
    let (dates, note) = calendar::local_dates(&timeline, &attributes, 6);
    assert!(note.is_none());
    assert_eq!(dates[0].to_string(), "2026-07-03");
    assert_eq!(dates[5].to_string(), "2026-07-04");
    let bad = SeriesAttributes {
        timezone: Some("Mars/Olympus".to_owned()),
        ..SeriesAttributes::default()
    };
    let (dates, note) = calendar::local_dates(&timeline, &bad, 1);
    assert!(note.unwrap().contains("Mars/Olympus"));
    assert_eq!(dates[0].to_string(), "2026-07-04");
}

#[test]
fn a_daily_series_with_a_country_learns_its_holidays() {
    // Three years of daily demand: a weekly cycle, noise and a 40% drop on US holidays.
    let start = ts("2023-01-01T00:00:00Z");
    let n = 3 * 365 + 300; // the history ends on 2026-10-27
    let h = 60; // Veterans Day, Thanksgiving and Christmas inside
    let mut rng = SmallRng::seed_from_u64(11);
    let day = |i: usize| (start + chrono::Duration::days(i as i64)).date_naive();
    let y: Vec<f64> = (0..n)
        .map(|i| {
            let dow = [1.0, 1.1, 1.05, 1.0, 1.2, 0.7, 0.6][i % 7];
            let holiday = crate::calendar::is_holiday("US", day(i)) == Some(true);
            let base = 100.0 * dow + rng.random_range(-5.0..5.0);
            if holiday { base - 40.0 } else { base }
        })
        .collect();
    let mut r = ForecastRequest::new(&y, h);
    r.season_lengths = vec![7];
    r.timeline = Some(Timeline {
        start,
        step_seconds: 86_400,
        label: IntervalLabel::Start,
    });
    r.attributes.country = Some("US".to_owned());
    let f = forecast(&r).unwrap();
    let member = f
        .members
        .iter()
        .find(|m| m.kind == ModelKind::DriverRegression)
        .unwrap_or_else(|| panic!("no regression on the calendar: {:?}", f.warnings));
    assert!(member.reason.contains("holiday"), "{}", member.reason);
    // Each holiday of the horizon comes out about 40 below the same weekday a week before.
    let mut checked = 0;
    for s in 7..h {
        let d = day(n + s);
        if crate::calendar::is_holiday("US", d) == Some(true) {
            let drop = member.mean[s - 7] - member.mean[s];
            assert!(
                (25.0..55.0).contains(&drop),
                "{d}: {drop:.1} below a week before"
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "{checked} holidays in the horizon");
}

#[test]
fn the_boosted_member_is_zero_at_night_bounded_calibrated_and_deterministic() {
    let h = 48;
    let p = plant(90, h, 3);
    let mut r = solar_request(&p, h);
    r.models = Some(vec![ModelKind::SolarBoosted]);
    let f = forecast(&r).unwrap();
    assert_eq!(f, forecast(&r).unwrap(), "same request, same forecast");
    assert_eq!(f.members.len(), 1, "{:?}", f.members);
    assert_eq!(f.members[0].kind, ModelKind::SolarBoosted);
    assert!(
        f.members[0].reason.contains("gradient-boosted trees"),
        "{}",
        f.members[0].reason
    );
    let n = p.values.len();
    let sun = solar::sun_steps(&p.attributes, &p.timeline, n + h).unwrap();
    let (mut err, mut day, mut inside) = (0.0, 0usize, 0usize);
    let lo = f.intervals.iter().find(|i| i.level == 80.0).unwrap();
    for s in 0..h {
        let st = &sun[n + s];
        for q in &f.quantiles {
            assert!(q[s] >= 0.0 && q[s] <= p.capacity, "step {s}: {}", q[s]);
            if st.is_night() {
                assert_eq!(q[s], 0.0, "night step {s} not zero");
            }
        }
        for w in f.quantiles.windows(2) {
            assert!(w[0][s] <= w[1][s], "crossing at step {s}");
        }
        if st.is_night() {
            assert_eq!(f.mean[s], 0.0);
            continue;
        }
        let poa = solar::plane_of_array(p.ghi[n + s], st, 30.0, st.extra_dni).min(1000.0);
        err += (f.mean[s] - poa).abs();
        day += 1;
        if lo.lo[s] <= poa && poa <= lo.hi[s] {
            inside += 1;
        }
    }
    // The trees follow the known clouds (a linear physics would do better on this generated
    // plant; the bound says the trees learnt the weather, not the time of day).
    assert!(
        err / (day as f64) < 60.0,
        "daytime MAE {}",
        err / day as f64
    );
    assert!(
        inside as f64 >= 0.6 * day as f64,
        "80% band holds {inside} of {day} daytime steps"
    );
}
