"""Shared fixtures: a store on SQLite and, when ``ONENET_TEST_PG_URL`` is set,
the same on PostgreSQL; the small tenant of tests/helpers.py on it; a demo
database for the command line tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from onenet_tui.data.storage import Store
from onenet_tui.i18n import set_language
from tests.helpers import World, build_people, build_world, cli_env, run_cli

PG_URL = os.environ.get("ONENET_TEST_PG_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_reachable() -> str | None:
    """None when the server answers, else why not."""
    if not PG_URL:
        return "ONENET_TEST_PG_URL is not set"
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL at ONENET_TEST_PG_URL is not reachable: {exc}"
    return None


_PG_PROBLEM = _pg_reachable()


def require_postgres() -> str:
    """The PostgreSQL URL, or skip; in CI a missing server is a failure."""
    if _PG_PROBLEM:
        if IN_CI:
            pytest.fail(f"CI needs PostgreSQL: {_PG_PROBLEM}")
        pytest.skip(_PG_PROBLEM)
    assert PG_URL
    return PG_URL


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL to a fresh, empty PostgreSQL schema of this test's own."""
    base = require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Service tests run on SQLite and PostgreSQL; screen tests (marked
    ``sqlite_only``: the console does not depend on the backend) on SQLite."""
    if "db_url" in metafunc.fixturenames and not metafunc.definition.get_closest_marker("sqlite_only"):
        metafunc.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if getattr(request, "param", "sqlite") == "sqlite":
        return f"sqlite:///{tmp_path / 'onenet.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    yield store
    store.dispose()


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    set_language("en")
    yield
    set_language("en")


@pytest.fixture(autouse=True)
def utf8_local_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Consoles in tests draw for a local UTF-8 terminal whatever the locale
    or SSH session the tests run in (tests of the other cases say so)."""
    monkeypatch.setenv("ONENET_ASCII", "0")
    monkeypatch.setenv("ONENET_SSH", "0")


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


@pytest.fixture
def people(world: World) -> list[str]:
    """The fixed tenant of the directory tests; their usernames."""
    return build_people(world)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo tenant (20 users) per module, built by the real command."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "demo.db"
    done = run_cli("demo", "--users", "20", "--seed", "7", env=cli_env(folder, f"sqlite:///{path}"))
    assert done.code == 0, done.err
    assert "Berlin" in done.out and "onenet-tui --db" in done.out
    return path
