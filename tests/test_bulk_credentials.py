"""Bulk desk phone credentials (R10, R11) below the screens: the preview, the
live password check, the shared reset-and-export flow and the CSV file.

The screens are tested in ``test_bulk_credentials_screens.py``; the pictures
in ``test_bulk_credentials_snapshots.py``."""

from __future__ import annotations

import csv
import logging
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from onenet_tui.data import bulk, carrier, credentials, exports, handover, secrets, selection, users
from onenet_tui.data.credentials import IssuedCredentials
from onenet_tui.data.errors import Conflict, InvalidInput, RuleRefused
from onenet_tui.data.models import AuditEvent, CredentialMode, DeskPhoneCredential, User
from onenet_tui.data.schemas import ConfigChange
from onenet_tui.data.storage import Store
from tests.helpers import BOB_WITHOUT_DESK_PHONE, World, add, add_active, build_world, without_desk_phone


def desk_and_mobile_users(world: World) -> dict[str, int]:
    """Two activated desk phone users, a pending one, and one without a desk phone."""
    ids = {
        "juergen": add_active(world).user.id,
        "anna": add_active(
            world, first_name="Anna", last_name="Schmidt", email="anna@example.com", number="030 12345002"
        ).user.id,
        "carla": add(
            world, first_name="Carla", last_name="Klein", email="carla@example.com", number="030 12345003"
        ).user.id,
        "bob": without_desk_phone(world),
    }
    return {name: uid for name, uid in ids.items() if uid is not None}  # type: ignore[misc]


def digests(world: World) -> dict[int, tuple[str, str]]:
    with world.store.read() as session:
        rows = session.execute(select(DeskPhoneCredential)).scalars()
        return {row.user_id: (row.ha1_md5, row.ha1_sha256) for row in rows}


def audit_actions(world: World) -> list[str]:
    with world.store.read() as session:
        return list(session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


def verifies(world: World, issued: IssuedCredentials) -> bool:
    with world.store.read() as session:
        row = session.execute(
            select(DeskPhoneCredential).where(DeskPhoneCredential.sip_username == issued.sip_username)
        ).scalar_one()
    return row.ha1_md5 == secrets.ha1(
        issued.sip_username, row.realm, issued.password, "md5"
    ) and row.ha1_sha256 == secrets.ha1(issued.sip_username, row.realm, issued.password, "sha256")


# --- the preview -----------------------------------------------------------------------


def test_r10_preview_lists_who_gets_a_password_and_who_is_skipped_with_the_reason(world: World) -> None:
    ids = desk_and_mobile_users(world)
    chosen = [ids["bob"], ids["juergen"], ids["anna"], ids["carla"], ids["juergen"]]
    preview = bulk.preview(world.admin, chosen)
    assert [t.username for t in preview.issue] == ["juergen.mueller", "anna.schmidt", "carla.klein"]
    assert [(s.target.username, s.rule, s.reason_key) for s in preview.skipped] == [
        ("bob.mobil", "R10", "r10.no_desk_phone")
    ]
    assert preview.missing == 0
    first = preview.issue[0]
    assert (first.extension, first.site, first.sip_username) == ("5001", "Berlin", "493012345001")
    # The service, deciding for real, agrees with the preview.
    result = credentials.bulk_reset(world.admin, preview.ids)
    assert [c.username for c in result.issued] == [t.username for t in preview.issue]
    assert [s.target.username for s in result.skipped] == ["bob.mobil"]
    with world.store.read() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "credentials.bulk_reset")).scalar_one()
    assert event.details["skipped"] == ["bob.mobil"]


def test_r10_preview_counts_users_that_no_longer_exist_and_leaves_them_out(world: World) -> None:
    ids = desk_and_mobile_users(world)
    preview = bulk.preview(world.admin, [ids["juergen"], 999_999])
    assert preview.missing == 1
    assert preview.ids == [ids["juergen"]]


# --- R11 for one password shared by everybody ---------------------------------------------


