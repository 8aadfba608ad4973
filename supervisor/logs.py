"""structlog as JSON lines on stderr: one event per decision, each with its request id; libraries kept quiet.

Everything that logs, ours or a library's, comes out as one JSON object per line, so a log shipper needs one
parser. Libraries (LiteLLM's "completion() model=..." lines, httpx's "HTTP Request: ...") log at INFO for
every request; they are held to warnings and errors unless the level is `debug`.
"""

from __future__ import annotations

import logging
import sys

import structlog

# loggers of libraries that speak at INFO on every request; LiteLLM's three also attach a plain-text handler
LIBRARY_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx", "httpcore", "openai", "multipart")
_library_level: int | None = None  # set by configure_logging; None: JSON logging not configured in this process


def _stderr_logger(*_args) -> structlog.PrintLogger:
    return structlog.PrintLogger(sys.stderr)


class _StderrHandler(logging.StreamHandler):
    """The standard-library side of `_stderr_logger`: writes to sys.stderr as it is when a line is written."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # StreamHandler assigns it; the live sys.stderr is always what is read
        pass


def configure_logging(level: str = "info") -> None:
    numeric = getattr(logging, level.upper(), logging.INFO)
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    handler = _StderrHandler()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, structlog.processors.JSONRenderer(ensure_ascii=False)]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    _quiet_libraries(logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(ensure_ascii=False)],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # sys.stderr as it is when a line is written, not when logging was configured: a command run inside a
        # test (compare, redteam) configures logging while stderr is pytest's capture file, closed afterwards
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def _quiet_libraries(level: int) -> None:
    global _library_level
    _library_level = level
    adopt_library_loggers()


def adopt_library_loggers() -> None:
    """Hold the libraries' loggers to `_library_level` and route them through the root (JSON) handler. Called when
    logging is configured and again by `upstream.load_litellm` once litellm is imported: litellm attaches its own
    plain-text handler (and sets levels) at import, and importing it here instead would cost every start the ~3 s
    of that import before the server could even say it is starting."""
    if _library_level is None:
        return
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(_library_level)
        logger.handlers[:] = []
        logger.propagate = True


def configure_command_logging() -> None:
    """Commands other than `serve` (check, lint, eval, ...): structlog's readable lines, on stderr, so that what
    a command prints on stdout (`--json` above all) stays only its result; progress lines go to the terminal."""
    structlog.configure(processors=[structlog.processors.add_log_level,
                                    structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=True),
                                    structlog.dev.ConsoleRenderer(colors=False)],
                        logger_factory=_stderr_logger)  # stderr as it is when a line is written (see above)
