"""Helper processes for ``audit verify``: a province's funds checked side by side.

The walk of a province (read, decode, rehash, replay) is Python work of about 30 µs an event,
one core's worth. With helpers, each province's funds are dealt one at a time
(:class:`projections.audit._Offers`): each helper process, on the same store, takes the
largest fund left whenever it is free (:func:`projections.audit.fund_passes` of that fund) and
sends back its findings and the little the checks across funds need, while the calling process
walks the smallest left; the checks that read no fund's pass run in the calling process while
the helpers finish. The result is the same report, finding for finding, as one process gives
(the tests compare both).

``processes``: None chooses (docs/auditors.md): as many as the machine has cores, at most
:data:`MAX_PROCESSES`, when the store is a database another process can open (not
``memory://``) and the provinces checked hold at least :data:`AUTO_FROM_EVENTS` events, since
starting a process costs about a second; one process otherwise. A number asks for exactly
that many (1: no helper).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from api.settings import Settings
from domain.funds import FundId
from projections.audit import Anchored, FundPass, Helper, fund_passes
from projections.service import ReadModels

AUTO_FROM_EVENTS = 200_000
"""Below this many events in the provinces checked, one process is quicker than starting more."""

MAX_PROCESSES = 8
"""The most processes ``audit verify`` starts by itself."""


def processes_for(
    settings: Settings,
    read_models: ReadModels,
    provinces: Sequence[str] | None,
    asked: int | None,
) -> int:
    """How many processes check the funds: ``asked``, or the choice of the module's rule."""
    if not _shareable(settings):
        return 1
    if asked is not None:
        return asked
    events = sum(
        s.head for s in read_models.status() if provinces is None or s.province in provinces
    )
    if events < AUTO_FROM_EVENTS:
        return 1
    return max(1, min(MAX_PROCESSES, os.cpu_count() or 1))


def _shareable(settings: Settings) -> bool:
    urls = [settings.database_url, *settings.province_database_urls.values()]
    return not any(url.startswith("memory:") for url in urls)


class ProcessHelper:
    """``processes - 1`` helper processes on the store of ``settings`` (a :class:`Helper`)."""

    def __init__(self, settings: Settings, processes: int) -> None:
        self.helpers = processes - 1
        self._pool = ProcessPoolExecutor(
            max_workers=self.helpers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_open,
            initargs=(settings,),
        )
        for _ in range(self.helpers):  # started now: a process takes about a second to start
            self._pool.submit(_started)

    def submit(
        self,
        province: str,
        funds: list[FundId],
        year: int | None,
        anchored: dict[str, list[Anchored]],
        summed: dict[str, list[tuple[Any, ...]]],
    ) -> Future[list[FundPass]]:
        return self._pool.submit(_passes, province, [str(f) for f in funds], year, anchored, summed)

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


@contextmanager
def helper_processes(settings: Settings, processes: int) -> Iterator[Helper | None]:
    """The helpers of ``processes`` processes in all (None for one), shut down after use."""
    if processes <= 1:
        yield None
        return
    helper = ProcessHelper(settings, processes)
    try:
        yield helper
    finally:
        helper.close()


_opened: list[object] = []


def _started() -> None:
    """Nothing: submitted once a helper so that its process starts at once, while the caller
    still lists the funds."""


def _open(settings: Settings) -> None:
    """A helper process's store, opened once (its read models are not caught up: the calling
    process did that before it dealt the funds)."""
    from api.bootstrap import bootstrap_app

    _opened.append(bootstrap_app(settings))


def _passes(
    province: str,
    funds: list[str],
    year: int | None,
    anchored: dict[str, list[Anchored]],
    summed: dict[str, list[tuple[Any, ...]]],
) -> list[FundPass]:
    from api.bootstrap import App

    app = _opened[0]
    assert isinstance(app, App)
    return fund_passes(
        app.ledger,
        app.read_models,
        province,
        [FundId.parse(f) for f in funds],
        year=year,
        anchored=anchored,
        summed=summed,
    )
