"""A fake clock for the reuse cost model (issue 12, point 4): what is cached must not depend on the
machine's speed, so tests that assert admission or cheapness inject this clock instead of timing."""

from __future__ import annotations

from mlcontext.ops import dispatch
from mlcontext.reuse.executor import ReuseExecutor


class FakeClock:
    """Each reading advances by ``step`` seconds: every timed operation 'costs' ``step``."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def install(clock: FakeClock) -> ReuseExecutor:
    """Run traced operations through a hybrid executor on the process's cache timed by ``clock``
    (put the default back with ``dispatch.set_executor(None)``)."""
    from mlcontext.reuse.api import get_cache

    executor = ReuseExecutor(get_cache(), True, clock=clock)
    dispatch.set_executor(executor)
    return executor
