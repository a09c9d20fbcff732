"""Fixtures for traced pandas."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas_data import make_trips, make_zones


@pytest.fixture
def trips() -> pd.DataFrame:
    return make_trips()


@pytest.fixture
def zones() -> pd.DataFrame:
    return make_zones()
