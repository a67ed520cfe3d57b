//! Executions: runs of the pipeline and of API jobs, with their step logs.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::DomainError;

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// The name as stored and served.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(DomainError::invalid(
                        stringify!($name),
                        format!("{other:?} is not one of {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }
    };
}

text_enum! {
    /// What an execution does.
    ExecutionKind {
        /// The daily pipeline: resolve outcomes, recalibrate, forecast every due series.
        Pipeline => "pipeline",
        /// Fit and register models.
        Train => "train",
        /// Forecast from registered or freshly fitted models.
        Predict => "predict",
        /// Rolling-origin evaluation.
        Backtest => "backtest",
        /// Forecast a set of series now.
        Generate => "generate",
        /// One ingest cycle.
        Ingest => "ingest",
    }
}

text_enum! {
    /// Where an execution is in its life.
    ExecutionStatus {
        /// Waiting for a worker.
        Queued => "queued",
        /// A worker is on it.
        Running => "running",
        /// Finished without error.
        Succeeded => "succeeded",
        /// Finished with an error, recorded on the execution.
        Failed => "failed",
    }
}

text_enum! {
    /// Outcome of one step of an execution.
    StepStatus {
        /// Started, not finished.
        Running => "running",
        /// Finished without error.
        Succeeded => "succeeded",
        /// Finished with an error.
        Failed => "failed",
    }
}

text_enum! {
    /// Why a forecast was made: by the scheduled pipeline, or on request. A series' "latest"
    /// forecast is its latest scheduled one unless a reader asks otherwise, so a one-off
    /// `predict` or `generate` job (another horizon, other models) never replaces what the
    /// schedule publishes.
    ForecastKind {
        /// Written by a pipeline run.
        Scheduled => "scheduled",
        /// Written by an API job (`predict`, `generate`).
        Adhoc => "adhoc",
    }
}

impl ForecastKind {
    /// The kind of the forecasts an execution of `kind` writes.
    pub fn of(kind: ExecutionKind) -> Self {
        match kind {
            ExecutionKind::Pipeline => ForecastKind::Scheduled,
            _ => ForecastKind::Adhoc,
        }
    }
}

impl ExecutionStatus {
    /// Whether the execution has ended.
    pub fn is_terminal(&self) -> bool {
        matches!(self, ExecutionStatus::Succeeded | ExecutionStatus::Failed)
    }
}
