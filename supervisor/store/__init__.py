"""Records, keys and (later) reviews and audit. SQLite by default; the URL picks the backend."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Store
from .records import ExchangeRecord
from .sqlite import SqliteStore

__all__ = ["ExchangeRecord", "SqliteStore", "Store", "open_store"]


def open_store(url: str) -> Store:
    if url == "sqlite://" or url == "sqlite:///:memory:":
        return SqliteStore(":memory:")
    if url.startswith("sqlite:///"):
        return SqliteStore(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(url)
    raise ConfigError(f"SUPERVISOR_DATABASE_URL {url!r} is not supported; use sqlite:///path/to/file.db or "
                      "postgresql://user:password@host:port/dbname")