def test_r11_admin_password_problem_names_the_first_user_it_fails_for(world: World) -> None:
    ids = desk_and_mobile_users(world)
    targets = bulk.preview(world.admin, list(ids.values())).issue
    assert bulk.admin_password_problem("Gartenzaun2026", targets) is None
    # Holds Anna's extension (5002): fine for Jürgen, refused for Anna.
    problem = bulk.admin_password_problem("Gartenzaun5002", targets)
    assert problem is not None and problem.user is not None
    assert problem.user.username == "anna.schmidt"
    assert [e.key for e in problem.errors] == ["r11.contains_extension"]
    # Holds Carla's SIP username.
    problem = bulk.admin_password_problem("x493012345003y", targets)
    assert problem is not None and problem.user is not None and problem.user.username == "carla.klein"
    assert "r11.contains_username" in [e.key for e in problem.errors]


@pytest.mark.parametrize(
    ("password", "key"),
    [
        ("short1", "r11.length"),
        ("a" * 61 + "1", "r11.length"),
        ("onlyletters", "r11.letter_and_digit"),
        ("=Gartenzaun2026", "r11.first_character"),
        ("+Gartenzaun2026", "r11.first_character"),
        ("-Gartenzaun2026", "r11.first_character"),
        ("@Gartenzaun2026", "r11.first_character"),
        (" Gartenzaun2026", "r11.first_character"),
    ],
)
def test_r11_admin_password_rules_for_everybody_name_no_user(password: str, key: str) -> None:
    target = credentials.BulkTarget(
        1, "anna", "Anna", "5002", "activated", "desk_phone", "+493012345002", "Berlin", "sip.example", False
    )
    problem = bulk.admin_password_problem(password, [target])
    assert problem is not None and problem.user is None
    assert key in [e.key for e in problem.errors]


# --- all or nothing -------------------------------------------------------------------------


def test_r10_nothing_changes_when_the_admin_password_fails_r11_for_one_user(world: World) -> None:
    ids = desk_and_mobile_users(world)
    before, events = digests(world), audit_actions(world)
    with pytest.raises(InvalidInput) as caught:
        credentials.bulk_reset(world.admin, list(ids.values()), mode=CredentialMode.ADMIN, password="Gartenzaun5003")
    error = caught.value.for_field("password")
    assert error is not None and error.key == "r11.contains_extension" and error.params["user"] == "carla.klein"
    assert digests(world) == before
    assert audit_actions(world) == events


def test_r10_nothing_changes_when_a_user_was_deleted_meanwhile(world: World) -> None:
    ids = desk_and_mobile_users(world)
    preview = bulk.preview(world.admin, list(ids.values()))
    users.delete_user(world.admin, "anna.schmidt")
    before, events = digests(world), audit_actions(world)
    with pytest.raises(RuleRefused) as caught:
        credentials.bulk_reset(world.admin, preview.ids)
    assert caught.value.rule == "R10" and "no longer exist" in caught.value.message()
    assert digests(world) == before
    assert audit_actions(world) == events


def test_r10_admin_chosen_password_is_the_same_for_everybody_and_verifies(world: World) -> None:
    ids = desk_and_mobile_users(world)
    result = credentials.bulk_reset(
        world.admin, list(ids.values()), mode=CredentialMode.ADMIN, password="Gartenzaun2026"
    )
    assert {c.password for c in result.issued} == {"Gartenzaun2026"}
    assert all(verifies(world, c) for c in result.issued)
    with world.store.read() as session:
        modes = set(session.execute(select(DeskPhoneCredential.mode)).scalars())
    assert modes == {CredentialMode.ADMIN.value}


