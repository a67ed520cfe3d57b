use chrono::{TimeZone, Utc};

use super::*;

#[test]
fn series_key_rejects_slashes_and_empty() {
    assert!(SeriesKey::parse("events-USA").is_ok());
    let err = SeriesKey::parse("a/b").unwrap_err().to_string();
    assert!(err.contains("'/'"), "{err}");
    assert!(SeriesKey::parse("").is_err());
    assert!(SeriesKey::parse(".").is_err() && SeriesKey::parse("..").is_err());
    assert!(SeriesKey::parse("...").is_ok() && SeriesKey::parse(".a").is_ok());
    assert!(SeriesKey::parse(&"x".repeat(129)).is_err());
}

#[test]
fn bounds_check_order_and_clamp() {
    assert!(Bounds::new(Some(2.0), Some(1.0)).is_err());
    assert!(Bounds::new(Some(f64::NAN), None).is_err());
    let b = Bounds::new(Some(0.0), Some(10.0)).unwrap();
    assert_eq!(b.clamp(-1.0), 0.0);
    assert_eq!(b.clamp(11.0), 10.0);
    assert_eq!(b.clamp(5.0), 5.0);
    assert!(b.contains(10.0) && !b.contains(10.5));
}

#[test]
fn frequency_round_trips_and_steps_months() {
    for text in ["15min", "1h", "2h", "1d", "1w", "1mo", "1q", "1y"] {
        let f: Frequency = text.parse().unwrap();
        assert_eq!(f.to_string(), text);
    }
    assert!("0min".parse::<Frequency>().is_err());
    assert!("2mo".parse::<Frequency>().is_err());
    assert!("fortnight".parse::<Frequency>().is_err());
    let jan31 = Utc.with_ymd_and_hms(2024, 1, 31, 0, 0, 0).unwrap();
    let feb = Frequency::Month.advance(jan31, 1);
    assert_eq!(feb, Utc.with_ymd_and_hms(2024, 2, 29, 0, 0, 0).unwrap());
}

#[test]
fn frequency_is_inferred_from_the_most_common_gap() {
    let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let ts: Vec<_> = (0..10)
        .map(|i| Frequency::Minutes(15).advance(t0, i))
        .collect();
    assert_eq!(Frequency::infer(&ts), Some(Frequency::Minutes(15)));
    let ts: Vec<_> = (0..10).map(|i| Frequency::Month.advance(t0, i)).collect();
    assert_eq!(Frequency::infer(&ts), Some(Frequency::Month));
    assert_eq!(Frequency::infer(&ts[..1]), None);
    // An hourly series with steps missing: gaps of 1, 1, 2, 2 and 3 hours. The median gap
    // would say two-hourly; the most common (the shorter on a tie) says hourly.
    let ts: Vec<_> = [0, 1, 2, 4, 6, 9]
        .iter()
        .map(|h| Frequency::Hours(1).advance(t0, *h))
        .collect();
    assert_eq!(Frequency::infer(&ts), Some(Frequency::Hours(1)));
    // Duplicated stamps are no gap at all.
    assert_eq!(Frequency::infer(&[t0, t0]), None);
}

#[test]
fn stamps_are_placed_on_the_calendar_grid() {
    let jan31 = Utc.with_ymd_and_hms(2024, 1, 31, 0, 0, 0).unwrap();
    let month = Frequency::Month;
    // Month ends stay on the grid of a series that starts on the 31st.
    let feb29 = Utc.with_ymd_and_hms(2024, 2, 29, 0, 0, 0).unwrap();
    let mar31 = Utc.with_ymd_and_hms(2024, 3, 31, 0, 0, 0).unwrap();
    assert_eq!(month.exact_index(jan31, feb29), Some(1));
    assert_eq!(month.exact_index(jan31, mar31), Some(2));
    let mid = Utc.with_ymd_and_hms(2024, 2, 15, 0, 0, 0).unwrap();
    assert_eq!(month.index_of(jan31, mid), 1);
    assert_eq!(month.exact_index(jan31, mid), None);
    assert_eq!(
        Frequency::Quarter.index_of(jan31, jan31 + chrono::Duration::days(92)),
        1
    );
    let q15 = Frequency::Minutes(15);
    let t = jan31 + chrono::Duration::minutes(46);
    assert_eq!(q15.index_of(jan31, t), 3);
    assert_eq!(q15.exact_index(jan31, t), None);
    assert_eq!(
        q15.exact_index(jan31, jan31 + chrono::Duration::minutes(45)),
        Some(3)
    );
    assert_eq!(
        q15.index_of(jan31, jan31 - chrono::Duration::minutes(30)),
        -2
    );
}

