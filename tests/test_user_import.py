"""Users in and out by CSV (SPEC section 12, R23): ``users export`` and
``users import``, on SQLite and PostgreSQL, on the small tenant of
tests/helpers.py (the people of the directory tests)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from onenet_tui.data import exports, handover, import_users, listing, user_csv
from onenet_tui.data.models import AuditEvent, DeskPhoneCredential, GroupMember, User
from onenet_tui.data.storage import Store
from tests.helpers import World, call, cli_env

# The columns an import writes (status and portal are the carrier's and the portal's).
WRITTEN = [c for c in user_csv.COLUMNS if c not in user_csv.READ_ONLY]
HEADER = ",".join(user_csv.COLUMNS)


@pytest.fixture
def env(world: World, people: list[str], db_url: str, tmp_path: Path) -> dict[str, str]:
    del world, people  # the tenant is built
    return cli_env(tmp_path, db_url)


def export(env: dict[str, str], *args: str) -> str:
    done = call("users", "export", *args, env=env)
    assert done.code == 0, done.err
    return done.out


def write(tmp_path: Path, text: str, name: str = "in.csv", *, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def users_now(store: Store) -> list[dict[str, object]]:
    with store.read() as session:
        return [{c: u[c] for c in WRITTEN} | {"site": u["site"]} for u in listing.user_dicts(session)]


def audit_count(store: Store) -> int:
    with store.read() as session:
        return session.scalars(select(func.count()).select_from(AuditEvent)).one()


def failures(done_json: dict[str, object]) -> set[tuple[int, str, str | None]]:
    return {(f["line"], f["column"], f["rule"]) for f in done_json["failures"]}  # type: ignore[attr-defined, index]


def row(**cells: str) -> str:
    """One CSV line in COLUMNS order; cells not named are blank."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([cells.get(c, "") for c in user_csv.COLUMNS])
    return buffer.getvalue()


def new_person(username: str, number: str, **extra: str) -> str:
    cells = {
        "username": username,
        "first_name": "Neu",
        "last_name": username.split(".")[-1].title(),
        "email": f"{username}@example.com",
        "site": "Berlin",
        "number": number,
        "device_type": "none",
        "mobile": "0151 23456789",
        "contract": "7654321",
    }
    cells.update(extra)
    return row(**cells)


# --- export -------------------------------------------------------------------------


def test_export_has_exactly_the_import_columns_and_no_secret(env: dict[str, str], world: World) -> None:
    text = export(env)
    header = next(csv.reader(io.StringIO(text)))
    assert tuple(header) == user_csv.COLUMNS
    assert next(csv.reader(io.StringIO(call("users", "list", "--format", "csv", env=env).out))) == header
    assert "password" not in text and "ha1" not in text
    # Section 8: E.164 numbers carry the leading ' that read_csv takes off.
    assert "'+493012345001" in text
    filtered = list(csv.DictReader(io.StringIO(export(env, "--filter", "jurgen muller"))))
    assert [r["username"] for r in filtered] == ["juergen.mueller"]
    pending = list(csv.DictReader(io.StringIO(export(env, "--status", "pending", "--site", "London"))))
    assert [r["username"] for r in pending] == ["zoe.lefevre"]


