"""One documented error tree.

SupervisorError
├── ConfigError          bad curriculum, policy or settings file: names file, line, rule id and key
├── AuthError            missing, unknown or revoked API key (HTTP 401)
├── Forbidden            the key does not allow what the request asks (another grade, country, mode) (HTTP 403)
├── BadRequest           malformed client request (HTTP 400)
│   └── TooLarge         a request or text over the deployment's size limits (HTTP 413)
├── UpstreamError        the upstream model failed (HTTP 502)
│   └── UpstreamTimeout  the upstream model did not answer in time (HTTP 504)
└── StoreError           the record store could not be written or read (HTTP 503)

The CLI maps these to exit code 1 (user error) and anything else to 3 (crash); the HTTP layer maps them to
the OpenAI error envelope. Nothing below the CLI calls sys.exit.
"""

from __future__ import annotations

from dataclasses import dataclass


class SupervisorError(Exception):
    """Base of every error this package raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One finding about a configuration file, printed as `file:line: message` (`file:line:column:` when the
    column is known, as for a YAML syntax error)."""

    file: str
    line: int | None
    message: str
    column: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        if self.line and self.column:
            where += f":{self.column}"
        return f"{where}: {self.message}"


class ConfigError(SupervisorError):
    """A curriculum, policy or settings file is invalid. Carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("<config>", None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class AuthError(SupervisorError):
    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"


class _RequestError(SupervisorError):
    """Something the client asked for; `param` names the request field to fix (the envelope's `param`)."""

    type = "invalid_request_error"

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param


class Forbidden(_RequestError):
    status = 403
    code = "not_allowed_for_key"


class BadRequest(_RequestError):
    status = 400
    code = "bad_request"


class TooLarge(BadRequest):
    status = 413
    code = "request_too_large"


class UpstreamError(SupervisorError):
    status = 502
    type = "upstream_error"
    code = "upstream_unavailable"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


class StoreError(SupervisorError):
    status = 503
    type = "server_error"
    code = "store_unavailable"
