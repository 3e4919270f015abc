"""The export directory rule: the console saves only into one directory, by a
plain file name, never through a link (issue 13: a support summary saved to
``~/.ssh/rc`` gave a shell on the service account)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from onenet_tui import config
from onenet_tui.data import export_dir
from onenet_tui.data.errors import RuleRefused
from onenet_tui.screens.save_file import SaveTextScreen
from tests.helpers import Host, text_of

SHELL_NAME = "$(touch /tmp/pwned); x"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home directory with a ``.ssh`` folder, and the export directory in it."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("ONENET_EXPORT_DIR", str(home / "exports"))
    monkeypatch.setenv("ONENET_CONFIG", str(tmp_path / "none.toml"))
    return home


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("../.ssh/rc", "slash"),
        ("~/.ssh/rc", "slash"),
        ("/root/.ssh/authorized_keys", "slash"),
        ("sub\\file", "slash"),
        (".ssh", "dot"),
        ("..", "dot"),
        (".bashrc", "dot"),
        ("a\x00b", "control"),
        ("a\x1b[2Jb", "control"),
        ("evil\u202etxt", "control"),
        ("a\nb", "control"),
        ("x" * 201, "long"),
        ("ü" * 101, "long"),
    ],
)
def test_export_dir_refuses_anything_but_a_plain_name(name: str, key: str, tmp_path: Path) -> None:
    with pytest.raises(RuleRefused) as refused:
        export_dir.check_name(name, tmp_path)
    assert refused.value.rule == "export_dir" and refused.value.reason_key == f"ssh.export.refused.{key}"
    # The message names the rule and the directory the console saves to.
    message = refused.value.message()
    assert message.startswith("export_dir: ") and str(tmp_path) in message


@pytest.mark.parametrize("name", ["support-fritz.fehler.txt", "people to tell.csv", "Müller…2026.txt", "x" * 200])
def test_export_dir_accepts_plain_names(name: str, tmp_path: Path) -> None:
    assert export_dir.check_name(name, tmp_path) == tmp_path / name


def test_export_dir_setting_environment_then_config_file_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("ONENET_EXPORT_DIR", raising=False)
    file = tmp_path / "config.toml"
    monkeypatch.setenv("ONENET_CONFIG", str(file))
    assert config.export_dir() == tmp_path / "data" / "onenet-tui" / "exports"
    file.write_text('export_dir = "~/saved"\n')
    assert config.export_dir() == tmp_path / "saved"
    assert config.resolve(db="sqlite://").export_dir == tmp_path / "saved"
    monkeypatch.setenv("ONENET_EXPORT_DIR", "relative/place")
    assert config.export_dir() == tmp_path / "relative" / "place"


def test_export_dir_is_created_0700_and_a_link_is_refused(tmp_path: Path) -> None:
    folder = export_dir.prepare(tmp_path / "a" / "exports")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "a")
    with pytest.raises(RuleRefused) as refused:
        export_dir.prepare(link)
    assert refused.value.reason_key == "ssh.export.refused.link"


def test_export_dir_write_never_follows_a_link_under_the_name(home: Path) -> None:
    folder = export_dir.prepare(home / "exports")
    rc = home / ".ssh" / "rc"
    (folder / "summary.txt").symlink_to(rc)
    for overwrite in (False, True):
        with pytest.raises((RuleRefused, FileExistsError)):
            export_dir.write_text(folder, "summary.txt", SHELL_NAME, overwrite=overwrite)
    assert not rc.exists()


def test_export_dir_write_text_is_exclusive_and_0600(home: Path) -> None:
    folder = home / "exports"
    path = export_dir.write_text(folder, "note.txt", "one")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        export_dir.write_text(folder, "note.txt", "two")
    export_dir.write_text(folder, "note.txt", "two", overwrite=True)
    assert path.read_text() == "two"


@pytest.mark.parametrize("typed", ["../.ssh/rc", "~/.ssh/rc", "../.ssh/authorized_keys", ".profile"])
async def test_export_dir_save_prompt_refuses_a_path_to_ssh_rc(home: Path, typed: str) -> None:
    app = Host(lambda: SaveTextScreen("Save", "support.txt", SHELL_NAME))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert str(home / "exports").replace(str(home), "~") in text_of(screen, "#path-folder")
        await pilot.press("ctrl+u", *typed)
        # Refused as it is typed, and again on Enter.
        assert text_of(screen, "#path-message").startswith("export_dir: ")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen and text_of(screen, "#path-message").startswith("export_dir: ")
    assert not (home / ".ssh" / "rc").exists()
    assert not (home / ".ssh" / "authorized_keys").exists()
    assert not (home / ".profile").exists()


async def test_export_dir_save_prompt_writes_a_plain_name_into_the_directory(home: Path) -> None:
    app = Host(lambda: SaveTextScreen("Save", "support.txt", SHELL_NAME))
    async with app.run_test(size=(80, 24)) as pilot:
        assert "~/exports/support.txt" in text_of(app.screen, "#path-message")
        await pilot.press("enter")
        for _ in range(200):
            if not isinstance(app.screen, SaveTextScreen):
                break
            await pilot.pause(0.01)
    target = home / "exports" / "support.txt"
    assert target.read_text() == SHELL_NAME
    assert stat.S_IMODE(os.stat(home / "exports").st_mode) == 0o700
