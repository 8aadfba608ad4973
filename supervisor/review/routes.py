"""The review pages under /review. Every page has a JSON twin (same path + `.json`); the queue exports CSV.

  GET  /review/login, POST /review/login (username, password), POST /review/logout
  GET  /review/items[.json|.csv]          the queue: flagged, rewritten and blocked exchanges, unreviewed crises
                                          first, then newest first; `q` searches the text
  GET  /review/items/{request_id}[.json]  one exchange: conversation, highlighted original, rules as the
                                          curriculum version that judged it stated them, history
  POST /review/items/{request_id}/actions confirm | override_false_alarm | override_missed | note | undo
                                          (actions.py)
  POST /review/confirm                    confirm several queue rows at once
  GET  /review/rules[.json]               false-alarm rate per rule
  GET  /review/suggestions[.json|.yaml]   overrides as suggested rule examples (administrators)
  GET  /review/settings[.json], POST /review/settings (lang)
  POST /review/password                   current_password, new_password: ends every other session
  GET  /review/accounts[.json], POST /review/accounts/{username}/password|disable   administrators (accounts.py)

A reviewer only ever sees the schools assigned to them (a teacher: their school); an exchange outside that
scope answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import date, timedelta
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..rules import schema
from ..rules.category_names import category_name
from ..store.reviews import QUEUE_DECISIONS, STATUSES, QueueFilter
from ..store.sqlite import now
from . import accounts, actions, feedback, items, web
from .auth import (
    LOCKOUT_SECONDS,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    check_login,
    hash_password,
    locked_for,
    password_problem,
)
from .i18n import UI_LANGUAGES, best_language, translator
from .web import Ctx, done, first, page, problem, safe_next, secured, signed_in

PAGE_SIZE = 50
MAX_PAGE = 1_000_000
EXPORT_LIMIT = 10_000
MAX_SEARCH = 200
_RULE_ID = re.compile(r"^[a-z][a-z0-9]*(\.[a-z0-9][a-z0-9-]*)+$")


class BadFilter(ValueError):
    pass


def _split_suffix(name: str) -> tuple[str, str]:
    for suffix in (".json", ".csv", ".yaml"):
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix[1:]
    return name, "html"


# sign-in ------------------------------------------------------------------------------------------------
async def login_page(request: Request) -> Response:
    return web.render(request, "login.html", {"error": None, "next": safe_next(request.query_params.get("next"))})


async def login(request: Request) -> Response:
    state = request.app.state
    t = translator(best_language(request.headers.get("accept-language")))
    if not web.same_origin(request):
        return problem(request, 403, "csrf_failed", "sign-in form posted from another site")
    form = await web.form_data(request)
    username, password = first(form, "username") or "", (form.get("password") or [""])[0]
    at = time.time()
    wait = locked_for(await state.run_sync(state.store.login_failures, username, at - LOCKOUT_SECONDS), at)
    if wait:  # locked: the password is not even checked, so guessing on gains nothing
        return _refused(request, 429, "locked", t, form, {"Retry-After": str(int(wait) + 1)},
                        f"too many failed sign-ins for this user name; try again in {int(wait) + 1} seconds")
    user = await state.run_sync(state.store.user, username) if username else None
    if not await state.run_sync(check_login, user, password):
        if username:
            await state.run_sync(state.store.note_login_failure, username, at)
        return _refused(request, 401, "bad_login", t, form)
    if await state.run_sync(state.store.is_disabled, user["username"]):
        return _refused(request, 403, "disabled", t, form, detail="this account is disabled")
    await state.run_sync(state.store.clear_login_failures, user["username"])
    cookie, csrf = await _new_session(request, user["username"])
    response = done(request, safe_next(first(form, "next")), {
        "ok": True, "csrf": csrf,
        "user": {"username": user["username"], "role": user["role"], "lang": user["lang"], "schools": user["schools"]}})
    return _set_session_cookie(request, response, cookie)


def _refused(request: Request, status: int, key: str, t, form, headers: dict | None = None,
             detail: str | None = None) -> Response:
    if "application/json" in request.headers.get("accept", ""):
        response = problem(request, status, key, detail)
    else:
        response = web.render(request, "login.html", {"error": t(key), "next": safe_next(first(form, "next"))},
                              status=status, t=t)
    response.headers.update(headers or {})
    return response


async def _new_session(request: Request, username: str) -> tuple[str, str]:
    """A new session: its row on the server; returns its cookie and its CSRF token."""
    state = request.app.state
    cookie = state.review.signer.issue(username)
    session = state.review.signer.read(cookie)
    await state.run_sync(state.store.start_session, session.nonce, username, time.time())
    return cookie, state.review.signer.csrf_token(session)


def _set_session_cookie(request: Request, response: Response, cookie: str) -> Response:
    # Secure whenever the browser reached us over HTTPS, directly or through a trusted proxy (web.is_https)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=SESSION_MAX_AGE, path="/review", httponly=True,
                        samesite="lax", secure=web.is_https(request))
    return response


async def logout(request: Request, ctx: Ctx) -> Response:
    state = request.app.state
    await state.run_sync(state.store.end_session, ctx.session.nonce, time.time())  # the cookie is dead everywhere
    response = done(request, "/review/login", {"ok": True})
    response.delete_cookie(SESSION_COOKIE, path="/review", httponly=True, samesite="lax")
    return response


async def change_password(request: Request, ctx: Ctx) -> Response:
    """Current password, then the new one; every session of the user ends, and this browser gets a new one."""
    state = request.app.state
    form = ctx.extras["form"]
    current_password, new_password = (form.get("current_password") or [""])[0], (form.get("new_password") or [""])[0]
    if not await state.run_sync(check_login, ctx.user, current_password):
        return problem(request, 403, "bad_login", "the current password is wrong", ctx)
    if error := password_problem(new_password):
        return problem(request, 400, "bad_request", error, ctx)
    username = ctx.user["username"]
    await state.run_sync(lambda: state.store.update_user(username, password_hash=hash_password(new_password)))
    await state.run_sync(state.store.end_sessions, username, time.time())
    cookie, csrf = await _new_session(request, username)
    return _set_session_cookie(request, done(request, "/review/settings?password_changed=1",
                                             {"ok": True, "csrf": csrf}), cookie)


# the queue ----------------------------------------------------------------------------------------------
def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadFilter(f"{name} must be a date like 2025-04-30, got {value!r}") from exc


def queue_filter(ctx: Ctx, params) -> QueueFilter:
    """The query string as a QueueFilter, always inside the reviewer's scope; a bad value says what to fix."""
    scope = ctx.scope
    if school := params.get("school"):
        if school not in scope:
            raise BadFilter(f"school {school!r} is not one of yours ({', '.join(scope)})")
        scope = (school,)
    decisions = QUEUE_DECISIONS
    if decision := params.get("decision"):
        if decision not in (*QUEUE_DECISIONS, "pass"):
            raise BadFilter(f"decision must be one of {', '.join((*QUEUE_DECISIONS, 'pass'))}, got {decision!r}")
        decisions = (decision,)
    grade = None
    if params.get("grade"):
        if not params["grade"].isdigit() or not 1 <= int(params["grade"]) <= 12:
            raise BadFilter(f"grade must be a number from 1 to 12, got {params['grade']!r}")
        grade = int(params["grade"])
    checks = {"lang": schema.LANGUAGES, "category": schema.CATEGORIES, "status": STATUSES}
    for name, allowed in checks.items():
        if params.get(name) and params[name] not in allowed:
            raise BadFilter(f"{name} must be one of {', '.join(allowed)}, got {params[name]!r}")
    if params.get("rule") and not _RULE_ID.match(params["rule"]):
        raise BadFilter(f"rule must be a rule id like base.self-harm-methods, got {params['rule']!r}")
    since = _date(params["from"], "from").isoformat() if params.get("from") else None
    until = None
    if params.get("to") and (last := _date(params["to"], "to")) < date.max:  # to 9999-12-31: no end at all
        until = (last + timedelta(days=1)).isoformat()
    text = (params.get("q") or "").strip() or None
    if text and len(text) > MAX_SEARCH:
        raise BadFilter(f"q (the search text) is at most {MAX_SEARCH} characters, got {len(text)}")
    return QueueFilter(scope, decisions, grade, params.get("lang") or None, params.get("rule") or None,
                       params.get("category") or None, params.get("status") or None, since, until, text)


