"""Traced operations raise no Python audit events.

Every installed audit hook (``sys.addaudithook``) is called for every audited event, and hooks can
never be removed: mlcontext's own watch of the reads of traced user code installs one, and so do
security and profiling tools. ``id()`` raises ``builtins.id``, so an ``id()`` on the hot path costs a
Python call per hook (it cost stepLM 3,068 hook calls per run). Run in a fresh interpreter: the hook
would stay in this one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import collections, json, sys
    import numpy as np
    import mlcontext as mc

    X = mc.asarray(np.random.default_rng(0).normal(size=(200, 12)))
    y = mc.asarray(np.random.default_rng(1).normal(size=200))

    def pipeline():
        out = []
        sel = X[:, :8]
        for c in range(8, 12):
            Z = np.hstack([sel, X[:, c:c + 1]])
            G, b = Z.T @ Z, Z.T @ y
            w = np.linalg.solve(G + 1e-3 * np.eye(G.shape[0]), b)
            out.append(float(y @ y - 2 * (w @ b) + w @ (G @ w)))
        return out + [float(np.tanh(X).sum(axis=0)[0]), float((X * 2.0 - 1.0).mean())]

    @mc.step
    def standardise(A):
        return (A - A.mean(axis=0)) / A.std(axis=0)

    def loop_and_step():  # a deduplicated loop body and a step call fold their items (lineage.dedup)
        acc = X[0] * 0.0
        for i in mc.loop("epoch", range(20)):
            acc = acc * 0.5 + X[i]
        return [float(acc.sum()), float(standardise(X).sum())]

    pipeline()  # first calls import and register what they need
    loop_and_step()
    events = collections.Counter()
    sys.addaudithook(lambda event, args: events.__setitem__(event, events[event] + 1))
    mc.reuse_clear()
    pipeline()
    loop_and_step()
    # A step call checks its function: reading __code__, __defaults__ and __kwdefaults__ raises
    # object.__getattr__ (unavoidable, once per call of a whole function); nothing else may.
    events.pop("object.__getattr__", None)
    print("EVENTS " + json.dumps(dict(events)))
""")


def test_traced_operations_raise_no_audit_events() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("EVENTS "))
    assert json.loads(line[len("EVENTS "):]) == {}
