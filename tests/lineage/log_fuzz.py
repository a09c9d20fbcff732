"""A fuzzer of lineage logs: real logs, mutated, through ``loads -> hash -> dumps -> loads -> recompute``.

Used by ``tests/lineage/test_log_fuzz.py`` (hypothesis drives :func:`mutate` for a few seconds) and by
``bench/bench_fuzz.py`` (a longer run that reports how many inputs it tried and how many raised an
error outside mlcontext's tree, which must be 0). Every error a log can cause must be an
:class:`~mlcontext.errors.MLContextError` (issue 13 item 10).
"""

from __future__ import annotations

import io
import json
import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

import mlcontext as mc
from mlcontext.errors import MLContextError
from mlcontext.lineage.operations import OPERATIONS

MAX_BYTES = 64 << 20  # recompute limits while fuzzing: small, so that no mutant takes long
MAX_NODES = 20_000


def corpus() -> tuple[list[str], dict]:
    """Logs of small real programs (NumPy, loops with branches, nested loops, steps, randomness,
    pandas with query/eval/groupby/apply, constants, a file leaf) and the inputs they were traced from."""
    rng = np.random.default_rng(0)
    X_np, y_np = rng.normal(size=(8, 3)), rng.normal(size=8)
    df_np = pd.DataFrame({"name": ["ab", "c", "def", "c"], "x": [1.0, 2.0, np.nan, 4.0],
                          "g": [1, 2, 1, 2]})
    buffer = io.BytesIO()
    np.save(buffer, np.arange(6.0).reshape(2, 3))
    inputs = {"X": X_np, "y": y_np, "df": df_np, "w0": np.zeros(3), "a.npy": buffer.getvalue()}
    logs: list[str] = []
    X, y = mc.array(X_np, name="X"), mc.array(y_np, name="y")
    Xb = np.hstack([X, np.ones((8, 1))])
    w = np.linalg.solve(Xb.T @ Xb + 0.5 * np.eye(4), Xb.T @ y)
    vals, vecs = np.linalg.eigh(X.T @ X)
    logs.append(mc.lineage.dumps([w, vals, vecs[:, ::-1], np.sort(X[np.array([2, 0]), 1:]),
                                  np.cumsum(np.where(X > 0, X, 0.0), axis=0).reshape(-1),
                                  np.clip(X, -1, 1) + np.ones(600).reshape(200, 3)[:8]]))
    w_loop = mc.array(np.zeros(3), name="w0")
    for i in mc.loop("fuzz_step", range(6)):
        s = (i % 3) * 2
        g = X[s:s + 2].T @ (X[s:s + 2] @ w_loop - y[s:s + 2])
        if i % 2 == 0:
            g = np.clip(g, -1, 1)
        w_loop = w_loop - 0.1 * g
    logs.append(mc.lineage.dumps(w_loop))
    acc = mc.array(np.zeros(3), name="w0")
    for _ in mc.loop("fuzz_outer", range(3)):
        for j in mc.loop("fuzz_inner", range(3)):
            acc = acc + X[j] * 0.5
    logs.append(mc.lineage.dumps(acc))
    gen = mc.random.default_rng(3)
    logs.append(mc.lineage.dumps(gen.normal(size=3) + X[0]))
    logs.append(mc.lineage.dumps(normalise(X) @ np.arange(3.0)))
    frame = mc.frame(df_np, name="df")
    k = 1.5  # noqa: F841 - read through @k
    logs.append(mc.lineage.dumps([frame.query("x > @k"), frame.eval("z = x * 2 + g"),
                                  frame.groupby("g").agg(total=("x", "sum")),
                                  frame["name"].map(len), frame.fillna(0.0).sort_values("x"),
                                  frame.merge(frame[["g", "x"]], on="g")]))
    logs.append(mc.lineage.dumps(mc.load(buffer.getvalue(), name="a.npy") * 2))
    return logs, inputs


@mc.step
def normalise(a):
    return (a - a.mean(axis=0)) / (a.std(axis=0) + 1.0)


# -- mutations --------------------------------------------------------------------------------------

_CHARS = list('[]{},:"\\-.0123456789eE +tfn') + ["\ud800", "\u00e9", "\x00", "\n", "𝔵"]
_VALUES: list = [0, 1, -1, 2, 3, 7, 255, 256, 2**31, 2**63, 2**64 + 1, -2**40, 10**30, 1.5, -0.0, 1e308,
                 "", "x", "\ud800", "4f<", "<U99999999", "|V16", "O", "<f8", "lineage.dedup",
                 "lineage.output", "lineage.data", "numpy.tile", "prev", None, True, False, [], [[]], {},
                 ["T", []], ["D", []], ["r", 0], ["r", 99], ["k", 5], ["h", 0], ["i", 2**40],
                 ["S", [["n", None], ["n", None], ["i", 0]]], ["E", None], ["d", "<U9999"],
                 ["g", ["<f8", "00"]], ["s", "@pd.compat.os"], ["L", [["r", 0]]], [0, 0], [99, 0]]


def _subpaths(value, path=()):
    yield path
    if isinstance(value, list):
        for i, v in enumerate(value):
            yield from _subpaths(v, (*path, i))
    elif isinstance(value, dict):
        for key, v in value.items():
            yield from _subpaths(v, (*path, key))


def _replace(value, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, list):
        out = list(value)
        out[head] = _replace(value[head], rest, new)
        return out
    out = dict(value)
    out[head] = _replace(value[head], rest, new)
    return out


