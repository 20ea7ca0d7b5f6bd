"""structlog setup for every ordersync process: UTC timestamps, secrets redacted, one format.

JSON lines for machines (stderr is not a terminal, or ``json=True``); readable ``key=value`` lines on
a terminal. Standard-library loggers (Celery, httpx, uvicorn) go through the same processors, so a
worker's log has one shape; httpx's per-request INFO lines are quieted unless the level is DEBUG.

Every log line carries what is bound into the context (``route``, ``platform``, ``store``,
``order_id``, ``idempotency_key`` ...). :func:`redact_secrets` masks any value whose key looks like
a credential, wherever it appears, as a last line of defence: code never logs secrets on purpose.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, TextIO

import structlog

__all__ = ["LOG_FORMATS", "bound", "configure_logging", "redact_secrets", "wants_json"]

LOG_FORMATS = ("auto", "json", "human")
# Libraries whose INFO lines repeat what our own log says (one line per HTTP request).
_CHATTY = ("httpx", "httpcore", "alembic")  # per-request lines; alembic's context lines on every store check

_SECRET_KEY = re.compile(r"(pass(word)?|secret|token|api[_-]?key|authorization|auth|credential|signature)", re.I)
_MASK = "***"


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Bind ``fields`` to every log line of this context for the ``with`` block, then restore what
    was bound before. structlog's ``bound_contextvars`` does the same but first copies the whole
    context to find what to restore; this keeps its tokens instead (every webhook request and every
    reconcile binds its fields, so ordersync binds with this one helper)."""
    tokens = structlog.contextvars.bind_contextvars(**fields)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 4:
        return value
    if isinstance(value, dict):
        return {k: (_MASK if isinstance(k, str) and _SECRET_KEY.search(k) else _scrub(v, depth + 1))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, depth + 1) for v in value]
    return value


def redact_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor masking credential-like keys (``token``, ``password``, ``api_key`` ...)."""
    for key in list(event_dict):
        if key in ("event", "idempotency_key"):
            continue
        if _SECRET_KEY.search(key):
            event_dict[key] = _MASK
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is *now* (test runners, Rich's progress bar and CLIs swap it),
    except a stream that feeds logging itself (Celery's ``LoggingProxy`` for redirected prints): our
    handler writing there would loop back into logging, so lines go to the process's real stderr."""

    @staticmethod
    def _target() -> TextIO:
        stream = sys.stderr
        if hasattr(stream, "logger") and sys.__stderr__ is not None:
            return sys.__stderr__
        return stream

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()


def wants_json(log_format: str = "auto", stream: TextIO | None = None) -> bool:
    """Whether to write JSON: ``json`` / ``human`` say so; ``auto`` is JSON unless the stream is a terminal."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format {log_format!r}: expected one of {', '.join(LOG_FORMATS)}")
    if log_format != "auto":
        return log_format == "json"
    target = stream or sys.stderr
    isatty = getattr(target, "isatty", None)
    return not (callable(isatty) and isatty())


def _level(level: str | int) -> int:
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    return numeric if isinstance(numeric, int) else logging.INFO


def configure_logging(level: str | int = "INFO", *, json: bool | None = None, stream: TextIO | None = None) -> None:
    """Configure structlog, and stdlib logging under it, once per process.

    ``json=None`` picks JSON when stderr is not a terminal. Stdlib records (Celery, uvicorn, httpx)
    are rendered by the same processors.
    """
    numeric = _level(level)
    as_json = wants_json("auto", stream) if json is None else json
    renderer: Any = (structlog.processors.JSONRenderer() if as_json
                     else structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0))
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(stream or _CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream or _CurrentStderr())
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING))
