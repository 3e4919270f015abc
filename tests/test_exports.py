"""CSV exports (SPEC section 8): atomic, private, never overwriting unasked,
spreadsheet-safe in a reversible way."""

from __future__ import annotations

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
