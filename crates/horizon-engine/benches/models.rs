//! Per-fit cost of the engine's models on one monthly series, and of the covariate models on
//! a generated PV plant and a daily series with a price, for profiling a change to a model:
//! `cargo bench -p horizon-engine --bench models`.
//!
//! It prints the median wall time of each step over repeated runs on one thread. The peer
//! comparison (the whole ensemble against statsforecast on M1 and Tourism, same cores, same
//! run) is `bench/accuracy/speed.sh`; this one answers "did this model get slower?".

use std::hint::black_box;
use std::time::{Duration, Instant};

use horizon_domain::{
    IntervalLabel, Location, ModelKind, Orientation, QuantileLevels, SeriesAttributes,
};
use horizon_engine::{
    Covariate, EngineError, FittedModel, ForecastRequest, Timeline, arima, ets, forecast, solar,
    theta,
};
use rand::{Rng, SeedableRng, rngs::SmallRng};

/// Eight years of a monthly series with a trend, a multiplicative yearly cycle and noise from a
/// fixed-seed generator, so every run times the same work.
fn monthly_series(n: usize) -> Vec<f64> {
    let mut rng = SmallRng::seed_from_u64(7);
    (0..n)
        .map(|t| {
            let season = 1.0 + 0.2 * (2.0 * std::f64::consts::PI * (t % 12) as f64 / 12.0).sin();
            let noise = rng.random::<f64>() - 0.5;
            (200.0 + 1.5 * t as f64) * season * (1.0 + 0.08 * noise)
        })
        .collect()
}

/// Thirty days of a generated 15-minute PV plant at Golden, CO (cloudy sky from a fixed-seed
/// generator, output proportional to plane-of-array irradiance) and one day ahead: output,
/// `ghi` and `temp_air` over history and horizon, attributes and time line.
struct Plant {
    y: Vec<f64>,
    ghi: Vec<f64>,
    temp: Vec<f64>,
    attributes: SeriesAttributes,
    timeline: Timeline,
}

fn plant(days: usize, horizon: usize) -> Plant {
    let attributes = SeriesAttributes {
        location: Some(Location::new(39.742, -105.1727).expect("valid location")),
        orientation: Some(Orientation::new(30.0, 180.0).expect("valid orientation")),
        capacity: Some(1000.0),
        ..SeriesAttributes::default()
    };
    let timeline = Timeline {
        start: "2016-05-01T00:15:00Z".parse().expect("valid stamp"),
        step_seconds: 900,
        label: IntervalLabel::End,
    };
    let n = days * 96;
    let sun = solar::sun_steps(&attributes, &timeline, n + horizon).expect("location given");
    let mut rng = SmallRng::seed_from_u64(3);
    let mut k: f64 = 0.8;
    let (mut y, mut ghi, mut temp) = (Vec::new(), Vec::new(), Vec::new());
    for (i, s) in sun.iter().enumerate() {
        k = (0.9 * k + 0.1 * rng.random_range(0.1..1.05)).clamp(0.05, 1.05);
        let g = s.clear_ghi * k;
        let poa = solar::plane_of_array(g, s, 30.0, s.extra_dni);
        if i < n {
            y.push((poa * (1.0 + 0.05 * (rng.random::<f64>() - 0.5))).clamp(0.0, 1000.0));
        }
        ghi.push(g);
        temp.push(15.0 + 10.0 * s.cos_zenith);
    }
    Plant {
        y,
        ghi,
        temp,
        attributes,
        timeline,
    }
}

fn plant_request<'a>(
    p: &'a Plant,
    horizon: usize,
    models: Option<Vec<ModelKind>>,
) -> ForecastRequest<'a> {
    let mut r = ForecastRequest::new(&p.y, horizon);
    r.season_lengths = vec![96];
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
    r.models = models;
    r
}

/// Median wall time of `f` over `reps` runs, after one untimed warm-up run.
fn median_time<T>(
    reps: usize,
    mut f: impl FnMut() -> Result<T, EngineError>,
) -> Result<Duration, EngineError> {
    black_box(f()?);
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        black_box(f()?);
        times.push(t.elapsed());
    }
    times.sort();
    Ok(times[reps / 2])
}

