"""The HTTP client and its pandas helpers."""

import datetime
import io
import json
import numbers
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterable, List, Optional, Sequence

import pandas as pd


class HorizonError(Exception):
    """The API answered with an error (problem+json): `status` is the HTTP status, `problem`
    the parsed body (`title`, `detail`, ...), `str()` names both."""

    def __init__(self, method: str, path: str, status: int, problem: Dict[str, Any]):
        self.method = method
        self.path = path
        self.status = status
        self.problem = problem
        detail = problem.get("detail") or problem.get("title") or ""
        super().__init__(f"{method} {path}: {status} {detail}".rstrip())


def _level_name(x: float) -> str:
    """80.0 -> '80', 0.1 -> '0.1': how the CLI names its columns."""
    return f"{x:g}"


def _stamp(value: Any) -> str:
    """A `ds` as the API reads it: the ISO date for dates, RFC 3339 in UTC for datetimes
    (naive ones are taken as UTC), the integer for integers (Unix seconds)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.isoformat().replace("+00:00", "Z")


def _stamps(col: pd.Series) -> pd.Series:
    """`_stamp` of a whole column, vectorised for datetime columns."""
    if pd.api.types.is_datetime64_any_dtype(col):
        ts = pd.to_datetime(col)
        ts = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")
        return ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return col.map(_stamp)


class Client:
    """A client of one Horizon API.

    `base_url` is where the API listens (``http://127.0.0.1:8080``), `api_key` a key from
    ``horizon keys create`` (scopes: ``read`` to read, ``write`` to upload and forecast).
    Every error of the API raises :class:`HorizonError`.
    """

    def __init__(self, base_url: str, api_key: str, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    # --- HTTP ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        params: Optional[Dict[str, Any]] = None,
        body: Any = None,
        data: Optional[bytes] = None,
        content_type: Optional[str] = None,
    ) -> Any:
        """Sends one request; returns the parsed JSON answer (None when empty). `body` is sent
        as JSON, `data` as raw bytes with `content_type`."""
        url = self.base_url + urllib.parse.quote(path, safe="/:{}")
        if params:
            query = {k: v for k, v in params.items() if v is not None}
            if query:
                url += "?" + urllib.parse.urlencode(query, doseq=True)
        headers = {"X-API-Key": self.api_key, "Accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(url, data=data, method=method.upper(), headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                text = resp.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                problem = json.loads(raw) if raw else {}
            except ValueError:
                problem = {"detail": raw.decode(errors="replace")[:500]}
            raise HorizonError(method.upper(), path, e.code, problem) from None
        return json.loads(text) if text else None

    def _pages(self, path: str, params: Dict[str, Any]) -> Iterable[Dict[str, Any]]:
        """Every item of a paged list."""
        cursor = None
        while True:
            page = self.request("GET", path, params={**params, "cursor": cursor})
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    # --- resources ----------------------------------------------------------------------

    def series(self, **filters: Any) -> List[Dict[str, Any]]:
        """Every series (filters: entity, metric, class, q), as the API's JSON objects."""
        return list(self._pages("/v1/series", {"limit": 500, **filters}))

    def put_series(self, key: str, **fields: Any) -> Dict[str, Any]:
        """Creates or replaces a series' metadata (entity and metric are required by the API;
        they default to the key and ``value`` here), e.g. ``thresholds=[{"value": 16}]``."""
        body = {"entity": key, "metric": "value", **fields}
        return self.request("PUT", f"/v1/series/{key}", body=body)

    def observations(self, key: str, start: Any = None, end: Any = None) -> pd.DataFrame:
        """The observations of series `key` (``ds`` from `start`, before `end`) as a frame
        ``unique_id, ds, y``."""
        params = {
            "from": None if start is None else _stamp(start),
            "to": None if end is None else _stamp(end),
            "limit": 10000,
        }
        rows = [
            (key, o["ts"], o["value"])
            for o in self._pages(f"/v1/series/{key}/observations", params)
        ]
        df = pd.DataFrame(rows, columns=["unique_id", "ds", "y"])
        df["ds"] = pd.to_datetime(df["ds"], utc=True)
        return df

    def upload(
        self,
        df: pd.DataFrame,
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
    ) -> Dict[str, Any]:
        """Uploads the observations of `df` (long format: one row per series and time) through
        ``POST /v1/observations:import``. Rows whose value is missing are left out (the API
        stores no NaN). Returns the import's answer: ``rows_read``, ``rows_landed`` (new
        records; the same frame sent twice lands nothing the second time),
        ``rows_rejected`` and ``rejections`` (line and reason), ``series_created``."""
        missing = [c for c in (id_col, time_col, target_col) if c not in df.columns]
        if missing:
            raise ValueError(f"the frame has no column {missing[0]!r} (columns: {list(df.columns)})")
        rows = df[[id_col, time_col, target_col]].dropna(subset=[target_col])
        rows = pd.DataFrame(
            {
                "unique_id": rows[id_col].astype(str),
                "ds": _stamps(rows[time_col]),
                "y": rows[target_col].astype(float),
            }
        )
        out = io.StringIO()
        rows.to_csv(out, index=False)
        return self.request(
            "POST",
            "/v1/observations:import",
            data=out.getvalue().encode(),
            content_type="text/csv",
        )

    def upload_covariates(
        self,
        df: pd.DataFrame,
        issued_at: Any = None,
        id_col: str = "unique_id",
        time_col: str = "ds",
    ) -> Dict[str, int]:
        """Uploads covariates in the long format ``unique_id, ds, <one column per covariate>``
        (``unique_id`` is the target series, e.g. the plant; each column becomes its covariate
        ``<unique_id>:<column>``). With `issued_at` the rows are one vintage — a forecast of
        the covariate issued then (a weather forecast); without, they are observations of it.
        Rows with a missing value are left out. The target series must exist (upload its
        observations first). Returns the values written per covariate key; a vintage already
        stored with other values raises :class:`HorizonError` (409) and writes nothing of that
        covariate."""
        if id_col not in df.columns or time_col not in df.columns:
            raise ValueError(f"the frame needs {id_col!r} and {time_col!r} (columns: {list(df.columns)})")
        names = [c for c in df.columns if c not in (id_col, time_col)]
        if not names:
            raise ValueError("the frame has no covariate column beside the id and the time")
        written: Dict[str, int] = {}
        stamps = _stamps(df[time_col])
        for uid, rows in df.assign(**{"__ts": stamps}).groupby(id_col, sort=False):
            for name in names:
                part = rows[["__ts", name]].dropna(subset=[name])
                values = [{"ts": ts, "value": float(v)} for ts, v in part.itertuples(index=False)]
                for start in range(0, len(values), 10_000):
                    body: Dict[str, Any] = {"values": values[start:start + 10_000]}
                    if issued_at is not None:
                        body["issued_at"] = _stamp(issued_at)
                    out = self.request("PUT", f"/v1/series/{uid}/covariates/{name}/values", body=body)
                    written[out["key"]] = written.get(out["key"], 0) + int(out["written"])
        return written

    def covariates(self, key: str) -> List[Dict[str, Any]]:
        """The covariates of series `key`: name, key, role, observations and the latest
        vintage (``issued_at``, ``first``, ``last``, ``values``)."""
        return self.request("GET", f"/v1/series/{key}/covariates")["items"]

    def wait(self, execution_id: str, timeout: float = 300.0, poll: float = 0.2) -> Dict[str, Any]:
        """Waits for an execution to finish; returns it. Raises :class:`HorizonError` (status
        0) when it failed, ``TimeoutError`` when it is still running after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            ex = self.request("GET", f"/v1/executions/{execution_id}")
            if ex["status"] == "succeeded":
                return ex
            if ex["status"] == "failed":
                raise HorizonError(
                    "GET", f"/v1/executions/{execution_id}", 0,
                    {"detail": f"the execution failed: {ex.get('error')}"},
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_id} is still {ex['status']} after {timeout} s")
            time.sleep(poll)
            poll = min(poll * 1.5, 2.0)

    def forecast(
        self,
        df: pd.DataFrame,
        h: int,
        levels: Sequence[float] = (80, 95),
        quantiles: Optional[Sequence[float]] = None,
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
        timeout: float = 300.0,
    ) -> pd.DataFrame:
        """Uploads `df`, forecasts each of its series `h` steps ahead with the engine's ensemble
        (an ad-hoc ``predict`` job; the scheduled forecasts stay as they are) and returns the
        forecasts as one frame: ``unique_id, ds, mean, lo-<l>, hi-<l>`` for each of `levels`
        and ``q-<q>`` for each of `quantiles`."""
        self.upload(df, id_col, time_col, target_col)
        keys = [str(k) for k in pd.unique(df[id_col])]
        grid = _grid(levels, quantiles)
        accepted = self.request(
            "POST", "/v1/predict", body={"series": keys, "horizon": int(h), "quantiles": grid}
        )
        ex_id = accepted["execution_id"]
        self.wait(ex_id, timeout=timeout)
        items = list(self._pages("/v1/forecasts", {"execution": ex_id, "limit": 500}))
        order = {k: i for i, k in enumerate(keys)}
        items.sort(key=lambda f: order.get(f["series_key"], len(order)))
        return _frame(items, levels, quantiles)

    def forecasts(
        self,
        series: Any,
        kind: str = "scheduled",
        levels: Sequence[float] = (80, 95),
        quantiles: Optional[Sequence[float]] = None,
    ) -> pd.DataFrame:
        """The latest forecast of each of `series` (a key or a list of keys) of `kind`
        (``scheduled``, ``adhoc`` or ``any``) as one frame like :meth:`forecast`'s. A level
        or quantile the stored forecast does not carry raises ``ValueError`` naming it."""
        keys = [series] if isinstance(series, str) else list(series)
        items = [
            self.request("GET", f"/v1/series/{k}/forecasts/latest", params={"kind": kind})
            for k in keys
        ]
        return _frame(items, levels, quantiles)


def _grid(levels: Sequence[float], quantiles: Optional[Sequence[float]]) -> List[float]:
    """The quantile levels a forecast needs for `levels` (both ends of each) and `quantiles`."""
    grid = set(round(q, 10) for q in (quantiles or []))
    for level in levels:
        if not 0 < level < 100:
            raise ValueError(f"interval level {level!r} is not in (0, 100)")
        grid.add(round((1 - level / 100) / 2, 10))
        grid.add(round((1 + level / 100) / 2, 10))
    grid.add(0.5)
    return sorted(grid)


def _frame(
    forecasts: List[Dict[str, Any]],
    levels: Sequence[float],
    quantiles: Optional[Sequence[float]],
) -> pd.DataFrame:
    columns = ["unique_id", "ds", "mean"]
    for level in levels:
        columns += [f"lo-{_level_name(level)}", f"hi-{_level_name(level)}"]
    columns += [f"q-{_level_name(q)}" for q in (quantiles or [])]
    rows = []
    for f in forecasts:
        have = {round(q, 10): i for i, q in enumerate(f["quantile_levels"])}

        def at(q: float) -> int:
            i = have.get(round(q, 10))
            if i is None:
                raise ValueError(
                    f"the forecast of {f['series_key']} has no quantile {q:g} "
                    f"(it has {f['quantile_levels']})"
                )
            return i

        picks = []
        for level in levels:
            picks += [at((1 - level / 100) / 2), at((1 + level / 100) / 2)]
        picks += [at(q) for q in (quantiles or [])]
        for step in f["steps"]:
            qs = step["quantiles"]
            rows.append([f["series_key"], step["target_at"], step["mean"]] + [qs[i] for i in picks])
    df = pd.DataFrame(rows, columns=columns)
    df["ds"] = pd.to_datetime(df["ds"], utc=True)
    return df
