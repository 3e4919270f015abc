"""A real tenant from an empty database (SPEC section 11): sites (R20), number
pools (R21), groups and memberships saved as a whole (R22), at the service
layer. Runs on SQLite and, with ONENET_TEST_PG_URL, on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from onenet_tui.data import audit, carrier, groups, memberships, numbers, sites, users
from onenet_tui.data.context import Actor, Context, carrier_context
from onenet_tui.data.errors import InvalidInput, NotFound, RuleRefused, StaleData
from onenet_tui.data.models import AuditEvent, GroupMember, Role
from onenet_tui.data.storage import Store
from onenet_tui.data.tenant_checks import RANGE_MAX, expand
from tests.helpers import DE_MOBILE, World, add, add_active

# --- helpers ----------------------------------------------------------------------


def admin(store: Store) -> Context:
    return Context(store, Actor("alice", Role.ADMIN))


def helpdesk(store: Store) -> Context:
    return Context(store, Actor("hugo", Role.HELPDESK))


def bob(store: Store) -> Context:
    """Another administrator, working at the same time."""
    return Context(store, Actor("bob", Role.ADMIN))


def field_keys(exc: InvalidInput) -> dict[str, str]:
    return {e.field: e.key for e in exc.errors}


def events(store: Store, action: str) -> list[AuditEvent]:
    with store.read() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def event_count(store: Store) -> int:
    with store.read() as session:
        return len(session.execute(select(AuditEvent.id)).all())


def pool(store: Store, site: str) -> list[str]:
    page = numbers.number_page(admin(store), site, limit=100_000)
    return [row.e164 for row in page.rows]


def member_names(ctx: Context, group: str) -> list[tuple[str, str | None]]:
    return [(m.username, m.role) for m in groups.group_detail(ctx, group).members]


@pytest.fixture
def tenant(store: Store) -> World:
    """An empty database given a site, a range and the four kinds of group
    through the services alone, as an administrator would from scratch."""
    ctx = admin(store)
    sites.add_site(ctx, "Berlin", "DE", "berlin.sip.example.net")
    numbers.add_numbers(ctx, "Berlin", ["030 12345000-5099"])
    for name, kind in (
        ("BER Hunt", "hunt_group"),
        ("BER Callcenter", "call_center"),
        ("BER Pickup", "pickup"),
        ("BER Park", "call_park"),
    ):
        groups.add_group(ctx, "Berlin", kind, name)
    return World(store, ctx, helpdesk(store), carrier_context(store))


# --- first run ------------------------------------------------------------------------


def test_an_empty_database_becomes_a_tenant_through_the_services(store: Store) -> None:
    ctx = admin(store)
    assert sites.list_sites(ctx) == []
    assert groups.group_summaries(ctx) == []
    sites.add_site(ctx, "Berlin", "DE", "berlin.sip.example.net")
    numbers.add_numbers(ctx, "Berlin", ["+493012345001"])
    groups.add_group(ctx, "Berlin", "pickup", "Empfang")
    added = users.add_user_from(
        ctx,
        {
            "first_name": "Anna",
            "last_name": "Schmidt",
            "email": "anna@example.com",
            "site": "Berlin",
            "number": "030 12345001",
            "device_type": "none",
            "mobile": DE_MOBILE,
            "contract": "1234567",
            "groups": ({"group": "Empfang", "role": None},),
        },
    )
    assert added.user.status == "pending"
    assert [(g.name, g.kind) for g in added.user.groups] == [("Empfang", "pickup")]
    (berlin,) = sites.list_sites(ctx)
    assert (berlin.users, berlin.numbers, berlin.free, berlin.assigned, berlin.groups) == (1, 1, 0, 1, 1)


# --- R20 sites ------------------------------------------------------------------------


def test_r20_site_name_country_and_domain_are_checked_and_unique(store: Store) -> None:
    ctx = admin(store)
    site = sites.add_site(ctx, "  Berlin  ", "de", "Berlin.SIP.Example.NET")
    assert (site.name, site.country, site.sip_domain) == ("Berlin", "DE", "berlin.sip.example.net")
    with pytest.raises(InvalidInput) as caught:
        sites.add_site(ctx, " ", "FR", "not a host")
    assert field_keys(caught.value) == {
        "name": "r20.name_blank",
        "country": "r20.country",
        "domain": "r20.domain_invalid",
    }
    with pytest.raises(InvalidInput) as caught:
        sites.add_site(ctx, "B" * 41, "GB", "10.0.0.1")
    assert field_keys(caught.value) == {"name": "r20.name_too_long", "domain": "r20.domain_invalid"}
    with pytest.raises(InvalidInput) as caught:
        sites.add_site(ctx, "Berlin", "GB", "berlin.sip.example.net")
    assert field_keys(caught.value) == {"name": "r20.name_taken", "domain": "r20.domain_taken"}
    assert "R20" in str(caught.value) and "Berlin" in str(caught.value)
    # 40 characters, umlauts counted once, are enough.
    assert sites.add_site(ctx, "Ü" * 40, "GB", "london.sip.example.net").name == "Ü" * 40
    assert [s.name for s in sites.list_sites(ctx)] == ["Berlin", "Ü" * 40]
    assert len(events(store, "site.add")) == 2


def test_r20_a_site_with_markup_or_escapes_in_its_name_is_stored_as_typed(store: Store) -> None:
    ctx = admin(store)
    name = "[bold]Berlin[/] \x1b[31mrot"
    sites.add_site(ctx, name, "DE", "berlin.sip.example.net")
    assert [s.name for s in sites.list_sites(ctx)] == [name]


def test_r20_rename_keeps_what_the_site_holds_and_refuses_a_taken_name(tenant: World) -> None:
    ctx, store = tenant.admin, tenant.store
    sites.add_site(ctx, "London", "GB", "london.sip.example.net")
    with pytest.raises(InvalidInput) as caught:
        sites.rename_site(ctx, "Berlin", "London")
    assert field_keys(caught.value) == {"new_name": "r20.name_taken"}
    assert sites.rename_site(ctx, "Berlin", "Berlin Mitte") == "Berlin Mitte"
    summary = {s.name: s for s in sites.list_sites(ctx)}["Berlin Mitte"]
    assert (summary.numbers, summary.groups) == (100, 4)
    (renamed,) = events(store, "site.rename")
    assert renamed.details["old_name"] == "Berlin" and renamed.details["new_name"] == "Berlin Mitte"
    with pytest.raises(NotFound):
        sites.rename_site(ctx, "Atlantis", "Avalon")


def test_r20_a_site_with_users_numbers_or_groups_is_not_deleted(tenant: World) -> None:
    ctx, store = tenant.admin, tenant.store
    add(tenant, number="030 12345001")
    with pytest.raises(RuleRefused) as caught:
        sites.delete_site(ctx, "Berlin")
    assert caught.value.rule == "R20"
    assert caught.value.params == {"site": "Berlin", "users": 1, "numbers": 100, "groups": 4}
    assert "users: 1, numbers: 100, groups: 4" in str(caught.value)
    sites.add_site(ctx, "Leer", "DE", "leer.sip.example.net")
    before = event_count(store)
    sites.delete_site(ctx, "Leer")
    assert [s.name for s in sites.list_sites(ctx)] == ["Berlin"]
    assert event_count(store) == before + 1 and len(events(store, "site.delete")) == 1


def test_r14_helpdesk_may_not_change_sites_numbers_or_groups(tenant: World) -> None:
    hd, store = tenant.helpdesk, tenant.store
    before = event_count(store)
    attempts = [
        lambda: sites.add_site(hd, " ", "XX", "bad"),
        lambda: sites.rename_site(hd, "Atlantis", " "),
        lambda: sites.delete_site(hd, "Berlin"),
        lambda: numbers.add_numbers(hd, "Berlin", ["030 12346000"]),
        lambda: numbers.remove_numbers(hd, ["+493012345000"]),
        lambda: numbers.flag_number(hd, "+493012345000", "x"),
        lambda: numbers.unflag_number(hd, "+493012345000"),
        lambda: groups.add_group(hd, "Berlin", "pickup", "Neu"),
        lambda: groups.rename_group(hd, "BER Park", "Parken"),
        lambda: groups.delete_group(hd, "BER Park"),
        lambda: memberships.set_group_members(hd, "No such group", [("nobody", None)]),
        lambda: memberships.set_user_groups(hd, "nobody", {}),
    ]
    for attempt in attempts:
        with pytest.raises(RuleRefused) as caught:
            attempt()
        assert (caught.value.rule, caught.value.reason_key) == ("R14", "r14.admins_only")
    assert event_count(store) == before
    # They see everything.
    assert [s.name for s in sites.list_sites(hd)] == ["Berlin"]
    assert len(groups.group_summaries(hd)) == 4


# --- R21 numbers ----------------------------------------------------------------------


def test_r21_ranges_national_and_e164_single_numbers(store: Store) -> None:
    ctx = admin(store)
    sites.add_site(ctx, "Berlin", "DE", "berlin.sip.example.net")
    sites.add_site(ctx, "London", "GB", "london.sip.example.net")
    added = numbers.add_numbers(ctx, "Berlin", ["+493012340000-+493012340009", "030 1234 0010-0019", "030 12340100"])
    assert added.count == 21
    assert pool(store, "Berlin")[:2] == ["+493012340000", "+493012340001"]
    assert pool(store, "Berlin")[-1] == "+493012340100"
    assert numbers.add_numbers(ctx, "London", ["020 7946 0000-099"]).count == 100
    (event, _) = events(store, "numbers.add")
    assert event.details["count"] == 21 and event.details["first"] == "+493012340000"
    assert event.details["entries"] == ["+493012340000-+493012340009", "030 1234 0010-0019", "030 12340100"]


def test_r21_all_or_nothing_each_number_valid_for_the_country_and_unique(store: Store) -> None:
    ctx = admin(store)
    sites.add_site(ctx, "Berlin", "DE", "berlin.sip.example.net")
    sites.add_site(ctx, "London", "GB", "london.sip.example.net")
    numbers.add_numbers(ctx, "Berlin", ["030 12340005"])
    before = event_count(store)
    with pytest.raises(InvalidInput) as caught:
        numbers.add_numbers(ctx, "Berlin", ["030 1234 0000-0009"])
    assert [(e.key, e.params["number"]) for e in caught.value.errors] == [("r21.exists", "+493012340005")]
    assert "already in the pool of site Berlin (R21)" in str(caught.value)
    with pytest.raises(InvalidInput) as caught:
        numbers.add_numbers(ctx, "London", ["+493012349999"])  # a German number for a British site
    assert field_keys(caught.value) == {"numbers": "r21.invalid"}
    assert pool(store, "Berlin") == ["+493012340005"] and pool(store, "London") == []
    assert event_count(store) == before


def test_r21_at_most_ten_thousand_at_once(store: Store) -> None:
    ctx = admin(store)
    sites.add_site(ctx, "Berlin", "DE", "berlin.sip.example.net")
    with pytest.raises(InvalidInput) as caught:
        numbers.add_numbers(ctx, "Berlin", ["030 1234 0000-9999", "030 12350000"])
    assert field_keys(caught.value) == {"numbers": "r21.too_many"}
    assert caught.value.errors[0].params["count"] == RANGE_MAX + 1
    assert pool(store, "Berlin") == []
    assert numbers.add_numbers(ctx, "Berlin", ["030 1234 0000-9999"]).count == RANGE_MAX
    assert numbers.number_page(ctx, "Berlin", limit=10).total == RANGE_MAX


def test_r21_typed_entries_that_are_not_ranges_name_the_entry() -> None:
    def keys(*entries: str, country: str | None = "DE") -> list[str]:
        return [r.key for r in expand(entries, country).refused]

    assert keys("030 1234-0000-0999") == ["r21.range_syntax"]
    assert keys("030 1234 0999-0000") == ["r21.range_order"]
    assert keys("hello-0999") == ["r21.not_a_number"]
    assert keys("030 12340000-abc") == ["r21.not_a_number"]
    assert keys("030 12340000", "030 1234 0000-0001") == ["r21.twice"]
    assert keys("030 12340000", country=None) == ["r21.needs_site"]
    assert keys("+493012340000-+4930123400011") == ["r21.range_order"]  # not the same length
    assert expand(["+44 20 7946 0000-0002"], "GB").numbers == ["+442079460000", "+442079460001", "+442079460002"]


def test_r21_the_preview_says_what_a_range_adds_and_refuses_without_changing_anything(tenant: World) -> None:
    found = numbers.preview(tenant.admin, "Berlin", ["030 12345090-5109"])
    assert len(found.numbers) == 10 and found.numbers[0] == "+493012345100"
    assert len(found.refused) == 10 and {r.key for r in found.refused} == {"r21.exists"}
    assert found.requested == 20 and not found.ok
    assert len(pool(tenant.store, "Berlin")) == 100


def test_r21_only_free_numbers_are_removed_all_or_nothing(tenant: World) -> None:
    ctx, store = tenant.admin, tenant.store
    holder = add(tenant, number="030 12345001").user.username
    before = event_count(store)
    with pytest.raises(RuleRefused) as caught:
        numbers.remove_numbers(ctx, ["+493012345000-+493012345002"])
    assert caught.value.rule == "R21" and holder in str(caught.value)
    assert len(pool(store, "Berlin")) == 100 and event_count(store) == before
    with pytest.raises(NotFound):
        numbers.remove_numbers(ctx, ["+493012349999"])
    with pytest.raises(InvalidInput) as caught:
        numbers.remove_numbers(ctx, ["030 12345002"])  # national needs the site
    assert field_keys(caught.value) == {"numbers": "r21.needs_site"}
    removed = numbers.remove_numbers(ctx, ["030 12345002", "030 1234 5010-5019"], site="Berlin")
    assert removed.count == 11 and len(pool(store, "Berlin")) == 89
    (event,) = events(store, "numbers.remove")
    assert event.details["count"] == 11 and "+493012345002" in event.details["numbers"]


def test_r21_flag_and_unflag_a_number_with_its_reason(tenant: World) -> None:
    ctx, store = tenant.admin, tenant.store
    flagged = numbers.flag_number(ctx, "030 12345007", "  porting not finished ", site="Berlin")
    assert (flagged.number, flagged.reason) == ("+493012345007", "porting not finished")
    page = numbers.number_page(ctx, "Berlin", offset=7, limit=1)
    assert (page.rows[0].flagged, page.rows[0].flag_reason) == (True, "porting not finished")
    assert {s.name: s.flagged for s in sites.list_sites(ctx)} == {"Berlin": 1}
    for bad, key in (
        (" ", "r21.reason_required"),
        ("x" * 201, "r21.reason_too_long"),
        ("a\x1bb", "r21.reason_control"),
    ):
        with pytest.raises(InvalidInput) as caught:
            numbers.flag_number(ctx, "+493012345008", bad)
        assert field_keys(caught.value) == {"reason": key}
    with pytest.raises(InvalidInput):
        numbers.flag_number(ctx, "+493012345008-9", "range")
    numbers.unflag_number(ctx, "+493012345007")
    assert numbers.number_page(ctx, "Berlin", offset=7, limit=1).rows[0].flagged is False
    assert [e.details["reason"] for e in events(store, "number.flag")] == ["porting not finished"]
    assert len(events(store, "number.unflag")) == 1


def test_r21_the_carrier_may_flag_too(tenant: World) -> None:
    numbers.flag_number(tenant.carrier, "+493012345003", "emergency address missing")
    (event,) = events(tenant.store, "number.flag")
    assert event.operator == "carrier"


def test_r21_a_site_pool_reads_a_page_at_a_time(tenant: World) -> None:
    add(tenant, number="030 12345000")
    page = numbers.number_page(tenant.admin, "Berlin", offset=90, limit=20)
    assert page.total == 100 and len(page.rows) == 10 and page.rows[0].e164 == "+493012345090"
    free = numbers.number_page(tenant.admin, "Berlin", free_only=True, limit=1)
    assert free.total == 99 and free.rows[0].e164 == "+493012345001"


# --- R22 groups -----------------------------------------------------------------------


def test_r22_group_name_kind_and_uniqueness(tenant: World) -> None:
    ctx = tenant.admin
    with pytest.raises(InvalidInput) as caught:
        groups.add_group(ctx, "Berlin", "conference", " ")
    assert field_keys(caught.value) == {"name": "r22.name_blank", "kind": "r22.kind"}
    with pytest.raises(InvalidInput) as caught:
        groups.add_group(ctx, "Berlin", "hunt_group", "BER Hunt")
    assert field_keys(caught.value) == {"name": "r22.name_taken"}
    with pytest.raises(NotFound):
        groups.add_group(ctx, "Atlantis", "pickup", "Neu")
    name = "[red]Empfang[/] \x1b]0;x\x07"
    created = groups.add_group(ctx, "Berlin", "hunt_group", name)
    assert (created.name, created.kind, created.site, created.members) == (name, "hunt_group", "Berlin", 0)
    assert name in [g.name for g in groups.group_summaries(ctx, site="Berlin")]


def test_r22_rename_and_delete_a_group_listing_its_members_to_tell(tenant: World) -> None:
    ctx, store = tenant.admin, tenant.store
    one = add_active(tenant, number="030 12345001").user.username
    two = add_active(tenant, first_name="Anna", last_name="Schmidt", email="a@example.com", number="030 12345002")
    memberships.set_group_members(ctx, "BER Hunt", [(one, None), (two.user.username, None)])
    renamed = groups.rename_group(ctx, "BER Hunt", "Zentrale")
    assert (renamed.name, renamed.members) == ("Zentrale", 2)
    groups.add_group(ctx, "Berlin", "hunt_group", "Vertrieb")
    with pytest.raises(InvalidInput) as caught:
        groups.rename_group(ctx, "Zentrale", "Vertrieb")  # R22: same site, same kind
    assert field_keys(caught.value) == {"new_name": "r22.name_taken"}
    shown = groups.group_detail(ctx, "Zentrale")
    bob_ctx = bob(store)
    memberships.set_group_members(bob_ctx, "Zentrale", [(one, None)])
    with pytest.raises(StaleData):
        groups.delete_group(ctx, "Zentrale", expected_version=shown.version)
    deleted = groups.delete_group(ctx, "Zentrale")
    assert [m.username for m in deleted.members] == [one]
    assert [g.name for g in groups.group_summaries(ctx)] == ["BER Callcenter", "BER Park", "Vertrieb", "BER Pickup"]
    assert users.view(ctx, one).groups == []
    (event,) = events(store, "group.delete")
    assert event.details["members"] == [{"username": one, "role": None}]


def test_r22_r4_group_side_save_is_one_transaction_and_one_audit_event(tenant: World) -> None:
    ctx, store = tenant.admin, tenant.store
    active = add_active(tenant, number="030 12345001").user.username
    pending = add(tenant, first_name="Anna", last_name="Schmidt", email="a@example.com", number="030 12345002")
    before = event_count(store)
    with pytest.raises(RuleRefused) as caught:
        memberships.set_group_members(ctx, "BER Hunt", [(active, None), (pending.user.username, None)])
    assert caught.value.rule == "R4"
    assert f"{pending.user.username} cannot join BER Hunt" in str(caught.value)
    assert member_names(ctx, "BER Hunt") == [] and event_count(store) == before
    # Pickup groups take anyone (R4); one event lists who joined.
    done = memberships.set_group_members(ctx, "BER Pickup", [(active, None), (pending.user.username, None)])
    assert sorted(u for u, _ in done.joined) == sorted([active, pending.user.username])
    assert event_count(store) == before + 1
    done = memberships.set_group_members(ctx, "BER Pickup", [(pending.user.username, None)])
    assert (done.joined, done.left) == ([], [active])
    (first, second) = events(store, "group.set_members")
    assert second.details["left"] == [active] and second.details["joined"] == []
    # Saving what is already there changes nothing and records nothing.
    assert not memberships.set_group_members(ctx, "BER Pickup", [(pending.user.username, None)])
    assert event_count(store) == before + 2


def test_r22_r6_call_center_roles_and_the_supervisor_notice(tenant: World) -> None:
    ctx = tenant.admin
    agent = add_active(tenant, number="030 12345001").user.username
    boss = add_active(tenant, first_name="Anna", last_name="Schmidt", email="a@example.com", number="030 12345002")
    done = memberships.set_group_members(ctx, "BER Callcenter", [(agent, None), (boss.user.username, "supervisor")])
    assert [(n.username, n.key) for n in done.notices] == [(boss.user.username, "r6.supervisor_without_service")]
    assert sorted(member_names(ctx, "BER Callcenter")) == sorted([(agent, "agent"), (boss.user.username, "supervisor")])
    done = memberships.set_group_members(
        ctx, "BER Callcenter", [(agent, "supervisor"), (boss.user.username, "supervisor")]
    )
    assert done.roles == [(agent, "agent", "supervisor")]
    with pytest.raises(InvalidInput) as caught:
        memberships.set_group_members(ctx, "BER Pickup", [(agent, "supervisor")])
    assert field_keys(caught.value) == {"role": "group.role_only_call_center"}
    with pytest.raises(InvalidInput) as caught:
        memberships.set_group_members(ctx, "BER Pickup", [(agent, None), (agent, None)])
    assert field_keys(caught.value) == {"members": "r22.twice"}


def test_r22_members_are_users_of_the_group_site(tenant: World) -> None:
    ctx = tenant.admin
    sites.add_site(ctx, "London", "GB", "london.sip.example.net")
    numbers.add_numbers(ctx, "London", ["020 7946 0001"])
    groups.add_group(ctx, "London", "pickup", "LON Pickup")
    londoner = add_active(tenant, site="London", number="020 7946 0001", first_name="Oliver", last_name="Smith")
    with pytest.raises(InvalidInput) as caught:
        memberships.set_group_members(ctx, "BER Pickup", [(londoner.user.username, None)])
    assert field_keys(caught.value) == {"members": "r22.other_site"}
    with pytest.raises(InvalidInput) as caught:
        memberships.set_user_groups(ctx, londoner.user.username, {"BER Pickup": None})
    assert field_keys(caught.value) == {"groups": "group.other_site"}


def test_r22_user_side_save_is_one_transaction_one_event_and_bumps_both_versions(tenant: World) -> None:
    ctx, store = tenant.admin, tenant.store
    pending = add(tenant, number="030 12345001").user
    before = event_count(store)
    # R4 refuses the hunt group: the pickup group in the same save is not joined either.
    with pytest.raises(RuleRefused) as caught:
        memberships.set_user_groups(
            ctx, pending.username, {"BER Pickup": None, "BER Hunt": None}, expected_version=pending.version
        )
    assert caught.value.rule == "R4"
    assert users.view(ctx, pending.username).groups == [] and event_count(store) == before
    pickup_before = groups.group_detail(ctx, "BER Pickup").version
    done = memberships.set_user_groups(
        ctx, pending.username, {"BER Pickup": None, "BER Park": None}, expected_version=pending.version
    )
    assert done.joined == [("BER Park", None), ("BER Pickup", None)]
    (event,) = events(store, "user.set_groups")
    assert event.target == pending.username and len(event.details["joined"]) == 2
    assert event_count(store) == before + 1
    assert users.view(ctx, pending.username).version == pending.version + 1
    assert groups.group_detail(ctx, "BER Pickup").version == pickup_before + 1


def test_r22_the_audit_event_names_who_joined_left_and_changed_role_from_either_side(tenant: World) -> None:
    ctx, store = tenant.admin, tenant.store
    agent = add_active(tenant, number="030 12345001").user.username
    groups.add_member(ctx, "BER Park", agent)
    memberships.set_user_groups(ctx, agent, {"BER Pickup": None, "BER Callcenter": "agent"})
    (by_user,) = events(store, "user.set_groups")
    assert by_user.details["joined"] == [
        {"group": "BER Pickup", "role": None},
        {"group": "BER Callcenter", "role": "agent"},
    ]
    assert (by_user.details["left"], by_user.details["roles"]) == (["BER Park"], [])
    memberships.set_group_members(ctx, "BER Callcenter", [(agent, "supervisor")])
    (by_group,) = events(store, "group.set_members")
    assert by_group.details["roles"] == [{"username": agent, "from": "agent", "to": "supervisor"}]
    assert (by_group.details["joined"], by_group.details["left"]) == ([], [])


def test_r22_a_stale_user_or_group_is_refused_and_nothing_changes(tenant: World) -> None:
    ctx, store = tenant.admin, tenant.store
    user = add_active(tenant, number="030 12345001").user
    seen_user = users.view(ctx, user.username).version
    seen_hunt = groups.group_detail(ctx, "BER Hunt").version
    # Someone else changes the user's groups meanwhile.
    memberships.set_user_groups(bob(store), user.username, {"BER Park": None})
    with pytest.raises(StaleData):
        memberships.set_user_groups(ctx, user.username, {"BER Hunt": None}, expected_version=seen_user)
    # ... or the group's members: the group side is stale for the group.
    memberships.set_group_members(bob(store), "BER Hunt", [(user.username, None)])
    with pytest.raises(StaleData):
        memberships.set_group_members(ctx, "BER Hunt", [], expected_version=seen_hunt)
    # A user-side save that leaves a group changed meanwhile is stale too.
    fresh = users.view(ctx, user.username).version
    with pytest.raises(StaleData):
        memberships.set_user_groups(
            ctx, user.username, {"BER Park": None}, expected_version=fresh, group_versions={"BER Hunt": seen_hunt}
        )
    assert [(g.name, g.role) for g in users.view(ctx, user.username).groups] == [("BER Hunt", None), ("BER Park", None)]


def test_r22_single_member_commands_bump_the_versions_too(tenant: World) -> None:
    ctx = tenant.admin
    user = add_active(tenant, number="030 12345001").user
    seen = groups.group_detail(ctx, "BER Hunt").version
    groups.add_member(bob(tenant.store), "BER Hunt", user.username)
    with pytest.raises(StaleData):
        memberships.set_group_members(ctx, "BER Hunt", [], expected_version=seen)
    with tenant.store.read() as session:
        assert len(session.execute(select(GroupMember)).all()) == 1


def test_r22_the_picker_gets_every_user_with_the_r4_decision(tenant: World) -> None:
    active = add_active(tenant, number="030 12345001").user.username
    pending = add(tenant, first_name="Anna", last_name="Schmidt", email="a@example.com", number="030 12345002")
    memberships.set_group_members(tenant.admin, "BER Hunt", [(active, None)])
    found = {c.username: c for c in groups.candidates(tenant.admin, "BER Hunt")}
    assert found[active].member and found[active].decision.allowed
    refused = found[pending.user.username]
    assert not refused.member and (refused.decision.rule, refused.decision.reason_key) == (
        "R4",
        "r4.hunt_group_pending",
    )
    helpdesk_view = groups.candidates(tenant.helpdesk, "BER Pickup")
    assert {c.decision.rule for c in helpdesk_view} == {"R14"}


def test_r15_every_new_change_is_audited_once(tenant: World) -> None:
    with tenant.store.read() as session:
        actions = [e.action for e in audit.events(session, newest_first=False)]
    assert actions == ["site.add", "numbers.add", "group.add", "group.add", "group.add", "group.add"]


def test_r22_a_user_added_into_or_deleted_from_a_group_makes_its_members_stale(tenant: World) -> None:
    ctx = tenant.admin
    seen = groups.group_detail(ctx, "BER Pickup").version
    # Without the check the group side's save of what it saw would drop the new member.
    added = add(tenant, number="030 12345001", groups=({"group": "BER Pickup", "role": None},))
    with pytest.raises(StaleData):
        memberships.set_group_members(ctx, "BER Pickup", [], expected_version=seen)
    carrier.set_status(tenant.carrier, added.user.username, "activated")
    seen = groups.group_detail(ctx, "BER Pickup").version
    users.delete_user(ctx, added.user.username)
    with pytest.raises(StaleData):
        memberships.set_group_members(ctx, "BER Pickup", [], expected_version=seen)


@pytest.mark.parametrize(
    ("row", "key"),
    [
        ({"entity": "site", "name": "Berlin", "sip_domain": "other.sip.example.net"}, "conflict.site_name"),
        ({"entity": "site", "name": "Other", "sip_domain": "berlin.sip.example.net"}, "conflict.sip_domain"),
        ({"entity": "number", "e164": "+493012345000"}, "conflict.pool_number"),
        ({"entity": "group", "name": "BER Pickup"}, "conflict.group_name"),
    ],
)
def test_r20_r21_r22_a_lost_race_for_a_unique_value_is_told_as_such(
    tenant: World, row: dict[str, str], key: str
) -> None:
    """Two administrators pass the checks at the same moment: the database's
    unique index refuses the second, and the message says what was taken."""
    from sqlalchemy.exc import IntegrityError

    from onenet_tui.data.models import Group, PhoneNumber, Site
    from onenet_tui.data.unit import conflict_from

    row = dict(row)  # the parameters are shared by both backends' runs
    entity = row.pop("entity")
    with pytest.raises(IntegrityError) as caught, tenant.store.transaction() as session:
        berlin = session.execute(select(Site)).scalar_one()
        if entity == "site":
            session.add(Site(country="DE", **row))
        elif entity == "number":
            session.add(PhoneNumber(site_id=berlin.id, **row))
        else:
            session.add(Group(site_id=berlin.id, kind="pickup", **row))
        session.flush()
    assert conflict_from(caught.value).key == key


def test_r22_a_role_change_from_the_group_side_makes_the_user_side_stale(tenant: World) -> None:
    ctx = tenant.admin
    agent = add_active(tenant, number="030 12345001").user.username
    memberships.set_group_members(ctx, "BER Callcenter", [(agent, None)])
    seen = users.view(ctx, agent).version
    done = memberships.set_group_members(bob(tenant.store), "BER Callcenter", [(agent, "supervisor")])
    assert done.roles == [(agent, "agent", "supervisor")]
    with pytest.raises(StaleData):
        memberships.set_user_groups(ctx, agent, {"BER Callcenter": "agent"}, expected_version=seen)
