"""Concurrent writers on PostgreSQL, each with its own connection: the loser
of a race is refused cleanly and nothing is lost (SPEC section 7)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import event, select, text

from onenet_tui.data import carrier, credentials, secrets, users
from onenet_tui.data.context import Context, resolve_actor
from onenet_tui.data.credentials import IssuedCredentials
from onenet_tui.data.errors import Conflict, StaleData
from onenet_tui.data.models import DeskPhoneCredential, Operator, Role
from onenet_tui.data.schemas import ConfigChange, ProfileChange
from onenet_tui.data.storage import Store
from tests.helpers import World, add, add_active, build_world, new_user_data

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_world(pg_url: str) -> Iterator[World]:
    store = Store(pg_url)
    yield build_world(store)
    store.dispose()


def wait_until_blocked(store: Store, second: threading.Thread, application: str, timeout: float = 20.0) -> None:
    """Wait until the connections named ``application`` wait on a lock (a
    row, an index entry or an advisory lock), or until ``second`` finished
    without ever waiting, which is the race being lost: the outcomes then
    show it. Other tests' connections on the same server are not counted."""
    deadline = time.monotonic() + timeout
    with store.engine.connect() as conn:
        while time.monotonic() < deadline and second.is_alive():
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database() AND application_name = :application"
                ),
                {"application": application},
            ).scalar_one()
            if waiting:
                return
            time.sleep(0.02)
    if second.is_alive():
        raise AssertionError("the second writer neither waited for the first nor finished")


