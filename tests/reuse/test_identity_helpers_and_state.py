"""Function identity through helpers and state a function carries (second review of issue 10).

Each test is an input that returned a stale result: a helper's snapshot renewed by another caller
while its caller's snapshot still held the old digest; a step calling a step; a function's own
attributes; a dataclass's extra attributes; and a dict hashed while another thread grows it.
"""

from __future__ import annotations

import dataclasses
import sys
import threading

import numpy as np
import pandas as pd
import pytest

import mlcontext as mc
from mlcontext.fingerprint import functions as fnid
from mlcontext.fingerprint import hash_function

RATE = 0.1
FACTOR = {"k": 1.0}


def rate(x):
    return x * RATE


def tip(x):
    return rate(x) + 1


def scaled(x):
    return rate(x) * FACTOR["k"]


@pytest.fixture(autouse=True)
def _globals():
    global RATE, FACTOR
    yield
    RATE, FACTOR = 0.1, {"k": 1.0}


def test_a_helper_renewed_through_another_caller_does_not_leave_its_caller_stale():
    global RATE
    raw = pd.DataFrame({"fare": [10.0, 20.0]})
    with mc.reuse("hybrid"):
        assert mc.frame(raw).fare.apply(tip).tolist() == [2.0, 3.0]
        RATE = 0.2
        assert mc.frame(raw).fare.apply(rate).tolist() == [2.0, 4.0]  # renews rate's snapshot first
        assert mc.frame(raw).fare.apply(tip).tolist() == raw.fare.apply(tip).tolist() == [3.0, 5.0]


def test_two_steps_sharing_a_helper_see_its_change():
    global RATE
    a, b = mc.step(tip), mc.step(rate)
    x = mc.array(np.arange(3.0))
    with mc.reuse("hybrid", min_compute_s=0.0):
        a(x)
        b(x)
        RATE = 2.0
        np.testing.assert_array_equal(np.asarray(b(x)), np.arange(3.0) * 2.0)
        np.testing.assert_array_equal(np.asarray(a(x)), np.arange(3.0) * 2.0 + 1)


def test_a_templated_caller_of_a_renewed_helper_is_not_stale():
    # scaled reads a mutable dict (a template) and the helper rate (a fixed part of the template).
    global RATE
    hash_function(scaled)
    assert fnid._SNAPS[scaled].template is not None
    before = hash_function(scaled)
    RATE = 0.3
    hash_function(rate)
    assert hash_function(scaled) != before


def test_a_step_that_calls_a_step_is_reused():
    inner = mc.step(rate)

    def outer(x):
        return inner(x) + 1

    step = mc.step(outer)
    x = mc.array(np.arange(3.0))
    with mc.reuse("hybrid", min_compute_s=0.0):
        step(x)
        first = mc.reuse_stats()
        step(x)
        assert mc.reuse_stats().step_hits == first.step_hits + 1
    assert hash_function(outer) == hash_function(outer)


def test_a_functions_own_attributes_are_part_of_its_identity():
    def scale_by_attribute(x):
        return x * scale_by_attribute.scale

    scale_by_attribute.scale = 2.0
    step = mc.step(scale_by_attribute)
    x = mc.array(np.arange(3.0))
    with mc.reuse("hybrid", min_compute_s=0.0):
        step(x)
        scale_by_attribute.scale = 5.0
        np.testing.assert_array_equal(np.asarray(step(x)), np.arange(3.0) * 5.0)


@dataclasses.dataclass
class Conf:
    k: float = 1.0


def test_attributes_set_on_a_dataclass_instance_besides_its_fields_count():
    conf = Conf()
    conf.extra = 1.0

    def f(x):
        return x * conf.extra

    step = mc.step(f)
    x = mc.array(np.arange(3.0))
    with mc.reuse("hybrid", min_compute_s=0.0):
        step(x)
        conf.extra = 7.0
        np.testing.assert_array_equal(np.asarray(step(x)), np.arange(3.0) * 7.0)


def test_a_dict_growing_in_another_thread_while_it_is_hashed_is_no_error():
    cfg = {"k": 2.0}
    stop = threading.Event()

    def grow():
        i = 0
        while not stop.is_set():
            cfg[f"extra{i % 50}"] = i
            if i % 50 == 49:
                for j in range(50):
                    cfg.pop(f"extra{j}", None)
            i += 1

    def f(x):
        return x * cfg["k"]

    step = mc.step(f)
    x = mc.array(np.arange(3.0))
    errors: list[BaseException] = []
    thread = threading.Thread(target=grow)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so that a hash is interrupted mid-dict
    thread.start()
    try:
        with mc.reuse("hybrid", min_compute_s=0.0):
            for _ in range(300):
                try:
                    step(x)
                except Exception as exc:  # noqa: BLE001 - the failure being tested
                    errors.append(exc)
                    break
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert errors == []


LAYOUT = np.arange(12.0).reshape(3, 4)


def test_the_layout_of_an_array_a_step_reads_as_a_global_is_part_of_its_identity():
    global LAYOUT

    def g(x):
        return LAYOUT * 2

    step = mc.step(g)
    x = mc.array(np.zeros(1))
    with mc.reuse("hybrid", min_compute_s=0.0):
        assert step(x).flags.c_contiguous
        LAYOUT = np.asfortranarray(LAYOUT)  # the same elements, Fortran order
        try:
            out = step(x)
            assert out.flags.f_contiguous == (LAYOUT * 2).flags.f_contiguous is True
            assert step({0: LAYOUT[:, ::2]}) is not None  # a strided view inside a dict: hashable
        finally:
            LAYOUT = np.ascontiguousarray(LAYOUT)


def test_numpy_scalars_are_numbers_for_reuse_settings():
    with mc.reuse(budget=np.int64(10**8), min_compute_s=np.float32(0.0)):
        pass


def test_arrays_that_convert_themselves_are_data_for_mc_array():
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(np.asarray(mc.array(a.flat)), np.asarray(a.flat))
    np.testing.assert_array_equal(np.asarray(mc.array(np.poly1d([1, 2]))), np.asarray(np.poly1d([1, 2])))
    with pytest.raises(mc.UsageError):
        mc.array(x for x in range(3))


@pytest.mark.parametrize("axis", ["index", "columns"])
def test_the_fingerprint_read_right_after_an_in_place_rename_is_the_new_one(axis):
    raw = pd.DataFrame({"a": [1.0, 2.0]}, index=pd.Index([3, 4]))
    t = mc.frame(raw.copy())
    before = t.fingerprint
    getattr(t, axis).name = "k"
    after = t.fingerprint  # the first read after the rename
    assert after != before
    assert after == mc.frame(t.to_pandas()).fingerprint
