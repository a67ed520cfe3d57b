//! Ingest sources: watched directories and HTTP pull feeds, each with a record format.
//!
//! In `horizon.toml`:
//!
//! ```toml
//! [[ingest_sources]]
//! name = "gdelt"
//! dir = "/var/lib/horizon/inbox/gdelt"
//! glob = "*.export.CSV.zip"
//! format = "gdelt2"
//!
//! [[ingest_sources]]
//! name = "sales"
//! url = "http://127.0.0.1:9000/sales.csv"
//! format = "csv"
//! interval_secs = 300
//! ```
//!
//! or in the environment as one value:
//! `HORIZON_INGEST_SOURCES='[{name="sales",dir="inbox",glob="*.csv",format="csv"}]'`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::SettingsError;

/// How the records of a source are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IngestFormat {
    /// Long-format CSV: `unique_id,ds,y` plus optional numeric covariate columns.
    Csv,
    /// JSON Lines with the same fields as [`IngestFormat::Csv`].
    Jsonl,
    /// GDELT 1.0 daily event exports (57 or 58 tab-separated fields), plain or zipped.
    Gdelt1,
    /// GDELT 2.0 15-minute event exports (61 tab-separated fields), plain or zipped.
    Gdelt2,
    /// Covariates of target series, long CSV: `unique_id,ds[,issued_at],<one column per
    /// covariate>`; `unique_id` is the target, each column its covariate
    /// `<unique_id>:<column>`; rows with `issued_at` are vintages (forecasts), rows without
    /// are observations.
    Covariates,
    /// [`IngestFormat::Covariates`] as JSON Lines.
    #[serde(rename = "covariates-jsonl")]
    CovariatesJsonl,
}

impl IngestFormat {
    /// Whether records are covariates of target series.
    pub fn is_covariates(self) -> bool {
        matches!(self, Self::Covariates | Self::CovariatesJsonl)
    }
}

/// One configured source. Exactly one of `dir` and `url` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSource {
    /// Name in runs, rejections and logs (`A-Z a-z 0-9 _ . -`).
    pub name: String,
    /// Record format.
    pub format: IngestFormat,
    /// Directory to watch; ingested files move to its `processed/` folder, unusable ones to
    /// `failed/`.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// File-name pattern within `dir` (`*`, `?`, `[...]`).
    #[serde(default = "default_glob")]
    pub glob: String,
    /// `http://` or `https://` URL polled every `interval_secs`.
    #[serde(default)]
    pub url: Option<String>,
    /// Seconds between polls of `url`.
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// For covariate sources that publish one file per issue without an `issued_at` column:
    /// a chrono format (`%Y%m%d%H` …) matched against the start of the file name (the URL's
    /// last segment for a feed), read as UTC; the instant it gives is every row's
    /// `issued_at`. E.g. `weather_%Y%m%d%H` reads `weather_2026120106.csv` as issued at
    /// 2026-12-01T06:00Z.
    #[serde(default)]
    pub issued_at_pattern: Option<String>,
}

fn default_glob() -> String {
    "*".into()
}

fn default_interval() -> u64 {
    60
}

pub(crate) fn validate_sources(sources: &[IngestSource]) -> Result<(), SettingsError> {
    let invalid = |value: String, reason: String| SettingsError::Invalid {
        key: "HORIZON_INGEST_SOURCES",
        value,
        reason,
    };
    let mut names = std::collections::HashSet::new();
    for s in sources {
        if s.name.is_empty()
            || !s
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(invalid(
                s.name.clone(),
                "a source name is 1 or more of A-Z a-z 0-9 _ . -".into(),
            ));
        }
        if !names.insert(s.name.as_str()) {
            return Err(invalid(
                s.name.clone(),
                "source names must be unique".into(),
            ));
        }
        match (&s.dir, &s.url) {
            (Some(_), None) => {}
            (None, Some(url)) => {
                let ok = url::Url::parse(url)
                    .map(|u| matches!(u.scheme(), "http" | "https"))
                    .unwrap_or(false);
                if !ok {
                    return Err(invalid(
                        url.clone(),
                        format!("source {}: url must be an http:// or https:// URL", s.name),
                    ));
                }
                if s.interval_secs == 0 {
                    return Err(invalid(
                        s.name.clone(),
                        "interval_secs must be at least 1".into(),
                    ));
                }
            }
            _ => {
                return Err(invalid(
                    s.name.clone(),
                    "a source has exactly one of dir and url".into(),
                ));
            }
        }
        if let Some(pattern) = &s.issued_at_pattern {
            if !s.format.is_covariates() {
                return Err(invalid(
                    pattern.clone(),
                    format!(
                        "source {}: issued_at_pattern is for covariate formats",
                        s.name
                    ),
                ));
            }
            if !pattern.contains('%') {
                return Err(invalid(
                    pattern.clone(),
                    format!(
                        "source {}: issued_at_pattern has no chrono field (%Y, %m, %d, %H ...)",
                        s.name
                    ),
                ));
            }
        }
        if s.glob.is_empty() || s.glob.contains('/') {
            return Err(invalid(
                s.glob.clone(),
                format!("source {}: glob is a file-name pattern without /", s.name),
            ));
        }
    }
    Ok(())
}
