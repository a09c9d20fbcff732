"""Values and comparisons as people read them: what the command line's tables and the answers' plain
text (``print(mc.diff(a, b))``) both write, so that a table and a ``print`` never say it differently."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["fmt", "the_same"]


def fmt(value: Any) -> str:
    """A short human rendering of a value: ``-`` for a missing one (``None``, ``NaN``, ``NaT``),
    floats to 6 significant digits with a whole float keeping its point (``1.0``), times to the
    second."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "-"
    if isinstance(value, float | np.floating) and math.isnan(value):
        # A missing value in a frame (a param one run did not set) is NaN: "-" like None, one
        # convention for every table (--json writes null for both).
        return "-"
    if isinstance(value, float | np.floating):
        text = f"{value:.6g}"
        # A whole float keeps its point: a learning rate of 1.0 is not the integer 1 (what the
        # script passed, and what --json says).
        return text + ".0" if text.lstrip("-").isdigit() else text
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def the_same(values: Mapping[str, object], at_most: int = 8) -> str:
    """``the same, lr=0.01, epochs=10``: what two runs share where nothing differs (``none recorded
    by either run`` when there is nothing), the first ``at_most`` by name."""
    if not values:
        return "none recorded by either run"
    names = sorted(values)
    shown = ", ".join(f"{name}={fmt(values[name])}" for name in names[:at_most])
    more = f" and {len(names) - at_most} more" if len(names) > at_most else ""
    return f"the same, {shown}{more}"
