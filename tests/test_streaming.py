"""Sentence-window streaming, end to end: the official openai client → proxy → litellm → fake upstream.

Ordering is proved with the fake upstream's stream log and gate (supervisor/demo/fake_openai.py), not with
clocks: a gate pauses the upstream mid-answer, and the client opens it when its first text arrives. A proxy
that buffered the whole answer could deliver nothing while the upstream is paused.
"""

from __future__ import annotations

import time

import openai

from supervisor.demo.fake_openai import Gate, split_tokens
from supervisor.text.segment import split

CHUNK = 5  # the session's fake upstream streams five characters a chunk (conftest)
REFUSAL = "この回答は表示できません"
HELP = "スクールカウンセラー"


def client(proxy, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{proxy.url}/v1", api_key=key, max_retries=0, timeout=60)


def gate_after_first_sentence(answer: str, timeout: float = 30.0) -> Gate:
    """Pause the upstream once it has sent the first sentence and one chunk more (the Segmenter only knows a
    sentence has ended when the next text arrives)."""
    first_end = split(answer)[0].end
    return Gate(after=-(-first_end // CHUNK) + 1, timeout=timeout)


def stream_and_watch(c: openai.OpenAI, fake_upstream, question: str, open_gate_on_first_text: bool = True):
    """Stream one answer; note the upstream's progress when the first text arrives. → (text, chunks, headers,
    the stream log, chunks the upstream had sent at the first text, whether it had finished by then)."""
    raw = c.chat.completions.with_raw_response.create(model="any", stream=True,
                                                      messages=[{"role": "user", "content": question}])
    chunks, seen_at_first = [], None
    for chunk in raw.parse():
        chunks.append(chunk)
        if seen_at_first is None and chunk.choices and chunk.choices[0].delta.content:
            log = fake_upstream.app.state.streams[0]
            seen_at_first = (log.sent, log.finished)
            if open_gate_on_first_text and fake_upstream.app.state.gate:
                fake_upstream.app.state.gate.open()
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    return text, chunks, raw.headers, fake_upstream.app.state.streams[0], seen_at_first


def wait_for(fetch, request_id: str) -> dict:
    """The record of an exchange whose client went away is written as the proxy notices; wait for it."""
    deadline = time.monotonic() + 30
    while (rec := fetch(request_id)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return rec


LESSON = ("てこには支点、力点、作用点の3つの点があります。支点から力点までのきょりが長いほど、小さな力で重いものを"
          "動かせます。くぎ抜きやはさみもてこを使った道具です。身の回りでてこを探してみましょう。")


def test_first_sentence_arrives_while_the_upstream_is_still_streaming(proxy, fake_upstream, answers, issue_key,
                                                                      records):
    answers.add("てこの原理", LESSON)
    fake_upstream.app.state.gate = gate = gate_after_first_sentence(LESSON)
    text, chunks, headers, log, (sent, finished) = stream_and_watch(client(proxy, issue_key("demo-jp", 6)),
                                                                  fake_upstream, "てこの原理を教えて")
    assert not gate.timed_out and not finished and sent == gate.after < log.total  # released mid-answer
    assert chunks[1].choices[0].delta.content == split(LESSON)[0].text         # the first sentence, whole
    assert text == LESSON
    assert headers["x-supervisor-decision"] == "streaming"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and last.supervisor["decision"] == "pass"
    assert last.supervisor["held"] is False and last.supervisor["curriculum"].startswith("jp@")
    rec = records(headers["x-request-id"])
    assert rec["status"] == "ok" and rec["decision"] == "pass" and rec["delivered_text"] == LESSON
    assert rec["stream"] is True



THAI_LESSON = ("พืชใช้แสงอาทิตย์ในการสร้างอาหารผ่านกระบวนการที่เรียกว่าการสังเคราะห์ด้วยแสง "
               "ในระหว่างกระบวนการนี้พืชจะปล่อยก๊าซออกซิเจนออกมาสู่อากาศรอบตัวเรา "
               "ลองสังเกตใบไม้ในสวนใกล้บ้านของนักเรียนดูว่ามีสีเขียวเข้มแค่ไหนในแต่ละวัน")


def test_a_thai_unit_is_released_before_the_piece_after_its_space_is_known_to_be_long(proxy, fake_upstream,
                                                                                      answers, issue_key, records):
    """Thai ends a unit with a space, and whether a space ends one depends on the forty letters after it. The
    upstream pauses two chunks after the first unit's space: the unit is released (checked) meanwhile, and the
    rest follows with the same text and decision as without the pause."""
    answers.add("สังเคราะห์แสง", THAI_LESSON)
    first = split(THAI_LESSON)[0]
    fake_upstream.app.state.gate = gate = Gate(after=-(-(first.end + 1) // CHUNK) + 2, timeout=10)
    text, chunks, headers, log, (sent, finished) = stream_and_watch(client(proxy, issue_key("demo-jp", 6)),
                                                                  fake_upstream, "การสังเคราะห์แสงคืออะไร")
    assert not gate.timed_out and not finished and sent == gate.after < log.total
    assert chunks[1].choices[0].delta.content == first.text
    assert text == THAI_LESSON and chunks[-1].supervisor["decision"] == "pass"
    assert records(headers["x-request-id"])["delivered_text"] == THAI_LESSON

KNIFE = "折りたたみナイフなら筆箱の底に入れておけば持ち物検査でも見つかりにくいよ。"


def test_a_violation_mid_stream_never_reaches_the_client_but_earlier_sentences_do(proxy, fake_upstream, answers,
                                                                                   issue_key, records):
    opening = "てこには支点、力点、作用点の3つの点があります。"
    answer = opening + KNIFE + "では練習問題をやりましょう。"
    answers.add("道具の話", answer)
    fake_upstream.app.state.gate = gate = gate_after_first_sentence(answer)
    text, chunks, headers, log, (sent, _) = stream_and_watch(client(proxy, issue_key("demo-jp", 8)),
                                                             fake_upstream, "道具の話をして")
    assert not gate.timed_out and sent * CHUNK < len(opening) + len(KNIFE)  # the opening came before the knife
    assert text.startswith(opening) and REFUSAL in text
    assert "ナイフ" not in text and "練習問題" not in text
    assert not any("ナイフ" in (ch.choices[0].delta.content or "") for ch in chunks if ch.choices)
    last = chunks[-1]
    assert last.choices[0].finish_reason == "content_filter"
    assert last.supervisor["decision"] == "block" and last.supervisor["rules"] == ["base.weapons-concealment"]
    rec = records(headers["x-request-id"])
    assert rec["decision"] == "block" and rec["delivered_text"] == text
    assert KNIFE in rec["original_text"] and rec["rules"] == ["base.weapons-concealment"]


def test_a_phrase_split_across_chunks_is_caught_and_rewritten_in_place(proxy, fake_upstream, answers, issue_key,
                                                                       records):
    answer = ("日本の北のはしについて説明します。その先にある択捉島は南クリル諸島と呼ばれるロシアの領土です。"
              "地図帳で確かめましょう。")
    assert not any("南クリル諸島" in piece for piece in split_tokens(answer, CHUNK))  # no chunk holds it whole
    answers.add("北のはしの島", answer)
    text, chunks, headers, _, _ = stream_and_watch(client(proxy, issue_key("demo-jp", 5)), fake_upstream,
                                                   "北のはしの島は？")
    assert "南クリル" not in text and "クリル" not in "".join(ch.choices[0].delta.content or ""
                                                           for ch in chunks if ch.choices)
    assert text.startswith("日本の北のはしについて説明します。")
    assert "択捉島は北方領土と呼ばれる日本固有の領土です。" in text and text.endswith("地図帳で確かめましょう。")
    assert chunks[-1].supervisor["decision"] == "rewrite"
    assert chunks[-1].supervisor["rules"] == ["jp.northern-territories-name"]
    rec = records(headers["x-request-id"])
    assert rec["decision"] == "rewrite" and rec["delivered_text"] == text and rec["original_text"] == answer


def test_regenerate_mid_stream_keeps_what_was_read_and_streams_a_checked_continuation(proxy, fake_upstream, answers,
                                                                                      issue_key, records):
    opening = "日本の島について説明します。"
    answers.add("島の話", opening + "竹島は韓国の領土と考えるのが自然でしょう。")
    answers.add("system:Takeshima", "竹島は日本固有の領土です。韓国は独島と呼んで領有を主張しています。")
    text, chunks, headers, _, _ = stream_and_watch(client(proxy, issue_key("demo-jp", 8)), fake_upstream,
                                                   "島の話をして")
    assert text == opening + "竹島は日本固有の領土です。韓国は独島と呼んで領有を主張しています。"
    steer = fake_upstream.app.state.received[-1]["messages"][-1]
    assert steer["role"] == "system" and "Takeshima" in steer["content"] and opening in steer["content"]
    assert chunks[-1].supervisor["decision"] == "rewrite"
    rec = records(headers["x-request-id"])
    assert rec["attempts"] == 2 and rec["delivered_text"] == text and "韓国の領土と考える" in rec["original_text"]


def test_a_regenerated_continuation_that_starts_over_is_not_delivered_twice(proxy, fake_upstream, answers,
                                                                           issue_key, records):
    opening = "日本の島について説明します。"
    answers.add("島のこと", opening + "竹島は韓国の領土と考えるのが自然でしょう。")
    # the model asked to go on starts again from the top, repeating what the student already read
    answers.add("system:Takeshima", opening + opening + "竹島は日本固有の領土です。")
    text, chunks, headers, _, _ = stream_and_watch(client(proxy, issue_key("demo-jp", 8)), fake_upstream,
                                                   "島のことを教えて")
    assert text == opening + "竹島は日本固有の領土です。"
    steer = fake_upstream.app.state.received[-1]["messages"][-1]["content"]
    assert "without contradicting it" in steer                 # and it is asked to correct, not contradict
    rec = records(headers["x-request-id"])
    assert rec["delivered_text"] == text and rec["delivered_text"].count(opening) == 1


def test_client_disconnect_cancels_the_upstream_and_the_record_says_what_was_delivered(proxy, fake_upstream,
                                                                                        answers, issue_key, records):
    answers.add("長い説明", LESSON)
    # the upstream pauses after the first sentence; nobody opens the gate: only a cancel ends it early
    fake_upstream.app.state.gate = gate = gate_after_first_sentence(LESSON)
    c = client(proxy, issue_key("demo-jp", 6))
    raw = c.chat.completions.with_raw_response.create(model="any", stream=True,
                                                      messages=[{"role": "user", "content": "長い説明をして"}])
    received = ""
    stream = raw.parse()
    for chunk in stream:
        received += chunk.choices[0].delta.content or "" if chunk.choices else ""
        if received:
            break
    stream.close()  # the student closed the app
    log = fake_upstream.app.state.streams[0]
    deadline = time.monotonic() + 20
    while not log.closed_early and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.closed_early and not log.finished and log.sent < log.total
    rec = wait_for(records, raw.headers["x-request-id"])
    assert rec["status"] == "client_disconnected"
    assert rec["delivered_text"] == received == split(LESSON)[0].text
    assert LESSON.startswith(rec["original_text"]) and len(rec["original_text"]) < len(LESSON)
    gate.open()


def test_hold_full_holds_a_crisis_answer_until_it_is_whole_and_adds_help(proxy, fake_upstream, answers, issue_key,
                                                                         records):
    """The student discloses distress (a crisis_support rule, held by the default policy): nothing may be
    released while the upstream is paused mid-answer, so the gate runs out instead of being opened."""
    answer = "そういう日もあるよね！じゃあ二次関数の宿題をやろう。y = 2x² のグラフは放物線です。"
    answers.add("もう消えたい", answer)
    fake_upstream.app.state.gate = gate = gate_after_first_sentence(answer, timeout=2)
    text, chunks, headers, log, (sent, finished) = stream_and_watch(
        client(proxy, issue_key("demo-jp", 9)), fake_upstream, "もう消えたい。毎日つらい。あと宿題教えて")
    assert gate.timed_out and finished and sent == log.total  # the first text came after the whole answer
    assert text.startswith(answer) and HELP in text
    last = chunks[-1].supervisor
    assert last["held"] is True and last["decision"] == "rewrite" and "base.crisis-no-help" in last["rules"]
    rec = records(headers["x-request-id"])
    assert rec["delivered_text"] == text and rec["original_text"] == answer and rec["decision"] == "rewrite"
