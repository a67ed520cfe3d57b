//! Jobs: train, predict, backtest and generate, accepted as typed requests (202).

use super::*;

/// The typed parameters of a job request, defaults applied (quantiles: the domain's default
/// levels; folds: [`horizon_services::jobs::DEFAULT_FOLDS`]), or 422 naming what is wrong.
fn job_params(
    kind: ExecutionKind,
    r: JobRequest,
) -> Result<horizon_services::jobs::JobParams, ApiError> {
    validate_job(kind, &r)?;
    let models = r
        .models
        .map(|names| {
            names
                .iter()
                .map(|m| m.parse::<horizon_domain::ModelKind>())
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
        .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let quantiles = match r.quantiles {
        Some(q) => QuantileLevels::new(q).map_err(|e| ApiError::unprocessable(e.to_string()))?,
        None => QuantileLevels::default(),
    };
    Ok(horizon_services::jobs::JobParams {
        options: horizon_services::pipeline::PipelineOptions {
            as_of: r.as_of,
            series_prefix: r.series_prefix,
            series_keys: r.series,
            models,
            horizon: r.horizon.map(|h| h as usize),
            quantiles,
        },
        folds: r
            .folds
            .map_or(horizon_services::jobs::DEFAULT_FOLDS, |f| f as usize),
    })
}

fn validate_job(kind: ExecutionKind, r: &JobRequest) -> Result<(), ApiError> {
    if let Some(series) = &r.series {
        if series.is_empty() || series.len() > 10_000 {
            return Err(ApiError::unprocessable(
                "series must list 1 to 10000 keys when given",
            ));
        }
        for k in series {
            SeriesKey::parse(k).map_err(|e| ApiError::unprocessable(e.to_string()))?;
        }
    }
    if let Some(h) = r.horizon
        && !(1..=10_000).contains(&h)
    {
        return Err(ApiError::unprocessable(format!(
            "horizon must be between 1 and 10000, got {h}"
        )));
    }
    if r.models.as_ref().is_some_and(Vec::is_empty) {
        return Err(ApiError::unprocessable(
            "models must not be empty when given",
        ));
    }
    if let Some(f) = r.folds {
        if kind != ExecutionKind::Backtest {
            return Err(ApiError::unprocessable("folds applies to backtests only"));
        }
        if !(1..=50).contains(&f) {
            return Err(ApiError::unprocessable(format!(
                "folds must be between 1 and 50, got {f}"
            )));
        }
    }
    Ok(())
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .ok()
        .filter(|v| !v.is_empty() && v.len() <= 200 && v.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::invalid("Idempotency-Key must be 1 to 200 visible ASCII characters")
        })?;
    Ok(Some(v.to_owned()))
}

fn accepted(e: &horizon_domain::Execution) -> HttpResponse {
    let location = format!("/v1/executions/{}", e.id);
    HttpResponse::Accepted()
        .insert_header((header::LOCATION, location.clone()))
        .json(JobAccepted {
            execution_id: e.id,
            status: e.status.to_string(),
            location,
        })
}

/// Creates (or, for a replayed Idempotency-Key, finds) the execution of a job.
async fn submit(
    state: &AppState,
    req: &HttpRequest,
    kind: ExecutionKind,
    body: JobRequest,
) -> Result<HttpResponse, ApiError> {
    let params = job_params(kind, body)?;
    // A job naming a series that does not exist is refused now, not failed later.
    match horizon_services::jobs::select_series(&state.store, &params.options).await {
        Ok(_) => {}
        Err(e) if e.code() == horizon_domain::ErrorCode::Invalid => {
            return Err(ApiError::unprocessable(e.to_string()));
        }
        Err(e) => return Err(e.into()),
    }
    let principal = req.extensions().get::<Principal>().cloned();
    let request = params.to_request(kind);
    let hash = hex::encode(Sha256::digest(request.to_string().as_bytes()));
    // Keys are per API key, so two clients cannot collide on the same Idempotency-Key.
    let key = idempotency_key(req)?.map(|k| {
        let owner = principal.as_ref().map(|p| p.key_id.to_string());
        format!("{}:{k}", owner.unwrap_or_default())
    });
    let replay = |e: horizon_domain::Execution| {
        if e.request_hash.as_deref() == Some(hash.as_str()) {
            Ok(accepted(&e))
        } else {
            Err(ApiError::unprocessable(
                "this Idempotency-Key was used with a different request",
            ))
        }
    };
    if let Some(k) = &key
        && let Some(e) = state.store.execution_by_idempotency_key(k).await?
    {
        return replay(e);
    }
    match horizon_services::jobs::submit(
        &state.store,
        &state.settings,
        kind,
        request,
        key.clone(),
        Some(hash.clone()),
        principal.map(|p| p.key_id),
    )
    .await
    {
        Ok(e) => Ok(accepted(&e)),
        // A concurrent request with the same key won the insert: answer as a replay.
        Err(err) => match &key {
            Some(k) => match state.store.execution_by_idempotency_key(k).await? {
                Some(e) => replay(e),
                None => Err(err.into()),
            },
            None => Err(err.into()),
        },
    }
}

macro_rules! job_route {
    ($name:ident, $path:literal, $kind:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(tag = "jobs", request_body = JobRequest, security(("api_key" = [])),
            params(("Idempotency-Key" = Option<String>, Header, description = "replays return the same execution")),
            responses((status = 202, description = "accepted; poll the execution", body = JobAccepted), (status = 400, body = Problem),
                (status = 422, body = Problem)))]
        #[post($path)]
        pub(super) async fn $name(
            state: web::Data<AppState>,
            req: HttpRequest,
            body: web::Json<JobRequest>,
        ) -> Result<HttpResponse, ApiError> {
            submit(&state, &req, $kind, body.into_inner()).await
        }
    };
}

job_route!(
    train,
    "/v1/train",
    ExecutionKind::Train,
    "Fits models and registers them."
);
job_route!(
    predict,
    "/v1/predict",
    ExecutionKind::Predict,
    "Forecasts with registered models."
);
job_route!(
    backtest,
    "/v1/backtest",
    ExecutionKind::Backtest,
    "Rolling-origin backtest."
);
job_route!(
    generate,
    "/v1/generate",
    ExecutionKind::Generate,
    "Fits and forecasts in one run."
);
