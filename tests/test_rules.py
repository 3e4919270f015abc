"""One test per rule at the service layer, each proving the allowed and the
refused side. Runs on SQLite and, with ONENET_TEST_PG_URL, on PostgreSQL."""

from __future__ import annotations

import inspect
from datetime import timedelta

import pydantic
import pytest

from onenet_tui.data import (
    accounts,
    audit,
    carrier,
    credentials,
    groups,
    lookup,
    operators,
    policy,
    queries,
    secrets,
    simulator,
    users,
)
from onenet_tui.data.errors import InvalidInput, RuleRefused
from onenet_tui.data.models import CredentialMode, DeskPhoneCredential, Status, User
from onenet_tui.data.schemas import CallServicesChange, ConfigChange, NewOperator, ProfileChange
from tests.helpers import DE_MOBILE, GB_MOBILE, NO_DESK_PHONE, World, add, add_active, new_user_data


def field_keys(exc: InvalidInput) -> dict[str, str]:
    return {e.field: e.key for e in exc.errors}


def refused_fields(world: World, **overrides: object) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        add(world, **overrides)
    return field_keys(caught.value)


def test_r1_names_counted_in_characters_trimmed_and_checked(world: World) -> None:
    # 23 characters with umlauts (and a decomposed "é") is allowed; surrounding space is trimmed.
    first = "Ä" * 21 + "e\u0301" + "ö"
    added = add(world, first_name=f"  {first}  ", last_name="Ü" * 30)
    assert added.user.first_name == "Ä" * 21 + "é" + "ö"
    assert refused_fields(world, number="030 12345002", first_name="A" * 24) == {"first_name": "r1.too_long"}
    assert refused_fields(world, number="030 12345002", last_name="B" * 31) == {"last_name": "r1.too_long"}
    assert refused_fields(world, number="030 12345002", first_name="   ") == {"first_name": "r1.blank"}
    assert refused_fields(world, number="030 12345002", last_name="Mül\x07ler") == {"last_name": "r1.control"}


def test_r2_extension_defaults_follows_number_and_is_unique_per_site(world: World) -> None:
    first = add(world)
    assert first.user.extension == "5001"
    assert refused_fields(world, number="030 12345002", extension="5001")["extension"] == "r2.taken"
    assert refused_fields(world, number="030 12345002", extension="12a")["extension"] == "r2.digits"
    assert refused_fields(world, number="030 12345002", extension="1")["extension"] == "r2.length"
    # The same extension at another site is fine.
    london = add(
        world,
        site="London",
        number="020 7946 0001",
        first_name="Amy",
        last_name="Pond",
        email="amy@example.co.uk",
        extension="5001",
    )
    assert london.user.extension == "5001"
    # While not edited, the extension follows a changed number.
    carrier.set_status(world.carrier, first.user.username, "activated")
    view, _ = users.change_configuration(
        world.admin,
        first.user.username,
        ConfigChange(expected_version=users.view(world.admin, first.user.username).version, number="030 12345003"),
    )
    assert view.extension == "5003"


def test_r3_new_user_is_pending_until_the_carrier_decides(world: World) -> None:
    added = add(world)
    assert added.user.status == "pending"
    # No service but the carrier's sets a status: the forms have no such field ...
    with pytest.raises(InvalidInput):
        users.add_user_from(world.admin, new_user_data(number="030 12345002", status="activated"))
    for form in (ConfigChange, ProfileChange, CallServicesChange):
        with pytest.raises(pydantic.ValidationError):
            form(expected_version=added.user.version, status="activated")
    # ... and only the carrier runs the simulator's passes, not a person.
    for person in (world.admin, world.helpdesk):
        with pytest.raises(RuleRefused) as caught:
            carrier.run_once(person, delay=timedelta(0))
        assert (caught.value.rule, caught.value.reason_key) == ("R3", "r3.carrier_only")
    assert users.view(world.admin, added.user.username).status == "pending"
    carrier.set_status(world.carrier, added.user.username, "failed", "porting not finished")
    failed = users.view(world.admin, added.user.username)
    assert (failed.status, failed.status_reason) == ("failed", "porting not finished")
    carrier.set_status(world.carrier, added.user.username, "activated")
    assert users.view(world.admin, added.user.username).status == "activated"
    with pytest.raises(RuleRefused):
        carrier.set_status(world.carrier, added.user.username, "activated")


