//! Executions and their step logs.

use super::*;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ExecutionQuery {
    /// Only executions in this status: queued, running, succeeded, failed.
    #[param(pattern = "^(queued|running|succeeded|failed)$")]
    status: Option<String>,
    /// At most this many, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

#[utoipa::path(summary = "List job executions", tag = "executions", params(ExecutionQuery), security(("api_key" = [])),
    responses((status = 200, description = "a page of executions", body = ExecutionList), (status = 400, body = Problem)))]
#[get("/v1/executions")]
pub(super) async fn list_executions(
    state: web::Data<AppState>,
    query: web::Query<ExecutionQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit_of(query.limit, 50)?;
    let status = query
        .status
        .as_deref()
        .map(|s| s.parse::<ExecutionStatus>())
        .transpose()?;
    let items = state.store.list_executions(status, limit).await?;
    Ok(json_ok(&ExecutionList {
        items: items
            .iter()
            .map(|e| ExecutionDto::from_domain(e, None))
            .collect(),
    }))
}

#[utoipa::path(summary = "One execution with its step log", tag = "executions", params(("id" = Uuid, Path, description = "execution id (UUID)")),
    security(("api_key" = [])),
    responses((status = 200, description = "the execution", body = ExecutionDto), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/executions/{id}")]
pub(super) async fn get_execution(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("execution id", &id)?;
    let e = state.store.execution(id).await?;
    let steps = state.store.execution_steps(id).await?;
    let partitions = state.store.partitions(e.id).await?;
    Ok(json_ok(
        &ExecutionDto::from_domain(&e, Some(&steps)).with_partitions(&partitions),
    ))
}
