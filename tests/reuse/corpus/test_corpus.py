"""The reuse-correctness corpus (issue 10): every program gives the same result with reuse off, on
with a cold cache, on with a warm cache in the same process, and in a second process that finds the
first one's entries in the persistent tier."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_programs import PROGRAMS
from corpus_runner import run

import mlcontext as mc
from mlcontext.store import Store
from mlcontext.tracking.persistent_cache import StoreTier

HERE = Path(__file__).parent
_EXPECTED: dict[str, object] = {}

# Everything cached at once, whatever it cost: the most reuse the cache can do.
EAGER = {"min_compute_s": 0.0, "eager_s_per_byte": 0.0}


def expected(name: str) -> object:
    """The program's result with reuse off (tracing only), computed once per session."""
    if name not in _EXPECTED:
        mc.reuse_clear()
        with mc.reuse("none"):
            _EXPECTED[name] = run(name, PROGRAMS[name])
    return _EXPECTED[name]


def test_the_corpus_has_at_least_40_programs() -> None:
    assert len(PROGRAMS) >= 40


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_reuse_on_cold_and_warm_gives_the_result_without_reuse(name: str) -> None:
    want = expected(name)
    mc.reuse_clear()
    with mc.reuse("hybrid", **EAGER):
        cold = run(name, PROGRAMS[name])
        before = mc.reuse_stats()
        warm = run(name, PROGRAMS[name])  # the same program again: fresh functions, warm cache
        after = mc.reuse_stats()
    assert cold == want
    assert warm == want
    if name.startswith("same_"):  # the comparison is not vacuous: the warm run was served
        assert after.hits + after.step_hits > before.hits + before.step_hits


@pytest.mark.parametrize("policy", ["full", "partial", "multilevel"])
def test_every_policy_gives_the_result_without_reuse(policy: str) -> None:
    for name, source in sorted(PROGRAMS.items()):
        mc.reuse_clear()
        with mc.reuse(policy, **EAGER):
            assert run(name, source) == expected(name), name
            assert run(name, source) == expected(name), name


@pytest.mark.slow
def test_a_second_process_with_the_persistent_tier_gives_the_same_results(tmp_path) -> None:
    metadata_url, artifacts_url = f"sqlite:///{tmp_path / 'meta.db'}", str(tmp_path / "artifacts")
    store = Store.open(metadata_url=metadata_url, artifacts_url=artifacts_url)
    mc.reuse_clear()
    with mc.reuse("hybrid", persist=True, tier=StoreTier(store), persist_min_s=0.0,
                  disk_bytes_per_s=1e18, **EAGER):
        for name, source in PROGRAMS.items():
            assert run(name, source) == expected(name), name
        assert mc.reuse_stats().persistent_writes > 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    out = subprocess.run([sys.executable, str(HERE / "corpus_runner.py"), metadata_url, artifacts_url],
                         capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    for name in PROGRAMS:
        assert got["results"][name] == expected(name), name
    assert got["persistent_hits"] > 0  # the second process did read the first one's entries
