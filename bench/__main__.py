"""Run benchmark modules: ``python -m bench`` runs all, ``python -m bench lineage tracking`` some.

Each ``bench/bench_<name>.py`` has a ``main() -> None`` that measures its subject and a baseline in the
same run and prints ratios. Results worth keeping are copied into ``bench/RESULTS.md`` with the command.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    here = Path(__file__).parent
    names = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(here)])
                   if m.name.startswith("bench_"))
    wanted = argv or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        sys.exit(f"unknown benchmark(s) {unknown}; available: {names}")
    for name in wanted:
        print(f"\n=== bench_{name} ===", flush=True)
        importlib.import_module(f"bench.bench_{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
