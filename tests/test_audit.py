"""The tamper-evident audit chain, on SQLite and on a real PostgreSQL: appends, signed checkpoints,
`supervisor audit verify` naming the first edited, deleted, inserted or reordered record, bundles verified
elsewhere, retention with tombstones, and concurrent writers producing one chain."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from supervisor.errors import BadRequest, StoreError
from supervisor.signing import load_or_create_signer
from supervisor.store import SqliteStore, open_store
from supervisor.store.bundle import export_bundle, verify_bundle
from supervisor.store.records import ExchangeRecord, now


def exchange(i: int, school: str = "demo-jp") -> ExchangeRecord:
    return ExchangeRecord(request_id=f"req-{i:04d}", school_id=school, user_pseudonym=None, model="m", country="jp",
                          curriculum="jp@2024.1", grade=5, lang="ja", mode="tutor", stream=False, status="ok",
                          decision="pass", messages=[{"role": "user", "content": f"question {i}"}],
                          delivered_text=f"answer {i}", latency_ms=12.3456789 + i)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path):
    """(database URL, a function running raw SQL on it the way an intruder with database access would)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/audit.db"

        def raw(sql: str, params: tuple = ()):
            db = sqlite3.connect(f"{tmp_path}/audit.db", isolation_level=None)
            try:
                return db.execute(sql, params).fetchall()
            finally:
                db.close()
    else:
        url = request.getfixturevalue("pg_database")

        def raw(sql: str, params: tuple = ()):
            import psycopg

            with psycopg.connect(url, autocommit=True) as db:
                cur = db.execute(sql.replace("?", "%s"), params)
                return cur.fetchall() if cur.description else []
    return url, raw


@pytest.fixture
def filled(backend, tmp_path):
    url, raw = backend
    store = open_store(url)
    store.attach_signer(load_or_create_signer(tmp_path / "key.pem"), every=4)
    for i in range(1, 11):
        store.record(exchange(i))
    store.add_review_action("req-0003", "demo-jp", "teacher-1", "override_false_alarm", now(), text="a quote")
    yield store, raw
    store.close()


def problems(store) -> list[str]:
    return store.audit_verify().problems


def test_untouched_chain_verifies_with_signed_checkpoints(filled, tmp_path):
    store, _ = filled
    report = store.audit_verify()
    assert report.ok, report.problems
    assert report.records == 11 and report.checkpoints == 2 and report.last_signed_seq == 8
    assert "3 record(s) after seq 8" in report.warnings[0]
    store.checkpoint()
    assert store.audit_verify().warnings == []
    key = tmp_path / "key.pem"
    assert key.stat().st_mode & 0o777 == 0o600


def test_edited_record_is_named(filled):
    store, raw = filled
    raw("UPDATE audit_log SET payload = replace(payload, 'answer 5', 'answer five') WHERE seq = 5")
    assert problems(store)[0] == "seq 5 (exchange req-0005): edited (its content no longer matches its hash)"


def test_edited_exchange_row_is_named(filled):
    store, raw = filled
    raw("UPDATE exchanges SET decision = 'block' WHERE request_id = 'req-0007'")
    assert problems(store) == ["exchanges row 7 (request req-0007): edited (it differs from its audit record, seq 7)"]


def test_edit_with_recomputed_hashes_is_still_caught(filled):
    from supervisor.store.audit import entry_hash, sha256

    store, raw = filled
    seq, kind, created_at, payload, prev_hash = raw(
        "SELECT seq, kind, created_at, payload, prev_hash FROM audit_log WHERE seq = 6")[0]
    forged = payload.replace("answer 6", "answer six")
    digest = sha256(forged)
    raw("UPDATE audit_log SET payload = ?, payload_hash = ?, hash = ? WHERE seq = 6",
        (forged, digest, entry_hash(seq, kind, created_at, digest, prev_hash)))
    assert problems(store)[0] == ("seq 6 (exchange req-0006): edited and re-hashed (seq 7 was chained to a "
                                  "different record)")


def test_deleted_record_is_named(filled):
    store, raw = filled
    raw("DELETE FROM audit_log WHERE seq = 3")
    assert problems(store)[0] == "seq 3: deleted (the chain jumps from seq 2 to seq 4)"


def test_deleted_tail_is_caught_by_the_signed_checkpoint(filled):
    store, raw = filled
    store.checkpoint()
    raw("DELETE FROM audit_log WHERE seq >= 10")
    raw("DELETE FROM exchanges WHERE audit_seq >= 10")
    assert problems(store)[0] == ("seq 10-11: deleted (a checkpoint signed the chain up to seq 11, the log ends "
                                  "at seq 9)")


