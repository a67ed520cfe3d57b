//! End-to-end tests: the real binaries as OS processes against one database, real HTTP.
//! Each test runs on SQLite and, when `TEST_DATABASE_URL` is set, on PostgreSQL.

// Test code: a failed unwrap is a failed test with its message.
#![allow(clippy::unwrap_used)]

mod api_keys;
mod browser;
mod cli;
mod covariates;
mod faults;
mod ingest_crash;
mod ingest_faults;
mod pipeline_workers;
mod solar_cli;
mod three_processes;
