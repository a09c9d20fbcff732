"""What a run read and wrote, and how its outputs were derived: the edges the context questions walk.

An output with lineage (a traced array or frame) gets *lineage* edges from each data leaf it was
computed from (by content hash: an array, a frame, a file read), explained by its lineage log, which is
stored as an artifact. Every output also gets *run* edges from everything the run read before writing
it, the coarse derivation a tracker without lineage would know.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..errors import LineageError
from ..lineage import dumps
from ..lineage.item import walk
from ..lineage.log import roots_of
from ..store.context import ContextStore

__all__ = ["lineage_leaves", "plain_value", "record_output", "model_metadata"]


def _leaf_hash(item: Any) -> str | None:
    lit = item.literals
    if isinstance(lit, tuple) and len(lit) == 2 and lit[0] == "D":
        for key, node in lit[1]:
            if key == "hash" and isinstance(node, tuple) and node[0] == "s":
                return node[1]
    return None


def lineage_leaves(obj: Any) -> list[str] | None:
    """Content hashes of the data leaves ``obj`` was computed from; ``None`` if it has no lineage.

    A traced value that *is* a leaf (data handed in, not computed) has no derivation: ``[]``.
    """
    try:
        roots = roots_of(obj)
    except LineageError:
        return None
    if all(not r.inputs for r in roots):
        return []
    leaves = (_leaf_hash(i) for i in walk(roots) if not i.inputs)
    return list(dict.fromkeys(h for h in leaves if h is not None))


def plain_value(obj: Any) -> Any:
    """The untraced value of a traced array or frame; anything else as it is."""
    if hasattr(obj, "lineage") and hasattr(obj, "_value"):
        value = obj._value
        return np.asarray(value) if isinstance(value, np.ndarray | np.generic) else value
    return obj


def record_output(run: Any, digest: str, obj: Any, name: str) -> dict[str, Any]:
    """Record how the artifact ``digest`` (made from ``obj``) was derived in ``run``.

    Returns metadata for the artifact (its lineage hash and the hash of the stored lineage log).
    """
    store, context = run.store, ContextStore(run.store.metadata)
    meta: dict[str, Any] = {}
    leaves = lineage_leaves(obj)
    if leaves:
        log = dumps(obj).encode()
        log_hash = store.artifacts.put(log)
        store.metadata.add_artifact(run.id, f"{name}.lineage", log_hash, size=len(log), kind="lineage",
                                    meta={"of": digest})
        # A frame leaf is identified by its columnwise fingerprint, its dataset version by the hash
        # of its stored bytes: edges use the stored artifact's hash, the one node identity.
        versions = context.versions_by_hash(leaves)
        sources = [versions[h].artifact_hash if h in versions else h for h in leaves]
        # Edges join stored things: constants and arrays never saved are not nodes of the graph.
        sources = [h for h in sources if store.metadata.artifact_info(h) is not None]
        context.add_edges([(src, digest) for src in dict.fromkeys(sources) if src != digest],
                          run_id=run.id, kind="lineage", log_hash=log_hash)
        meta = {"lineage_hash": roots_of(obj)[0].hash, "lineage_log": log_hash}
    inputs = [h for h in context.inputs_of(run.id) if h != digest]
    context.add_edges([(h, digest) for h in inputs], run_id=run.id, kind="run")
    return meta


def model_metadata(obj: Any) -> dict[str, Any]:
    """Application context of a model: class, hyper-parameters, input columns (scikit-learn API)."""
    get_params = getattr(obj, "get_params", None)
    if not callable(get_params):
        return {}
    cls = getattr(type(obj), "_mlcontext_base", type(obj))  # a traced estimator is its base class
    meta: dict[str, Any] = {"model_class": f"{cls.__module__}.{cls.__qualname__}"}
    try:
        params = get_params(deep=False)
    except TypeError:
        params = {}
    meta["params"] = {k: _json_safe(v) for k, v in sorted(params.items())}
    columns = getattr(obj, "feature_names_in_", None)
    if columns is not None:
        meta["input_columns"] = [str(c) for c in columns]
    n_features = getattr(obj, "n_features_in_", None)
    if n_features is not None:
        meta["n_features"] = int(n_features)
    return meta | _traced_fit_metadata(obj)


def _traced_fit_metadata(obj: Any) -> dict[str, Any]:
    # A fit traced by mlcontext (mc.traced) also knows its lineage, sample count and scores.
    info = getattr(obj, "__dict__", {}).get("_mlcontext_info")
    if info is None:
        return {}
    return {"fit_lineage": info["fit_lineage"].hash, "n_samples": info["n_samples"],
            "input_columns": info["input_columns"] or [],
            "scores": [dict(s) for s in info["scores"]]}


def _json_safe(value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=True)
        return value
    except (TypeError, ValueError):
        return repr(value)
