"""Reuse tests run against a cleared cache that admits every operation at once (no timing threshold,
no delayed admission), so what is cached does not depend on how fast the machine is."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import mlcontext as mc


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    mc.reuse_clear()
    with mc.reuse("hybrid", min_compute_s=0.0, eager_s_per_byte=0.0, budget=1 << 30,
                  eviction="cost_size", spill=True, persist=False):
        yield
    mc.reuse_clear()


@pytest.fixture
def check():
    """hamilton-style ``check(events, did=[...], did_not=[...], reused=[...], partial=[...])``."""
    return _check


def _check(events, did=(), did_not=(), reused=(), partial=()) -> None:
    """hamilton-style: opcodes that were computed, not computed, reused, computed from pieces."""
    kinds: dict[str, set[str]] = {}
    for e in events:
        kinds.setdefault(e.kind, set()).add(e.name)
    computed = kinds.get("computed", set()) | kinds.get("step_computed", set())
    for name in did:
        assert name in computed, f"{name} was not computed: {events}"
    for name in did_not:
        assert name not in computed, f"{name} was computed: {events}"
    for name in reused:
        assert name in kinds.get("reused", set()) | kinds.get("step_reused", set()), f"{name}: {events}"
    for name in partial:
        assert name in kinds.get("partial", set()), f"{name} not partially reused: {events}"
