"""Context questions: profiling speed, and each question on a large generated store.

* Profiling 1,000,000 rows x 20 columns (numeric, integer, categorical, boolean, datetime) with
  ``mlcontext.tracking.profile.profile``, beside ``DataFrame.describe()`` in the same run (target <= 1 s).
* A SQLite store with 10,000 runs (20 people) and 100,000 artifacts, written with bulk inserts into the
  store's tables: 5 base datasets with 40 versions each, every run reads one base version (train) and a
  test version, derives a cleaned dataset (a lineage edge explained by one of 12 real lineage logs),
  trains a model on it (run edge), writes 7 more arrays; every 10th run reads an older run's cleaned
  data and derives from it (chains). Two versions of ``trips`` hold real data (200,000 rows) for the diff.
  Built once, cached in ``bench/.work/`` keyed by the schema revision. Each question: median of 5
  (the first call, with cold caches, shown separately), target <= 300 ms.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import mlcontext as mc
from mlcontext.fingerprint import hash_frame
from mlcontext.lineage import dumps
from mlcontext.store import Store
from mlcontext.store import schema as t
from mlcontext.store.migrate import head_revision
from mlcontext.tracking.profile import profile

WORK = Path(__file__).parent / ".work"
RUNS, ARTIFACTS, USERS = 10_000, 100_000, 20
BASES, BASE_VERSIONS = ("trips", "weather", "events", "fares", "zones"), 40
PER_RUN = ARTIFACTS // RUNS  # model, cleaned dataset, its lineage log, 7 arrays
GENERATOR = "v1"


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {}
    for i in range(8):
        cols[f"f{i}"] = rng.normal(i, 1 + i / 10, n)
    for i in range(4):
        cols[f"i{i}"] = rng.integers(0, 10 ** (i + 1), n)
    for i in range(4):
        cols[f"c{i}"] = pd.Categorical(rng.choice([f"v{j}" for j in range(3 + 5 * i)], n)).astype(str)
    cols["b0"], cols["b1"] = rng.random(n) < 0.3, rng.random(n) < 0.7
    cols["t0"] = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 86400 * 365, n), unit="s")
    cols["f_nan"] = np.where(rng.random(n) < 0.1, np.nan, rng.exponential(5, n))
    return pd.DataFrame(cols)


def _timed(fn: Callable[[], object], repeat: int = 5) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times[0], statistics.median(times)


def bench_profile() -> None:
    frame = _frame(1_000_000, 0)
    assert frame.shape == (1_000_000, 20)
    _, ours = _timed(lambda: profile(frame), 3)
    _, base = _timed(lambda: frame.describe(), 3)
    print(f"profile 1,000,000 x 20: {ours * 1000:.0f} ms (target <= 1000 ms); DataFrame.describe() "
          f"{base * 1000:.0f} ms (numeric columns only); ratio {ours / base:.2f}x")


def _hex() -> str:
    return uuid.uuid4().hex


def _logs(store: Store) -> list[str]:
    """Hashes of real lineage logs (cleaning variants people wrote), stored in the artifact store."""
    raw = pd.DataFrame({"duration": [5.0, -1.0, 7.0], "fare": [1.0, 2.0, np.nan], "zone": [1, 2, 1]})
    zones = pd.DataFrame({"zone": [1, 2], "borough": ["M", "Q"]})
    hashes = []
    for i in range(12):
        x = mc.frame(raw, name="trips")
        x = x[x.duration >= i % 3]
        if i % 2:
            x = x.dropna()
        if i % 4 == 3:
            x = x.merge(mc.frame(zones, name="zones"), on="zone")
        if i >= 6:
            x = x.assign(speed=x.fare / (x.duration + 1))
        hashes.append(store.artifacts.put(dumps(x).encode()))
    return hashes


def _open(path: Path) -> Store:
    db = path / "mlcontext.db"
    return Store.open(metadata_url=f"sqlite:///{db}", artifacts_url=str(path / "artifacts"))


def build(path: Path) -> None:
    rng = np.random.default_rng(42)
    store = _open(path)
    meta, now = store.metadata, time.time() - 86400 * 365
    logs = _logs(store)
    small_profile = profile(_frame(1000, 1)).to_dict()
    with meta.write() as conn:
        project = meta.project_id(conn, "taxi")
    artifacts: list[dict] = []
    run_artifacts: list[dict] = []
    versions: list[dict] = []
    accesses: list[dict] = []
    edges: list[dict] = []

    def artifact(digest: str, kind: str, created: float, meta_: dict | None = None, size: int = 1000) -> str:
        artifacts.append(dict(hash=digest, size=size, kind=kind, created_at=created, meta=meta_ or {}))
        return digest

    # base datasets: 40 versions each; trips@1 and trips@2 hold real data
    version_ids: dict[tuple[str, int], tuple[int, str]] = {}
    dataset_ids = {}
    real = {1: _frame(200_000, 11), 2: _frame(200_000, 12).assign(f0=lambda f: f.f0 + 0.3)}
    next_version_id = 1
    with meta.write() as conn:
        for name in (*BASES, "trips-test", *(f"clean-{u}" for u in range(USERS))):
            conn.execute(t.Dataset.__table__.insert().values(project_id=project, name=name, created_at=now))
        for d_id, name in conn.execute(t.Dataset.__table__.select().with_only_columns(t.Dataset.id,
                                                                                       t.Dataset.name)):
            dataset_ids[name] = d_id
    for name in (*BASES, "trips-test"):
        for number in range(1, (BASE_VERSIONS if name != "trips-test" else 5) + 1):
            created = now + number * 3600
            if name == "trips" and number in real:
                data = real[number]
                digest = store.artifacts.put(pickle.dumps(data, protocol=5))
                content, prof, rows = hash_frame(data), profile(data).to_dict(), len(data)
            else:
                digest, content, prof, rows = _hex(), _hex(), small_profile, 1000
            artifact(digest, "frame", created)
            versions.append(dict(id=next_version_id, dataset_id=dataset_ids[name], version=number,
                                 content_hash=content, artifact_hash=digest,
                                 role="test" if name == "trips-test" else "train", rows=rows, profile=prof,
                                 run_id=None, user=f"user{number % USERS}", created_at=created))
            version_ids[(name, number)] = (next_version_id, digest)
            next_version_id += 1

    runs, params, metrics = [], [], []
    cleaned: list[tuple[str, str]] = []  # (run id, cleaned hash)
    clean_versions: dict[str, int] = {}
    for i in range(RUNS):
        run_id, user, started = _hex(), f"user{i % USERS}", now + 3600 * 50 + i * 60
        runs.append(dict(id=run_id, project_id=project, name=f"train-{i % 7}", status="finished",
                         user=user, host="bench", pid=1, started_at=started, ended_at=started + 30,
                         heartbeat_at=started + 30, entry_point="train.py", argv=["train.py"], cwd="/w",
                         python="3.12", git_commit=f"{i // 100:040x}", git_branch="main", git_dirty=False,
                         code_hash=None, environment={}, durability="buffered", error_type=None,
                         error_message=None, traceback=None))
        alpha = float(rng.choice([0.01, 0.1, 1.0, 10.0]))
        for name, value, type_ in (("alpha", alpha, "float"), ("depth", int(i % 9), "int"),
                                   ("estimator", ["ridge", "tree", "forest"][i % 3], "str")):
            params.append(dict(run_id=run_id, name=name, value=json.dumps(value), type=type_,
                               overridden=False))
        metrics.append(dict(run_id=run_id, name="r2", value=float(rng.random()), seq=0, time=started + 20))
        base = BASES[i % len(BASES)]
        vid, vhash = version_ids[(base, 1 + (i // len(BASES)) % BASE_VERSIONS)]
        tid, thash = version_ids[("trips-test", 1 + i % 5)]
        accesses += [dict(run_id=run_id, artifact_hash=vhash, version_id=vid, role="train", user=user,
                          time=started + 1),
                     dict(run_id=run_id, artifact_hash=thash, version_id=tid, role="test", user=user,
                          time=started + 25)]
        sources = [vhash]
        if i % 10 == 9 and cleaned:  # builds on someone's earlier cleaned data
            older_run, older = cleaned[int(rng.integers(max(0, len(cleaned) - 200), len(cleaned)))]
            accesses.append(dict(run_id=run_id, artifact_hash=older, version_id=None, role="train",
                                 user=user, time=started + 2))
            sources.append(older)
        log = logs[i % len(logs)]
        clean_hash = artifact(_hex(), "frame", started + 5)
        log_hash = artifact(_hex(), "lineage", started + 5, {"of": clean_hash})
        edges += [dict(src_hash=s, dst_hash=clean_hash, run_id=run_id, kind="lineage", log_hash=log,
                       time=started + 5) for s in sources]
        clean_name = f"clean-{i % USERS}"
        clean_versions[clean_name] = clean_versions.get(clean_name, 0) + 1
        versions.append(dict(id=next_version_id, dataset_id=dataset_ids[clean_name],
                             version=clean_versions[clean_name], content_hash=_hex(),
                             artifact_hash=clean_hash,
                             role="train", rows=900, profile=small_profile, run_id=run_id, user=user,
                             created_at=started + 5))
        next_version_id += 1
        model = artifact(_hex(), "pickle", started + 20,
                         {"model_class": ["sklearn.linear_model.Ridge", "sklearn.tree.DecisionTreeRegressor",
                                          "sklearn.ensemble.RandomForestRegressor"][i % 3],
                          "params": {"alpha": alpha, "max_depth": i % 9}})
        edges += [dict(src_hash=s, dst_hash=model, run_id=run_id, kind="run", log_hash=None,
                       time=started + 20) for s in (*sources, thash)]
        outputs = [(clean_hash, "trips-clean"), (log_hash, "trips-clean.lineage"), (model, "model")]
        outputs += [(artifact(_hex(), "array", started + 21), f"pred{k}") for k in range(PER_RUN - 3)]
        run_artifacts += [dict(run_id=run_id, artifact_hash=h, name=n, direction="output", time=started + 21)
                          for h, n in outputs]
        cleaned.append((run_id, clean_hash))

    chunk = 20_000
    with meta.write() as conn:
        for table, rows in ((t.Run, runs), (t.Param, params), (t.LatestMetric, metrics),
                            (t.Artifact, artifacts), (t.DatasetVersion, versions),
                            (t.RunArtifact, run_artifacts),
                            (t.Access, accesses), (t.Edge, edges)):
            for start in range(0, len(rows), chunk):
                conn.execute(table.__table__.insert(), rows[start:start + chunk])
    with meta.write() as conn:
        conn.exec_driver_sql("ANALYZE")
    print(f"built: {len(runs)} runs, {len(artifacts)} artifacts, {len(versions)} dataset versions, "
          f"{len(accesses)} reads, {len(edges)} edges")
    store.close()


def open_store() -> tuple[Store, dict]:
    path = WORK / f"context-{head_revision()}-{GENERATOR}"
    if not (path / "done.json").exists():
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        start = time.perf_counter()
        build(path)
        (path / "done.json").write_text(json.dumps({"seconds": time.perf_counter() - start}))
    store = _open(path)
    return store, json.loads((path / "done.json").read_text())


def bench_questions() -> None:
    store, info = open_store()
    print(f"store: {path_size(store)}; built in {info['seconds']:.1f} s (cached)")
    with store.metadata.read() as conn:
        a_run = conn.execute(t.RunArtifact.__table__.select().with_only_columns(t.RunArtifact.run_id)
                             .where(t.RunArtifact.name == "model").order_by(t.RunArtifact.id.desc())
                             .limit(1)).scalar()
    mc.set_store(store)
    questions: dict[str, Callable[[], object]] = {
        "derivation RUN:model": lambda: mc.derivation(f"{a_run}:model"),
        "consumers trips@1": lambda: mc.consumers("trips@1"),
        "history trips": lambda: mc.history("trips"),
        "tried trips r2": lambda: mc.tried(dataset="trips", metric="r2"),
        "testuse": lambda: mc.testuse(),
        "find alpha>=1 r2>0.5 trips@2 user3": lambda: mc.find(params=["alpha>=1"], metrics=["r2>0.5"],
                                                               data="trips@2", user="user3"),
        "find alpha>=1 (100 newest)": lambda: mc.find(params=["alpha>=1"]),
        "versions trips": lambda: mc.versions("trips"),
        "diff trips@1 trips@2 (200k rows)": lambda: mc.diff("trips@1", "trips@2"),
    }
    try:
        for name, fn in questions.items():
            first, median = _timed(fn)
            flag = "ok" if median <= 0.3 else "MISSES 300 ms"
            print(f"{name:40s} median {median * 1000:7.1f} ms  first {first * 1000:7.1f} ms  {flag}")
    finally:
        mc.set_store(None)
        store.close()


def path_size(store: Store) -> str:
    url = store.metadata.url if hasattr(store.metadata, "url") else ""
    db = str(url).removeprefix("sqlite:///")
    return f"{os.path.getsize(db) / 1e6:.0f} MB SQLite" if db and os.path.exists(db) else "SQLite"


def main() -> None:
    bench_profile()
    bench_questions()


if __name__ == "__main__":
    main()