def test_r3_failure_reason_is_required_trimmed_and_at_most_200_characters(world: World) -> None:
    added = add(world)
    name = added.user.username
    for reason in (None, "", "   "):
        with pytest.raises(InvalidInput) as caught:
            carrier.set_status(world.carrier, name, "failed", reason)
        assert field_keys(caught.value) == {"reason": "carrier.reason_required"}
    with pytest.raises(InvalidInput) as caught:
        carrier.set_status(world.carrier, name, "failed", "x" * 201)
    assert field_keys(caught.value) == {"reason": "carrier.reason_too_long"}
    assert users.view(world.admin, name).status == "pending"
    # Characters, not bytes: 200 umlauts fit.
    done = carrier.set_status(world.carrier, name, "failed", f"  {'ü' * 200}  ")
    assert done.reason == "ü" * 200 == users.view(world.admin, name).status_reason


def test_r14_carrier_outcomes_by_hand_need_an_administrator_named_in_the_audit(world: World) -> None:
    by_hand = add(world)
    by_carrier = add(world, number="030 12345002", first_name="Eva")
    # R14 before the reason is looked at.
    with pytest.raises(RuleRefused) as caught:
        carrier.set_status(world.helpdesk, by_hand.user.username, "failed", " ")
    assert (caught.value.rule, caught.value.reason_key) == ("R14", "r14.admins_only")
    assert users.view(world.admin, by_hand.user.username).status == "pending"
    carrier.set_status(world.admin, by_hand.user.username, "activated")
    carrier.set_status(world.carrier, by_carrier.user.username, "failed", "porting not finished")
    with world.store.read() as session:
        events = audit.events(session, newest_first=False)
    assert [(e.operator, e.action, e.target) for e in events[-2:]] == [
        ("alice", "carrier.activated", by_hand.user.username),
        ("carrier", "carrier.failed", by_carrier.user.username),
    ]
    shown = [carrier.shown_operator(e.operator, e.action) for e in events]
    assert shown == ["alice", "alice", "carrier, applied by alice", "carrier"]


def test_r14_only_an_administrator_starts_the_simulator_which_acts_as_the_carrier(world: World) -> None:
    added = add(world)
    with pytest.raises(RuleRefused) as caught:
        simulator.start(world.helpdesk, once=True, delay=timedelta(0))
    assert (caught.value.rule, caught.value.reason_key) == ("R14", "r14.admins_only")
    assert users.view(world.admin, added.user.username).status == "pending"
    assert simulator.start(world.admin, once=True, delay=timedelta(0)) == 1
    with world.store.read() as session:
        newest = audit.events(session, limit=1)[0]
    assert (newest.operator, newest.action) == ("carrier", "carrier.activated")


def test_r4_call_groups_need_an_activated_user(world: World) -> None:
    added = add(world)
    name = added.user.username
    for group in ("BER Hunt", "BER Callcenter"):
        with pytest.raises(RuleRefused) as caught:
            groups.add_member(world.admin, group, name)
        assert caught.value.rule == "R4"
    groups.add_member(world.admin, "BER Pickup", name)
    groups.add_member(world.admin, "BER Park", name)
    # Also at creation: a pending user cannot be put in a hunt group.
    with pytest.raises(RuleRefused):
        add(world, number="030 12345002", groups=[{"group": "BER Hunt"}])
    assert queries.free_numbers  # creation rolled back: the number stays free
    with world.store.read() as session:
        assert "+493012345002" in queries.free_numbers(session, 1)
    carrier.set_status(world.carrier, name, "activated")
    groups.add_member(world.admin, "BER Hunt", name)
    groups.add_member(world.admin, "BER Callcenter", name, "agent")
    assert {g.name for g in users.view(world.admin, name).groups} == {
        "BER Hunt",
        "BER Callcenter",
        "BER Pickup",
        "BER Park",
    }


