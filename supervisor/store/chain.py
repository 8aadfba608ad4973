"""The audit chain's storage, shared by the SQLite and PostgreSQL stores.

A backend provides `_transaction()` (a write transaction that serialises appends: SQLite's BEGIN IMMEDIATE,
PostgreSQL's transaction-level advisory lock), `_query(sql, params)` for reads, and `_exchange_rows()`; the
review tables (`ReviewTables`, mixed in after this class) give `_review_action_rows()`. SQL here uses `?`
placeholders; the PostgreSQL store translates them.

`append_in(tx, kind, payload)` chains a record inside the caller's transaction, so a row and its audit entry
are written together or not at all (the exchanges and review_actions tables use it). `audit_append(kind,
payload)` does the same in a transaction of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import structlog

from ..signing import CHECKPOINT_DOMAIN, PublicKey, Signer
from .audit import (
    GENESIS,
    PURGE_KIND,
    Checkpoint,
    Entry,
    Report,
    canonical,
    checkpoint_message,
    new_entry,
    sha256,
    verify,
)
from .records import now
from .witness import write_witness

log = structlog.get_logger("supervisor.audit")

AUDIT_TABLES = """
CREATE TABLE IF NOT EXISTS audit_log (
    seq           BIGINT PRIMARY KEY,
    kind          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    payload       TEXT,
    payload_hash  TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq         BIGINT PRIMARY KEY,
    hash        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    signature   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS signing_keys (
    key_id      TEXT PRIMARY KEY,
    public_key  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
"""

_ENTRY_COLUMNS = "seq, kind, created_at, payload, payload_hash, prev_hash, hash"
_HEADS = ("SELECT a.seq, a.hash, c.seq, c.created_at FROM (SELECT 1 AS one) AS base "
          "LEFT JOIN (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) AS a ON 1 = 1 "
          "LEFT JOIN (SELECT seq, created_at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1) AS c ON 1 = 1")


class Tx(Protocol):
    def execute(self, sql: str, params: tuple = ...) -> Any: ...


def _ranges(seqs: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for seq in sorted(seqs):
        if out and seq == out[-1][1] + 1:
            out[-1][1] = seq
        else:
            out.append([seq, seq])
    return out


class AuditedStore:
    signer: Signer | None = None
    checkpoint_every: int = 100
    checkpoint_interval: float = 60.0
    witness_path: Path | None = None                  # witness.py: the head, signed, outside the database
    _witness_pending: tuple[int, str] | None = None   # the head appended in the open transaction

    # provided by the backend ----------------------------------------------------------------------
    def _transaction(self) -> contextlib.AbstractContextManager[Tx]:
        raise NotImplementedError

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        raise NotImplementedError

    def _exchange_rows(self) -> Iterator[dict]:
        raise NotImplementedError

    # keys -------------------------------------------------------------------------------------------
    def attach_signer(self, signer: Signer, every: int | None = None, interval: float | None = None,
                      witness: Path | None = None) -> None:
        """Sign checkpoints with this key from now on, and publish its public half in the store; with
        `witness`, also keep the signed head in that file after every append (witness.py)."""
        self.signer = signer
        self.witness_path = witness
        self.checkpoint_every = every or self.checkpoint_every
        self.checkpoint_interval = interval or self.checkpoint_interval
        if not self._query("SELECT key_id FROM signing_keys WHERE key_id = ?", (signer.key_id,)):
            with self._transaction() as tx:
                if not tx.execute("SELECT key_id FROM signing_keys WHERE key_id = ?", (signer.key_id,)).fetchone():
                    tx.execute("INSERT INTO signing_keys (key_id, public_key, created_at) VALUES (?, ?, ?)",
                               (signer.key_id, signer.public.public_key, now()))

    def public_keys(self) -> dict[str, PublicKey]:
        return {kid: PublicKey(kid, pub) for kid, pub in
                self._query("SELECT key_id, public_key FROM signing_keys ORDER BY created_at")}

    # appending ----------------------------------------------------------------------------------------
    def append_in(self, tx: Tx, kind: str, payload: dict, created_at: str | None = None) -> int:
        # the chain's head and the last checkpoint in one round trip (this runs under the append lock)
        head_seq, head_hash, last_seq, last_at = tx.execute(_HEADS).fetchone()
        seq, prev_hash = (int(head_seq) + 1, head_hash) if head_seq is not None else (1, GENESIS)
        entry = new_entry(seq, kind, payload, created_at or now(), prev_hash)
        tx.execute(f"INSERT INTO audit_log ({_ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (entry.seq, entry.kind, entry.created_at, entry.payload, entry.payload_hash, entry.prev_hash,
                    entry.hash))
        self._witness_pending = (seq, entry.hash)
        if self.signer is not None:
            elapsed = (datetime.fromisoformat(entry.created_at) - datetime.fromisoformat(last_at)).total_seconds() \
                if last_at else 0.0
            if seq - int(last_seq or 0) >= self.checkpoint_every or elapsed >= self.checkpoint_interval:
                self._sign(tx, seq, entry.hash)
        return seq

    def _transaction_begun(self) -> None:
        """Called by the backend as a write transaction starts (under its lock)."""
        self._witness_pending = None

    def _transaction_committed(self) -> None:
        """Called by the backend after a commit (still under its lock): witness the head it appended."""
        pending, self._witness_pending = self._witness_pending, None
        if pending is None or self.signer is None or self.witness_path is None:
            return
        seq, chain_hash = pending
        at = now()
        signature = self.signer.sign(CHECKPOINT_DOMAIN, checkpoint_message(seq, chain_hash, at, self.signer.key_id))
        try:
            write_witness(self.witness_path, Checkpoint(seq, chain_hash, at, self.signer.key_id, signature))
        except OSError as exc:  # the record is committed; a witness that lags is weaker, never wrong
            log.warning("audit_witness_failed", path=str(self.witness_path), error=str(exc))

    def audit_append(self, kind: str, payload: dict) -> int:
        with self._transaction() as tx:
            return self.append_in(tx, kind, payload)

    def _sign(self, tx: Tx, seq: int, chain_hash: str) -> Checkpoint:
        assert self.signer is not None
        at = now()
        signature = self.signer.sign(CHECKPOINT_DOMAIN, checkpoint_message(seq, chain_hash, at, self.signer.key_id))
        cp = Checkpoint(seq, chain_hash, at, self.signer.key_id, signature)
        tx.execute("INSERT INTO audit_checkpoints (seq, hash, created_at, key_id, signature) VALUES (?, ?, ?, ?, ?)",
                   (cp.seq, cp.hash, cp.created_at, cp.key_id, cp.signature))
        return cp

    def checkpoint(self) -> Checkpoint | None:
        """Sign the chain's head now if records were added since the last checkpoint."""
        if self.signer is None:
            raise RuntimeError("checkpoint() needs a signer: call attach_signer() first")
        with self._transaction() as tx:
            head = tx.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
            last = tx.execute("SELECT seq FROM audit_checkpoints ORDER BY seq DESC LIMIT 1").fetchone()
            if head is None or (last is not None and int(last[0]) >= int(head[0])):
                return None
            return self._sign(tx, int(head[0]), head[1])

    # reading ------------------------------------------------------------------------------------------
    def audit_entries(self, batch: int = 2000) -> Iterator[Entry]:
        """Every entry in seq order, a page at a time (the log can be far larger than memory)."""
        last = None
        while True:
            if last is None:
                rows = self._query(f"SELECT {_ENTRY_COLUMNS} FROM audit_log ORDER BY seq LIMIT ?", (batch,))
            else:
                rows = self._query(f"SELECT {_ENTRY_COLUMNS} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
                                   (last, batch))
            for row in rows:
                yield Entry(int(row[0]), *row[1:])
            if len(rows) < batch:
                return
            last = int(rows[-1][0])

    def audit_checkpoints(self) -> list[Checkpoint]:
        return [Checkpoint(int(r[0]), *r[1:]) for r in
                self._query("SELECT seq, hash, created_at, key_id, signature FROM audit_checkpoints ORDER BY seq")]

    def audit_verify(self, trusted: dict[str, PublicKey] | None = None, witness: Checkpoint | None = None) -> Report:
        """Verify the chain, the checkpoints (and the witnessed head, if given: witness.py), and that the
        exchanges and review_actions tables still hold what was chained."""
        checkpoints = self.audit_checkpoints()
        report = verify(self.audit_entries(), [*checkpoints, *([witness] if witness else [])],
                        trusted or self.public_keys())
        report.checkpoints = len(checkpoints)
        chained = dict(report.exchange_hashes)
        for row in self._exchange_rows():
            row_id, seq = row.pop("id"), row.pop("audit_seq")
            ref = f"exchanges row {row_id} (request {row.get('request_id')})"
            expected = chained.pop(seq, None) if seq is not None else None
            if expected is None:
                report.problem(f"{ref}: inserted (no audit record holds it)")
            elif sha256(canonical(row)) != expected:
                report.problem(f"{ref}: edited (it differs from its audit record, seq {seq})")
        for seq in sorted(chained):
            report.problem(f"seq {seq} (exchange): deleted from the exchanges table (the audit record remains)")
        self._cross_check_review_actions(report)
        return report

    def _cross_check_review_actions(self, report: Report) -> None:
        # a review action's payload is its whole row, id included: the row must hash to it exactly
        chained = dict(report.review_hashes)
        for row in self._review_action_rows():  # type: ignore[attr-defined]
            ref = f"review_actions row {row['id']} (request {row['request_id']})"
            seq, expected = chained.pop(int(row["id"]), (None, None))
            if expected is None:
                report.problem(f"{ref}: inserted (no audit record holds it)")
            elif sha256(canonical(row)) != expected:
                report.problem(f"{ref}: edited (it differs from its audit record, seq {seq})")
        for row_id, (seq, _) in sorted(chained.items()):
            report.problem(f"seq {seq} (review.action): review_actions row {row_id} deleted from the table (the "
                           "audit record remains)")

    # retention ----------------------------------------------------------------------------------------
    def purge_before(self, school_id: str, cutoff: str, reason: dict) -> int:
        """Tombstone the school's exchanges written before `cutoff`: their audit payloads become NULL (the
        hashes stay, so the chain verifies), their rows go, and one `audit.purge` entry records what and why."""
        with self._transaction() as tx:
            rows = tx.execute("SELECT id, audit_seq FROM exchanges WHERE school_id = ? AND created_at < ?",
                              (school_id, cutoff)).fetchall()
            if not rows:
                return 0
            seqs = [int(r[1]) for r in rows if r[1] is not None]
            for seq in seqs:
                tx.execute("UPDATE audit_log SET payload = NULL WHERE seq = ?", (seq,))
            for row in rows:
                tx.execute("DELETE FROM exchanges WHERE id = ?", (row[0],))
            self.append_in(tx, PURGE_KIND, {**reason, "school_id": school_id, "cutoff": cutoff,
                                            "count": len(rows), "seqs": _ranges(seqs)})
            return len(rows)
