//! What a forecast wants its reader to know: typed, so a client can act on the kind (alert on
//! stale data, hide a chart of a too-short history) and show the message.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a [`ForecastWarning`] is about. Stored and sent as its snake-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// The data end so long before the forecast's as-of that part of the horizon is past.
    StaleData,
    /// The history is too short for the series' cycles or for a calibrated interval.
    ShortHistory,
    /// Most of the history is zero: intermittent methods, wide relative bands.
    ManyZeros,
    /// Missing steps on the grid (gaps, NaN, blanks) were filled before fitting.
    GapsFilled,
    /// Several values for one step were reduced to one (first, last or mean).
    DuplicatesResolved,
    /// Only the most recent part of a long history was used.
    HistoryTrimmed,
    /// A model could not be used (failed fit, caller weights covering none), or a fallback ran.
    ModelDropped,
    /// Covariates were left out, fell back to observations, or were dropped in validation.
    Covariates,
    /// Steps forecast as exactly zero because the series is dark at those times every day.
    StructuralZeros,
    /// Anything else; also what a warning stored before warnings were typed reads as.
    Note,
}

impl WarningKind {
    /// Every kind, in a stable order.
    pub const ALL: [WarningKind; 10] = [
        WarningKind::StaleData,
        WarningKind::ShortHistory,
        WarningKind::ManyZeros,
        WarningKind::GapsFilled,
        WarningKind::DuplicatesResolved,
        WarningKind::HistoryTrimmed,
        WarningKind::ModelDropped,
        WarningKind::Covariates,
        WarningKind::StructuralZeros,
        WarningKind::Note,
    ];

    /// The name as stored and served.
    pub fn as_str(&self) -> &'static str {
        match self {
            WarningKind::StaleData => "stale_data",
            WarningKind::ShortHistory => "short_history",
            WarningKind::ManyZeros => "many_zeros",
            WarningKind::GapsFilled => "gaps_filled",
            WarningKind::DuplicatesResolved => "duplicates_resolved",
            WarningKind::HistoryTrimmed => "history_trimmed",
            WarningKind::ModelDropped => "model_dropped",
            WarningKind::Covariates => "covariates",
            WarningKind::StructuralZeros => "structural_zeros",
            WarningKind::Note => "note",
        }
    }
}

impl fmt::Display for WarningKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One warning of a forecast: its kind and a sentence for people.
///
/// Stored as `{"kind": "stale_data", "message": "..."}`; a bare string (how warnings were
/// stored before they had a kind) reads as [`WarningKind::Note`], so old forecasts stay
/// readable without a data migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredWarning")]
pub struct ForecastWarning {
    /// What it is about.
    pub kind: WarningKind,
    /// What happened, with the figures.
    pub message: String,
}

impl ForecastWarning {
    /// A warning of `kind`.
    pub fn new(kind: WarningKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for ForecastWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The two stored shapes of a warning.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredWarning {
    Typed { kind: WarningKind, message: String },
    Legacy(String),
}

impl From<StoredWarning> for ForecastWarning {
    fn from(w: StoredWarning) -> Self {
        match w {
            StoredWarning::Typed { kind, message } => Self { kind, message },
            StoredWarning::Legacy(message) => Self {
                kind: WarningKind::Note,
                message,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_round_trips_and_a_stored_string_reads_as_a_note() {
        let w = ForecastWarning::new(WarningKind::StaleData, "stale data: 3 steps past");
        let json = serde_json::to_string(&w).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"stale_data","message":"stale data: 3 steps past"}"#
        );
        assert_eq!(serde_json::from_str::<ForecastWarning>(&json).unwrap(), w);
        let old: Vec<ForecastWarning> =
            serde_json::from_str(r#"["2 missing values imputed"]"#).unwrap();
        assert_eq!(old[0].kind, WarningKind::Note);
        assert_eq!(old[0].message, "2 missing values imputed");
        for k in WarningKind::ALL {
            let s = serde_json::to_string(&k).unwrap();
            assert_eq!(s, format!("\"{}\"", k.as_str()));
        }
        assert!(
            serde_json::from_str::<ForecastWarning>(r#"{"kind":"bogus","message":"x"}"#).is_err()
        );
    }
}
