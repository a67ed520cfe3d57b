//! Per-fit cost of the engine's models on one monthly series, for profiling a change to a
//! model: `cargo bench -p horizon-engine --bench models`.
//!
//! It prints the median wall time of each step over repeated runs on one thread. The peer
//! comparison (the whole ensemble against statsforecast on M1 and Tourism, same cores, same
//! run) is `bench/accuracy/speed.sh`; this one answers "did this model get slower?".

use std::hint::black_box;
use std::time::{Duration, Instant};

use horizon_engine::{EngineError, FittedModel, ForecastRequest, ets, forecast, theta};
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
    let levels = [0.025, 0.1, 0.5, 0.9, 0.975];
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
    println!(
        "horizon-engine, one monthly series of {} values (auto ETS selects {}), median of {reps} runs:",
        y.len(),
        ets_fit.spec()
    );
    for (what, t) in rows {
        println!("  {what:<48} {:>10.3} ms", t.as_secs_f64() * 1e3);
    }
    Ok(())
}
