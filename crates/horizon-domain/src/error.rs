//! The one error type of the domain: a value broke an invariant.

/// A value given to a domain constructor broke one of its invariants. The message names the
/// value and the rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// A value was rejected; `what` names the field, `reason` the rule it broke.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The field or kind of value, e.g. `series key`.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
}

impl DomainError {
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

impl DomainError {
    /// Every domain error is bad input.
    pub fn code(&self) -> crate::ErrorCode {
        crate::ErrorCode::Invalid
    }
}
