"""The OpenAI error envelope: {"error": {"message", "type", "param", "code"}} with the right HTTP status."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from ..errors import AuthError, BadRequest, Forbidden, StoreError, SupervisorError, UpstreamError


def envelope(status: int, message: str, type_: str, code: str | None = None, param: str | None = None,
             headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": type_, "param": param, "code": code}},
                        status_code=status, headers=headers)


def error_response(exc: SupervisorError, request_id: str | None = None) -> JSONResponse:
    headers = {"X-Request-Id": request_id} if request_id else None
    if isinstance(exc, (AuthError, BadRequest, Forbidden, UpstreamError, StoreError)):
        return envelope(exc.status, str(exc), exc.type, exc.code, getattr(exc, "param", None), headers)
    return envelope(500, str(exc), "server_error", "internal_error", headers=headers)


async def not_found(request: Request, exc) -> JSONResponse:
    return envelope(404, f"no route {request.method} {request.url.path}", "invalid_request_error", "not_found")


async def method_not_allowed(request: Request, exc) -> JSONResponse:
    return envelope(405, f"method {request.method} not allowed on {request.url.path}", "invalid_request_error",
                    "method_not_allowed")


async def server_error(request: Request, exc) -> JSONResponse:
    return envelope(500, "internal error in the supervisor; the answer was not delivered", "server_error",
                    "internal_error")


async def supervisor_error(request: Request, exc: Exception) -> JSONResponse:
    """A SupervisorError no endpoint caught (a review form over the size limit, say): its own status, not 500."""
    return error_response(exc) if isinstance(exc, SupervisorError) else await server_error(request, exc)
