"""The state store cannot be swapped by accident: a relative SQLite path belongs to the config file's
folder, and every command but `db upgrade` refuses a missing or unmigrated store in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sync.config import anchor_sqlite_path, load_config
from sync.store import SchemaOutdated, Store, StoreUnavailable, require_store

REPO = Path(__file__).resolve().parents[2]
CONFIG = '[stores.a]\nplatform = "bigcommerce"\nbase_url = "http://127.0.0.1:9/stores/x"\n'


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    environment = {k: v for k, v in os.environ.items() if k != "ORDERSYNC_DATABASE_URL"} | (env or {})
    return subprocess.run([sys.executable, "-c", "from workers.cli import main; main()", *args], cwd=cwd,
                          capture_output=True, timeout=60, env=environment | {"PYTHONPATH": str(REPO)})


def test_a_relative_sqlite_path_is_relative_to_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDERSYNC_DATABASE_URL", raising=False)
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "ordersync.toml").write_text('[settings]\ndatabase_url = "sqlite:///state/x.db"\n' + CONFIG)
    monkeypatch.chdir(tmp_path)
    config = load_config(folder / "ordersync.toml")
    assert config.settings.database_url == f"sqlite:///{folder / 'state' / 'x.db'}"
    (folder / "default.toml").write_text(CONFIG)
    assert load_config(folder / "default.toml").settings.database_url == f"sqlite:///{folder / 'ordersync.db'}"


@pytest.mark.parametrize(("url", "kept"), [
    ("sqlite:////abs/x.db", True), ("sqlite://", True), ("sqlite:///:memory:", True),
    ("postgresql://u@h/db", True), ("sqlite:///rel.db?timeout=5", False),
])
def test_anchor_sqlite_path_only_moves_relative_files(url: str, kept: bool) -> None:
    anchored = anchor_sqlite_path(url, Path("/etc/ordersync"))
    assert (anchored == url) is kept
    if not kept:
        assert anchored == "sqlite:////etc/ordersync/rel.db?timeout=5"


def test_the_database_url_from_the_environment_is_left_as_given(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERSYNC_DATABASE_URL", "sqlite:///here.db")
    (tmp_path / "o.toml").write_text(CONFIG)
    assert load_config(tmp_path / "o.toml").settings.database_url == "sqlite:///here.db"


def test_a_missing_sqlite_store_is_refused_and_not_created(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match=r"state store sqlite:///.*nope\.db does not exist.*db upgrade"):
        require_store(f"sqlite:///{tmp_path / 'nope.db'}")
    assert not (tmp_path / "nope.db").exists()


def test_an_unmigrated_or_outdated_store_is_refused(tmp_path: Path, pg_url: str) -> None:
    path = tmp_path / "empty.db"
    create_engine(f"sqlite:///{path}").connect().close()
    with pytest.raises(SchemaOutdated, match=r"empty\.db is at revision none, expected \w+: run `ordersync db"):
        require_store(f"sqlite:///{path}")
    with pytest.raises(SchemaOutdated, match="at revision none"):
        require_store(pg_url)
    store = Store(pg_url, auto_migrate=True)
    try:
        require_store(pg_url)  # migrated: accepted
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        if store.head() != "0001":
            with pytest.raises(SchemaOutdated, match="at revision 0001"):
                require_store(pg_url)
    finally:
        store.dispose()


def test_an_unreachable_database_is_one_line_naming_it_without_its_password() -> None:
    url = "postgresql://ordersync:s3cret@127.0.0.1:9/ordersync"
    with pytest.raises(StoreUnavailable) as caught:
        require_store(url)
    message = str(caught.value)
    assert "127.0.0.1:9/ordersync" in message
    assert "s3cret" not in message


def test_commands_refuse_a_missing_store_except_db_upgrade_and_cron_finds_the_same_store(tmp_path: Path) -> None:
    """From another directory (cron), `status` refuses until `db upgrade` created the store beside the
    config; then both agree on where it is."""
    folder = tmp_path / "conf"
    folder.mkdir()
    config = folder / "ordersync.toml"
    config.write_text('[settings]\ndatabase_url = "sqlite:///ordersync.db"\n' + CONFIG)
    elsewhere = tmp_path / "cron"
    elsewhere.mkdir()
    for command in (["status"], ["sync"], ["replay", "--all"], ["adopt"]):
        done = _run(*command, "-c", str(config), cwd=elsewhere)
        assert done.returncode == 1, (command, done.stderr)
        lines = done.stderr.decode().strip().splitlines()
        assert len(lines) == 1, lines
        assert f"{folder / 'ordersync.db'} does not exist" in lines[0]
    assert not (folder / "ordersync.db").exists()
    assert not (elsewhere / "ordersync.db").exists()
    assert _run("db", "upgrade", "-c", str(config), cwd=elsewhere).returncode == 0
    assert (folder / "ordersync.db").is_file()
    assert not (elsewhere / "ordersync.db").exists()
    done = _run("status", "-c", str(config), cwd=elsewhere)
    assert done.returncode == 0, done.stderr
