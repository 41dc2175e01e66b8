"""Progress of a run's phases: a bar on a terminal, one line per phase otherwise, timings.

The pipeline marks its phases with :func:`phase` (reading, validating, remapping, attribution,
blocks, export, report) and the block loop with :func:`bar`; both do nothing unless a display
was switched on with :func:`display` (the CLI does, and ``run(..., progress=True)``). On a
terminal (stderr a TTY) each phase is a rich progress line with a spinner or a bar and its
elapsed time; otherwise each phase prints one line when it starts (``footgrid: <phase>``), so
logs of batch jobs show where a run is. With ``timings`` each phase's wall time is printed as
it ends (``--verbose``).
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO


@dataclass
class _Display:
    stream: TextIO
    timings: bool
    tty: bool
    rich: Any = None
    times: dict[str, float] = field(default_factory=dict)


_CURRENT: contextvars.ContextVar[_Display | None] = contextvars.ContextVar(
    "footgrid_progress", default=None
)


@contextlib.contextmanager
def display(
    enabled: bool = True, *, timings: bool = False, stream: TextIO | None = None
) -> Iterator[dict[str, float]]:
    """Switch the progress display on for the calls inside; yields the phase timings.

    Parameters
    ----------
    enabled
        ``False`` leaves any display already active (or none) as it is.
    timings
        Print each phase's wall time when it ends.
    stream
        Where to write (default ``sys.stderr``).
    """
    if not enabled or _CURRENT.get() is not None:
        cur = _CURRENT.get()
        yield cur.times if cur is not None else {}
        return
    stream = stream or sys.stderr
    d = _Display(stream, timings, bool(getattr(stream, "isatty", lambda: False)()))
    token = _CURRENT.set(d)
    try:
        if d.tty:
            # lazy: rich costs ~0.1 s of imports and is needed only on a terminal
            from rich.console import Console
            from rich.progress import (  # lazy: as above
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=stream),
            ) as d.rich:
                yield d.times
        else:
            yield d.times
    finally:
        _CURRENT.reset(token)


def active() -> bool:
    """Whether a progress display is on."""
    return _CURRENT.get() is not None


@contextlib.contextmanager
def phase(name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """Mark a phase of the run; yields ``advance(n=1)`` for phases with a ``total``."""
    d = _CURRENT.get()
    if d is None:
        yield lambda n=1: None
        return
    t0 = time.perf_counter()
    advance: Callable[[int], None] = lambda n=1: None  # noqa: E731
    task = None
    if d.rich is not None:
        task = d.rich.add_task(name, total=total)
        advance = lambda n=1: d.rich.advance(task, n)  # noqa: E731
    else:
        print(f"footgrid: {name}" + (f" ({total})" if total else ""), file=d.stream, flush=True)
    try:
        yield advance
    finally:
        dt = time.perf_counter() - t0
        d.times[name] = d.times.get(name, 0.0) + dt
        if task is not None:
            d.rich.update(task, total=total or 1, completed=total or 1)
        if d.timings:
            msg = f"footgrid: {name} took {dt:.2f} s"
            if d.rich is not None:
                d.rich.console.print(msg)
            else:
                print(msg, file=d.stream, flush=True)


@contextlib.contextmanager
def bar(name: str, total: int) -> Iterator[Callable[[int], None]]:
    """A phase with ``total`` steps (the blocks); a no-op without a display."""
    with phase(name, total) as advance:
        yield advance