def test_deleted_tail_after_the_last_checkpoint_is_caught_by_the_witness(backend, tmp_path):
    """No checkpoint covers the newest records; the head witnessed outside the database still does."""
    from supervisor.store.witness import read_witness

    url, raw = backend
    store = open_store(url)
    try:
        store.attach_signer(load_or_create_signer(tmp_path / "key.pem"), every=100, witness=tmp_path / "w.json")
        for i in range(1, 6):
            store.record(exchange(i))
        assert store.audit_checkpoints() == []                       # nothing signed inside the database yet
        witness = read_witness(tmp_path / "w.json")
        assert witness.seq == 5 and store.audit_verify(witness=witness).ok
        raw("DELETE FROM audit_log WHERE seq >= 4")
        raw("DELETE FROM exchanges WHERE audit_seq >= 4")
        assert store.audit_verify().ok                                # the database alone cannot tell
        assert store.audit_verify(witness=witness).problems[0] == (
            "seq 4-5: deleted (a checkpoint signed the chain up to seq 5, the log ends at seq 3)")
    finally:
        store.close()


def test_inserted_record_is_named(filled):
    from supervisor.store.audit import GENESIS, new_entry

    store, raw = filled
    # An intruder makes room after seq 4 and writes a well-formed entry chained to seq 4.
    raw("UPDATE audit_log SET seq = seq + 1000 WHERE seq > 4")
    raw("UPDATE audit_log SET seq = seq - 999 WHERE seq > 1000")
    prev = raw("SELECT hash FROM audit_log WHERE seq = 4")[0][0] or GENESIS
    fake = new_entry(5, "exchange", {"request_id": "req-fake"}, "2024-01-01T00:00:00+00:00", prev)
    raw("INSERT INTO audit_log (seq, kind, created_at, payload, payload_hash, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", (fake.seq, fake.kind, fake.created_at, fake.payload, fake.payload_hash,
                                         fake.prev_hash, fake.hash))
    assert problems(store)[0] == "seq 5 (exchange req-fake): inserted (seq 6 links past it to seq 4)"


def test_inserted_exchange_row_is_named(filled):
    store, raw = filled
    raw("INSERT INTO exchanges (request_id, created_at, school_id, model, country, curriculum, mode, stream, status, "
        "rules, findings, messages, attempts) VALUES ('req-ghost', '2024-01-01', 'demo-jp', 'm', 'jp', 'jp@1', "
        "'tutor', ?, 'ok', '[]', '[]', '[]', 1)", (False,))
    found = problems(store)
    assert len(found) == 1 and found[0].endswith("(request req-ghost): inserted (no audit record holds it)")


def test_reordered_records_are_named(filled):
    store, raw = filled
    raw("UPDATE audit_log SET seq = 100 WHERE seq = 6")
    raw("UPDATE audit_log SET seq = 6 WHERE seq = 7")
    raw("UPDATE audit_log SET seq = 7 WHERE seq = 100")
    assert problems(store)[0] == ("seq 6 (exchange req-0007): out of place: it was written as seq 7 (records "
                                  "reordered, or records before it were deleted)")


def test_emptied_payload_without_purge_is_named(filled):
    store, raw = filled
    raw("UPDATE audit_log SET payload = NULL WHERE seq = 2")
    raw("DELETE FROM exchanges WHERE audit_seq = 2")
    assert problems(store) == ["seq 2: content deleted (emptied without a retention purge record)"]


def test_forged_checkpoint_signature_is_named(filled):
    store, raw = filled
    raw("UPDATE audit_checkpoints SET hash = ? WHERE seq = 4", ("0" * 64,))
    assert problems(store) == ["checkpoint at seq 4: bad signature (the checkpoint was forged or edited)"]


# review actions and accounts are part of the record ------------------------------------------------------
def _unlock_review_actions(store, raw) -> None:
    """What an intruder with database access does first: switch off the append-only triggers."""
    on = "" if isinstance(store, SqliteStore) else " ON review_actions"     # PostgreSQL names the table
    raw(f"DROP TRIGGER review_actions_no_update{on}")
    raw(f"DROP TRIGGER review_actions_no_delete{on}")


