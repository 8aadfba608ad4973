"""The audit chain: append-only records, each hashed over its content and its predecessor's hash, with
checkpoints signed by the deployment's Ed25519 key. Pure functions: the stores do the I/O.

An entry is `(seq, kind, created_at, payload, payload_hash, prev_hash, hash)`:
- `payload` is canonical JSON (sorted keys, no spaces, UTF-8), `payload_hash` its SHA-256;
- `hash` = SHA-256 of the canonical JSON of {seq, kind, created_at, payload_hash, prev_hash};
- the first entry's `prev_hash` is 64 zeros.
A checkpoint signs {seq, hash, created_at, key_id}: whoever holds the public key can check that the chain up
to `seq` is the one the deployment wrote, without trusting the database it came from.

Retention replaces an old entry's payload with NULL (a tombstone) and keeps `payload_hash`, so the chain still
verifies; an `audit.purge` entry appended at the same time lists the tombstoned seqs and the cutoff, and a
tombstone that no purge entry accounts for is reported as deleted content.

Any kind can be chained (`exchange`, `review.action`, `user.added`, `audit.purge`, ...): `append(kind, payload)`.
A `review.action` payload is its review_actions row, `id` included, so the store can cross-check that table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..signing import CHECKPOINT_DOMAIN, PublicKey

GENESIS = "0" * 64
PURGE_KIND = "audit.purge"
REVIEW_KIND = "review.action"
MAX_PROBLEMS = 20


def canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def entry_hash(seq: int, kind: str, created_at: str, payload_hash: str, prev_hash: str) -> str:
    return sha256(canonical({"seq": seq, "kind": kind, "created_at": created_at, "payload_hash": payload_hash,
                             "prev_hash": prev_hash}))


def checkpoint_message(seq: int, chain_hash: str, created_at: str, key_id: str) -> bytes:
    return canonical({"seq": seq, "hash": chain_hash, "created_at": created_at, "key_id": key_id}).encode()


@dataclass(frozen=True)
class Entry:
    seq: int
    kind: str
    created_at: str
    payload: str | None        # canonical JSON; None for a tombstone
    payload_hash: str
    prev_hash: str
    hash: str

    def to_dict(self) -> dict:
        return {"seq": self.seq, "kind": self.kind, "created_at": self.created_at, "payload": self.payload,
                "payload_hash": self.payload_hash, "prev_hash": self.prev_hash, "hash": self.hash}


def new_entry(seq: int, kind: str, payload: dict, created_at: str, prev_hash: str) -> Entry:
    text = canonical(payload)
    digest = sha256(text)
    return Entry(seq, kind, created_at, text, digest, prev_hash, entry_hash(seq, kind, created_at, digest, prev_hash))


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    created_at: str
    key_id: str
    signature: str

    def to_dict(self) -> dict:
        return {"seq": self.seq, "hash": self.hash, "created_at": self.created_at, "key_id": self.key_id,
                "signature": self.signature}


@dataclass
class Report:
    records: int = 0
    checkpoints: int = 0
    head_seq: int = 0
    last_signed_seq: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    # seq -> payload_hash of each exchange entry, for the store's cross-check of its exchanges table
    exchange_hashes: dict[int, str] = field(default_factory=dict, repr=False)
    # review_actions row id -> (seq, payload_hash) of its review.action entry, for the same cross-check
    review_hashes: dict[int, tuple[int, str]] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append("... more problems not shown")

    def to_dict(self) -> dict:
        return {"ok": self.ok, "records": self.records, "checkpoints": self.checkpoints, "head_seq": self.head_seq,
                "last_signed_seq": self.last_signed_seq, "problems": self.problems, "warnings": self.warnings,
                "keys": self.keys}


def describe(entry: Entry) -> str:
    """`seq 17 (exchange req-…)`: enough to find the record, nothing from its text."""
    ref = ""
    if entry.payload:
        try:
            data = json.loads(entry.payload)
            ref = data.get("request_id") or data.get("id") or ""
        except (ValueError, AttributeError):
            ref = ""
    return f"seq {entry.seq} ({entry.kind}{' ' + str(ref) if ref else ''})"


def _written_as(entry: Entry) -> int | None:
    """The seq this entry's stored hash was computed for, if it is a nearby one: the entry was moved."""
    for delta in (1, -1, 2, -2, 3, -3):
        seq = entry.seq + delta
        if seq > 0 and entry_hash(seq, entry.kind, entry.created_at, entry.payload_hash, entry.prev_hash) == entry.hash:
            return seq
    return None


