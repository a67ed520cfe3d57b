//! Conversions between entity rows and domain records. Stored text that no longer parses is
//! reported as invalid data rather than a panic.

use horizon_domain::{DomainError, Timestamp};
use serde::{Serialize, de::DeserializeOwned};

use crate::StoreError;

pub(crate) fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    // Serializing our own plain data types cannot fail (no maps with non-string keys).
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

pub(crate) fn from_json<T: DeserializeOwned>(
    what: &'static str,
    value: serde_json::Value,
) -> Result<T, StoreError> {
    serde_json::from_value(value).map_err(|e| {
        StoreError::Invalid(DomainError::Invalid {
            what,
            reason: format!("stored value does not parse: {e}"),
        })
    })
}

pub(crate) fn parse<T>(text: &str) -> Result<T, StoreError>
where
    T: std::str::FromStr<Err = DomainError>,
{
    text.parse().map_err(StoreError::Invalid)
}

/// Timestamps are kept at microsecond resolution, the finest both databases store.
pub(crate) fn micros(ts: Timestamp) -> Timestamp {
    use chrono::{DurationRound, TimeDelta};
    ts.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(ts)
}

pub(crate) fn now() -> Timestamp {
    micros(chrono::Utc::now())
}

/// Rows inserted by an `ON CONFLICT DO NOTHING` batch.
pub(crate) fn inserted(result: sea_orm::TryInsertResult<u64>) -> u64 {
    match result {
        sea_orm::TryInsertResult::Inserted(n) => n,
        _ => 0,
    }
}