def test_r5_inactive_users_keep_configuration_but_allow_profile_and_call_services(world: World) -> None:
    added = add(world)
    name = added.user.username
    version = added.user.version
    with pytest.raises(RuleRefused) as caught:
        users.change_configuration(world.admin, name, ConfigChange(expected_version=version, first_name="Hans"))
    assert caught.value.rule == "R5"
    with pytest.raises(RuleRefused) as caught:
        users.delete_user(world.admin, name)
    assert caught.value.rule == "R5"
    view = users.edit_profile(world.admin, name, ProfileChange(expected_version=version, department="Vertrieb"))
    view = users.edit_call_services(
        world.admin, name, CallServicesChange(expected_version=view.version, forward_busy="5099", do_not_disturb=True)
    )
    assert (view.department, view.forward_busy, view.do_not_disturb) == ("Vertrieb", "5099", True)
    carrier.set_status(world.carrier, name, "activated")
    view = users.view(world.admin, name)
    changed, _ = users.change_configuration(
        world.admin, name, ConfigChange(expected_version=view.version, first_name="Hans")
    )
    assert changed.first_name == "Hans"


def test_r6_supervisor_without_the_service_is_allowed_with_a_notice(world: World) -> None:
    plain = add_active(world)
    assert groups.add_member(world.admin, "BER Callcenter", plain.user.username, "supervisor") == [
        "r6.supervisor_without_service"
    ]
    with_service = add_active(world, number="030 12345002", first_name="Eva", services=["supervisor"])
    assert groups.add_member(world.admin, "BER Callcenter", with_service.user.username, "supervisor") == []
    roles = {g.name: g.role for g in users.view(world.admin, plain.user.username).groups}
    assert roles == {"BER Callcenter": "supervisor"}


def test_r7_delete_frees_number_cleans_groups_and_reports_who_to_tell(world: World) -> None:
    leaving = add_active(world)
    staying = add_active(world, number="030 12345002", first_name="Eva", last_name="Schmidt")
    for user in (leaving, staying):
        groups.add_member(world.admin, "BER Hunt", user.user.username)
    pending = add(world, number="030 12345003", first_name="Paul")
    with pytest.raises(RuleRefused):
        users.delete_user(world.admin, pending.user.username)
    report = users.delete_user(world.admin, leaving.user.username)
    assert [(g.name, g.remaining) for g in report.groups] == [("BER Hunt", ["eva.schmidt"])]
    with world.store.read() as session:
        assert session.get(User, leaving.user.id) is None
        assert session.get(DeskPhoneCredential, leaving.user.id) is None
    # The number is free at once and can be given to a new user straight away.
    reused = add(world, number="030 12345001", first_name="Neu", last_name="Nutzer", email="neu@example.com")
    assert reused.user.number == "+493012345001"
    assert [m.username for m in _members(world, "BER Hunt")] == ["eva.schmidt"]


def _members(world: World, group: str) -> list[groups.MemberView]:
    return next(g for g in groups.list_groups(world.admin) if g.name == group).members


def test_r8_desk_phone_credentials_are_returned_once_and_stored_as_digests(world: World) -> None:
    added = add(world)
    issued = added.credentials
    assert issued is not None and issued.sip_username == "493012345001"
    assert "password" not in repr(issued) and issued.password not in repr(issued)
    with world.store.read() as session:
        row = session.get(DeskPhoneCredential, added.user.id)
        assert row is not None
        assert row.ha1_md5 == secrets.ha1("493012345001", "berlin.sip.example.net", issued.password, "md5")
        assert row.ha1_sha256 == secrets.ha1("493012345001", "berlin.sip.example.net", issued.password, "sha256")
    # The view never carries a secret; without a desk phone there are none.
    assert added.user.credentials is not None and not hasattr(added.user.credentials, "password")
    mobile_only = add(
        world,
        number="030 12345002",
        first_name="Eva",
        **NO_DESK_PHONE,
    )
    assert mobile_only.credentials is None


def test_r9_regenerate_replaces_the_old_digests(world: World) -> None:
    added = add(world)
    assert added.credentials is not None
    renewed = credentials.regenerate(world.admin, added.user.username)
    assert renewed.password != added.credentials.password
    with world.store.read() as session:
        row = session.get(DeskPhoneCredential, added.user.id)
        assert row is not None
        assert row.ha1_md5 == secrets.ha1(renewed.sip_username, renewed.sip_domain, renewed.password, "md5")
        assert row.ha1_md5 != secrets.ha1(renewed.sip_username, renewed.sip_domain, added.credentials.password, "md5")
    mobile_only = add(
        world,
        number="030 12345002",
        first_name="Eva",
        **NO_DESK_PHONE,
    )
    with pytest.raises(RuleRefused) as caught:
        credentials.regenerate(world.admin, mobile_only.user.username)
    assert caught.value.rule == "R9"


