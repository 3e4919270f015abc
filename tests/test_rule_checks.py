"""Rules that need the database live once, in :mod:`onenet_tui.data.checks`:
the services and the console's live checks give the same answer for the same
input, and no screen (nor ``numbers list``) talks to the database itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import onenet_tui.cli_commands
import onenet_tui.screens
from onenet_tui.data import checks, credentials, groups, users
from onenet_tui.data.errors import FieldError, InvalidInput
from onenet_tui.data.models import CredentialMode
from onenet_tui.data.schemas import ConfigChange
from tests.helpers import World, add, add_active, new_user_data

SCREENS_DIR = Path(onenet_tui.screens.__file__).parent
DATABASE_PACKAGES = ("sqlalchemy", "sqlmodel")


def _database_use(tree: ast.AST) -> list[str]:
    """Imports of the database packages and any use of a store (``x.store.read()``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] in DATABASE_PACKAGES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in DATABASE_PACKAGES:
            found.append(node.module)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "store":
            found.append(f"line {node.lineno}: .store.{node.attr}")
    return found


def test_no_screen_holds_a_session_or_builds_sql() -> None:
    offenders = {
        path.name: used
        for path in sorted(SCREENS_DIR.glob("*.py"))
        if (used := _database_use(ast.parse(path.read_text("utf-8"))))
    }
    assert offenders == {}


def test_numbers_list_asks_a_service() -> None:
    source = Path(onenet_tui.cli_commands.__file__).read_text("utf-8")
    functions = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)]
    function = next(node for node in functions if node.name == "numbers_list")
    selects = [n.lineno for n in ast.walk(function) if isinstance(n, ast.Name) and n.id == "select"]
    assert (_database_use(function), selects) == ([], [])


def _refused(call, field: str) -> FieldError | None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as refused:
        call()
    return refused.value.for_field(field)


@pytest.mark.parametrize(
    "text",
    [
        "12",  # not a valid German number
        "030 99999999",  # valid, not in Berlin's pool
        "+44 20 7946 0001",  # London's pool
        "030 12345001",  # taken by the first user
    ],
)
def test_r16_the_live_check_says_what_adding_says(world: World, text: str) -> None:
    add(world, number="030 12345001")
    problem = users.number_problem(world.admin, "Berlin", text)
    assert problem is not None
    assert _refused(lambda: add(world, number=text, first_name="Eva"), "number") == problem


def test_r16_a_free_number_passes_and_a_user_keeps_their_own(world: World) -> None:
    first = add(world, number="030 12345001").user
    assert users.number_problem(world.admin, "Berlin", "030 12345002") is None
    assert users.number_problem(world.admin, "Berlin", "030 12345001", first.id) is None
    taken = users.number_problem(world.admin, "Berlin", "030 12345001")
    assert taken == FieldError("number", "r16.not_free", {"holder": first.username})


def test_r2_the_live_check_says_what_adding_and_editing_say(world: World) -> None:
    holder = add_active(world, number="030 12345001").user
    other = add_active(world, number="030 12345002", first_name="Eva").user
    problem = users.extension_problem(world.admin, "Berlin", " 5001 ")
    assert problem == FieldError("extension", "r2.taken", {"extension": "5001", "holder": holder.username})
    assert _refused(lambda: add(world, number="030 12345003", extension="5001", first_name="Udo"), "extension") == (
        problem
    )
    change = ConfigChange(extension="5001", expected_version=users.view(world.admin, other.username).version)
    assert _refused(lambda: users.change_configuration(world.admin, other.username, change), "extension") == problem
    # Their own extension is no clash, for the edit form as for the service.
    assert users.extension_problem(world.admin, "Berlin", "5001", holder.id) is None
    assert users.extension_problem(world.admin, "London", "5001") is None


def test_r19_the_live_check_says_what_adding_says(world: World) -> None:
    taken = add(world, number="030 12345001").user.username
    problem = users.username_problem(world.admin, taken)
    assert problem == FieldError("username", "r19.taken", {"username": taken})
    assert _refused(lambda: add(world, number="030 12345002", username=taken), "username") == problem
    assert users.username_problem(world.admin, "someone.else") is None


def test_r6_one_notice_for_a_supervisor_without_the_service(world: World) -> None:
    plain = add_active(world, number="030 12345001").user
    assert checks.supervisor_notice("supervisor", []) == checks.SUPERVISOR_WITHOUT_SERVICE
    assert checks.supervisor_notice("supervisor", ["supervisor"]) is None
    assert checks.supervisor_notice("agent", []) is None
    assert groups.add_member(world.admin, "BER Callcenter", plain.username, "supervisor") == [
        checks.SUPERVISOR_WITHOUT_SERVICE
    ]


def test_only_call_centers_have_roles_when_adding_and_when_joining(world: World) -> None:
    member = add(world, number="030 12345001").user
    joining = _refused(lambda: groups.add_member(world.admin, "BER Pickup", member.username, "agent"), "role")
    adding = _refused(
        lambda: users.add_user_from(
            world.admin,
            new_user_data(number="030 12345002", first_name="Eva", groups=[{"group": "BER Pickup", "role": "agent"}]),
        ),
        "role",
    )
    assert joining == adding == FieldError("role", "group.role_only_call_center", {"group": "BER Pickup"})


def test_r11_one_check_for_one_user_names_the_user_in_a_bulk_reset(world: World) -> None:
    user = add(world, number="030 12345001").user
    password = "Sommer5001xy"  # holds the extension
    alone = checks.password_errors(password, "493012345001", "5001")
    assert [e.key for e in alone] == ["r11.contains_extension"]
    assert checks.password_errors(password, "493012345001", "5001", user=user.username) == [
        FieldError("password", "r11.contains_extension", {"user": user.username})
    ]
    refused = _refused(
        lambda: credentials.bulk_reset(world.admin, [user.id], mode=CredentialMode.ADMIN, password=password),
        "password",
    )
    assert refused == FieldError("password", "r11.contains_extension", {"user": user.username})
