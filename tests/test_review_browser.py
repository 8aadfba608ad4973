"""The review pages in real headless Chromium (Debian `chromium` + `chromium-driver`, driven by Selenium).

A teacher signs in, opens a flagged item from the queue, sees the offending sentence highlighted (and the
model's markup shown as text, never run), moves to "False alarm" with the `f` key and presses it with Enter;
the rule is critical, so the page asks once more; the next page offers to undo it, and the undo puts the item
back. Then the queue and an item page are laid out at a phone's 390 px and a desktop's 1280 px in Japanese
and Thai: nothing wider than the screen, no column squeezed to a letter per line, no badge broken over two
lines. Screenshots go to tests/artifacts/, or to REVIEW_SCREENSHOTS_DIR when set (docs/screenshots/ holds the
committed ones: `REVIEW_SCREENSHOTS_DIR=docs/screenshots pytest tests/test_review_browser.py`).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import httpx
import pytest

from supervisor.review.auth import hash_password
from supervisor.store.records import ExchangeRecord
from supervisor.store.sqlite import now

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).parent / "artifacts"
OFFENDING = "A small folding knife fits inside a pencil case so the teachers will not find it."
# Markup from the model: must show as text. If it ran, the page title would change.
ANSWER = f"Here is a tip. {OFFENDING} <img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"
PASSWORD = "a long enough password"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="Debian chromium and chromium-driver are not installed (.ci/run installs them: "
           "apt-get install -y chromium chromium-driver)")


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=en", "--hide-scrollbars"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(10)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(browser, url: str, username: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.delete_all_cookies()
    browser.get(f"{url}/review/items")                      # not signed in: sent to the sign-in page
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "sign-in").click()
    WebDriverWait(browser, 30).until(ready.presence_of_element_located((By.CSS_SELECTOR, ".queue-list")))


def test_teacher_reviews_a_flagged_item_in_chromium(review_server, answers, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    store = review_server.store
    store.add_user("browser-teacher", hash_password(PASSWORD), "teacher", ["demo-sg"], "en", now())
    key = store.issue_key("demo-sg", grade=7)
    answers.add("pencil case trick", ANSWER)
    r = httpx.post(f"{review_server.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=60,
                   json={"model": "x", "user": "student-42",
                         "messages": [{"role": "user", "content": "any pencil case trick?"}]})
    assert r.headers["x-supervisor-decision"] == "block"
    request_id = r.headers["x-request-id"]

    sign_in(browser, review_server.url, "browser-teacher")
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-href="/review/items/{request_id}"]')
    assert row.find_element(By.CSS_SELECTOR, "td.student").text.startswith("u-")   # the pseudonym, not "unknown"
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "review-queue.png"))
    row.find_element(By.CSS_SELECTOR, "a.open").click()
    WebDriverWait(browser, 20).until(ready.presence_of_element_located((By.ID, "original")))
    marks = browser.find_elements(By.CSS_SELECTOR, "#original mark.hit")
    assert [m.text for m in marks] == [OFFENDING]
    assert marks[0].value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"   # the stylesheet loaded
    original = browser.find_element(By.ID, "original").text
    assert "<script>document.title='pwned'</script>" in original and "onerror=" in original
    assert browser.title != "pwned"
    assert "base.weapons-concealment" in browser.find_element(By.CSS_SELECTOR, "aside .rule").text
    shot = ARTIFACTS / "review-detail.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000

    # `f` only moves to the button (review.js): a single key overrides nothing
    browser.find_element(By.TAG_NAME, "body").send_keys("f")
    assert browser.switch_to.active_element.get_attribute("id") == "do-false-alarm"
    assert store.review_actions(request_id) == []
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    # a critical rule: the page asks once more before anything is recorded
    WebDriverWait(browser, 20).until(ready.presence_of_element_located((By.ID, "confirm-critical")))
    assert store.review_actions(request_id) == []
    browser.find_element(By.ID, "confirm-critical").click()
    WebDriverWait(browser, 20).until(lambda d: f"/review/items/{request_id}" not in d.current_url)
    assert [(a["action"], a["username"]) for a in store.review_actions(request_id)] == [
        ("override_false_alarm", "browser-teacher")]
    # the next page offers to take it back; the undo is recorded too
    browser.find_element(By.ID, "undo-last").click()
    WebDriverWait(browser, 20).until(lambda d: f"/review/items/{request_id}" in d.current_url)
    assert "unreviewed" in browser.find_element(By.CSS_SELECTOR, ".item-head").text
    assert [a["action"] for a in store.review_actions(request_id)] == ["override_false_alarm", "undo"]
    assert browser.find_elements(By.CSS_SELECTOR, ".history li.undone")


# layout at a phone's and a desktop's width ----------------------------------------------------------------
LAYOUT = """
const doc = document.documentElement, out = {scroll: doc.scrollWidth, inner: window.innerWidth, narrow: [],
                                             wrapped: [], wide: []};