def verify(entries: Iterable[Entry], checkpoints: list[Checkpoint], keys: dict[str, PublicKey]) -> Report:
    """Walk the chain in seq order; name the first record that was edited, deleted, inserted or reordered."""
    report = Report(checkpoints=len(checkpoints), keys=sorted(keys))
    wanted = {c.seq for c in checkpoints}
    hashes_at: dict[int, str] = {}
    tombstones: dict[int, str] = {}                        # seq -> created_at
    purged: list[tuple[str, list[list[int]]]] = []         # (cutoff, seq ranges) from purge entries
    prev: Entry | None = None
    prev2_hash: str | None = None
    prev_moved = False          # the previous entry was already reported out of place: its links say nothing new
    shift = 0                   # how far the previous entry was renumbered
    for entry in entries:
        report.records += 1
        expected = prev.seq + 1 if prev else 1
        gap = entry.seq > expected
        if gap:
            missing = f"{expected}" if entry.seq == expected + 1 else f"{expected}-{entry.seq - 1}"
            report.problem(f"seq {missing}: deleted (the chain jumps from seq {expected - 1} to seq {entry.seq})")
        if entry.payload is not None and sha256(entry.payload) != entry.payload_hash:
            report.problem(f"{describe(entry)}: edited (its content no longer matches its hash)")
        computed = entry_hash(entry.seq, entry.kind, entry.created_at, entry.payload_hash, entry.prev_hash)
        prev_hash = prev.hash if prev else GENESIS
        links_past = prev is not None and entry.prev_hash != prev_hash and entry.prev_hash == prev2_hash
        moved = None
        if computed != entry.hash:
            moved = _written_as(entry)
            if moved is not None and moved - entry.seq == shift and entry.prev_hash == prev_hash:
                pass            # the rest of a run already reported: renumbered along with the first
            elif moved == entry.seq - 1 and links_past and not prev_moved:
                report.problem(f"{describe(prev)}: inserted (seq {entry.seq} links past it to seq {prev.seq - 1})")
            elif moved is not None:
                how = "records before it were deleted" if moved > entry.seq else "records were inserted before it"
                report.problem(f"{describe(entry)}: out of place: it was written as seq {moved} "
                               f"(records reordered, or {how})")
            else:
                report.problem(f"{describe(entry)}: edited (its kind, time or hashes no longer match)")
        elif entry.prev_hash != prev_hash and not gap and not prev_moved:
            if links_past:
                report.problem(f"{describe(prev)}: inserted (seq {entry.seq} links past it to seq {prev.seq - 1})")
            elif prev is not None:
                report.problem(f"{describe(prev)}: edited and re-hashed (seq {entry.seq} was chained to a "
                               f"different record)")
            else:
                report.problem(f"{describe(entry)}: inserted (the first record does not start the chain)")
        shift = moved - entry.seq if moved is not None else 0
        if entry.seq in wanted:
            hashes_at[entry.seq] = entry.hash
        if entry.payload is None:
            tombstones[entry.seq] = entry.created_at
        elif entry.kind == PURGE_KIND:
            try:
                data = json.loads(entry.payload)
                purged.append((data["cutoff"], data["seqs"]))
            except (ValueError, KeyError, TypeError):
                report.problem(f"{describe(entry)}: a purge record that cannot be read")
        elif entry.kind == "exchange":
            report.exchange_hashes[entry.seq] = entry.payload_hash
        elif entry.kind == REVIEW_KIND:
            try:
                report.review_hashes[int(json.loads(entry.payload)["id"])] = (entry.seq, entry.payload_hash)
            except (ValueError, KeyError, TypeError):
                report.problem(f"{describe(entry)}: a review action record that cannot be read")
        prev2_hash = prev.hash if prev else GENESIS
        prev, prev_moved = entry, moved is not None
    report.head_seq = prev.seq if prev else 0
    _check_tombstones(report, tombstones, purged)
    _check_checkpoints(report, checkpoints, hashes_at, keys)
    return report


def _check_tombstones(report: Report, tombstones: dict[int, str], purged: list[tuple[str, list[list[int]]]]) -> None:
    for seq, created_at in sorted(tombstones.items()):
        cutoff = next((c for c, ranges in purged if any(a <= seq <= b for a, b in ranges)), None)
        if cutoff is None:
            report.problem(f"seq {seq}: content deleted (emptied without a retention purge record)")
        elif created_at >= cutoff:
            report.problem(f"seq {seq}: content deleted before its retention period ended "
                           f"(written {created_at}, purge cutoff {cutoff})")


def _check_checkpoints(report: Report, checkpoints: list[Checkpoint], hashes_at: dict[int, str],
                       keys: dict[str, PublicKey]) -> None:
    previous = 0
    for cp in sorted(checkpoints, key=lambda c: c.seq):
        key = keys.get(cp.key_id)
        if key is None:
            report.problem(f"checkpoint at seq {cp.seq}: signed by unknown key {cp.key_id}")
        elif not key.verify(CHECKPOINT_DOMAIN, checkpoint_message(cp.seq, cp.hash, cp.created_at, cp.key_id),
                            cp.signature):
            report.problem(f"checkpoint at seq {cp.seq}: bad signature (the checkpoint was forged or edited)")
        elif cp.seq > report.head_seq:
            missing = f"{cp.seq}" if cp.seq == report.head_seq + 1 else f"{report.head_seq + 1}-{cp.seq}"
            report.problem(f"seq {missing}: deleted (a checkpoint signed the chain up to seq {cp.seq}, the log "
                           f"ends at seq {report.head_seq})")
        elif hashes_at.get(cp.seq) != cp.hash:
            report.problem(f"checkpoint at seq {cp.seq}: the chain differs from what was signed (a record "
                           f"between seq {previous + 1} and seq {cp.seq} was rewritten)")
        else:
            report.last_signed_seq = max(report.last_signed_seq, cp.seq)
        previous = cp.seq
    unsigned = report.head_seq - report.last_signed_seq
    if unsigned > 0:
        report.warnings.append(f"{unsigned} record(s) after seq {report.last_signed_seq} are not yet covered by a "
                               "signed checkpoint (`supervisor audit checkpoint` signs them now)")
