//! Long high-frequency histories: which cycles are kept, which members get weight, and which
//! steps are structurally zero.

use chrono::{DateTime, Utc};
use horizon_domain::{IntervalLabel, ModelKind};
use rand::{Rng, SeedableRng, rngs::SmallRng};

use crate::{ForecastRequest, Timeline, forecast, seasonality::detect_periods};

const DAY: usize = 24;
const WEEK: usize = 168;

/// Hourly demand-like values: a daily cycle, AR(1) noise, and (with `weekend`) two days a week
/// 8 units lower.
fn hourly(n: usize, weekend: bool, seed: u64) -> Vec<f64> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut ar = 0.0;
    (0..n)
        .map(|t| {
            ar = 0.7 * ar + rng.random_range(-1.0..1.0);
            let daily = 5.0 * (2.0 * std::f64::consts::PI * (t % DAY) as f64 / DAY as f64).sin();
            let off = if weekend && (t % WEEK) / DAY >= 5 {
                -8.0
            } else {
                0.0
            };
            30.0 + daily + off + ar
        })
        .collect()
}

#[test]
fn a_weekly_cycle_is_kept_only_when_the_data_show_it() {
    // Lag 168 is a multiple of 24, so the ACF test alone passes it on any daily cycle.
    let daily_only = hourly(1_008, false, 1);
    assert_eq!(detect_periods(&daily_only, &[DAY, WEEK]), vec![DAY]);
    let with_weekend = hourly(1_008, true, 1);
    assert_eq!(detect_periods(&with_weekend, &[DAY, WEEK]), vec![DAY, WEEK]);
}

#[test]
fn long_histories_give_no_weight_to_members_blind_to_the_weekly_cycle() {
    // The history ends on a Friday night, so the 48 steps forecast are the weekend.
    let n = 6 * WEEK + 5 * DAY;
    let all = hourly(n + 48, true, 7);
    let (y, truth) = all.split_at(n);
    let mut req = ForecastRequest::new(y, 48);
    req.season_lengths = vec![DAY, WEEK];
    let f = forecast(&req).unwrap();
    let weekly_aware: f64 = f
        .members
        .iter()
        .filter(|m| matches!(m.kind, ModelKind::Mstl | ModelKind::SeasonalNaive))
        .map(|m| m.weight)
        .sum();
    assert!(weekly_aware > 0.99, "{:?}", f.members);
    let ets = f
        .members
        .iter()
        .find(|m| m.kind == ModelKind::AutoEts)
        .unwrap();
    assert_eq!(ets.weight, 0.0);
    assert!(ets.reason.contains("no weight"), "{}", ets.reason);
    // The daily-only model expects weekday levels 8 units too high; the ensemble does not.
    let mae = |p: &[f64]| p.iter().zip(truth).map(|(a, b)| (a - b).abs()).sum::<f64>() / 48.0;
    assert!(mae(&f.mean) < 2.0, "ensemble MAE {}", mae(&f.mean));
    assert!(mae(&ets.mean) > 5.0, "ETS MAE {}", mae(&ets.mean));
}

#[test]
fn short_histories_keep_every_member_weighted() {
    // Below LONG_HISTORY values a few windows' errors decide nothing on their own.
    let y = hourly(400, true, 3);
    let mut req = ForecastRequest::new(&y, 24);
    req.season_lengths = vec![DAY];
    let f = forecast(&req).unwrap();
    assert!(f.members.iter().all(|m| m.weight > 0.0), "{:?}", f.members);
    assert!(f.members.iter().all(|m| m.kind != ModelKind::SeasonalNaive));
}

#[test]
fn a_night_below_zero_is_a_value_not_darkness() {
    // Hourly air temperature in winter: -3 °C at night, +6 °C by day. Its nights are not the
    // dark steps of PV output, though they sit below 1% of its peak.
    let mut rng = SmallRng::seed_from_u64(5);
    let y: Vec<f64> = (0..40 * DAY)
        .map(|t| {
            let hour = t % DAY;
            let base = if (8..18).contains(&hour) { 6.0 } else { -3.0 };
            base + rng.random_range(-0.5..0.5)
        })
        .collect();
    let mut req = ForecastRequest::new(&y, DAY);
    req.season_lengths = vec![DAY];
    req.timeline = Some(Timeline {
        start: DateTime::<Utc>::from_timestamp(1_700_000_000 / 86_400 * 86_400, 0).unwrap(),
        step_seconds: 3_600,
        label: IntervalLabel::Start,
    });
    let f = forecast(&req).unwrap();
    for hour in (0..6).chain(20..24) {
        assert!(
            (f.mean[hour] + 3.0).abs() < 1.5,
            "hour {hour}: {}",
            f.mean[hour]
        );
    }
}

#[test]
fn positions_with_a_daily_cycle_keep_their_structural_zeros() {
    // Hourly PV output given as positions (no timestamps) with its cycle of 24: the nights of
    // the horizon are exactly 0, with zero-width bands, as with a timeline.
    let mut rng = SmallRng::seed_from_u64(9);
    let y: Vec<f64> = (0..30 * DAY)
        .map(|t| {
            let hour = (t % DAY) as f64;
            if (6.0..19.0).contains(&hour) {
                let bell = (std::f64::consts::PI * (hour - 6.0) / 13.0).sin();
                100.0 * bell * rng.random_range(0.6..1.0)
            } else {
                0.0
            }
        })
        .collect();
    let mut req = ForecastRequest::new(&y, 2 * DAY);
    req.season_lengths = vec![DAY];
    let f = forecast(&req).unwrap();
    for s in 0..2 * DAY {
        let hour = s % DAY;
        if !(6..=19).contains(&hour) {
            assert_eq!(f.mean[s], 0.0, "step {s}");
            assert!(f.quantiles.iter().all(|q| q[s] == 0.0), "step {s}");
        }
    }
    assert!(f.mean[12] > 30.0, "noon {}", f.mean[12]);
}

#[test]
fn a_noiseless_long_history_keeps_finite_weights() {
    // Members exact on the validation windows (MAE 0) must not all be trimmed away.
    let y: Vec<f64> = (0..2_000).map(|d| 50.0 + (d % 7) as f64).collect();
    let mut req = ForecastRequest::new(&y, 14);
    req.season_lengths = vec![7];
    let f = forecast(&req).unwrap();
    assert!(
        f.members.iter().all(|m| m.weight.is_finite()),
        "{:?}",
        f.members
    );
    let total: f64 = f.members.iter().map(|m| m.weight).sum();
    assert!((total - 1.0).abs() < 1e-9);
    assert!(f.mean.iter().all(|v| v.is_finite()));
}
