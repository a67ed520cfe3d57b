"""The client against the real API."""

import numpy as np
import pandas as pd
import pytest

from horizon_client import Client, HorizonError, check_against


def weekly(keys, days=70, start="2026-01-01"):
    """Daily series with a weekly cycle and a level per key."""
    ds = pd.date_range(start, periods=days, freq="D")
    frames = []
    for i, key in enumerate(keys):
        t = np.arange(days)
        y = 20.0 + 10 * i + 6 * (t % 7) + (t * 7 % 3)
        frames.append(pd.DataFrame({"unique_id": key, "ds": ds, "y": y}))
    return pd.concat(frames, ignore_index=True)


def test_the_client_fits_the_served_openapi_document(openapi):
    assert check_against(openapi) == []
    # ... and the check can fail: a document without an operation the client calls.
    broken = {**openapi, "paths": {k: v for k, v in openapi["paths"].items() if k != "/v1/predict"}}
    assert check_against(broken) == ["POST /v1/predict is not in the document"]


def test_upload_counts_creates_and_deduplicates(client):
    df = weekly(["py-up-a", "py-up-b"], days=30)
    df.loc[3, "y"] = np.nan  # a missing value is left out, not rejected
    first = client.upload(df)
    assert (first["rows_read"], first["rows_landed"], first["rows_rejected"]) == (59, 59, 0)
    assert first["series_created"] == ["py-up-a", "py-up-b"]
    again = client.upload(df)
    assert (again["rows_landed"], again["series_created_count"]) == (0, 0)
    back = client.observations("py-up-a")
    assert list(back.columns) == ["unique_id", "ds", "y"]
    assert len(back) == 29
    expected = df[(df.unique_id == "py-up-a")].dropna()
    assert np.allclose(back["y"].to_numpy(), expected["y"].to_numpy())
    assert (back["ds"].dt.tz is not None) and back["ds"].iloc[0] == pd.Timestamp("2026-01-01", tz="UTC")


def test_upload_names_a_missing_column(client):
    with pytest.raises(ValueError, match="'y'"):
        client.upload(pd.DataFrame({"unique_id": ["a"], "ds": ["2026-01-01"], "value": [1.0]}))


def test_forecast_returns_the_cli_columns(client):
    df = weekly(["py-fc-a", "py-fc-b"])
    fc = client.forecast(df, h=7, levels=[80, 95], quantiles=[0.1, 0.5, 0.9])
    assert list(fc.columns) == [
        "unique_id", "ds", "mean", "lo-80", "hi-80", "lo-95", "hi-95", "q-0.1", "q-0.5", "q-0.9",
    ]
    assert list(fc["unique_id"]) == ["py-fc-a"] * 7 + ["py-fc-b"] * 7
    first = fc[fc.unique_id == "py-fc-a"]["ds"]
    assert first.iloc[0] == pd.Timestamp("2026-03-12", tz="UTC"), "the day after the last"
    assert first.diff().dropna().eq(pd.Timedelta(days=1)).all()
    assert (fc["lo-95"] <= fc["lo-80"]).all() and (fc["lo-80"] <= fc["hi-80"]).all()
    assert (fc["hi-80"] <= fc["hi-95"]).all()
    assert (fc["q-0.1"] <= fc["q-0.5"]).all() and (fc["q-0.5"] <= fc["q-0.9"]).all()
    # The 80% band is the 10% and 90% quantiles.
    assert np.allclose(fc["lo-80"], fc["q-0.1"]) and np.allclose(fc["hi-80"], fc["q-0.9"])
    # A weekly cycle of 20..56 around level 20 (a) and 30 (b): the forecast follows it.
    for key, base in [("py-fc-a", 20.0), ("py-fc-b", 30.0)]:
        mean = fc[fc.unique_id == key]["mean"].to_numpy()
        assert base - 5 < mean.min() and mean.max() < base + 45, (key, mean)
        assert mean.max() - mean.min() > 20, ("the weekly cycle is kept", key, mean)

    # The same forecast read back as the series' latest ad-hoc one; none is scheduled.
    back = client.forecasts(["py-fc-a", "py-fc-b"], kind="adhoc", quantiles=[0.1, 0.5, 0.9])
    pd.testing.assert_frame_equal(back, fc)
    with pytest.raises(HorizonError) as e:
        client.forecasts("py-fc-a")
    assert e.value.status == 404
    # A level the stored forecast does not carry is named.
    with pytest.raises(ValueError, match="0.25"):
        client.forecasts("py-fc-a", kind="adhoc", levels=[50])


def test_errors_carry_the_status_and_the_problem(url):
    bad = Client(url, "hzn_not-a-key")
    with pytest.raises(HorizonError) as e:
        bad.series()
    assert e.value.status == 401
    assert "401" in str(e.value) and e.value.problem.get("title")


def test_covariates_go_in_as_observations_or_one_vintage(client):
    client.upload(weekly(["py-plant"], days=10))
    ds = pd.date_range("2026-01-08", periods=6, freq="D")
    weather = pd.DataFrame({"unique_id": "py-plant", "ds": ds,
                            "ghi": [100.0, 200, np.nan, 400, 500, 600], "temp_air": 10.0})
    written = client.upload_covariates(weather, issued_at="2026-01-07T06:00:00Z")
    assert written == {"py-plant:ghi": 5, "py-plant:temp_air": 6}
    # The same vintage again changes nothing; other values for it are refused.
    assert client.upload_covariates(weather, issued_at="2026-01-07T06:00:00Z") == {
        "py-plant:ghi": 0, "py-plant:temp_air": 0}
    changed = weather.assign(ghi=weather["ghi"] + 1)
    with pytest.raises(HorizonError) as e:
        client.upload_covariates(changed[["unique_id", "ds", "ghi"]], issued_at="2026-01-07T06:00:00Z")
    assert e.value.status == 409
    observed = client.upload_covariates(weather[["unique_id", "ds", "temp_air"]].iloc[:2])
    assert observed == {"py-plant:temp_air": 2}
    covs = {c["name"]: c for c in client.covariates("py-plant")}
    assert set(covs) == {"ghi", "temp_air"}
    assert covs["ghi"]["latest_vintage"]["issued_at"] == "2026-01-07T06:00:00Z"
    assert covs["ghi"]["latest_vintage"]["values"] == 5
    assert covs["temp_air"]["observations"] == 2
    with pytest.raises(ValueError, match="no covariate column"):
        client.upload_covariates(weather[["unique_id", "ds"]])
