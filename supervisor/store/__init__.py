"""Records, keys and (later) reviews and audit. SQLite by default; the URL picks the backend."""

from __future__ import annotations

from ..errors import ConfigError
from .records import ExchangeRecord
from .sqlite import SqliteStore

__all__ = ["ExchangeRecord", "SqliteStore", "open_store"]


def open_store(url: str) -> SqliteStore:
    if url.startswith("sqlite:///"):
        return SqliteStore(url.removeprefix("sqlite:///"))
    if url == "sqlite://" or url == "sqlite:///:memory:":
        return SqliteStore(":memory:")
    raise ConfigError(f"SUPERVISOR_DATABASE_URL {url!r} is not supported yet; use sqlite:///path/to/file.db")
