//! GDELT event exports: 1.0 daily files (57 fields, 58 with SOURCEURL) and 2.0 15-minute
//! files (61 fields), tab-separated, one event per line, no header. Fields are located by their
//! documented index per version (GDELT Event Codebook 1.0/2.0): the first 35 (through AvgTone)
//! are the same in both; 2.0 adds an ADM2 code to each of the three geographies, which moves
//! DATEADDED from index 56 (YYYYMMDD) to 59 (YYYYMMDDHHMMSS).

use chrono::{NaiveDate, NaiveDateTime};
use horizon_store::event_store::GdeltEvent;

/// Which GDELT export a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GdeltVersion {
    /// GDELT 1.0 daily export.
    V1,
    /// GDELT 2.0 15-minute export.
    V2,
}

const GLOBALEVENTID: usize = 0;
const SQLDATE: usize = 1;
const ACTOR1_COUNTRY: usize = 7;
const ACTOR2_COUNTRY: usize = 17;
const EVENT_ROOT_CODE: usize = 28;
const QUAD_CLASS: usize = 29;
const GOLDSTEIN: usize = 30;
const NUM_MENTIONS: usize = 31;
const AVG_TONE: usize = 34;
const V2_DATEADDED: usize = 59;
/// Seconds in one 15-minute slot.
pub const SLOT_SECONDS: i64 = 900;

impl GdeltVersion {
    fn field_counts(self) -> &'static [usize] {
        match self {
            GdeltVersion::V1 => &[57, 58],
            GdeltVersion::V2 => &[61],
        }
    }

    fn name(self) -> &'static str {
        match self {
            GdeltVersion::V1 => "GDELT 1.0",
            GdeltVersion::V2 => "GDELT 2.0",
        }
    }
}

/// Parses one export line (without its line break). The error names the field and the value.
pub fn parse_line(line: &[u8], version: GdeltVersion) -> Result<GdeltEvent, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut fields: [&[u8]; 64] = [&[]; 64];
    let mut n = 0;
    for f in line.split(|&b| b == b'\t') {
        if n < fields.len() {
            fields[n] = f;
        }
        n += 1;
    }
    if !version.field_counts().contains(&n) {
        let expected = version
            .field_counts()
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" or ");
        return Err(format!(
            "expected {expected} tab-separated fields ({}), found {n}",
            version.name()
        ));
    }
    let text = |i: usize, name: &str| {
        std::str::from_utf8(fields[i])
            .map(str::trim)
            .map_err(|_| format!("field {name} is not UTF-8"))
    };
    let int = |i: usize, name: &str| -> Result<i64, String> {
        let t = text(i, name)?;
        t.parse::<i64>()
            .map_err(|_| format!("field {name}: {t:?} is not an integer"))
    };
    let real = |i: usize, name: &str| -> Result<f64, String> {
        let t = text(i, name)?;
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(format!("field {name}: {t:?} is not a number")),
        }
    };
    let country = |i: usize, name: &str| -> Result<String, String> {
        let t = text(i, name)?;
        if t.is_empty() || (t.len() == 3 && t.bytes().all(|b| b.is_ascii_uppercase())) {
            Ok(t.to_owned())
        } else {
            Err(format!(
                "field {name}: {t:?} is not a three-letter country code"
            ))
        }
    };

    let event_id = int(GLOBALEVENTID, "GLOBALEVENTID")?;
    if event_id <= 0 {
        return Err(format!("field GLOBALEVENTID: {event_id} is not positive"));
    }
    let sqldate = text(SQLDATE, "SQLDATE")?;
    let day = NaiveDate::parse_from_str(sqldate, "%Y%m%d")
        .map_err(|_| format!("field SQLDATE: {sqldate:?} is not a date (YYYYMMDD)"))?
        .signed_duration_since(NaiveDate::default())
        .num_days();
    let slot = match version {
        GdeltVersion::V1 => None,
        GdeltVersion::V2 => {
            let added = text(V2_DATEADDED, "DATEADDED")?;
            let ts = NaiveDateTime::parse_from_str(added, "%Y%m%d%H%M%S").map_err(|_| {
                format!("field DATEADDED: {added:?} is not a datetime (YYYYMMDDHHMMSS)")
            })?;
            Some(ts.and_utc().timestamp().div_euclid(SLOT_SECONDS))
        }
    };
    let root = text(EVENT_ROOT_CODE, "EventRootCode")?;
    let root_code = root
        .parse::<u8>()
        .ok()
        .filter(|c| (1..=20).contains(c))
        .ok_or_else(|| format!("field EventRootCode: {root:?} is not a CAMEO root code 01-20"))?;
    let quad = text(QUAD_CLASS, "QuadClass")?;
    let quad_class = quad
        .parse::<u8>()
        .ok()
        .filter(|c| (1..=4).contains(c))
        .ok_or_else(|| format!("field QuadClass: {quad:?} is not 1-4"))?;
    let mentions = int(NUM_MENTIONS, "NumMentions")?;
    if mentions < 0 {
        return Err(format!("field NumMentions: {mentions} is negative"));
    }
    Ok(GdeltEvent {
        event_id,
        version: match version {
            GdeltVersion::V1 => 1,
            GdeltVersion::V2 => 2,
        },
        day,
        slot,
        actor1_country: country(ACTOR1_COUNTRY, "Actor1CountryCode")?,
        actor2_country: country(ACTOR2_COUNTRY, "Actor2CountryCode")?,
        root_code,
        quad_class,
        goldstein: real(GOLDSTEIN, "GoldsteinScale")?,
        mentions,
        tone: real(AVG_TONE, "AvgTone")?,
    })
}

