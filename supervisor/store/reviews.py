"""Review-page accounts and the append-only record of what reviewers did, on either backend.

Kept apart from the exchange records: plain tables and `?` parameters. `ReviewTables` is mixed into a store
next to `AuditedStore` and uses only what both backends already give the chain: `_transaction()` (a write
transaction whose `execute` speaks `?`) and `_select(sql, params)` (rows as dicts). The SQLite schema is
`REVIEW_SCHEMA`, the PostgreSQL port `REVIEW_SCHEMA_POSTGRES`.

Nothing here is ever deleted: `review_actions` refuses UPDATE and DELETE by trigger, and an exchange's review
status is the latest confirm or override on it, so a changed mind is a new row, not an edit. Each action is
also chained in the audit log (kind `review.action`, payload = the row) in the transaction that inserts it, so
`audit verify` can tell an edited, deleted or inserted row even if someone drops the triggers; a new account
is chained too (`user.added`, without its password hash).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import StoreError
from .audit import REVIEW_KIND

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

# The same tables on PostgreSQL: an identity column for AUTOINCREMENT, and PL/pgSQL triggers (TRUNCATE too).
REVIEW_SCHEMA_POSTGRES = """
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
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
CREATE OR REPLACE FUNCTION review_actions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'review_actions is append-only'; END $$;
CREATE OR REPLACE TRIGGER review_actions_no_update BEFORE UPDATE ON review_actions
    FOR EACH ROW EXECUTE FUNCTION review_actions_append_only();
CREATE OR REPLACE TRIGGER review_actions_no_delete BEFORE DELETE ON review_actions
    FOR EACH ROW EXECUTE FUNCTION review_actions_append_only();
CREATE OR REPLACE TRIGGER review_actions_no_truncate BEFORE TRUNCATE ON review_actions
    FOR EACH STATEMENT EXECUTE FUNCTION review_actions_append_only();
