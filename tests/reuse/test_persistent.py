"""The persistent tier on a store (SQLite and PostgreSQL): another process reuses entries; corrupted
entries are detected, discarded and recomputed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np

import mlcontext as mc
from mlcontext.reuse import get_cache
from mlcontext.tracking.persistent_cache import StoreTier, cache_summary

XN = np.random.default_rng(4).normal(size=(400, 20))

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import mlcontext as mc
    from mlcontext.store import Store
    from mlcontext.tracking.persistent_cache import StoreTier

    store = Store.open(metadata_url=sys.argv[1], artifacts_url=sys.argv[2])
    mc.reuse(persist=True, tier=StoreTier(store), min_compute_s=0.0, persist_min_s=0.0,
             disk_bytes_per_s=1e18, eager_s_per_byte=0.0)

    @mc.step(name="tests.features")
    def features(X):
        return np.tanh(X) @ np.tanh(X).T

    X = mc.array(np.random.default_rng(4).normal(size=(400, 20)))
    with mc.reuse_events() as events:
        g = X.T @ X
        f = features(X)
    s = mc.reuse_stats()
    print(json.dumps({"persistent_hits": s.persistent_hits, "step_hits": s.step_hits,
                      "corrupted": s.corrupted,
                      "computed": [e.name for e in events if e.kind.endswith("computed")],
                      "g": np.asarray(g).tolist()[0][:3], "f": float(np.asarray(f).sum())}))
""")


@mc.step(name="tests.features")
def features(X):
    return np.tanh(X) @ np.tanh(X).T


def _persist(store):
    return mc.reuse(persist=True, tier=StoreTier(store), min_compute_s=0.0, persist_min_s=0.0,
                    disk_bytes_per_s=1e18)


def test_another_process_reuses_persisted_entries(store, tmp_path) -> None:
    with _persist(store):
        X = mc.array(XN)
        g = X.T @ X
        f = features(X)
        assert mc.reuse_stats().persistent_writes >= 2
    out = subprocess.run([sys.executable, "-c", SCRIPT, store.metadata.url, str(tmp_path / "artifacts")],
                         capture_output=True, text=True, check=True, timeout=60)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["persistent_hits"] >= 1 and got["step_hits"] == 1
    assert "tests.features" not in got["computed"] and "numpy.matmul" not in got["computed"]
    assert got["g"] == np.asarray(g)[0, :3].tolist()
    assert got["f"] == float(np.asarray(f).sum())
    summary = cache_summary(store)
    assert summary.entries >= 2 and summary.hits >= 1 and summary.saved_s > 0


def test_corrupted_entries_are_discarded_and_recomputed(store) -> None:
    with _persist(store):
        X = mc.array(XN)
        expect = np.asarray(X.T @ X).copy()
        (digest,) = {store.artifacts.path(d) for d in store.artifacts}
        with store.artifacts.fs.open(digest, "rb") as fh:
            data = bytearray(fh.read())
        data[len(data) // 2] ^= 0xFF
        with store.artifacts.fs.open(digest, "wb") as fh:
            fh.write(bytes(data))
        mc.reuse_clear()  # memory empty: the next probe goes to the persistent tier
        get_cache().refresh_tier()
        with mc.reuse_events() as events:
            again = X.T @ X
        assert mc.reuse_stats().corrupted == 1
        assert [e.kind for e in events if e.name == "numpy.matmul"] == ["computed"]
        assert np.array_equal(np.asarray(again), expect)


def _damage(store, digest: str) -> None:
    path = store.artifacts.path(digest)
    with store.artifacts.fs.open(path, "rb") as fh:
        data = bytearray(fh.read())
    data[len(data) // 2] ^= 0xFF
    with store.artifacts.fs.open(path, "wb") as fh:
        fh.write(bytes(data))


def test_a_damaged_entry_is_removed_for_every_process_and_repaired_by_the_next_put(store, tmp_path) -> None:
    """Issue 13 item 7: a damaged entry was found again by every new process, and persisting the same
    value again kept the damaged bytes (the artifact store only checked that the file existed). Peers:
    joblib/joblib#490 (parallel calls leave corrupted cache entries that later loads trip over),
    joblib/joblib#287 (a damaged compressed entry raises on every later call)."""
    from mlcontext.store import cache_index as index

    tier = StoreTier(store)
    with mc.reuse(persist=True, tier=tier, min_compute_s=0.0, persist_min_s=0.0, disk_bytes_per_s=1e18,
                  eager_s_per_byte=0.0):
        X = mc.array(XN)
        X.T @ X
        features(X)
    for digest in store.artifacts:
        _damage(store, digest)
    keys = index.all_keys(store.metadata)  # X.T @ X, the step, and operations inside the step
    artifact = {k: index.get_entries(store.metadata, k, [tier.key.public])[0].artifact_hash for k in keys}
    # A reader that does not persist: each damaged entry is found once, then gone from the index.
    with mc.reuse(persist=False, tier=StoreTier(store), min_compute_s=0.0):
        mc.reuse_clear()
        get_cache().refresh_tier()
        X.T @ X
        features(X)
        found = mc.reuse_stats().corrupted
    gone = keys - index.all_keys(store.metadata)
    assert found >= 2 and len(gone) == found
    run = [sys.executable, "-c", SCRIPT, store.metadata.url, str(tmp_path / "artifacts")]
    first = json.loads(subprocess.run(run, capture_output=True, text=True, check=True,
                                      timeout=120).stdout.strip().splitlines()[-1])
    assert first["corrupted"] == 0 and first["persistent_hits"] == 0  # not found again: recomputed
    assert all(store.artifacts.verify(artifact[k]) for k in gone)  # ... and its put rewrote the bytes
    second = json.loads(subprocess.run(run, capture_output=True, text=True, check=True,
                                       timeout=120).stdout.strip().splitlines()[-1])
    assert second["corrupted"] == 0 and second["persistent_hits"] >= 1 and second["step_hits"] == 1
    assert (second["g"], second["f"]) == (first["g"], first["f"])


def test_cache_command_shows_and_clears(store) -> None:
    from click.testing import CliRunner

    from mlcontext.cli import cli

    with _persist(store):
        X = mc.array(XN)
        X.T @ X
    runner = CliRunner()
    result = runner.invoke(cli, ["cache", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["entries"] == 1
    result = runner.invoke(cli, ["cache", "--clear"])
    assert result.exit_code == 0 and "deleted 1" in result.output
    assert cache_summary(store).entries == 0
