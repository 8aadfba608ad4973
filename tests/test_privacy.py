"""Privacy on the way out: redaction of personal data before the upstream, and the storage policy."""

from __future__ import annotations

import httpx
import pytest

from supervisor.errors import ConfigError
from supervisor.privacy.redact import Redactor
from supervisor.privacy.roster import Roster
from supervisor.privacy.storage import stored_form
from supervisor.store.records import ExchangeRecord

ROSTER = Roster(["山田 太郎", "Nguyễn Văn An", "สมชาย ใจดี", "Siti Aminah", "សុខ ដារ៉ា", "王小明"])


def redact(text: str, kinds=None) -> str:
    return (Redactor(kinds, ROSTER) if kinds else Redactor(roster=ROSTER)).redact(text).text


@pytest.mark.parametrize("text, expected", [
    # e-mail, ascii and full-width
    ("連絡は taro.yamada+school@example.co.jp まで", "連絡は [EMAIL] まで"),
    ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ に送って", "[EMAIL] に送って"),
    # phone numbers: international and each country's local format
    ("call +81 90-1234-5678 now", "call [PHONE] now"),
    ("電話は090-1234-5678です", "電話は[PHONE]です"),
    ("電話番号は０３（１２３４）５６７８", "電話番号は[PHONE]"),
    ("โทร 081-234-5678 นะ", "โทร [PHONE] นะ"),
    ("sđt của em là 0912 345 678", "sđt của em là [PHONE]"),
    ("hubungi 0812-3456-7890 ya", "hubungi [PHONE] ya"),
    ("nombor telefon 012-345 6789", "nombor telefon [PHONE]"),
    ("text me at 0917 123 4567", "text me at [PHONE]"),
    ("ទូរស័ព្ទ 012 345 678", "ទូរស័ព្ទ [PHONE]"),
    ("my number is 9123 4567", "my number is [PHONE]"),
    ("whatsapp 91234567 ok", "whatsapp [PHONE] ok"),
    # national IDs, validated
    ("マイナンバーは123456789018です", "マイナンバーは[ID]です"),
    ("เลขบัตร 1-1012-00345-67-1 ค่ะ", "เลขบัตร [ID] ค่ะ"),
    ("NRIC S1234567D thanks", "NRIC [ID] thanks"),
    ("FIN G1234567X", "FIN [ID]"),
    ("IC saya 900101-14-5678", "IC saya [ID]"),
    ("NIK 3171234506870001", "NIK [ID]"),
    ("CCCD 001203012345 ạ", "CCCD [ID] ạ"),
    ("PhilSys 1234-5678-9012-3456", "PhilSys [ID]"),
    ("学籍番号は 20230145 です", "学籍番号は [ID] です"),
    ("អត្តសញ្ញាណប័ណ្ណលេខ 010203040", "អត្តសញ្ញាណប័ណ្ណលេខ [ID]"),
    # street addresses
    ("住所は東京都新宿区西新宿2-8-1です", "住所は[ADDRESS]です"),
    ("〒160-0023 に住んでる", "[ADDRESS] に住んでる"),
    ("I live at 12 Orchard Road.", "I live at [ADDRESS]."),
    ("Blk 123 Ang Mo Kio Ave 3 #12-345", "[ADDRESS]"),
    ("rumah saya di Jl. Sudirman No. 5", "rumah saya di [ADDRESS]"),
    ("nhà em ở số 12 đường Lê Lợi, quận 1", "nhà em ở [ADDRESS], quận 1"),
    ("บ้านเลขที่ 12/3 ถนนสุขุมวิท", "[ADDRESS]"),
    # roster names, with and without spaces, width, case and diacritics
    ("山田太郎です", "[NAME]です"),
    ("山田 太郎 です", "[NAME] です"),
    ("em là Nguyen Van An", "em là [NAME]"),
    ("ผมชื่อสมชายใจดีครับ", "ผมชื่อ[NAME]ครับ"),
    ("ខ្ញុំឈ្មោះសុខដារ៉ា", "ខ្ញុំឈ្មោះ[NAME]"),
    ("我叫王小明", "我叫[NAME]"),
    ("SITI AMINAH here", "[NAME] here"),
])
def test_personal_data_is_replaced_by_placeholders(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "What is 2024 + 1999?",
    "Compute 123456789012 × 3 and 0.5 + 0.25.",        # 12 digits, not a valid My Number / CCCD / MyKad
    "5-3-2 = 0, and 10-12-2023 was a Sunday.",
    "Is 1101200345672 divisible by 7?",                # a Thai ID with the wrong check digit
    "S1234567A is not a valid NRIC",                   # wrong check letter
    "I walked 3 blocks down the road in 2019.",
    "Vẽ 2 đường thẳng song song.",                     # two straight lines, not a street
    "Saya jalan 5 km setiap hari.",                    # walking, not a street
    "Angela and Siti went home.",                      # part of a roster name is not the name
    "π ≈ 3.14159265358979",
])
def test_ordinary_numbers_and_words_are_left_alone(text):
    assert redact(text) == text


def test_only_the_kinds_the_policy_names_are_redacted():
    text = "山田太郎 taro@example.jp 090-1234-5678"
    assert Redactor(["email"], ROSTER).redact(text).text == "山田太郎 [EMAIL] 090-1234-5678"
    result = Redactor(roster=ROSTER).redact(text)
    assert result.text == "[NAME] [EMAIL] [PHONE]"
    assert result.counts == {"roster": 1, "email": 1, "phone": 1}


