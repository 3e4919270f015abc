"""Counted messages (issue 15, item 9): "1 user", "2 users" in both
languages. A catalog entry may be ``{"one": ..., "other": ...}``, chosen by
``t``'s ``count``; every counted key has both forms in both languages, and
every place in the code that uses one passes ``count``."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

import onenet_tui
from onenet_tui.i18n import LANGUAGES, PLURAL_FORMS, catalog, t

PACKAGE = Path(onenet_tui.__file__).parent

# Messages with a {count} that counts no noun ("3 marked", "12/23"): listed
# here on purpose, so that a new counted message is made plural or added.
COUNT_WITHOUT_NOUN = {
    "bulk.confirm.skipped",  # "Skipped (listed on the screen): 3."
    "carrier.reason_too_long",  # "at most 200 characters, 230 given"
    "directory.header.marked",  # "3 marked"
    "field_widget.counter",  # "12/23"
    "r1.too_long",  # "at most 23 characters, 30 given"
    "r20.name_too_long",  # "at most 40 characters, this has 52"
    "r21.reason_too_long",
    "r22.name_too_long",
    "wizard.numbers_free",  # "40 free at Berlin"
}


def plural_keys() -> set[str]:
    return {key for key, entry in catalog("en").items() if isinstance(entry, dict)}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_counted_key_has_both_forms_in_both_languages(lang: str) -> None:
    words = catalog(lang)
    for key in plural_keys():
        entry = words[key]
        assert isinstance(entry, dict), f"{lang}: {key} is counted in English but not here"
        assert set(entry) == set(PLURAL_FORMS), key
        assert all(isinstance(text, str) and text.strip() for text in entry.values()), key
    assert {k for k, e in words.items() if isinstance(e, dict)} == plural_keys()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_message_counts_with_a_makeshift_plural(lang: str) -> None:
    texts = [
        (key, text)
        for key, entry in catalog(lang).items()
        for text in (entry.values() if isinstance(entry, dict) else [entry])
    ]
    assert [key for key, text in texts if "(s)" in text or "(en)" in text or "(e)" in text] == []
    counted_plainly = {
        key
        for key, entry in catalog(lang).items()
        if isinstance(entry, str) and "count" in {f for _, f, _, _ in string.Formatter().parse(entry) if f}
    }
    assert counted_plainly <= COUNT_WITHOUT_NOUN


def _passes_count(function: ast.AST) -> bool:
    """The function hands a ``count`` on: a keyword, or a dict's key."""
    for node in ast.walk(function):
        if isinstance(node, ast.keyword) and node.arg == "count":
            return True
        if isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "count" for k in node.keys):
            return True
    return False


def _counted_keys_used(function: ast.AST, keys: set[str]) -> set[str]:
    used = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Constant) and node.value in keys:
            used.add(node.value)
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            # t(f"bulk.source.{source}"): any counted key with that prefix
            prefix = str(node.values[0].value)
            if "." in prefix and any(k.startswith(prefix) for k in keys):
                used.add(prefix + "…")
    return used


def uses_without_count(source: str, keys: set[str]) -> tuple[list[str], set[str]]:
    """Functions using a counted key without passing a count, and every
    counted key seen."""
    missing, seen = [], set()
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        used = _counted_keys_used(function, keys)
        seen |= used
        if used and not _passes_count(function):
            missing.append(f"{function.lineno} {function.name}: {sorted(used)}")
    return missing, seen


def test_every_use_of_a_counted_key_passes_count() -> None:
    keys = plural_keys()
    missing, seen = [], set()
    for path in sorted(PACKAGE.rglob("*.py")):
        found, used = uses_without_count(path.read_text("utf-8"), keys)
        missing += [f"{path.relative_to(PACKAGE)}:{line}" for line in found]
        seen |= used
    assert missing == []
    # The scan finds the keys where they are.
    assert {"cli.users.count", "bulk.leave.question", "lifecycle.groups.saved", "bulk.source.…"} <= seen


def test_the_count_checker_finds_a_missing_count() -> None:
    sample = (
        "def a():\n    t('cli.users.count', n=3)\n"
        "def b():\n    t('cli.users.count', count=3)\n"
        "def c(kind):\n    t(f'bulk.source.{kind}')\n"
        "def d():\n    return 'secrets.pending_export.file', {'count': 2}\n"
    )
    missing, _ = uses_without_count(sample, plural_keys())
    assert missing == ["1 a: ['cli.users.count']", "5 c: ['bulk.source.…']"]


@pytest.mark.parametrize(
    ("key", "params", "one", "other"),
    [
        ("cli.users.count", {}, "1 user", "2 users"),
        ("bulk.leave.question", {}, "1 new password has not", "The 2 new passwords have not"),
        ("lifecycle.groups.saved", {}, "(1 change)", "(2 changes)"),
        ("cli.credentials.done", {"path": "x.csv", "skipped": 0}, "for 1 user written", "for 2 users written"),
    ],
)
def test_the_count_chooses_the_form(key: str, params: dict[str, object], one: str, other: str) -> None:
    assert one in t(key, count=1, **params)
    assert other in t(key, count=2, **params)
    assert other.replace("2", "0") in t(key, count=0, **params)


def test_german_forms_and_grouped_counts() -> None:
    assert t("lifecycle.groups.saved", lang="de", count=1) == "Gruppenzuordnung gespeichert (1 Änderung)."
    assert t("lifecycle.groups.saved", lang="de", count=1000) == "Gruppenzuordnung gespeichert (1.000 Änderungen)."
    assert t("cli.numbers.count", lang="de", count=1) == "1 Rufnummer"
    # A count already formatted under another name still picks the form.
    assert t("directory.header.shown", shown="1", total="1", count=1) == "1 of 1 user"
    assert t("directory.header.shown", shown="5", total="2,000", count=2000) == "5 of 2,000 users"


def test_a_counted_key_without_count_says_the_plural() -> None:
    assert t("cli.users.count") == "{count} users"
