//! Covariates of target series: `unique_id,ds[,issued_at],<one column per covariate>`, as CSV
//! or JSON Lines. `unique_id` is the target (a plant), which must exist; each other column
//! becomes the covariate series `<unique_id>:<column>`. A row with an `issued_at` (or a file
//! whose source reads one off its name) is a vintage: a forecast of the covariate issued then,
//! landed apart from observations and never replaced; a row without is an observation.

use horizon_domain::Timestamp;

use super::{
    records::{CsvRecords, clean, column, covariate_key},
    *,
};
use crate::ingest::{parse_id_ds, parse_timestamp};

/// The columns of a covariates CSV.
#[derive(Default)]
pub(super) struct CovariateRows {
    id: usize,
    ds: usize,
    issued_at: Option<usize>,
    covariates: Vec<(usize, String)>,
}

const EXPECTED: &str = "unique_id,ds[,issued_at],<covariate columns>";

impl CsvRecords for CovariateRows {
    fn header(&mut self, ctx: &LandCtx, headers: &csv::StringRecord) -> Result<(), ServiceError> {
        self.id = column(ctx, headers, "unique_id", EXPECTED)?;
        self.ds = column(ctx, headers, "ds", EXPECTED)?;
        self.issued_at = column(ctx, headers, "issued_at", EXPECTED).ok();
        if column(ctx, headers, "y", EXPECTED).is_ok() {
            return Err(ctx.input_error(
                "a covariates file has no y column: a target's own values are observations \
                 (the csv or jsonl format)"
                    .into(),
            ));
        }
        let fixed = [Some(self.id), Some(self.ds), self.issued_at];
        self.covariates = headers
            .iter()
            .enumerate()
            .filter(|(i, _)| !fixed.contains(&Some(*i)))
            .map(|(i, h)| (i, clean(h)))
            .collect();
        if self.covariates.is_empty() {
            return Err(ctx.input_error(format!(
                "the header names no covariate column; expected {EXPECTED}"
            )));
        }
        for (_, name) in &self.covariates {
            covariate_key("x", name).map_err(|e| ctx.input_error(e))?;
        }
        Ok(())
    }

    fn parse(
        &mut self,
        ctx: &LandCtx,
        record: &csv::StringRecord,
        line: u64,
        pending: &mut Pending,
    ) -> Result<(), String> {
        let issued = self
            .issued_at
            .map(|i| record[i].trim())
            .filter(|s| !s.is_empty());
        let values = self
            .covariates
            .iter()
            .map(|(i, name)| (name.as_str(), Cell::Text(record[*i].trim())));
        add_row(
            ctx,
            &record[self.id],
            &record[self.ds],
            issued,
            values,
            line,
            pending,
        )
    }
}

/// A covariate's value as given: CSV text or a JSON value.
enum Cell<'a> {
    Text(&'a str),
    Json(&'a serde_json::Value),
}

impl Cell<'_> {
    /// The number, `None` for no value (an empty cell, JSON null), or the rejection reason.
    fn number(&self, name: &str) -> Result<Option<f64>, String> {
        let not_a_number = |shown: String| format!("column {name}: {shown} is not a number");
        match self {
            Cell::Text("") => Ok(None),
            Cell::Text(t) => t
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| not_a_number(format!("{t:?}"))),
            Cell::Json(serde_json::Value::Null) => Ok(None),
            Cell::Json(v) => v
                .as_f64()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| not_a_number(v.to_string())),
        }
    }
}

/// A JSON Lines record `{"unique_id": …, "ds": …, "issued_at": …, "<covariate>": number}`.
pub(super) fn parse_json(
    ctx: &LandCtx,
    line: &[u8],
    line_no: u64,
    pending: &mut Pending,
) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let serde_json::Value::Object(map) = value else {
        return Err("not a JSON object".into());
    };
    let text = |name: &str| -> Result<Option<String>, String> {
        match map.get(name) {
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(other) => Err(format!("field {name}: {other} is not a string or number")),
        }
    };
    let required = |name: &str| text(name)?.ok_or_else(|| format!("field {name} is missing"));
    if map.contains_key("y") {
        return Err(
            "a covariates record has no y field: a target's own values are \
                    observations (the jsonl format)"
                .into(),
        );
    }
    let id = required("unique_id")?;
    let ds = required("ds")?;
    let issued = text("issued_at")?;
    let values = map
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "unique_id" | "ds" | "issued_at"))
        .map(|(k, v)| (k.as_str(), Cell::Json(v)));
    add_row(ctx, &id, &ds, issued.as_deref(), values, line_no, pending)
}

