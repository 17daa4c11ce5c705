"""Where heavy work runs: this process, a local Dask cluster, or a remote scheduler."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from lupex.errors import ConfigError


@contextlib.contextmanager
def dask_client(workers: int = 0, scheduler: str = "") -> Iterator[object | None]:
    """Yield a ``dask.distributed.Client`` (or None to compute in-process).

    ``scheduler`` (``tcp://host:port``) connects to a running cluster;
    otherwise ``workers > 0`` starts a LocalCluster of single-threaded worker
    processes that is shut down on exit.
    """
    if not scheduler and workers <= 0:
        yield None
        return
    from dask.distributed import Client, LocalCluster  # noqa: PLC0415  heavy; only with a cluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the address and that it is running"
            ) from exc
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
