"""Settings: flags over environment over config file over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from cargohold.config import async_database_url, load_settings
from cargohold.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LISTEN", "DATA_DIR", "DATABASE_URL", "WORKERS", "CONFIG"):
        monkeypatch.delenv(f"CARGOHOLD_{name}", raising=False)


def test_defaults_are_the_embedded_registry() -> None:
    settings = load_settings()
    assert settings.listen == "127.0.0.1:5000"
    assert (settings.host, settings.port) == ("127.0.0.1", 5000)
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.effective_database_url.endswith("cargohold-data/cargohold.db")


def test_flags_beat_environment_beat_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "cargohold.yaml"
    config.write_text("listen: 0.0.0.0:6000\ndata-dir: /srv/from-file\nworkers: 3\n")
    monkeypatch.setenv("CARGOHOLD_DATA_DIR", "/srv/from-env")
    monkeypatch.setenv("CARGOHOLD_WORKERS", "2")
    settings = load_settings(config, workers=4)
    assert settings.listen == "0.0.0.0:6000"
    assert settings.data_dir == Path("/srv/from-env")
    assert settings.workers == 4


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("database_url: postgresql://registry@db.internal/cargohold\n")
    monkeypatch.setenv("CARGOHOLD_CONFIG", str(config))
    settings = load_settings()
    assert settings.effective_database_url == (
        "postgresql+asyncpg://registry@db.internal/cargohold"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- a list\n", "mapping"),
        ("listen: nowhere\n", "HOST:PORT"),
        ("unknown_setting: 1\n", "unknown_setting"),
        ("workers: 0\n", "workers"),
    ],
)
def test_a_bad_config_file_is_a_clear_error(tmp_path: Path, text: str, problem: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=problem):
        load_settings(config)


def test_unsupported_database_url() -> None:
    with pytest.raises(ConfigError, match="mysql"):
        async_database_url("mysql://x/y")
