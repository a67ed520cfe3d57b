//! Horizon forecasting engine (placeholder until the engine lands).
