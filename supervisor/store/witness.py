"""The chain's head, witnessed outside the database, so that deleting the newest records is detectable.

A signed checkpoint proves the chain up to its seq; records after it could be deleted, chain and tables
together, and the database would still be consistent. So after every commit that appends to the chain, the
store signs the new head (a checkpoint in form: seq, hash, time, key id, signature) and writes it to a small
file outside the database (Settings.audit_witness_file; by default beside the signing key). `audit verify`
treats that file as one more checkpoint: a log that ends before the witnessed seq, or differs at it, is
reported as truncated or rewritten.

What it proves: someone who could change the database but not the witness file cannot remove or rewrite the
newest records unnoticed. What it cannot: someone who can also write the witness file and holds the signing
key can roll both back together; keep the file on storage the database's users cannot write (another volume,
or a copy shipped elsewhere). A witness is only ever moved forward by the process that writes it, so with
several processes it may lag a moment behind the head: never ahead of what was committed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import structlog

from .audit import Checkpoint

log = structlog.get_logger("supervisor.audit")


def read_witness(path: Path | str | None) -> Checkpoint | None:
    if path is None or not Path(path).is_file():
        return None
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return Checkpoint(int(data["seq"]), data["hash"], data["created_at"], data["key_id"], data["signature"])


def write_witness(path: Path | str, checkpoint: Checkpoint) -> None:
    """Replace the witness atomically, only ever forward (a slower writer never moves it back)."""
    path = Path(path)
    try:
        current = read_witness(path)
    except (OSError, ValueError, KeyError):
        current = None  # unreadable: overwrite it with a good one
    if current is not None and current.seq >= checkpoint.seq:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(checkpoint.to_dict()), encoding="utf-8")
    os.replace(temporary, path)
