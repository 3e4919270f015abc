"""Translation completeness (SPEC section 5): both catalogs have the same
keys, every key the code asks for exists, and no screen or widget hands a
bare string literal to the UI."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import onenet_tui
from onenet_tui.i18n import LANGUAGES, catalog, t

PACKAGE = Path(onenet_tui.__file__).parent
LOCALE = PACKAGE / "locale"

# Calls that put text on the screen, and the keyword arguments that carry text.
UI_CALLS = {
    "Static",
    "Label",
    "Button",
    "Checkbox",
    "RadioButton",
    "Switch",
    "Input",
    "Header",
    "Footer",
    "Binding",
    "notify",
    "Option",
    "Selection",
    "Rule",
    "Link",
    "Markdown",
    "Text",
    "Content",
    "Hit",
    "DiscoveryHit",
    "SystemCommand",
    "ProgressBar",
    "Collapsible",
    "TabPane",
    "Tab",
    "Placeholder",
    "Digits",
    "LoadingIndicator",
    "update",
    "set_title",
    "add_column",
    "add_row",
}
TEXT_KWARGS = {"label", "placeholder", "description", "tooltip", "title", "message", "help", "text", "renderable"}
UI_PACKAGES = ("screens", "widgets")


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and any(ch.isalpha() for ch in node.value)


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def bare_literals(source: str, known_keys: set[str]) -> list[tuple[int, str]]:
    """String literals handed to the UI that are neither translated nor a
    catalog key (some screens keep binding descriptions as keys and translate
    them when the language changes)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or _call_name(node) not in UI_CALLS:
            continue
        # Binding("a", "add_user", ...): the first two are a key and an action, not text.
        positional = node.args[2:3] if _call_name(node) == "Binding" else node.args[:1]
        texts = [a for a in positional if _is_text(a)]
        texts += [k.value for k in node.keywords if k.arg in TEXT_KWARGS and _is_text(k.value)]
        found += [(n.lineno, n.value) for n in texts if n.value not in known_keys]  # type: ignore[attr-defined]
    return found


def test_catalogs_have_the_same_keys_in_every_area() -> None:
    areas = {p.name for lang in LANGUAGES for p in (LOCALE / lang).glob("*.json")}
    for area in sorted(areas):
        keys = {lang: set(json.loads((LOCALE / lang / area).read_text("utf-8"))) for lang in LANGUAGES}
        missing = {lang: sorted(set().union(*keys.values()) - k) for lang, k in keys.items()}
        assert missing == {lang: [] for lang in LANGUAGES}, area


def test_catalog_values_are_translated_and_placeholders_match() -> None:
    import string

    def forms(entry: str | dict[str, str]) -> dict[str, str]:
        # A counted message's plural forms each have the placeholders of the key.
        return entry if isinstance(entry, dict) else {"": entry}

    en, de = catalog("en"), catalog("de")
    for key, entry in en.items():
        for form, text in {**forms(entry), **forms(de[key])}.items():
            fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            english = forms(entry).get(form, next(iter(forms(entry).values())))
            assert fields == {f for _, f, _, _ in string.Formatter().parse(english) if f}, key
            assert text.strip(), key


def keys_used_in_code() -> dict[str, str]:
    used = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "t"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                used[node.args[0].value] = f"{path.relative_to(PACKAGE)}:{node.lineno}"
    return used


def test_every_key_the_code_asks_for_exists() -> None:
    en = catalog("en")
    missing = {key: where for key, where in keys_used_in_code().items() if key not in en}
    assert missing == {}


def test_screens_and_widgets_pass_no_bare_text_to_the_ui() -> None:
    known = set(catalog("en"))
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {text!r}"
        for package in UI_PACKAGES
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for line, text in bare_literals(path.read_text("utf-8"), known)
    ]
    assert found == []


def test_the_literal_checker_finds_bare_text() -> None:
    sample = 'Label("Delete user")\nButton(t("x"))\nnotify(message="Saved")\nBinding("d", "delete", "Delete")\n'
    sample += 'Binding("d", "delete", "status.failed")\nStatic(" · ")\n'
    assert bare_literals(sample, set(catalog("en"))) == [(1, "Delete user"), (3, "Saved"), (4, "Delete")]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_status_words_an_admin_recognises(lang: str) -> None:
    expected = {
        "en": ("Pending", "Active", "Failed", "Hunt group", "Call center"),
        "de": ("Ausstehend", "Aktiviert", "Fehlgeschlagen", "Sammelanschluss", "Callcenter"),
    }[lang]
    keys = ("status.pending", "status.activated", "status.failed", "kind.hunt_group", "kind.call_center")
    assert tuple(t(k, lang=lang) for k in keys) == expected


def test_counts_and_moments_follow_the_language() -> None:
    from datetime import UTC, datetime

    from onenet_tui.i18n import format_moment

    moment = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    assert (format_moment(moment, "en"), format_moment(moment, "de")) == (
        "14/03/2025 09:30 UTC",
        "14.03.2025 09:30 UTC",
    )
    assert t("audit.title", lang="en", count=12345).startswith("Audit trail: the latest 12,345")
    assert t("audit.title", lang="de", count=12345).startswith("Protokoll: die letzten 12.345")
    # Small numbers (limits, step numbers) are unchanged.
    assert t("r1.too_long", lang="de", max=23, count=24) == "höchstens 23 Zeichen, 24 eingegeben (R1)"
