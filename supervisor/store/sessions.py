"""Review sign-in state kept on the server, on either backend: sessions, failed sign-ins and disabled accounts.

The session cookie is signed (review/auth.py), but a signature cannot be taken back: so every session is also a
row here, and a request is signed in only while its row is open. Signing out closes that row; a password
change, a reset or disabling the account closes all of the user's rows. Failed sign-ins are rows too, so the
lockout holds across replicas and restarts. Plain tables and `?` parameters, like review/reviews.py; the
schema is the same text on SQLite and PostgreSQL (DOUBLE PRECISION is REAL on SQLite).
"""

from __future__ import annotations

SESSION_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_sessions (
    nonce      TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    issued_at  DOUBLE PRECISION NOT NULL,
    ended_at   DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS review_sessions_user ON review_sessions (username);
CREATE TABLE IF NOT EXISTS login_failures (
    username  TEXT NOT NULL,
    at        DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_user ON login_failures (username, at);
CREATE TABLE IF NOT EXISTS disabled_users (
    username     TEXT PRIMARY KEY,
    disabled_at  DOUBLE PRECISION NOT NULL
);
"""


class SessionTables:
    """Mixed into a store that provides `_transaction()` and `_select()` (see ReviewTables)."""

    def start_session(self, nonce: str, username: str, at: float) -> None:
        with self._transaction() as tx:
            tx.execute("INSERT INTO review_sessions (nonce, username, issued_at) VALUES (?, ?, ?)",
                       (nonce, username, at))

    def session_open(self, nonce: str, username: str) -> bool:
        """The session was started here, has not been ended, and its account is not disabled."""
        return bool(self._select(
            "SELECT s.nonce FROM review_sessions s WHERE s.nonce = ? AND s.username = ? AND s.ended_at IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM disabled_users d WHERE d.username = s.username)", (nonce, username)))

    def end_session(self, nonce: str, at: float) -> None:
        with self._transaction() as tx:
            tx.execute("UPDATE review_sessions SET ended_at = ? WHERE nonce = ? AND ended_at IS NULL", (at, nonce))

    def end_sessions(self, username: str, at: float) -> None:
        with self._transaction() as tx:
            tx.execute("UPDATE review_sessions SET ended_at = ? WHERE username = ? AND ended_at IS NULL",
                       (at, username))

    def login_failures(self, username: str, since: float) -> list[float]:
        """When sign-in as `username` failed since `since`, oldest first."""
        return [r["at"] for r in self._select("SELECT at FROM login_failures WHERE username = ? AND at >= ? "
                                              "ORDER BY at", (username, since))]

    def note_login_failure(self, username: str, at: float) -> None:
        with self._transaction() as tx:
            tx.execute("INSERT INTO login_failures (username, at) VALUES (?, ?)", (username, at))

    def clear_login_failures(self, username: str) -> None:
        with self._transaction() as tx:
            tx.execute("DELETE FROM login_failures WHERE username = ?", (username,))

    def set_disabled(self, username: str, disabled: bool, at: float) -> None:
        """Disable an account (and end its sessions) or enable it again."""
        with self._transaction() as tx:
            if disabled:
                tx.execute("INSERT INTO disabled_users (username, disabled_at) VALUES (?, ?) "
                           "ON CONFLICT (username) DO NOTHING", (username, at))
                tx.execute("UPDATE review_sessions SET ended_at = ? WHERE username = ? AND ended_at IS NULL",
                           (at, username))
            else:
                tx.execute("DELETE FROM disabled_users WHERE username = ?", (username,))

    def is_disabled(self, username: str) -> bool:
        return bool(self._select("SELECT 1 FROM disabled_users WHERE username = ?", (username,)))