def test_review_actions_and_new_users_are_chained(filled):
    store, raw = filled
    (row,) = store.review_actions("req-0003")
    kind, payload = raw("SELECT kind, payload FROM audit_log WHERE seq = 11")[0]
    assert kind == "review.action" and json.loads(payload) == row
    assert row["action"] == "override_false_alarm" and row["username"] == "teacher-1"
    store.add_user("teacher-2", "scrypt$not-a-real-hash", "teacher", ["demo-jp", "demo-jp"], "ja", now())
    kind, payload = raw("SELECT kind, payload FROM audit_log ORDER BY seq DESC LIMIT 1")[0]
    assert kind == "user.added" and "scrypt" not in payload
    assert json.loads(payload)["schools"] == ["demo-jp"] and json.loads(payload)["role"] == "teacher"
    assert store.audit_verify().ok
    # the append-only triggers still hold on both backends
    for sql in ("UPDATE review_actions SET action = 'confirm'", "DELETE FROM review_actions"):
        with pytest.raises(Exception, match="append-only"):
            raw(sql)


def test_edited_review_action_row_is_named(filled):
    store, raw = filled
    _unlock_review_actions(store, raw)
    raw("UPDATE review_actions SET action = 'confirm' WHERE request_id = 'req-0003'")
    assert problems(store) == ["review_actions row 1 (request req-0003): edited (it differs from its audit record, "
                               "seq 11)"]


def test_deleted_review_action_row_is_named(filled):
    store, raw = filled
    _unlock_review_actions(store, raw)
    raw("DELETE FROM review_actions WHERE request_id = 'req-0003'")
    assert problems(store) == ["seq 11 (review.action): review_actions row 1 deleted from the table (the audit "
                               "record remains)"]


def test_inserted_review_action_row_is_named(filled):
    store, raw = filled
    raw("INSERT INTO review_actions (request_id, school_id, username, created_at, action) "
        "VALUES ('req-0004', 'demo-jp', 'teacher-1', '2024-01-01T00:00:00+00:00', 'confirm')")
    assert problems(store) == ["review_actions row 2 (request req-0004): inserted (no audit record holds it)"]


def test_review_action_and_its_audit_record_are_written_together(filled):
    store, raw = filled
    raw("DROP TABLE audit_checkpoints")             # the chain cannot be written: neither can the action
    with pytest.raises((StoreError, sqlite3.Error)):
        store.add_review_action("req-0005", "demo-jp", "teacher-1", "confirm", now())
    assert store.review_actions("req-0005") == []


def test_retention_purge_leaves_tombstones_that_verify(filled):
    from supervisor.policy import load_policies
    from supervisor.retention import purge_expired
    from supervisor.settings import PROJECT_ROOT

    store, raw = filled
    policies = load_policies(PROJECT_ROOT / "policies")
    with pytest.raises(BadRequest, match="at least 180 days"):
        purge_expired(store, _with_retention(policies, 365, 180), older_than_days=30)
    assert purge_expired(store, _with_retention(policies, 365, 180)) == {}      # nothing is a year old yet
    # 400 days on, every exchange is past its 365 days: rows go, tombstones stay, the chain still verifies
    purged = purge_expired(store, _with_retention(policies, 365, 180), at=datetime.now(UTC) + timedelta(days=400))
    assert purged["demo-jp"][0] == 10
    report = store.audit_verify()
    assert report.ok, report.problems
    assert raw("SELECT count(*) FROM exchanges")[0][0] == 0
    assert raw("SELECT count(*) FROM audit_log WHERE payload IS NULL")[0][0] == 10
    purge = json.loads(raw("SELECT payload FROM audit_log ORDER BY seq DESC LIMIT 1")[0][0])
    assert purge["seqs"] == [[1, 10]] and purge["retention_days"] == 365 and purge["policy"] == "default"


def _with_retention(policies, days: int, minimum: int):
    import dataclasses
    from types import MappingProxyType

    from supervisor.policy import Retention

    changed = {n: dataclasses.replace(p, retention=Retention(days, minimum)) for n, p in policies.policies.items()}
    return dataclasses.replace(policies, policies=MappingProxyType(changed))


