"""Review-page accounts and the append-only record of what reviewers did.

Kept apart from the exchange records so the SQL can be ported (PostgreSQL) and audited on its own: plain
tables, `?` parameters, no SQLite-only functions. `ReviewTables` is mixed into the store; it needs only the
store's `_write()` (serialised, retried writes), `_lock` and `_db`.

Nothing here is ever deleted: `review_actions` refuses UPDATE and DELETE by trigger, and an exchange's review
status is the latest confirm or override on it, so a changed mind is a new row, not an edit.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ..errors import StoreError

REVIEW_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username       TEXT PRIMARY KEY,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL,
    lang           TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS user_schools (
    username   TEXT NOT NULL REFERENCES users (username),
    school_id  TEXT NOT NULL,
    PRIMARY KEY (username, school_id)
);
CREATE TABLE IF NOT EXISTS review_actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  TEXT NOT NULL,
    school_id   TEXT NOT NULL,
    username    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    action      TEXT NOT NULL,
    text        TEXT,
    rule_id     TEXT,
    sentence    TEXT
);
CREATE INDEX IF NOT EXISTS review_actions_request ON review_actions (request_id, id);
CREATE TRIGGER IF NOT EXISTS review_actions_no_update BEFORE UPDATE ON review_actions
BEGIN SELECT RAISE(ABORT, 'review_actions is append-only'); END;
CREATE TRIGGER IF NOT EXISTS review_actions_no_delete BEFORE DELETE ON review_actions
BEGIN SELECT RAISE(ABORT, 'review_actions is append-only'); END;
"""

ROLES = ("teacher", "admin")
ACTIONS = ("confirm", "override_false_alarm", "override_missed", "note")
STATUSES = ("unreviewed", "confirmed", "overridden")
QUEUE_DECISIONS = ("flag", "rewrite", "block")

# The latest verdict-changing action on an exchange; notes do not change its status.
_LATEST_ACTION = ("(SELECT r.action FROM review_actions r WHERE r.request_id = e.request_id "
                  "AND r.action <> 'note' ORDER BY r.id DESC LIMIT 1)")
_LATEST_REVIEWER = ("(SELECT r.username FROM review_actions r WHERE r.request_id = e.request_id "
                    "AND r.action <> 'note' ORDER BY r.id DESC LIMIT 1)")


def status_of(action: str | None) -> str:
    if action is None:
        return "unreviewed"
    return "confirmed" if action == "confirm" else "overridden"