def test_r10_bulk_credentials_skip_users_without_desk_phone_all_or_nothing(world: World) -> None:
    a = add(world)
    b = add(world, number="030 12345002", first_name="Eva")
    c = add(
        world,
        number="030 12345003",
        first_name="Paul",
        **NO_DESK_PHONE,
    )
    result = credentials.bulk_reset(world.admin, [a.user.id, b.user.id, c.user.id])
    assert [i.username for i in result.issued] == [a.user.username, b.user.username]
    assert len({i.password for i in result.issued}) == 2
    assert [(s.target.username, s.rule) for s in result.skipped] == [(c.user.username, "R10")]
    # Admin-chosen: one password for all.
    chosen = credentials.bulk_reset(
        world.admin, [a.user.id, b.user.id], mode=CredentialMode.ADMIN, password="Sommer2026xy"
    )
    assert {i.password for i in chosen.issued} == {"Sommer2026xy"}
    # All or nothing: a password that contains one user's extension fails the whole batch, nothing changes.
    with world.store.read() as session:
        before = {uid: session.get(DeskPhoneCredential, uid).ha1_md5 for uid in (a.user.id, b.user.id)}  # type: ignore[union-attr]
    with pytest.raises(InvalidInput):
        credentials.bulk_reset(world.admin, [a.user.id, b.user.id], mode=CredentialMode.ADMIN, password="Winter5002abc")
    with world.store.read() as session:
        after = {uid: session.get(DeskPhoneCredential, uid).ha1_md5 for uid in (a.user.id, b.user.id)}  # type: ignore[union-attr]
    assert before == after


def test_r11_password_policy(world: World) -> None:
    generated = {secrets.system_password() for _ in range(200)}
    assert all(len(p) >= 16 and p.isalnum() and not set(p) & set("0O1lI") for p in generated)
    assert len(generated) == 200
    assert secrets.admin_password_errors("Sommer2026xy", "493012345001", "5001") == []
    cases = {
        "short1": "r11.length",
        "x" * 61 + "1": "r11.length",
        "onlyletters": "r11.letter_and_digit",
        "1234567890": "r11.letter_and_digit",
        "=Sommer2026": "r11.first_character",
        " Sommer2026": "r11.first_character",
        "ab493012345001": "r11.contains_username",
        "Sommer5001x": "r11.contains_extension",
    }
    for password, key in cases.items():
        keys = [e.key for e in secrets.admin_password_errors(password, "493012345001", "5001")]
        assert key in keys, (password, keys)


def test_r12_account_reset_needs_self_service_first_and_shows_code_once(world: World) -> None:
    added = add(world)
    with world.store.transaction() as session:
        user = session.get(User, added.user.id)
        assert user is not None
        user.portal_locked, user.failed_logins = True, 5
    with pytest.raises(RuleRefused) as caught:
        accounts.reset_account(world.admin, added.user.username, self_service_tried=False)
    assert caught.value.rule == "R12"
    result = accounts.reset_account(world.admin, added.user.username, self_service_tried=True)
    assert result.activation_code not in repr(result)
    with world.store.read() as session:
        user = session.get(User, added.user.id)
        assert user is not None and not user.portal_locked and user.failed_logins == 0
        assert user.activation_code_digest and result.activation_code not in user.activation_code_digest
        assert secrets.code_matches(result.activation_code, user.activation_code_digest)


def test_r13_there_is_no_deactivate_action() -> None:
    assert not [a for a in policy.Action if "deactiv" in a.value]
    for module in (users, groups, credentials, accounts, carrier):
        assert not [name for name, _ in inspect.getmembers(module) if "deactiv" in name.lower()]
    assert not [s for s in Status if "deactiv" in s.value or s.value == "inactive"]


