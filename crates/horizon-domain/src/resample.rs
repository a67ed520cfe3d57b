//! Observations gathered into calendar buckets (hours, days, ISO weeks, months, in UTC) and
//! aggregated: the rule the API's resampled reads use.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc};

use crate::Timestamp;

/// A calendar bucket, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// From each whole hour.
    Hour,
    /// From each midnight.
    Day,
    /// ISO weeks, from Monday 00:00.
    Week,
    /// From the first of each month, 00:00.
    Month,
}

impl Bucket {
    /// The start of the bucket that holds `ts`.
    pub fn start_of(self, ts: Timestamp) -> Timestamp {
        if self == Bucket::Hour {
            let secs = ts.timestamp().div_euclid(3_600) * 3_600;
            return DateTime::from_timestamp(secs, 0).unwrap_or(ts);
        }
        let day = ts.date_naive();
        let start = match self {
            Bucket::Hour | Bucket::Day => day,
            Bucket::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Bucket::Month => day.with_day(1).unwrap_or(day),
        };
        Utc.from_utc_datetime(&start.and_time(NaiveTime::MIN))
    }
}

/// How the values of one bucket are summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// Their sum.
    Sum,
    /// Their mean.
    Mean,
    /// The smallest.
    Min,
    /// The largest.
    Max,
    /// How many there are.
    Count,
}

/// The running aggregate of one bucket: every [`Aggregate`] from one pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accumulator {
    sum: f64,
    count: u64,
    min: f64,
    max: f64,
}

impl Default for Accumulator {
    fn default() -> Self {
        Self {
            sum: 0.0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Accumulator {
    /// Adds one value.
    pub fn add(&mut self, v: f64) {
        self.sum += v;
        self.count += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// The aggregate of the values added so far (NaN for the mean of none).
    pub fn value(&self, aggregate: Aggregate) -> f64 {
        match aggregate {
            Aggregate::Sum => self.sum,
            Aggregate::Mean => self.sum / self.count as f64,
            Aggregate::Min => self.min,
            Aggregate::Max => self.max,
            Aggregate::Count => self.count as f64,
        }
    }
}
