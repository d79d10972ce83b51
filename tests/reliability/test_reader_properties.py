"""Property tests of every transcript reader (``READERS``, so readers added later are
covered): random texts and mutated valid files never raise anything but ReaderError, and
whatever is read holds only finite times within bounds and valid Unicode."""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podsearch.core.errors import ReaderError
from podsearch.ingest.readers import READERS, read_text
from podsearch.ingest.validate import MAX_SECONDS, MAX_SPEAKER_CHARS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "readers"
EXAMPLES = 200  # per reader, in CI
# Tokens that broke readers before, or could: huge, non-finite and negative numbers, deep
# nesting, entity declarations, stray markup, control characters, lone surrogates.
TOKENS = [
    "1e999", "-1e999", "NaN", "Infinity", "-5", "9" * 400, "0", "1e308", "-0.0",
    "99:99:99.999", "00:00:01.000 --> 00:00:00.000", "-->", "\n\n", "[" * 50, "{" * 50,
    '"start": 1e999', '"end": "x"', "<p begin='1e999s'>", "<!ENTITY a 'b'>", "&a;", "<",
    "</tt>", "\x00", "\ud800", "\ufeff", "WEBVTT", "**Name** (99:99)", "Speaker 1:",
    'ttp:frameRate="0"', 'ttp:tickRate="0"', "t", "f", "s", "ms", ",", ":", "null", "true",
]  # fmt: skip


def _seeds() -> list[tuple[str, str]]:
    """(file name, text) of every readable fixture: mutations start from valid files."""
    out = []
    for p in sorted(p for p in FIXTURES.rglob("*") if p.is_file()):  # published/ too
        try:
            out.append((p.name, p.read_text("utf-8")))
        except (UnicodeDecodeError, OSError):
            continue
    return out


SEEDS = _seeds()


def _seeds_for(reader: ModuleType) -> list[tuple[str, str]]:
    """The fixtures this reader recognises (any reader added later finds its own), else
    all of them."""
    mine = []
    for name, text in SEEDS:
        try:
            if float(reader.detect(text, Path(name))) > 0:
                mine.append((name, text))
        except Exception:  # detection of a fixture is not what is tested here
            continue
    return mine or SEEDS


@st.composite
def mutated(draw: st.DrawFn, seeds: list[tuple[str, str]]) -> tuple[str, str]:
    name, text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "truncate", "repeat"]))
        token = draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=12)))
        if op == "insert":
            text = text[:pos] + token + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 40)) :]
        elif op == "replace":
            text = text[:pos] + token + text[pos + len(token) :]
        elif op == "truncate":
            text = text[:pos]
        else:
            text = text[:pos] + text[pos : pos + 60] * draw(st.integers(2, 5)) + text[pos:]
    return name, text


def _check(ep: object) -> None:
    def time_ok(t: float | None) -> None:
        assert t is None or (isinstance(t, float) and math.isfinite(t) and 0 <= t < MAX_SECONDS)

    for turn in ep.turns:  # type: ignore[attr-defined]
        time_ok(turn.start)
        time_ok(turn.end)
        turn.text.encode("utf-8")
        assert turn.speaker is None or len(turn.speaker) <= MAX_SPEAKER_CHARS
        for cue in turn.cues:
            time_ok(cue.start)
            time_ok(cue.end)
            cue.text.encode("utf-8")
    for start, title in ep.chapters:  # type: ignore[attr-defined]
        time_ok(start)
        title.encode("utf-8")


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.NAME)
def test_reader_never_crashes_on_mutated_or_random_input(reader: ModuleType, tally) -> None:
    seeds = _seeds_for(reader)
    tried = {"n": 0}
    inputs = st.one_of(
        mutated(seeds),
        st.tuples(st.sampled_from([n for n, _ in seeds]), st.text(max_size=400)),
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,  # tests write only in their temporary folders
        derandomize=True,  # the same examples on every CI run: no flaky failures
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(inputs)
    def run(case: tuple[str, str]) -> None:
        name, text = case
        tried["n"] += 1
        try:
            result = read_text(text, Path(name), reader.NAME)
        except ReaderError as e:
            assert (e.problem and "\n" not in e.problem.strip()) or len(e.problem) < 2000
            return
        _check(result.episode)

    run()
    assert tried["n"] >= EXAMPLES
    tally("reader property examples", tried["n"])
