//! Horizon's application services. They compose the store and the engine into the operations
//! the binaries expose — ingest a file, run the forecasting pipeline — so that `main`
//! functions only load settings, set up telemetry and call one of these.

pub mod error;
pub mod ingest;
pub mod jobs;
pub mod pipeline;
pub mod queue;
mod steps;
pub mod telemetry;

pub use error::ServiceError;

/// Waits for SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
