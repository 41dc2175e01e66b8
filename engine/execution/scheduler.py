"""Running a block graph on the configured scheduler, with a progress bar."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
from collections.abc import Iterator
from typing import Any

import dask
from dask.callbacks import Callback

from footgrid.errors import ComputeError, ConfigError

log = logging.getLogger("footgrid")


@contextlib.contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Any]:
    """Blocks done / total on the run's progress display (:mod:`footgrid.progress`)."""
    if not enabled or total == 0:
        yield lambda n=1: None
        return
    from footgrid import progress as fp

    with fp.display(True), fp.bar("blocks", total) as advance:
        yield advance


#: A ``distributed.Client`` given to the Python API (``run(cfg, client=client)``): used in
#: place of the configured scheduler (see :func:`use_client`).
_CLIENT: contextvars.ContextVar[Any] = contextvars.ContextVar("footgrid_client", default=None)
_DASHBOARD_SHOWN: set[str] = set()


@contextlib.contextmanager
def use_client(client: Any) -> Iterator[None]:
    """Run the blocks of the calls inside on ``client`` (a ``distributed.Client``)."""
    token = _CLIENT.set(client)
    try:
        yield
    finally:
        _CLIENT.reset(token)


def _show_dashboard(client: Any) -> None:
    link = getattr(client, "dashboard_link", None)
    if link and link not in _DASHBOARD_SHOWN:
        _DASHBOARD_SHOWN.add(link)
        log.info("dask dashboard: %s", link)


class _Counter(Callback):
    def __init__(self, keys: set, advance: Any) -> None:
        super().__init__()
        self._keys = keys
        self._advance = advance

    def _posttask(self, key, result, dsk, state, worker_id) -> None:
        if key in self._keys:
            self._advance()


def compute(
    dsk: dict, keys: list, scheduler: str, workers: int | None, progress: bool = False
) -> list:
    """Compute ``keys`` of the graph ``dsk`` and return their results in order.

    Parameters
    ----------
    scheduler
        ``threads`` (dask's threaded scheduler, ``workers`` threads), ``processes`` (a
        ``distributed.LocalCluster`` of ``workers`` single-threaded worker processes),
        ``synchronous`` (one thread, for debugging) or ``tcp://host:port`` (an existing
        dask-distributed scheduler).
    """
    if not keys:
        return []
    with _progress(len(keys), progress) as advance:
        if scheduler in ("threads", "synchronous"):
            with _Counter(set(keys), advance):
                if scheduler == "synchronous":
                    return list(dask.get(dsk, keys))
                return list(
                    dask.threaded.get(dsk, keys, num_workers=workers or os.cpu_count() or 1)
                )
        return _distributed(dsk, keys, scheduler, workers, advance)


def compute_tasks(tasks: list, kw: dict[str, Any], progress: bool = False) -> list:
    """Compute dask collections (e.g. delayed blocks) with ``dask.compute`` keywords ``kw``,
    showing blocks done / total when ``progress`` (threads: a callback; distributed: futures).
    """
    if not tasks:
        return []
    with _progress(len(tasks), progress) as advance:
        scheduler = kw.get("scheduler")
        if scheduler is not None and not isinstance(scheduler, str):  # a distributed Client
            from distributed import as_completed

            futures = scheduler.compute(tasks)
            for _ in as_completed(futures):
                advance()
            return scheduler.gather(futures)
        with _Counter({t.key for t in tasks}, advance):
            return list(dask.compute(*tasks, **kw))


@contextlib.contextmanager
def client_for(scheduler: str, workers: int | None) -> Iterator[Any]:
    """A dask-distributed Client: on a new LocalCluster (``processes``) or an address."""
    from distributed import Client, KilledWorker, LocalCluster
    from distributed.comm import CommClosedError

    with contextlib.ExitStack() as stack:
        given = _CLIENT.get()
        if given is None and scheduler == "default":
            from distributed import default_client

            try:
                given = default_client()
            except ValueError:
                raise ConfigError(
                    'scheduler = "default" but no dask-distributed client is active',
                    key="compute.scheduler",
                    fix="create a distributed.Client first (or pass client=), or use "
                    'scheduler = "threads"',
                ) from None
        if given is not None:
            address = None
        elif scheduler == "processes":
            n = workers or os.cpu_count() or 1
            log.info("starting a LocalCluster of %d worker processes", n)
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=logging.ERROR,
                )
            )
            address = cluster.scheduler_address
        else:
            address = scheduler
        if given is not None:
            client = given
        else:
            try:
                client = stack.enter_context(Client(address, timeout="5s"))
            except OSError as exc:
                raise ConfigError(
                    f"cannot reach the dask scheduler at {address}: {exc}",
                    key="compute.scheduler",
                    fix='start the scheduler first, or use scheduler = "threads"',
                ) from None
        _show_dashboard(client)
        try:
            yield client
        except (KilledWorker, CommClosedError) as exc:
            detail = " ".join(str(exc).split())
            raise ComputeError(
                f"dask workers died while computing ({type(exc).__name__}: {detail}); "
                "the blocks written so far are kept",
                key="compute.scheduler",
                fix="finish the run with --resume (footgrid run CONFIG --resume); if workers "
                "keep dying, give them more memory or use fewer of them",
            ) from exc


def _distributed(dsk: dict, keys: list, scheduler: str, workers: int | None, advance: Any) -> list:
    from distributed import as_completed

    with client_for(scheduler, workers) as client:
        futures = client.get(dsk, keys, sync=False)
        for _ in as_completed(futures):
            advance()
        return client.gather(futures)
