"""Log lines: JSON for machines, readable on a terminal, one shape for our and libraries' records."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import structlog

from connectors.logging import bound, configure_logging, wants_json

REPO = Path(__file__).resolve().parents[2]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    structlog.reset_defaults()


def test_auto_is_json_off_a_terminal_and_readable_on_one() -> None:
    """``auto`` follows the stream; ``json`` / ``human`` force it; anything else is refused by name."""
    assert wants_json("auto", io.StringIO()) is True
    assert wants_json("auto", _Terminal()) is False
    assert wants_json("json", _Terminal()) is True
    assert wants_json("human", io.StringIO()) is False
    with pytest.raises(ValueError, match="log format 'xml'"):
        wants_json("xml")


def test_json_lines_carry_bound_context_and_mask_secrets() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    with structlog.contextvars.bound_contextvars(route="a-to-b", order_id="42"):
        structlog.get_logger("t").info("created", token="s3cr3t")
    line = orjson.loads(stream.getvalue())
    assert line["event"] == "created"
    assert (line["route"], line["order_id"], line["token"]) == ("a-to-b", "42", "***")


def test_bound_fields_last_for_the_block_and_restore_what_was_there() -> None:
    """Nested blocks: the inner value wins inside, the outer one is back after, and a field bound
    only inside is gone (also when the block raised)."""
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    def failing_block() -> None:
        with bound(store="ro", order_id="7"):
            structlog.get_logger("t").info("inner")
            raise RuntimeError

    with bound(store="us", platform="bigcommerce"):
        with pytest.raises(RuntimeError):
            failing_block()
        structlog.get_logger("t").info("outer")
    structlog.get_logger("t").info("after")
    inner, outer, after = (orjson.loads(line) for line in stream.getvalue().splitlines())
    assert (inner["store"], inner["platform"], inner["order_id"]) == ("ro", "bigcommerce", "7")
    assert (outer["store"], "order_id" in outer) == ("us", False)
    assert all(key not in after for key in ("store", "platform", "order_id"))


def test_human_lines_on_a_terminal() -> None:
    stream = _Terminal()
    configure_logging("INFO", stream=stream)
    structlog.get_logger("t").info("created", order_id="42")
    text = stream.getvalue()
    assert "created" in text
    assert "order_id=42" in text
    assert not text.lstrip().startswith("{")


def test_library_records_share_the_format_and_httpx_is_quiet_unless_debug() -> None:
    """Celery's and uvicorn's stdlib records become the same JSON lines; httpx's per-request INFO lines
    are dropped at INFO and kept at DEBUG."""
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    logging.getLogger("celery.worker").info("Connected to %s", "redis://x")
    logging.getLogger("httpx").info("HTTP Request: GET http://x 200 OK")
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert lines == [{"event": "Connected to redis://x", "logger": "celery.worker", "level": "info",
                      "timestamp": lines[0]["timestamp"]}]
    configure_logging("DEBUG", stream=stream)
    logging.getLogger("httpx").info("HTTP Request: GET http://x 200 OK")
    assert orjson.loads(stream.getvalue().splitlines()[-1])["logger"] == "httpx"


def test_celery_adds_no_handler_of_its_own() -> None:
    """In a worker, Celery's logging setup leaves the root logger to us: every line is JSON."""
    script = """
import logging
from workers.app import app
from workers.celerylog import use_our_logging
from connectors.logging import configure_logging
use_our_logging(lambda: configure_logging("INFO", json=True))
app.log.setup_logging_subsystem(loglevel="INFO")
logging.getLogger("celery.worker.consumer").info("celery line")
logging.getLogger("celery.redirected").warning("printed by a task")
assert len(logging.getLogger().handlers) == 1, logging.getLogger().handlers
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [orjson.loads(line) for line in done.stderr.splitlines()]
    assert [line["event"] for line in lines] == ["celery line", "printed by a task"]


def test_a_stream_that_feeds_logging_is_bypassed() -> None:
    """In a Celery worker sys.stderr is a LoggingProxy: our lines go to the real stderr instead of
    looping back into logging (where Celery's recursion guard would drop them)."""
    script = """
import logging, sys
import structlog
from celery.utils.log import LoggingProxy
from connectors.logging import configure_logging
configure_logging("INFO", json=True)
sys.stderr = LoggingProxy(logging.getLogger("celery.redirected"))
structlog.get_logger("t").info("from a task")
logging.getLogger("celery.worker").info("celery line")
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [orjson.loads(line)["event"] for line in done.stderr.splitlines()] == ["from a task", "celery line"]