def test_bundle_verifies_elsewhere_and_names_tampering(filled, tmp_path):
    store, _ = filled
    bundle = tmp_path / "bundle"
    manifest = export_bundle(store, bundle)
    assert manifest["records"] == 11 and manifest["head_seq"] == 11
    moved = tmp_path / "elsewhere"          # another machine: nothing but the folder
    shutil.copytree(bundle, moved)
    run = subprocess.run([sys.executable, "-m", "supervisor", "audit", "verify", "--bundle", str(moved)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "ok: 11 records" in run.stderr
    lines = (moved / "records.jsonl").read_text().splitlines()
    record = json.loads(lines[4])
    record["payload"] = record["payload"].replace("answer 5", "answer 6")
    lines[4] = json.dumps(record, ensure_ascii=False)
    (moved / "records.jsonl").write_text("\n".join(lines) + "\n")
    run = subprocess.run([sys.executable, "-m", "supervisor", "audit", "verify", "--bundle", str(moved)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 1
    assert run.stdout.splitlines()[0] == f"{moved}: seq 5 (exchange req-0005): edited (its content no longer matches its hash)"


def test_bundle_with_reordered_lines_and_foreign_key(filled, tmp_path):
    store, _ = filled
    export_bundle(store, tmp_path / "b")
    lines = (tmp_path / "b" / "records.jsonl").read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    (tmp_path / "b" / "records.jsonl").write_text("\n".join(lines) + "\n")
    report = verify_bundle(tmp_path / "b")
    assert report.problems[0] == "records.jsonl: seq 3 comes after seq 4 (lines reordered)"
    # an inspector who pins the deployment's published key rejects checkpoints signed by any other key
    other = load_or_create_signer(tmp_path / "other.pem")
    report = verify_bundle(tmp_path / "b", trusted={other.key_id: other.public})
    assert any("signed by unknown key" in p for p in report.problems)


def _hammer(url: str, key_file: str, worker: int, count: int) -> None:
    store = open_store(url)
    store.attach_signer(load_or_create_signer(Path(key_file)), every=7)
    for i in range(count):
        store.record(exchange(worker * 10_000 + i))
        if i % 10 == 0:
            store.add_review_action(f"req-{worker * 10_000 + i:04d}", "demo-jp", f"teacher-{worker}", "confirm", now())
    store.close()


def test_concurrent_writers_in_separate_processes_make_one_chain(backend, tmp_path):
    url, raw = backend
    open_store(url).close()                  # create the schema once, as a deployment's first start would
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_hammer, args=(url, str(tmp_path / f"key{w % 2}.pem"), w, 60)) for w in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
        assert p.exitcode == 0
    store = open_store(url)
    try:
        report = store.audit_verify()
        assert report.ok, report.problems
        assert report.records == 3 * 60 + 3 * 6                  # nothing lost
        seqs = [s for (s,) in raw("SELECT seq FROM audit_log ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))              # one chain, no forks, no gaps
        assert len(store.public_keys()) == 2                      # two key files, both published
    finally:
        store.close()


def test_cli_verify_and_export_on_the_database(tmp_path):
    import os

    env = {**os.environ, "SUPERVISOR_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db"}
    store = open_store(env["SUPERVISOR_DATABASE_URL"])
    store.attach_signer(load_or_create_signer(tmp_path / "supervisor-signing-key.pem"), every=3)
    for i in range(1, 6):
        store.record(exchange(i))
    store.close()

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "supervisor", "audit", *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path)

    assert cli("verify").returncode == 0
    exported = cli("export", str(tmp_path / "bundle"))
    assert exported.returncode == 0 and "wrote 5 records and 2 checkpoints" in exported.stderr
    sqlite3.connect(f"{tmp_path}/cli.db", isolation_level=None).execute("DELETE FROM audit_log WHERE seq = 2")
    run = cli("verify")
    assert run.returncode == 1 and run.stdout.splitlines()[0] == "audit: seq 2: deleted (the chain jumps from seq 1 to seq 3)"
    assert cli("verify", "--bundle", str(tmp_path / "bundle")).returncode == 0     # the export is unaffected


def test_cli_verify_catches_a_truncated_tail(tmp_path):
    """As deployed: the store opened with the settings' signer and witness, records after the last checkpoint
    deleted from the database, and `supervisor audit verify` exits 1."""
    import os

    from supervisor.services import open_signed_store
    from supervisor.settings import load_settings

    env = {**os.environ, "SUPERVISOR_DATABASE_URL": f"sqlite:///{tmp_path}/tail.db",
           "SUPERVISOR_AUDIT_CHECKPOINT_EVERY": "1000"}
    store, _ = open_signed_store(load_settings(env=env))
    for i in range(1, 6):
        store.record(exchange(i))
    store.close()

    def verify():
        return subprocess.run([sys.executable, "-m", "supervisor", "audit", "verify"], capture_output=True,
                              text=True, env=env, cwd=tmp_path)

    assert verify().returncode == 0
    db = sqlite3.connect(f"{tmp_path}/tail.db", isolation_level=None)
    db.execute("DELETE FROM audit_log WHERE seq >= 5")
    db.execute("DELETE FROM exchanges WHERE audit_seq >= 5")
    db.close()
    run = verify()
    assert run.returncode == 1 and run.stdout.startswith("audit: seq 5: deleted (a checkpoint signed the chain up to seq 5")
