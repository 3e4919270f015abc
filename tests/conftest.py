"""Shared fixtures: a store on SQLite and, when ``ONENET_TEST_PG_URL`` is set,
the same on PostgreSQL; a small tenant; operators of each role."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from onenet_tui.data.context import Actor, Context, carrier_context
from onenet_tui.data.models import GroupKind, Role
from onenet_tui.data.storage import Store
from onenet_tui.data.tenant import create_group, create_site, create_tenant
from onenet_tui.i18n import set_language

PG_URL = os.environ.get("ONENET_TEST_PG_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

BERLIN_NUMBERS = [f"+4930123450{n:02d}" for n in range(40)]
LONDON_NUMBERS = [f"+4420794600{n:02d}" for n in range(20)]
FLAGGED = {"+493012345039": "porting not finished"}
DE_MOBILE = "+4915123456789"
GB_MOBILE = "+447400123456"


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


@dataclass
class World:
    store: Store
    admin: Context
    helpdesk: Context
    carrier: Context


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


def build_world(store: Store) -> World:
    """Two sites (Berlin DE, London GB) with number pools and all four kinds of group."""
    with store.transaction() as session:
        create_tenant(session, "Test tenant")
        berlin = create_site(session, "Berlin", "DE", "berlin.sip.example.net", BERLIN_NUMBERS, FLAGGED)
        london = create_site(session, "London", "GB", "london.sip.example.net", LONDON_NUMBERS)
        for site, prefix in ((berlin, "BER"), (london, "LON")):
            create_group(session, site, f"{prefix} Hunt", GroupKind.HUNT_GROUP)
            create_group(session, site, f"{prefix} Callcenter", GroupKind.CALL_CENTER)
            create_group(session, site, f"{prefix} Pickup", GroupKind.PICKUP)
            create_group(session, site, f"{prefix} Park", GroupKind.CALL_PARK)
    return World(
        store,
        Context(store, Actor("alice", Role.ADMIN)),
        Context(store, Actor("hugo", Role.HELPDESK)),
        carrier_context(store),
    )


def new_user_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "first_name": "Jürgen",
        "last_name": "Müller",
        "email": "juergen.mueller@example.com",
        "site": "Berlin",
        "number": "030 12345001",
        "device_type": "desk_phone",
        "desk_phone_model": "yealink-t54w",
    }
    data.update(overrides)
    return data
