//! Sampling frequencies of series and the calendar arithmetic they need.

use std::{fmt, str::FromStr};

use chrono::{Datelike, Duration, Months, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::{DomainError, Timestamp};

/// How often a series is observed. Text forms: `15min`, `1h`, `1d`, `1w`, `1mo`, `1q`, `1y`
/// (any positive multiple for minutes, hours and days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Frequency {
    /// Every `n` minutes.
    Minutes(u32),
    /// Every `n` hours.
    Hours(u32),
    /// Every `n` days.
    Days(u32),
    /// Weekly.
    Week,
    /// Monthly, on the same day of month.
    Month,
    /// Quarterly.
    Quarter,
    /// Yearly.
    Year,
}

impl Frequency {
    /// The length of one step in seconds when it is fixed; months and longer are taken at their
    /// mean length (used only to infer a frequency from gaps).
    pub fn nominal_seconds(&self) -> i64 {
        match *self {
            Frequency::Minutes(n) => 60 * n as i64,
            Frequency::Hours(n) => 3_600 * n as i64,
            Frequency::Days(n) => 86_400 * n as i64,
            Frequency::Week => 7 * 86_400,
            Frequency::Month => 2_629_746,
            Frequency::Quarter => 3 * 2_629_746,
            Frequency::Year => 31_556_952,
        }
    }

    /// The length of one step in seconds when every step has it (minutes, hours, days,
    /// weeks); `None` for calendar steps of varying length (months, quarters, years).
    pub fn fixed_seconds(&self) -> Option<i64> {
        match *self {
            Frequency::Minutes(_) | Frequency::Hours(_) | Frequency::Days(_) | Frequency::Week => {
                Some(self.nominal_seconds())
            }
            Frequency::Month | Frequency::Quarter | Frequency::Year => None,
        }
    }

    /// `ts` moved `steps` steps forward (or backward when negative).
    pub fn advance(&self, ts: Timestamp, steps: i64) -> Timestamp {
        match *self {
            Frequency::Minutes(_) | Frequency::Hours(_) | Frequency::Days(_) | Frequency::Week => {
                ts + Duration::seconds(self.nominal_seconds() * steps)
            }
            Frequency::Month => add_months(ts, steps),
            Frequency::Quarter => add_months(ts, 3 * steps),
            Frequency::Year => add_months(ts, 12 * steps),
        }
    }

    /// Candidate seasonal periods, shortest first: e.g. daily and weekly cycles for 15-minute
    /// data, a yearly cycle for monthly data. Empty when no cycle is expected.
    pub fn season_lengths(&self) -> Vec<usize> {
        let per_day = |secs: i64| (86_400 / secs.max(1)) as usize;
        match *self {
            Frequency::Minutes(n) if 1_440 % n == 0 => {
                let d = per_day(60 * n as i64);
                vec![d, 7 * d]
            }
            Frequency::Hours(n) if 24 % n == 0 => {
                let d = (24 / n) as usize;
                vec![d, 7 * d]
            }
            Frequency::Days(1) => vec![7],
            Frequency::Week => vec![52],
            Frequency::Month => vec![12],
            Frequency::Quarter => vec![4],
            _ => vec![],
        }
    }

    /// The frequency of sorted `timestamps`: the most common frequency among consecutive gaps
    /// (the shorter on a tie), so that a few missing steps — or a few duplicated ones — do not
    /// change it. `None` when there are fewer than two distinct stamps. The one rule for every
    /// reader of timestamps (the pipeline for series without a declared frequency, the batch
    /// CLI for its files).
    pub fn infer(timestamps: &[Timestamp]) -> Option<Frequency> {
        let mut counts: Vec<(Frequency, usize)> = Vec::new();
        for w in timestamps.windows(2) {
            let gap = (w[1] - w[0]).num_seconds();
            if gap <= 0 {
                continue;
            }
            let f = Self::from_seconds(gap);
            match counts.iter_mut().find(|(g, _)| *g == f) {
                Some((_, c)) => *c += 1,
                None => counts.push((f, 1)),
            }
        }
        counts
            .into_iter()
            .max_by(|a, b| {
                a.1.cmp(&b.1)
                    .then(b.0.nominal_seconds().cmp(&a.0.nominal_seconds()))
            })
            .map(|(f, _)| f)
    }

