"""The proxy on PostgreSQL: keys, records, pseudonym secret and the audit chain live in the shared store, so
two replicas (here: two proxy servers on one database) answer with one key and write one chain."""

from __future__ import annotations

import concurrent.futures
import dataclasses

import httpx


def test_two_proxies_share_one_postgres_store_and_one_chain(proxy_settings, answers, pg_database, tmp_path):
    from conftest import ServerThread
    from supervisor.app import create_app
    from supervisor.store import open_store

    answers.add("振り子", "振り子の周期は糸の長さで決まります。")
    replicas = [dataclasses.replace(proxy_settings, database_url=pg_database,
                                    signing_key_file=tmp_path / f"replica{i}.pem", audit_checkpoint_every=5)
                for i in range(2)]
    store = open_store(pg_database)
    key = store.issue_key("demo-jp", grade=6)                  # issued once, valid on every replica
    store.close()
    with ServerThread(create_app(replicas[0])) as a, ServerThread(create_app(replicas[1])) as b:
        def ask(i: int) -> httpx.Response:
            server = (a, b)[i % 2]
            return httpx.post(f"{server.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                              timeout=60, json={"model": "x", "user": "student-7",
                                                "messages": [{"role": "user", "content": f"振り子 {i}"}]})

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(ask, range(24)))
        assert all(r.status_code == 200 for r in responses)
    store = open_store(pg_database)
    try:
        report = store.audit_verify()
        assert report.ok, report.problems
        assert report.records == 24 and report.last_signed_seq == 24      # both replicas sealed on shutdown
        assert len(store.public_keys()) == 2
        rows = store.exchanges(limit=100)
        assert len(rows) == 24 and len({r["user_pseudonym"] for r in rows}) == 1   # one secret, one pseudonym
        assert all(r["decision"] == "pass" for r in rows)
    finally:
        store.close()


def test_review_pages_on_postgres(proxy_settings, pg_database, tmp_path):
    """The review JSON flow on a PostgreSQL-backed app: sign in, a scoped and filtered queue, override, the
    rule's false-alarm rate, and the override in the audit chain that `audit verify` cross-checks."""
    from test_review import act, add_user, ids, record, sign_in

    from conftest import ServerThread
    from supervisor.app import create_app
    from supervisor.store import open_store

    settings = dataclasses.replace(proxy_settings, database_url=pg_database, signing_key_file=tmp_path / "key.pem")
    with ServerThread(create_app(settings)) as server:
        server.store = open_store(pg_database)
        try:
            mine = record(server, "demo-jp")
            other = record(server, "demo-jp", rule="base.weapons-concealment", category="hateXharassment")
            theirs = record(server, "demo-th")
            teacher = sign_in(server, add_user(server, "teacher", ["demo-jp"]))
            assert ids(teacher) == [other, mine]                           # own school only, newest first
            assert ids(teacher, rule="base.die-slang") == [mine]
            assert ids(teacher, category="hate_harassment") == [mine]     # `_` matches literally (LIKE ESCAPE)
            assert teacher.get(f"/review/items/{theirs}.json").status_code == 404

            assert act(teacher, mine, "override_false_alarm", text="a quote from a novel").status_code == 200
            assert ids(teacher, status="overridden") == [mine] and ids(teacher, status="unreviewed") == [other]
            detail = teacher.get(f"/review/items/{mine}.json").json()
            assert detail["item"]["status"] == "overridden"
            assert [a["action"] for a in detail["actions"]] == ["override_false_alarm"]
            rates = {r["rule"]: r for r in teacher.get("/review/items.json").json()["rule_rates"]}
            assert rates["base.die-slang"]["false_alarms"] == 1
            admin = sign_in(server, add_user(server, "admin", ["demo-jp"]))
            assert admin.get("/review/suggestions.json").status_code == 200
            assert mine in admin.get("/review/items.csv").text

            report = server.store.audit_verify()
            assert report.ok, report.problems
            assert len(report.review_hashes) == 1                          # the override is in the chain
        finally:
            server.store.close()
