"""R24 on the wire (SPEC section 13): a real Kamailio reads the test's
PostgreSQL schema through the registrar role, SIPp plays the desk phones with
the credentials the console issued. Refusals are pinned down: 403 for an
unknown user or a wrong password (after the 401 challenge), 480 for a call to
a pending user."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, bindparam, create_engine, text

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


# --- the database gone, and changes racing each other ----------------------------


@contextmanager
def database_refused(pg_url: str, role: str) -> Iterator[None]:
    """PostgreSQL refuses the registrar's role: its connections are ended and
    a new login is refused (what Kamailio meets when the server went away or
    the role was locked), until the block ends."""
    admin = create_engine(pg_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"ALTER ROLE {role} NOLOGIN"))
            ended = conn.execute(
                text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = :role"),
                {"role": role},
            ).scalar_one()
        assert ended >= 1  # Kamailio was connected: this breaks a live connection
        yield
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"ALTER ROLE {role} LOGIN"))
        admin.dispose()


def test_r24_without_its_database_the_registrar_answers_500_and_never_200(
    world: World, kamailio: Registrar, pg_url: str
) -> None:
    row = phone(add_active(world).credentials)
    assert registers(kamailio, row)  # connected, and the phone known
    with database_refused(pg_url, kamailio.role):
        unavailable = play(kamailio, "register_unavailable.xml", [row])
        assert unavailable.passed, unavailable.out + kamailio.log
        # Asked again (a reconnection is tried each time): still not accepted.
        assert not registers(kamailio, row)
    # The database back: Kamailio reconnects by itself, the phone registers again.
    assert registers(kamailio, row), kamailio.log


def _blocked_by(admin: Engine, holder: int) -> int:
    """How many sessions wait, directly or behind one another, for a lock
    the session ``holder`` holds (a second waiter for a row waits on the first)."""
    with admin.connect() as conn:
        waiting = conn.execute(
            text("SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0")
        ).all()
    behind = {holder}
    grew = True
    while grew:
        before = len(behind)
        behind |= {pid for pid, blockers in waiting if behind & set(blockers)}
        grew = len(behind) > before
    return len(behind) - 1


def _wait_blocked(admin: Engine, holder: int, count: int) -> None:
    deadline = time.monotonic() + 20  # a bound, not an expectation: it takes milliseconds
    while _blocked_by(admin, holder) < count:
        assert time.monotonic() < deadline, "the changes never reached the locked row"
        time.sleep(0.02)


def _race(admin: Engine, user_id: int, first: Callable[[], object], second: Callable[[], object]) -> list[object]:
    """Run ``first`` and ``second`` at the same time, made to meet: both wait
    on the user's credentials row, locked here, ``first`` ahead in the queue."""
    with admin.connect() as holder, ThreadPoolExecutor(2) as pool:
        held = holder.begin()
        holder.execute(text("SELECT 1 FROM desk_phone_credentials WHERE user_id = :id FOR UPDATE"), {"id": user_id})
        pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
        running = [pool.submit(first)]
        _wait_blocked(admin, pid, 1)
        running.append(pool.submit(second))
        _wait_blocked(admin, pid, 2)
        held.rollback()
        return [job.result(timeout=30) for job in running]


def test_r24_a_regenerate_racing_the_carriers_activation_both_count_at_the_registrar(
    world: World, kamailio: Registrar, pg_url: str
) -> None:
    colleague = add_active(
        world, first_name="Anna", last_name="Schmidt", email="anna@example.com", number="030 12345002"
    )
    racers = [add(world), add(world, first_name="Eva", last_name="Eng", email="eva@example.com", number="030 12345003")]
    old = [phone(r.credentials) for r in racers]
    admin = create_engine(pg_url)
    try:
        issued: list[IssuedCredentials] = []
        for i, racer in enumerate(racers):
            assert racer.user.id is not None
            name = racer.user.username

            def regenerate(name: str = name) -> IssuedCredentials:
                return credentials.regenerate(world.admin, name)

            def activate(name: str = name) -> object:
                return carrier.set_status(world.carrier, name, "activated")

            # Both orders: the regenerate first, then the activation first.
            done = (
                _race(admin, racer.user.id, regenerate, activate)
                if i == 0
                else _race(admin, racer.user.id, activate, regenerate)
            )
            issued.append(next(d for d in done if isinstance(d, IssuedCredentials)))
        with admin.connect() as conn:
            seen = conn.execute(
                text("SELECT username, status FROM registrar_subscriber WHERE username IN :names").bindparams(
                    bindparam("names", expanding=True)
                ),
                {"names": [i.sip_username for i in issued]},
            ).all()
        assert sorted(status for _, status in seen) == ["activated", "activated"]
    finally:
        admin.dispose()
    # On the wire: the old passwords are refused, the new ones accepted, and
    # both users are reachable (an activated user's phone rings, R24).
    assert refused(kamailio, *old)
    with answering_phone(kamailio, calls=2) as desk:
        assert registers(kamailio, *(phone(i, f"{LOOPBACK}:{desk}") for i in issued)), kamailio.log
        reached = play(kamailio, "invite.xml", [caller(colleague.credentials, i.sip_username) for i in issued])
        assert reached.passed, reached.out + kamailio.log
