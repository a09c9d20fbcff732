"""The cache itself: eviction order, spill and read-back, corrupted spill files, placeholders."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from mlcontext.reuse.cache import MISS, LineageCache
from mlcontext.reuse.config import ReuseConfig


def _key(i: int) -> bytes:
    return i.to_bytes(16, "little")


def _cache(**kw) -> LineageCache:
    return LineageCache(ReuseConfig(**{"budget": 1000, "spill": False, **kw}))


def _arr(n: int = 100) -> np.ndarray:
    a = np.zeros(n // 8)
    a.flags.writeable = False
    return a


def test_cost_size_evicts_the_cheap_to_recompute_first() -> None:
    c = _cache()
    c.put(_key(1), _arr(), cost=1.0, size=400)  # expensive
    c.put(_key(2), _arr(), cost=0.001, size=400)  # cheap
    c.put(_key(3), _arr(), cost=0.5, size=400)  # over budget: something must go
    assert c.peek(_key(2)) is MISS
    assert c.peek(_key(1)) is not MISS and c.peek(_key(3)) is not MISS
    assert c.stats().evictions == 1


def test_hits_raise_the_score() -> None:
    c = _cache()
    c.put(_key(1), _arr(), cost=0.01, size=400)
    c.put(_key(2), _arr(), cost=0.02, size=400)
    for _ in range(5):
        c.get(_key(1))
    c.put(_key(3), _arr(), cost=1.0, size=400)
    assert c.peek(_key(1)) is not MISS and c.peek(_key(2)) is MISS


def test_lru_and_dag_height() -> None:
    c = _cache(eviction="lru")
    c.put(_key(1), _arr(), cost=9.0, size=400)
    c.put(_key(2), _arr(), cost=0.1, size=400)
    c.get(_key(2))
    c.put(_key(3), _arr(), cost=0.1, size=400)
    assert c.peek(_key(1)) is MISS  # least recently used, however expensive
    c = _cache(eviction="dag_height")
    c.put(_key(1), _arr(), cost=0.1, size=400, height=1)
    c.put(_key(2), _arr(), cost=9.0, size=400, height=7)
    c.put(_key(3), _arr(), cost=0.1, size=400, height=2)
    assert c.peek(_key(2)) is MISS  # the deepest goes first


def test_spill_when_recompute_costs_more_than_reading(tmp_path) -> None:
    c = _cache(spill=True, spill_dir=str(tmp_path))
    value = np.arange(50.0)
    value.flags.writeable = False
    c.put(_key(1), value, cost=0.5, size=400)  # slower to recompute than to read: spilled
    c.put(_key(2), _arr(), cost=1e-9, size=400)  # cheaper than a read: deleted when evicted
    c.put(_key(3), _arr(), cost=5.0, size=400)
    c.put(_key(4), _arr(), cost=6.0, size=400)
    s = c.stats()
    assert s.spills >= 1 and s.evictions >= 2
    assert list(tmp_path.glob("*.npy"))
    back = c.get(_key(1))
    assert np.array_equal(back, np.arange(50.0)) and c.stats().spill_reads == 1
    assert c.get(_key(2)) is MISS


def test_corrupted_spill_file_is_a_miss(tmp_path) -> None:
    c = _cache(spill=True, spill_dir=str(tmp_path), budget=500)
    value = np.arange(50.0)
    c.put(_key(1), value, cost=5.0, size=400)
    c.put(_key(2), np.arange(50.0), cost=6.0, size=400)
    (path,) = tmp_path.glob("*.npy")
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert c.get(_key(1)) is MISS


def _race(c, producer, waiter, started: threading.Event, release: threading.Event) -> None:
    """Start ``producer``; once it holds the placeholder, three ``waiter`` threads that must wait on
    it; then let the producer finish and join everyone."""
    t1 = threading.Thread(target=producer)
    t1.start()
    started.wait(5)
    waiters = [threading.Thread(target=waiter) for _ in range(3)]
    for t in waiters:
        t.start()
    while c.counters.waits < 3:
        threading.Event().wait(0.001)
    release.set()
    for t in [t1, *waiters]:
        t.join(5)


def test_threads_wait_on_placeholders() -> None:
    c = _cache(budget=1 << 20)
    computed = []
    started = threading.Event()
    release = threading.Event()
    results = []

    def producer() -> None:
        value, ph = c.reserve(_key(1))
        assert value is MISS
        started.set()
        release.wait(5)
        computed.append("producer")
        c.put(_key(1), np.ones(3), cost=1.0, size=24)
        c.fulfil(_key(1), ph)

    def consumer() -> None:
        value, ph = c.reserve(_key(1))
        if value is MISS:
            computed.append("consumer")
            c.fulfil(_key(1), ph)
        results.append(value)

    _race(c, producer, consumer, started, release)
    assert computed == ["producer"]
    assert all(np.array_equal(r, np.ones(3)) for r in results)


def test_failing_producer_releases_waiters_to_compute() -> None:
    c = _cache(budget=1 << 20)
    started, release = threading.Event(), threading.Event()
    computed = []

    def producer() -> None:
        _, ph = c.reserve(_key(9))
        started.set()
        release.wait(5)
        c.abandon(_key(9), ph)  # it failed

    def waiter() -> None:
        value, ph = c.reserve(_key(9))
        if value is MISS:
            computed.append(1)
            c.put(_key(9), np.zeros(1), cost=1.0, size=8)
            c.fulfil(_key(9), ph)

    _race(c, producer, waiter, started, release)
    assert computed == [1]  # one waiter became the producer, the others reused its value


def test_traced_threads_compute_a_shared_value_once() -> None:
    import mlcontext as mc

    X = mc.array(np.random.default_rng(3).normal(size=(400, 30)))
    barrier = threading.Barrier(4)
    out = []

    def work() -> None:
        barrier.wait()
        out.append(np.asarray(X.T @ X))

    with mc.reuse_events() as events:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    matmuls = [e for e in events if e.name == "numpy.matmul"]
    assert sum(e.kind == "computed" for e in matmuls) == 1 and len(matmuls) == 4
    assert all(np.array_equal(o, out[0]) for o in out)


@pytest.mark.parametrize("budget", [0, 10])
def test_values_larger_than_the_budget_are_not_admitted(budget) -> None:
    c = _cache(budget=budget)
    assert not c.put(_key(1), np.zeros(100), cost=1.0, size=800)


def test_delayed_admission_caches_cheap_values_the_second_time() -> None:
    c = _cache(budget=1 << 20, eager_s_per_byte=1e-6)
    assert c.worth_admitting(_key(1), cost=1.0, size=1000)  # expensive for its size: at once
    assert not c.worth_admitting(_key(2), cost=1e-6, size=1000)  # cheap: only remembered
    assert c.worth_admitting(_key(2), cost=1e-6, size=1000)  # seen again: now cached
    assert not c.worth_admitting(_key(2), cost=1e-6, size=1000)  # (and forgotten as "seen")
    c.clear()
    assert not c.worth_admitting(_key(3), cost=1e-6, size=1000)
    assert _cache(eager_s_per_byte=0.0).worth_admitting(_key(4), cost=0.0, size=10**9)