def _json_mutation(line: str, rnd: random.Random, opcodes: list[str]) -> str:
    try:
        row = json.loads(line)
    except ValueError:
        return line
    paths = list(_subpaths(row))
    path = rnd.choice(paths)
    kind = rnd.random()
    target = row
    for p in path:
        target = target[p]
    if kind < 0.15 and isinstance(target, str):
        new = rnd.choice(opcodes)  # another registered operation
    elif kind < 0.3 and isinstance(target, list) and target:
        new = list(target)
        del new[rnd.randrange(len(new))]
    elif kind < 0.4 and isinstance(target, list) and target:
        new = [*target, rnd.choice(target)]
    elif kind < 0.5 and isinstance(target, int) and not isinstance(target, bool):
        new = target + rnd.choice([-2, -1, 1, 2, 1000])
    else:
        new = rnd.choice(_VALUES)
    return json.dumps(_replace(row, path, new))


_SAME_TAG = {
    "i": [0, 1, -1, 2, 3, 5, 64, 2**31, -2**63, 10**20],
    "f": [0.5, -2.5, 1e300, "nan", "inf", "-inf", "-0.0", "0.0"],
    "s": ["", "sum", "x", "g", "name", "to_csv", "x > @k", "z = x", "@pd.compat", "C", "F", "ij->ji",
          "4f<", "<U99999999", "|V16", "<i8", "|O", "\ud800", "0" * 32, "frame", "series"],
    "d": ["<f8", "<i4", "|b1", "<U3", "|S0", "<M8[ns]", "<m8[D]", "|V8", "<c16", "|O", ">f4"],
    "b": [True, False],
    "k": [0, 1, 2, 9],
    "r": [0, 1, 2, 5],
}


def _literal_tweak(line: str, rnd: random.Random) -> str:
    """Replace one scalar of a row's literal by another value of the same tag: a log that still
    parses, with arguments an operation did not expect."""
    try:
        row = json.loads(line)
    except ValueError:
        return line
    nodes = [p for p in _subpaths(row) if _is_scalar_node(row, p)]
    if not nodes:
        return line
    path = rnd.choice(nodes)
    node = row
    for p in path:
        node = node[p]
    return json.dumps(_replace(row, path, [node[0], rnd.choice(_SAME_TAG[node[0]])]))


def _is_scalar_node(row, path) -> bool:
    node = row
    for p in path:
        node = node[p]
    return isinstance(node, list) and len(node) == 2 and type(node[0]) is str and node[0] in _SAME_TAG and \
        not isinstance(node[1], list)


def mutate(text: str, rnd: random.Random, opcodes: list[str] | None = None) -> str:
    """One to three random mutations of a log: characters, lines, or a JSON value in a line."""
    opcodes = opcodes if opcodes is not None else sorted(OPERATIONS)
    for _ in range(1 if rnd.random() < 0.7 else rnd.randint(2, 3)):
        lines = text.splitlines()
        choice = rnd.random()
        if choice < 0.45 and len(lines) > 1:
            i = rnd.randrange(1, len(lines))
            lines[i] = _literal_tweak(lines[i], rnd)
        elif choice < 0.75 and len(lines) > 1:
            i = rnd.randrange(1, len(lines))
            lines[i] = _json_mutation(lines[i], rnd, opcodes)
        elif choice < 0.8 and text:
            i = rnd.randrange(len(text))
            text = text[:i] + rnd.choice(_CHARS) + text[i + rnd.choice([0, 1]):]
            continue
        elif choice < 0.85 and len(lines) > 2:
            i, j = rnd.randrange(1, len(lines)), rnd.randrange(1, len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif choice < 0.9 and len(lines) > 2:
            i = rnd.randrange(1, len(lines))
            lines.insert(i, lines[rnd.randrange(1, len(lines))])
        elif choice < 0.95 and len(lines) > 2:
            del lines[rnd.randrange(1, len(lines))]
        elif text:
            text = text[: rnd.randrange(len(text))]
            continue
        text = "\n".join(lines) + "\n"
    return text


# -- one input ---------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What became of the inputs tried so far."""

    tried: int = 0
    parsed: int = 0
    recomputed: int = 0
    foreign: list[tuple[str, str]] = field(default_factory=list)  # (exception type, message)


def run_one(text: str, inputs: dict, outcome: Outcome,
            on_foreign: Callable[[BaseException, str], None] | None = None) -> None:
    """``loads -> hash -> dumps -> loads -> recompute``; any error outside mlcontext's tree is
    recorded in ``outcome.foreign`` (and passed to ``on_foreign``)."""
    outcome.tried += 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _pipeline(text, inputs, outcome)
    except MLContextError:
        pass
    except Exception as exc:  # noqa: BLE001 - what the fuzzer looks for
        outcome.foreign.append((type(exc).__name__, str(exc)[:200]))
        if on_foreign is not None:
            on_foreign(exc, text)


def _pipeline(text: str, inputs: dict, outcome: Outcome) -> None:
    parsed = mc.lineage.loads(text)
    roots = list(parsed) if isinstance(parsed, tuple) else [parsed]
    hashes = [r.hash for r in roots]
    again = mc.lineage.loads(mc.lineage.dumps(roots))
    again_roots = list(again) if isinstance(again, tuple) else [again]
    if [r.hash for r in again_roots] != hashes:
        raise AssertionError("dumps -> loads changed a hash")
    outcome.parsed += 1
    mc.lineage.recompute(text, inputs=inputs, max_bytes=MAX_BYTES, max_nodes=MAX_NODES)
    outcome.recomputed += 1
