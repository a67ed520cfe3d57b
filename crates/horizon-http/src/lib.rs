//! Horizon's HTTP API on actix-web. [`server`] builds the whole server from settings, a store
//! and a bound listener, so the binary, the demo and the tests share one wiring; tests bind
//! port 0.

mod error;
mod routes;

use std::{net::TcpListener, sync::Arc};

use actix_web::{App, HttpServer, dev::Server, middleware, web};
use horizon_settings::Settings;
use horizon_store::Store;

pub use error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The shared database.
    pub store: Store,
    /// The settings the process started with.
    pub settings: Arc<Settings>,
}

/// Registers every route under `cfg`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    routes::configure(cfg);
}

/// Builds the server on `listener`; await the returned [`Server`] to run it. It stops
/// gracefully (finishing in-flight requests) on SIGINT/SIGTERM.
pub fn server(
    settings: Arc<Settings>,
    store: Store,
    listener: TcpListener,
) -> std::io::Result<Server> {
    let state = AppState {
        store,
        settings: settings.clone(),
    };
    let max_body = settings.api_max_body_bytes;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .app_data(
                web::JsonConfig::default()
                    .limit(max_body)
                    .error_handler(|err, _req| {
                        ApiError::invalid(format!("invalid JSON body: {err}")).into()
                    }),
            )
            .app_data(
                web::PathConfig::default()
                    .error_handler(|err, _req| ApiError::invalid(err.to_string()).into()),
            )
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|err, _req| ApiError::invalid(err.to_string()).into()),
            )
            .wrap(middleware::Logger::new("%r %s %Dms").log_target("horizon::http"))
            .configure(configure)
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(ApiError::not_found("no such route"))
            }))
    })
    .listen(listener)?
    .shutdown_timeout(30)
    .run();
    Ok(server)
}

#[cfg(test)]
mod tests;
