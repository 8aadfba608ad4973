"""SQLite store: one file, zero set-up. Writes are serialised by a lock and retried while the file is locked
by another process, so a busy database delays a record rather than losing it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import StoreError
from .base import KeyGrant
from .chain import AUDIT_TABLES, AuditedStore
from .records import COLUMNS, JSON_COLUMNS, ExchangeRecord, exchange_from_row, exchange_payload, now
from .reviews import REVIEW_SCHEMA, ReviewTables
from .rule_texts import RULE_TEXT_SCHEMA, RuleTextTables
from .sessions import SESSION_SCHEMA, SessionTables

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash    TEXT PRIMARY KEY,
    prefix      TEXT NOT NULL,
    school_id   TEXT NOT NULL,
    grade       INTEGER,
    min_age     INTEGER,
    max_age     INTEGER,
    label       TEXT,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE TABLE IF NOT EXISTS exchanges (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id      TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    school_id       TEXT NOT NULL,
    user_pseudonym  TEXT,
    model           TEXT NOT NULL,
    country         TEXT NOT NULL,
    curriculum      TEXT NOT NULL,
    grade           INTEGER,
    lang            TEXT,
    mode            TEXT NOT NULL,
    stream          INTEGER NOT NULL,
    status          TEXT NOT NULL,
    decision        TEXT,
    rules           TEXT NOT NULL,
    findings        TEXT NOT NULL,
    messages        TEXT NOT NULL,
    original_text   TEXT,
    delivered_text  TEXT,
    error           TEXT,
    latency_ms      REAL,
    supervision_ms  REAL,
    attempts        INTEGER NOT NULL,
    privacy         TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS exchanges_school_time ON exchanges (school_id, created_at);
"""

KEY_PREFIX = "sk-school-"
_COLUMNS = COLUMNS
_JSON = JSON_COLUMNS
# Columns added after the first release, with their definitions: added to older databases on open.
_ADDED_COLUMNS = {"exchanges": {"privacy": "TEXT NOT NULL DEFAULT '{}'", "audit_seq": "INTEGER"},
                  "api_keys": {"min_age": "INTEGER", "max_age": "INTEGER"}}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class SqliteStore(AuditedStore, ReviewTables, SessionTables, RuleTextTables):
    def __init__(self, path: str, busy_timeout: float = 10.0):
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, timeout=busy_timeout, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA + AUDIT_TABLES + REVIEW_SCHEMA + SESSION_SCHEMA + RULE_TEXT_SCHEMA)
            self._add_missing_columns()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite database {path!r}: {exc}. Check the path in "
                             f"SUPERVISOR_DATABASE_URL and that the folder is writable.") from exc
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self.busy_timeout = busy_timeout

    def _add_missing_columns(self) -> None:
        for table, columns in _ADDED_COLUMNS.items():
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for name, definition in columns.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")

    def close(self) -> None:
        self._db.close()

    def _write(self, sql: str, params: tuple) -> sqlite3.Cursor:
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                with self._lock:
                    return self._db.execute(sql, params)
            except sqlite3.Error as exc:
                if not isinstance(exc, sqlite3.OperationalError) or ("locked" not in str(exc)
                                                                     and "busy" not in str(exc)):
                    raise StoreError(f"database write failed: {exc}") from exc
                if time.monotonic() > deadline:
                    raise StoreError(f"the database {self.path!r} stayed locked for {self.busy_timeout:.0f}s; "
                                     "another process holds it: stop it or raise the busy timeout") from exc
                time.sleep(0.05)

    def deployment_secret(self) -> str:
        """The key for pseudonyms, created once per deployment and kept with the records it protects."""
        self._write("INSERT OR IGNORE INTO meta (key, value) VALUES ('pseudonym_secret', ?)",
                    (secrets.token_hex(32),))
        with self._lock:
            return self._db.execute("SELECT value FROM meta WHERE key = 'pseudonym_secret'").fetchone()[0]

    # keys -------------------------------------------------------------------------------------------
    def issue_key(self, school_id: str, label: str | None = None, grade: int | None = None,
                  ages: tuple[int, int] | None = None) -> str:
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        low, high = ages or (None, None)
        self._write("INSERT INTO api_keys (key_hash, prefix, school_id, grade, min_age, max_age, label, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (hash_key(key), key[:14], school_id, grade, low, high, label,
                                                        now()))
        return key

    def lookup_key(self, key: str) -> KeyGrant | None:
        with self._lock:
            row = self._db.execute("SELECT school_id, grade, min_age, max_age FROM api_keys "
                                   "WHERE key_hash = ? AND revoked_at IS NULL", (hash_key(key),)).fetchone()
        if not row:
            return None
        ages = (row["min_age"], row["max_age"]) if row["min_age"] is not None else None
        return KeyGrant(row["school_id"], row["grade"], ages)

    # audit chain backend ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes SQLite's write lock up front, so appends from several processes queue
        instead of forking the chain; a lock held elsewhere is waited for up to the busy timeout."""
        deadline = time.monotonic() + self.busy_timeout
        with self._lock:
            self._transaction_begun()
            while True:
                try:
                    self._db.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                        raise StoreError(f"database write failed on {self.path!r}: {exc}") from exc
                    time.sleep(0.02)
            try:
                yield self._db
                self._db.execute("COMMIT")
                self._transaction_committed()
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already (disk full, I/O)
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):  # read-only file, disk full, a failed constraint: a 503
                    raise StoreError(f"database write failed on {self.path!r}: {exc}") from exc
                raise

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return [tuple(r) for r in self._db.execute(sql, params).fetchall()]

    def _select(self, sql: str, params: tuple | list = ()) -> list[dict]:
        with self._lock:
            return [dict(row) for row in self._db.execute(sql, tuple(params)).fetchall()]

    def _exchange_rows(self) -> Iterator[dict]:
        last = 0
        while True:
            with self._lock:
                rows = self._db.execute("SELECT * FROM exchanges WHERE id > ? ORDER BY id LIMIT 2000",
                                        (last,)).fetchall()
            for row in rows:
                yield exchange_from_row(dict(row))
            if len(rows) < 2000:
                return
            last = rows[-1]["id"]

    # exchanges --------------------------------------------------------------------------------------
    def record(self, rec: ExchangeRecord) -> int:
        """Insert the exchange and chain it in the audit log, in one transaction."""
        values = rec.to_dict()
        row = [json.dumps(values[c], ensure_ascii=False) if c in _JSON else values[c] for c in _COLUMNS]
        cols = ", ".join(["created_at", "audit_seq", *_COLUMNS])
        marks = ", ".join("?" * (len(_COLUMNS) + 2))
        created_at = now()
        with self._transaction() as tx:
            seq = self.append_in(tx, "exchange", exchange_payload(rec, created_at), created_at)
            cur = tx.execute(f"INSERT INTO exchanges ({cols}) VALUES ({marks})", (created_at, seq, *row))
            return int(cur.lastrowid)

    def _rows(self, sql: str, params: tuple) -> list[dict]:
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [exchange_from_row(dict(row)) for row in rows]

    def exchanges(self, school_id: str | None = None, limit: int = 100) -> list[dict]:
        if school_id:
            return self._rows("SELECT * FROM exchanges WHERE school_id = ? ORDER BY id DESC LIMIT ?", (school_id, limit))
        return self._rows("SELECT * FROM exchanges ORDER BY id DESC LIMIT ?", (limit,))

    def exchange(self, request_id: str) -> dict | None:
        rows = self._rows("SELECT * FROM exchanges WHERE request_id = ?", (request_id,))
        return rows[0] if rows else None
