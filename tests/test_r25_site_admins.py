"""R25 site administrators (SPEC section 14): a site administrator of Berlin
sees and changes only Berlin's users, numbers and groups, never manages
operators or sites, and every refusal names R25. The services on SQLite and
PostgreSQL through every changing command, then the command line through the
real commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from textual.pilot import Pilot
from textual.widgets import Select

from onenet_tui.data import (
    accounts,
    bulk,
    carrier,
    credentials,
    demo,
    exports,
    groups,
    handover,
    import_users,
    listing,
    lookup,
    memberships,
    numbers,
    operators,
    policy,
    selection,
    simulator,
    sites,
    user_csv,
    users,
)
from onenet_tui.data import directory as model
from onenet_tui.data.context import Context, current_actor, resolve_actor
from onenet_tui.data.errors import InvalidInput, NotFound, RuleRefused
from onenet_tui.data.models import AuditEvent, DeskPhoneCredential, Role, Site
from onenet_tui.data.policy import Action
from onenet_tui.data.schemas import CallServicesChange, ConfigChange, NewOperator, ProfileChange
from onenet_tui.data.storage import Store
from onenet_tui.screens.add_user import AddUserWizard
from onenet_tui.screens.export_users import ExportUsersScreen
from onenet_tui.screens.first_run import first_steps
from onenet_tui.screens.import_users import ImportPathScreen, ImportPreviewScreen
from onenet_tui.screens.sites import SitesScreen
from tests.helpers import (
    SIZE,
    Result,
    World,
    call,
    cli_env,
    confirm_reset,
    header,
    import_file,
    lines,
    make_app,
    new_user_data,
    notifications,
    preview_loaded,
    ready,
    settle,
    text_of,
    type_text,
    until,
)

BERLIN_PEOPLE = {"juergen.mueller", "anna.schmidt", "fatma.yilmaz", "hanspeter.weiss", "lukasz.nowak"}
LONDON_PEOPLE = {"oliver.smith", "zoe.lefevre", "grace.jones"}


def site_admin(world: World, name: str = "sabine", site_names: tuple[str, ...] = ("Berlin",)) -> Context:
    operators.add_operator(world.admin, NewOperator(name=name, role="site_admin", sites=site_names))
    return Context(world.store, resolve_actor(world.store, name))


@pytest.fixture
def sabine(world: World, people: list[str]) -> Context:
    assert set(people) == BERLIN_PEOPLE | LONDON_PEOPLE
    return site_admin(world)


def audit_count(store: Store) -> int:
    with store.read() as session:
        return session.scalars(select(func.count()).select_from(AuditEvent)).one()


def version_of(ctx: Context, username: str) -> int:
    return users.view(ctx, username).version


def refused_r25(action: Callable[[], object]) -> RuleRefused:
    with pytest.raises(RuleRefused) as caught:
        action()
    assert caught.value.rule == "R25", caught.value.message()
    return caught.value


# --- the policy table ---------------------------------------------------------------


def test_r25_policy_table_has_the_scope_dimension() -> None:
    berlin = frozenset({1})
    for action in (Action.ADD_OPERATOR, Action.MANAGE_SITES, Action.START_CARRIER_SIMULATOR, Action.MANAGE_REGISTRAR):
        decision = policy.decide(action, Role.SITE_ADMIN)
        assert (decision.allowed, decision.rule, decision.reason_key) == (False, "R25", "site_admin.enterprise_only")
        assert policy.decide(action, Role.ADMIN).allowed
    # The carrier's own pass stays the carrier's (R3), for every person.
    assert policy.decide(Action.SIMULATE_CARRIER, Role.SITE_ADMIN).rule == "R3"
    enterprise = {
        Action.ADD_OPERATOR,
        Action.MANAGE_SITES,
        Action.START_CARRIER_SIMULATOR,
        Action.SIMULATE_CARRIER,
        Action.MANAGE_REGISTRAR,
    }
    for action in policy.CHANGES - enterprise:
        outside = policy.decide(action, Role.SITE_ADMIN, sites=berlin, site_id=2)
        assert (outside.allowed, outside.rule) == (False, "R25"), action
        assert policy.decide(action, Role.SITE_ADMIN, sites=berlin, site_id=1).allowed, action
    # The scope comes before any status rule: nothing is told about the other site's user.
    assert policy.decide(Action.DELETE_USER, Role.SITE_ADMIN, "pending", sites=berlin, site_id=2).rule == "R25"
    assert policy.decide(Action.DELETE_USER, Role.SITE_ADMIN, "pending", sites=berlin, site_id=1).rule == "R5"
    # Helpdesk still hears R14, never R25.
    assert policy.decide(Action.DELETE_USER, Role.HELPDESK, sites=berlin, site_id=2).rule == "R14"


# --- operators and their sites ------------------------------------------------------


def test_r25_operators_add_binds_a_site_admin_to_sites(world: World) -> None:
    with pytest.raises(InvalidInput) as none:
        operators.add_operator(world.admin, NewOperator(name="sabine", role="site_admin"))
    assert none.value.for_field("sites") is not None
    with pytest.raises(InvalidInput) as extra:
        operators.add_operator(world.admin, NewOperator(name="hugo", role="helpdesk", sites=("Berlin",)))
    assert extra.value.for_field("sites") is not None
    with pytest.raises(NotFound):
        operators.add_operator(world.admin, NewOperator(name="sabine", role="site_admin", sites=("Hamburg",)))
    added = operators.add_operator(
        world.admin, NewOperator(name="sabine", role="site_admin", sites=("London", "Berlin"))
    )
    assert added.sites == ("Berlin", "London")
    actor = resolve_actor(world.store, "sabine")
    assert actor.role is Role.SITE_ADMIN and actor.site_names == ("Berlin", "London") and actor.sites is not None
    assert len(actor.sites) == 2
    changed = operators.set_sites(world.admin, "sabine", ["London"])
    assert changed.sites == ("London",)
    assert current_actor(world.store, actor).site_names == ("London",)
    listed = {o.name: o.sites for o in operators.list_operators(world.admin)}
    assert listed["sabine"] == ("London",)
    # Made an enterprise admin again, she is bound to no site (every site).
    operators.add_operator(world.admin, NewOperator(name="sabine", role="admin"))
    assert resolve_actor(world.store, "sabine").sites is None
    with pytest.raises(InvalidInput):
        operators.set_sites(world.admin, "sabine", ["Berlin"])
    with pytest.raises(NotFound):
        operators.set_sites(world.admin, "nobody", ["Berlin"])
    with world.store.read() as session:
        actions = list(session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())
    assert actions[-3:] == ["operator.add", "operator.set_sites", "operator.add"]


def test_r25_a_site_admin_manages_neither_operators_nor_sites(world: World, sabine: Context) -> None:
    before = audit_count(world.store)
    refused_r25(lambda: operators.add_operator(sabine, NewOperator(name="eve", role="admin")))
    refused_r25(lambda: operators.add_operator(sabine, NewOperator(name="eve", role="site_admin", sites=("London",))))
    refused_r25(lambda: operators.set_sites(sabine, "sabine", ["Berlin", "London"]))
    refused_r25(lambda: sites.add_site(sabine, "Hamburg", "DE", "hamburg.sip.example.net"))
    refused_r25(lambda: sites.rename_site(sabine, "Berlin", "Berlin Mitte"))
    refused_r25(lambda: sites.delete_site(sabine, "Berlin"))
    refused_r25(lambda: simulator.start(sabine))
    refused_r25(lambda: demo.build(sabine, users=5, force=True))
    assert audit_count(world.store) == before


def test_r25_deleting_a_site_unbinds_its_site_admins(world: World) -> None:
    sites.add_site(world.admin, "Hamburg", "DE", "hamburg.sip.example.net")
    sabine = site_admin(world, site_names=("Berlin", "Hamburg"))
    sites.delete_site(world.admin, "Hamburg")
    assert current_actor(world.store, sabine.actor).site_names == ("Berlin",)


# --- what a site admin sees ---------------------------------------------------------


def test_r25_a_site_admin_sees_only_their_sites(world: World, sabine: Context) -> None:
    scope = sabine.actor.sites
    data = model.load(world.store, scope)
    directory = model.Directory(data)
    assert directory.total == 5
    assert set(data.sites) == {"Berlin"}
    counts = directory.counts()
    assert counts is not None and sum(counts.values()) == 5
    first = model.load_first_page(world.store, sites=scope)
    assert len(first) == 5 and first.complete
    with world.store.read() as session:
        assert {u["username"] for u in listing.user_dicts(session, sites=scope)} == BERLIN_PEOPLE
        assert len(list(listing.user_json(session, sites=scope))) == 5
        assert len(list(listing.user_json(session, sites=frozenset()))) == 0
        assert {u["username"] for u in listing.user_dicts(session)} == BERLIN_PEOPLE | LONDON_PEOPLE
        assert len(selection.choose(session, everyone=True, sites=scope)) == 5
        assert len(selection.choose(session, status="activated", sites=scope)) == 2
    assert users.site_names(sabine) == ["Berlin"]
    assert [s.name for s in sites.list_sites(sabine)] == ["Berlin"]
    assert {g.site for g in groups.list_groups(sabine)} == {"Berlin"}
    assert {g.site for g in groups.group_summaries(sabine)} == {"Berlin"}
    assert {n.site for n in listing.number_rows(sabine)} == {"Berlin"}
    assert {u["username"] for u in user_csv.export_users(sabine)} == BERLIN_PEOPLE
    assert {u["username"] for u in user_csv.export_users(sabine, text="o")} <= BERLIN_PEOPLE
    assert first_steps(sabine).sites == 1
    assert users.view(sabine, "juergen.mueller").site == "Berlin"


def test_r25_another_sites_user_is_refused_like_no_user(world: World, sabine: Context) -> None:
    london = refused_r25(lambda: users.view(sabine, "oliver.smith"))
    nobody = refused_r25(lambda: users.view(sabine, "no.body"))
    # The same words for both: whether oliver.smith exists elsewhere is not told.
    assert london.message().replace("oliver.smith", "X") == nobody.message().replace("no.body", "X")
    assert "R25" in london.message() and "your sites" in london.message()
    oliver = users.view(world.admin, "oliver.smith")
    refused_r25(lambda: users.view_by_id(sabine, oliver.id))
    refused_r25(lambda: users.view(sabine, "+442079460001"))
    refused_r25(lambda: users.view(sabine, "0001@London"))
    refused_r25(lambda: users.site_pool(sabine, "London"))
    refused_r25(lambda: listing.number_rows(sabine, site="London"))
    refused_r25(lambda: groups.list_groups(sabine, site="London"))
    refused_r25(lambda: groups.group_detail(sabine, "LON Hunt"))
    london_hunt = groups.group_detail(world.admin, "LON Hunt").id
    refused_r25(lambda: groups.group_detail_by_id(sabine, london_hunt, "LON Hunt"))
    refused_r25(lambda: groups.candidates(sabine, "LON Pickup"))
    refused_r25(lambda: numbers.number_page(sabine, "London"))
    refused_r25(lambda: user_csv.export_users(sabine, site="London"))
    with world.store.read() as session:
        refused_r25(lambda: selection.choose(session, ["juergen.mueller", "oliver.smith"], sites=sabine.actor.sites))
        refused_r25(lambda: selection.choose(session, site="London", sites=sabine.actor.sites))


# --- every changing command, outside and inside their sites --------------------------


def _outside(world: World, ctx: Context) -> dict[str, Callable[[], object]]:
    admin = world.admin
    oliver = lambda: version_of(admin, "oliver.smith")  # noqa: E731 - read when the command runs
    return {
        "users add": lambda: users.add_user_from(ctx, new_user_data(site="London", number="020 7946 0010")),
        "configuration": lambda: users.change_configuration(
            ctx, "oliver.smith", ConfigChange(expected_version=oliver(), first_name="Olli")
        ),
        "profile": lambda: users.edit_profile(
            ctx, "oliver.smith", ProfileChange(expected_version=oliver(), department="X")
        ),
        "call services": lambda: users.edit_call_services(
            ctx, "grace.jones", CallServicesChange(expected_version=version_of(admin, "grace.jones"), forward_busy="")
        ),
        "delete preview": lambda: users.deletion_preview(ctx, "oliver.smith"),
        "delete": lambda: users.delete_user(ctx, "oliver.smith"),
        "regenerate": lambda: credentials.regenerate(ctx, "grace.jones"),
        "account reset": lambda: accounts.reset_account(ctx, "grace.jones", self_service_tried=True),
        "carrier activate": lambda: carrier.set_status(ctx, "zoe.lefevre", "activated"),
        "carrier fail": lambda: carrier.set_status(ctx, "zoe.lefevre", "failed", "porting"),
        "add member": lambda: groups.add_member(ctx, "LON Pickup", "oliver.smith"),
        "add member, group elsewhere": lambda: groups.add_member(ctx, "LON Pickup", "juergen.mueller"),
        "add member, user elsewhere": lambda: groups.add_member(ctx, "BER Pickup", "oliver.smith"),
        "remove member": lambda: groups.remove_member(ctx, "LON Pickup", "oliver.smith"),
        "set members": lambda: memberships.set_group_members(ctx, "LON Pickup", [("oliver.smith", None)]),
        "set members, user elsewhere": lambda: memberships.set_group_members(
            ctx, "BER Pickup", [("juergen.mueller", None), ("oliver.smith", None)]
        ),
        "set user groups": lambda: memberships.set_user_groups(ctx, "oliver.smith", {"LON Pickup": None}),
        "groups add": lambda: groups.add_group(ctx, "London", "pickup", "Neu"),
        "groups rename": lambda: groups.rename_group(ctx, "LON Hunt", "LON Zentrale"),
        "groups delete": lambda: groups.delete_group(ctx, "LON Park"),
        "numbers add": lambda: numbers.add_numbers(ctx, "London", ["020 7946 0090"]),
        "numbers remove": lambda: numbers.remove_numbers(ctx, ["+442079460019"]),
        "numbers remove, site named": lambda: numbers.remove_numbers(ctx, ["020 7946 0019"], site="London"),
        "numbers flag": lambda: numbers.flag_number(ctx, "+442079460018", "porting"),
        "numbers unflag": lambda: numbers.unflag_number(ctx, "+442079460018"),
        "bulk reset": lambda: credentials.bulk_reset(ctx, _ids(admin, "juergen.mueller", "grace.jones")),
        "bulk preview": lambda: bulk.preview(ctx, _ids(admin, "grace.jones")),
    }


def _ids(ctx: Context, *names: str) -> list[int]:
    return [users.view(ctx, name).id for name in names]


COMMANDS = [
    "users add", "configuration", "profile", "call services", "delete preview", "delete", "regenerate",
    "account reset", "carrier activate", "carrier fail", "add member", "add member, group elsewhere",
    "add member, user elsewhere", "remove member", "set members", "set members, user elsewhere",
    "set user groups", "groups add", "groups rename", "groups delete", "numbers add", "numbers remove",
    "numbers remove, site named", "numbers flag", "numbers unflag", "bulk reset", "bulk preview",
]  # fmt: skip


def test_r25_the_command_list_is_complete(world: World) -> None:
    assert sorted(_outside(world, world.admin)) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_r25_every_changing_command_refuses_another_site(world: World, sabine: Context, command: str) -> None:
    with world.store.read() as session:
        credentials_before = session.execute(select(DeskPhoneCredential.ha1_sha256)).scalars().all()
    before = audit_count(world.store)
    london = listing.number_rows(world.admin, site="London")
    refused_r25(_outside(world, sabine)[command])
    assert audit_count(world.store) == before
    assert listing.number_rows(world.admin, site="London") == london
    with world.store.read() as session:
        assert session.execute(select(DeskPhoneCredential.ha1_sha256)).scalars().all() == credentials_before
        assert {u["username"] for u in listing.user_dicts(session)} == BERLIN_PEOPLE | LONDON_PEOPLE


def test_r25_a_site_admin_takes_every_administrator_action_at_their_site(world: World, sabine: Context) -> None:
    added = users.add_user_from(sabine, new_user_data(first_name="Neu", last_name="Berliner", number="030 12345020"))
    assert added.user.site == "Berlin"
    users.edit_profile(sabine, "juergen.mueller", ProfileChange(expected_version=version_of(sabine, "juergen.mueller"),
                                                                 department="Einkauf"))  # fmt: skip
    credentials.regenerate(sabine, "juergen.mueller")
    accounts.reset_account(sabine, "juergen.mueller", self_service_tried=True)
    carrier.set_status(sabine, "anna.schmidt", "activated")
    groups.add_member(sabine, "BER Pickup", "juergen.mueller")
    memberships.set_group_members(sabine, "BER Hunt", [("juergen.mueller", None)])
    groups.add_group(sabine, "Berlin", "pickup", "Empfang")
    groups.rename_group(sabine, "Empfang", "Empfang Mitte")
    groups.delete_group(sabine, "Empfang Mitte")
    numbers.add_numbers(sabine, "Berlin", ["030 12345100"])
    numbers.flag_number(sabine, "+493012345100", "porting")
    numbers.unflag_number(sabine, "+493012345100")
    numbers.remove_numbers(sabine, ["+493012345100"])
    result = credentials.bulk_reset(sabine, _ids(sabine, "juergen.mueller", "anna.schmidt"))
    assert {i.username for i in result.issued} == {"juergen.mueller", "anna.schmidt"}
    users.delete_user(sabine, "hanspeter.weiss")
    with world.store.read() as session:
        operators_seen = set(session.execute(select(AuditEvent.operator).where(AuditEvent.id > 0)).scalars())
    assert "sabine" in operators_seen


# --- imports and exports -------------------------------------------------------------


def _person(username: str, site: str, number: str) -> dict[str, str]:
    return {
        "username": username, "first_name": "Neu", "last_name": "Person", "email": f"{username}@example.com",
        "site": site, "number": number, "device_type": "none", "mobile": "0151 23456789" if site == "Berlin"
        else "07400 123456", "contract": "7654321",
    }  # fmt: skip


def test_r25_an_import_row_for_another_site_fails_naming_r25(world: World, sabine: Context) -> None:
    london = users.view(world.admin, "oliver.smith")
    file = import_file(
        _person("neu.berlin", "Berlin", "030 12345021"),
        _person("neu.london", "London", "020 7946 0011"),
        # An existing London user, changed by name: refused, not added anew.
        {"username": "oliver.smith", "first_name": "Olli", "last_name": "Smith", "email": london.email,
         "site": "London", "number": london.number, "device_type": "none", "mobile": london.mobile or "",
         "contract": london.contract or ""},
    )  # fmt: skip
    planned = import_users.plan(sabine, file)
    assert {(f.line, f.column, f.rule) for f in planned.failures} == {(3, "site", "R25"), (4, "username", "R25")}
    before = audit_count(world.store)
    with pytest.raises(import_users.ImportRefused):
        import_users.apply(sabine, file)
    assert audit_count(world.store) == before
    done = import_users.apply(sabine, file, skip_invalid=True)
    assert done is not None
    with world.store.read() as session:
        names = {u["username"] for u in listing.user_dicts(session)}
    assert "neu.berlin" in names and "neu.london" not in names
    assert users.view(world.admin, "oliver.smith").first_name == "Oliver"
    # The enterprise admin may import the same London row.
    assert not import_users.plan(world.admin, import_file(_person("neu.london", "London", "020 7946 0011"))).failed


def test_r25_site_lookups_leak_nothing(world: World, sabine: Context) -> None:
    with world.store.read() as session:
        hamburg = refused_r25(lambda: lookup.site_by_name(session, "Hamburg", sites=sabine.actor.sites))
        london = refused_r25(lambda: lookup.site_by_name(session, "London", sites=sabine.actor.sites))
        assert session.execute(select(func.count()).select_from(Site)).scalar_one() == 2
    assert hamburg.message().replace("Hamburg", "X") == london.message().replace("London", "X")


# --- the command line ----------------------------------------------------------------


@pytest.fixture
def env(world: World, people: list[str], db_url: str, tmp_path: Path) -> dict[str, str]:
    del world, people  # the tenant is built
    return cli_env(tmp_path, db_url)


def ok(done: Result) -> Result:
    assert done.code == 0, done.err
    return done


def as_sabine(env: dict[str, str]) -> dict[str, str]:
    return {**env, "ONENET_OPERATOR": "sabine"}


def test_r25_cli_operators_add_set_sites_and_list(env: dict[str, str]) -> None:
    missing = call("operators", "add", "sabine", "--role", "site_admin", env=env)
    assert missing.code == 4 and "Sites (sites)" in missing.err and "--site" in missing.err
    extra = call("operators", "add", "hugo", "--role", "helpdesk", "--site", "Berlin", env=env)
    assert extra.code == 4 and "sites" in extra.err
    added = ok(call("operators", "add", "sabine", "--role", "site_admin", "--site", "Berlin", env=env))
    assert "Site admin" in added.out and "Sites of sabine: Berlin." in added.out
    listed = ok(call("operators", "list", env=env)).out
    sabine_line = next(line for line in listed.splitlines() if line.startswith("sabine"))
    assert "Site admin" in sabine_line and "Berlin" in sabine_line
    alice_line = next(line for line in listed.splitlines() if line.startswith("alice"))
    assert "every site" in alice_line
    ok(call("operators", "set-sites", "sabine", "--site", "Berlin", "--site", "London", env=env))
    as_json = ok(call("operators", "list", "--format", "json", env=env)).json()
    assert next(o for o in as_json if o["name"] == "sabine")["sites"] == ["Berlin", "London"]
    refused = call("operators", "set-sites", "sabine", "--site", "Berlin", env=as_sabine(env))
    assert refused.code == 3 and "R25" in refused.err
    no_site = call("operators", "set-sites", "sabine", env=env)
    assert no_site.code == 2


def test_r25_cli_a_site_admin_sees_and_changes_only_their_site(env: dict[str, str], tmp_path: Path) -> None:
    ok(call("operators", "add", "sabine", "--role", "site_admin", "--site", "Berlin", env=env))
    mine = as_sabine(env)
    listed = ok(call("users", "list", "--format", "json", env=mine)).json()
    assert {u["username"] for u in listed} == BERLIN_PEOPLE
    table = ok(call("users", "list", env=mine)).out
    assert "Smith" not in table and "Müller" in table
    csv_out = ok(call("users", "export", env=mine)).out
    assert "oliver.smith" not in csv_out and "juergen.mueller" in csv_out
    assert "London" not in ok(call("sites", "list", env=mine)).out
    assert "LON" not in ok(call("groups", "list", env=mine)).out
    assert "+44" not in ok(call("numbers", "list", env=mine)).out
    for command in (
        ("users", "show", "oliver.smith"),
        ("users", "delete", "oliver.smith", "--yes"),
        ("users", "list", "--site", "London"),
        ("carrier", "activate", "zoe.lefevre"),
        ("account", "reset", "grace.jones", "--confirm-self-service-tried"),
        ("groups", "add-member", "LON Pickup", "oliver.smith"),
        ("numbers", "add", "--site", "London", "020 7946 0090"),
        ("credentials", "reset", "juergen.mueller", "grace.jones", "--export", str(tmp_path / "c.csv")),
        ("sites", "add", "Hamburg", "--country", "DE", "--domain", "hamburg.sip.example.net"),
        ("operators", "add", "eve", "--role", "admin"),
    ):
        done = call(*command, env=mine)
        assert done.code == 3 and "R25" in done.err, (command, done.err)
        assert done.out == ""
    assert not (tmp_path / "c.csv").exists()
    added = call("users", "add", "--site", "London", "--first", "A", "--last", "B", "--email", "a@example.com",
                 "--number", "020 7946 0010", "--no-desk-phone", "--mobile", "07400 123456", "--contract", "1234567",
                 env=mine)  # fmt: skip
    assert added.code == 3 and "R25" in added.err
    reset = ok(call("credentials", "reset", "--all", "--export", str(tmp_path / "all.csv"), env=mine))
    written = (tmp_path / "all.csv").read_text("utf-8")
    assert "juergen.mueller" in written and "grace.jones" not in written, reset.out


# --- the console -------------------------------------------------------------------------------


@pytest.fixture
def export_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "exports"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ONENET_EXPORT_DIR", str(folder))
    return folder


def _digests(world: World) -> dict[int, str]:
    with world.store.read() as session:
        return dict(session.execute(select(DeskPhoneCredential.user_id, DeskPhoneCredential.ha1_sha256)).all())  # type: ignore[call-overload]


@pytest.mark.sqlite_only
async def test_r25_console_a_berlin_site_admin_never_reaches_a_london_user(
    world: World, sabine: Context, export_dir: Path
) -> None:
    london_ids = set(_ids(world.admin, *sorted(LONDON_PEOPLE)))
    before = _digests(world)
    app = make_app(world, sabine.actor)
    async with app.run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert "sabine · Site admin · Berlin" in header(screen)
        # Seen: only Berlin's users, and the counts are theirs.
        assert screen.directory.total == 5 and not london_ids & set(screen.directory.ids())
        shown = "\n".join(lines(screen))
        assert "Müller" in shown and "Smith" not in shown and "Jones" not in shown
        # Filtered to: a London name or number finds nobody.
        for term in ("Smith", "+44", "oliver"):
            await pilot.press("slash")
            await type_text(pilot, term)
            await pilot.press("enter")
            await settle(pilot)
            assert screen.directory.ids() == [], term
            await pilot.press("escape")
            await settle(pilot)
        # Marked: all of them is all of Berlin.
        await pilot.press("asterisk")
        assert len(screen.marks) == 5 and not london_ids & screen.marks
        # Bulk reset of the marked: Berlin's desk phones only.
        await pilot.press("c")
        bulk_screen = await preview_loaded(pilot)
        assert not london_ids & set(bulk_screen.user_ids)
        await confirm_reset(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        after = _digests(world)
        assert all(after[uid] == before[uid] for uid in london_ids if uid in before)
        assert any(after[uid] != before[uid] for uid in before if uid not in london_ids)
        # Exported: Berlin's users only.
        await pilot.press("u", "E")
        await until(pilot, lambda: isinstance(app.screen, ExportUsersScreen))
        await pilot.press("ctrl+u")
        await type_text(pilot, "mine.csv")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        await settle(pilot)
        exported = {row["username"] for row in exports.read_csv(export_dir / "mine.csv")}
        assert exported == BERLIN_PEOPLE
        # Imported: a row for London fails with R25, the Berlin row passes.
        export_dir.mkdir(mode=0o700, exist_ok=True)
        (export_dir / "users.csv").write_text(
            ",".join(user_csv.COLUMNS) + "\n"
            + _csv_line(_person("neu.london", "London", "020 7946 0011"))
            + _csv_line(_person("neu.berlin", "Berlin", "030 12345021")),
            encoding="utf-8",
        )  # fmt: skip
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, ImportPathScreen))
        await pilot.press("ctrl+u")
        await type_text(pilot, "users.csv")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ImportPreviewScreen) and app.screen.plan is not None)
        await settle(pilot)
        preview = app.screen
        assert isinstance(preview, ImportPreviewScreen) and preview.plan is not None
        assert {(f.line, f.column, f.rule) for f in preview.plan.failures} == {(2, "site", "R25")}
        assert "R25" in text_of(preview, "#import-detail")
    assert "neu.london" not in {u["username"] for u in user_csv.export_users(world.admin)}


def _csv_line(cells: dict[str, str]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([cells.get(c, "") for c in user_csv.COLUMNS])
    return buffer.getvalue()


@pytest.mark.sqlite_only
async def test_r25_console_sites_screen_shows_their_sites_and_dims_adding_one(world: World, sabine: Context) -> None:
    async with make_app(world, sabine.actor).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("S")
        await until(pilot, lambda: isinstance(pilot.app.screen, SitesScreen))
        screen = pilot.app.screen
        assert isinstance(screen, SitesScreen)
        await until(pilot, lambda: screen.number_table.row_count > 0)
        assert [s.name for s in screen.sites] == ["Berlin"]
        assert screen.check_action("add_site", ()) is None
        # Numbers of their own site: every administrator action there.
        for action in ("add_numbers", "flag", "unflag"):
            assert screen.check_action(action, ()) is not None, action
        await pilot.press("a")
        await settle(pilot)
        assert pilot.app.screen is screen
        assert "R25" in notifications(pilot.app)[-1] and "enterprise administrator" in notifications(pilot.app)[-1]


@pytest.mark.sqlite_only
async def test_r25_console_wizard_offers_only_their_sites(world: World, sabine: Context) -> None:
    assert users.site_names(sabine) == ["Berlin"]
    async with make_app(world, sabine.actor).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(pilot.app.screen, AddUserWizard))
        await settle(pilot)
        offered = [str(option) for select_ in pilot.app.screen.query(Select) for option, _ in select_._options]
        assert any("Berlin" in text for text in offered)
        assert not any("London" in text for text in offered)


@pytest.mark.sqlite_only
def test_snapshot_r25_directory_header_of_a_site_admin(snap_compare: Any, world: World, people: list[str]) -> None:
    sites.add_site(world.admin, "Hamburg", "DE", "hamburg.sip.example.net")
    actor = site_admin(world, site_names=("Berlin", "Hamburg")).actor

    async def loaded(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await settle(pilot)

    assert snap_compare(make_app(world, actor), terminal_size=SIZE, run_before=loaded)


@pytest.mark.sqlite_only
async def test_r25_console_follows_new_sites_while_open(world: World, sabine: Context) -> None:
    async with make_app(world, sabine.actor).run_test(size=SIZE) as pilot:
        screen = await ready(pilot)
        assert screen.directory.total == 5
        operators.set_sites(world.admin, "sabine", ["Berlin", "London"])
        await until(pilot, lambda: screen.directory.total == 8 and screen.directory.complete)
        assert "Site admin · Berlin, London" in header(screen)
        operators.set_sites(world.admin, "sabine", ["London"])
        await until(pilot, lambda: screen.directory.total == 3 and screen.directory.complete)
        assert pilot.app.ctx.actor.site_names == ("London",)  # type: ignore[attr-defined]
        refused_r25(lambda: users.view(screen.ctx, "juergen.mueller"))


def test_r25_lost_exports_are_told_only_of_their_sites(world: World, sabine: Context) -> None:
    # The enterprise admin resets London's desk phones and never exports them.
    credentials.bulk_reset(world.admin, _ids(world.admin, "grace.jones", "zoe.lefevre"))
    with world.store.read() as session:
        assert [p.count for p in handover.pending_exports(session)] == [2]
        assert handover.pending_exports(session, sabine.actor.sites) == []
    credentials.bulk_reset(sabine, _ids(sabine, "juergen.mueller"))
    with world.store.read() as session:
        assert [p.count for p in handover.pending_exports(session, sabine.actor.sites)] == [1]


def test_r25_hostile_site_names_are_shown_literally_in_the_header(world: World) -> None:
    from onenet_tui.widgets.status_header import StatusHeader

    name = "[bold]X\x1b[31m"
    sites.add_site(world.admin, name, "DE", "hostile.sip.example.net")
    actor = site_admin(world, site_names=(name,)).actor
    shown = StatusHeader(actor).operator
    assert "[bold]X" in shown and "\x1b" not in shown


def test_r25_other_sites_group_names_are_not_told(world: World, sabine: Context) -> None:
    version = version_of(sabine, "juergen.mueller")
    with pytest.raises(NotFound):  # as if no such group: London's is not named
        memberships.set_user_groups(sabine, "juergen.mueller", {"LON Pickup": None}, expected_version=version)
    with pytest.raises(InvalidInput) as admin:  # the enterprise admin hears it is another site's
        memberships.set_user_groups(world.admin, "juergen.mueller", {"LON Pickup": None}, expected_version=version)
    assert admin.value.errors[0].key == "group.other_site"
    with pytest.raises(InvalidInput) as adding:
        users.add_user_from(sabine, new_user_data(number="030 12345022", groups=[{"group": "LON Pickup"}]))
    assert [e.key for e in adding.value.errors] == ["group.unknown"]
    file = import_file({**_person("neu.berlin", "Berlin", "030 12345021"), "groups": "LON Pickup"})
    assert [f.key for f in import_users.plan(sabine, file).failures] == ["group.unknown"]


# --- the audit log ------------------------------------------------------------------


def _site_id(world: World, name: str) -> int:
    with world.store.read() as session:
        found: int = session.scalars(select(Site.id).where(Site.name == name)).one()
        return found


def test_r25_a_site_admin_reads_only_their_sites_audit_events(world: World, sabine: Context) -> None:
    from onenet_tui.data import audit_log

    berlin, london = _site_id(world, "Berlin"), _site_id(world, "London")
    everything = audit_log.read_page(world.admin, audit_log.AuditFilter(), limit=500).events
    theirs = audit_log.read_page(sabine, audit_log.AuditFilter(), limit=500).events
    assert {e.target for e in everything} >= LONDON_PEOPLE
    assert theirs and {e.site_id for e in theirs} == {berlin}
    assert not {e.target for e in theirs} & LONDON_PEOPLE
    # Asking for London, or for a London event by its id, finds nothing: the scope is the service's.
    assert audit_log.read_page(sabine, audit_log.AuditFilter(), site_ids={london}).events == []
    assert audit_log.read_page(sabine, audit_log.build(user="oliver.smith")).events == []
    london_event = next(e for e in everything if e.site_id == london)
    assert london_event.id is not None
    with pytest.raises(NotFound):
        audit_log.event(sabine, london_event.id)
    assert audit_log.event(world.admin, london_event.id).id == london_event.id
    newer = audit_log.read_newer(sabine, audit_log.AuditFilter(), 0, limit=500).events
    assert {e.site_id for e in newer} == {berlin}


def test_r25_cli_audit_shows_a_site_admin_their_sites_events_only(env: dict[str, str]) -> None:
    ok(call("operators", "add", "sabine", "--role", "site_admin", "--site", "Berlin", env=env))
    every = {e["target"] for e in ok(call("audit", "--format", "json", env=env)).json()}
    assert every >= LONDON_PEOPLE | BERLIN_PEOPLE
    mine = {e["target"] for e in ok(call("audit", "--format", "json", env=as_sabine(env))).json()}
    assert mine >= BERLIN_PEOPLE and not mine & LONDON_PEOPLE
    asked = ok(call("audit", "--user", "oliver.smith", "--format", "json", env=as_sabine(env))).json()
    assert asked == []


@pytest.mark.sqlite_only
async def test_r25_console_audit_log_of_a_site_admin_holds_their_sites_events(world: World, sabine: Context) -> None:
    from onenet_tui.screens.audit_log import AuditLogScreen
    from onenet_tui.widgets.event_table import EventTable

    async with make_app(world, sabine.actor).run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("l")
        await until(
            pilot,
            lambda: (
                isinstance(pilot.app.screen, AuditLogScreen) and bool(list(pilot.app.screen.query_one(EventTable).rows))
            ),
        )
        targets = {row[3] for row in pilot.app.screen.query_one(EventTable).rows}
        assert targets & BERLIN_PEOPLE and not targets & LONDON_PEOPLE