def test_export_to_a_file_never_replaces_one_unasked(env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "users.json"
    assert call("users", "export", "--format", "json", "--output", str(target), env=env).code == 0
    assert len(__import__("json").loads(target.read_text())) == 8
    again = call("users", "export", "--output", str(target), env=env)
    assert again.code == 5 and "exists" in again.err
    assert call("users", "export", "--output", str(target), "--force", env=env).code == 0
    assert len(exports.read_csv(target)) == 8


# --- round trips ------------------------------------------------------------------------


def test_r23_an_export_reimports_unchanged_row_for_row(env: dict[str, str], world: World, tmp_path: Path) -> None:
    path = write(tmp_path, export(env))
    before, events = users_now(world.store), audit_count(world.store)
    dry = call("users", "import", path, "--dry-run", "--format", "json", env=env)
    assert dry.code == 0, dry.err
    assert dry.json()["counts"] == {"add": 0, "change": 0, "unchanged": 8, "fail": 0}
    done = call("users", "import", path, env=env)
    assert done.code == 0, done.err
    assert "0 added, 0 changed, 8 unchanged, 0 failed" in done.out
    assert users_now(world.store) == before
    assert audit_count(world.store) == events + 1  # the import's own event only


def test_r23_into_a_fresh_tenant_with_the_same_sites_and_numbers_gives_identical_users(
    env: dict[str, str], world: World, tmp_path: Path
) -> None:
    path = write(tmp_path, export(env))
    before = users_now(world.store)
    with world.store.transaction() as session:
        for table in (GroupMember, DeskPhoneCredential, User):
            session.execute(delete(table))
    credentials = tmp_path / "new-credentials.csv"
    done = call("users", "import", path, "--export", str(credentials), "--format", "json", env=env)
    assert done.code == 0, done.err
    assert done.json()["counts"]["add"] == 8
    assert users_now(world.store) == before
    # R8/R10: the six desk phone users' passwords, once, in a private file.
    rows = exports.read_csv(credentials)
    assert len(rows) == 6 and all(r["password"] for r in rows)
    assert os.stat(credentials).st_mode & 0o777 == 0o600
    with world.store.read() as session:
        assert handover.never_handed_over(session) == frozenset()
        events = session.execute(select(AuditEvent).where(AuditEvent.action == "user.add")).scalars().all()
        assert sum(1 for e in events if e.details.get("import_file") == "in.csv") == 8


def test_r23_new_desk_phone_credentials_need_a_file(env: dict[str, str], world: World, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "\n" + new_person("neu.tisch", "030 12345010", device_type="desk_phone",
                 desk_phone_model="yealink-t54w", mobile="", contract=""))  # fmt: skip
    refused = call("users", "import", path, env=env)
    assert refused.code == 4 and "--export" in refused.err
    assert len(users_now(world.store)) == 8


# --- every rule, with its line --------------------------------------------------------------


def test_r23_every_rule_is_checked_per_row_with_its_line(env: dict[str, str], world: World, tmp_path: Path) -> None:
    lines = [
        HEADER,
        new_person("ok.one", "030 12345011"),  # 2: fine
        new_person("r1.blank", "030 12345012", first_name="   "),  # 3
        new_person("r1.long", "030 12345013", last_name="x" * 31),  # 4
        new_person("r2.taken", "030 12345014", extension="5001"),  # 5: Müller's
        new_person("r2.digits", "030 12345015", extension="12a"),  # 6
        new_person("r16.pool", "030 99999999"),  # 7
        new_person("r16.london", "020 7946 0010"),  # 8: another site's pool
        new_person("r16.held", "030 12345002"),  # 9: Anna Schmidt's, the file does not move her
        new_person("r17.mobile", "030 12345016", mobile=""),  # 10
        new_person("r17.contract", "030 12345017", contract="12"),  # 11
        new_person("r18.email", "030 12345018", email="not-an-address"),  # 12
        new_person("r19@bad", "030 12345019"),  # 13
        new_person("r21.flagged", "030 12345039"),  # 14
        new_person("r4.hunt", "030 12345020", groups="BER Hunt"),  # 15
        new_person("ok.one", "030 12345021"),  # 16: the same username again
        new_person("dup.number", "030 12345011"),  # 17: line 2's number
        new_person("dup.ext", "030 12345022", extension="5011"),  # 18: line 2's extension
        new_person("no.site", "030 12345023", site="Hamburg"),  # 19
        new_person("bad.licence", "030 12345024", licence="gold"),  # 20
        # 21: Anna Schmidt is pending: her configuration cannot change (R5) ...
        row(username="anna.schmidt", first_name="Anna", last_name="Schmitt", email="03012345002@example.com",
            site="Berlin", number="+493012345002", device_type="desk_phone", desk_phone_model="cisco-8851"),
        # 22: ... but a pending user's profile can.
        row(username="lukasz.nowak", first_name="Łukasz", last_name="Nowak", email="lukasz@example.com",
            site="Berlin", number="+493012345005", device_type="desk_phone", desk_phone_model="yealink-t54w"),
    ]  # fmt: skip
    path = write(tmp_path, "".join(line if line.endswith("\n") else line + "\n" for line in lines))
    done = call("users", "import", path, "--dry-run", "--format", "json", env=env)
    assert done.code == 4
    found = failures(done.json())
    expected = {
        (3, "first_name", "R1"),
        (4, "last_name", "R1"),
        (5, "extension", "R2"),
        (6, "extension", "R2"),
        (7, "number", "R16"),
        (8, "number", "R16"),
        (9, "number", "R16"),
        (10, "mobile", "R17"),
        (11, "contract", "R17"),
        (12, "email", "R18"),
        (13, "username", "R19"),
        (14, "number", "R21"),
        (15, "groups", "R4"),
        (16, "username", "R23"),
        (17, "number", "R23"),
        (18, "extension", "R23"),
        (19, "site", None),
        (20, "licence", None),
        (21, "last_name", "R5"),
    }
    assert expected <= found, sorted(found - expected)
    assert {line for line, _, _ in found} == {line for line, _, _ in expected}  # lines 2 and 22 pass
    texts = [f["message"] for f in done.json()["failures"]]
    assert any("anna.schmidt" in text for text in texts)  # R16 names who holds the number
    # The same lines in the table output, each with line, column and rule.
    table = call("users", "import", path, "--dry-run", env=env)
    assert "line 9: number: not a number" not in table.out
    assert "line 21: last_name: R5: the user is pending" in table.out
    assert "1 to add, 1 to change, 0 unchanged, 19 failing" in table.out
    assert len(users_now(world.store)) == 8  # a dry run changes nothing


def test_r23_a_number_the_file_moves_away_may_be_taken_by_another_row(
    env: dict[str, str], world: World, tmp_path: Path
) -> None:
    text = export(env, "--filter", "mueller")  # Jürgen Müller, activated, on 030 12345001 ext 5001
    header, mueller = text.splitlines()[:2]
    moved = mueller.replace("'+493012345001", "030 12345030").replace(",5001,", ",,")
    newcomer = new_person("neu.person", "+493012345001")
    path = write(tmp_path, "\n".join([header, newcomer.strip(), moved]) + "\n")
    credentials = tmp_path / "moved.csv"
    done = call("users", "import", path, "--export", str(credentials), "--format", "json", env=env)
    assert done.code == 0, done.err
    changes = {r["username"]: r["changes"] for r in done.json()["rows"]}
    assert changes["juergen.mueller"]["number"] == ["+493012345001", "+493012345030"]
    assert changes["juergen.mueller"]["extension"] == ["5001", "5030"]  # R2: follows the number
    by_name = {u["username"]: u for u in users_now(world.store)}
    assert by_name["neu.person"]["number"] == "+493012345001" and by_name["neu.person"]["extension"] == "5001"
    # The moved desk phone has a new SIP username: new credentials, in the file.
    assert [r["sip_username"] for r in exports.read_csv(credentials)] == ["493012345030"]


def test_r23_a_failing_mover_fails_the_row_that_took_its_number(
    env: dict[str, str], world: World, tmp_path: Path
) -> None:
    text = export(env, "--filter", "mueller")
    header, mueller = text.splitlines()[:2]
    moved = mueller.replace("'+493012345001", "030 12345030").replace("Müller", "")  # blank last name: fails
    path = write(tmp_path, "\n".join([header, new_person("neu.person", "030 12345001").strip(), moved]) + "\n")
    done = call("users", "import", path, "--dry-run", "--format", "json", env=env)
    assert done.code == 4
    assert {(2, "number", "R16"), (3, "last_name", "R1")} <= failures(done.json())


# --- files as spreadsheets write them -----------------------------------------------------------


def test_r23_a_file_saved_by_a_german_spreadsheet(env: dict[str, str], world: World, tmp_path: Path) -> None:
    lines = [
        "username;first_name;last_name;email;site;number;device_type;desk_phone_model;mobile;contract",
        "jörg.weiß;Jörg;Weiß;joerg@example.com;Berlin;030 12345025;none;;0151 23456789;7654321",
        'erika.muster;Erika;"Muster; Jr.";erika@example.com;Berlin;+49 30 12345026;none;;+4915123456789;1234567',
    ]
    path = write(tmp_path, "\ufeff" + "\r\n".join(lines) + "\r\n")
    done = call("users", "import", path, "--format", "json", env=env)
    assert done.code == 0, done.err
    by_name = {u["username"]: u for u in users_now(world.store)}
    assert by_name["jörg.weiß"]["number"] == "+493012345025"
    assert by_name["erika.muster"]["last_name"] == "Muster; Jr."
    assert by_name["erika.muster"]["mobile"] == "+4915123456789"


def test_r23_a_formula_cell_is_text_both_ways(env: dict[str, str], world: World, tmp_path: Path) -> None:
    formula = '=HYPERLINK("http://x")'
    path = write(tmp_path, HEADER + "\n" + new_person("formel.test", "030 12345027", first_name="'" + formula))
    assert call("users", "import", path, env=env).code == 0
    by_name = {u["username"]: u for u in users_now(world.store)}
    assert by_name["formel.test"]["first_name"] == formula  # stored as typed, never evaluated
    again = list(csv.DictReader(io.StringIO(export(env, "--filter", "formel"))))
    assert again[0]["first_name"] == "'" + formula  # neutralised again on the way out


def test_r23_a_file_with_an_unknown_or_a_missing_column_is_refused_whole(
    env: dict[str, str], world: World, tmp_path: Path
) -> None:
    unknown = write(tmp_path, HEADER + ",salary\n" + new_person("x.y", "030 12345028").strip() + ",1\n", "u.csv")
    done = call("users", "import", unknown, env=env)
    assert done.code == 4 and "salary" in done.err
    missing = write(tmp_path, "username,first_name,last_name,site,number,device_type\n", "m.csv")
    done = call("users", "import", missing, env=env)
    assert done.code == 4 and "email" in done.err
    latin1 = write(tmp_path, HEADER + "\n" + new_person("x.y", "030 12345028", first_name="Jörg"), "l.csv",
                   encoding="latin-1")  # fmt: skip
    done = call("users", "import", latin1, env=env)
    assert done.code == 4 and "UTF-8" in done.err
    assert len(users_now(world.store)) == 8


# --- applying ------------------------------------------------------------------------------------


def test_r23_all_or_nothing_a_failing_last_row_imports_nothing(
    env: dict[str, str], world: World, tmp_path: Path
) -> None:
    body = [new_person(f"neu.n{i}", f"030 123450{20 + i}") for i in range(5)]
    body.append(new_person("neu.bad", "030 12345026", email="kaputt"))
    path = write(tmp_path, HEADER + "\n" + "".join(body))
    events = audit_count(world.store)
    done = call("users", "import", path, env=env)
    assert done.code == 4
    assert "line 7: email: not a valid email address (R18)" in done.out and "nothing was changed" in done.err
    # Checked, not a dry run the admin did not ask for.
    assert done.out.startswith(f"Checked {Path(path).name}: 5 to add, 0 to change, 0 unchanged, 1 failing.")
    assert len(users_now(world.store)) == 8 and audit_count(world.store) == events


def test_r23_skip_invalid_imports_the_valid_rows_and_writes_an_errors_csv(
    env: dict[str, str], world: World, tmp_path: Path
) -> None:
    body = [
        new_person("neu.a", "030 12345020"),
        new_person("neu.b", "030 12345021", email="kaputt"),
        new_person("neu.c", "030 12345022"),
    ]
    path = write(tmp_path, HEADER + "\n" + "".join(body))
    errors = tmp_path / "errors.csv"
    events = audit_count(world.store)
    done = call("users", "import", path, "--skip-invalid", "--errors", str(errors), env=env)
    assert done.code == 0, done.err
    assert "2 added, 0 changed, 0 unchanged, 1 failed" in done.out
    names = {u["username"] for u in users_now(world.store)}
    assert {"neu.a", "neu.c"} <= names and "neu.b" not in names
    rows = exports.read_csv(errors)
    assert list(rows[0]) == [*user_csv.COLUMNS, "line", "error"]
    assert rows[0]["username"] == "neu.b" and rows[0]["email"] == "kaputt" and rows[0]["line"] == "3"
    assert rows[0]["error"] == "email: not a valid email address (R18)"
    assert rows[0]["number"] == "030 12345021"  # the original cell
    # One event per added user and one for the import, which names the file and counts.
    assert audit_count(world.store) == events + 3
    with world.store.read() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.action == import_users.IMPORT_ACTION)).scalar_one()
    assert event.details["file"] == "in.csv"
    assert (event.details["added"], event.details["failed"], event.details["failed_lines"]) == (2, 1, [3])


