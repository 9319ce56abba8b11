"""JSONAdapter field values decoded as they stream."""

from __future__ import annotations

import pytest

from uiwire.adapters.dspy._json_fields import JsonFieldText


@pytest.mark.parametrize(
    ("chunks", "pieces"),
    [
        (['"The to', "ol said", ' sunny.", "'], ["The to", "ol said", " sunny."]),
        ([' "a\\', "nb \\u00", 'e9 \\"q\\" end"', ', "x'], ["a", "\nb ", 'é "q" end', ""]),
        (['"emoji \\ud83d', '\\ude00 ok"'], ["emoji ", "😀 ok"]),  # a pair split in two
        (['{"city": "Pa', 'ris"}', ', "next'], ['{"city": "Pa', 'ris"}', ""]),
        (["42", ', "b"'], ["42", ""]),
        (['[1, {"a": "}"}', "]}"], ['[1, {"a": "}"}', "]"]),
        (["   ", '"x"'], ["", "x"]),
    ],
)
def test_each_piece_is_the_new_text_of_the_value(chunks: list[str], pieces: list[str]) -> None:
    decoder = JsonFieldText()
    assert [decoder.feed(chunk) for chunk in chunks] == pieces


def test_text_that_is_not_json_after_all_is_shown_as_it_came() -> None:
    decoder = JsonFieldText()
    assert decoder.feed('"bad \\x escape"') == "bad \\x escape"
