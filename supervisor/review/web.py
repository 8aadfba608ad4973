"""Request plumbing for the review pages: who is signed in, CSRF and Origin checks, rendering a page or its
JSON twin, and the security headers every review response carries.

Templates are Jinja2 with autoescape on for everything; the Content-Security-Policy allows scripts and styles
only from /review/static, so even a missed escape could not run inline script.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ..api.body import read_body
from .auth import SESSION_COOKIE, Session, SessionSigner
from .i18n import UI_LANGUAGES, best_language, translator

HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class ReviewState:
    """What the review pages keep for the app's lifetime: the session signer and the template environment."""

    def __init__(self, deployment_secret: str):
        self.signer = SessionSigner(deployment_secret)
        self.templates = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                            undefined=jinja2.StrictUndefined)


@dataclass
class Ctx:
    """The signed-in reviewer for one request."""

    request: Request
    user: dict
    session: Session
    csrf: str
    scope: tuple[str, ...]
    t: Callable[[str], str]
    extras: dict = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.user["role"] == "admin"

    def public_user(self) -> dict:
        return {"username": self.user["username"], "role": self.user["role"], "lang": self.user["lang"],
                "schools": list(self.scope)}


def secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.endswith(".json") or (not path.endswith((".csv", ".yaml"))
                                      and "application/json" in request.headers.get("accept", ""))


def render(request: Request, template: str, data: dict, status: int = 200, t=None, ctx: Ctx | None = None) -> Response:
    state: ReviewState = request.app.state.review
    t = t or (ctx.t if ctx else translator(best_language(request.headers.get("accept-language"))))
    html = state.templates.get_template(template).render(
        **data, t=t, me=ctx.public_user() if ctx else None, csrf=ctx.csrf if ctx else None,
        languages=UI_LANGUAGES, is_admin=bool(ctx and ctx.is_admin))
    return secured(HTMLResponse(html, status_code=status))


def page(request: Request, template: str, data: dict, ctx: Ctx, status: int = 200) -> Response:
    """The page, or its JSON twin when the path ends in .json (or the client asks for JSON)."""
    if wants_json(request):
        return secured(JSONResponse({**data, "user": ctx.public_user(), "csrf": ctx.csrf}, status_code=status))
    return render(request, template, data, status=status, ctx=ctx)


def problem(request: Request, status: int, key: str, detail: str | None = None, ctx: Ctx | None = None) -> Response:
    """An error as JSON for API clients, as a short page for people. `key` is the i18n id of the message."""
    t = ctx.t if ctx else translator("en")
    if wants_json(request) or request.url.path.endswith((".csv", ".yaml")):
        return secured(JSONResponse({"error": {"code": key, "message": detail or translator("en")(key)}},
                                    status_code=status))
    return render(request, "problem.html", {"message": t(key), "detail": detail}, status=status, ctx=ctx)


async def form_data(request: Request) -> dict[str, list[str]]:
    """URL-encoded form fields (the review forms post nothing else); every value is kept as a list."""
    body = (await read_body(request, request.app.state.settings.max_request_bytes)).decode("utf-8", errors="replace")
    return parse_qs(body, keep_blank_values=True)


def first(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0].strip() if values else None


def is_https(request: Request) -> bool:
    """The browser reached us over HTTPS: directly, or through a TLS-terminating proxy we trust
    (Settings.trusted_proxies) that says so in X-Forwarded-Proto. From anyone else that header is ignored."""
    if request.url.scheme == "https":
        return True
    trusted = request.app.state.settings.trusted_proxies
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return forwarded == "https" and peer is not None and peer in trusted


def same_origin(request: Request) -> bool:
    """Browsers send Origin on every cross-site POST; a form posted from another site is refused."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def safe_next(target: str | None, default: str = "/review/items") -> str:
    """Only a path inside the review pages, so a crafted link cannot send a teacher elsewhere."""
    if target and target.startswith("/review/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


async def current(request: Request) -> Ctx | None:
    state = request.app.state
    session = state.review.signer.read(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    # a signature cannot be taken back: the session must also still be open on the server
    if not await state.run_sync(state.store.session_open, session.nonce, session.username):
        return None
    user = await state.run_sync(state.store.user, session.username)
    if user is None:
        return None
    return Ctx(request, user, session, state.review.signer.csrf_token(session), tuple(user["schools"]),
               translator(user["lang"]))


Handler = Callable[[Request, Ctx], Awaitable[Response]]


def signed_in(handler: Handler, admin: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: sign-in required; on POST, a valid CSRF token and a same-origin request too."""

    async def endpoint(request: Request) -> Response:
        ctx = await current(request)
        if ctx is None:
            if request.method == "GET" and not wants_json(request) and not request.url.path.endswith((".csv", ".yaml")):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return secured(RedirectResponse(f"/review/login?next={quote(target)}", status_code=303))
            return problem(request, 401, "sign_in", "sign in first: POST /review/login with username and password")
        if admin and not ctx.is_admin:
            return problem(request, 403, "forbidden", "this page is for administrators", ctx)
        if request.method == "POST":
            form = await form_data(request)
            token = first(form, "csrf") or request.headers.get("x-csrf-token")
            if not same_origin(request) or not request.app.state.review.signer.csrf_ok(ctx.session, token):
                return problem(request, 403, "csrf_failed", "missing or invalid CSRF token (field `csrf` or header "
                               "X-CSRF-Token, as given in every JSON page's `csrf`)", ctx)
            ctx.extras["form"] = form
        return await handler(request, ctx)

    return endpoint


def done(request: Request, target: str, data: dict) -> Response:
    """After a POST: JSON for API clients, a redirect (post/redirect/get) for browsers."""
    if wants_json(request):
        return secured(JSONResponse(data))
    return secured(RedirectResponse(target, status_code=303))
