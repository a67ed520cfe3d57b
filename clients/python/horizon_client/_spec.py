"""What the client relies on in the API's OpenAPI document, checked against a served one.

The client is written by hand (it is small, and its frames are the point), so instead of being
generated it states every operation it calls and every response field it reads; `check_against`
compares that with a server's ``/openapi.json`` and names each difference. The client's tests
run it against the real server, so a change of the API that would break the client fails them.
"""

from typing import Dict, List, Tuple

#: (method, path template) of every operation the client calls.
OPERATIONS: List[Tuple[str, str]] = [
    ("get", "/v1/series"),
    ("get", "/v1/series/{key}"),
    ("put", "/v1/series/{key}"),
    ("post", "/v1/observations:import"),
    ("get", "/v1/series/{key}/observations"),
    ("post", "/v1/predict"),
    ("get", "/v1/executions/{id}"),
    ("get", "/v1/forecasts"),
    ("get", "/v1/series/{key}/forecasts/latest"),
    ("put", "/v1/series/{key}/covariates/{name}/values"),
    ("get", "/v1/series/{key}/covariates"),
]

#: Schema name -> the properties the client reads from it.
FIELDS: Dict[str, List[str]] = {
    "ImportResult": [
        "run_id",
        "rows_read",
        "rows_landed",
        "rows_rejected",
        "series_created",
        "series_created_count",
        "rejections",
    ],
    "JobAccepted": ["execution_id", "status"],
    "ExecutionDto": ["id", "status", "error"],
    "ForecastPage": ["items", "next_cursor"],
    "ForecastDto": ["id", "series_key", "kind", "quantile_levels", "steps", "warnings"],
    "ForecastStepDto": ["target_at", "mean", "quantiles"],
    "ObservationsDto": ["items", "next_cursor"],
    "ObservationDto": ["ts", "value"],
    "SeriesPageDto": ["items", "next_cursor"],
    "SeriesDto": ["key"],
    "Problem": ["title", "status", "detail"],
    "CovariateWriteDto": ["key", "written"],
    "CovariateListDto": ["items"],
    "CovariateDto": ["name", "key", "role", "observations", "latest_vintage"],
}

#: Request properties the client sends, per schema.
REQUEST_FIELDS: Dict[str, List[str]] = {
    "JobRequest": ["series", "horizon", "quantiles", "as_of"],
    "CovariateValuesWrite": ["issued_at", "values"],
}


def check_against(document: dict) -> List[str]:
    """The differences between what the client relies on and `document` (an OpenAPI
    document as parsed JSON); empty when the client fits it."""
    problems = []
    paths = document.get("paths", {})
    for method, path in OPERATIONS:
        if method not in paths.get(path, {}):
            problems.append(f"{method.upper()} {path} is not in the document")
    schemas = document.get("components", {}).get("schemas", {})
    for name, fields in list(FIELDS.items()) + list(REQUEST_FIELDS.items()):
        schema = schemas.get(name)
        if schema is None:
            problems.append(f"schema {name} is not in the document")
            continue
        props = schema.get("properties", {})
        for field in fields:
            if field not in props:
                problems.append(f"{name}.{field} is not in the document")
    return problems
