"""Administrators manage review accounts on the page, as `supervisor users passwd|disable` does on the
command line: reset another account's password, disable or re-enable it. Both sign the account out everywhere.

  GET  /review/accounts[.json]                 the accounts an administrator may manage
  POST /review/accounts/{username}/password    new_password
  POST /review/accounts/{username}/disable     disabled = 1 (disable) or 0 (enable again)

An administrator manages only accounts whose every school is one of their own: a district administrator can
reset a teacher of one of their schools, a school administrator cannot touch another school's accounts (an
account outside that scope answers 404, as if it did not exist). One's own account is changed in Settings.
"""

from __future__ import annotations

import time
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import hash_password, password_problem
from .web import Ctx, done, first, page, problem, signed_in


def _manageable(ctx: Ctx, user: dict | None) -> bool:
    return bool(user and user["schools"] and set(user["schools"]) <= set(ctx.scope)
                and user["username"] != ctx.user["username"])


async def accounts_page(request: Request, ctx: Ctx) -> Response:
    state = request.app.state
    users = [u for u in await state.run_sync(state.store.users) if _manageable(ctx, u)]
    listed = [{"username": u["username"], "role": u["role"], "schools": u["schools"], "lang": u["lang"],
               "disabled": await state.run_sync(state.store.is_disabled, u["username"])} for u in users]
    return page(request, "accounts.html", {"accounts": listed, "changed": request.query_params.get("changed")}, ctx)


async def _target(request: Request, ctx: Ctx) -> dict | None:
    state = request.app.state
    user = await state.run_sync(state.store.user, request.path_params["username"])
    return user if _manageable(ctx, user) else None


async def reset_password(request: Request, ctx: Ctx) -> Response:
    state = request.app.state
    user = await _target(request, ctx)
    if user is None:
        return problem(request, 404, "not_found", "no such account among those you manage", ctx)
    new_password = (ctx.extras["form"].get("new_password") or [""])[0]
    if error := password_problem(new_password):
        return problem(request, 400, "bad_request", error, ctx)
    username = user["username"]
    await state.run_sync(lambda: state.store.update_user(username, password_hash=hash_password(new_password)))
    await state.run_sync(state.store.end_sessions, username, time.time())
    await state.run_sync(state.store.clear_login_failures, username)
    return done(request, f"/review/accounts?changed={quote(username)}", {"ok": True, "username": username})


async def set_disabled(request: Request, ctx: Ctx) -> Response:
    state = request.app.state
    user = await _target(request, ctx)
    if user is None:
        return problem(request, 404, "not_found", "no such account among those you manage", ctx)
    wanted = first(ctx.extras["form"], "disabled")
    if wanted not in ("0", "1"):
        return problem(request, 400, "bad_request", f"disabled must be 1 (disable) or 0 (enable), got {wanted!r}",
                       ctx)
    username = user["username"]
    await state.run_sync(state.store.set_disabled, username, wanted == "1", time.time())
    return done(request, f"/review/accounts?changed={quote(username)}",
                {"ok": True, "username": username, "disabled": wanted == "1"})


def routes() -> list[Route]:
    return [
        Route("/accounts", signed_in(accounts_page, admin=True), methods=["GET"]),
        Route("/accounts.json", signed_in(accounts_page, admin=True), methods=["GET"]),
        Route("/accounts/{username}/password", signed_in(reset_password, admin=True), methods=["POST"]),
        Route("/accounts/{username}/disable", signed_in(set_disabled, admin=True), methods=["POST"]),
    ]
