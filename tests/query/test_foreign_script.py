"""A question mostly in another script, asked of an English-only model, is never a confident
match (its nearest passages are near by accident); other models and Latin-script questions
are judged as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeEmbedder

from podsearch.api import Library
from podsearch.core.text import latin_share
from podsearch.embed.names import reads_english_only
from podsearch.query import rank

HINDI = "किसानों को मंडी में अपनी फसल बेचनी पड़ती है क्योंकि यही नियम है"


@pytest.fixture
def library(tmp_path: Path) -> Library:
    vtt = "\n".join(
        [
            "WEBVTT",
            "",
            "00:00:01.000 --> 00:00:09.000",
            f"<v Host>{HINDI} और यह बहुत पुराना नियम है जो आज भी चलता है।",
            "",
            "00:00:10.000 --> 00:00:19.000",
            "<v Guest>Farmers must sell their crop at the regulated market yard because the "
            "rules say so, and the rule is an old one that still holds today.",
            "",
        ]
    )
    (tmp_path / "farmers.vtt").write_text(vtt, encoding="utf-8")
    lib = Library(tmp_path / "idx", embedder=FakeEmbedder())
    lib.index([tmp_path / "farmers.vtt"])
    return lib


def test_a_question_in_another_script_is_not_a_confident_match(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert library.ask(HINDI, top=1).hits[0].confident  # the fake model is not English-only
    monkeypatch.setattr(rank, "reads_english_only", lambda name: True)
    hit = library.ask(HINDI, top=1).hits[0]
    assert "किसानों" in hit.text and not hit.confident  # still shown, never vouched for
    assert hit.weak_because == "other_script" and "script" in (hit.weakness() or "")
    english = library.ask("farmers sell their crop at the market yard", top=1).hits[0]
    assert english.confident and english.weak_because is None and english.weakness() is None


def test_latin_share_and_english_only_models() -> None:
    assert latin_share("what did Amit say") == 1.0
    assert latin_share("Qu'a dit Amit à propos du café?") == 1.0
    assert latin_share(HINDI) == 0.0
    assert latin_share("2024 !!") == 1.0
    assert 0 < latin_share("Amit ने क्रिकेट") < 0.5
    assert reads_english_only("sentence-transformers/all-MiniLM-L6-v2")
    assert reads_english_only("/models/all-mpnet-base-v2/")
    assert not reads_english_only("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2")
    assert not reads_english_only("fake")
