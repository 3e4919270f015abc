"""Storage: file permissions, WAL, migrations, no plaintext secrets at rest,
and the domain layer's independence from Textual."""

from __future__ import annotations

import ast
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel

import onenet_tui.data
from onenet_tui.data import accounts, catalogs, credentials
from onenet_tui.data.migrations.config import alembic_config, include_object
from onenet_tui.data.models import CredentialMode, DeskPhoneModel
from onenet_tui.data.storage import HEAD_REVISION, Store, current_revision, upgrade_schema
from tests.helpers import add, build_world, open_at_once

DATA_DIR = Path(onenet_tui.data.__file__).parent


def test_data_layer_never_imports_textual() -> None:
    offenders = []
    for path in DATA_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("textual", "rich")]
    assert offenders == []
    # And at run time: importing every data module pulls in no Textual.
    modules = [f"onenet_tui.data.{p.stem}" for p in DATA_DIR.glob("*.py") if p.stem != "__init__"]
    probe = "import sys, importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    probe += "assert not [m for m in sys.modules if m.split('.')[0] == 'textual'], 'textual imported'\n"
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_sqlite_database_is_private_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "onenet.db"
    store = Store(f"sqlite:///{path}")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with store.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    store.dispose()


def test_a_sqlite_uri_filename_opens_that_file_and_creates_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sqlite:///file:PATH?mode=ro&uri=true`` reads PATH: no directory
    named "file:" made under the working directory, no empty database made
    for a read-only one that is missing."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "data" / "ro.db"
    Store(f"sqlite:///{path}").dispose()
    read_only = Store(f"sqlite:///file:{path}?mode=ro&uri=true", upgrade=False)
    with read_only.read() as session:
        assert session.execute(text("select count(*) from sites")).scalar_one() == 0
    read_only.dispose()
    missing = tmp_path / "missing.db"
    with pytest.raises(OperationalError):
        Store(f"sqlite:///file:{missing}?mode=ro&uri=true", upgrade=False).engine.connect()
    assert not missing.exists() and not (tmp_path / "file:").exists()


def test_schema_is_at_head_and_catalogs_are_loaded(store: Store) -> None:
    assert current_revision(store.engine) == HEAD_REVISION
    with store.read() as session:
        codes = {m.code for m in session.execute(text("SELECT code FROM catalog_desk_phones"))}
    assert codes == catalogs.desk_phone_codes()


def test_head_revision_constant_matches_alembic() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


def test_migrations_match_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        opts = {"compare_type": False, "include_object": include_object}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), SQLModel.metadata)
    assert diff == []


def test_migration_from_baseline_keeps_data(db_url: str) -> None:
    old = Store(db_url, upgrade=False)
    upgrade_schema(old.engine, "0001_baseline")
    assert current_revision(old.engine) == "0001_baseline"
    with old.engine.begin() as conn:
        conn.execute(text("INSERT INTO sites (id, name, country, sip_domain) VALUES (1, 'Berlin', 'DE', 'b.example')"))
        conn.execute(
            text("INSERT INTO phone_numbers (id, e164, site_id, flagged) VALUES (1, '+493012345001', 1, false)")
        )
        conn.execute(
            text(
                "INSERT INTO users (id, first_name, last_name, username, site_id, number_id, extension, device_type,"
                " licence, services, email, do_not_disturb, call_waiting, status, created_at, status_changed_at,"
                " portal_locked, failed_logins, version)"
                " VALUES (1, 'Jürgen', 'Müller', 'juergen.mueller', 1, 1, '5001', 'none', 'standard',"
                " '[\"voicemail\"]', 'j@example.com', false, true, 'activated', '2026-01-01', '2026-01-01',"
                " false, 0, 3)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO audit_events (id, at, operator, action, target, details)"
                " VALUES (1, '2026-01-01', 'alice', 'user.add', 'juergen.mueller', '{}')"
            )
        )
    old.dispose()
    store = Store(db_url)
    assert current_revision(store.engine) == HEAD_REVISION
    from onenet_tui.data import users
    from onenet_tui.data.context import Actor, Context
    from onenet_tui.data.models import Role

    view = users.view(Context(store, Actor("alice", Role.ADMIN)), "juergen.mueller")
    assert (view.first_name, view.services, view.version, view.status) == ("Jürgen", ["voicemail"], 3, "activated")
    assert "ix_users_name" in {i["name"] for i in inspect(store.engine).get_indexes("users")}
    store.dispose()


@pytest.mark.parametrize("start", ["empty", "0001_baseline"])
def test_many_processes_open_one_postgresql_database_at_once(pg_url: str, tmp_path: Path, start: str) -> None:
    if start != "empty":
        old = Store(pg_url, upgrade=False)
        upgrade_schema(old.engine, start)
        old.dispose()
    outcomes = open_at_once(tmp_path, pg_url, processes=4)
    assert all(code == 0 for code, _ in outcomes), outcomes
    store = Store(pg_url, upgrade=False)
    assert current_revision(store.engine) == HEAD_REVISION
    store.dispose()


def test_no_password_or_code_in_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "onenet.db"
    store = Store(f"sqlite:///{path}")
    world = build_world(store)
    secrets_seen = []
    first = add(world)
    assert first.credentials is not None
    secrets_seen.append(first.credentials.password)
    secrets_seen.append(credentials.regenerate(world.admin, first.user.username).password)
    second = add(world, number="030 12345002", first_name="Eva")
    assert second.credentials is not None
    secrets_seen.append(second.credentials.password)
    bulk = credentials.bulk_reset(world.admin, [first.user.id, second.user.id])
    secrets_seen += [c.password for c in bulk.issued]
    chosen = credentials.bulk_reset(world.admin, [second.user.id], mode=CredentialMode.ADMIN, password="Kennwort2026q")
    secrets_seen += [c.password for c in chosen.issued]
    secrets_seen.append(
        accounts.reset_account(world.admin, first.user.username, self_service_tried=True).activation_code
    )
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("onenet.db"))
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    raw += path.read_bytes()
    assert len(secrets_seen) == 7
    for secret in secrets_seen:
        assert secret.encode() not in raw
    # The digests are there, so the scan looked at real data.
    with store.read() as session:
        digest = session.execute(text("SELECT ha1_md5 FROM desk_phone_credentials LIMIT 1")).scalar_one()
    assert digest.encode() in raw
    store.dispose()


def test_catalog_rows_are_reloaded_without_duplicates(store: Store) -> None:
    upgrade_schema(store.engine, "head")
    with store.read() as session:
        count = len(session.execute(text("SELECT * FROM catalog_desk_phones")).all())
    assert count == len(catalogs.shipped("desk_phones"))
    assert DeskPhoneModel.__tablename__ == "catalog_desk_phones"