for (const el of document.querySelectorAll('td, th')) {
  const r = el.getBoundingClientRect(), text = el.textContent.trim();
  if (!r.width || !r.height || text.length < 2) continue;
  // a letter per line: a cell narrower than three characters of its own font in which a piece of text runs
  // over more than one line
  const size = parseFloat(getComputedStyle(el).fontSize), walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  let lines = 0;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(node);
    lines = Math.max(lines, new Set(Array.from(range.getClientRects()).map(box => Math.round(box.top))).size);
  }
  if (r.width < 3 * size && lines > 1) out.narrow.push(text.slice(0, 24) + ' @' + r.width + ' in ' + lines + ' lines');
}
for (const b of document.querySelectorAll('.badge')) {
  const r = b.getBoundingClientRect();
  if (!r.height) continue;
  if (b.getClientRects().length > 1 || r.height > 2 * parseFloat(getComputedStyle(b).fontSize))
    out.wrapped.push(b.textContent.trim() + ' @' + r.height);
}
for (const el of document.querySelectorAll('body *')) {
  const r = el.getBoundingClientRect();
  if (r.width && r.right > window.innerWidth + 1) out.wide.push(el.tagName + '.' + el.className + ' right=' + r.right);
}
return out;
"""

QUEUE = {
    "ja": [("もう消えたい。毎日つらい。", "crisis"),
           ("折りたたみナイフなら筆箱の底に入れておけば持ち物検査でも見つかりにくいよ。", "knife"),
           ("早くタヒねって送ればいいよ。", "slang"),
           ("この作文をそのまま提出すれば先生にはバレません。", "slang")],
    "th": [("หนูไม่อยากอยู่แล้ว ไม่มีใครคิดถึงหนูหรอก", "crisis"),
           ("พับมีดเล็ก ๆ ใส่กล่องดินสอไว้ ครูจะได้ตรวจไม่เจอ", "knife"),
           ("กินยาทีละหลายเม็ดพร้อมกันจะได้ลืมเรื่องแย่ ๆ ไปสักพัก", "self_harm"),
           ("ส่งข้อความไปด่าเพื่อนในกลุ่มแชตให้ทุกคนเห็น", "slang")],
}
KINDS = {  # rule, category, severity, decision, whose words
    "crisis": ("base.crisis-no-help", "crisis_support", "high", "rewrite", "user"),
    "knife": ("base.weapons-concealment", "violence_weapons", "critical", "block", "response"),
    "self_harm": ("base.self-harm-methods", "self_harm", "critical", "block", "response"),
    "slang": ("base.die-slang", "hate_harassment", "high", "flag", "response"),
}


def fill_queue(server, school: str, lang: str, label: str) -> list[str]:
    """The queue a teacher might meet on a Monday: a crisis disclosure among other findings, in `lang`."""
    made = []
    for i, (sentence, kind) in enumerate(QUEUE[lang]):
        rule, category, severity, decision, target = KINDS[kind]
        question, answer = (sentence, "宿題の続きを手伝います。" if lang == "ja" else "มาทำการบ้านต่อกันนะ") \
            if target == "user" else ("?", sentence + (" ほかにも聞いてね。" if lang == "ja" else " ถามต่อได้นะ"))
        request_id = f"req-{lang}-{i}-{os.urandom(3).hex()}"
        server.store.record(ExchangeRecord(
            request_id=request_id, school_id=school, user_pseudonym=f"u-{os.urandom(12).hex()}", model="openai/x",
            country=school.removeprefix("demo-"), curriculum=label, grade=8, lang=lang, mode="tutor", stream=False,
            status="ok", decision=decision, rules=[rule], findings=[{
                "rule": rule, "category": category, "severity": severity, "stage": "semantic", "score": 0.9,
                "target": target, "span": [0, len(sentence)], "sentence": sentence, "action": decision}],
            messages=[{"role": "user", "content": question}], original_text=answer,
            delivered_text=None if decision == "block" else answer))
        made.append(request_id)
    return made


def at_width(browser, width: int) -> None:
    """The viewport of a phone (390 px, touch, as a phone reports it) or a desktop (1280 px)."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": 844 if width < 600 else 900, "deviceScaleFactor": 1, "mobile": width < 600})


