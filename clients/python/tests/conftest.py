"""The tests talk to a real Horizon API: `HORIZON_URL` and `HORIZON_API_KEY` (a write key)
name it. `tests/python_client.sh` at the repository root starts one and runs them."""

import json
import os
import urllib.request

import pytest

from horizon_client import Client


@pytest.fixture(scope="session")
def url() -> str:
    value = os.environ.get("HORIZON_URL")
    if not value:
        pytest.fail("HORIZON_URL is not set: run tests/python_client.sh, which starts a server")
    return value


@pytest.fixture(scope="session")
def client(url) -> Client:
    key = os.environ.get("HORIZON_API_KEY")
    if not key:
        pytest.fail("HORIZON_API_KEY is not set")
    return Client(url, key)


@pytest.fixture(scope="session")
def openapi(url) -> dict:
    with urllib.request.urlopen(url + "/openapi.json") as resp:
        return json.load(resp)
