"""The composition root: settings → storage → the ledger and its read models.

The CLI, the HTTP API and the tests build everything through :func:`bootstrap`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from api.identity.tokens import TokenStore
from api.settings import Settings
from api.storage import store_env
from domain.ledger_service import Ledger
from domain.regions import PROVINCES
from projections.db import ProjectionDB, connect
from projections.runner import Projector
from projections.service import ReadModels
from projections.source import EventSource, LedgerEventSource, SqlEventSource


@dataclass
class App:
    """Everything a command needs."""

    ledger: Ledger
    read_models: ReadModels
    settings: Settings
    """What the app was opened with, for a process that opens the same store (``audit
    verify``'s helpers)."""

    @property
    def settings_url(self) -> str:
        """The default database's URL (tokens and sessions are kept there)."""
        return self.settings.database_url

    def init(self) -> int:
        """Create every table of a new store (events, vouchers, read models)."""
        count = self.ledger.init()
        self.read_models.create_tables()
        self.tokens.create_table()
        return count

    @cached_property
    def tokens(self) -> TokenStore:
        """The HTTP API's tokens, in the default database (docs/operations.md)."""
        return TokenStore(self.settings_url)

    def close(self) -> None:
        self.read_models.close()
        self.ledger.close()
        if "tokens" in self.__dict__:
            self.tokens.close()


def bootstrap(settings: Settings | None = None) -> Ledger:
    """The ledger alone, for these settings (read from the environment when not given)."""
    settings = settings or Settings()
    envs = {code: store_env(url) for code, url in settings.province_database_urls.items()}
    default = store_env(settings.database_url)

    def env_for(province: str) -> dict[str, str]:
        return envs.get(province, default)

    return Ledger(env_for)


def bootstrap_app(
    settings: Settings | None = None, *, connect_db: Callable[[str], ProjectionDB] = connect
) -> App:
    """The ledger and its read models (settings read from the environment when not given).

    ``connect_db`` opens the read models' connections: the HTTP server passes one whose
    connections may be shared by threads (:mod:`api.http.concurrency`).
    """
    settings = settings or Settings()
    ledger = bootstrap(settings)
    return App(ledger, ReadModels(projectors(settings, ledger, connect_db)), settings)


def projectors(
    settings: Settings, ledger: Ledger, connect_db: Callable[[str], ProjectionDB] = connect
) -> list[Projector]:
    """One projector per database of these settings, on new connections (``memory://``
    reads its events through ``ledger``)."""
    urls: dict[str, list[str]] = {}
    for province in PROVINCES:
        url = settings.province_database_urls.get(province, settings.database_url)
        urls.setdefault(url, []).append(province)
    found = []
    for url, provinces in urls.items():
        db = connect_db(url)
        source: EventSource = (
            LedgerEventSource(ledger)
            if url.startswith("memory:")
            else SqlEventSource(connect_db(url))
        )
        found.append(Projector(db, source, provinces))
    return found
