"""Test data for traced pandas: small taxi-like frames with every common dtype."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_trips(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """Taxi-like trips: canceled ones have duration -1, some fares and payment types missing."""
    rng = np.random.default_rng(seed)
    pickup = pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 7 * 24 * 3600, n), unit="s")
    duration = rng.integers(60, 3600, n).astype(float)
    duration[rng.random(n) < 0.15] = -1.0
    fare = np.round(rng.gamma(2.0, 8.0, n), 2)
    fare[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({
        "trip_id": np.arange(n),
        "pickup": pickup,
        "duration": duration,
        "distance": np.round(rng.gamma(2.0, 1.5, n), 3),
        "fare": fare,
        "passengers": rng.integers(1, 5, n),
        "zone": rng.integers(1, 6, n),
        "payment": pd.Series(rng.choice(["card", "cash", "Card ", None], n), dtype="str"),
        "vendor": pd.Categorical(rng.choice(["A", "B"], n)),
    })


def make_zones() -> pd.DataFrame:
    return pd.DataFrame({"zone": [1, 2, 3, 4, 5],
                         "borough": ["Manhattan", "Queens", "Brooklyn", "Bronx", "Manhattan"],
                         "name": ["Midtown", "Astoria", "Park Slope", "Mott Haven", "SoHo"]})
