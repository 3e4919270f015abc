"""What an installed wheel carries (no checkout beside it): the Kamailio
configuration ``registrar kamailio-config`` fills in (SPEC section 13, R24)
is package data, and ``deploy/kamailio/kamailio.cfg`` is that same file."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from onenet_tui.data import registrar
from tests.helpers import cli_env

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = ROOT / "onenet_tui" / "data" / registrar.CONFIG_FILE
DEPLOY = ROOT / "deploy" / "kamailio" / "kamailio.cfg"
PG = "postgresql+psycopg://postgres@db.example.net:5433/tenant"


def test_r24_the_kamailio_config_is_one_file_read_as_package_data() -> None:
    assert DEPLOY.is_symlink() and DEPLOY.resolve() == PACKAGED.resolve()
    assert registrar.shipped_config() == PACKAGED.read_text(encoding="utf-8")
    assert registrar.shipped_config().startswith("#!KAMAILIO")


def _pip(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_r24_an_installed_wheel_prints_the_kamailio_config_away_from_the_checkout(tmp_path: Path) -> None:
    # Built from a copy: the checkout gets no build/ or egg-info from the test.
    source = tmp_path / "src"
    shutil.copytree(ROOT / "onenet_tui", source / "onenet_tui", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = _pip("wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(source), cwd=tmp_path)
    if built.returncode and "setuptools" in built.stderr and "No matching distribution" in built.stderr:
        pytest.skip("pip could not fetch the build backend (no package index here)")
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("onenet_tui-*.whl")
    with zipfile.ZipFile(wheel) as contents:
        assert contents.read("onenet_tui/data/kamailio.cfg").decode() == PACKAGED.read_text(encoding="utf-8")
    site = tmp_path / "site"
    installed = _pip("install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheel), cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr

    # The installed copy, not the checkout's (the test run's PYTHONPATH points there).
    env = cli_env(tmp_path, PG) | {"PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import onenet_tui.data.registrar as r; print(r.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout + where.stderr
    done = subprocess.run(
        [sys.executable, "-m", "onenet_tui", "registrar", "kamailio-config", "--listen", "127.0.0.1:5999"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("#!KAMAILIO")
    assert '#!define ONENET_DB_URL "postgres://onenet_registrar@db.example.net:5433/tenant"' in done.stdout