def test_r14_helpdesk_sees_everything_and_changes_nothing(world: World) -> None:
    added = add_active(world)
    name = added.user.username
    assert users.view(world.helpdesk, name).username == name
    attempts = [
        lambda: users.add_user_from(world.helpdesk, new_user_data(number="030 12345002")),
        lambda: users.change_configuration(
            world.helpdesk, name, ConfigChange(expected_version=added.user.version + 1, first_name="X")
        ),
        lambda: users.edit_profile(
            world.helpdesk, name, ProfileChange(expected_version=added.user.version + 1, department="X")
        ),
        lambda: users.delete_user(world.helpdesk, name),
        lambda: groups.add_member(world.helpdesk, "BER Pickup", name),
        lambda: credentials.regenerate(world.helpdesk, name),
        lambda: credentials.bulk_reset(world.helpdesk, [added.user.id]),
        lambda: accounts.reset_account(world.helpdesk, name, self_service_tried=True),
        lambda: groups.remove_member(world.helpdesk, "BER Pickup", name),
        lambda: carrier.set_status(world.helpdesk, name, "failed", "porting not finished"),
        lambda: simulator.start(world.helpdesk, once=True),
        lambda: operators.add_operator(world.helpdesk, NewOperator(name="eve", role="admin")),
        # R14 comes before any field check and before looking anything up.
        lambda: users.add_user_from(world.helpdesk, new_user_data(number="030 12345002", email="not-an-address")),
        lambda: groups.add_member(world.helpdesk, "No such group", "nobody"),
        lambda: groups.remove_member(world.helpdesk, "No such group", "nobody"),
        lambda: carrier.set_status(world.helpdesk, "nobody", "failed", ""),
    ]
    for attempt in attempts:
        with pytest.raises(RuleRefused) as caught:
            attempt()
        assert (caught.value.rule, caught.value.reason_key) == ("R14", "r14.admins_only")
    assert users.view(world.admin, name).first_name == added.user.first_name
    # The table says the same for every change action and status.
    for action, role, _status, decision in policy.matrix():
        if action in policy.CHANGES and role == "helpdesk":
            assert not decision.allowed


def test_r15_every_change_writes_one_audit_event_without_secrets(world: World) -> None:
    from onenet_tui.data import audit

    added = add(world)
    carrier.set_status(world.carrier, added.user.username, "activated")
    renewed = credentials.regenerate(world.admin, added.user.username)
    code = accounts.reset_account(world.admin, added.user.username, self_service_tried=True).activation_code
    with world.store.read() as session:
        events = audit.events(session, newest_first=False)
    assert [(e.operator, e.action) for e in events] == [
        ("alice", "user.add"),
        ("carrier", "carrier.activated"),
        ("alice", "credentials.regenerate"),
        ("alice", "account.reset"),
    ]
    dumped = repr([e.details for e in events])
    assert renewed.password not in dumped and code not in dumped
    assert added.credentials is not None and added.credentials.password not in dumped
    # A failing change writes no event: the event shares the change's transaction.
    with pytest.raises(RuleRefused):
        users.delete_user(world.helpdesk, added.user.username)
    with world.store.read() as session:
        assert len(audit.events(session)) == 4
    with world.store.transaction() as session, pytest.raises(ValueError):
        audit.record(session, world.admin.actor, "x", "y", password="nope")


def test_r16_number_must_be_a_free_valid_number_of_the_own_site(world: World) -> None:
    add(world)
    assert refused_fields(world, first_name="Eva", number="030 12345001")["number"] == "r16.not_free"
    assert refused_fields(world, first_name="Eva", number="12")["number"] == "r16.invalid"
    assert refused_fields(world, first_name="Eva", number="030 99999999")["number"] == "r16.not_in_pool"
    # A number of London's pool typed for Berlin is named as London's (issue 15).
    assert refused_fields(world, first_name="Eva", number="+442079460001")["number"] == "r16.other_site"
    assert refused_fields(world, first_name="Eva", site="London", number="+442079460099")["number"] == "r16.not_in_pool"
    london_in_berlin = refused_fields(world, first_name="Eva", site="Berlin", number="+4930123450")
    assert london_in_berlin["number"] in {"r16.invalid", "r16.not_in_pool"}
    # International and national input both work.
    assert add(world, first_name="Eva", number="+49 30 12345002").user.number == "+493012345002"


