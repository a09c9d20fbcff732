"""Result frames with the same dtypes whether or not anything matched.

``pd.DataFrame([])`` or a frame built from empty lists gets ``float64`` or ``object`` columns, so code
that works on a non-empty result (``runs.id.str[:8]``, ``runs.start.dt.date``) fails only when nothing
matched. Every query that returns a frame declares its columns' dtypes here and builds its empty
result from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when a frame is built: the store is imported by processes that only log
    import pandas as pd

__all__ = ["TEXT", "TIME", "typed_empty", "RUNS", "METRICS", "VERSIONS", "TESTUSE", "HISTORY", "TRIED"]

TEXT = "str"  # pandas' string dtype (Arrow-backed where pyarrow is installed), as non-empty results have
TIME = "datetime64[ns, UTC]"

RUNS = {"id": TEXT, "project": TEXT, "name": TEXT, "status": TEXT, "user": TEXT, "host": TEXT,
        "git_commit": TEXT, "git_dirty": "bool", "start": TIME, "duration": "float64"}
METRICS = {"run_id": TEXT, "run_name": TEXT, "name": TEXT, "value": "float64", "time": TIME,
           "seq": "int64"}
VERSIONS = {"project": TEXT, "version": "int64", "role": TEXT, "rows": "int64", "columns": "int64",
            "user": TEXT, "run_id": TEXT, "content_hash": TEXT, "created": TIME, "registered": TIME,
            "registered_by": TEXT}
TESTUSE = {"dataset": TEXT, "version": "int64", "project": TEXT, "evaluations": "int64", "people": "int64",
           "first": TIME, "last": TIME, "budget": "int64", "over_budget": "bool"}
HISTORY = {"transformation": TEXT, "runs": "int64", "people": "int64", "users": "object",
           "versions": "object", "first": TIME, "last": TIME}
TRIED = {"run_id": TEXT, "run_name": TEXT, "status": TEXT, "user": TEXT, "start": TIME, "version": TEXT,
         "model": "object", "model_params": "object", "model_from": TEXT, "model_artifact": TEXT}


def typed_empty(columns: Mapping[str, str]) -> pd.DataFrame:
    """An empty frame with these columns and dtypes."""
    import pandas as pd

    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in columns.items()})
