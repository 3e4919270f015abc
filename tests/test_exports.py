"""CSV exports (SPEC section 8): atomic, private, never overwriting unasked,
spreadsheet-safe in a reversible way."""

from __future__ import annotations

import itertools
import random
import re
import stat
from pathlib import Path

import pytest

from onenet_tui.data import exports
from onenet_tui.data.errors import Conflict, InvalidInput

RISKY = ["=SUM(A1:A2)", "+4930123456", "-5", "@cmd", "\tTab", "\rCR", "'quoted", "plain", "", "Müller"]


def test_risky_cells_get_one_leading_quote_and_come_back_unchanged() -> None:
    for value in RISKY:
        cell = exports.neutralise(value)
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert exports.restore(cell) == value
    assert exports.neutralise("+4930123456") == "'+4930123456"
    assert exports.neutralise("plain") == "plain"
    assert exports.neutralise(None) == ""


def test_secret_csv_is_private_utf8_with_header_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "creds.csv"
    rows = [("jürgen.müller", "Jürgen Müller", "5001", "+493012345001", "=cmd|' /C calc'!A0", "berlin.example")]
    exports.write_secret_csv(path, exports.CREDENTIAL_COLUMNS, rows)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_bytes().decode("utf-8")
    assert text.splitlines()[0] == ",".join(exports.CREDENTIAL_COLUMNS)
    assert "'+493012345001" in text and "'=cmd" in text
    back = exports.read_csv(path)
    assert back == [dict(zip(exports.CREDENTIAL_COLUMNS, rows[0], strict=True))]
    assert [p.name for p in tmp_path.iterdir()] == ["creds.csv"]  # no temporary file left


def test_existing_file_is_refused_and_left_alone_unless_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "creds.csv"
    path.write_text("keep me")
    with pytest.raises(Conflict) as caught:
        exports.write_secret_csv(path, ["a"], [["1"]])
    assert caught.value.exit_code == 5
    assert path.read_text() == "keep me"
    exports.write_secret_csv(path, ["a"], [["1"]], overwrite=True)
    assert exports.read_csv(path) == [{"a": "1"}]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["creds.csv"]


def test_prepare_claims_nothing_visible_and_refuses_before_any_secret_exists(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    target = exports.SecretCsv(path).prepare()
    # Until commit, the target name does not exist: a reader never sees half a file.
    assert not path.exists()
    target.discard()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InvalidInput) as caught:
        exports.SecretCsv(tmp_path / "missing" / "out.csv").prepare()
    assert caught.value.errors[0].field == "export"


def test_a_failure_while_writing_leaves_no_file(tmp_path: Path) -> None:
    def rows():  # type: ignore[no-untyped-def]
        yield ["1"]
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        exports.write_secret_csv(tmp_path / "out.csv", ["a"], rows())
    assert list(tmp_path.iterdir()) == []


def test_a_file_appearing_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    target = exports.SecretCsv(path).prepare()
    path.write_text("someone else's")
    with pytest.raises(Conflict):
        target.commit(["a"], [["1"]])
    assert path.read_text() == "someone else's"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_prepare_leaves_no_name_in_the_folder_until_the_file_is_complete(tmp_path: Path) -> None:
    # An unnamed file (O_TMPFILE): a kill -9 before commit can leave nothing behind.
    target = exports.SecretCsv(tmp_path / "out.csv").prepare()
    assert list(tmp_path.iterdir()) == []
    target.commit(["a"], [["1"]])
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    assert stat.S_IMODE((tmp_path / "out.csv").stat().st_mode) == 0o600


def test_a_folder_as_target_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "somedir"
    folder.mkdir()
    with pytest.raises(InvalidInput) as caught:
        exports.SecretCsv(folder).prepare()
    assert caught.value.errors[0].field == "export"
    assert caught.value.errors[0].key == "export.is_directory"
    assert list(folder.iterdir()) == []


def test_overwrite_replaces_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old")
    exports.SecretCsv(path, overwrite=True).prepare().commit(["a"], [["new"]])
    assert exports.read_csv(path) == [{"a": "new"}]
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_without_unnamed_files_the_fallback_still_claims_first_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "_unnamed_file", lambda directory: None)
    path = tmp_path / "out.csv"
    target = exports.SecretCsv(path).prepare()
    assert list(tmp_path.iterdir()) == []
    target.commit(["a"], [["1"]])
    assert exports.read_csv(path) == [{"a": "1"}]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    with pytest.raises(Conflict):
        exports.SecretCsv(path).prepare()


# --- hidden characters: escaped in every cell, reversibly (issue 12) -----------------

HOSTILE = [
    "\x1b[31mred",
    "\x07",
    "\x1b]52;c;SGVsbG8=\x07",  # OSC 52: would set the reader's clipboard
    "\u202eevil",
    "line\u2028break\u2029",
    "\x00",
    "\x9b31m",
    "\U000e0041",  # a tag character, invisible
    "'",
    "\\",
    "\\\\",
    "\\x1b",
    "\\u202e",
    "\\U0001f600",
    "=cmd",
    "+4930123456",
    "C:\\temp\\x",
    "Müller",
    "",
]
# What a terminal would obey or hide: C0 (tab included), DEL, C1, separators, bidi, tags.
TERMINAL_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]")


def hostile_strings() -> list[str]:
    """Every pair of fragments, and random mixes of their characters: a
    property test without a property-testing library."""
    pairs = [a + b for a, b in itertools.product(HOSTILE, repeat=2)]
    alphabet = "".join(sorted(set("".join(HOSTILE)))) + "xuU0123456789abcdef"
    rng = random.Random(12)
    mixes = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    return HOSTILE + pairs + mixes


def test_every_cell_comes_back_exactly_and_holds_no_terminal_control() -> None:
    for value in hostile_strings():
        cell = exports.neutralise(value)
        assert exports.restore(cell) == value, (value, cell)
        assert not TERMINAL_CONTROL.search(cell), (value, cell)
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_escapes_are_the_documented_ones_and_e164_keeps_its_quote() -> None:
    assert exports.neutralise("\x1b]52;c;SGVsbG8=\x07") == "\\x1b]52;c;SGVsbG8=\\x07"
    assert exports.neutralise("a\u202eb\u2028c") == "a\\u202eb\\u2028c"
    assert exports.neutralise("\U000e0041") == "\\U000e0041"
    assert exports.neutralise("+4930123456") == "'+4930123456"
    # A backslash is doubled only where it would read as an escape.
    assert exports.neutralise("C:\\temp") == "C:\\temp"
    assert exports.neutralise("\\x1b") == "\\\\x1b"
    assert exports.neutralise("\\\x1b") == "\\\\\\x1b"


def test_credential_file_holds_hidden_characters_escaped_and_reads_them_back(tmp_path: Path) -> None:
    path = tmp_path / "creds.csv"
    rows = [("anna", "Anna\x1b]0;owned\x07 B\u202eerg", "5001", "493012345001", "Zaun\\2026x", "berlin.example")]
    exports.write_secret_csv(path, exports.CREDENTIAL_COLUMNS, rows)
    text = path.read_bytes().decode("utf-8")
    assert not TERMINAL_CONTROL.search(text.replace("\r\n", ""))
    assert "Anna\\x1b]0;owned\\x07 B\\u202eerg" in text and "Zaun\\2026x" in text
    assert exports.read_csv(path) == [dict(zip(exports.CREDENTIAL_COLUMNS, rows[0], strict=True))]