def race(
    monkeypatch: pytest.MonkeyPatch,
    world: World,
    first: Callable[[Context], Any],
    second: Callable[[Context], Any],
    pause_in: str | None = None,
    *,
    module: ModuleType = users,
    pause_after_sql: str | None = None,
) -> tuple[Any, Any]:
    """Run ``first`` on one connection and hold its transaction open (paused
    after ``module.<pause_in>`` returns, or after it ran a statement containing
    ``pause_after_sql``) until ``second``, on another connection, is blocked by
    it or done; then let both finish. Returns each outcome (result or exception)."""
    application = f"race-{uuid.uuid4().hex[:12]}"
    other = Store(f"{world.store.url}{'&' if '?' in world.store.url else '?'}application_name={application}")
    ctx_a, ctx_b = world.admin, Context(other, world.admin.actor)
    release = threading.Event()

    def hold() -> None:
        if threading.current_thread().name == "first":
            release.wait(30)

    if pause_in is not None:
        original = getattr(module, pause_in)

        def paused(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            hold()
            return result

        monkeypatch.setattr(module, pause_in, paused)
    if pause_after_sql is not None:

        def after_sql(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
            if pause_after_sql in statement:
                hold()

        event.listen(world.store.engine, "after_cursor_execute", after_sql)
    outcomes: dict[str, Any] = {}

    def run(name: str, call: Callable[[Context], Any], ctx: Context) -> None:
        try:
            outcomes[name] = call(ctx)
        except Exception as exc:  # noqa: BLE001 - the outcome is what we test
            outcomes[name] = exc

    a = threading.Thread(target=run, args=("first", first, ctx_a), name="first")
    b = threading.Thread(target=run, args=("second", second, ctx_b), name="second")
    a.start()
    time.sleep(0.2)  # let the first reach its pause; the lock wait below is what we rely on
    b.start()
    try:
        wait_until_blocked(world.store, b, application)
    finally:
        release.set()
        a.join(30)
        b.join(30)
        other.dispose()
        if pause_after_sql is not None:
            event.remove(world.store.engine, "after_cursor_execute", after_sql)
    return outcomes["first"], outcomes["second"]


def test_two_admins_change_the_same_user_one_gets_stale_data(monkeypatch: pytest.MonkeyPatch, pg_world: World) -> None:
    added = add_active(pg_world)
    name = added.user.username
    version = users.view(pg_world.admin, name).version
    first, second = race(
        monkeypatch,
        pg_world,
        lambda ctx: users.edit_profile(ctx, name, ProfileChange(expected_version=version, department="Vertrieb")),
        lambda ctx: users.edit_profile(ctx, name, ProfileChange(expected_version=version, job_title="Leitung")),
        pause_in="user_view",
    )
    assert not isinstance(first, Exception), first
    assert isinstance(second, StaleData)
    view = users.view(pg_world.admin, name)
    # The winner's change is kept, the loser's is not half-applied.
    assert (view.department, view.job_title, view.version) == ("Vertrieb", None, version + 1)


def test_two_users_given_the_same_number_at_once_one_is_refused(
    monkeypatch: pytest.MonkeyPatch, pg_world: World
) -> None:
    number = "030 12345007"
    first, second = race(
        monkeypatch,
        pg_world,
        lambda ctx: users.add_user_from(ctx, new_user_data(number=number, first_name="Erste")),
        lambda ctx: users.add_user_from(ctx, new_user_data(number=number, first_name="Zweite", extension="7007")),
        pause_in="user_view",
    )
    assert not isinstance(first, Exception), first
    assert isinstance(second, Conflict) and second.key == "conflict.number"
    holders = [u for u in ("erste.mueller", "zweite.mueller") if _exists(pg_world, u)]
    assert holders == ["erste.mueller"]


def _exists(world: World, username: str) -> bool:
    from onenet_tui.data.errors import NotFound

    try:
        users.view(world.admin, username)
    except NotFound:
        return False
    return True


def test_carrier_transitions_happen_once_with_two_simulators(pg_world: World) -> None:
    from datetime import timedelta

    from onenet_tui.data import audit
    from onenet_tui.data.context import carrier_context

    for n in range(10):
        add(pg_world, number=f"030 123450{10 + n}", first_name=f"Nutzer{n}")
    stores = [Store(pg_world.store.url) for _ in range(2)]
    results: list[list[carrier.Transition]] = [[], []]
    barrier = threading.Barrier(2)

    def simulate(i: int) -> None:
        barrier.wait()
        results[i] = carrier.run_once(carrier_context(stores[i]), delay=timedelta(0))

    threads = [threading.Thread(target=simulate, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    for s in stores:
        s.dispose()
    done = [t.username for r in results for t in r]
    assert sorted(done) == sorted(set(done)) and len(done) == 10
    with pg_world.store.read() as session:
        events = [e for e in audit.events(session) if e.action.startswith("carrier.")]
    assert len(events) == 10


def test_r14_two_first_operators_at_once_only_one_becomes_admin(
    monkeypatch: pytest.MonkeyPatch, pg_world: World
) -> None:
    first, second = race(
        monkeypatch,
        pg_world,
        lambda ctx: resolve_actor(ctx.store, "anna"),
        lambda ctx: resolve_actor(ctx.store, "bert"),
        # Paused once the first has counted the operators there are (none).
        pause_after_sql="count(",
    )
    assert {first.name: first.role, second.name: second.role} == {"anna": Role.ADMIN, "bert": Role.HELPDESK}
    with pg_world.store.read() as session:
        roles = {o.name: o.role for o in session.execute(select(Operator)).scalars()}
    assert roles == {"anna": "admin", "bert": "helpdesk"}


def _credential_row(world: World, user_id: int) -> DeskPhoneCredential:
    with world.store.read() as session:
        row = session.get(DeskPhoneCredential, user_id)
    assert row is not None
    return row


def _verifies(row: DeskPhoneCredential, issued: IssuedCredentials) -> bool:
    return (row.sip_username, row.ha1_sha256) == (
        issued.sip_username,
        secrets.ha1(issued.sip_username, row.realm, issued.password, "sha256"),
    )


def test_r10_bulk_reset_never_writes_credentials_for_a_number_changed_meanwhile(
    monkeypatch: pytest.MonkeyPatch, pg_world: World
) -> None:
    moved = add_active(pg_world)
    other = add_active(pg_world, first_name="Eva", number="030 12345002")
    ids = [moved.user.id, other.user.id]
    version = users.view(pg_world.admin, moved.user.username).version
    bulk_result, change_result = race(
        monkeypatch,
        pg_world,
        lambda ctx: credentials.bulk_reset(ctx, ids),
        lambda ctx: users.change_configuration(
            ctx, moved.user.username, ConfigChange(expected_version=version, number="030 12345020")
        ),
        # Paused after reading its targets, before writing their digests.
        pause_in="bulk_targets",
        module=credentials,
    )
    assert not isinstance(bulk_result, Exception), bulk_result
    assert not isinstance(change_result, Exception), change_result
    _, fresh = change_result
    assert fresh is not None and fresh.sip_username == "493012345020"
    # The other admin's fresh credentials still work: nothing stale overwrote them.
    assert _verifies(_credential_row(pg_world, moved.user.id), fresh)
    # Eva's reset went through.
    eva = next(c for c in bulk_result.issued if c.username == other.user.username)
    assert _verifies(_credential_row(pg_world, other.user.id), eva)
    # The freed number can be given to a new desk phone user straight away (R7, R16).
    newcomer = users.add_user_from(pg_world.admin, new_user_data(first_name="Neu", number="030 12345001"))
    assert newcomer.credentials is not None and newcomer.credentials.sip_username == "493012345001"


def test_r19_two_admins_adding_the_same_name_at_once_both_succeed(
    monkeypatch: pytest.MonkeyPatch, pg_world: World
) -> None:
    anna = {"first_name": "Anna", "last_name": "Schmidt", "email": "anna@example.com"}
    first, second = race(
        monkeypatch,
        pg_world,
        lambda ctx: users.add_user_from(ctx, new_user_data(number="030 12345010", **anna)),
        lambda ctx: users.add_user_from(ctx, new_user_data(number="030 12345011", **anna)),
        pause_in="user_view",
    )
    assert not isinstance(first, Exception), first
    assert not isinstance(second, Exception), second
    # The proposed username moved on to the next free suffix.
    assert (first.user.username, second.user.username) == ("anna.schmidt", "anna.schmidt2")


def test_r19_a_typed_username_taken_at_the_same_moment_is_refused(
    monkeypatch: pytest.MonkeyPatch, pg_world: World
) -> None:
    first, second = race(
        monkeypatch,
        pg_world,
        lambda ctx: users.add_user_from(ctx, new_user_data(number="030 12345010", username="chef")),
        lambda ctx: users.add_user_from(ctx, new_user_data(number="030 12345011", username="chef")),
        pause_in="user_view",
    )
    assert not isinstance(first, Exception), first
    assert isinstance(second, Conflict) and second.key == "conflict.username"


def _extension_index_first(world: World) -> None:
    """As after a dump and restore (constraints re-created by name), the
    extension's index comes first, so the driver names the extension."""
    with world.store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE users DROP CONSTRAINT users_number_id_key")
        conn.exec_driver_sql("ALTER TABLE users ADD CONSTRAINT users_number_id_key UNIQUE (number_id)")


def test_r16_two_admins_racing_for_one_number_are_told_about_the_number(
    monkeypatch: pytest.MonkeyPatch, pg_world: World
) -> None:
    _extension_index_first(pg_world)
    # Both take the number's default extension too: the number is what clashed.
    number = "030 12345012"
    first, second = race(
        monkeypatch,
        pg_world,
        lambda ctx: users.add_user_from(ctx, new_user_data(number=number, first_name="Erste")),
        lambda ctx: users.add_user_from(ctx, new_user_data(number=number, first_name="Zweite")),
        pause_in="user_view",
    )
    assert not isinstance(first, Exception), first
    assert isinstance(second, Conflict) and second.key == "conflict.number", second
    assert "R16" in second.message()


def test_r16_two_admins_moving_users_to_one_number_are_told_about_the_number(
    monkeypatch: pytest.MonkeyPatch, pg_world: World
) -> None:
    _extension_index_first(pg_world)
    erste = add_active(pg_world, first_name="Erste", number="030 12345013").user
    zweite = add_active(pg_world, first_name="Zweite", number="030 12345014").user

    def move(user: Any) -> Callable[[Context], Any]:
        version = users.view(pg_world.admin, user.username).version
        change = ConfigChange(expected_version=version, number="030 12345015")
        return lambda ctx: users.change_configuration(ctx, user.username, change)

    first, second = race(monkeypatch, pg_world, move(erste), move(zweite), pause_in="user_view")
    assert not isinstance(first, Exception), first
    assert isinstance(second, Conflict) and second.key == "conflict.number", second


def test_r22_two_admins_saving_one_group_s_members_at_once_one_gets_stale_data(
    monkeypatch: pytest.MonkeyPatch, pg_world: World
) -> None:
    from onenet_tui.data import groups, memberships, versions

    one = add_active(pg_world).user.username
    two = add_active(pg_world, first_name="Anna", last_name="Schmidt", email="a@example.com", number="030 12345002")
    seen = groups.group_detail(pg_world.admin, "BER Hunt").version
    first, second = race(
        monkeypatch,
        pg_world,
        lambda ctx: memberships.set_group_members(ctx, "BER Hunt", [(one, None)], expected_version=seen),
        # The same member too: without the lock taken first, the loser would trip over the
        # winner's membership row instead of hearing that the group changed.
        lambda ctx: memberships.set_group_members(
            ctx, "BER Hunt", [(one, None), (two.user.username, None)], expected_version=seen
        ),
        pause_in="bump_group",
        module=versions,
    )
    assert not isinstance(first, Exception), first
    assert isinstance(second, StaleData)
    detail = groups.group_detail(pg_world.admin, "BER Hunt")
    assert [m.username for m in detail.members] == [one] and detail.version == seen + 1
