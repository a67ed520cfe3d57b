//! Calibration weights, interval scales and backtest metrics.

use super::*;

#[utoipa::path(summary = "Current calibration of every model family", tag = "calibration", security(("api_key" = [])),
    responses((status = 200, description = "calibration rows", body = CalibrationList)))]
#[get("/v1/calibration")]
pub(super) async fn current_calibration(
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let current = state.store.current_calibration_weights().await?;
    let mut items: Vec<CalibrationWeightDto> = current
        .values()
        .flatten()
        .map(CalibrationWeightDto::from)
        .collect();
    items.sort_by(|a, b| (&a.series_class, &a.model).cmp(&(&b.series_class, &b.model)));
    let mut interval_scales: Vec<IntervalScaleDto> = state
        .store
        .interval_scales(None, true, 1_000)
        .await?
        .iter()
        .map(IntervalScaleDto::from)
        .collect();
    interval_scales.sort_by(|a, b| {
        (&a.series_class, a.level)
            .partial_cmp(&(&b.series_class, b.level))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(json_ok(&CalibrationList {
        items,
        interval_scales,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CalibrationQuery {
    /// Only this series class: smooth, erratic, intermittent, lumpy.
    #[param(pattern = "^(smooth|erratic|intermittent|lumpy)$")]
    class: Option<String>,
    /// At most this many, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

#[utoipa::path(summary = "Calibration over time", tag = "calibration", params(CalibrationQuery), security(("api_key" = [])),
    responses((status = 200, description = "calibration rows", body = CalibrationList), (status = 400, body = Problem)))]
#[get("/v1/calibration/history")]
pub(super) async fn calibration_history(
    state: web::Data<AppState>,
    query: web::Query<CalibrationQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit_of(query.limit, 100)?;
    let class = query
        .class
        .as_deref()
        .map(|c| c.parse::<SeriesClass>())
        .transpose()?;
    let items = state.store.calibration_history(class, limit).await?;
    let scales = state.store.interval_scales(class, false, limit).await?;
    Ok(json_ok(&CalibrationList {
        items: items.iter().map(CalibrationWeightDto::from).collect(),
        interval_scales: scales.iter().map(IntervalScaleDto::from).collect(),
    }))
}

#[utoipa::path(summary = "Backtest scores of forecasts", tag = "metrics", params(BySeriesQuery), security(("api_key" = [])),
    responses((status = 200, description = "backtest scores", body = ForecastMetricList), (status = 400, body = Problem), (status = 404, body = Problem)))]
#[get("/v1/forecast-metrics")]
pub(super) async fn list_forecast_metrics(
    state: web::Data<AppState>,
    query: web::Query<BySeriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit_of(query.limit, 100)?;
    let id = series_id_of(&state, query.series.as_deref()).await?;
    let items = state.store.list_forecast_metrics(id, limit).await?;
    let keys = series_keys(&state, items.iter().map(|m| m.series_id)).await?;
    Ok(json_ok(&ForecastMetricList {
        items: items
            .iter()
            .map(|m| ForecastMetricDto::new(m, key_of(&keys, m.series_id)))
            .collect(),
    }))
}
