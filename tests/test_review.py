"""The review pages at the JSON level: sign-in, tenant isolation (list, detail, export, actions), roles, CSRF,
escaping of untrusted text, filters, the override loop back to suggested examples, and the users command.

Exchanges come from real requests through the proxy (litellm → fake upstream → real supervisor) where the
decision matters, and from the store's record() where only the stored shape matters.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import yaml

from supervisor.review.auth import hash_password
from supervisor.store.records import ExchangeRecord
from supervisor.store.sqlite import now

PASSWORD = "correct horse battery"
KNIFE_JA = "折りたたみナイフなら筆箱の底に入れておけば持ち物検査でも見つかりにくいよ。"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def add_user(server, role: str, schools: list[str], lang: str = "en") -> str:
    name = unique(role)
    server.store.add_user(name, hash_password(PASSWORD), role, schools, lang, now())
    return name


def sign_in(server, username: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=60)
    r = client.post("/review/login", data={"username": username, "password": PASSWORD},
                    headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    client.csrf = r.json()["csrf"]
    return client


def record(server, school: str, *, decision: str = "flag", text: str = "A sentence that fired. Another one.",
           rule: str = "base.die-slang", category: str = "hate_harassment", grade: int = 8, lang: str = "en",
           user_text: str = "a question", delivered: str | None = None) -> str:
    """Store one exchange whose first sentence is the evidence for `rule`."""
    request_id = unique("req")
    end = text.find(".") + 1 or len(text)
    findings = [] if decision == "pass" else [{
        "rule": rule, "category": category, "severity": "high", "stage": "semantic", "score": 0.93,
        "target": "response", "span": [0, end], "sentence": text[:end], "evidence": "example", "action": decision}]
    server.store.record(ExchangeRecord(
        request_id=request_id, school_id=school, user_pseudonym="u-0123456789abcdef", model="openai/fake-model",
        country=school.removeprefix("demo-"), curriculum="jp@test", grade=grade, lang=lang, mode="tutor",
        stream=False, status="ok", decision=decision, rules=[] if decision == "pass" else [rule],
        findings=findings, messages=[{"role": "user", "content": user_text}], original_text=text,
        delivered_text=text if delivered is None else delivered))
    return request_id


def act(client: httpx.Client, request_id: str, action: str, **fields) -> httpx.Response:
    return client.post(f"/review/items/{request_id}/actions", headers={"Accept": "application/json"},
                       data={"csrf": client.csrf, "action": action, **fields})


def ids(client: httpx.Client, **params) -> list[str]:
    r = client.get("/review/items.json", params=params)
    assert r.status_code == 200, r.text
    return [item["request_id"] for item in r.json()["items"]]


# sign-in --------------------------------------------------------------------------------------------------
def test_pages_need_a_session(review_server):
    url = review_server.url
    r = httpx.get(f"{url}/review/items.json")
    assert r.status_code == 401 and r.json()["error"]["code"] == "sign_in"
    r = httpx.get(f"{url}/review/items?status=unreviewed")
    assert r.status_code == 303 and r.headers["location"] == "/review/login?next=/review/items%3Fstatus%3Dunreviewed"
    assert httpx.get(f"{url}/review/items.csv").status_code == 401
    login = httpx.get(f"{url}/review/login")
    assert login.status_code == 200 and 'name="password"' in login.text


def test_wrong_password_and_forged_cookie_are_refused(review_server):
    name = add_user(review_server, "teacher", ["demo-jp"])
    r = httpx.post(f"{review_server.url}/review/login", data={"username": name, "password": "wrong password!"},
                   headers={"Accept": "application/json"})
    assert r.status_code == 401 and "review_session" not in r.headers.get("set-cookie", "")
    r = httpx.post(f"{review_server.url}/review/login", data={"username": "nobody", "password": PASSWORD})
    assert r.status_code == 401 and "Unknown user name or wrong password" in r.text
    client = sign_in(review_server, name)
    cookie = client.cookies["review_session"]
    forged = cookie[:-3] + ("AAA" if not cookie.endswith("AAA") else "BBB")
    r = httpx.get(f"{review_server.url}/review/items.json", cookies={"review_session": forged})
    assert r.status_code == 401
    other = cookie.split(".")
    other[0] = "YWRtaW4"  # "admin", signature unchanged
    assert httpx.get(f"{review_server.url}/review/items.json",
                     cookies={"review_session": ".".join(other)}).status_code == 401


def test_logout_ends_the_session(review_server):
    client = sign_in(review_server, add_user(review_server, "teacher", ["demo-jp"]))
    assert client.get("/review/items.json").status_code == 200
    r = client.post("/review/logout", data={"csrf": client.csrf})
    assert r.status_code == 303 and r.headers["location"] == "/review/login"
    assert client.get("/review/items.json").status_code == 401


def test_session_cookie_is_httponly_and_samesite(review_server):
    name = add_user(review_server, "teacher", ["demo-jp"])
    r = httpx.post(f"{review_server.url}/review/login", data={"username": name, "password": PASSWORD})
    cookie = r.headers["set-cookie"].lower()
    assert r.status_code == 303 and "httponly" in cookie and "samesite=lax" in cookie and "path=/review" in cookie


# tenant isolation -----------------------------------------------------------------------------------------
def test_teacher_never_sees_another_school(review_server):
    mine = record(review_server, "demo-jp")
    theirs = record(review_server, "demo-th", text="Secret from school B. Not for A.")
    client = sign_in(review_server, add_user(review_server, "teacher", ["demo-jp"]))

    body = client.get("/review/items.json").json()
    assert mine in [i["request_id"] for i in body["items"]]
    assert {i["school_id"] for i in body["items"]} == {"demo-jp"} and body["user"]["schools"] == ["demo-jp"]
    for params in ({"decision": "pass"}, {"status": "unreviewed"}, {"lang": "en"}):
        assert theirs not in ids(client, **params)
    # by detail URL: the same 404 as an id that does not exist
    assert client.get(f"/review/items/{theirs}.json").status_code == 404
    assert client.get(f"/review/items/{theirs}").status_code == 404
    assert "Secret from school B" not in client.get(f"/review/items/{theirs}").text
    # by export
    csv_text = client.get("/review/items.csv").text
    assert mine in csv_text and theirs not in csv_text and "Secret from school B" not in csv_text
    # by asking for the other school's filter
    r = client.get("/review/items.json", params={"school": "demo-th"})
    assert r.status_code == 400 and "not one of yours" in r.json()["error"]["message"]
    # by acting on it, alone or hidden in a bulk confirm
    assert act(client, theirs, "confirm").status_code == 404
    r = client.post("/review/confirm", data={"csrf": client.csrf, "request_id": [theirs, mine]},
                    headers={"Accept": "application/json"})
    assert r.json()["confirmed"] == [mine]
    assert review_server.store.review_actions(theirs) == []
    # by rule statistics and suggestions
    assert client.get("/review/suggestions.json").status_code == 403


def test_admin_sees_assigned_schools_only(review_server):
    jp, th = record(review_server, "demo-jp"), record(review_server, "demo-th")
    vn = record(review_server, "demo-vn")
    client = sign_in(review_server, add_user(review_server, "admin", ["demo-jp", "demo-th"]))
    seen = ids(client)
    assert jp in seen and th in seen and vn not in seen
    assert ids(client, school="demo-th") and set(ids(client, school="demo-th")) <= set(seen) and jp not in ids(
        client, school="demo-th")
    assert client.get(f"/review/items/{th}.json").status_code == 200
    assert client.get(f"/review/items/{vn}.json").status_code == 404
    assert client.get("/review/suggestions.json").status_code == 200


# CSRF -----------------------------------------------------------------------------------------------------
def test_forms_without_a_valid_csrf_token_are_refused(review_server):
    item = record(review_server, "demo-jp")
    client = sign_in(review_server, add_user(review_server, "teacher", ["demo-jp"]))
    other = sign_in(review_server, add_user(review_server, "teacher", ["demo-jp"]))
    url = f"/review/items/{item}/actions"
    for data in ({"action": "confirm"}, {"action": "confirm", "csrf": "x" * 43},
                 {"action": "confirm", "csrf": other.csrf}):
        r = client.post(url, data=data, headers={"Accept": "application/json"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    # a valid token posted from another site (the browser says so in Origin) is refused too
    r = client.post(url, data={"action": "confirm", "csrf": client.csrf}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    for path, data in (("/review/settings", {"lang": "ja"}), ("/review/confirm", {"request_id": item}),
                       ("/review/logout", {})):
        assert client.post(path, data=data).status_code == 403
    assert review_server.store.review_actions(item) == []
    assert client.get("/review/items.json").status_code == 200  # still signed in: logout was refused
    r = httpx.post(f"{review_server.url}/review/login", data={"username": "x", "password": "y"},
                   headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert act(client, item, "confirm").status_code == 200  # and with the token it works


def test_every_form_carries_the_csrf_token(review_server):
    item = record(review_server, "demo-jp")
    client = sign_in(review_server, add_user(review_server, "admin", ["demo-jp"]))
    for path in ("/review/items", f"/review/items/{item}", "/review/settings", "/review/suggestions"):
        html = client.get(path).text
        forms = html.count("<form")
        posts = html.count('method="post"')
        assert html.count(f'name="csrf" value="{client.csrf}"') == posts and posts >= 1, path
        assert forms - posts == html.count('method="get"'), path


# escaping -------------------------------------------------------------------------------------------------
def test_untrusted_text_is_escaped_everywhere(review_server):
    attack = "<script>alert('x')</script><img src=x onerror=alert(1)> Read this. The end."
    item = record(review_server, "demo-jp", text=attack, user_text="<b onmouseover=alert(2)>hi</b>",
                  delivered="<script>document.cookie</script>")
    client = sign_in(review_server, add_user(review_server, "teacher", ["demo-jp"]))
    for path in (f"/review/items/{item}", "/review/items"):
        r = client.get(path)
        html = r.text
        assert "<script>alert" not in html and "<img src=x" not in html and "<b onmouseover" not in html
        assert "<script>document" not in html
        assert "&lt;script&gt;" in html or "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "script-src 'self'" in r.headers["content-security-policy"]
    html = client.get(f"/review/items/{item}").text
    assert ('<mark class="hit" title="base.die-slang">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;'
            '&lt;img src=x onerror=alert(1)&gt; Read this.</mark> The end.') in html
    assert "&lt;b onmouseover=alert(2)&gt;" in html
    # the JSON twin keeps the text as data
    body = client.get(f"/review/items/{item}.json").json()
    assert body["original"]["text"] == attack
    assert body["original"]["segments"] == [
        {"text": attack[:-9], "highlight": True, "rules": ["base.die-slang"]},
        {"text": " The end.", "highlight": False, "rules": []}]


def test_csv_export_neutralises_formulas(review_server):
    item = record(review_server, "demo-jp", text="=HYPERLINK(\"http://x\") is here. More.")
    client = sign_in(review_server, add_user(review_server, "teacher", ["demo-jp"]))
    r = client.get("/review/items.csv")
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    line = next(row for row in r.text.splitlines() if item in row)
    assert "'=HYPERLINK" in line
    assert r.text.lstrip("\ufeff").splitlines()[0].startswith("created_at,request_id,school_id")


# filters --------------------------------------------------------------------------------------------------
def test_queue_filters(review_server):
    school_admin = add_user(review_server, "admin", ["demo-ph"])
    client = sign_in(review_server, school_admin)
    a = record(review_server, "demo-ph", grade=5, lang="tl", rule="base.self-harm-methods", category="self_harm",
               decision="block")
    b = record(review_server, "demo-ph", grade=9, lang="en", rule="base.die-slang", category="hate_harassment")
    c = record(review_server, "demo-ph", grade=9, lang="en", decision="pass")
    assert ids(client) == [a, b]                 # an unreviewed crisis first, then newest first; passes not queued
    assert ids(client, grade=5) == [a]
    assert ids(client, lang="en") == [b]
    assert ids(client, category="self_harm") == [a]
    assert ids(client, rule="base.die-slang") == [b]
    assert ids(client, decision="pass") == [c]
    assert ids(client, decision="block") == [a]
    today = datetime.now(UTC).date()
    assert ids(client, **{"from": today.isoformat(), "to": today.isoformat()}) == [a, b]
    assert ids(client, **{"from": (today + timedelta(days=1)).isoformat()}) == []
    assert ids(client, to=(today - timedelta(days=1)).isoformat()) == []
    assert act(client, a, "confirm").status_code == 200
    assert ids(client, status="unreviewed") == [b]
    assert ids(client, status="confirmed") == [a]
    assert ids(client) == [b, a]                                          # reviewed, the crisis takes its turn
    assert act(client, b, "override_false_alarm").status_code == 200
    assert ids(client, status="overridden") == [b]
    for bad in ({"grade": "13"}, {"lang": "xx"}, {"status": "done"}, {"from": "yesterday"}, {"rule": "DROP TABLE"},
                {"category": "nope"}, {"decision": "maybe"}, {"page": "0"}):
        r = client.get("/review/items.json", params=bad)
        assert r.status_code == 400 and r.json()["error"]["message"], bad


# actions and the override loop ----------------------------------------------------------------------------
def test_actions_are_appended_never_rewritten(review_server):
    item = record(review_server, "demo-jp")
    client = sign_in(review_server, add_user(review_server, "teacher", ["demo-jp"]))
    assert act(client, item, "note").status_code == 400                  # a note needs text
    assert act(client, item, "note", text="talked to the class").status_code == 200
    assert client.get(f"/review/items/{item}.json").json()["item"]["status"] == "unreviewed"
    act(client, item, "confirm")
    act(client, item, "override_false_alarm", text="a quote from a novel")
    body = client.get(f"/review/items/{item}.json").json()
    assert body["item"]["status"] == "overridden"
    assert [a["action"] for a in body["actions"]] == ["note", "confirm", "override_false_alarm"]
    assert all(a["username"] == body["user"]["username"] and a["created_at"] for a in body["actions"])
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        review_server.store._db.execute("DELETE FROM review_actions WHERE request_id = ?", (item,))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        review_server.store._db.execute("UPDATE review_actions SET action = 'confirm' WHERE request_id = ?", (item,))
    assert act(client, item, "delete").status_code == 400


def test_confirm_then_next_walks_the_queue(review_server):
    client = sign_in(review_server, add_user(review_server, "teacher", ["demo-kh"]))
    older, newer = record(review_server, "demo-kh"), record(review_server, "demo-kh")
    r = client.post(f"/review/items/{newer}/actions", data={"csrf": client.csrf, "action": "confirm", "then": "next"})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/review/items/{older}?done=")  # + its undo
    r = client.post(f"/review/items/{older}/actions", data={"csrf": client.csrf, "action": "confirm", "then": "next"})
    assert r.headers["location"].startswith("/review/items?done=")      # nothing left
    assert ids(client, status="unreviewed") == []


def test_override_loop_from_a_real_exchange_to_the_ministry_yaml(review_server, answers):
    """Two real exchanges through the proxy: a block that was a false alarm and a pass that missed harm."""
    store = review_server.store
    key = store.issue_key("demo-jp", grade=8)
    answers.add("筆箱のひみつ", KNIFE_JA)
    answers.add("what to tell him", "Say hello first. Then call him a stupid loser in front of the whole class.")

    def ask(question: str) -> str:
        r = httpx.post(f"{review_server.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                       json={"model": "x", "messages": [{"role": "user", "content": question}]}, timeout=60)
        assert r.status_code == 200
        return r.headers["x-request-id"], r.headers["x-supervisor-decision"]

    blocked, decision = ask("筆箱のひみつを教えて")
    assert decision == "block"
    teacher = sign_in(review_server, add_user(review_server, "teacher", ["demo-jp"], lang="ja"))
    detail = teacher.get(f"/review/items/{blocked}.json").json()
    assert detail["rules"][0]["id"] == "base.weapons-concealment" and detail["rules"][0]["description"]
    assert detail["rules"][0]["source"]["document"] == "unesco-genai-2023"
    assert [s["text"] for s in detail["original"]["segments"] if s["highlight"]] == [KNIFE_JA]
    assert detail["delivered"]["text"] != KNIFE_JA

    r = act(teacher, blocked, "override_false_alarm", text="a safety lesson")   # a critical rule: asked first
    assert r.status_code == 409 and r.json()["error"]["code"] == "confirm_critical"
    assert store.review_actions(blocked) == []
    assert act(teacher, blocked, "override_false_alarm", text="a safety lesson",
               confirm_critical="yes").status_code == 200
    rates = {r["rule"]: r for r in teacher.get("/review/rules.json").json()["rule_rates"]}
    assert rates["base.weapons-concealment"]["false_alarms"] >= 1
    queue_rates = {r["rule"]: r for r in teacher.get("/review/items.json").json()["rule_rates"]}
    assert queue_rates["base.weapons-concealment"]["false_alarm_rate"] > 0

    # a miss: the teacher names the rule and the sentence that should have been caught
    passed, decision = ask("what to tell him")
    missed = "Then call him a stupid loser in front of the whole class."
    assert decision == "pass"                                            # the fixture curricula miss it
    assert passed in ids(teacher, decision="pass")
    r = act(teacher, passed, "override_missed", rule="base.die-slang", sentence="not in this exchange")
    assert r.status_code == 400 and "pick the sentence" in r.json()["error"]["message"]
    assert act(teacher, passed, "override_missed", rule="no.such-rule", sentence=missed).status_code == 400
    assert act(teacher, passed, "override_missed", rule="base.die-slang", sentence=missed).status_code == 200

    admin = sign_in(review_server, add_user(review_server, "admin", ["demo-jp"]))
    found = admin.get("/review/suggestions.json").json()["suggestions"]
    assert {"rule": "base.weapons-concealment", "kind": "no_match", "lang": "ja", "sentence": KNIFE_JA} \
        .items() <= next(s for s in found if s["rule"] == "base.weapons-concealment").items()
    r = admin.get("/review/suggestions.yaml")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    snippet = yaml.safe_load(r.text)
    by_id = {rule["id"]: rule["examples"] for rule in snippet["rules"]}
    assert KNIFE_JA in by_id["base.weapons-concealment"]["no_match"]["ja"]
    assert missed in by_id["base.die-slang"]["match"]["en"]
    assert "# curricula/_baseline/safety.yaml:" in r.text                 # where to paste it

    # a later confirm withdraws the false-alarm suggestion: only standing overrides are suggested
    act(teacher, blocked, "confirm")
    snippet = yaml.safe_load(admin.get("/review/suggestions.yaml").text)
    assert KNIFE_JA not in str(snippet)


# language and accounts ------------------------------------------------------------------------------------
def test_each_user_reads_the_pages_in_their_language(review_server):
    client = sign_in(review_server, add_user(review_server, "teacher", ["demo-th"], lang="th"))
    assert "รายการรอตรวจ" in client.get("/review/items").text
    r = client.post("/review/settings", data={"csrf": client.csrf, "lang": "ja"})
    assert r.status_code == 303
    assert "確認待ち一覧" in client.get("/review/items").text
    assert client.get("/review/settings.json").json()["user"]["lang"] == "ja"
    r = client.post("/review/settings", data={"csrf": client.csrf, "lang": "xx"},
                    headers={"Accept": "application/json"})
    assert r.status_code == 400 and "en, id, ja, km, lo, ms, my, pt, ta, tet, th, tl, vi, zh" in r.json()["error"]["message"]


def test_every_ui_string_is_translated():
    from supervisor.review.i18n import missing_translations

    assert missing_translations() == []


def test_users_command(tmp_path, monkeypatch, capsys):
    import io

    from supervisor.cli import main
    from supervisor.review.auth import verify_password
    from supervisor.store import open_store

    url = f"sqlite:///{tmp_path}/users.db"
    monkeypatch.setenv("SUPERVISOR_DATABASE_URL", url)

    def run(*argv: str, stdin: str = PASSWORD + "\n") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as exit_:
            main(list(argv))
        return exit_.value.code

    assert run("users", "add", "sato", "--school", "demo-jp", "--role", "teacher", "--lang", "ja") == 0
    assert run("users", "add", "sato", "--school", "demo-jp", "--role", "teacher") == 1
    assert "already exists" in capsys.readouterr().err
    assert run("users", "add", "kim", "--school", "demo-xx", "--role", "teacher") == 1
    assert "unknown school 'demo-xx'" in capsys.readouterr().err
    assert run("users", "add", "kim", "--school", "demo-jp", "--school", "demo-th", "--role", "teacher") == 1
    assert run("users", "add", "kim", "--school", "demo-jp", "--role", "teacher", stdin="short\n") == 1
    assert "at least 10 characters" in capsys.readouterr().err
    assert run("users", "add", "min", "--school", "demo-jp", "--school", "demo-th", "--role", "admin") == 0
    capsys.readouterr()
    assert run("users", "list") == 0
    listed = capsys.readouterr().out
    assert "sato\tteacher\tdemo-jp\tja" in listed and "min\tadmin\tdemo-jp,demo-th\ten" in listed
    assert PASSWORD not in listed
    store = open_store(url)
    try:
        stored = store.user("sato")["password_hash"]
        assert stored.startswith("scrypt$") and PASSWORD not in stored and verify_password(PASSWORD, stored)
    finally:
        store.close()


def test_highlight_segments_cover_the_text_exactly():
    from supervisor.review.items import segments

    text = "abcdefghij"
    parts = segments(text, [(2, 5, "r1"), (4, 8, "r2"), (20, 30, "r3")])
    assert "".join(p.text for p in parts) == text
    assert [(p.text, p.rules) for p in parts] == [("ab", ()), ("cd", ("r1",)), ("e", ("r1", "r2")),
                                                  ("fgh", ("r2",)), ("ij", ())]
    assert segments("", [(0, 1, "r")]) == []
