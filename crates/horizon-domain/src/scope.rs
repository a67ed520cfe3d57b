//! What an API key may do.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// One permission of an API key. `admin` implies `write`, which implies `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiScope {
    /// Read resources.
    Read,
    /// Create and change resources, start jobs.
    Write,
    /// Manage keys and settings.
    Admin,
}

impl ApiScope {
    /// The scope's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ApiScope::Read => "read",
            ApiScope::Write => "write",
            ApiScope::Admin => "admin",
        }
    }
}

impl fmt::Display for ApiScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiScope {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "read" => Ok(ApiScope::Read),
            "write" => Ok(ApiScope::Write),
            "admin" => Ok(ApiScope::Admin),
            other => Err(DomainError::invalid(
                "scope",
                format!("{other:?} is not one of read, write, admin"),
            )),
        }
    }
}

/// A non-empty set of scopes, written as `read,write`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiScopes(Vec<ApiScope>);

impl ApiScopes {
    /// Builds a set; duplicates are dropped.
    pub fn new(mut scopes: Vec<ApiScope>) -> Result<Self, DomainError> {
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(DomainError::invalid(
                "scopes",
                "at least one scope is needed",
            ));
        }
        Ok(Self(scopes))
    }

    /// Whether these scopes allow what `needed` allows (`admin` ⊇ `write` ⊇ `read`).
    pub fn allows(&self, needed: ApiScope) -> bool {
        self.0.iter().any(|s| *s >= needed)
    }

    /// The scopes, sorted.
    pub fn as_slice(&self) -> &[ApiScope] {
        &self.0
    }
}

impl fmt::Display for ApiScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(ApiScope::as_str).collect();
        f.write_str(&names.join(","))
    }
}

impl FromStr for ApiScopes {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let scopes = s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(scopes)
    }
}
