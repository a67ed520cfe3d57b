//! The API as one process runs it: the state, the bound listener and, for an all-in-one
//! process (`HORIZON_API_WORKER=true`, the demo), the worker that runs the jobs it accepts.
//! `horizon-api` and `horizon demo` both run an [`Application`], so their wiring and their
//! shutdown cannot drift apart.

use std::{
    net::{SocketAddr, TcpListener},
    sync::Arc,
};

use horizon_settings::Settings;
use horizon_store::{Store, StoreError};

use crate::{AppState, server};

/// A built API server, ready to run.
pub struct Application {
    state: AppState,
    listener: TcpListener,
    work_jobs: bool,
}

impl Application {
    /// Connects what the settings name (Redis is optional and may be down) and prepares to
    /// serve on `listener`. With `work_jobs`, [`Application::run`] also works queued jobs in
    /// this process.
    pub async fn build(
        settings: Arc<Settings>,
        store: Store,
        listener: TcpListener,
        work_jobs: bool,
    ) -> Result<Self, StoreError> {
        let state = AppState::open(settings, store).await?;
        Ok(Self {
            state,
            listener,
            work_jobs,
        })
    }

    /// The address it listens on (port 0 resolved).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until SIGINT or SIGTERM, draining as [`server`] describes; then stops the
    /// in-process worker and waits for it, so that its database listener is dropped while
    /// the runtime still runs (dropped after, it panicked and the process exited non-zero).
    pub async fn run(self) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let worker = self.work_jobs.then(|| {
            tokio::spawn(horizon_services::queue::work_in_process(
                self.state.store.clone(),
                (*self.state.settings).clone(),
                async {
                    let _ = stopped.await;
                },
            ))
        });
        let served = server(self.state, self.listener)?.await;
        let _ = stop.send(());
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        served
    }
}
