"""Review accounts on a bad day: password guessing is locked out, signing out ends the session on the server
(a copied cookie stops working), a password change or an administrator's reset signs every session out, and a
disabled account cannot sign in. The session cookie is Secure behind a trusted TLS-terminating proxy.
"""

from __future__ import annotations

import io
import uuid

import httpx
import pytest

from supervisor.review.auth import MAX_LOGIN_FAILURES, hash_password
from supervisor.store.sqlite import now

PASSWORD = "correct horse battery"
JSON = {"Accept": "application/json"}


def new_user(server) -> str:
    name = f"teacher-{uuid.uuid4().hex[:8]}"
    server.store.add_user(name, hash_password(PASSWORD), "teacher", ["demo-jp"], "en", now())
    return name


def login(server, name: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"{server.url}/review/login", data={"username": name, "password": password}, headers=JSON,
                      timeout=60)


def test_password_guessing_is_locked_out(review_server):
    name = new_user(review_server)
    for _ in range(MAX_LOGIN_FAILURES - 1):              # a teacher who mistypes a few times is not locked
        assert login(review_server, name, "wrong password!").status_code == 401
    assert login(review_server, name).status_code == 200  # and a success clears the count
    for _ in range(MAX_LOGIN_FAILURES):
        assert login(review_server, name, "wrong password!").status_code == 401
    r = login(review_server, name)                       # the right password, but too late
    assert r.status_code == 429 and r.json()["error"]["code"] == "locked"
    assert int(r.headers["retry-after"]) > 0 and "review_session" not in r.headers.get("set-cookie", "")
    other = new_user(review_server)                      # another account is not affected
    assert login(review_server, other).status_code == 200


def test_logout_ends_the_session_on_the_server(review_server):
    r = login(review_server, new_user(review_server))
    cookie, csrf = r.cookies["review_session"], r.json()["csrf"]
    stolen = {"review_session": cookie}                  # a copy of the cookie, kept by someone else
    assert httpx.get(f"{review_server.url}/review/items.json", cookies=stolen).status_code == 200
    out = httpx.post(f"{review_server.url}/review/logout", data={"csrf": csrf}, cookies=stolen, headers=JSON)
    assert out.status_code == 200
    assert httpx.get(f"{review_server.url}/review/items.json", cookies=stolen).status_code == 401


def test_a_password_change_signs_out_every_other_session(review_server):
    name = new_user(review_server)
    laptop, phone = login(review_server, name), login(review_server, name)
    r = httpx.post(f"{review_server.url}/review/password", headers=JSON, cookies=laptop.cookies,
                   data={"csrf": laptop.json()["csrf"], "current_password": PASSWORD,
                         "new_password": "a brand new passphrase"})
    assert r.status_code == 200, r.text
    assert httpx.get(f"{review_server.url}/review/items.json", cookies=phone.cookies).status_code == 401
    assert httpx.get(f"{review_server.url}/review/items.json", cookies=laptop.cookies).status_code == 401
    assert httpx.get(f"{review_server.url}/review/items.json", cookies=r.cookies).status_code == 200  # new one
    assert login(review_server, name).status_code == 401
    assert login(review_server, name, "a brand new passphrase").status_code == 200
    wrong = httpx.post(f"{review_server.url}/review/password", headers=JSON, cookies=r.cookies,
                       data={"csrf": r.json()["csrf"], "current_password": "not it at all",
                             "new_password": "another passphrase"})
    assert wrong.status_code == 403