def test_r23_changes_are_audited_per_user_with_old_and_new(env: dict[str, str], world: World, tmp_path: Path) -> None:
    text = export(env, "--filter", "smith")  # Oliver Smith, London, activated, no desk phone
    path = write(tmp_path, text.replace("Oliver", "Olly"))
    done = call("users", "import", path, env=env)
    assert done.code == 0, done.err
    assert "0 added, 1 changed" in done.out and "first_name Oliver -> Olly" in done.out
    with world.store.read() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "user.change_configuration")).scalar_one()
    assert event.target == "oliver.smith" and event.details["changed"] == {"first_name": ["Oliver", "Olly"]}


def test_r14_helpdesk_cannot_import(env: dict[str, str], tmp_path: Path) -> None:
    export(env)  # alice arrives first: the tenant's admin; hugo then is helpdesk
    path = write(tmp_path, "garbage")
    done = call("users", "import", path, "--dry-run", env={**env, "ONENET_OPERATOR": "hugo"})
    assert done.code == 3 and "R14" in done.err


def test_plan_reads_back_neutralised_cells() -> None:
    parsed = user_csv.read_text(HEADER + "\n" + row(username="a'b", first_name="'=1+2", number="'+493012345001"))
    assert parsed.rows[0].values["first_name"] == "=1+2"
    assert parsed.rows[0].values["number"] == "+493012345001"
    assert parsed.rows[0].values["username"] == "a'b"
    assert parsed.rows[0].line == 2


