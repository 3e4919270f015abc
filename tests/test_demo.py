"""The demo tenant: realistic, valid by every rule, deterministic per seed."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from onenet_tui.data import demo, listing, phones, secrets, validation
from onenet_tui.data.context import Actor, Context, resolve_actor
from onenet_tui.data.errors import Conflict, InvalidInput, RuleRefused
from onenet_tui.data.models import (
    AuditEvent,
    DeskPhoneCredential,
    Group,
    GroupMember,
    Operator,
    PhoneNumber,
    Role,
    Site,
    Tenant,
    User,
)
from onenet_tui.data.storage import Store

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def admin(store: Store, name: str = "demo.admin") -> Context:
    return Context(store, resolve_actor(store, name))


def build(store: Store, **kwargs: Any) -> demo.DemoSummary:
    kwargs.setdefault("now", NOW)
    return demo.build(admin(store), **kwargs)


def snapshot(store: Store) -> list[dict[str, Any]]:
    """Everything a user is, as the command line lists it."""
    with store.read() as session:
        data = list(listing.user_dicts(session))
    for user in data:
        # The throw-away passwords come from the OS on purpose (not the seed).
        user["credentials"] = bool(user["credentials"])
    return data


def test_same_seed_same_tenant_other_seed_other_tenant(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stores = [Store(f"sqlite:///{tmp_path / name}.db") for name in ("a", "b", "c")]
    try:
        build(stores[0], users=60, seed=3)
        build(stores[1], users=60, seed=3)
        build(stores[2], users=60, seed=4)
        first, second, other = (snapshot(s) for s in stores)
        assert first == second
        assert first != other
    finally:
        for store in stores:
            store.dispose()


def test_demo_tenant_is_realistic_and_valid_by_the_rules(store: Store) -> None:
    summary = build(store, users=400, seed=11, carrier_delay=45)
    assert summary.users == 400
    assert summary.statuses == {"activated": 280, "pending": 80, "failed": 40}
    with store.read() as session:
        sites = {s.id: s for s in session.execute(select(Site)).scalars()}
        assert sorted((s.name, s.country) for s in sites.values()) == [
            ("Berlin", "DE"),
            ("London", "GB"),
            ("München", "DE"),
        ]
        tenant = session.execute(select(Tenant)).scalar_one()
        assert tenant.simulated and tenant.carrier_delay_seconds == 45
        numbers = {n.id: n for n in session.execute(select(PhoneNumber)).scalars()}
        users = list(session.execute(select(User)).scalars())
        credentials = {c.user_id: c for c in session.execute(select(DeskPhoneCredential)).scalars()}
        groups = {g.id: g for g in session.execute(select(Group)).scalars()}
        members = list(session.execute(select(GroupMember)).scalars())
        audit_events = list(session.execute(select(AuditEvent).where(AuditEvent.action == "tenant.demo")).scalars())
        operator = session.execute(select(Operator).where(Operator.name == "demo.admin")).scalar_one()

    # R16 / R2: valid numbers of the site's country; extension = last 4 digits, unique per site.
    for number in numbers.values():
        assert phones.to_e164(number.e164, sites[number.site_id].country) == number.e164
    per_site = defaultdict(list)
    for user in users:
        number = numbers[user.number_id]
        assert number.site_id == user.site_id
        assert user.extension == validation.default_extension(number.e164)
        per_site[user.site_id].append(user.extension)
    assert all(len(exts) == len(set(exts)) for exts in per_site.values())
    # Spare numbers at every site, some of them flagged by the carrier.
    taken = {u.number_id for u in users}
    free = [n for n in numbers.values() if n.id not in taken]
    assert {n.site_id for n in free} == set(sites)
    assert any(n.flagged and n.flag_reason for n in free)
    # Failed users sit on flagged numbers and carry the reason (R3).
    for user in users:
        if user.status == "failed":
            assert numbers[user.number_id].flagged and user.status_reason == numbers[user.number_id].flag_reason
    # R1, R18, R19: names, emails and unique first.last usernames.
    assert len({u.username for u in users}) == len(users)
    for user in users:
        validation.first_name(user.first_name)
        validation.last_name(user.last_name)
        validation.username(user.username)
        validation.email(user.email)
        assert user.username.startswith(validation.proposed_username(user.first_name, user.last_name))
    assert any(not (u.first_name + u.last_name).isascii() for u in users)
    assert any(ch in "".join(u.first_name + u.last_name for u in users) for ch in "ıłş")  # Turkish, Polish
    # R17: mobile-only users have a valid mobile of their country and a contract number.
    devices = Counter(u.device_type for u in users)
    assert devices["desk_phone"] > devices["none"] > 0
    for user in users:
        country = sites[user.site_id].country
        if user.device_type == "none":
            assert user.mobile and phones.is_mobile(user.mobile, country)
            assert validation.contract(user.contract or "")
            assert user.id not in credentials and user.desk_phone_model is None
        else:
            assert user.desk_phone_model
            cred = credentials[user.id]
            assert cred.sip_username == numbers[user.number_id].e164.lstrip("+")
            assert cred.realm == sites[user.site_id].sip_domain
            assert len(cred.ha1_md5) == 32 and len(cred.ha1_sha256) == 64
    # Portal accounts: some locked with failed logins (R12).
    assert any(u.portal_locked and u.failed_logins >= 5 for u in users)
    # Groups: all four kinds at every site; R4 holds; call centers have agents and supervisors.
    kinds = defaultdict(set)
    for group in groups.values():
        kinds[group.site_id].add(group.kind)
    assert all(k == {"hunt_group", "call_center", "pickup", "call_park"} for k in kinds.values())
    by_id = {u.id: u for u in users}
    for member in members:
        group, user = groups[member.group_id], by_id[member.user_id]
        assert group.site_id == user.site_id
        if group.kind in ("hunt_group", "call_center"):
            assert user.status == "activated"
    roles = Counter(m.role for m in members if groups[m.group_id].kind == "call_center")
    assert roles["agent"] > roles["supervisor"] > 0
    assert any(by_id[m.user_id].status != "activated" for m in members if groups[m.group_id].kind == "pickup")
    # One audit event with counts, and the demo operator is an administrator.
    assert len(audit_events) == 1 and audit_events[0].details["users"] == 400
    assert operator.role == Role.ADMIN.value


def test_r15_demo_writes_one_audit_event_and_refuses_an_existing_tenant(store: Store) -> None:
    build(store, users=10)
    with pytest.raises(Conflict) as caught:
        build(store, users=10)
    assert caught.value.exit_code == 5
    summary = build(store, users=12, seed=2, force=True)
    assert summary.replaced
    with store.read() as session:
        assert session.execute(select(func.count()).select_from(User)).scalar_one() == 12
        assert session.execute(select(func.count()).select_from(Tenant)).scalar_one() == 1
        actions = list(session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())
    # The audit trail is append-only: the first build's event survives --force.
    assert actions == ["tenant.demo", "tenant.demo"]


def test_r14_only_administrators_build_the_demo(store: Store) -> None:
    with pytest.raises(RuleRefused) as caught:
        demo.build(Context(store, Actor("hugo", Role.HELPDESK)), users=5)
    assert caught.value.rule == "R14"
    with pytest.raises(InvalidInput):
        build(store, users=demo.MAX_USERS + 1)


def test_big_tenants_get_more_sites_and_no_site_exceeds_its_pool() -> None:
    assert len(demo.site_shares(20)) == 3
    assert sum(demo.site_shares(20)) == 20
    shares = demo.site_shares(100_000)
    assert sum(shares) == 100_000 and len(shares) >= 13
    assert max(shares) <= demo.USERS_PER_SITE
    assert sum(demo.site_shares(demo.MAX_USERS)) == demo.MAX_USERS


def test_r16_every_site_range_and_mobile_prefix_is_valid() -> None:
    # Every 37th number of each 10,000-number range, plus both ends.
    for plan in demo.SITES:
        for last4 in [*range(0, 10_000, 37), 9999]:
            e164 = f"{plan.prefix}{last4:04d}"
            assert phones.to_e164(e164, plan.country) == e164, e164
    for country, (prefix, digits) in demo.MOBILE_PREFIX.items():
        for n in (0, 10**digits - 1, 123 * 10 ** (digits - 3)):
            assert phones.is_mobile(f"{prefix}{n:0{digits}d}", country)


def test_demo_builds_on_every_backend(store: Store) -> None:
    """The bulk insert path runs on SQLite and PostgreSQL alike."""
    summary = build(store, users=30, seed=5)
    data = snapshot(store)
    assert len(data) == 30 == summary.users
    with store.read() as session:
        credential = session.execute(select(DeskPhoneCredential)).scalars().first()
        assert credential is not None
        # A real digest of some password, not a placeholder.
        assert credential.ha1_md5 != secrets.ha1(credential.sip_username, credential.realm, "", "md5")
