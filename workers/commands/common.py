"""What every ``ordersync`` command shares: the consoles, ``--config``, usage errors, config loading."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from connectors.logging import configure_logging, wants_json
from sync.config import OrderSyncConfig, load_config
from sync.store import require_store as check_store

__all__ = ["ConfigOption", "UsageProblem", "err", "fail", "load", "log_level", "out", "setup_logging", "state"]

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

# Process-wide CLI flags set by the root callback (``--debug``, ``--log-format``, ``-q``, ``-v``).
state: dict[str, Any] = {"debug": False, "config": None, "log_format": "auto", "quiet": False, "verbose": False}


class UsageProblem(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="ordersync.toml to use (default: $ORDERSYNC_CONFIG or ./ordersync.toml).",
                 envvar="ORDERSYNC_CONFIG"),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one error line and leave with ``code``."""
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def log_level(configured: str, *, quiet_default: bool = False) -> str:
    """The level to log at: ``-v`` is DEBUG, ``-q`` WARNING, else the configured one (WARNING when
    ``quiet_default``, e.g. under a progress bar on a terminal, unless ``-v``)."""
    if state["verbose"]:
        return "DEBUG"
    if state["quiet"]:
        return "WARNING"
    if quiet_default and configured.upper() in ("DEBUG", "INFO"):
        return "WARNING"
    return configured


def setup_logging(configured: str = "INFO", *, quiet_default: bool = False) -> None:
    """Configure logging from the configured level and the root ``--log-format`` / ``-q`` / ``-v``."""
    configure_logging(log_level(configured, quiet_default=quiet_default), json=wants_json(state["log_format"]))


def load(path: Path | None, *, require_store: bool = True) -> OrderSyncConfig:
    """Load and validate ``ordersync.toml`` and configure logging from it.

    With ``require_store`` (every command but ``db upgrade``), refuse a missing or unmigrated state
    store with one line naming it, before anything reads or writes.
    """
    config = load_config(path)
    setup_logging(config.settings.log_level)
    if require_store:
        check_store(config.settings.database_url)
    return config
