//! Calendar features of a time line: public holidays by country and the day of the week.
//!
//! Holidays come from `data/holidays.txt`, national holidays of 250 countries for 2000–2035
//! generated from the Python `holidays` package by `tools/holidays/generate.py` (the file
//! names the package version); the table is compiled in, so the engine reads no file. A step
//! is a holiday when its interval's middle falls on one in the series' time zone (IANA name),
//! or at the location's mean solar time without a zone, or in UTC without either.

use std::{collections::HashMap, sync::OnceLock};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use horizon_domain::{IntervalLabel, SeriesAttributes};

use crate::covariates::Timeline;

/// The holiday table: `country * MMDD…` (dates of every year), then `country year MMDD…`.
const TABLE: &str = include_str!("../data/holidays.txt");
/// First and last year the table covers.
pub const YEARS: (i32, i32) = (2000, 2035);

/// The parsed table: per country, the dates of every year and each covered year's others, as
/// `month * 100 + day`, sorted.
#[derive(Default)]
struct Country {
    every_year: Vec<u16>,
    years: HashMap<i32, Vec<u16>>,
}

fn table() -> &'static HashMap<String, Country> {
    static PARSED: OnceLock<HashMap<String, Country>> = OnceLock::new();
    PARSED.get_or_init(|| {
        let mut map: HashMap<String, Country> = HashMap::new();
        for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
            let mut parts = line.split_ascii_whitespace();
            let (Some(code), Some(year)) = (parts.next(), parts.next()) else {
                continue;
            };
            let days: Vec<u16> = parts.filter_map(|d| d.parse().ok()).collect();
            let country = map.entry(code.to_owned()).or_default();
            match year {
                "*" => country.every_year = days,
                y => {
                    if let Ok(y) = y.parse::<i32>() {
                        country.years.insert(y, days);
                    }
                }
            }
        }
        map
    })
}

/// Whether the table knows `country` (ISO 3166-1 alpha-2, upper case).
pub fn knows(country: &str) -> bool {
    table().contains_key(country)
}

/// Whether `date` is a national public holiday in `country`; `None` when the table does not
/// cover that country or year.
pub fn is_holiday(country: &str, date: NaiveDate) -> Option<bool> {
    let c = table().get(country)?;
    let days = c.years.get(&date.year())?;
    let key = (date.month() * 100 + date.day()) as u16;
    Some(c.every_year.binary_search(&key).is_ok() || days.binary_search(&key).is_ok())
}

/// How the local date of a step is found.
#[derive(Debug, Clone, Copy)]
enum Local {
    Zone(chrono_tz::Tz),
    /// Hours east of UTC (mean solar time at the location's longitude).
    Offset(f64),
}

/// The local date of each of `steps` steps of `timeline` for `attributes` (time zone, else the
/// location's longitude, else UTC), and a note when the zone is not an IANA name.
pub(crate) fn local_dates(
    timeline: &Timeline,
    attributes: &SeriesAttributes,
    steps: usize,
) -> (Vec<NaiveDate>, Option<String>) {
    let mut note = None;
    let local = match attributes
        .timezone
        .as_deref()
        .map(str::parse::<chrono_tz::Tz>)
    {
        Some(Ok(tz)) => Local::Zone(tz),
        other => {
            if let (Some(Err(_)), Some(name)) = (&other, &attributes.timezone) {
                note = Some(format!(
                    "time zone {name:?} is not an IANA name: local dates taken from the {}",
                    if attributes.location.is_some() {
                        "longitude"
                    } else {
                        "UTC clock"
                    }
                ));
            }
            Local::Offset(attributes.location.map_or(0.0, |l| l.longitude() / 15.0))
        }
    };
    let dates = (0..steps)
        .map(|i| {
            let (a, b) = timeline.interval(i);
            if !timeline.is_sub_daily() {
                // A date names its whole day, whichever end the label says.
                let stamp = match timeline.label {
                    IntervalLabel::End => b,
                    IntervalLabel::Start => a,
                };
                return DateTime::<Utc>::from_timestamp(stamp, 0)
                    .map_or(NaiveDate::MIN, |t| t.date_naive());
            }
            let mid = (a + b) / 2;
            let t = DateTime::<Utc>::from_timestamp(mid, 0).unwrap_or_default();
            match local {
                Local::Zone(tz) => t.with_timezone(&tz).date_naive(),
                Local::Offset(h) => {
                    (t + chrono::Duration::seconds((h * 3600.0) as i64)).date_naive()
                }
            }
        })
        .collect();
    (dates, note)
}
