"""Python client of the Horizon forecasting API.

    >>> from horizon_client import Client
    >>> client = Client("http://127.0.0.1:8080", api_key="hzn_...")
    >>> client.upload(df)                       # df: unique_id, ds, y
    >>> fc = client.forecast(df, h=14, levels=[80, 95], quantiles=[0.1, 0.5, 0.9])
    >>> fc.columns                              # unique_id, ds, mean, lo-80, hi-80, ..., q-0.1, ...

The frames follow the convention of the forecasting ecosystem (and of ``horizon forecast``):
long format with ``unique_id``, ``ds`` and ``y`` in, ``unique_id``, ``ds``, ``mean``,
``lo-<level>``, ``hi-<level>`` and ``q-<quantile>`` out.
"""

from ._client import Client, HorizonError
from ._spec import OPERATIONS, check_against

__all__ = ["Client", "HorizonError", "OPERATIONS", "check_against"]
__version__ = "0.1.0"