fn main() -> Result<(), EngineError> {
    let y = monthly_series(96);
    let reps = 21;
    let levels = QuantileLevels::new(vec![0.025, 0.1, 0.5, 0.9, 0.975]).map_err(|e| {
        EngineError::InvalidInput {
            what: "quantile levels",
            reason: e.to_string(),
        }
    })?;
    let ets_fit = ets::fit_auto(&y, Some(12))?;
    let rows: Vec<(&str, Duration)> = vec![
        (
            "auto ETS, seasonal search (m = 12)",
            median_time(reps, || ets::fit_auto(&y, Some(12)))?,
        ),
        (
            "auto ETS, non-seasonal search",
            median_time(reps, || ets::fit_auto(&y, None))?,
        ),
        (
            "AutoARIMA, seasonal search (m = 12, exact likelihood)",
            median_time(reps, || arima::fit_auto(&y, Some(12)))?,
        ),
        (
            "AutoARIMA, non-seasonal search",
            median_time(reps, || arima::fit_auto(&y, None))?,
        ),
        (
            "AutoARIMA, seasonal, 240 values (CSS search, exact refit)",
            median_time(reps, || arima::fit_auto(&monthly_series(240), Some(12)))?,
        ),
        (
            "classical Theta",
            median_time(reps, || theta::fit_theta(&y, Some(12)))?,
        ),
        (
            "optimised Theta (OTM)",
            median_time(reps, || theta::fit_optimized_theta(&y, Some(12)))?,
        ),
        (
            "dynamic optimised Theta (DOTM)",
            median_time(reps, || theta::fit_dynamic_optimized_theta(&y, Some(12)))?,
        ),
        (
            "ETS quantiles, h = 24, 5 levels",
            median_time(reps, || Ok(ets_fit.forecast_quantiles(24, &levels)))?,
        ),
        ("default ensemble, h = 18 (validation included)", {
            let mut request = ForecastRequest::new(&y, 18);
            request.season_lengths = vec![12];
            median_time(reps, || forecast(&request))?
        }),
    ];
    let horizon = 96;
    let pv = plant(30, horizon);
    let price: Vec<f64> = (0..3 * 365 + 28)
        .map(|i| 10.0 + ((i * 7) % 5) as f64)
        .collect();
    let demand: Vec<f64> = (0..3 * 365)
        .map(|i| 100.0 + 10.0 * ((i % 7) as f64) - 2.0 * price[i])
        .collect();
    let mut covariate_rows: Vec<(&str, Duration)> = vec![
        ("solar_qr, located", {
            let r = plant_request(&pv, horizon, Some(vec![ModelKind::SolarRegression]));
            median_time(reps, || forecast(&r))?
        }),
        ("solar_qr, no location (profile from history)", {
            let mut r = plant_request(&pv, horizon, Some(vec![ModelKind::SolarRegression]));
            r.attributes.location = None;
            r.attributes.orientation = None;
            median_time(reps, || forecast(&r))?
        }),
        ("solar_gbt, located (three tree fits per call)", {
            let r = plant_request(&pv, horizon, Some(vec![ModelKind::SolarBoosted]));
            median_time(reps, || forecast(&r))?
        }),
        ("covariate ensemble (solar_qr + univariate, hold-out)", {
            let r = plant_request(&pv, horizon, None);
            median_time(reps, || forecast(&r))?
        }),
    ];
    covariate_rows.push(("regression on price + US calendar, ETS errors, h = 28", {
        let mut r = ForecastRequest::new(&demand, 28);
        r.season_lengths = vec![7];
        r.timeline = Some(Timeline {
            start: "2022-01-01T00:00:00Z".parse().expect("valid stamp"),
            step_seconds: 86_400,
            label: IntervalLabel::Start,
        });
        r.attributes.country = Some("US".to_owned());
        r.covariates = vec![Covariate {
            name: "price",
            values: &price,
        }];
        r.models = Some(vec![ModelKind::DriverRegression]);
        median_time(reps, || forecast(&r))?
    }));
    println!(
        "horizon-engine, one monthly series of {} values (auto ETS selects {}), median of {reps} runs:",
        y.len(),
        ets_fit.spec()
    );
    for (what, t) in rows {
        println!("  {what:<48} {:>10.3} ms", t.as_secs_f64() * 1e3);
    }
    println!(
        "covariate models: a 15-minute PV plant with 30 days of history and ghi/temp_air, one \
         day ahead; a daily series of three years with a price:"
    );
    for (what, t) in covariate_rows {
        println!("  {what:<56} {:>10.3} ms", t.as_secs_f64() * 1e3);
    }
    Ok(())
}