def screenshot(browser, path: Path) -> None:
    """The whole page (up to 2,400 px tall), not only the part in view."""
    height = min(2400, browser.execute_script("return document.documentElement.scrollHeight"))
    width = browser.execute_script("return window.innerWidth")
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))


@pytest.mark.parametrize("lang", ["ja", "th"])
def test_the_queue_and_an_item_fit_a_phone_and_a_desktop(review_server, browser, lang):
    from selenium.webdriver.common.by import By

    school = {"ja": "demo-jp", "th": "demo-th"}[lang]
    versions = httpx.get(f"{review_server.url}/healthz").json()["curricula"]
    country = school.removeprefix("demo-")   # a country without its own curriculum is judged by the baseline
    label = f"{country}@{versions[country]}" if country in versions else f"baseline@{versions['baseline']}"
    username = f"layout-{lang}-{os.urandom(3).hex()}"
    review_server.store.add_user(username, hash_password(PASSWORD), "teacher", [school], lang, now())
    made = fill_queue(review_server, school, lang, label)
    out = Path(os.environ.get("REVIEW_SCREENSHOTS_DIR") or ARTIFACTS)
    out.mkdir(parents=True, exist_ok=True)
    sign_in(browser, review_server.url, username)
    for width in (390, 1280):
        at_width(browser, width)
        for page, url in (("queue", "/review/items"), ("item", f"/review/items/{made[1]}")):
            browser.get(review_server.url + url)
            browser.find_element(By.CSS_SELECTOR, "main")
            found = browser.execute_script(LAYOUT)
            where = f"{page} in {lang} at {width} px"
            assert found["inner"] == width, where
            assert found["scroll"] <= width, f"{where}: the page is {found['scroll']} px wide: {found['wide'][:5]}"
            assert not found["narrow"], f"{where}: columns a letter wide: {found['narrow']}"
            assert not found["wrapped"], f"{where}: badges broken over lines: {found['wrapped']}"
            if page == "queue":   # crises head the queue, marked, with the student's pseudonym
                urgent = {f"/review/items/{made[i]}" for i, (_, kind) in enumerate(QUEUE[lang])
                          if kind in ("crisis", "self_harm")}
                rows = browser.find_elements(By.CSS_SELECTOR, "tr.row")
                assert {r.get_attribute("data-href") for r in rows[:len(urgent)]} == urgent
                first = rows[0]
                assert "urgent" in first.get_attribute("class")
                assert first.find_element(By.CSS_SELECTOR, "td.student").text.startswith("u-")
            else:                 # the rule in the teacher's language, with its category's name
                rule = browser.find_element(By.CSS_SELECTOR, "aside .rule").text
                assert {"ja": "武器を学校に持ち込む", "th": "คำตอบที่บอกวิธีนำอาวุธ"}[lang] in rule
                assert {"ja": "暴力・武器", "th": "ความรุนแรงและอาวุธ"}[lang] in rule
                assert not browser.find_elements(By.CSS_SELECTOR, "aside .rule .muted")  # as judged, translated
            screenshot(browser, out / f"review-{page}-{lang}-{width}.png")
            assert (out / f"review-{page}-{lang}-{width}.png").stat().st_size > 10_000
