"""A user's whole life through the real command line, as an administrator
would script it: add (pending), groups under R4, delete refused under R5,
the carrier activates, delete frees the number (R7), which is reused at once."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import cli_env, copy_database, run_cli, users_add


def test_walkthrough_add_groups_activate_delete_and_reuse_the_number(template: Path, tmp_path: Path) -> None:  # noqa: F811
    env = cli_env(tmp_path, copy_database(template, tmp_path / "walk.db"))

    free = run_cli("numbers", "list", "--site", "Berlin", "--free", "--format", "json", env=env).json()
    number = next(n for n in free if not n["flagged"])["number"]

    added = run_cli(*users_add(number, "--format", "json"), env=env)
    assert added.code == 0, added.err
    user = added.json()
    assert user["status"] == "pending"
    assert user["extension"] == number[-4:]  # R2: the last four digits
    assert user["new_credentials"]["password"]  # R8: shown once, here
    name = user["username"]

    hunt = run_cli("groups", "add-member", "Zentrale Berlin", name, env=env)
    assert hunt.code == 3 and "R4" in hunt.err

    pickup = run_cli("groups", "add-member", "Anrufannahme Berlin Etage 1", name, env=env)
    assert pickup.code == 0, pickup.err

    delete = run_cli("users", "delete", name, "--yes", env=env)
    assert delete.code == 3 and "R5" in delete.err

    activated = run_cli("carrier", "activate", name, env=env)
    assert activated.code == 0 and "activated" in activated.out

    joined = run_cli("groups", "add-member", "Zentrale Berlin", name, env=env)
    assert joined.code == 0, joined.err
    shown = run_cli("users", "show", f"{number[-4:]}@Berlin", "--format", "json", env=env).json()
    assert {g["name"] for g in shown["groups"]} == {"Zentrale Berlin", "Anrufannahme Berlin Etage 1"}
    assert shown["credentials"] and "password" not in shown["credentials"]  # never shown again

    deleted = run_cli("users", "delete", number, "--yes", env=env)
    assert deleted.code == 0, deleted.err
    assert "Zentrale Berlin" in deleted.out  # who to tell (R7)

    free_now = run_cli("numbers", "list", "--free", "--format", "json", env=env).json()
    assert number in {n["number"] for n in free_now}

    reused = run_cli(
        *users_add(
            number,
            "--mobile",
            "+49 151 23456789",
            "--contract",
            "987654321",
            "--format",
            "json",
            first="Ayşe",
            last="Yılmaz",
            email="ayse@example.com",
            desk_phone=None,
        ),
        env=env,
    )
    assert reused.code == 0, reused.err
    assert reused.json()["number"] == number and reused.json()["extension"] == number[-4:]

    # R15: every change audited once, in order; refused attempts change nothing.
    trail = [(e["action"], e["target"]) for e in run_cli("audit", "--format", "json", env=env).json()]
    assert trail[-7:] == [
        ("user.add", name),
        ("credentials.handed_over", name),  # printed once, so in the admin's hands (R8)
        ("group.add_member", "Anrufannahme Berlin Etage 1"),
        ("carrier.activated", name),
        ("group.add_member", "Zentrale Berlin"),
        ("user.delete", name),
        ("user.add", "ayse.yilmaz"),
    ]
