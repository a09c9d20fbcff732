"""The oldest dependency versions pyproject.toml allows are the ones `make test` runs the suite on
(issue 10), and what made pandas 2 unsafe stays tested on every version the suite runs with."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

import mlcontext as mc

ROOT = Path(__file__).resolve().parents[1]


def _floors() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["sklearn"]
    floors = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?>=([0-9.]+)", requirement.replace(" ", ""))
        if match:
            floors[match.group(1).lower()] = match.group(2)
    return floors


def test_the_makefile_pins_exactly_the_floors_of_pyproject() -> None:
    line = re.search(r"^OLDEST := (.*)$", (ROOT / "Makefile").read_text(), flags=re.M).group(1)
    pins = dict(pin.split("==") for pin in line.split())
    assert set(pins) == {"numpy", "pandas", "scikit-learn", "pyarrow"}
    floors = _floors()

    def norm(version: str) -> tuple[int, ...]:  # 2.0 == 2.0.0
        parts = [int(p) for p in version.split(".")]
        while parts and parts[-1] == 0:
            parts.pop()
        return tuple(parts)

    for name, version in pins.items():
        assert norm(floors[name]) == norm(version), \
            f"{name}: Makefile pins {version}, pyproject's floor is {floors[name]}"


def test_installed_versions_are_at_least_the_floors() -> None:
    import pyarrow
    import sklearn

    installed = {"numpy": np.__version__, "pandas": pd.__version__, "scikit-learn": sklearn.__version__,
                 "pyarrow": pyarrow.__version__}
    floors = _floors()

    def key(version: str) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", version)[:3])

    for name, version in installed.items():
        assert key(version) >= key(floors[name]), f"{name} {version} is older than the floor {floors[name]}"


def test_a_traced_loc_write_never_writes_into_the_users_frame() -> None:
    """Under pandas 2 (without copy-on-write) a traced ``loc[...] = v`` wrote through into the frame
    the user passed in; the floor is pandas 3. Kept for every version the suite runs on."""
    raw = pd.DataFrame({"fare": [1.0, 2.0, 3.0], "tip": [0.1, 0.2, 0.3]})
    before = raw.copy()
    t = mc.frame(raw)
    t.loc[t["fare"] > 1.5, "tip"] = 0.0
    t.loc[:, "fare"] = -1.0
    t["tip"] = t["tip"] * 2
    pd.testing.assert_frame_equal(raw, before)
    assert list(np.asarray(t["fare"])) == [-1.0, -1.0, -1.0]
    assert list(np.asarray(t["tip"])) == [0.2, 0.0, 0.0]
