"""The command line's streamed JSON lists (``cli_output``): whatever the
chunk size, the text is one valid JSON list (a chunk a line, or for
encoded texts a value a line), and hidden characters from data never reach
the terminal raw."""

from __future__ import annotations

import io
import json

import pytest

from onenet_tui.cli_output import write_json_list, write_json_texts

ITEMS = [{"username": f"user{n}", "name": "Jürgen"} for n in range(5)]


@pytest.mark.parametrize("count", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("writer", ["values", "texts"])
def test_a_chunked_list_is_one_json_list_whatever_the_chunks(count: int, writer: str) -> None:
    out = io.StringIO()
    items = ITEMS[:count]
    if writer == "values":
        write_json_list(out, items, chunk=2)
    else:
        write_json_texts(out, (json.dumps(item, ensure_ascii=False) for item in items), chunk=2)
    text = out.getvalue()
    assert json.loads(text) == items
    assert text.endswith("]\n")
    chunks = -(-count // 2)
    lines = chunks if writer == "values" else count
    assert len(text.splitlines()) == (1 if count == 0 else lines + 2)


def test_encoded_texts_have_their_hidden_characters_escaped() -> None:
    out = io.StringIO()
    write_json_texts(out, [json.dumps({"name": "Eve\u202e"}, ensure_ascii=False)])
    assert "\u202e" not in out.getvalue()
    assert json.loads(out.getvalue()) == [{"name": "Eve\u202e"}]