def test_r10_system_passwords_differ_per_user_and_follow_r11(world: World) -> None:
    ids = desk_and_mobile_users(world)
    result = credentials.bulk_reset(world.admin, list(ids.values()))
    passwords = [c.password for c in result.issued]
    assert len(set(passwords)) == len(passwords) == 3
    for password in passwords:
        assert len(password) >= 16 and set(password) <= set(secrets.SYSTEM_ALPHABET)
        assert not set(password) & set("0O1lI")
    assert all(verifies(world, c) for c in result.issued)


def test_r10_passwords_are_absent_from_the_database_file_and_the_audit_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = Store(f"sqlite:///{tmp_path / 'onenet.db'}")
    world = build_world(store)
    try:
        ids = desk_and_mobile_users(world)
        system = credentials.bulk_reset(world.admin, list(ids.values()))
        chosen = credentials.bulk_reset(
            world.admin, list(ids.values()), mode=CredentialMode.ADMIN, password="Gartenzaun2026"
        )
        with store.read() as session:
            details = [repr(e.details) for e in session.execute(select(AuditEvent)).scalars()]
    finally:
        store.dispose()
    secrets_issued = [c.password for c in system.issued] + ["Gartenzaun2026"]
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("onenet.db"))
    for password in secrets_issued:
        assert password.encode() not in stored
        assert not any(password in d for d in details)
        assert password not in caplog.text
    assert chosen.issued
    with Store(f"sqlite:///{tmp_path / 'onenet.db'}").read() as session:
        bulk_events = (
            session.execute(select(AuditEvent).where(AuditEvent.action == "credentials.bulk_reset")).scalars().all()
        )
    assert len(bulk_events) == 2
    assert bulk_events[0].details["usernames"] == ["juergen.mueller", "anna.schmidt", "carla.klein"]


def test_r14_helpdesk_cannot_bulk_reset(world: World) -> None:
    ids = desk_and_mobile_users(world)
    before = digests(world)
    with pytest.raises(RuleRefused) as caught:
        credentials.bulk_reset(world.helpdesk, list(ids.values()))
    assert caught.value.rule == "R14"
    assert digests(world) == before


# --- the CSV file -----------------------------------------------------------------------------


ISSUED = [
    IssuedCredentials("juergen.mueller", "Jürgen Müller", "5001", "493012345001", "Kx7pQ2mW9rT4vB8nZ3hJ", "berlin.sip"),
    IssuedCredentials("anna.schmidt", "Anna Schmidt", "5002", "493012345002", "Hy4cN8sD2fG6kP9qR3tV", "berlin.sip"),
    IssuedCredentials("chloe.boe", "Chloé Bö", "0000", "442079460000", "Mw3xT7bR5nJ9cV2kQ8pL", "london.sip"),
]


def test_default_export_name_has_date_and_minute() -> None:
    assert bulk.default_export_name(datetime(2025, 3, 14, 9, 5)) == "desk-phone-credentials-20250314-0905.csv"


def test_r10_export_is_private_utf8_with_a_header_row(tmp_path: Path) -> None:
    path = bulk.export_credentials(tmp_path / "creds.csv", ISSUED)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    raw.decode("utf-8")  # UTF-8, no BOM needed to read it back
    assert raw.startswith(b"username,name,extension,sip_username,password,sip_domain\r\n")
    assert "Chloé Bö".encode() in raw
    back = exports.read_csv(path)
    assert [row["password"] for row in back] == [c.password for c in ISSUED]
    assert [row["sip_domain"] for row in back] == ["berlin.sip", "berlin.sip", "london.sip"]


def test_r10_export_never_overwrites_without_consent(tmp_path: Path) -> None:
    path = tmp_path / "creds.csv"
    path.write_text("older file")
    with pytest.raises(Conflict):
        bulk.export_credentials(path, ISSUED)
    assert path.read_text() == "older file"
    bulk.export_credentials(path, ISSUED, overwrite=True)
    assert len(exports.read_csv(path)) == 3
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def failing_after(rows_before_failure: int) -> object:
    """A stand-in for ``exports.credential_rows`` whose rows run out halfway
    with a write error, as a full disk would."""
    real = exports.credential_rows

    def rows(issued: object) -> Iterator[tuple[str, ...]]:
        for n, row in enumerate(real(issued)):  # type: ignore[arg-type]
            if n == rows_before_failure:
                raise OSError(28, "No space left on device")
            yield row

    return rows


