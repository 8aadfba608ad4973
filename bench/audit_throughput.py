"""Throughput cost of the audit chain: exchange records written per second with and without auditing, on
SQLite and (when a server is given) PostgreSQL. Prints a table.

    .venv/bin/python bench/audit_throughput.py [--records 2000] [--writers 2]
    # PostgreSQL too: eval "$(.ci/postgres.sh start)" first (reads SUPERVISOR_TEST_POSTGRES_URL,
    # or SUPERVISOR_BENCH_POSTGRES_URL), a scratch database is created and dropped

- plain: one INSERT per exchange in its own transaction (what the store did before auditing);
- audited: the exchange row and its chained audit entry in one transaction (advisory lock on PostgreSQL,
  BEGIN IMMEDIATE on SQLite), with an Ed25519-signed checkpoint every 100 records (the default);
- audited, N writers: N processes appending to the same chain at once (the replicas case).
Each figure is a fresh database. The records are a realistic size (a question, an answer, one finding).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from supervisor.signing import load_or_create_signer  # noqa: E402
from supervisor.store import open_store  # noqa: E402
from supervisor.store.records import COLUMNS, JSON_COLUMNS, ExchangeRecord, now  # noqa: E402


def record(i: int, tag: str = "") -> ExchangeRecord:
    return ExchangeRecord(
        request_id=f"req-{tag}{i:07d}", school_id="demo-jp", user_pseudonym="u-0123456789abcdef01234567",
        model="openai/gpt-4o-mini", country="jp", curriculum="jp@2024.1", grade=8, lang="ja", mode="tutor",
        stream=False, status="ok", decision="flag", rules=["jp.example-rule"],
        findings=[{"rule": "jp.example-rule", "stage": "semantic", "score": 0.91, "target": "response",
                   "span": [0, 40], "sentence": "てこには支点、力点、作用点の3つの点があります。", "action": "flag"}],
        messages=[{"role": "user", "content": "てこのしくみを教えてください。[NAME]です。"}],
        original_text="てこには支点、力点、作用点の3つの点があります。" * 6,
        delivered_text="てこには支点、力点、作用点の3つの点があります。" * 6,
        latency_ms=812.5, supervision_ms=61.2, privacy={"store": "redacted", "redacted": {"roster": 1}})


def plain_insert(store, rec: ExchangeRecord) -> None:
    """The unaudited baseline: the exchange row alone, one autocommitted INSERT."""
    values = rec.to_dict()
    row = [json.dumps(values[c], ensure_ascii=False) if c in JSON_COLUMNS else values[c] for c in COLUMNS]
    sql = f"INSERT INTO exchanges (created_at, {', '.join(COLUMNS)}) VALUES ({', '.join('?' * (len(COLUMNS) + 1))})"
    with store._lock:
        if hasattr(store, "_db"):
            store._db.execute(sql, (now(), *row))
        else:
            store._connect().execute(sql.replace("?", "%s"), (now(), *row))


def _writer(url: str, key: str, audited: bool, start: int, count: int, tag: str) -> None:
    store = open_store(url)
    if audited:
        store.attach_signer(load_or_create_signer(Path(key)))
    for i in range(start, start + count):
        (store.record if audited else lambda r: plain_insert(store, r))(record(i, tag))
    store.close()


def measure(url: str, key: str, audited: bool, records: int, writers: int) -> float:
    open_store(url).close()
    per = records // writers
    started = time.perf_counter()
    if writers == 1:
        _writer(url, key, audited, 0, per, "w0-")
    else:
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_writer, args=(url, key, audited, 0, per, f"w{w}-")) for w in range(writers)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
    elapsed = time.perf_counter() - started
    if audited:
        store = open_store(url)
        report = store.audit_verify()
        store.close()
        assert report.ok and report.records == per * writers, report.problems
    return per * writers / elapsed


def sqlite_urls(folder: Path):
    n = 0
    while True:
        n += 1
        yield f"sqlite:///{folder}/bench{n}.db"


def postgres_urls(admin: str):
    import psycopg

    made = []
    try:
        while True:
            name = f"bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(admin, autocommit=True) as db:
                db.execute(f'CREATE DATABASE "{name}"')
            made.append(name)
            yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as db:
            for name in made:
                db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="audit-bench-"))
    key = str(folder / "key.pem")
    backends = [("sqlite", sqlite_urls(folder))]
    pg = os.environ.get("SUPERVISOR_BENCH_POSTGRES_URL") or os.environ.get("SUPERVISOR_TEST_POSTGRES_URL")
    if pg:
        backends.append(("postgresql", postgres_urls(pg)))
    else:
        print("(PostgreSQL skipped: set SUPERVISOR_TEST_POSTGRES_URL, e.g. eval \"$(.ci/postgres.sh start)\")")
    print(f"{args.records} exchange records per run, {os.cpu_count()} CPUs")
    print(f"{'backend':<11} {'plain rec/s':>12} {'audited rec/s':>14} {'cost':>6} "
          f"{f'audited, {args.writers} writers':>22}")
    for name, urls in backends:
        plain = measure(next(urls), key, False, args.records, 1)
        audited = measure(next(urls), key, True, args.records, 1)
        parallel = measure(next(urls), key, True, args.records, args.writers)
        print(f"{name:<11} {plain:>12.0f} {audited:>14.0f} {(1 - audited / plain) * 100:>5.0f}% {parallel:>22.0f}")
        urls.close()


if __name__ == "__main__":
    main()
