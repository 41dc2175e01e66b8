"""Shared benchmark machinery: timing, peak memory, machine description, JSON, tables.

Rules every benchmark follows (issue 7): each figure is the median of ``repeat`` (>= 5 in a full
run) timed calls after one untimed warm-up call (JIT compilation, page faults, thread pools),
reported with min–max; methods are timed round-robin, so background load hits all alike (B1
times its floor pair in a round of its own: see ``bench_gridding``); peak memory is per method
(a sampling thread in this process, in an untimed round, or the whole process tree of a
subprocess); peers run in the same process on the same inputs.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
MIB = 2**20


# ----------------------------------------------------------------------------- timing
@dataclass
class Timing:
    """Wall-clock seconds of repeated calls, and the peak RSS growth of one call."""

    times: list[float] = field(default_factory=list)
    peak_rss: int = 0

    @property
    def median(self) -> float:
        """Median seconds."""
        return statistics.median(self.times)

    @property
    def min(self) -> float:
        """Fastest call."""
        return min(self.times)

    @property
    def max(self) -> float:
        """Slowest call."""
        return max(self.times)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "median_s": self.median,
            "min_s": self.min,
            "max_s": self.max,
            "times_s": self.times,
            "runs": len(self.times),
            "peak_rss_growth_mib": self.peak_rss / MIB,
        }

    def span(self) -> str:
        """``median (min–max)`` in seconds, for tables."""
        return f"{fmt_s(self.median)} ({fmt_s(self.min)}–{fmt_s(self.max)})"


def fmt_s(s: float) -> str:
    """Seconds with 3 significant digits."""
    return f"{s:.3g}"


class PeakRSS:
    """Sample a process's resident set size on a thread; ``.peak`` is the largest value seen.

    With ``children=True`` the RSS of all descendants is added (a process tree's footprint).
    ``.growth`` is the peak minus the RSS when sampling started.
    """

    def __init__(
        self, pid: int | None = None, *, children: bool = False, interval: float = 0.005
    ) -> None:
        self._proc = psutil.Process(pid)
        self._children = children
        self._interval = interval
        self.base = 0
        self.peak = 0

    def sample(self) -> int:
        """Current RSS in bytes (0 once the process is gone)."""
        try:
            rss = self._proc.memory_info().rss
            if self._children:
                for c in self._proc.children(recursive=True):
                    try:
                        rss += c.memory_info().rss
                    except psutil.Error:
                        pass
        except psutil.Error:
            return 0
        return rss

    @property
    def growth(self) -> int:
        """Peak RSS above the level at start, bytes."""
        return max(0, self.peak - self.base)

    def __enter__(self) -> PeakRSS:
        self.base = self.sample()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            self._stop.wait(self._interval)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.sample())


def time_methods(
    methods: dict[str, Callable[[], Any]], repeat: int, *, warmup: int = 1
) -> tuple[dict[str, Timing], dict[str, Any]]:
    """Time zero-argument callables round-robin after ``warmup`` untimed calls each.

    Peak RSS comes from one more, untimed round with :class:`PeakRSS` sampling: its polling
    thread takes the GIL and a core every few milliseconds, which would slow methods that use
    both cores and not those that use one, so no timed call runs beside it.

    Returns the timings and the result of each method's last call (for agreement checks).
    """
    results: dict[str, Any] = {}
    timings = {name: Timing() for name in methods}
    for name, fn in methods.items():
        for _ in range(warmup):
            results[name] = None
            results[name] = fn()
    for _ in range(repeat):
        for name, fn in methods.items():
            results[name] = None  # free the previous result first, as a fresh call would
            t0 = time.perf_counter()
            out = fn()
            timings[name].times.append(time.perf_counter() - t0)
            results[name] = out
    for name, fn in methods.items():
        results[name] = None  # free the previous result before measuring memory
        with PeakRSS(interval=0.002) as mem:
            results[name] = fn()
        timings[name].peak_rss = mem.growth
    return timings, results


# ----------------------------------------------------------------------------- subprocesses
@dataclass
class ProcessRun:
    """One measured subprocess: wall seconds, peak RSS of its tree, its JSON reply."""

    wall: float
    peak_rss: int
    reply: dict[str, Any]


def run_measured(
    cmd: Sequence[str], *, cwd: Path | None = None, timeout: float = 1800
) -> ProcessRun:
    """Run ``cmd`` (a Python script printing one JSON line last) and measure its process tree.

    The wall time is measured around the whole subprocess (interpreter start and imports
    included); peak RSS is the largest sum of RSS over the process and its descendants, polled
    every 20 ms, or the child's own high-water mark (:func:`self_maxrss`) if that is larger
    (short peaks).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    mem = PeakRSS(proc.pid, children=True, interval=0.02)
    with mem:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise RuntimeError(
                f"{' '.join(cmd)} timed out after {timeout} s\n{err[-2000:]}"
            ) from None
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-4000:]}")
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(cmd)} printed no JSON reply:\n{out[-2000:]}{err[-2000:]}")
    reply = json.loads(lines[-1])
    peak = max(mem.peak, int(reply.get("self_maxrss", 0)))
    return ProcessRun(wall, peak, reply)


def self_maxrss() -> int:
    """This process's own peak RSS in bytes.

    Linux: ``VmHWM`` of ``/proc/self/status`` (the high-water mark of this process's memory
    map). Not ``ru_maxrss``: Linux carries it across ``execve``, so a child started by
    ``subprocess`` (vfork + exec) reports at least its parent's peak RSS. Elsewhere
    ``ru_maxrss`` (KiB on Linux and BSD, bytes on macOS).
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


# ----------------------------------------------------------------------------- machine
def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, load and library versions of this machine."""
    import numba
    import numpy as np

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    vm = psutil.virtual_memory()
    return {
        "cpu_model": model,
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": round(vm.total / 2**30, 1),
        "load_avg_1_5_15": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def machine_line(m: dict[str, Any]) -> str:
    """One-line machine description for tables."""
    load = m.get("load_avg_1_5_15")
    load_s = f", load {load[0]:.1f}" if load else ""
    return (
        f"{m['cpu_model']}, {m['cores_logical']} cores, {m['memory_gib']} GiB, "
        f"Python {m['python']}, numpy {m['numpy']}, numba {m['numba']}{load_s}"
    )


# ----------------------------------------------------------------------------- output
def write_json(name: str, data: dict[str, Any], *, out_dir: Path | None = None) -> Path:
    """Write ``data`` to ``<out_dir or benchmarks/results>/<name>.json``; returns the path."""
    folder = out_dir or RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=_jsonable))
    return path


def _jsonable(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A Markdown table (also readable as plain text)."""
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def print_table(title: str, rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """Print ``title`` and the table; returns the table text."""
    text = table(rows, header)
    print(f"\n{title}\n{text}", flush=True)
    return text


def python() -> str:
    """The interpreter running the benchmarks (subprocesses use the same)."""
    return sys.executable
