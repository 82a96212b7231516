"""From a database URL to the event store's settings for one province's application."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from domain.errors import InvalidInput, Retryable

SQLITE_FACTORY = "domain.persistence.sqlite:LedgerSQLiteFactory"
POSTGRES_FACTORY = "domain.persistence.postgres:LedgerPostgresFactory"
MEMORY_FACTORY = "domain.persistence.popo:LedgerPOPOFactory"


def store_env(url: str) -> dict[str, str]:
    """The eventsourcing environment for a database URL (docs/contract.md, "The database").

    ``sqlite:///relative.db``, ``sqlite:////absolute.db``; ``postgresql://user[:password]@
    host[:port]/dbname[?schema=name]``; ``memory://`` keeps everything in this process.
    """
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path:
            raise InvalidInput(f"{url!r}: a SQLite URL is sqlite:///path/to/file.db", field="db")
        return {
            "PERSISTENCE_MODULE": SQLITE_FACTORY,
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    if parts.scheme in ("postgresql", "postgres"):
        dbname = parts.path.lstrip("/")
        if not dbname or not parts.hostname:
            raise InvalidInput(
                f"{url!r}: a PostgreSQL URL is postgresql://user[:password]@host[:port]/dbname",
                field="db",
            )
        query = parse_qs(parts.query)
        return {
            "PERSISTENCE_MODULE": POSTGRES_FACTORY,
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": parts.hostname,
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_SCHEMA": query.get("schema", [""])[0],
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": "4",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_LOCK_TIMEOUT": "30",
        }
    if parts.scheme == "memory":
        return {"PERSISTENCE_MODULE": MEMORY_FACTORY}
    raise InvalidInput(
        f"{url!r}: the database URL starts with sqlite:///, postgresql:// or memory://",
        field="db",
    )


class StoreRefused(InvalidInput):
    """The database URL names a store that cannot be used as given: a folder that does not
    exist, an unknown database or user, a wrong password, a closed port. The user's to fix
    (CLI exit 2)."""


class StoreUnreachable(Retryable):
    """The store did not answer in time (a timeout, a dropped connection, a locked SQLite
    file): the same request may succeed later (CLI exit 75, HTTP 503)."""


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, None for any other store."""
    if not url.startswith("sqlite:///"):
        return None
    return Path(url[len("sqlite:///") :])


def check_store_file(url: str, *, create: bool) -> None:
    """Refuse a SQLite store that is not there, before anything connects to it.

    Connecting to SQLite creates the file: a read must never leave an empty store behind a
    mistyped path, so only the commands that create a store (init, funds open, demo) may
    name a file that does not exist yet, and then its folder must exist.

    Raises:
        StoreRefused: the file (or, when creating, its folder) does not exist.
    """
    path = sqlite_path(url)
    if path is None or path.exists():
        return
    if not create:
        raise StoreRefused(
            f"there is no store at {path}: run 'fundledger init' first (or name the right "
            "file with --db)",
            field="db",
        )
    if not path.parent.is_dir():
        raise StoreRefused(
            f"cannot create {path}: the folder {path.parent} does not exist", field="db"
        )


_REFUSED_BY_SERVER = (
    "does not exist",
    "password authentication failed",
    "no password supplied",
    "could not translate host name",
    "no pg_hba.conf entry",
    "unable to open database file",
    "permission denied",
    "is not a database",
    "Connection refused",
)
"""Words of a store's refusal that say the URL is wrong, not that the store is away.

A closed port counts as a wrong URL: nothing listens where ``--db`` points (a mistyped port
or host), and the command cannot know that anything ever will."""


def store_failure(error: BaseException) -> StoreRefused | StoreUnreachable | None:
    """The domain error for a failure of the store itself, None for any other exception.

    A server that answered and refused (unknown database or user, wrong password, a SQLite
    folder that does not exist) or a port where nothing listens is the user's mistake; a
    server that did not answer in time, a dropped connection or a store locked by another
    writer may work on the next attempt.
    """
    seen: BaseException | None = error
    while seen is not None:
        kind = type(seen)
        module = kind.__module__.split(".")[0]
        if module in ("psycopg", "psycopg_pool", "sqlite3", "eventsourcing") and kind.__name__ in (
            "OperationalError",
            "InterfaceError",
            "PoolTimeout",
            "DatabaseError",
        ):
            return _classify(str(seen))
        seen = seen.__cause__ or seen.__context__
    return None


def _classify(text: str) -> StoreRefused | StoreUnreachable:
    detail = text.partition("FATAL:")[2].strip() or text
    detail = " ".join(detail.split())
    if any(words in text for words in _REFUSED_BY_SERVER):
        return StoreRefused(f"the store refused the connection: {detail}", field="db")
    return StoreUnreachable(f"the store did not answer: {detail}; try again", field="db")
