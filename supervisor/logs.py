"""structlog as JSON lines on stderr: one event per decision, each with its request id."""

from __future__ import annotations

import logging
import sys

import structlog


def _stderr_logger(*_args) -> structlog.PrintLogger:
    return structlog.PrintLogger(sys.stderr)


def configure_logging(level: str = "info") -> None:
    numeric = getattr(logging, level.upper(), logging.INFO)
    logging.basicConfig(stream=sys.stderr, level=numeric, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # sys.stderr as it is when a line is written, not when logging was configured: a command run inside a
        # test (compare, redteam) configures logging while stderr is pytest's capture file, closed afterwards
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