def test_r23_a_new_user_joins_pickup_and_park_groups(env: dict[str, str], world: World, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "\n" + new_person("neu.gruppe", "030 12345029", groups="BER Pickup; BER Park"))
    done = call("users", "import", path, env=env)
    assert done.code == 0, done.err
    shown = call("users", "show", "neu.gruppe", "--format", "json", env=env).json()
    assert [g["name"] for g in shown["groups"]] == ["BER Park", "BER Pickup"]
    assert shown["status"] == "pending" and shown["mobile"] == "+4915123456789"
    # The export names the groups as the import reads them: it re-imports unchanged.
    again = write(tmp_path, export(env), "again.csv")
    assert call("users", "import", again, "--dry-run", "--format", "json", env=env).json()["counts"]["unchanged"] == 9


def test_r23_a_refused_import_still_writes_its_errors_csv(env: dict[str, str], world: World, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "\n" + new_person("neu.a", "030 12345020") + new_person("neu.b", "nummer"))
    errors = tmp_path / "errors.csv"
    done = call("users", "import", path, "--errors", str(errors), env=env)
    assert done.code == 4
    assert [(r["username"], r["line"]) for r in exports.read_csv(errors)] == [("neu.b", "3")]
    assert len(users_now(world.store)) == 8


def test_r23_two_users_swapping_extensions_is_refused_whole(env: dict[str, str], world: World, tmp_path: Path) -> None:
    rows = list(csv.reader(io.StringIO(export(env, "--site", "London", "--status", "activated"))))
    header, *users = rows
    ext = header.index("extension")
    users[0][ext], users[1][ext] = users[1][ext], users[0][ext]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *users])
    path = write(tmp_path, buffer.getvalue())
    before = users_now(world.store)
    dry = call("users", "import", path, "--dry-run", "--format", "json", env=env)
    assert dry.json()["counts"]["change"] == 2  # each row alone is fine ...
    done = call("users", "import", path, "--skip-invalid", env=env)
    assert done.code == 4 and "swap" in done.err  # ... but no order of writes works
    assert users_now(world.store) == before


def test_an_import_of_more_users_than_a_console_catches_up_keeps_the_directory_snapshot(
    env: dict[str, str], world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past loading.CATCH_UP_LIMIT written users the next console would read
    every user: the import keeps the snapshot for it (issue 20.2); below, not."""
    from onenet_tui.data import directory as model
    from onenet_tui.data.directory import loading, snapshot

    monkeypatch.setattr(snapshot, "KEEP_FROM", 0)
    monkeypatch.setattr(loading, "CATCH_UP_LIMIT", 1)
    text = export(env, "--filter", "smith")
    one = call("users", "import", write(tmp_path, text.replace("Oliver", "Olly")), env=env)
    assert one.code == 0 and "snapshot" not in one.out  # one written: a console catches that up
    text = export(env)
    renamed = text.replace("Jürgen", "Jörg").replace("Grace", "Gracie")
    done = call("users", "import", write(tmp_path, renamed, "two.csv"), env=env)
    assert done.code == 0, done.out
    assert "snapshot" in done.out
    monkeypatch.setattr(loading, "_load", lambda *a, **k: pytest.fail("every user read"))
    data = model.load(world.store)
    assert any("Jörg" in name for name in data.names) and any("Gracie" in name for name in data.names)
