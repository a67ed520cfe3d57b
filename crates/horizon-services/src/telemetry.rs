//! Structured logging for every binary.

use horizon_settings::{LogFormat, Settings};
use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global tracing subscriber: the level filter from `RUST_LOG` or the settings'
/// `log_level`, text or JSON lines on stderr. Calling it twice is harmless.
pub fn init(settings: &Settings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match settings.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
