"""Embedders: the fake one used by tests, block encoding, model names, the real default."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from fakes import FakeEmbedder

from podsearch.core.errors import ModelLoadError
from podsearch.embed.base import RememberedQuestions, encode_all
from podsearch.embed.factory import load_embedder
from podsearch.embed.names import DEFAULT_MODEL, canonical_model_name

TEXTS = [
    "Open source models are catching up with closed ones.",
    "Distillation lets a small model learn from a large one.",
    "Yeah.",
    "",
    "Robotics is the next frontier for open source AI, with cheap arms and shared datasets.",
    "China releases many open weight models.",
    "Regulation should target uses, not the research itself.",
    "Is AI a bubble? Some valuations look stretched, but usage keeps growing.",
    "Absolutely.",
    "The hub hosts a million models and datasets from the community.",
    "a",
]


class RecordingEmbedder:
    """Wraps an embedder and records the texts of every encode call."""

    def __init__(self, inner: FakeEmbedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.encode(texts, batch_size=batch_size)


def test_fake_is_deterministic(fake_embedder: FakeEmbedder) -> None:
    a = fake_embedder.encode(TEXTS)
    b = FakeEmbedder("fake").encode(TEXTS)
    assert np.array_equal(a, b)
    # A text's vector does not depend on its neighbours in the batch.
    assert np.array_equal(fake_embedder.encode([TEXTS[1]])[0], a[1])


def test_fake_shape_dtype_and_norms(fake_embedder: FakeEmbedder) -> None:
    vecs = fake_embedder.encode(TEXTS)
    assert fake_embedder.dim == 256
    assert vecs.shape == (len(TEXTS), 256)
    assert vecs.dtype == np.float32
    norms = np.linalg.norm(vecs, axis=1)
    for text, norm in zip(TEXTS, norms, strict=True):
        # A text without words has nothing to hash: a zero vector rather than NaNs.
        assert norm == pytest.approx(0.0 if not text.strip() else 1.0, abs=1e-5)
    assert np.isfinite(vecs).all()


@pytest.mark.parametrize(("name", "dim"), [("fake", 256), ("fake-64", 64), ("fake-7", 7)])
def test_fake_dimension_from_name(name: str, dim: int) -> None:
    emb = load_embedder(name)
    assert isinstance(emb, FakeEmbedder)
    assert (emb.name, emb.dim) == (name, dim)
    assert emb.encode(["open source models"]).shape == (1, dim)


@pytest.mark.parametrize("name", ["fake64", "fake-", "fake-x", "faker"])
def test_fake_bad_names(name: str) -> None:
    with pytest.raises(ModelLoadError, match="fake"):
        FakeEmbedder(name)


def test_fake_shared_words_are_closer(fake_embedder: FakeEmbedder) -> None:
    q, near, far = fake_embedder.encode(
        ["open source robotics", "robotics with open source arms", "the budget deficit grew"]
    )
    assert float(q @ near) > float(q @ far)


@pytest.mark.parametrize("block", [1, 3, 4, 512])
def test_encode_all_keeps_input_order(fake_embedder: FakeEmbedder, block: int) -> None:
    rec = RecordingEmbedder(fake_embedder)
    progress: list[tuple[int, int]] = []
    out = encode_all(
        rec, TEXTS, batch_size=2, block=block, on_progress=lambda d, t: progress.append((d, t))
    )
    one_by_one = np.stack([fake_embedder.encode([t])[0] for t in TEXTS])
    assert out.shape == (len(TEXTS), fake_embedder.dim)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, one_by_one, atol=1e-6)

    n_blocks = -(-len(TEXTS) // block)
    assert len(rec.calls) == n_blocks
    assert all(len(call) <= block for call in rec.calls)
    assert sorted(t for call in rec.calls for t in call) == sorted(TEXTS)
    # Blocks are cut from the texts sorted by length, so each block holds similar lengths.
    lengths = [len(t) for call in rec.calls for t in call]
    assert lengths == sorted(lengths)
    # Progress after every block, ending at the total.
    assert [t for _, t in progress] == [len(TEXTS)] * n_blocks
    done = [d for d, _ in progress]
    assert done == sorted(done) and done[-1] == len(TEXTS)
    assert done == [min(len(TEXTS), block * (i + 1)) for i in range(n_blocks)]


def test_remembered_questions_skip_the_model_and_stay_bounded(
    fake_embedder: FakeEmbedder,
) -> None:
    calls: list[list[str]] = []

    class Counting:
        name, dim = fake_embedder.name, fake_embedder.dim

        def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
            calls.append(list(texts))
            return fake_embedder.encode(texts)

    memo = RememberedQuestions(Counting(), size=2)
    first = memo.encode(["compost"])
    first[0, 0] += 1.0  # a caller changing its copy changes nothing kept
    again = memo.encode(["compost"])
    assert np.array_equal(again, fake_embedder.encode(["compost"])) and len(calls) == 1
    memo.encode(["squash"])
    memo.encode(["beans"])  # the third question: the least recently used one ("compost") goes
    memo.encode(["squash"])
    assert len(calls) == 3
    memo.encode(["compost"])
    assert len(calls) == 4 and len(memo._kept) == 2
    memo.encode(["a", "b"])  # a batch is never kept
    assert calls[-1] == ["a", "b"] and (memo.name, memo.dim) == (fake_embedder.name, 256)


def test_encode_all_empty(fake_embedder: FakeEmbedder) -> None:
    calls: list[tuple[int, int]] = []
    out = encode_all(fake_embedder, [], on_progress=lambda d, t: calls.append((d, t)))
    assert out.shape == (0, fake_embedder.dim)
    assert out.dtype == np.float32
    assert calls == []


@pytest.mark.parametrize(
    "name",
    [None, "", "all-MiniLM-L6-v2", "default", "sentence-transformers/all-MiniLM-L6-v2"],
)
def test_canonical_default_names(name: str | None) -> None:
    assert canonical_model_name(name) == DEFAULT_MODEL


@pytest.mark.parametrize(
    "name", ["fake", "fake-64", "BAAI/bge-small-en-v1.5", "/models/my-model", "all-MiniLM-L12-v2"]
)
def test_canonical_other_names_unchanged(name: str) -> None:
    assert canonical_model_name(name) == name


@pytest.mark.slow
def test_real_default_model() -> None:
    emb = load_embedder()
    assert emb.name == DEFAULT_MODEL
    two = emb.encode(["Open source models are catching up.", "The weather was lovely today."])
    assert emb.dim == 384
    assert two.shape == (2, 384)
    assert two.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(two, axis=1), 1.0, atol=1e-5)

    q, paraphrase, unrelated = emb.encode(
        [
            "What did the guest say about distilling large models into small ones?",
            "Distillation trains a compact model to imitate a bigger one.",
            "The recipe calls for two cups of flour and a pinch of salt.",
        ]
    )
    assert float(q @ paraphrase) > float(q @ unrelated) + 0.2
    # A text's vector does not depend on the batch it was encoded in.
    alone = emb.encode(["Distillation trains a compact model to imitate a bigger one."])[0]
    np.testing.assert_allclose(alone, paraphrase, atol=1e-4)
