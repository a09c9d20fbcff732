"""Waiting for a forked child in the signal tests: its exit status, or the test fails with why."""

from __future__ import annotations

import os
import signal
import time

import pytest


def wait_or_kill(pid: int, timeout: float, why: str) -> int:
    """The wait status of child ``pid`` once it exits within ``timeout`` seconds; else it is killed
    (SIGKILL) and the test fails with ``why``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(why)
