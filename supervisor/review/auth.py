"""Review accounts: scrypt password hashes, signed session cookies and CSRF tokens.

Passwords: `hashlib.scrypt` (stdlib; memory-hard), stored as `scrypt$n$r$p$salt$hash` so the cost can be
raised later without breaking old hashes. Sessions: a cookie holding `username.issued.nonce` and an
HMAC-SHA256 over it, keyed by a key derived from the deployment secret (kept in the database's meta table),
HttpOnly and SameSite=Lax (Lax, not Strict, so the link in an alert e-mail opens the item for a signed-in
teacher). Each session is also a row on the server (store/sessions.py), so signing out, a password change and
disabling an account end it at once. CSRF: every form carries a token bound to the session's nonce; the
sign-in form, which has no session yet, is guarded by an Origin check instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

SESSION_COOKIE = "review_session"
SESSION_MAX_AGE = 12 * 3600  # one school day and then some
MIN_PASSWORD_CHARS = 10
# Sign-in lockout: this many failures for one user name within LOCKOUT_SECONDS lock it until the oldest of them
# is that old. Counted per user name (in the database, so across replicas): guessing is slowed whoever guesses.
MAX_LOGIN_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                  dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_CHARS:
        return f"the password must have at least {MIN_PASSWORD_CHARS} characters (got {len(password)})"
    return None


# A fixed hash to verify against when the user name is unknown, so both failures take the same time.
_DUMMY_HASH = "scrypt$16384$8$1$" + "00" * 16 + "$" + "00" * 32


def check_login(user: dict | None, password: str) -> bool:
    if user is None:
        verify_password(password, _DUMMY_HASH)
        return False
    return verify_password(password, user["password_hash"])


@dataclass(frozen=True)
class Session:
    username: str
    issued: int
    nonce: str


class SessionSigner:
    def __init__(self, deployment_secret: str, max_age: int = SESSION_MAX_AGE):
        # a key of its own, so a session signature never doubles as a pseudonym or anything else
        self._key = hmac.new(deployment_secret.encode(), b"review-session-v1", hashlib.sha256).digest()
        self.max_age = max_age

    def _sign(self, payload: str) -> str:
        mac = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def issue(self, username: str) -> str:
        name = base64.urlsafe_b64encode(username.encode()).decode().rstrip("=")
        payload = f"{name}.{int(time.time())}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._sign(payload)}"

    def read(self, cookie: str | None) -> Session | None:
        if not cookie or cookie.count(".") != 3:
            return None
        payload, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        name, issued, nonce = payload.split(".")
        try:
            username = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
            issued_at = int(issued)
        except (ValueError, UnicodeDecodeError):
            return None
        if time.time() - issued_at > self.max_age:
            return None
        return Session(username, issued_at, nonce)

    def csrf_token(self, session: Session) -> str:
        return self._sign(f"csrf.{session.username}.{session.nonce}")

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session), token)


def locked_for(failures: list[float], at: float) -> float:
    """Seconds until sign-in may be tried again, given the recent failures (oldest first); 0 if not locked."""
    if len(failures) < MAX_LOGIN_FAILURES:
        return 0.0
    return max(0.0, failures[-MAX_LOGIN_FAILURES] + LOCKOUT_SECONDS - at)
