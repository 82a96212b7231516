"""From a database URL to the event store's settings for one province's application."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from domain.errors import InvalidInput

SQLITE_FACTORY = "domain.persistence.sqlite:LedgerSQLiteFactory"
POSTGRES_FACTORY = "domain.persistence.postgres:LedgerPostgresFactory"
MEMORY_FACTORY = "domain.persistence.popo:LedgerPOPOFactory"


def store_env(url: str) -> dict[str, str]:
    """The eventsourcing environment for a database URL (CONTRACT.md "The database").

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
