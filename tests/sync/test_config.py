"""ordersync.toml loading: valid files load; invalid ones list every problem with its path."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.config import ConfigError, load_config, parse_duration

GOOD = """
[settings]
database_url = "sqlite:///x.db"

[stores.ro]
platform = "merchantpro"
base_url = "https://www.shop.ro/"
credentials = { api_key = "${T_MP_KEY}", api_secret = "${T_MP_SECRET}" }
webhook_secret = "${T_MP_HOOK}"

[stores.us]
platform = "bigcommerce"
base_url = "https://api.bigcommerce.com/stores/abc"
credentials = { token = "${T_BC_TOKEN}" }
status_map.inbound.order = { "11" = "processing/paid" }
status_map.outbound.order = { "processing/unpaid" = "7" }

[[routes]]
source = "ro"
target = "us"
poll_interval = "2m"
lookback = "5m"
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"T_MP_KEY": "k", "T_MP_SECRET": "s3cr3t", "T_MP_HOOK": "h", "T_BC_TOKEN": "tok"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ORDERSYNC_DATABASE_URL", raising=False)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ordersync.toml"
    path.write_text(text)
    return path


class TestLoad:
    def test_good_file_loads_with_defaults(self, tmp_path: Path, env: None) -> None:
        """Durations parse, the route gets a name and all operations, secrets resolve from the environment."""
        config = load_config(write(tmp_path, GOOD))
        route = config.route("ro-to-us")
        assert route.poll_interval == 120
        assert route.lookback == 300
        assert route.operations == ["create", "status", "shipments", "cancel", "delete"]
        assert config.stores["ro"].credentials["api_secret"].get_secret_value() == "s3cr3t"
        assert config.stores["ro"].base_url == "https://www.shop.ro"
        assert "s3cr3t" not in repr(config)
        assert config.stores["us"].statuses().outbound_for("order", "processing", "unpaid", "unfulfilled") == "7"

    def test_environment_overrides_settings(self, tmp_path: Path, env: None, monkeypatch: pytest.MonkeyPatch) -> None:
        """ORDERSYNC_DATABASE_URL wins over the file's [settings]."""
        monkeypatch.setenv("ORDERSYNC_DATABASE_URL", "postgresql://db/x")
        assert load_config(write(tmp_path, GOOD)).settings.database_url == "postgresql://db/x"

    def test_every_problem_is_listed_with_its_path(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Missing variables, inline secrets, unknown stores, bad durations and bad status maps all show."""
        monkeypatch.delenv("T_MISSING", raising=False)
        text = """
[stores.a]
platform = "bigcommerce"
base_url = "ftp://nope"
credentials = { token = "plain-secret" }
status_map = { outbound = { order = { "processing/nonsense" = "7" } } }

[stores.b]
platform = "shopify"
base_url = "https://x"
credentials = { token = "${T_MISSING}" }

[[routes]]
source = "a"
target = "zzz"
poll_interval = "soon"
"""
        with pytest.raises(ConfigError) as caught:
            load_config(write(tmp_path, text))
        paths = {path for path, _ in caught.value.problems}
        message = str(caught.value)
        assert "stores.a.credentials.token" in paths
        assert "stores.b.credentials.token" in paths
        assert "T_MISSING is not set" in message
        assert "stores.a.base_url" in paths
        assert "stores.b.platform" in paths
        assert any(p.startswith("routes[0].poll_interval") or p == "routes.0.poll_interval" for p in paths), paths

    def test_unknown_store_in_route(self, tmp_path: Path, env: None) -> None:
        """A route naming an undefined store is refused, naming the store."""
        with pytest.raises(ConfigError, match="unknown store 'nowhere'"):
            load_config(write(tmp_path, GOOD.replace('target = "us"', 'target = "nowhere"')))

    def test_missing_file_and_bad_toml(self, tmp_path: Path) -> None:
        """Clear messages for a missing file and a syntax error."""
        with pytest.raises(ConfigError, match="file not found"):
            load_config(tmp_path / "nope.toml")
        with pytest.raises(ConfigError, match="not valid TOML"):
            load_config(write(tmp_path, "[stores\nx"))


@pytest.mark.parametrize(("text", "seconds"), [(90, 90.0), ("90s", 90.0), ("5m", 300.0), ("1h", 3600.0),
                                               ("500ms", 0.5), ("1d", 86400.0)])
def test_durations(text: object, seconds: float) -> None:
    """Durations in the units people write."""
    assert parse_duration(text) == seconds


def test_bad_duration() -> None:
    """Nonsense durations are refused with an example of the right form."""
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration("soon")
