"""A teacher's day on the review pages, at the JSON level (and the HTML where the page itself is the point):
a crisis heads the queue and the queue can be searched; a false alarm on a critical rule is asked about first;
every action can be undone, and the undo reverts the status, the false-alarm rates and the suggested example;
the false-alarm form names the highlighted rule; an administrator resets and disables accounts on the page;
a rule is shown as the curriculum version that judged the exchange stated it, in the teacher's language.
"""

from __future__ import annotations

import httpx
import pytest
from test_review import PASSWORD, act, add_user, ids, record, sign_in, unique

from supervisor.errors import StoreError
from supervisor.store.records import ExchangeRecord
from supervisor.store.reviews import QueueFilter
from supervisor.store.sqlite import now

JSON = {"Accept": "application/json"}
DISAPPEAR = "I want to disappear."


def crisis(server, school: str, text: str = DISAPPEAR, curriculum: str = "jp@test") -> str:
    """A crisis disclosure (critical, on the student's words) next to a medium rule on the answer."""
    request_id = unique("req")
    answer = "Here is your homework help. Rivers flow to the sea."
    findings = [
        {"rule": "base.self-harm-methods", "category": "self_harm", "severity": "critical", "stage": "semantic",
         "score": 0.9, "target": "user", "span": [0, len(text)], "sentence": text, "action": "block"},
        {"rule": "base.die-slang", "category": "hate_harassment", "severity": "high", "stage": "semantic",
         "score": 0.7, "target": "response", "span": [0, 26], "sentence": answer[:26], "action": "flag"}]
    server.store.record(ExchangeRecord(
        request_id=request_id, school_id=school, user_pseudonym="u-feedc0ffee0123456789abcd", model="m",
        country=school.removeprefix("demo-"), curriculum=curriculum, grade=8, lang="en", mode="tutor", stream=False,
        status="ok", decision="block", rules=["base.self-harm-methods", "base.die-slang"], findings=findings,
        messages=[{"role": "user", "content": text}], original_text=answer, delivered_text="help text"))
    return request_id


def rates(client) -> dict[str, dict]:
    return {r["rule"]: r for r in client.get("/review/rules.json").json()["rule_rates"]}


def test_a_crisis_heads_the_queue_and_the_queue_is_searchable(review_server):
    client = sign_in(review_server, add_user(review_server, "teacher", ["demo-vn"], lang="ja"))
    knife_old = record(review_server, "demo-vn", text="Hide the knife in your bag. More.")
    urgent = crisis(review_server, "demo-vn")
    knife_new = record(review_server, "demo-vn", text="Another knife tip here. More.")
    mine = (urgent, knife_new, knife_old)         # the session's server holds other tests' exchanges too
    body = client.get("/review/items.json").json()
    assert [i["request_id"] for i in body["items"] if i["request_id"] in mine] == [urgent, knife_new, knife_old]
    top = body["items"][0]
    assert top["urgent"] and top["excerpt"] == DISAPPEAR              # the student's words, not the answer's
    assert top["category_names"][0] == "自傷・自殺" and top["student"] == "u-feedc0ffee0123456789abcd"
    assert ids(client, q="disappear") == [urgent]                       # search: the student's message
    assert ids(client, q="KNIFE TIP") == [knife_new]                    # the answer, whatever the case
    assert ids(client, q="feedc0ffee") == [urgent]                      # the pseudonym
    assert ids(client, q="100%_") == []                                 # LIKE wildcards are literal
    assert client.get("/review/items.json", params={"q": "x" * 201}).status_code == 400
    html = client.get("/review/items", params={"q": "disappear"}).text
    assert 'class="row st-unreviewed urgent"' in html and "危機" in html
    act(client, urgent, "confirm")
    assert [i for i in ids(client) if i in mine] == [knife_new, urgent, knife_old]   # reviewed: back in time order


def test_a_false_alarm_on_a_critical_rule_asks_first_and_names_the_highlighted_rule(review_server):
    client = sign_in(review_server, add_user(review_server, "teacher", ["demo-id"]))
    item = crisis(review_server, "demo-id")
    detail = client.get(f"/review/items/{item}.json").json()["item"]
    assert detail["highlighted_rule"] == "base.self-harm-methods"
    assert detail["critical_rules"] == ["base.self-harm-methods"]
    html = client.get(f"/review/items/{item}").text
    assert '<option value="base.self-harm-methods" selected>' in html  # not "every rule that fired"
    # the browser's form: a page that asks once more, carrying the same fields, and nothing recorded yet
    r = client.post(f"/review/items/{item}/actions", data={"csrf": client.csrf, "action": "override_false_alarm",
                                                             "rule": "base.self-harm-methods", "then": "next"})
    assert r.status_code == 409 and 'name="confirm_critical" value="yes"' in r.text
    assert 'name="rule" value="base.self-harm-methods"' in r.text and DISAPPEAR in r.text
    assert review_server.store.review_actions(item) == []
    # a false alarm on the other (non-critical) rule is not asked about, and counts against that rule only
    assert act(client, item, "override_false_alarm", rule="base.die-slang").status_code == 200
    counted = rates(client)
    assert counted["base.die-slang"]["false_alarms"] >= 1
    assert counted["base.self-harm-methods"]["false_alarms"] == 0


