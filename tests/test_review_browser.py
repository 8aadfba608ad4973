"""The review pages in real headless Chromium (Debian `chromium` + `chromium-driver`, driven by Selenium).

A teacher signs in, opens a flagged item from the queue, sees the offending sentence highlighted (and the
model's markup shown as text, never run), overrides the decision as a false alarm with the `f` key, and a screenshot of the
item page is saved as a test artifact.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from supervisor.review.auth import hash_password
from supervisor.store.sqlite import now

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).parent / "artifacts"
OFFENDING = "A small folding knife fits inside a pencil case so the teachers will not find it."
# Markup from the model: must show as text. If it ran, the page title would change.
ANSWER = f"Here is a tip. {OFFENDING} <img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"

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
                 "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=en"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(10)
    try:
        yield driver
    finally:
        driver.quit()


def test_teacher_reviews_a_flagged_item_in_chromium(review_server, answers, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    store = review_server.store
    store.add_user("browser-teacher", hash_password("a long enough password"), "teacher", ["demo-sg"], "en", now())
    key = store.issue_key("demo-sg", grade=7)
    answers.add("pencil case trick", ANSWER)
    r = httpx.post(f"{review_server.url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=60,
                   json={"model": "x", "messages": [{"role": "user", "content": "any pencil case trick?"}]})
    assert r.headers["x-supervisor-decision"] == "block"
    request_id = r.headers["x-request-id"]

    browser.get(f"{review_server.url}/review/items")                    # not signed in: sent to the sign-in page
    browser.find_element(By.NAME, "username").send_keys("browser-teacher")
    browser.find_element(By.NAME, "password").send_keys("a long enough password")
    browser.find_element(By.ID, "sign-in").click()
    WebDriverWait(browser, 20).until(ready.presence_of_element_located((By.ID, "queue")))

    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "review-queue.png"))
    browser.find_element(By.CSS_SELECTOR, f'tr[data-href="/review/items/{request_id}"] a.open').click()
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
    print(f"\nreview screenshot: {shot}")
    assert shot.stat().st_size > 10_000

    # the keyboard shortcut (review.js, allowed by the page's CSP) presses "False alarm", then moves on
    browser.find_element(By.TAG_NAME, "body").send_keys("f")
    WebDriverWait(browser, 20).until(lambda d: f"/review/items/{request_id}" not in d.current_url)
    browser.get(f"{review_server.url}/review/items/{request_id}")
    assert "overridden" in browser.find_element(By.CSS_SELECTOR, ".item-head").text
    actions = store.review_actions(request_id)
    assert [(a["action"], a["username"]) for a in actions] == [("override_false_alarm", "browser-teacher")]
