"""core.strict_json: what podsearch prints is standard JSON."""

from __future__ import annotations

import json

from podsearch.core.strict_json import dumps, finite


def test_non_finite_numbers_become_null() -> None:
    data = {"a": float("inf"), "b": [float("nan"), 1.5, {"c": -float("inf")}], "d": (2.0,)}
    assert finite(data) == {"a": None, "b": [None, 1.5, {"c": None}], "d": [2.0]}

    def refuse(name: str) -> object:
        raise AssertionError(name)

    assert json.loads(dumps(data), parse_constant=refuse)["b"][1] == 1.5


def test_valid_unicode_joins_pairs_and_replaces_lone_surrogates() -> None:
    from podsearch.core.text import valid_unicode

    assert valid_unicode("a\ud83d\ude00b") == "a😀b"  # a pair, as a JSON escape gives it
    assert valid_unicode("a\ud800b\udcffc") == "a\ufffdb\ufffdc"
    assert valid_unicode("plain") == "plain"