/// One synthetic export line with the given fields and plausible filler elsewhere (tests and
/// the benchmark generator).
#[allow(clippy::too_many_arguments)]
pub fn format_line(
    version: GdeltVersion,
    event_id: i64,
    sqldate: &str,
    actor1: &str,
    actor2: &str,
    root: u8,
    quad: u8,
    goldstein: f64,
    mentions: i64,
    tone: f64,
    dateadded: &str,
) -> String {
    let n = match version {
        GdeltVersion::V1 => 58,
        GdeltVersion::V2 => 61,
    };
    let mut f: Vec<String> = vec![String::new(); n];
    f[GLOBALEVENTID] = event_id.to_string();
    f[SQLDATE] = sqldate.to_owned();
    f[2] = sqldate.get(..6).unwrap_or("").to_owned();
    f[3] = sqldate.get(..4).unwrap_or("").to_owned();
    f[4] = "2026.0027".into();
    f[5] = actor1.to_owned();
    f[6] = "ACTOR ONE".into();
    f[ACTOR1_COUNTRY] = actor1.to_owned();
    f[15] = actor2.to_owned();
    f[16] = "ACTOR TWO".into();
    f[ACTOR2_COUNTRY] = actor2.to_owned();
    f[25] = "1".into();
    f[26] = format!("{root:02}0");
    f[27] = format!("{root:02}0");
    f[EVENT_ROOT_CODE] = format!("{root:02}");
    f[QUAD_CLASS] = quad.to_string();
    f[GOLDSTEIN] = goldstein.to_string();
    f[NUM_MENTIONS] = mentions.to_string();
    f[32] = "1".into();
    f[33] = mentions.to_string();
    f[AVG_TONE] = tone.to_string();
    f[35] = "1".into();
    f[36] = "Somewhere".into();
    match version {
        GdeltVersion::V1 => {
            f[56] = sqldate.to_owned();
            f[57] = "https://example.invalid/news".into();
        }
        GdeltVersion::V2 => {
            f[V2_DATEADDED] = dateadded.to_owned();
            f[60] = "https://example.invalid/news".into();
        }
    }
    f.join("\t")
}
