//! The step log of an execution: each stage of a pipeline run or an API job writes one
//! step (name, items, message, start and end) to the store and to the log, so the API's
//! execution resource and the operator's log tell the same story.

use horizon_domain::{StepStatus, Timestamp};
use horizon_store::{NewStep, Store};
use uuid::Uuid;

use crate::ServiceError;

/// The clock every step and stored stamp of the services reads.
pub(crate) fn now() -> Timestamp {
    chrono::Utc::now()
}

/// Records one finished step of `execution_id`, begun at `started_at`, in the store and the
/// log.
pub(crate) async fn log_step(
    store: &Store,
    execution_id: Uuid,
    name: &str,
    started_at: Timestamp,
    items: Option<i64>,
    message: String,
) -> Result<(), ServiceError> {
    tracing::info!(%execution_id, step = name, items, "{message}");
    store
        .add_step(
            execution_id,
            NewStep {
                name: name.to_owned(),
                status: StepStatus::Succeeded,
                message: Some(message),
                items,
                started_at,
                finished_at: Some(now()),
            },
        )
        .await?;
    Ok(())
}
