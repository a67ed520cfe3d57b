//! Forecast reads that are in no cache: each runs as its own task, and concurrent ones share
//! database round trips.
//!
//! A request queues its id. If fewer reads than allowed are running, it starts a reader task;
//! otherwise a running reader takes it with everything else that queued while its query was
//! in flight (the group-commit pattern, applied to reads), up to [`MAX_BATCH`] per query. A
//! lone request therefore goes to the database at once, alone.
//!
//! The separate task is most of the gain: polled inside the request's handler, every wake-up
//! of the database driver re-polled the whole middleware stack around it. `bench/api/run.sh`
//! (32 connections, random forecasts): 10–11k requests/s reading in the handler, 19k from
//! reader tasks; batching adds little while readers are as many as half the pool, and keeps
//! a burst larger than that to a few queries.

use std::sync::Mutex;

use actix_web::web::Bytes;
use horizon_dto::ForecastDto;
use horizon_store::Store;
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::ApiError;

/// Most forecasts one query reads.
pub const MAX_BATCH: usize = 64;

type Reply = oneshot::Sender<Result<Bytes, ApiError>>;

#[derive(Default)]
struct Queue {
    waiting: Vec<(Uuid, Reply)>,
    in_flight: usize,
}

/// The queue of forecast reads that missed the caches.
pub(crate) struct ForecastReads {
    queue: Mutex<Queue>,
    /// Reads running at once.
    max_in_flight: usize,
}

impl ForecastReads {
    /// Reads with at most half of a pool of `pool_size` connections at once, so that the
    /// other routes always find a connection.
    pub(crate) fn new(pool_size: u32) -> Self {
        Self {
            queue: Mutex::default(),
            max_in_flight: (pool_size as usize).div_ceil(2),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The JSON of forecast `id` from the database.
    pub(crate) async fn read(
        self: &std::sync::Arc<Self>,
        store: &Store,
        id: Uuid,
    ) -> Result<Bytes, ApiError> {
        let (tx, rx) = oneshot::channel();
        let start_reader = {
            let mut q = self.lock();
            q.waiting.push((id, tx));
            let start = q.in_flight < self.max_in_flight;
            if start {
                q.in_flight += 1;
            }
            start
        };
        if start_reader {
            let (reads, store) = (self.clone(), store.clone());
            actix_web::rt::spawn(async move { reads.drain(&store).await });
        }
        rx.await
            .unwrap_or_else(|_| Err(ApiError::unavailable("the forecast read was abandoned")))
    }

    /// Reads batches until nothing waits.
    async fn drain(&self, store: &Store) {
        loop {
            let batch: Vec<(Uuid, Reply)> = {
                let mut q = self.lock();
                if q.waiting.is_empty() {
                    q.in_flight -= 1;
                    return;
                }
                let take = q.waiting.len().min(MAX_BATCH);
                q.waiting.drain(..take).collect()
            };
            let mut ids: Vec<Uuid> = batch.iter().map(|(id, _)| *id).collect();
            ids.sort_unstable();
            ids.dedup();
            match store.predictions_for_reading(&ids).await {
                Ok(rows) => {
                    let mut docs: Vec<(Uuid, Result<Bytes, ApiError>)> = rows
                        .iter()
                        .map(|(p, key)| (p.id, encode(&ForecastDto::from_prediction(p, key))))
                        .collect();
                    docs.sort_unstable_by_key(|(id, _)| *id);
                    for (id, reply) in batch {
                        let doc = match docs.binary_search_by_key(&id, |(d, _)| *d) {
                            Ok(i) => docs[i].1.clone(),
                            Err(_) => Err(ApiError::not_found(format!("forecast {id} not found"))),
                        };
                        // The requester may have gone (client disconnected): nothing to do.
                        let _ = reply.send(doc);
                    }
                }
                Err(e) => {
                    let err = ApiError::from(e);
                    for (_, reply) in batch {
                        let _ = reply.send(Err(err.clone()));
                    }
                }
            }
        }
    }
}

fn encode(dto: &ForecastDto) -> Result<Bytes, ApiError> {
    serde_json::to_vec(dto).map(Bytes::from).map_err(|e| {
        tracing::error!(error = %e, "serialising a forecast");
        ApiError::unavailable("the forecast could not be encoded")
    })
}
