"""Audit bundles: a self-contained copy of the audit chain that an inspector verifies on another machine.

A bundle is a folder:
- `records.jsonl`: one audit entry per line, in seq order (`payload` is the canonical JSON string that was
  hashed, `null` for records purged under the retention policy);
- `checkpoints.jsonl`: the signed checkpoints;
- `keys.json`: the deployment's public keys (`{"keys": [{"kid", "alg", "public_key"}]}`, the same shape as
  `/.well-known/supervisor-keys.json`);
- `manifest.json`: format, export time, head of the chain and the SHA-256 of each file above.

`supervisor audit verify --bundle DIR [--public-key KEYS.json]` checks it; with `--public-key` the inspector
trusts only keys obtained independently (for instance from the deployment's well-known URL), not the ones
shipped inside the bundle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from ..errors import BadRequest
from ..signing import PublicKey
from .audit import Checkpoint, Entry, Report, verify
from .records import now

FORMAT = "edu-supervisor-audit-bundle/1"
FILES = ("records.jsonl", "checkpoints.jsonl", "keys.json")


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def keys_document(keys: dict[str, PublicKey]) -> dict:
    return {"keys": [k.to_dict() for k in keys.values()]}


def keys_from_document(data: dict) -> dict[str, PublicKey]:
    return {k["kid"]: PublicKey(k["kid"], k["public_key"]) for k in data["keys"]}


def read_keys(path: Path) -> dict[str, PublicKey]:
    try:
        return keys_from_document(json.loads(Path(path).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadRequest(f"{path}: not a keys file ({exc}); expected {{\"keys\": [{{\"kid\", \"public_key\"}}]}} "
                         "as served at /.well-known/supervisor-keys.json") from exc


def export_bundle(store, folder: Path) -> dict:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if getattr(store, "signer", None) is not None:
        store.checkpoint()          # seal the tail, so every exported record is covered by a signature
    head = None
    count = 0
    with (folder / "records.jsonl").open("w", encoding="utf-8") as f:
        for entry in store.audit_entries():
            f.write(json.dumps(entry.to_dict(), ensure_ascii=False) + "\n")
            head, count = entry, count + 1
    checkpoints = store.audit_checkpoints()
    with (folder / "checkpoints.jsonl").open("w", encoding="utf-8") as f:
        for cp in checkpoints:
            f.write(json.dumps(cp.to_dict()) + "\n")
    (folder / "keys.json").write_text(json.dumps(keys_document(store.public_keys()), indent=2) + "\n")
    manifest = {"format": FORMAT, "exported_at": now(), "records": count, "checkpoints": len(checkpoints),
                "head_seq": head.seq if head else 0, "head_hash": head.hash if head else None,
                "files": {name: _file_hash(folder / name) for name in FILES}}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _entries(path: Path) -> Iterator[Entry]:
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                yield Entry(int(raw["seq"]), raw["kind"], raw["created_at"], raw["payload"], raw["payload_hash"],
                            raw["prev_hash"], raw["hash"])
            except (ValueError, KeyError, TypeError) as exc:
                raise BadRequest(f"{path}:{number}: not an audit entry ({exc})") from exc


def verify_bundle(folder: Path, trusted: dict[str, PublicKey] | None = None) -> Report:
    folder = Path(folder)
    missing = [name for name in (*FILES, "manifest.json") if not (folder / name).is_file()]
    if missing:
        raise BadRequest(f"{folder} is not an audit bundle: missing {', '.join(missing)} "
                         "(make one with `supervisor audit export DIR`)")
    manifest = json.loads((folder / "manifest.json").read_text())
    if manifest.get("format") != FORMAT:
        raise BadRequest(f"{folder}/manifest.json: unknown bundle format {manifest.get('format')!r}; "
                         f"this version reads {FORMAT}")
    checkpoints = []
    for line in (folder / "checkpoints.jsonl").read_text().splitlines():
        if line.strip():
            raw = json.loads(line)
            checkpoints.append(Checkpoint(int(raw["seq"]), raw["hash"], raw["created_at"], raw["key_id"],
                                          raw["signature"]))
    keys = trusted if trusted is not None else read_keys(folder / "keys.json")
    entries = list(_entries(folder / "records.jsonl"))
    disorder = next((f"records.jsonl: seq {b.seq} comes after seq {a.seq} (lines reordered)"
                     for a, b in zip(entries, entries[1:], strict=False) if b.seq <= a.seq), None)
    report = verify(sorted(entries, key=lambda e: e.seq), checkpoints, keys)
    if disorder:
        report.problems.insert(0, disorder)
    for name, digest in manifest.get("files", {}).items():
        if (folder / name).is_file() and _file_hash(folder / name) != digest:
            report.warnings.append(f"{name} changed after export (its SHA-256 differs from manifest.json)")
    if report.head_seq != manifest.get("head_seq"):
        report.problem(f"the bundle ends at seq {report.head_seq}, but it was exported ending at seq "
                       f"{manifest.get('head_seq')}")
    return report
