//! The closed set of error kinds every library error maps to.

/// What kind of failure an error is, whatever crate raised it. The API maps each code to one
/// HTTP status in one place; the CLI maps it to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The thing asked for does not exist.
    NotFound,
    /// The input is malformed or breaks a rule.
    Invalid,
    /// The request conflicts with the current state.
    Conflict,
    /// No valid credentials.
    Unauthorized,
    /// Valid credentials without the needed permission.
    Forbidden,
    /// A dependency (database, cache) is unreachable; retrying may help.
    Unavailable,
    /// A bug or an unexpected state.
    Internal,
}
