"""R24 on the wire (SPEC section 13): a real Kamailio reads the test's
PostgreSQL schema through the registrar role, SIPp plays the desk phones with
the credentials the console issued. Refusals are pinned down: 403 for an
unknown user or a wrong password (after the 401 challenge), 480 for a call to
a pending user."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from onenet_tui.data import carrier, credentials, users
from onenet_tui.data.credentials import IssuedCredentials
from onenet_tui.data.schemas import ConfigChange
from onenet_tui.data.storage import Store
from tests.helpers import BOB_WITHOUT_DESK_PHONE, World, add, add_active, build_world
from tests.sip import LOOPBACK, Registrar, answering_phone, play, running_registrar

# A number no console user has: the registrar sends it to the carrier's trunk.
OUTSIDE = "4989555000"


@pytest.fixture
def world(pg_url: str) -> Iterator[World]:
    store = Store(pg_url)
    yield build_world(store)
    store.dispose()


@pytest.fixture
def kamailio(world: World, pg_url: str, tmp_path: Path) -> Iterator[Registrar]:
    with running_registrar(world.admin, pg_url, tmp_path) as running:
        yield running
    # Nothing of ours is left running: Kamailio and all its children are gone.
    left = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True, timeout=10)
    assert left.stdout == "", left.stdout


def phone(issued: IssuedCredentials | None, contact: str = f"{LOOPBACK}:9") -> list[str]:
    """An injection row of register.xml: the credentials as the console showed them."""
    assert issued is not None
    return [issued.sip_username, issued.sip_domain, issued.password, contact]


def caller(issued: IssuedCredentials | None, called: str) -> list[str]:
    assert issued is not None
    return [issued.sip_username, issued.sip_domain, issued.password, called]


def registers(kamailio: Registrar, *rows: list[str]) -> bool:
    played = play(kamailio, "register.xml", rows)
    return played.passed


def refused(kamailio: Registrar, *rows: list[str]) -> bool:
    """Every row's REGISTER is challenged (401), then refused with 403."""
    return play(kamailio, "register_refused.xml", rows).passed


def test_r24_a_new_desk_phone_user_registers_with_the_credentials_shown(world: World, kamailio: Registrar) -> None:
    added = add(world)
    assert registers(kamailio, phone(added.credentials)), kamailio.log


def test_r24_regenerate_the_old_password_is_refused_the_new_one_accepted(world: World, kamailio: Registrar) -> None:
    added = add_active(world)
    old = phone(added.credentials)
    assert registers(kamailio, old)
    new = phone(credentials.regenerate(world.admin, added.user.username))
    assert refused(kamailio, old)
    assert registers(kamailio, new)


def test_r24_a_wrong_password_is_refused_not_challenged_again(world: World, kamailio: Registrar) -> None:
    row = phone(add(world).credentials)
    row[2] = row[2] + "x"
    assert refused(kamailio, row)
    # The pinned code is 403: the scenario that expects 200 fails on it.
    assert not registers(kamailio, row)


def test_r24_bulk_reset_a_sample_old_passwords_refused_new_ones_accepted(world: World, kamailio: Registrar) -> None:
    numbers = ["030 12345001", "030 12345002", "030 12345003", "030 12345004"]
    added = [
        add(world, first_name=f"Sam{i}", last_name="Bulk", email=f"sam{i}@example.com", number=n)
        for i, n in enumerate(numbers)
    ]
    old = [phone(a.credentials) for a in added]
    result = credentials.bulk_reset(world.admin, [a.user.id for a in added if a.user.id is not None])
    assert len(result.issued) == 4
    assert refused(kamailio, *old)
    assert registers(kamailio, *(phone(i) for i in result.issued))


def test_r24_a_deleted_user_is_refused_and_the_freed_numbers_new_user_registers(
    world: World, kamailio: Registrar
) -> None:
    gone = add_active(world)
    old = phone(gone.credentials)
    assert registers(kamailio, old)
    users.delete_user(world.admin, gone.user.username)
    assert refused(kamailio, old)
    # The freed number (the same SIP username) goes to someone else, with their own password.
    heir = add(world, first_name="Nina", last_name="Neu", email="nina@example.com", number="030 12345001")
    assert heir.credentials is not None and heir.credentials.sip_username == old[0]
    assert registers(kamailio, phone(heir.credentials))
    assert refused(kamailio, old)


def test_r24_a_user_without_a_desk_phone_is_refused(world: World, kamailio: Registrar) -> None:
    # Someone who never had a desk phone has no credentials: any password is refused.
    bob = add(world, **BOB_WITHOUT_DESK_PHONE)
    assert bob.credentials is None
    assert refused(kamailio, ["493012345004", "berlin.sip.example.net", "Guessed-Password-1", f"{LOOPBACK}:9"])
    # Someone whose desk phone is taken away can no longer register with it.
    added = add_active(world)
    row = phone(added.credentials)
    assert registers(kamailio, row)
    version = users.view(world.admin, added.user.username).version
    users.change_configuration(
        world.admin,
        added.user.username,
        ConfigChange(expected_version=version, device_type="none", mobile="+4915123456789", contract="1234567"),
    )
    assert refused(kamailio, row)


def test_r24_a_failed_user_cannot_register(world: World, kamailio: Registrar) -> None:
    added = add(world)
    row = phone(added.credentials)
    carrier.set_status(world.carrier, added.user.username, "failed", "porting refused")
    assert refused(kamailio, row)


def test_r24_a_pending_user_calls_out_but_is_reachable_only_once_activated(world: World, kamailio: Registrar) -> None:
    pending = add(world)
    colleague = add_active(
        world, first_name="Anna", last_name="Schmidt", email="anna@example.com", number="030 12345002"
    )
    assert pending.credentials is not None
    # A pending user may register and call out: the carrier's trunk answers.
    with answering_phone(kamailio, kamailio.gateway_port):
        out = play(kamailio, "invite.xml", [caller(pending.credentials, OUTSIDE)])
    assert out.passed, out.out + kamailio.log
    # Their phone is registered, but calls to them are refused until the carrier activates them.
    with answering_phone(kamailio) as desk:
        assert registers(kamailio, phone(pending.credentials, f"{LOOPBACK}:{desk}"))
        call_them = [caller(colleague.credentials, pending.credentials.sip_username)]
        to_pending = play(kamailio, "invite_unreachable.xml", call_them)
        assert to_pending.passed, to_pending.out
        carrier.set_status(world.carrier, pending.user.username, "activated")
        # At once: the registrar reads the status from the same database.
        reached = play(kamailio, "invite.xml", call_them)
        assert reached.passed, reached.out + kamailio.log