def test_an_administrator_resets_and_disables_accounts(review_server, monkeypatch, capsys):
    from supervisor.cli import main

    monkeypatch.setenv("SUPERVISOR_DATABASE_URL", review_server.settings.database_url)
    name = new_user(review_server)
    session = login(review_server, name)

    def run(*argv: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as exit_:
            main(list(argv))
        return exit_.value.code

    assert run("users", "passwd", name, stdin="reset by the admin\n") == 0
    assert httpx.get(f"{review_server.url}/review/items.json", cookies=session.cookies).status_code == 401
    assert login(review_server, name, "reset by the admin").status_code == 200
    session = login(review_server, name, "reset by the admin")
    assert run("users", "disable", name) == 0
    assert httpx.get(f"{review_server.url}/review/items.json", cookies=session.cookies).status_code == 401
    r = login(review_server, name, "reset by the admin")
    assert r.status_code == 403 and r.json()["error"]["code"] == "disabled"
    assert run("users", "disable", name, "--enable") == 0
    assert login(review_server, name, "reset by the admin").status_code == 200
    assert run("users", "passwd", "nobody-at-all", stdin="whatever it is\n") == 1


def test_the_cookie_is_secure_behind_a_trusted_proxy_only(proxy_settings, tmp_path):
    import dataclasses

    from conftest import ServerThread
    from supervisor.app import create_app
    from supervisor.store import open_store

    settings = dataclasses.replace(proxy_settings, database_url=f"sqlite:///{tmp_path}/tls.db",
                                   trusted_proxies=("127.0.0.1",))
    with ServerThread(create_app(settings)) as server:
        server.store = open_store(settings.database_url)
        try:
            name = new_user(server)
            behind = httpx.post(f"{server.url}/review/login", data={"username": name, "password": PASSWORD},
                                headers={**JSON, "X-Forwarded-Proto": "https"})
            assert "secure" in behind.headers["set-cookie"].lower()
            plain = login(server, name)
            assert "secure" not in plain.headers["set-cookie"].lower()
        finally:
            server.store.close()
    # not a trusted proxy: the header is ignored
    untrusted = dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path}/tls2.db", trusted_proxies=())
    with ServerThread(create_app(untrusted)) as server:
        server.store = open_store(untrusted.database_url)
        try:
            r = httpx.post(f"{server.url}/review/login", data={"username": new_user(server), "password": PASSWORD},
                           headers={**JSON, "X-Forwarded-Proto": "https"})
            assert r.status_code == 200 and "secure" not in r.headers["set-cookie"].lower()
        finally:
            server.store.close()



@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sessions_lockout_and_key_grants_on_both_backends(backend, tmp_path, request):
    """The server-side state behind the above, on each backend the deployment may use."""
    from supervisor.store import open_store
    from supervisor.store.base import KeyGrant

    url = f"sqlite:///{tmp_path}/s.db" if backend == "sqlite" else request.getfixturevalue("pg_database")
    store = open_store(url)
    try:
        store.add_user("sato", hash_password(PASSWORD), "teacher", ["demo-jp"], "en", now())
        store.start_session("n1", "sato", 100.0)
        store.start_session("n2", "sato", 101.0)
        assert store.session_open("n1", "sato") and not store.session_open("n1", "someone-else")
        store.end_session("n1", 102.0)
        assert not store.session_open("n1", "sato") and store.session_open("n2", "sato")
        store.set_disabled("sato", True, 103.0)
        assert store.is_disabled("sato") and not store.session_open("n2", "sato")
        store.set_disabled("sato", True, 104.0)                      # twice is fine
        store.set_disabled("sato", False, 105.0)
        store.start_session("n3", "sato", 106.0)
        store.end_sessions("sato", 107.0)
        assert not store.is_disabled("sato") and not store.session_open("n3", "sato")
        for at in (1.0, 2.0, 3.0):
            store.note_login_failure("sato", at)
        assert store.login_failures("sato", 2.0) == [2.0, 3.0]
        store.clear_login_failures("sato")
        assert store.login_failures("sato", 0.0) == []
        key = store.issue_key("demo-jp", grade=3, ages=(8, 9))
        assert store.lookup_key(key) == KeyGrant("demo-jp", 3, (8, 9))
        assert store.lookup_key(store.issue_key("demo-th")) == KeyGrant("demo-th", None, None)
    finally:
        store.close()
