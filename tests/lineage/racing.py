"""Run threads against each other with the interpreter switching between them as often as it can,
so that races in shared tables show up within a test's time."""

from __future__ import annotations

import sys
import threading


def race(threads: list[threading.Thread]) -> None:
    """Start ``threads`` and wait for all of them, switching threads every microsecond meanwhile."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
