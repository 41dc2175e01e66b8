"""The one scheduler choice of a run (threads | processes | tcp://), with a progress bar."""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import logging
from collections.abc import Iterator
from typing import Any

import dask
from dask.callbacks import Callback

from footgrid import progress as fp
from footgrid.errors import ComputeError, ConfigError
from footgrid.execution.threads import cpu_count

log = logging.getLogger("footgrid")


@contextlib.contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Any]:
    """Blocks done / total on the run's progress display (:mod:`footgrid.progress`)."""
    if not enabled or total == 0:
        yield lambda n=1: None
        return

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


class Scheduler:
    """The one scheduler of a run: dask's threads, or a dask-distributed client.

    Made by :func:`scheduler_for` from ``[compute] scheduler`` and ``workers``; both execution
    plans compute through it, so a run opens at most one cluster and every thread count comes
    from :func:`footgrid.execution.threads.cpu_count` when ``workers`` is not given.
    """

    def __init__(self, name: str, workers: int, client: Any = None) -> None:
        self.name = name
        self.workers = workers
        self.client = client

    @property
    def dask_kwargs(self) -> dict[str, Any]:
        """Keywords for ``dask.compute`` that run on this scheduler."""
        if self.client is not None:
            return {"scheduler": self.client}
        if self.name == "synchronous":
            return {"scheduler": "synchronous"}
        return {"scheduler": "threads", "num_workers": self.workers}

    @property
    def threads(self) -> int | None:
        """Threads of this process to give the in-process kernels (None on a cluster)."""
        return self.workers if self.client is None else None

    def get(self, dsk: dict, keys: list, progress: bool = False) -> list:
        """Compute ``keys`` of the graph ``dsk`` and return their results in order."""
        if not keys:
            return []
        with _progress(len(keys), progress) as advance:
            if self.client is not None:
                futures = self.client.get(dsk, keys, sync=False)
                return self._gather(futures, advance)
            with _Counter(set(keys), advance):
                if self.name == "synchronous":
                    return list(dask.get(dsk, keys))
                return list(dask.threaded.get(dsk, keys, num_workers=self.workers))

    def scatter(self, objects: list, broadcast: bool = False) -> list:
        """Send ``objects`` to the cluster's workers (to every one with ``broadcast``); returns
        their futures, which graphs given to :meth:`get` may hold in place of the objects."""
        return self.client.scatter(objects, broadcast=broadcast, hash=False)

    def compute(self, tasks: list, progress: bool = False) -> list:
        """Compute dask collections (e.g. delayed blocks) and return their results in order."""
        if not tasks:
            return []
        with _progress(len(tasks), progress) as advance:
            if self.client is not None:
                return self._gather(self.client.compute(tasks), advance)
            with _Counter({t.key for t in tasks}, advance):
                return list(dask.compute(*tasks, **self.dask_kwargs))

    def _gather(self, futures: list, advance: Any) -> list:
        # distributed costs ~0.5 s to import; only cluster runs need it
        from distributed import as_completed

        for _ in as_completed(futures):
            advance()
        return self.client.gather(futures)


@contextlib.contextmanager
def scheduler_for(
    scheduler: str, workers: int | None, worker_timeout: float = 60
) -> Iterator[Scheduler]:
    """The :class:`Scheduler` of ``[compute] scheduler`` (``threads``, ``synchronous``,
    ``processes`` for a new ``distributed.LocalCluster``, or ``tcp://host:port``).

    Parameters
    ----------
    scheduler
        The scheduler's name or address.
    workers
        Threads, or worker processes for ``processes``; default: the cores this process may use.
    worker_timeout
        Seconds to wait for a ``tcp://`` scheduler to have at least one worker.
    """
    n = workers or cpu_count()
    if scheduler in ("threads", "synchronous"):
        with dask.config.set({"dataframe.shuffle.method": "tasks"}):
            yield Scheduler(scheduler, n)
        return
    with client_for(scheduler, n, worker_timeout) as client:
        yield Scheduler(scheduler, n, client)


@contextlib.contextmanager
def client_for(scheduler: str, workers: int | None, worker_timeout: float = 60) -> Iterator[Any]:
    """A dask-distributed Client: on a new LocalCluster (``processes``) or an address.

    A scheduler at an address must have a worker within ``worker_timeout`` seconds; losing
    the scheduler mid-run is a :class:`ComputeError` (the blocks written are kept).
    """
    # distributed costs ~0.5 s to import; only cluster runs need it
    from distributed import Client, KilledWorker, LocalCluster
    from distributed.comm import CommClosedError  # (the same)

    with contextlib.ExitStack() as stack:
        given = _CLIENT.get()
        if given is None and scheduler == "default":
            from distributed import default_client  # (as above: clusters only)

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
            n = workers or cpu_count()
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
            if scheduler != "processes":
                try:
                    client.wait_for_workers(1, timeout=worker_timeout)
                except TimeoutError:
                    raise ConfigError(
                        f"the dask scheduler at {address} has no worker "
                        f"(waited {worker_timeout:g} s)",
                        key="compute.scheduler",
                        fix=f"start workers with `dask worker {address}`, or raise [compute] "
                        "worker_timeout",
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
        except (OSError, TimeoutError, concurrent.futures.CancelledError) as exc:
            # A lost scheduler shows as a closed connection, a timeout, or (distributed's
            # FutureCancelledError) every pending future cancelled.
            if isinstance(exc, OSError) and exc.errno is not None:
                raise  # a task's own I/O error (a full disk...), not the connection
            raise ComputeError(
                f"lost the dask scheduler at {address} while computing "
                f"({type(exc).__name__}: {' '.join(str(exc).split())}); the blocks written "
                "so far are kept",
                key="compute.scheduler",
                fix="restart the scheduler and its workers, then finish the run with "
                "footgrid run CONFIG --resume",
            ) from exc
