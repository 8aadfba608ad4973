"""What a reviewer does to an exchange: confirm, override (false alarm, missed harm), note, and undo.

Every action is a new row (store/reviews.py); nothing is edited or deleted. Taking one back is itself an
action, `undo`, that names the row it takes back, so the history shows both and the exchange's status, the
false-alarm rates and the suggested examples are computed from the actions that still stand.

Two guards against a slip: a false alarm on a rule whose finding was critical (a crisis disclosure, self-harm
methods) is only recorded when the form says `confirm_critical=yes`, which the confirmation page adds; and
after each action the next page offers to undo it (`?done=<action id>`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from ..rules.category_names import category_name
from ..store.reviews import ACTIONS, QueueFilter
from ..store.sqlite import now
from ..supervision import last_user_message
from ..text.segment import split
from . import items
from .web import Ctx, done, first, page, problem, safe_next

CRITICAL = "critical"


async def scoped(request: Request, ctx: Ctx, request_id: str) -> dict | None:
    """The exchange when it is one the reviewer may see and was judged; None otherwise (a 404 either way)."""
    state = request.app.state
    row = await state.run_sync(state.store.exchange, request_id)
    if row is None or row["school_id"] not in ctx.scope or row["decision"] is None:
        return None
    return row


async def next_unreviewed(request: Request, ctx: Ctx, request_id: str) -> str | None:
    """The unreviewed exchange after this one in queue order (crises first, then newest), wrapping round."""
    state = request.app.state
    order = await state.run_sync(state.store.queue_ids, QueueFilter(ctx.scope, status="unreviewed"))
    if request_id in order:
        at = order.index(request_id)
        order = order[at + 1:] + order[:at]
    return f"/review/items/{order[0]}" if order else None


async def last_done(request: Request, ctx: Ctx) -> dict | None:
    """The action named by `?done=<id>` when it is the reviewer's own, in scope and not yet undone: the page
    then offers to undo it."""
    state = request.app.state
    wanted = request.query_params.get("done", "")
    if not wanted.isdigit():
        return None
    action = await state.run_sync(state.store.review_action, int(wanted))
    if action is None or action["school_id"] not in ctx.scope or action["username"] != ctx.user["username"] \
            or action["action"] == "undo":
        return None
    history = await state.run_sync(state.store.review_history, action["request_id"])
    if any(a["undone_by"] for a in history if a["id"] == action["id"]):
        return None
    return {"id": action["id"], "action": action["action"], "request_id": action["request_id"],
            "rule_id": action["rule_id"], "url": f"/review/items/{action['request_id']}"}


def _with_done(target: str, action_id: int) -> str:
    return f"{target}{'&' if '?' in target else '?'}{urlencode({'done': action_id})}"


def critical_rules(row: dict, rule: str | None) -> list[str]:
    """The rules a false alarm would clear whose finding on this exchange was critical."""
    named = [rule] if rule else row["rules"]
    return sorted({f["rule"] for f in row["findings"] if f["rule"] in named and f.get("severity") == CRITICAL})


async def item_action(request: Request, ctx: Ctx) -> Response:
    state = request.app.state
    request_id = request.path_params["request_id"]
    row = await scoped(request, ctx, request_id)
    if row is None:
        return problem(request, 404, "not_found", None, ctx)
    form = ctx.extras["form"]
    action, text = first(form, "action"), first(form, "text") or None
    rule, sentence = first(form, "rule") or None, first(form, "sentence") or None
    history = await state.run_sync(state.store.review_history, request_id)
    error = _action_problem(state, row, history, action, text, rule, sentence, first(form, "undoes"))
    if error:
        return problem(request, 400, "bad_request", error, ctx)
    critical = critical_rules(row, rule) if action == "override_false_alarm" else []
    if critical and first(form, "confirm_critical") != "yes":
        return _ask_to_confirm(request, ctx, row, critical, form)
    if action == "undo":
        text = first(form, "undoes")
    action_id = await state.run_sync(state.store.add_review_action, request_id, row["school_id"],
                                     ctx.user["username"], action, now(), text, rule,
                                     sentence if action == "override_missed" else None)
    next_url = await next_unreviewed(request, ctx, request_id)
    then = first(form, "then")
    target = (next_url or "/review/items") if then == "next" and action != "undo" else \
        safe_next(first(form, "back"), f"/review/items/{request_id}")
    if action != "undo":
        target = _with_done(target, action_id)
    return done(request, target, {"ok": True, "request_id": request_id, "action": action, "id": action_id,
                                  "next": next_url})


def _action_problem(state, row: dict, history: list[dict], action: str | None, text, rule, sentence,
                    undoes: str | None) -> str | None:
    if action not in ACTIONS:
        return f"action must be one of {', '.join(ACTIONS)}, got {action!r}"
    if action == "note" and not text:
        return "a note needs text"
    if action == "override_false_alarm":
        if row["decision"] == "pass":
            return "nothing was flagged on this exchange, so it cannot be a false alarm"
        if rule and rule not in row["rules"]:
            return f"rule {rule!r} did not fire on this exchange (fired: {', '.join(row['rules'])})"
    if action == "override_missed":
        country_rules = {r["id"] for r in items.rule_choices(state.rulebooks.current, row["country"])}
        if not rule or rule not in country_rules:
            return f"name the rule that should have caught it (one of this country's rules), got {rule!r}"
        said = {s.text for s in split(row["original_text"] or "")} | \
               {s.text for s in split(last_user_message(row["messages"]))}
        if sentence not in said:
            return "pick the sentence that should have been caught from this exchange (field `sentence`)"
    if action == "undo":
        target = next((a for a in history if undoes and str(a["id"]) == undoes), None)
        if target is None:
            return f"undoes must be the id of an action on this exchange, got {undoes!r}"
        if target["action"] == "undo":
            return "an undo cannot be undone; do the action again instead"
        if target["undone_by"]:
            return f"action {undoes} was already undone"
    return None


def _ask_to_confirm(request: Request, ctx: Ctx, row: dict, critical: list[str], form: dict) -> Response:
    """A false alarm on a critical rule: the page asks once more (409 for API clients)."""
    lang = ctx.user["lang"]
    rules = [{"id": f["rule"], "category_name": category_name(f["category"], lang), "sentence": f.get("sentence")}
             for f in row["findings"] if f["rule"] in critical]
    fields = [(name, value) for name, values in form.items() if name not in ("csrf", "confirm_critical")
              for value in values]
    return page(request, "confirm.html", {
        "error": {"code": "confirm_critical",
                  "message": f"a false alarm on critical rule(s) {', '.join(critical)}: send confirm_critical=yes "
                             "to record it"},
        "request_id": row["request_id"], "rules": rules, "fields": fields,
    }, ctx, status=409)


async def confirm_many(request: Request, ctx: Ctx) -> Response:
    state = request.app.state
    form = ctx.extras["form"]
    confirmed = []
    for request_id in dict.fromkeys(form.get("request_id", [])):
        row = await scoped(request, ctx, request_id)
        if row is None or row["decision"] == "pass":
            continue  # out of scope or not something to confirm: skipped, never an error that loses the rest
        await state.run_sync(state.store.add_review_action, request_id, row["school_id"], ctx.user["username"],
                             "confirm", now())
        confirmed.append(request_id)
    return done(request, safe_next(first(form, "back")), {"ok": True, "confirmed": confirmed})