def test_r17_mobile_and_contract_depend_on_the_device(world: World) -> None:
    without = dict(device_type="none", desk_phone_model=None)
    assert refused_fields(world, **without) == {"mobile": "r17.mobile_required", "contract": "r17.contract_required"}
    assert refused_fields(world, **without, mobile="030 12345009", contract="123456")["mobile"] == "r17.mobile_invalid"
    # A UK mobile is not valid for a German site, and a German one not for a UK site.
    assert refused_fields(world, **without, mobile=GB_MOBILE, contract="123456")["mobile"] == "r17.mobile_invalid"
    assert (
        refused_fields(world, **without, site="London", number="020 7946 0001", mobile=DE_MOBILE, contract="123456")[
            "mobile"
        ]
        == "r17.mobile_invalid"
    )
    assert refused_fields(world, **without, mobile=DE_MOBILE, contract="12345")["contract"] == "r17.contract_invalid"
    ok = add(world, **without, mobile="01512 3456789", contract="123456")
    assert (ok.user.mobile, ok.user.contract) == (DE_MOBILE, "123456")
    # Optional with a desk phone.
    assert add(world, number="030 12345002", first_name="Eva").user.mobile is None


def test_r18_email_is_required_and_valid(world: World) -> None:
    assert refused_fields(world, email="")["email"] == "r18.required"
    assert refused_fields(world, email="not-an-address")["email"] == "r18.invalid"
    assert refused_fields(world, email="a@b@c.de")["email"] == "r18.invalid"
    assert add(world, email="Jürgen.Müller@example.com").user.email == "Jürgen.Müller@example.com"


def test_r19_username_defaults_folded_unique_and_checked(world: World) -> None:
    first = add(world, first_name="Zoë", last_name="Ölçüm-Straße")
    assert first.user.username == "zoe.oelcuemstrasse"
    second = add(world, number="030 12345002", first_name="Zoë", last_name="Ölçüm-Straße")
    assert second.user.username == "zoe.oelcuemstrasse2"
    assert refused_fields(world, number="030 12345003", username="ab")["username"] == "r19.length"
    assert refused_fields(world, number="030 12345003", username="a+b@c")["username"] == "r19.forbidden"
    assert refused_fields(world, number="030 12345003", username="with space")["username"] == "r19.space"
    assert refused_fields(world, number="030 12345003", username=first.user.username)["username"] == "r19.taken"
    assert add(world, number="030 12345003", username="zentrale.empfang").user.username == "zentrale.empfang"


def test_user_lookup_by_username_extension_at_site_and_number(world: World) -> None:
    added = add(world)
    with world.store.read() as session:
        for ref in (added.user.username, "5001@Berlin", "+493012345001"):
            assert lookup.user_by_ref(session, ref).id == added.user.id


def test_stale_change_is_refused_and_nothing_is_lost(world: World) -> None:
    from onenet_tui.data.errors import StaleData

    added = add_active(world)
    name = added.user.username
    version = users.view(world.admin, name).version
    users.edit_profile(world.admin, name, ProfileChange(expected_version=version, department="Vertrieb"))
    with pytest.raises(StaleData):
        users.edit_profile(world.admin, name, ProfileChange(expected_version=version, job_title="Chef"))
    view = users.view(world.admin, name)
    assert (view.department, view.job_title) == ("Vertrieb", None)


def test_pending_carrier_simulation_activates_and_fails_flagged(world: World) -> None:
    from datetime import timedelta

    ok = add(world)
    flagged = add(world, number="030 12345039", accept_flagged=True, first_name="Eva")
    done = carrier.run_once(world.carrier, delay=timedelta(0))
    assert {(t.username, t.status) for t in done} == {
        (ok.user.username, "activated"),
        (flagged.user.username, "failed"),
    }
    assert users.view(world.admin, flagged.user.username).status_reason == "porting not finished"
    assert carrier.run_once(world.carrier, delay=timedelta(0)) == []
    assert Status.ACTIVATED.value == users.view(world.admin, ok.user.username).status


def test_carrier_simulation_can_leave_earlier_pending_users_alone(world: World) -> None:
    from datetime import timedelta

    from onenet_tui.data.models import utcnow

    earlier = add(world)
    opened = utcnow()
    later = add(world, number="030 12345002", first_name="Eva")
    done = carrier.run_once(world.carrier, delay=timedelta(0), pending_since=opened)
    assert [t.username for t in done] == [later.user.username]
    assert users.view(world.admin, earlier.user.username).status == "pending"
