"""What every ``ordersync`` command shares: the consoles, ``--config``, usage errors, config loading."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from connectors.logging import configure_logging
from sync.config import OrderSyncConfig, load_config
from sync.store import require_store as check_store

__all__ = ["ConfigOption", "UsageProblem", "err", "fail", "load", "out", "state"]

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

# Process-wide CLI flags set by the root callback (``--debug``).
state: dict[str, Any] = {"debug": False, "config": None}


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


def load(path: Path | None, *, require_store: bool = True) -> OrderSyncConfig:
    """Load and validate ``ordersync.toml`` and configure logging from it.

    With ``require_store`` (every command but ``db upgrade``), refuse a missing or unmigrated state
    store with one line naming it, before anything reads or writes.
    """
    config = load_config(path)
    configure_logging(config.settings.log_level)
    if require_store:
        check_store(config.settings.database_url)
    return config
