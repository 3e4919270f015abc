"""The command line for a real tenant (SPEC section 11): ``sites``,
``numbers add|remove|flag|unflag`` and ``groups add|rename|delete|show|
set-members``, from an empty database, on SQLite and PostgreSQL.

Every command runs once as a real process (:func:`run_cli`); the other calls
go through :func:`call`, the same ``cli.main`` in this process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Result, call, cli_env, run_cli


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path, db_url)


def ok(done: Result) -> Result:
    assert done.code == 0, done.err
    return done


def refused(done: Result, code: int) -> str:
    assert done.code == code, (done.out, done.err)
    assert done.out == ""
    return done.err


def setup_berlin(env: dict[str, str]) -> None:
    ok(call("sites", "add", "Berlin", "--country", "DE", "--domain", "berlin.sip.example.net", env=env))
    ok(call("numbers", "add", "--site", "Berlin", "030 1234 5000-5099", env=env))


def add_user(env: dict[str, str], first: str, number: str) -> str:
    done = ok(
        call(
            "users", "add", "--site", "Berlin", "--first", first, "--last", "Test", "--email", f"{first}@example.com",
            "--number", number, "--desk-phone", "yealink-t54w", "--format", "json", env=env,
        )
    )  # fmt: skip
    username: str = done.json()["username"]
    return username


def test_first_run_from_an_empty_database_to_a_group_member(env: dict[str, str]) -> None:
    empty = run_cli("sites", "list", env=env)
    assert empty.code == 0 and empty.out == "" and "sites add" in empty.err
    added = run_cli("sites", "add", "Berlin", "--country", "DE", "--domain", "berlin.sip.example.net", env=env)
    assert added.code == 0, added.err
    assert "Site Berlin (DE, SIP domain berlin.sip.example.net) added." in added.out
    assert "numbers add --site Berlin" in added.out
    done = ok(run_cli("numbers", "add", "--site", "Berlin", "030 1234 5000-5099", env=env))
    assert "100 numbers added to site Berlin (+493012345000 to +493012345099)." in done.out
    group = ok(run_cli("groups", "add", "--site", "Berlin", "--kind", "hunt_group", "Zentrale", env=env))
    assert "Group Zentrale (Hunt group) created at site Berlin." in group.out
    username = add_user(env, "Anna", "030 12345001")
    assert refused(call("groups", "set-members", "Zentrale", username, env=env), 3).startswith(
        f"onenet-tui: R4: {username} cannot join Zentrale: the user is pending"
    )
    ok(call("carrier", "activate", username, env=env))
    joined = ok(run_cli("groups", "set-members", "Zentrale", username, env=env))
    assert "1 joined, 0 left" in joined.out and f"+ {username}" in joined.out
    shown = ok(run_cli("groups", "show", "Zentrale", "--format", "json", env=env)).json()
    assert shown["name"] == "Zentrale" and shown["kind"] == "hunt_group" and shown["site"] == "Berlin"
    assert shown["members"] == [{"username": username, "role": None}]
    (site,) = ok(call("sites", "list", "--format", "json", env=env)).json()
    assert site == {
        "name": "Berlin",
        "country": "DE",
        "sip_domain": "berlin.sip.example.net",
        "users": 1,
        "numbers": 100,
        "free": 99,
        "assigned": 1,
        "flagged": 0,
        "groups": 1,
    }
    numbers = ok(call("numbers", "list", "--site", "Berlin", "--format", "json", env=env)).json()
    assert numbers[1] == {
        "number": "+493012345001",
        "national": "030 12345001",
        "site": "Berlin",
        "free": False,
        "username": username,
        "flagged": False,
        "flag_reason": None,
    }
    table = ok(call("sites", "list", env=env)).out.splitlines()
    assert table[0].split() == ["Site", "Country", "SIP", "domain", "Users", "Numbers", "Free", "Assigned"] + [
        "Flagged",
        "Groups",
    ]
    assert table[2].split() == ["Berlin", "DE", "berlin.sip.example.net", "1", "100", "99", "1", "0", "1"]
    actions = [e["action"] for e in ok(call("audit", "--format", "json", env=env)).json()]
    assert actions[:3] == ["site.add", "numbers.add", "group.add"] and actions[-1] == "group.set_members"


def test_r20_sites_bad_input_names_the_field_and_rule(env: dict[str, str]) -> None:
    err = refused(run_cli("sites", "add", " ", "--country", "FR", "--domain", "nohost", env=env), 4)
    assert "Name (name): the site needs a name (R20)" in err
    assert "Country (country): FR is not a country of the product: choose DE, GB (R20)" in err
    assert "SIP domain (domain): nohost is not a valid host name" in err
    setup_berlin(env)
    err = refused(call("sites", "add", "Berlin", "--country", "DE", "--domain", "berlin.sip.example.net", env=env), 4)
    assert "there is already a site called Berlin (R20)" in err and "already belongs to site Berlin (R20)" in err
    assert (
        refused(call("sites", "rename", "Atlantis", "Avalon", env=env), 5) == "onenet-tui: Site not found: Atlantis\n"
    )
    ok(run_cli("sites", "rename", "Berlin", "Berlin Mitte", env=env))
    err = refused(run_cli("sites", "delete", "Berlin Mitte", env=env), 3)
    assert err == (
        "onenet-tui: R20: site Berlin Mitte still has users: 0, numbers: 100, groups: 0; "
        "only an empty site can be deleted\n"
    )
    ok(call("sites", "add", "Leer", "--country", "GB", "--domain", "leer.sip.example.net", env=env))
    assert ok(call("sites", "delete", "Leer", env=env)).out == "Site Leer deleted.\n"
    assert [s["name"] for s in ok(call("sites", "list", "--format", "json", env=env)).json()] == ["Berlin Mitte"]


def test_r20_r22_names_with_markup_or_escapes_are_shown_literally(env: dict[str, str]) -> None:
    site = "[bold]Nord[/bold]\x1b[31m"
    group = "[red]Empfang[/]\x07"
    added = ok(call("sites", "add", site, "--country", "DE", "--domain", "nord.sip.example.net", env=env))
    # The hint quotes the name in a command to copy: shown, never obeyed.
    assert "\x1b" not in added.out and "␛[31m" in added.out
    made = ok(call("groups", "add", "--site", site, "--kind", "pickup", group, env=env))
    assert "\x07" not in made.out + made.err
    table = ok(call("sites", "list", env=env)).out
    assert "[bold]Nord[/bold]␛[31m" in table and "\x1b" not in table
    assert ok(call("sites", "list", "--format", "json", env=env)).json()[0]["name"] == site
    shown = ok(call("groups", "show", group, env=env)).out
    assert "[red]Empfang[/]␇" in shown and "\x07" not in shown and "␛[31m" in shown
    listed = ok(call("groups", "list", "--format", "json", env=env)).json()
    assert (listed[0]["name"], listed[0]["site"]) == (group, site)


def test_r21_numbers_add_all_or_nothing_with_the_refused_numbers_named(env: dict[str, str]) -> None:
    setup_berlin(env)
    err = refused(run_cli("numbers", "add", "--site", "Berlin", "030 1234 5090-5109", env=env), 4)
    assert "Numbers (numbers): +493012345090 is already in the pool of site Berlin (R21)" in err
    assert err.count("Numbers (numbers)") == 1  # the field named once, its problems after it
    assert "and 0 more" not in err
    err = refused(call("numbers", "add", "--site", "Berlin", "+493012340000-+493012359999", env=env), 4)
    assert "at most 10,000 numbers at once, these are 20,000 (R21)" in err
    err = refused(call("numbers", "add", "--site", "Berlin", "030 1234-0000-0999", env=env), 4)
    assert "a range is START-END with one '-'" in err
    err = refused(call("numbers", "add", "--site", "Atlantis", "+493012346000", env=env), 5)
    assert err == "onenet-tui: Site not found: Atlantis\n"
    total = len(ok(call("numbers", "list", "--format", "json", env=env)).json())
    assert total == 100
    added = ok(call("numbers", "add", "--site", "Berlin", "+493012346000", "030 12346001", "--format", "json", env=env))
    assert added.json() == {"site": "Berlin", "count": 2, "numbers": ["+493012346000", "+493012346001"]}


def test_r21_numbers_remove_only_free_ones(env: dict[str, str]) -> None:
    setup_berlin(env)
    username = add_user(env, "Anna", "030 12345001")
    err = refused(run_cli("numbers", "remove", "+493012345000-+493012345002", env=env), 3)
    assert err.startswith("onenet-tui: R21: an assigned number cannot be removed: +493012345001 (" + username)
    err = refused(call("numbers", "remove", "030 12345000", env=env), 4)
    assert "a national number needs its site (--site)" in err
    assert refused(call("numbers", "remove", "+493012349999", env=env), 5).startswith("onenet-tui: Number not found")
    done = ok(call("numbers", "remove", "--site", "Berlin", "030 12345000", "030 1234 5002-5009", env=env))
    assert done.out == "9 numbers removed.\n"
    free = ok(call("numbers", "list", "--site", "Berlin", "--free", "--format", "json", env=env)).json()
    assert len(free) == 90


def test_r21_numbers_flag_and_unflag(env: dict[str, str]) -> None:
    setup_berlin(env)
    done = ok(
        run_cli("numbers", "flag", "030 12345007", "--site", "Berlin", "--reason", "porting not finished", env=env)
    )
    assert done.out == "+493012345007 is flagged: porting not finished\n"
    listed = ok(call("numbers", "list", "--site", "Berlin", "--format", "json", env=env)).json()
    assert (listed[7]["flagged"], listed[7]["flag_reason"]) == (True, "porting not finished")
    err = refused(call("numbers", "flag", "+493012345008", "--reason", " ", env=env), 4)
    assert err == "onenet-tui: Reason (reason): the reason is required (R21)\n"
    assert ok(run_cli("numbers", "unflag", "+493012345007", env=env)).out == "+493012345007 is no longer flagged.\n"
    listed = ok(call("numbers", "list", "--site", "Berlin", "--format", "json", env=env)).json()
    assert listed[7]["flagged"] is False


def test_r22_groups_add_rename_show_set_members_and_delete(env: dict[str, str]) -> None:
    setup_berlin(env)
    err = refused(call("groups", "add", "--site", "Berlin", "--kind", "pickup", " ", env=env), 4)
    assert err == "onenet-tui: Name (name): the group needs a name (R22)\n"
    assert refused(call("groups", "add", "--site", "Berlin", "--kind", "party", "X", env=env), 2)
    ok(call("groups", "add", "--site", "Berlin", "--kind", "call_center", "Service", "--format", "json", env=env))
    err = refused(call("groups", "add", "--site", "Berlin", "--kind", "call_center", "Service", env=env), 4)
    assert "there is already a group called Service at site Berlin of kind call_center (R22)" in err
    ok(run_cli("groups", "rename", "Service", "Kundenservice", env=env))
    one, two = add_user(env, "Anna", "030 12345001"), add_user(env, "Ben", "030 12345002")
    for username in (one, two):
        ok(call("carrier", "activate", username, env=env))
    done = ok(call("groups", "set-members", "Kundenservice", one, f"{two}:supervisor", "--format", "json", env=env))
    assert done.json()["joined"] == [{"username": one, "role": "agent"}, {"username": two, "role": "supervisor"}]
    assert "supervisor service" in done.err and "(R6)" in done.err
    version = ok(call("groups", "show", "Kundenservice", "--format", "json", env=env)).json()["version"]
    table = ok(call("groups", "show", "Kundenservice", env=env)).out
    assert "Kind:    Call center" in table and "Supervisor" in table and "Active" in table
    ok(call("groups", "set-members", "Kundenservice", one, env=env))
    stale = refused(call("groups", "set-members", "Kundenservice", "--if-version", str(version), env=env), 5)
    assert "Kundenservice was changed by someone else meanwhile" in stale
    err = refused(call("groups", "set-members", "Kundenservice", "nobody", env=env), 5)
    assert err == "onenet-tui: User not found: nobody\n"
    assert refused(run_cli("groups", "delete", "Kundenservice", env=env), 2).endswith("add --yes\n")
    deleted = ok(run_cli("groups", "delete", "Kundenservice", "--yes", env=env))
    assert "Group Kundenservice at site Berlin deleted." in deleted.out
    assert "who should be told (1)" in deleted.out and one in deleted.out
    assert ok(call("groups", "list", "--format", "json", env=env)).json() == []
    user = ok(call("users", "show", one, "--format", "json", env=env)).json()
    assert user["groups"] == []


def test_r22_set_members_to_nobody_empties_the_group_in_one_event(env: dict[str, str]) -> None:
    setup_berlin(env)
    ok(call("groups", "add", "--site", "Berlin", "--kind", "pickup", "Empfang", env=env))
    one, two = add_user(env, "Anna", "030 12345001"), add_user(env, "Ben", "030 12345002")
    ok(call("groups", "set-members", "Empfang", one, two, env=env))
    before = len(ok(call("audit", "--format", "json", env=env)).json())
    emptied = ok(call("groups", "set-members", "Empfang", env=env))
    assert "0 joined, 2 left" in emptied.out
    events = ok(call("audit", "--format", "json", env=env)).json()
    assert len(events) == before + 1
    assert sorted(events[-1]["details"]["left"]) == sorted([one, two])
    assert ok(call("groups", "set-members", "Empfang", env=env)).out == "Members of Empfang: nothing to change.\n"


def test_german_messages_for_the_new_commands(env: dict[str, str]) -> None:
    setup_berlin(env)
    err = refused(call("--lang", "de", "sites", "delete", "Berlin", env=env), 3)
    assert "R20: Standort Berlin hat noch Benutzer: 0, Rufnummern: 100, Gruppen: 0" in err
    done = ok(call("--lang", "de", "numbers", "add", "--site", "Berlin", "030 12346000", env=env))
    assert done.out.startswith("1 Rufnummer zum Standort Berlin hinzugefügt")
