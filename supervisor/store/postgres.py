"""PostgreSQL store (psycopg 3): several proxy replicas behind a load balancer share one store and one chain.

Chain appends are serialised across every replica by a transaction-level advisory lock taken before the
chain's head is read, so two writers can never both extend the same head (no forks), and a transaction that
fails rolls back its exchange row and its audit entry together (no losses, no orphans). `seq` is the primary
key as a last line of defence.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
from collections.abc import Iterator

from ..errors import StoreError
from .base import KeyGrant
from .chain import AUDIT_TABLES, AuditedStore
from .records import COLUMNS, JSON_COLUMNS, ExchangeRecord, exchange_from_row, exchange_payload, now
from .reviews import REVIEW_SCHEMA_POSTGRES, ReviewTables
from .rule_texts import RULE_TEXT_SCHEMA, RuleTextTables
from .sessions import SESSION_SCHEMA, SessionTables
from .sqlite import KEY_PREFIX, hash_key

# Any constant shared by all replicas; "edu-supervisor audit chain" in ASCII, folded into a signed 64-bit int.
CHAIN_LOCK = 0x6564752D61756469

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
    id              BIGSERIAL PRIMARY KEY,
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
    stream          BOOLEAN NOT NULL,
    status          TEXT NOT NULL,
    decision        TEXT,
    rules           TEXT NOT NULL,
    findings        TEXT NOT NULL,
    messages        TEXT NOT NULL,
    original_text   TEXT,
    delivered_text  TEXT,
    error           TEXT,
    latency_ms      DOUBLE PRECISION,
    supervision_ms  DOUBLE PRECISION,
    attempts        INTEGER NOT NULL,
    privacy         TEXT NOT NULL DEFAULT '{}',
    audit_seq       BIGINT
);
CREATE TABLE IF NOT EXISTS meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS exchanges_school_time ON exchanges (school_id, created_at);
"""


def _placeholders(sql: str) -> str:
    """The shared SQL's `?` as psycopg's `%s`; a literal `%` (LIKE 'override%') is doubled first."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Tx:
    """A transaction's connection, speaking the shared SQL's `?` placeholders."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql: str, params: tuple = ()):
        return self.conn.execute(_placeholders(sql), params)


class PostgresStore(AuditedStore, ReviewTables, SessionTables, RuleTextTables):
    def __init__(self, url: str):
        self.url = url
        self._lock = threading.Lock()
        self._conn = None
        try:
            self._connect()
            with self._transaction() as tx:         # the lock also keeps replicas from racing on CREATE TABLE
                tx.conn.execute(SCHEMA + AUDIT_TABLES + REVIEW_SCHEMA_POSTGRES + SESSION_SCHEMA + RULE_TEXT_SCHEMA)
                for column in ("min_age", "max_age"):  # added after the first release: older databases lack them
                    tx.conn.execute(f"ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS {column} INTEGER")
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot open the PostgreSQL database: {exc}. Check SUPERVISOR_DATABASE_URL "
                             "(postgresql://user:password@host:port/dbname) and that the server is up") from exc

    def _connect(self):
        import psycopg

        if self._conn is None or self._conn.closed or self._conn.broken:
            try:
                self._conn = psycopg.connect(self.url, autocommit=True)
            except psycopg.Error as exc:
                raise StoreError(f"cannot connect to PostgreSQL: {exc}") from exc
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[_Tx]:
        import psycopg

        with self._lock:
            self._transaction_begun()
            conn = self._connect()
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (CHAIN_LOCK,))
                    yield _Tx(conn)
            except psycopg.Error as exc:
                raise StoreError(f"database write failed: {exc}") from exc
            self._transaction_committed()

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with self._lock:
            try:
                return self._connect().execute(_placeholders(sql), params).fetchall()
            except psycopg.Error as exc:
                raise StoreError(f"database read failed: {exc}") from exc

    def _dicts(self, sql: str, params: tuple = ()) -> list[dict]:
        from psycopg.rows import dict_row

        with self._lock:
            with self._connect().cursor(row_factory=dict_row) as cur:
                return cur.execute(sql, params).fetchall()

    def _select(self, sql: str, params: tuple | list = ()) -> list[dict]:
        """Rows as dicts for the shared (`?`) SQL of the review tables."""
        import psycopg

        try:
            return self._dicts(_placeholders(sql), tuple(params))
        except psycopg.Error as exc:
            raise StoreError(f"database read failed: {exc}") from exc

    def _exchange_rows(self) -> Iterator[dict]:
        last = 0
        while True:
            rows = self._dicts("SELECT * FROM exchanges WHERE id > %s ORDER BY id LIMIT 2000", (last,))
            for row in rows:
                yield exchange_from_row(row)
            if len(rows) < 2000:
                return
            last = rows[-1]["id"]

    def deployment_secret(self) -> str:
        with self._transaction() as tx:
            tx.execute("INSERT INTO meta (key, value) VALUES ('pseudonym_secret', ?) ON CONFLICT (key) DO NOTHING",
                       (secrets.token_hex(32),))
            return tx.execute("SELECT value FROM meta WHERE key = 'pseudonym_secret'").fetchone()[0]

    def issue_key(self, school_id: str, label: str | None = None, grade: int | None = None,
                  ages: tuple[int, int] | None = None) -> str:
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        low, high = ages or (None, None)
        with self._transaction() as tx:
            tx.execute("INSERT INTO api_keys (key_hash, prefix, school_id, grade, min_age, max_age, label, "
                       "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (hash_key(key), key[:14], school_id, grade, low, high, label, now()))
        return key

    def lookup_key(self, key: str) -> KeyGrant | None:
        rows = self._query("SELECT school_id, grade, min_age, max_age FROM api_keys "
                           "WHERE key_hash = ? AND revoked_at IS NULL", (hash_key(key),))
        if not rows:
            return None
        school_id, grade, low, high = rows[0]
        return KeyGrant(school_id, grade, (low, high) if low is not None else None)

    def record(self, rec: ExchangeRecord) -> int:
        values = rec.to_dict()
        row = [json.dumps(values[c], ensure_ascii=False) if c in JSON_COLUMNS else values[c] for c in COLUMNS]
        cols = ", ".join(["created_at", "audit_seq", *COLUMNS])
        marks = ", ".join("?" * (len(COLUMNS) + 2))
        created_at = now()
        with self._transaction() as tx:
            seq = self.append_in(tx, "exchange", exchange_payload(rec, created_at), created_at)
            cur = tx.execute(f"INSERT INTO exchanges ({cols}) VALUES ({marks}) RETURNING id", (created_at, seq, *row))
            return int(cur.fetchone()[0])

    def exchanges(self, school_id: str | None = None, limit: int = 100) -> list[dict]:
        if school_id:
            rows = self._dicts("SELECT * FROM exchanges WHERE school_id = %s ORDER BY id DESC LIMIT %s",
                               (school_id, limit))
        else:
            rows = self._dicts("SELECT * FROM exchanges ORDER BY id DESC LIMIT %s", (limit,))
        return [exchange_from_row(r) for r in rows]

    def exchange(self, request_id: str) -> dict | None:
        rows = self._dicts("SELECT * FROM exchanges WHERE request_id = %s", (request_id,))
        return exchange_from_row(rows[0]) if rows else None