def test_r10_no_partial_file_when_writing_fails_halfway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "credential_rows", failing_after(2))
    with pytest.raises(OSError, match="No space left"):
        bulk.export_credentials(tmp_path / "creds.csv", ISSUED)
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary twin


def test_r10_a_failed_overwrite_keeps_the_older_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "creds.csv"
    path.write_text("older file")
    monkeypatch.setattr(exports, "credential_rows", failing_after(1))
    with pytest.raises(OSError):
        bulk.export_credentials(path, ISSUED, overwrite=True)
    assert path.read_text() == "older file"
    assert [p.name for p in tmp_path.iterdir()] == ["creds.csv"]


FORMULA_LIKE = ["=cmd|' /C calc'!A0", "+4930123456", "-x", "@x", "\tTab", "\rCR", "'quoted", "plain", "Müller"]


def test_r10_formula_looking_cells_are_neutralised_with_one_quote_and_read_back(tmp_path: Path) -> None:
    issued = [
        IssuedCredentials(value, f"Name {n}", "5001", "493012345001", value, "berlin.sip")
        for n, value in enumerate(FORMULA_LIKE)
    ]
    path = bulk.export_credentials(tmp_path / "creds.csv", issued)
    with open(path, encoding="utf-8", newline="") as handle:
        raw_rows = list(csv.reader(handle))[1:]
    for value, row in zip(FORMULA_LIKE, raw_rows, strict=True):
        username_cell, password_cell = row[0], row[4]
        # What a spreadsheet sees: no cell starts with = + - @ tab or CR.
        assert not username_cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        if value.startswith(("=", "+", "-", "@", "'")):
            assert username_cell == password_cell == "'" + value
        elif value.startswith(("\t", "\r")):
            # Control characters are written as escapes, which no spreadsheet runs.
            assert username_cell == password_cell == f"\\x{ord(value[0]):02x}{value[1:]}"
        else:
            assert username_cell == password_cell == value
    # Reading back: strip exactly one leading quote, undo the escapes.
    assert [row["password"] for row in exports.read_csv(path)] == FORMULA_LIKE


# --- the command line's flow: claim the file, reset, write ------------------------------------


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    """A folder of its own: the test database lives in ``tmp_path``."""
    folder = tmp_path / "export"
    folder.mkdir()
    return folder


def test_r10_reset_and_export_writes_every_issued_password(world: World, export_dir: Path) -> None:
    desk_and_mobile_users(world)
    with world.store.read() as session:
        berlin = selection.choose(session, site="Berlin")
    outcome = bulk.reset_and_export(world.admin, berlin, export_dir / "out.csv")
    assert outcome.path == export_dir / "out.csv" and outcome.write_error is None
    rows = exports.read_csv(outcome.path)
    assert {r["username"] for r in rows} == {"juergen.mueller", "anna.schmidt", "carla.klein"}
    assert [s.target.username for s in outcome.result.skipped] == ["bob.mobil"]
    assert all(verifies(world, c) for c in outcome.result.issued)


def test_r10_reset_and_export_refuses_an_existing_file_before_changing_anything(world: World, export_dir: Path) -> None:
    ids = desk_and_mobile_users(world)
    before = digests(world)
    existing = export_dir / "out.csv"
    existing.write_text("keep me")
    with pytest.raises(Conflict):
        bulk.reset_and_export(world.admin, list(ids.values()), existing)
    assert digests(world) == before and existing.read_text() == "keep me"


def test_r10_reset_and_export_leaves_no_file_when_the_reset_fails(world: World, export_dir: Path) -> None:
    ids = desk_and_mobile_users(world)
    with pytest.raises(InvalidInput):
        bulk.reset_and_export(
            world.admin, list(ids.values()), export_dir / "out.csv", mode=CredentialMode.ADMIN, password="short"
        )
    assert list(export_dir.iterdir()) == []