def test_every_action_can_be_undone_and_the_undo_is_recorded(review_server):
    store = review_server.store
    teacher = add_user(review_server, "teacher", ["demo-sg"])
    client = sign_in(review_server, teacher)
    admin = sign_in(review_server, add_user(review_server, "admin", ["demo-sg"]))
    item = crisis(review_server, "demo-sg")
    r = act(client, item, "override_false_alarm", confirm_critical="yes")   # every rule, confirmed
    action_id = r.json()["id"]
    assert rates(client)["base.self-harm-methods"]["false_alarm_rate"] == 1.0
    assert any(s["sentence"] == DISAPPEAR for s in admin.get("/review/suggestions.json").json()["suggestions"])
    # the page after the action offers to undo it
    page = client.get(f"/review/items?done={action_id}").text
    assert 'id="undo-last"' in page and f'name="undoes" value="{action_id}"' in page
    assert 'id="undo-last"' not in admin.get(f"/review/items?done={action_id}").text   # only one's own

    assert act(client, item, "undo", undoes=str(action_id)).status_code == 200
    body = client.get(f"/review/items/{item}.json").json()
    assert body["item"]["status"] == "unreviewed"
    assert [(a["action"], a["undone_by"] is not None) for a in body["actions"]] == [
        ("override_false_alarm", True), ("undo", False)]
    assert rates(client)["base.self-harm-methods"]["false_alarms"] == 0     # the statistics are reverted
    assert not any(s["sentence"] == DISAPPEAR for s in admin.get("/review/suggestions.json").json()["suggestions"])
    assert "undo-last" not in client.get(f"/review/items?done={action_id}").text   # nothing left to undo

    undo_id = body["actions"][1]["id"]
    for bad in (str(action_id), str(undo_id), "999999999", "", "1 OR 1=1"):  # twice, an undo, unknown, junk
        assert act(client, item, "undo", undoes=bad).status_code == 400, bad
    other = record(review_server, "demo-jp")                                # another school's action
    jp = sign_in(review_server, add_user(review_server, "teacher", ["demo-jp"]))
    foreign = act(jp, other, "confirm").json()["id"]
    assert act(client, other, "undo", undoes=str(foreign)).status_code == 404
    assert act(client, item, "undo", undoes=str(foreign)).status_code == 400
    # append-only: the rows are all still there, and the chain still verifies
    assert [a["action"] for a in store.review_actions(item)] == ["override_false_alarm", "undo"]
    assert store.audit_verify().ok


def test_an_administrator_resets_and_disables_accounts_on_the_page(review_server):
    admin_name = add_user(review_server, "admin", ["demo-th"])
    admin = sign_in(review_server, admin_name)
    teacher_name = add_user(review_server, "teacher", ["demo-th"])
    teacher = sign_in(review_server, teacher_name)
    elsewhere = add_user(review_server, "teacher", ["demo-th", "demo-jp"])   # not all theirs: not managed
    listed = {a["username"] for a in admin.get("/review/accounts.json").json()["accounts"]}
    assert teacher_name in listed and elsewhere not in listed and admin_name not in listed
    assert teacher.get("/review/accounts.json").status_code == 403         # teachers manage nobody

    def post(client, path, **fields):
        return client.post(path, headers=JSON, data={"csrf": client.csrf, **fields})

    assert post(admin, f"/review/accounts/{teacher_name}/password", new_password="short").status_code == 400
    assert post(admin, f"/review/accounts/{elsewhere}/password", new_password="a long new password").status_code == 404
    r = admin.post(f"/review/accounts/{teacher_name}/password", headers=JSON, data={"new_password": "no csrf at all"})
    assert r.status_code == 403
    assert post(admin, f"/review/accounts/{teacher_name}/password", new_password="set by the admin").status_code == 200
    assert teacher.get("/review/items.json").status_code == 401             # signed out everywhere
    login = {"username": teacher_name, "password": "set by the admin"}
    assert httpx.post(f"{review_server.url}/review/login", data=login, headers=JSON).status_code == 200
    assert post(admin, f"/review/accounts/{teacher_name}/disable", disabled="yes").status_code == 400
    assert post(admin, f"/review/accounts/{teacher_name}/disable", disabled="1").status_code == 200
    r = httpx.post(f"{review_server.url}/review/login", data=login, headers=JSON)
    assert r.status_code == 403 and r.json()["error"]["code"] == "disabled"
    assert {a["username"]: a["disabled"] for a in admin.get("/review/accounts.json").json()["accounts"]}[teacher_name]
    assert post(admin, f"/review/accounts/{teacher_name}/disable", disabled="0").status_code == 200
    assert httpx.post(f"{review_server.url}/review/login", data=login, headers=JSON).status_code == 200
    page = admin.get("/review/accounts").text
    assert f'action="/review/accounts/{teacher_name}/password"' in page and 'data-confirm=' in page
    assert PASSWORD not in page