def _like(value: str) -> str:
    """A LIKE pattern that matches `value` literally (ids and categories contain `_`)."""
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows. `schools` is the reviewer's scope and is always applied."""

    schools: tuple[str, ...]
    decisions: tuple[str, ...] = QUEUE_DECISIONS
    grade: int | None = None
    lang: str | None = None
    rule: str | None = None
    category: str | None = None
    status: str | None = None
    since: str | None = None   # ISO date or timestamp, inclusive
    until: str | None = None   # ISO date or timestamp, exclusive

    def where(self) -> tuple[str, list]:
        if not self.schools:
            return "1 = 0", []
        clauses = [f"e.school_id IN ({', '.join('?' * len(self.schools))})",
                   f"e.decision IN ({', '.join('?' * len(self.decisions))})"]
        params: list = [*self.schools, *self.decisions]
        if self.grade is not None:
            clauses.append("e.grade = ?")
            params.append(self.grade)
        if self.lang:
            clauses.append("e.lang = ?")
            params.append(self.lang)
        if self.rule:  # rules is a JSON list of ids: match the quoted id exactly
            clauses.append("e.rules LIKE ? ESCAPE '\\'")
            params.append(_like(f'"{self.rule}"'))
        if self.category:
            clauses.append("e.findings LIKE ? ESCAPE '\\'")
            params.append(_like(f'"category": "{self.category}"'))
        if self.since:
            clauses.append("e.created_at >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("e.created_at < ?")
            params.append(self.until)
        if self.status == "unreviewed":
            clauses.append(f"{_LATEST_ACTION} IS NULL")
        elif self.status == "confirmed":
            clauses.append(f"{_LATEST_ACTION} = 'confirm'")
        elif self.status == "overridden":
            clauses.append(f"{_LATEST_ACTION} LIKE 'override%'")
        return " AND ".join(clauses), params


class ReviewTables:
    """Users and review actions. Mixed into the store class, which provides `_write`, `_lock` and `_db`."""

    _db: sqlite3.Connection
    _lock: object

    def _select(self, sql: str, params: tuple | list = ()) -> list[dict]:
        with self._lock:  # type: ignore[attr-defined]
            return [dict(row) for row in self._db.execute(sql, tuple(params)).fetchall()]

    # users ------------------------------------------------------------------------------------------
    def add_user(self, username: str, password_hash: str, role: str, schools: list[str], lang: str,
                 created_at: str) -> None:
        if role not in ROLES:
            raise StoreError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if self.user(username):
            raise StoreError(f"user {username!r} already exists; pick another name (accounts are never deleted)")
        self._write("INSERT INTO users (username, password_hash, role, lang, created_at) VALUES (?, ?, ?, ?, ?)",
                    (username, password_hash, role, lang, created_at))
        for school in dict.fromkeys(schools):
            self._write("INSERT INTO user_schools (username, school_id) VALUES (?, ?)", (username, school))

    def user(self, username: str) -> dict | None:
        rows = self._select("SELECT username, password_hash, role, lang, created_at FROM users WHERE username = ?",
                            (username,))
        if not rows:
            return None
        user = rows[0]
        user["schools"] = [r["school_id"] for r in self._select(
            "SELECT school_id FROM user_schools WHERE username = ? ORDER BY school_id", (username,))]
        return user

    def users(self) -> list[dict]:
        names = [r["username"] for r in self._select("SELECT username FROM users ORDER BY username")]
        return [u for u in (self.user(n) for n in names) if u]

    def update_user(self, username: str, *, lang: str | None = None, password_hash: str | None = None) -> None:
        if lang is not None:
            self._write("UPDATE users SET lang = ? WHERE username = ?", (lang, username))
        if password_hash is not None:
            self._write("UPDATE users SET password_hash = ? WHERE username = ?", (password_hash, username))

    # review actions ---------------------------------------------------------------------------------
    def add_review_action(self, request_id: str, school_id: str, username: str, action: str, created_at: str,
                          text: str | None = None, rule_id: str | None = None, sentence: str | None = None) -> int:
        if action not in ACTIONS:
            raise StoreError(f"review action must be one of {', '.join(ACTIONS)}, got {action!r}")
        cur = self._write("INSERT INTO review_actions (request_id, school_id, username, created_at, action, text, "
                          "rule_id, sentence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          (request_id, school_id, username, created_at, action, text, rule_id, sentence))
        return int(cur.lastrowid)

    def review_actions(self, request_id: str) -> list[dict]:
        return self._select("SELECT * FROM review_actions WHERE request_id = ? ORDER BY id", (request_id,))

    def review_queue(self, where: QueueFilter, limit: int = 50, offset: int = 0,
                     before_id: int | None = None) -> list[dict]:
        """Exchanges in scope, newest first, each with `review_action` (latest) and `reviewed_by`.
        JSON columns are left as text; the caller decodes what it shows."""
        sql, params = where.where()
        if before_id is not None:
            sql += " AND e.id < ?"
            params.append(before_id)
        return self._select(f"SELECT e.*, {_LATEST_ACTION} AS review_action, {_LATEST_REVIEWER} AS reviewed_by "
                            f"FROM exchanges e WHERE {sql} ORDER BY e.id DESC LIMIT ? OFFSET ?",
                            [*params, limit, offset])

    def queue_count(self, where: QueueFilter) -> int:
        sql, params = where.where()
        return int(self._select(f"SELECT COUNT(*) AS n FROM exchanges e WHERE {sql}", params)[0]["n"])

    def rule_outcomes(self, where: QueueFilter) -> list[dict]:
        """Per exchange in scope: its rules (JSON text) and latest review action, for false-alarm rates."""
        sql, params = where.where()
        return self._select(f"SELECT e.rules, {_LATEST_ACTION} AS review_action FROM exchanges e WHERE {sql}",
                            params)

    def overrides(self, schools: tuple[str, ...]) -> list[dict]:
        """Every override in scope with the exchange it is about (for suggested examples)."""
        if not schools:
            return []
        marks = ", ".join("?" * len(schools))
        return self._select(
            "SELECT r.id, r.request_id, r.school_id, r.username, r.created_at, r.action, r.text, r.rule_id, "
            f"r.sentence, e.lang, e.country, e.findings, {_LATEST_ACTION} AS review_action "
            "FROM review_actions r JOIN exchanges e ON e.request_id = r.request_id "
            f"WHERE r.school_id IN ({marks}) AND r.action LIKE 'override%' ORDER BY r.id", schools)
