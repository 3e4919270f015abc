"""Operators (SPEC section 7, R14): the first one on an empty tenant is admin,
later ones helpdesk, and a name is checked like a username (R19) when first
seen; ``carrier`` is reserved for the carrier. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from onenet_tui.data import operators
from onenet_tui.data.context import resolve_actor
from onenet_tui.data.errors import InvalidInput
from onenet_tui.data.models import Operator, Role
from onenet_tui.data.schemas import NewOperator, validate
from onenet_tui.data.storage import Store
from tests.helpers import World, call, cli_env


def registered(store: Store) -> dict[str, str]:
    with store.read() as session:
        return {o.name: o.role for o in session.execute(select(Operator)).scalars()}


def test_r14_first_operator_becomes_admin_later_ones_helpdesk(store: Store) -> None:
    assert resolve_actor(store, "anna").role is Role.ADMIN
    assert resolve_actor(store, "bert").role is Role.HELPDESK
    # Seen again: the same role, nothing registered twice.
    assert resolve_actor(store, "anna").role is Role.ADMIN
    assert registered(store) == {"anna": "admin", "bert": "helpdesk"}


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Bad Name", "r19.space"),
        ("jo", "r19.length"),
        ("anna@example", "r19.forbidden"),
        ("evil\x1b[31m", "operator.control"),
        ("line\u2028break", "operator.control"),
        ("right\u202eleft", "operator.control"),
        ("no\u00a0break", "r19.space"),
        ("carrier", "operator.reserved"),
        ("Carrier", "operator.reserved"),
    ],
)
def test_r19_operator_names_are_checked_like_usernames_when_first_seen(store: Store, name: str, key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        resolve_actor(store, name)
    assert [(e.field, e.key) for e in refused.value.errors] == [("operator", key)]
    assert registered(store) == {}


def test_r19_operators_add_refuses_bad_and_reserved_names(world: World) -> None:
    for name, key in (("carrier", "operator.reserved"), ("x\x07y.z", "operator.control"), ("a b c", "r19.space")):
        with pytest.raises(InvalidInput) as refused:
            operators.add_operator(world.admin, validate(NewOperator, {"name": name, "role": "admin"}))
        assert [(e.field, e.key) for e in refused.value.errors] == [("name", key)]
    assert registered(world.store) == {}


def test_r19_a_bad_operator_name_exits_4_naming_the_field(tmp_path: Path) -> None:
    env = cli_env(tmp_path, f"sqlite:///{tmp_path / 'onenet.db'}")
    for name in ("carrier", "two words"):
        done = call("--operator", name, "users", "list", env=env)
        assert done.code == 4 and "(operator)" in done.err, done.err
    added = call("operators", "add", "carrier", "--role", "admin", env=env)
    assert added.code == 4 and "(name)" in added.err and "carrier" in added.err, added.err
