//! Errors of the engine.

/// Why the engine could not do what was asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// The history is unusable for this model (too short, no finite values, ...).
    #[error("{model}: {reason}")]
    CannotFit {
        /// The model that was being fitted.
        model: &'static str,
        /// Why it could not be fitted.
        reason: String,
    },
    /// A covariate is unusable (does not cover the horizon, missing inside it, ...).
    #[error("covariate {name:?} {reason}")]
    Covariate {
        /// The covariate's name.
        name: String,
        /// What is wrong, naming the first bad step.
        reason: String,
    },
    /// A request parameter is out of range (horizon 0, bad season length, ...).
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// The parameter.
        what: &'static str,
        /// The rule it broke.
        reason: String,
    },
}