"""

USER_KIND = "user.added"
REVIEW_COLUMNS = ("id", "request_id", "school_id", "username", "created_at", "action", "text", "rule_id", "sentence")

ROLES = ("teacher", "admin")
VERDICT_ACTIONS = ("confirm", "override_false_alarm", "override_missed")
# `undo` takes back one earlier action of the same exchange: its `text` holds that action's row id (the table
# is append-only and chained whole, so the reference lives in an existing column rather than a new one)
ACTIONS = (*VERDICT_ACTIONS, "note", "undo")
STATUSES = ("unreviewed", "confirmed", "overridden")
QUEUE_DECISIONS = ("flag", "rewrite", "block")

# An action stands unless a later `undo` names it.
_STANDS = ("NOT EXISTS (SELECT 1 FROM review_actions u WHERE u.request_id = r.request_id AND u.action = 'undo' "
           "AND u.text = CAST(r.id AS TEXT))")
# The latest verdict-changing action on an exchange that still stands; notes and undos do not change its status.
_LATEST = ("(SELECT r.{column} FROM review_actions r WHERE r.request_id = e.request_id AND r.action IN "
           f"({', '.join(repr(a) for a in VERDICT_ACTIONS)}) AND {_STANDS} ORDER BY r.id DESC LIMIT 1)")
_LATEST_ACTION = _LATEST.format(column="action")
_LATEST_REVIEWER = _LATEST.format(column="username")
_LATEST_RULE = _LATEST.format(column="rule_id")
_LATEST_ID = _LATEST.format(column="id")
# A student in crisis comes before everything else: unreviewed exchanges with a finding in these categories
# head the queue, whatever their age; once reviewed they take their place by time again.
URGENT_CATEGORIES = ("crisis_support", "self_harm")
_URGENT = "(" + " OR ".join(f"e.findings LIKE '%\"category\": \"{c}\"%'" for c in URGENT_CATEGORIES) + ")"
_QUEUE_ORDER = f"CASE WHEN {_URGENT} AND {_LATEST_ACTION} IS NULL THEN 0 ELSE 1 END, e.id DESC"


def status_of(action: str | None) -> str:
    if action is None:
        return "unreviewed"
    return "confirmed" if action == "confirm" else "overridden"


_SEARCHED = ("e.original_text", "e.messages", "e.findings", "e.user_pseudonym", "e.request_id")


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
    text: str | None = None    # words anywhere in the conversation, the answer, the findings or the pseudonym

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
        if self.text:
            clauses.append("(" + " OR ".join(f"LOWER(COALESCE({c}, '')) LIKE ? ESCAPE '\\'" for c in _SEARCHED) + ")")
            params.extend([_like(self.text.lower())] * len(_SEARCHED))
        if self.status == "unreviewed":
            clauses.append(f"{_LATEST_ACTION} IS NULL")
        elif self.status == "confirmed":
            clauses.append(f"{_LATEST_ACTION} = 'confirm'")
        elif self.status == "overridden":
            clauses.append(f"{_LATEST_ACTION} LIKE 'override%'")
        return " AND ".join(clauses), params


class ReviewTables:
    """Users and review actions. Mixed into a store after `AuditedStore` (which gives `append_in()`); the
    store itself provides `_transaction()` and `_select()`. No stand-ins here: they would shadow the real ones."""

    # users ------------------------------------------------------------------------------------------
    def add_user(self, username: str, password_hash: str, role: str, schools: list[str], lang: str,
                 created_at: str) -> None:
        if role not in ROLES:
            raise StoreError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        schools = list(dict.fromkeys(schools))
        with self._transaction() as tx:     # the check and the insert under one write lock: no race
            if tx.execute("SELECT username FROM users WHERE username = ?", (username,)).fetchone():
                raise StoreError(f"user {username!r} already exists; pick another name (accounts are never "
                                 "deleted)")
            tx.execute("INSERT INTO users (username, password_hash, role, lang, created_at) VALUES (?, ?, ?, ?, ?)",
                       (username, password_hash, role, lang, created_at))
            for school in schools:
                tx.execute("INSERT INTO user_schools (username, school_id) VALUES (?, ?)", (username, school))
            # who may see which school's records is part of the record; the password hash is not
            self.append_in(tx, USER_KIND, {"username": username, "role": role, "schools": schools, "lang": lang,
                                           "created_at": created_at})

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
        with self._transaction() as tx:
            if lang is not None:
                tx.execute("UPDATE users SET lang = ? WHERE username = ?", (lang, username))
            if password_hash is not None:
                tx.execute("UPDATE users SET password_hash = ? WHERE username = ?", (password_hash, username))

    # review actions ---------------------------------------------------------------------------------
    def add_review_action(self, request_id: str, school_id: str, username: str, action: str, created_at: str,
                          text: str | None = None, rule_id: str | None = None, sentence: str | None = None) -> int:
        """Insert the action and chain it in the audit log, in one transaction: both or neither."""
        if action not in ACTIONS:
            raise StoreError(f"review action must be one of {', '.join(ACTIONS)}, got {action!r}")
        if action == "undo" and not (text or "").isdigit():
            raise StoreError(f"an undo names the id of the action it takes back in `text`, got {text!r}")
        with self._transaction() as tx:
            row_id = int(tx.execute(
                "INSERT INTO review_actions (request_id, school_id, username, created_at, action, text, rule_id, "
                "sentence) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (request_id, school_id, username, created_at, action, text, rule_id, sentence)).fetchall()[0][0])
            self.append_in(tx, REVIEW_KIND, dict(zip(REVIEW_COLUMNS, (
                row_id, request_id, school_id, username, created_at, action, text, rule_id, sentence), strict=True)))
            return row_id

    def review_actions(self, request_id: str) -> list[dict]:
        """The exchange's actions in order, exactly as stored (and chained)."""
        return self._select(f"SELECT {', '.join(REVIEW_COLUMNS)} FROM review_actions WHERE request_id = ? "
                            "ORDER BY id", (request_id,))

    def review_history(self, request_id: str) -> list[dict]:
        """The exchange's actions in order, each with `undone_by`: the id of the undo that took it back."""
        rows = self.review_actions(request_id)
        undone = {int(r["text"]): r["id"] for r in rows if r["action"] == "undo"}
        return [{**r, "undone_by": undone.get(r["id"])} for r in rows]

    def review_action(self, action_id: int) -> dict | None:
        rows = self._select(f"SELECT {', '.join(REVIEW_COLUMNS)} FROM review_actions WHERE id = ?", (action_id,))
        return rows[0] if rows else None

    def _review_action_rows(self) -> Iterator[dict]:
        """Every review action, a page at a time, for the audit cross-check."""
        last = 0
        while True:
            rows = self._select(f"SELECT {', '.join(REVIEW_COLUMNS)} FROM review_actions WHERE id > ? "
                                "ORDER BY id LIMIT 2000", (last,))
            yield from rows
            if len(rows) < 2000:
                return
            last = rows[-1]["id"]

    def review_queue(self, where: QueueFilter, limit: int = 50, offset: int = 0,
                     before_id: int | None = None) -> list[dict]:
        """Exchanges in scope, unreviewed crises first (URGENT_CATEGORIES), then newest first, each with
        `review_action` (latest), `reviewed_by` and `urgent`. JSON columns are left as text; the caller decodes
        what it shows."""
        sql, params = where.where()
        if before_id is not None:
            sql += " AND e.id < ?"
            params.append(before_id)
        return self._select(f"SELECT e.*, {_LATEST_ACTION} AS review_action, {_LATEST_REVIEWER} AS reviewed_by, "
                            f"CASE WHEN {_URGENT} THEN 1 ELSE 0 END AS urgent "
                            f"FROM exchanges e WHERE {sql} ORDER BY {_QUEUE_ORDER} LIMIT ? OFFSET ?",
                            [*params, limit, offset])

    def queue_ids(self, where: QueueFilter, limit: int = 1000) -> list[str]:
        """Request ids in queue order (for "next"): cheap, no record bodies."""
        sql, params = where.where()
        return [r["request_id"] for r in self._select(
            f"SELECT e.request_id FROM exchanges e WHERE {sql} ORDER BY {_QUEUE_ORDER} LIMIT ?", [*params, limit])]

    def queue_count(self, where: QueueFilter) -> int:
        sql, params = where.where()
        return int(self._select(f"SELECT COUNT(*) AS n FROM exchanges e WHERE {sql}", params)[0]["n"])

    def rule_outcomes(self, where: QueueFilter) -> list[dict]:
        """Per exchange in scope: its rules (JSON text), latest standing review action and the rule that action
        named (None: every rule that fired), for false-alarm rates."""
        sql, params = where.where()
        return self._select(f"SELECT e.rules, {_LATEST_ACTION} AS review_action, {_LATEST_RULE} AS review_rule "
                            f"FROM exchanges e WHERE {sql}", params)

    def overrides(self, schools: tuple[str, ...]) -> list[dict]:
        """Every override in scope with the exchange it is about (for suggested examples)."""
        if not schools:
            return []
        marks = ", ".join("?" * len(schools))
        return self._select(
            "SELECT r.id, r.request_id, r.school_id, r.username, r.created_at, r.action, r.text, r.rule_id, "
            f"r.sentence, e.lang, e.country, e.findings, {_LATEST_ACTION} AS review_action, {_LATEST_ID} AS review_id "
            "FROM review_actions r JOIN exchanges e ON e.request_id = r.request_id "
            f"WHERE r.school_id IN ({marks}) AND r.action LIKE 'override%' ORDER BY r.id", schools)