/// Checks one record and adds its values to `pending`: vintage values when it has an issue
/// instant, observations otherwise.
fn add_row<'a>(
    ctx: &LandCtx,
    id: &str,
    ds: &str,
    issued_at: Option<&str>,
    values: impl Iterator<Item = (&'a str, Cell<'a>)>,
    line: u64,
    pending: &mut Pending,
) -> Result<(), String> {
    let (key, ts) = parse_id_ds(id, ds)?;
    ctx.limits.check_year(ts)?;
    let issued = match issued_at {
        Some(raw) => Some(parse_timestamp(raw).ok_or_else(|| {
            format!("column issued_at: {raw:?} is not a date, a datetime or a Unix time")
        })?),
        None => ctx.issued_at,
    };
    if let Some(issued) = issued {
        check_lead(issued, ts, ctx.limits.max_vintage_lead_days)?;
    }
    let mut rows: Vec<(String, f64)> = Vec::new();
    for (name, cell) in values {
        if let Some(v) = cell.number(name)? {
            rows.push((covariate_key(key.as_str(), name)?, v));
        }
    }
    if let Some(check) = &ctx.targets
        && !check(key.as_str()).map_err(|e| format!("checking the target series: {e}"))?
    {
        return Err(format!(
            "unknown target series {key}: load the series (a series file, its observations or \
             PUT /v1/series/{key}) before its covariates"
        ));
    }
    let ts_text = stamp(ts);
    match issued {
        Some(issued) => {
            let issued_text = stamp(issued);
            for (cov, v) in rows {
                pending
                    .vintages
                    .push((cov, issued_text.clone(), ts_text.clone(), v));
                pending.vintage_lines.push(line);
            }
        }
        None => {
            for (cov, v) in rows {
                pending.observations.push((cov, ts_text.clone(), v));
            }
        }
    }
    Ok(())
}

/// A vintage value must be about an instant at or after its issue, and no more than
/// `max_days` after it; the error says which rule broke.
pub fn check_lead(issued: Timestamp, ts: Timestamp, max_days: u32) -> Result<(), String> {
    if issued > ts {
        return Err(format!(
            "column issued_at: {} is later than its ds {}: a forecast is issued before the \
             instant it is about",
            stamp(issued),
            stamp(ts)
        ));
    }
    if ts - issued > chrono::Duration::days(i64::from(max_days)) {
        return Err(format!(
            "column issued_at: {} is more than {max_days} days before its ds {} \
             (HORIZON_INGEST_MAX_VINTAGE_LEAD_DAYS)",
            stamp(issued),
            stamp(ts)
        ));
    }
    Ok(())
}

fn stamp(ts: Timestamp) -> String {
    ts.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The issue instant a source's `issued_at_pattern` reads off a file name: the pattern is
/// matched against the name's start (`weather_%Y%m%d%H` reads `weather_2026120106.csv`), in
/// UTC; a pattern without an hour reads midnight.
pub fn issued_at_from_name(pattern: &str, name: &str) -> Option<Timestamp> {
    use chrono::{NaiveDate, NaiveDateTime};
    // The longest prefix of the name that the pattern parses.
    let chars: Vec<usize> = name
        .char_indices()
        .map(|(i, _)| i)
        .chain([name.len()])
        .collect();
    for &end in chars.iter().rev() {
        let head = &name[..end];
        // A pattern without minutes (or seconds) reads them as 0: parse with them appended.
        for (tail, fields) in [("", ""), ("|00", "|%M"), ("|00|00", "|%M|%S")] {
            let text = format!("{head}{tail}");
            if let Ok(dt) = NaiveDateTime::parse_from_str(&text, &format!("{pattern}{fields}")) {
                return Some(dt.and_utc());
            }
        }
        if !pattern.contains("%H")
            && let Ok(d) = NaiveDate::parse_from_str(head, pattern)
        {
            return d.and_hms_opt(0, 0, 0).map(|dt| dt.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::issued_at_from_name;

    #[test]
    fn the_issue_is_read_off_a_file_name() {
        let at = |p: &str, n: &str| issued_at_from_name(p, n).map(|t| t.to_rfc3339());
        assert_eq!(
            at("weather_%Y%m%d%H", "weather_2026060106.csv").as_deref(),
            Some("2026-06-01T06:00:00+00:00")
        );
        assert_eq!(
            at("nwp-%Y-%m-%dT%H%M", "nwp-2026-06-01T0630_ghi.csv").as_deref(),
            Some("2026-06-01T06:30:00+00:00")
        );
        assert_eq!(
            at("%Y%m%d", "20260601.csv").as_deref(),
            Some("2026-06-01T00:00:00+00:00")
        );
        assert_eq!(at("weather_%Y%m%d%H", "no_issue.csv"), None);
    }
}