def test_a_rule_is_shown_as_the_version_that_judged_it_in_the_teachers_language(review_server, answers):
    store = review_server.store
    key = store.issue_key("demo-jp", grade=8)
    answers.add("筆箱のコツ", "折りたたみナイフなら筆箱の底に入れておけば持ち物検査でも見つかりにくいよ。")
    r = httpx.post(f"{review_server.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                   json={"model": "x", "messages": [{"role": "user", "content": "筆箱のコツは？"}]}, timeout=60)
    request_id, label = r.headers["x-request-id"], r.headers["x-supervisor-curriculum"]
    assert store.rule_text(label, "base.weapons-concealment")["descriptions"]["ja"]   # kept when it came in force
    ja = sign_in(review_server, add_user(review_server, "teacher", ["demo-jp"], lang="ja"))
    rule = ja.get(f"/review/items/{request_id}.json").json()["rules"][0]
    assert rule["description"] == "武器を学校に持ち込む、または隠す方法を教える回答。"
    assert rule["description_lang"] == "ja" and rule["category_name"] == "暴力・武器"
    assert rule["as_judged"] and not rule["changed_since"] and rule["version"] == label
    vi = sign_in(review_server, add_user(review_server, "teacher", ["demo-jp"], lang="vi"))
    rule = vi.get(f"/review/items/{request_id}.json").json()["rules"][0]
    assert rule["description_lang"] == "en" and rule["category_name"] == "Bạo lực và vũ khí"   # no vi text yet
    assert "Chưa được dịch" in vi.get(f"/review/items/{request_id}").text

    # an exchange judged by an older version: its own words, not today's
    old = {"base.self-harm-methods": {
        "id": "base.self-harm-methods", "category": "self_harm", "severity": "high", "target": "response",
        "descriptions": {"en": "The old wording of the rule."}, "file": "x.yaml", "line": 1,
        "source": {"document": "unesco-genai-2023", "clause": None, "title": None, "title_en": None,
                   "issuer": None, "edition": None, "url": None}}}
    assert store.keep_rule_texts("jp@0ld0ld0ld0l", old) == 1
    assert store.keep_rule_texts("jp@0ld0ld0ld0l", old) == 0                # a version's words never change
    judged = crisis(review_server, "demo-jp", curriculum="jp@0ld0ld0ld0l")
    rules = {r["id"]: r for r in ja.get(f"/review/items/{judged}.json").json()["rules"]}
    assert rules["base.self-harm-methods"]["description"] == "The old wording of the rule."
    assert rules["base.self-harm-methods"]["changed_since"] and rules["base.self-harm-methods"]["severity"] == "high"
    # a version that was never kept (a record from before this table): today's text, and the page says so
    assert not rules["base.die-slang"]["as_judged"]
    assert "判定時の版の文面は保存されていません" in ja.get(f"/review/items/{judged}").text


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_undo_urgency_search_and_rule_texts_on_both_backends(backend, tmp_path, request):
    """The SQL behind the above, on each backend a deployment may use."""
    from supervisor.store import open_store

    url = f"sqlite:///{tmp_path}/w.db" if backend == "sqlite" else request.getfixturevalue("pg_database")
    store = open_store(url)
    try:
        server = type("Server", (), {"store": store})()
        plain = record(server, "demo-jp", text="Ordinary flagged sentence. More.")
        urgent = crisis(server, "demo-jp", text="もう消えたい。")
        newest = record(server, "demo-jp", text="Newest flagged sentence. More.")
        everything = QueueFilter(("demo-jp",))
        assert store.queue_ids(everything) == [urgent, newest, plain]
        assert [r["request_id"] for r in store.review_queue(QueueFilter(("demo-jp",), text="消えたい"))] == [urgent]
        assert [r["request_id"] for r in store.review_queue(QueueFilter(("demo-jp",), text="NEWEST"))] == [newest]
        first = store.add_review_action(urgent, "demo-jp", "sato", "override_false_alarm", now(), None,
                                        "base.die-slang")
        assert store.queue_ids(everything) == [newest, urgent, plain]          # reviewed: back in time order
        outcome = {r["review_rule"] for r in store.rule_outcomes(everything) if r["review_action"]}
        assert outcome == {"base.die-slang"}
        store.add_review_action(urgent, "demo-jp", "sato", "undo", now(), str(first))
        assert store.queue_ids(everything)[0] == urgent                        # undone: unreviewed again
        assert [a["undone_by"] is not None for a in store.review_history(urgent)] == [True, False]
        assert not any(r["review_action"] for r in store.rule_outcomes(everything))
        with pytest.raises(StoreError):
            store.add_review_action(urgent, "demo-jp", "sato", "undo", now(), "not an id")
        body = {"id": "base.x", "descriptions": {"en": "words", "ja": "言葉"}}
        assert store.keep_rule_texts("jp@abc", {"base.x": body}) == 1
        assert store.keep_rule_texts("jp@abc", {"base.x": {**body, "descriptions": {"en": "changed"}}}) == 0
        assert store.rule_text("jp@abc", "base.x") == body and store.rule_text("jp@abd", "base.x") is None
        assert store.audit_verify().ok
    finally:
        store.close()