def test_messages_keep_their_shape():
    messages = [{"role": "system", "content": "Tutor 山田太郎 kindly."},
                {"role": "user", "content": [{"type": "text", "text": "mail me: a@b.jp"},
                                             {"type": "image_url", "image_url": {"url": "http://x"}}]}]
    out, counts = Redactor(roster=ROSTER).redact_messages(messages)
    assert out[0]["content"] == "Tutor [NAME] kindly."
    assert out[1]["content"][0]["text"] == "mail me: [EMAIL]" and out[1]["content"][1] == messages[1]["content"][1]
    assert messages[0]["content"] == "Tutor 山田太郎 kindly."          # the original is not changed
    assert counts == {"roster": 1, "email": 1}


def _record() -> ExchangeRecord:
    return ExchangeRecord(
        request_id="r1", school_id="demo-jp", user_pseudonym=None, model="m", country="jp", curriculum="jp@1",
        grade=5, lang="ja", mode="tutor", stream=False, status="ok", decision="flag",
        messages=[{"role": "user", "content": "山田太郎です。090-1234-5678"}],
        findings=[{"rule": "x", "target": "user", "sentence": "山田太郎です。"},
                  {"rule": "y", "target": "response", "sentence": "answer sentence"}],
        original_text="answer sentence", delivered_text="answer sentence")


def test_storage_policy_full_redacted_hashes():
    redactor = Redactor(roster=ROSTER)
    full = stored_form(_record(), "full", redactor, {"roster": 1})
    assert full.messages[0]["content"] == "山田太郎です。090-1234-5678" and full.privacy["store"] == "full"
    red = stored_form(_record(), "redacted", redactor, {"roster": 1, "phone": 1})
    assert red.messages[0]["content"] == "[NAME]です。[PHONE]"
    assert red.findings[0]["sentence"] == "[NAME]です。" and red.findings[1]["sentence"] == "answer sentence"
    assert red.privacy == {"store": "redacted", "redacted": {"roster": 1, "phone": 1}}
    hashed = stored_form(_record(), "hashes", redactor, {})
    flat = str(hashed.to_dict())
    assert "山田" not in flat and "090" not in flat and "answer sentence" not in flat
    assert hashed.delivered_text.startswith("sha256:") and hashed.messages[0]["content"].startswith("sha256:")


def test_policy_privacy_and_retention_are_validated(tmp_path):
    from supervisor.policy import load_policies

    (tmp_path / "policies.yaml").write_text(
        "schema_version: 1\npolicies:\n  strict:\n    actions: {low: flag, medium: flag, high: block, critical: block}\n"
        "    privacy: {store: hashes, redact: [email]}\n    retention: {days: 90, minimum_days: 180}\n")
    with pytest.raises(ConfigError) as err:
        load_policies(tmp_path)
    assert "policies.yaml:6" in str(err.value) and "below its minimum_days 180" in str(err.value)
    (tmp_path / "policies.yaml").write_text(
        "schema_version: 1\npolicies:\n  strict:\n    actions: {low: flag, medium: flag, high: block, critical: block}\n"
        "    privacy: {store: everything}\n")
    with pytest.raises(ConfigError) as err:
        load_policies(tmp_path)
    assert "policies.yaml:5" in str(err.value) and "everything" in str(err.value)


def test_missing_roster_file_is_a_clear_error(tmp_path):
    from supervisor.policy import load_policies

    (tmp_path / "schools.yaml").write_text(
        "schema_version: 1\nschools:\n  - {id: s1, name: S, country: jp, grades: [1, 6], roster: rosters/s1.yaml}\n")
    with pytest.raises(ConfigError) as err:
        load_policies(tmp_path)
    assert "rosters/s1.yaml" in str(err.value) and "roster file not found" in str(err.value)


STUDENT = ("先生、山田太郎です。メールは taro.yamada@example.jp、電話は 090-1234-5678 です。"
           "住所は東京都新宿区西新宿2-8-1。二次方程式の解き方を教えて")
SECRETS = ("山田", "太郎", "taro.yamada", "example.jp", "090-1234", "1234-5678", "西新宿")


@pytest.mark.parametrize("stream", [False, True])
def test_no_personal_data_reaches_the_upstream_or_the_store(proxy, fake_upstream, answers, issue_key, records,
                                                            stream):
    answers.add("二次方程式", "解の公式を使いましょう。")
    key = issue_key("demo-jp", grade=9)
    r = httpx.post(f"{proxy.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=60,
                   json={"model": "x", "stream": stream, "user": "taro.yamada@example.jp", "messages": [
                       {"role": "system", "content": "You tutor 山田 太郎 (grade 9)."},
                       {"role": "user", "content": STUDENT}]})
    assert r.status_code == 200
    sent = str(fake_upstream.app.state.received)
    assert fake_upstream.app.state.received, "the upstream received nothing"
    for secret in SECRETS:
        assert secret not in sent, f"{secret!r} reached the upstream"
    user_message = fake_upstream.app.state.received[-1]["messages"][-1]["content"]
    assert "[NAME]" in user_message and "[EMAIL]" in user_message and "[PHONE]" in user_message
    assert "[ADDRESS]" in user_message and "二次方程式の解き方を教えて" in user_message   # the question survives
    rec = records(r.headers["x-request-id"])
    for secret in SECRETS:
        assert secret not in str(rec["messages"])
    assert rec["privacy"] == {"store": "redacted", "redacted": {"roster": 2, "email": 1, "phone": 1, "address": 1}}