def test_r10_reset_and_export_writes_nothing_when_nobody_has_a_desk_phone(world: World, export_dir: Path) -> None:
    ids = desk_and_mobile_users(world)
    outcome = bulk.reset_and_export(world.admin, [ids["bob"]], export_dir / "out.csv")
    assert outcome.path is None and not outcome.result.issued
    assert list(export_dir.iterdir()) == []


def test_r10_reset_and_export_reports_a_failed_write_with_the_result(
    world: World, export_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = desk_and_mobile_users(world)
    monkeypatch.setattr(exports, "credential_rows", failing_after(1))
    outcome = bulk.reset_and_export(world.admin, list(ids.values()), export_dir / "out.csv")
    assert isinstance(outcome.write_error, OSError) and outcome.path is None
    assert len(outcome.result.issued) == 3  # in force, and the caller says so
    assert list(export_dir.iterdir()) == []


# --- the hand-over record (never handed over = issued without export or Next) ------------


def unhanded(world: World) -> frozenset[int]:
    with world.store.read() as session:
        every = handover.never_handed_over(session)
        ids = session.execute(select(User.id)).scalars().all()
    # A user's page asks about its user alone, in one statement: the same answer.
    views = [users.view_by_id(world.admin, uid) for uid in ids]
    assert {view.id for view in views if handover.user_never_handed_over(world.admin, view)} == every
    return every


def pending(world: World) -> list[handover.PendingExport]:
    with world.store.read() as session:
        return handover.pending_exports(session)


def test_r10_a_completed_export_records_file_and_count_without_secrets(world: World, export_dir: Path) -> None:
    ids = desk_and_mobile_users(world)
    for issued_once in (credentials.regenerate(world.admin, "juergen.mueller"),):
        handover.record_handed_over(world.admin, issued_once.username, issued_once.user_id)
    outcome = bulk.reset_and_export(world.admin, list(ids.values()), export_dir / "out.csv")
    with world.store.read() as session:
        reset, exported = session.execute(
            select(AuditEvent)
            .where(AuditEvent.action.in_(["credentials.bulk_reset", "credentials.exported"]))  # type: ignore[attr-defined]
            .order_by(AuditEvent.id)
        ).scalars()
    assert reset.details["export"] == str(export_dir / "out.csv")
    assert sorted(reset.details["user_ids"]) == sorted(c.user_id for c in outcome.result.issued)
    assert exported.details == {"reset_event": reset.id, "file": str(export_dir / "out.csv"), "count": 3}
    passwords = {c.password for c in outcome.result.issued}
    assert not any(p in str(exported.details) or p in str(reset.details) for p in passwords)
    assert unhanded(world) == frozenset() and pending(world) == []


def test_r10_a_reset_whose_file_never_completed_is_pending_for_its_users(
    world: World, export_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = desk_and_mobile_users(world)
    for name in ("juergen.mueller", "anna.schmidt", "carla.klein"):
        handover.record_handed_over(world.admin, name)
    assert unhanded(world) == frozenset()
    monkeypatch.setattr(exports, "credential_rows", failing_after(1))
    outcome = bulk.reset_and_export(world.admin, list(ids.values()), export_dir / "out.csv")
    assert outcome.write_error is not None
    assert unhanded(world) == {ids["juergen"], ids["anna"], ids["carla"]}
    [waiting] = pending(world)
    assert (waiting.count, waiting.export, waiting.operator) == (3, str(export_dir / "out.csv"), "alice")


def test_r10_a_reset_recorded_before_user_ids_names_its_users(world: World) -> None:
    """Events of older versions list usernames only: the tenant-wide and the
    one-user question (a user's page) both find the users by their names."""
    ids = desk_and_mobile_users(world)
    for name in ("juergen.mueller", "anna.schmidt", "carla.klein"):
        handover.record_handed_over(world.admin, name)
    credentials.bulk_reset(world.admin, [ids["juergen"], ids["anna"]])
    with world.store.transaction() as session:
        reset = session.execute(select(AuditEvent).where(AuditEvent.action == handover.BULK_RESET)).scalar_one()  # type: ignore[arg-type]
        reset.details = {key: value for key, value in reset.details.items() if key != "user_ids"}
    with world.store.read() as session:
        is_reset = AuditEvent.action == handover.BULK_RESET
        legacy = session.execute(select(AuditEvent.details).where(is_reset)).scalar_one()  # type: ignore[arg-type]
    assert "user_ids" not in legacy and legacy["usernames"]
    assert unhanded(world) == {ids["juergen"], ids["anna"]}


def test_r10_a_console_reset_counts_as_handed_over_once_exported(world: World, export_dir: Path) -> None:
    ids = desk_and_mobile_users(world)
    result = credentials.bulk_reset(world.admin, list(ids.values()))
    assert pending(world)[0].export is None and len(unhanded(world)) == 3
    # As the result screen does: the credentials know which reset they came from.
    bulk.export_credentials(export_dir / "out.csv", list(result.issued))
    assert unhanded(world) == frozenset() and pending(world) == []


def test_r10_a_later_hand_over_of_one_user_shrinks_the_pending_reset(world: World) -> None:
    ids = desk_and_mobile_users(world)
    credentials.bulk_reset(world.admin, list(ids.values()))
    issued = credentials.regenerate(world.admin, "anna.schmidt")
    assert ids["anna"] in unhanded(world)  # regenerated, not yet shown
    handover.record_handed_over(world.admin, issued.username, issued.user_id)
    assert unhanded(world) == {ids["juergen"], ids["carla"]}
    assert pending(world)[0].count == 2


def test_r8_a_new_desk_phone_user_is_unhanded_until_handed_over(world: World) -> None:
    added = add(world)
    no_phone = without_desk_phone(world)
    assert unhanded(world) == {added.user.id}
    assert no_phone not in unhanded(world)
    assert added.credentials is not None and added.credentials.user_id == added.user.id
    handover.record_handed_over(world.admin, added.credentials.username, added.credentials.user_id)
    assert unhanded(world) == frozenset()
    # Regenerated again (R9) and never shown: marked again.
    credentials.regenerate(world.admin, added.user.username)
    assert unhanded(world) == {added.user.id}
    # A deleted user has nothing left to hand over.
    carrier.set_status(world.carrier, added.user.username, "activated")
    users.delete_user(world.admin, added.user.username)
    assert unhanded(world) == frozenset()


def test_r8_a_new_number_or_desk_phone_issues_credentials_to_hand_over_a_rename_does_not(world: World) -> None:
    added = add_active(world)
    handover.record_handed_over(world.admin, added.user.username, added.user.id)
    version = users.view(world.admin, added.user.username).version
    users.change_configuration(
        world.admin, added.user.username, ConfigChange(expected_version=version, last_name="Zander")
    )
    assert unhanded(world) == frozenset()
    version = users.view(world.admin, added.user.username).version
    _, issued = users.change_configuration(
        world.admin, added.user.username, ConfigChange(expected_version=version, number="030 12345009")
    )
    assert issued is not None and unhanded(world) == {added.user.id}
    handover.record_handed_over(world.admin, issued.username, issued.user_id)
    bob = add_active(world, **BOB_WITHOUT_DESK_PHONE)
    version = users.view(world.admin, bob.user.username).version
    _, given = users.change_configuration(
        world.admin,
        bob.user.username,
        ConfigChange(
            expected_version=version,
            device_type="desk_phone",
            desk_phone_model="yealink-t54w",
            clear_mobile=True,
            clear_contract=True,
        ),
    )
    assert given is not None and unhanded(world) == {bob.user.id}
