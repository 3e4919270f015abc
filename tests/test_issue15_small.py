"""Issue 15's smaller defects outside the screens' layout: one word for one
status, ``users show`` in the console's words, and the demo's carrier taking
users the command line added before the console started."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from onenet_tui.data import carrier, tenant
from onenet_tui.data.context import carrier_context
from onenet_tui.data.models import Status
from onenet_tui.data.storage import Store
from onenet_tui.data.users import AffectedGroup, DeletionReport
from onenet_tui.i18n import LANGUAGES, t
from onenet_tui.screens.delete_user import people_to_tell_text
from tests.helpers import call, cli_env, copy_database


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_status_has_one_word_in_the_directory_the_detail_and_the_cli(lang: str) -> None:
    for status in Status:
        # The directory's badge and the status word of the detail and the CLI.
        assert t(f"directory.badge.{status.value}", lang=lang) == t(f"status.{status.value}", lang=lang)
    meaning = t("lifecycle.status.activated_meaning", lang=lang)
    assert meaning.startswith(t("status.activated", lang=lang) + ":")


def test_the_people_to_tell_name_the_number_nationally() -> None:
    report = DeletionReport(
        "oliver.smith", "Oliver Smith", "+442079460001", [AffectedGroup("LON Hunt", "hunt_group", [])]
    )
    assert "020 7946 0001" in people_to_tell_text(report) and "+44" not in people_to_tell_text(report)


@pytest.fixture
def env(template: Path, tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path, copy_database(template, tmp_path / "onenet.db"))


def test_users_show_uses_the_consoles_words_for_device_and_sip_username(env: dict[str, str]) -> None:
    listed = call("users", "list", "--format", "json", env=env).json()
    user = next(u for u in listed if u["device_type"] == "desk_phone")
    shown = call("users", "show", user["username"], env=env)
    assert shown.code == 0, shown.err
    lines = {
        line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip() for line in shown.out.splitlines() if ":" in line
    }
    assert lines[t("field.device_type")] == t("device.desk_phone")
    assert lines[t("field.desk_phone_model")] not in ("", "-", t("device.desk_phone"))
    sip = user["number"].lstrip("+")
    assert lines[t("lifecycle.detail.sip_username")] == sip  # the digits, as the console shows them
    assert "@" not in lines[t("lifecycle.detail.sip_username")]
    details = call("users", "show", user["username"], "--format", "json", env=env).json()
    assert lines[t("lifecycle.detail.sip_domain")] == details["credentials"]["sip_domain"]


def test_the_demo_carrier_takes_users_the_cli_added_but_not_the_seeded_ones(env: dict[str, str]) -> None:
    listed = call("users", "list", "--status", "pending", "--format", "json", env=env).json()
    assert listed, "the demo seeds pending users"
    numbers = call("numbers", "list", "--site", "Berlin", "--free", "--format", "json", env=env).json()
    number = next(n["number"] for n in numbers if not n["flagged"])
    added = call(
        "users", "add", "--site", "Berlin", "--first", "Vor", "--last", "Konsole", "--email", "vk@example.com",
        "--number", number, "--desk-phone", "yealink-t54w", "--format", "json", env=env,
    )  # fmt: skip
    assert added.code == 0, added.err
    store = Store(env["ONENET_DB_URL"])
    try:
        with store.read() as session:
            since = tenant.simulated_since(session)
        assert since is not None
        # What the console's simulator runs (app._simulate_carrier), every delay long past.
        done = carrier.run_once(carrier_context(store), delay=timedelta(0), pending_since=since)
        assert [(d.username, d.status) for d in done] == [("vor.konsole", "activated")]
    finally:
        store.dispose()