FILTER_KEYS = ("q", "school", "decision", "grade", "lang", "category", "rule", "status", "from", "to")


async def queue(request: Request, ctx: Ctx) -> Response:
    state = request.app.state
    params = request.query_params
    try:
        where = queue_filter(ctx, params)
        number = int(params.get("page") or 1)
        if not 1 <= number <= MAX_PAGE:  # past it the row offset would overflow the database's integers
            raise ValueError
    except BadFilter as exc:
        return problem(request, 400, "bad_request", str(exc), ctx)
    except ValueError:
        return problem(request, 400, "bad_request", f"page must be a whole number from 1 to {MAX_PAGE}", ctx)
    if request.url.path.endswith(".csv"):
        rows = await state.run_sync(state.store.review_queue, where, EXPORT_LIMIT, 0)
        return secured(_csv([items.queue_row(r) for r in rows]))
    rows = await state.run_sync(state.store.review_queue, where, PAGE_SIZE, (number - 1) * PAGE_SIZE)
    lang = ctx.user["lang"]
    total = await state.run_sync(state.store.queue_count, where)
    unscoped = QueueFilter(where.schools, where.decisions, where.grade, where.lang, since=where.since,
                           until=where.until)
    rates = feedback.rule_rates(await state.run_sync(state.store.rule_outcomes, unscoped))
    filters = {k: params.get(k, "") for k in FILTER_KEYS}
    query = urlencode([(k, v) for k, v in params.multi_items() if k in FILTER_KEYS and v])
    data = {
        "items": [items.queue_row(r, lang) for r in rows], "total": total, "page": number, "page_size": PAGE_SIZE,
        "filters": filters, "rule_rates": rates,
        "choices": {"decision": [*QUEUE_DECISIONS, "pass"], "lang": schema.LANGUAGES,
                    "category": [{"id": c, "name": category_name(c, lang)} for c in schema.CATEGORIES],
                    "status": STATUSES, "rule": sorted(r["rule"] for r in rates), "school": list(ctx.scope)},
        "done": await actions.last_done(request, ctx),
        "filtered": any(filters[k] for k in FILTER_KEYS if k != "q"),
    }
    return page(request, "queue.html", data | {"query": query}, ctx)