#[test]
fn buckets_start_on_the_calendar() {
    let ts = Utc.with_ymd_and_hms(2026, 12, 3, 22, 59, 30).unwrap();
    assert_eq!(
        Bucket::Hour.start_of(ts),
        Utc.with_ymd_and_hms(2026, 12, 3, 22, 0, 0).unwrap()
    );
    assert_eq!(
        Bucket::Day.start_of(ts),
        Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap()
    );
    // 3 December 2026 is a Thursday: its ISO week began on Monday the 30th of November.
    assert_eq!(
        Bucket::Week.start_of(ts),
        Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap()
    );
    assert_eq!(
        Bucket::Month.start_of(ts),
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
    );
    let mut acc = Accumulator::default();
    for v in [3.0, -1.0, 4.0] {
        acc.add(v);
    }
    assert_eq!(acc.value(Aggregate::Sum), 6.0);
    assert_eq!(acc.value(Aggregate::Mean), 2.0);
    assert_eq!(acc.value(Aggregate::Min), -1.0);
    assert_eq!(acc.value(Aggregate::Max), 4.0);
    assert_eq!(acc.value(Aggregate::Count), 3.0);
}

#[test]
fn quantile_levels_are_sorted_and_checked() {
    let q = QuantileLevels::new(vec![0.9, 0.1, 0.5, 0.1]).unwrap();
    assert_eq!(q.levels(), &[0.1, 0.5, 0.9]);
    assert!(QuantileLevels::new(vec![0.0]).is_err());
    assert!(QuantileLevels::new(vec![]).is_err());
    let with = q.with_intervals(&[95.0]).unwrap();
    assert_eq!(with.levels(), &[0.025, 0.1, 0.5, 0.9, 0.975]);
    assert_eq!(interval_quantiles(80.0).unwrap(), (0.1, 0.9));
}

#[test]
fn forecast_matrix_round_trips_through_bytes() {
    let m = ForecastMatrix::from_paths(&[1.0, 2.0], &[vec![0.5, 1.5], vec![1.5, 2.5]]).unwrap();
    let back = ForecastMatrix::from_bytes(&m.to_bytes()).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.horizon(), 2);
    assert_eq!(back.quantile(1, 1), 2.5);
    assert!(ForecastMatrix::from_bytes(&[1, 0]).is_err());
    assert!(ForecastMatrix::from_paths(&[1.0], &[vec![]]).is_err());
}

#[test]
fn forecast_matrix_lists_round_trip_and_reject_truncation() {
    let a = ForecastMatrix::from_paths(&[1.0, 2.0], &[vec![0.5, 1.5]]).unwrap();
    let b = ForecastMatrix::from_paths(&[3.0], &[vec![2.0], vec![4.0]]).unwrap();
    let bytes = ForecastMatrix::list_to_bytes(&[a.clone(), b.clone()]);
    assert_eq!(ForecastMatrix::list_from_bytes(&bytes).unwrap(), vec![a, b]);
    assert!(ForecastMatrix::list_from_bytes(&[]).unwrap().is_empty());
    assert!(ForecastMatrix::list_from_bytes(&bytes[..bytes.len() - 1]).is_err());
    assert!(ForecastMatrix::list_from_bytes(&bytes[..2]).is_err());
}

#[test]
fn scopes_are_ordered() {
    let s: ApiScopes = "write".parse().unwrap();
    assert!(s.allows(ApiScope::Read) && s.allows(ApiScope::Write));
    assert!(!s.allows(ApiScope::Admin));
    assert!("".parse::<ApiScopes>().is_err());
    assert!("read,root".parse::<ApiScopes>().is_err());
}

#[test]
fn enums_parse_their_names() {
    assert_eq!("lumpy".parse::<SeriesClass>().unwrap(), SeriesClass::Lumpy);
    assert_eq!(
        "queued".parse::<ExecutionStatus>().unwrap(),
        ExecutionStatus::Queued
    );
    assert!("done".parse::<ExecutionStatus>().is_err());
}