    /// The position of `ts` on the grid of this frequency that starts at `origin`: whole
    /// calendar months (quarters, years) apart for monthly and longer steps, so that month ends
    /// and leap years do not shift it; the nearest whole step otherwise. Negative before
    /// `origin`. The one rule that lays a history on its calendar grid.
    pub fn index_of(&self, origin: Timestamp, ts: Timestamp) -> i64 {
        let months_per_step = match self {
            Frequency::Month => 1,
            Frequency::Quarter => 3,
            Frequency::Year => 12,
            _ => {
                let step = self.nominal_seconds().max(1);
                return ((ts - origin).num_seconds() as f64 / step as f64).round() as i64;
            }
        };
        let months =
            (ts.year() - origin.year()) as i64 * 12 + ts.month() as i64 - origin.month() as i64;
        months / months_per_step
    }

    /// How many whole steps after `origin` lie at or before `ts`: the steps of a forecast
    /// starting one step after `origin` that are already past at `ts`. Zero or negative when
    /// `ts` is before the first step.
    pub fn steps_until(&self, origin: Timestamp, ts: Timestamp) -> i64 {
        let k = self.index_of(origin, ts);
        if self.advance(origin, k) > ts {
            k - 1
        } else {
            k
        }
    }

    /// The position of `ts` when it lies exactly on the grid that starts at `origin`
    /// (`advance(origin, k) == ts`), `None` when it falls between steps.
    pub fn exact_index(&self, origin: Timestamp, ts: Timestamp) -> Option<i64> {
        let k = self.index_of(origin, ts);
        (self.advance(origin, k) == ts).then_some(k)
    }

    fn from_seconds(secs: i64) -> Frequency {
        const DAY: i64 = 86_400;
        if secs < 3_600 && secs % 60 == 0 {
            return Frequency::Minutes((secs / 60).max(1) as u32);
        }
        if secs < DAY && secs % 3_600 == 0 {
            return Frequency::Hours((secs / 3_600) as u32);
        }
        if secs < DAY {
            return Frequency::Minutes(((secs + 30) / 60).max(1) as u32);
        }
        match secs / DAY {
            d @ 1..=6 => Frequency::Days(d as u32),
            7..=20 => Frequency::Week,
            21..=45 => Frequency::Month,
            46..=135 => Frequency::Quarter,
            _ => Frequency::Year,
        }
    }
}

fn add_months(ts: Timestamp, months: i64) -> Timestamp {
    let shifted = if months >= 0 {
        ts.checked_add_months(Months::new(months as u32))
    } else {
        ts.checked_sub_months(Months::new((-months) as u32))
    };
    shifted.unwrap_or_else(|| {
        // Out of chrono's range: saturate at the last representable month start.
        Utc.with_ymd_and_hms(ts.year(), 1, 1, 0, 0, 0)
            .single()
            .unwrap_or(ts)
    })
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frequency::Minutes(n) => write!(f, "{n}min"),
            Frequency::Hours(n) => write!(f, "{n}h"),
            Frequency::Days(n) => write!(f, "{n}d"),
            Frequency::Week => f.write_str("1w"),
            Frequency::Month => f.write_str("1mo"),
            Frequency::Quarter => f.write_str("1q"),
            Frequency::Year => f.write_str("1y"),
        }
    }
}

impl FromStr for Frequency {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: u32 = if num.is_empty() {
            1
        } else {
            num.parse()
                .map_err(|_| DomainError::invalid("frequency", format!("{s:?} has a bad count")))?
        };
        if n == 0 {
            return Err(DomainError::invalid(
                "frequency",
                format!("{s:?}: the count must be positive"),
            ));
        }
        let fixed = |f: Frequency| {
            if n == 1 {
                Ok(f)
            } else {
                Err(DomainError::invalid(
                    "frequency",
                    format!("{s:?}: only minutes, hours and days take a multiple"),
                ))
            }
        };
        match unit {
            "min" | "t" | "T" => Ok(Frequency::Minutes(n)),
            "h" | "H" => Ok(Frequency::Hours(n)),
            "d" | "D" => Ok(Frequency::Days(n)),
            "w" | "W" => fixed(Frequency::Week),
            "mo" | "M" | "MS" => fixed(Frequency::Month),
            "q" | "Q" | "QS" => fixed(Frequency::Quarter),
            "y" | "Y" | "YS" | "A" => fixed(Frequency::Year),
            _ => Err(DomainError::invalid(
                "frequency",
                format!("{s:?} is not one of 15min, 1h, 1d, 1w, 1mo, 1q, 1y"),
            )),
        }
    }
}

impl TryFrom<String> for Frequency {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Frequency> for String {
    fn from(f: Frequency) -> Self {
        f.to_string()
    }
}