_CSV_COLUMNS = ("created_at", "request_id", "school_id", "student", "grade", "lang", "decision", "rules",
                "categories", "status", "reviewed_by", "excerpt")


def _cell(value) -> str:
    text = ", ".join(value) if isinstance(value, list) else "" if value is None else str(value)
    # a cell a spreadsheet would run as a formula is kept as text
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(rows: list[dict]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in _CSV_COLUMNS])
    return PlainTextResponse("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="review-queue.csv"'})


# one item -----------------------------------------------------------------------------------------------
async def item(request: Request, ctx: Ctx) -> Response:
    state = request.app.state
    request_id, _ = _split_suffix(request.path_params["request_id"])
    row = await actions.scoped(request, ctx, request_id)
    if row is None:
        return problem(request, 404, "not_found", None, ctx)
    history = await state.run_sync(state.store.review_history, request_id)
    kept = {rule: await state.run_sync(state.store.rule_text, row["curriculum"], rule)
            for rule in _decoded_rules(row)}
    data = items.detail(row, history, state.rulebooks.current, kept, ctx.user["lang"])
    data["next"] = await actions.next_unreviewed(request, ctx, request_id)
    data["done"] = await actions.last_done(request, ctx)
    return page(request, "item.html", data, ctx)


def _decoded_rules(row: dict) -> list[str]:
    return json.loads(row["rules"]) if isinstance(row["rules"], str) else row["rules"]


# rules and the feedback loop ----------------------------------------------------------------------------
async def rules(request: Request, ctx: Ctx) -> Response:
    state = request.app.state
    rates = feedback.rule_rates(await state.run_sync(state.store.rule_outcomes, QueueFilter(ctx.scope)))
    return page(request, "rules.html", {"rule_rates": rates}, ctx)


async def suggestions(request: Request, ctx: Ctx) -> Response:
    state = request.app.state
    found = feedback.suggestions(await state.run_sync(state.store.overrides, ctx.scope))
    if request.url.path.endswith(".yaml"):
        text = feedback.suggestions_yaml(found, state.rulebooks.current, state.settings.curricula_dir, now(),
                                         list(ctx.scope))
        return secured(PlainTextResponse(text, media_type="application/yaml; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="suggested-examples.yaml"'}))
    return page(request, "suggestions.html", {"suggestions": found}, ctx)


# settings -----------------------------------------------------------------------------------------------
async def settings_page(request: Request, ctx: Ctx) -> Response:
    return page(request, "settings.html", {"saved": request.query_params.get("saved") == "1",
                                           "password_changed": request.query_params.get("password_changed") == "1"},
                ctx)


async def save_settings(request: Request, ctx: Ctx) -> Response:
    state = request.app.state
    lang = first(ctx.extras["form"], "lang")
    if lang not in UI_LANGUAGES:
        return problem(request, 400, "bad_request", f"lang must be one of {', '.join(UI_LANGUAGES)}, got {lang!r}", ctx)
    await state.run_sync(lambda: state.store.update_user(ctx.user["username"], lang=lang))
    return done(request, "/review/settings?saved=1", {"ok": True, "lang": lang})


async def home(request: Request) -> Response:
    return secured(RedirectResponse("/review/items", status_code=303))


def review_mount() -> Mount:
    signed = signed_in
    routes: list[BaseRoute] = [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", signed(logout), methods=["POST"]),
        Route("/items", signed(queue)), Route("/items.json", signed(queue)), Route("/items.csv", signed(queue)),
        Route("/items/{request_id}", signed(item)),
        Route("/items/{request_id}/actions", signed(actions.item_action), methods=["POST"]),
        Route("/confirm", signed(actions.confirm_many), methods=["POST"]),
        Route("/rules", signed(rules)), Route("/rules.json", signed(rules)),
        Route("/suggestions", signed(suggestions, admin=True)),
        Route("/suggestions.json", signed(suggestions, admin=True)),
        Route("/suggestions.yaml", signed(suggestions, admin=True)),
        Route("/settings", signed(settings_page), methods=["GET"]),
        Route("/settings.json", signed(settings_page), methods=["GET"]),
        Route("/settings", signed(save_settings), methods=["POST"]),
        Route("/password", signed(change_password), methods=["POST"]),
        *accounts.routes(),
        Mount("/static", app=StaticFiles(directory=web.HERE / "static"), name="review-static"),
    ]
    return Mount("/review", routes=routes)
