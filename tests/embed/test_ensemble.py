"""Several models as one (``embed.ensemble``): names, vectors, and a library built, asked,
grown and rebuilt with one. Fake embedders throughout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder
from typer.testing import CliRunner

from podsearch.cli.app import app
from podsearch.core.errors import ModelLoadError
from podsearch.embed.ensemble import (
    EnsembleEmbedder,
    Part,
    carried_parts,
    infer_part_dimensions,
    layout,
    rejoin,
)
from podsearch.embed.factory import load_embedder, load_index_embedder, load_query_embedder
from podsearch.embed.names import (
    DEFAULT_MODEL,
    MPNET,
    canonical_model_name,
    ensemble_parts,
    reads_english_only,
)
from podsearch.pipeline import commit as commit_module
from podsearch.store.index import Index

FIXTURES = Path(__file__).parents[1] / "fixtures"
LIBRARY = FIXTURES / "library"
runner = CliRunner()


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("minilm+mpnet@0.3", [(DEFAULT_MODEL, 0.7), (MPNET, 0.3)]),
        ("mpnet+default", [(MPNET, 0.5), (DEFAULT_MODEL, 0.5)]),
        ("fake-64@0.2+fake-32@0.6", [("fake-64", 0.25), ("fake-32", 0.75)]),
        ("a + b + c@0.4", [("a", 0.3), ("b", 0.3), ("c", 0.4)]),
    ],
)
def test_ensemble_names(name: str, parts: list[tuple[str, float]]) -> None:
    assert ensemble_parts(name) == parts
    canonical = canonical_model_name(name)
    # The pinned name reads back as the same ensemble, and is its own canonical form.
    assert ensemble_parts(canonical) == parts
    assert canonical_model_name(canonical) == canonical


def test_single_models_are_not_ensembles(tmp_path: Path) -> None:
    folder = tmp_path / "my+model"  # a model folder whose name holds a plus
    folder.mkdir()
    for name in (None, "", "fake", "mpnet", str(folder), "fake@0.3"):
        assert ensemble_parts(name) is None
    assert canonical_model_name(str(folder)) == str(folder)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("fake+", "empty part"),
        ("fake@2+fake-32", "above 0 and at most 1"),
        ("fake@x+fake-32", "above 0 and at most 1"),
        ("fake@0+fake-32", "above 0 and at most 1"),
        ("fake@1+fake-32", "leaving nothing"),
        ("fake@0.6+fake-32@0.5+fake-16", "leaving nothing"),
    ],
)
def test_bad_ensemble_names(name: str, says: str) -> None:
    with pytest.raises(ModelLoadError, match=says):
        canonical_model_name(name)


def test_english_only_when_every_model_is() -> None:
    assert reads_english_only("minilm+mpnet@0.3")
    assert not reads_english_only("minilm+BAAI/bge-m3")


def test_inner_product_is_the_weighted_sum_of_cosines() -> None:
    a, b = FakeEmbedder("fake-64"), FakeEmbedder("fake-32")
    both = EnsembleEmbedder("fake-64@0.7+fake-32@0.3", [(a, 0.7), (b, 0.3)])
    texts = ["open weights and distillation", "distillation of open models", "robot arms"]
    got = both.encode(texts)
    assert got.shape == (3, 96) and got.dtype == np.float32 and both.dim == 96
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    va, vb = a.encode(texts), b.encode(texts)
    np.testing.assert_allclose(got @ got.T, 0.7 * (va @ va.T) + 0.3 * (vb @ vb.T), atol=1e-6)


def test_every_factory_makes_the_ensemble() -> None:
    name = "fake-64+fake-32@0.25"
    for embedder in (
        load_embedder(name),
        load_index_embedder(name),
        load_index_embedder(name, precision="int8"),
        load_query_embedder(name),
    ):
        assert isinstance(embedder, EnsembleEmbedder)
        assert embedder.name == "fake-64@0.75+fake-32@0.25" and embedder.dim == 96
        assert [e.name for e in embedder.parts] == ["fake-64", "fake-32"]


def _ask(index: Path, question: str, *options: str) -> list[dict]:
    out = runner.invoke(app, ["ask", question, "--index", str(index), "--json", *options])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def test_library_built_and_asked_with_an_ensemble(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    made = runner.invoke(
        app, ["index", str(LIBRARY), "--index", str(index), "--model", "fake-64+fake-32@0.3"]
    )
    assert made.exit_code == 0, made.output
    ix = Index(index)
    assert ix.model == "fake-64@0.7+fake-32@0.3" and ix.dimension == 96
    # Semantic scores are the blend of the two models' cosines (checked by brute force).
    question = "compost brown material"
    hits = _ask(index, question, "--mode", "semantic", "-k", "3")
    texts = ix.passage_column("embed_text")
    a, b = FakeEmbedder("fake-64"), FakeEmbedder("fake-32")
    blend = 0.7 * (a.encode(texts) @ a.encode([question])[0]) + 0.3 * (
        b.encode(texts) @ b.encode([question])[0]
    )
    assert hits and hits[0]["score"] == pytest.approx(float(blend.max()), abs=1e-4)
    assert _ask(index, question, "-k", "5")  # hybrid too

    # The library keeps its ensemble: adding needs no --model; another one is refused.
    again = runner.invoke(app, ["index", str(LIBRARY), "--index", str(index), "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["passages_embedded"] == 0
    other = runner.invoke(
        app, ["index", str(LIBRARY), "--index", str(index), "--model", "fake-64+fake-32"]
    )
    assert other.exit_code == 1 and "rebuild" in other.output
    assert "Traceback" not in other.output
    # The same ensemble in other words is the same model.
    same = runner.invoke(
        app,
        ["index", str(LIBRARY), "--index", str(index), "--model", "fake-64@0.7+fake-32@0.3"],
    )
    assert same.exit_code == 0, same.output
    verified = runner.invoke(app, ["verify", "--index", str(index)])
    assert verified.exit_code == 0, verified.output
    # Back to one model by rebuilding.
    single = runner.invoke(app, ["rebuild", "--index", str(index), "--model", "fake-32", "--json"])
    assert single.exit_code == 0, single.output
    assert Index(index).dimension == 32


def test_bad_ensemble_name_is_one_line(tmp_path: Path) -> None:
    out = runner.invoke(
        app, ["index", str(LIBRARY), "--index", str(tmp_path / "idx"), "--model", "fake@3+fake-32"]
    )
    assert out.exit_code == 1
    assert "at most 1" in out.output and "Traceback" not in out.output
    assert not (tmp_path / "idx").exists()


def test_layout_and_rejoin() -> None:
    vectors = EnsembleEmbedder(
        "fake-64@0.7+fake-32@0.3", [(FakeEmbedder("fake-64"), 0.7), (FakeEmbedder("fake-32"), 0.3)]
    ).encode(["brown leaves", "green grass"])
    parts = layout("fake-64@0.7+fake-32@0.3", 96, [64, 32])
    assert parts is not None and [(p.start, p.end) for p in parts] == [(0, 64), (64, 96)]
    # Unknown or inconsistent dimensions: no layout (the vectors are embedded again).
    assert layout("fake-64@0.7+fake-32@0.3", 96, None) is None
    assert layout("fake-64@0.7+fake-32@0.3", 96, [64, 64]) is None
    assert layout("fake-32", 32, None) == [Part("fake-32", 1.0, 0, 32)]
    one = rejoin(vectors, parts, "fake-32")
    assert one is not None
    np.testing.assert_allclose(
        one, FakeEmbedder("fake-32").encode(["brown leaves", "green grass"]), atol=1e-6
    )
    reweighted = rejoin(vectors, parts, "fake-64+fake-32")
    assert reweighted is not None
    np.testing.assert_allclose(np.linalg.norm(reweighted, axis=1), 1.0, atol=1e-6)
    assert rejoin(vectors, parts, "fake-64+fake-16") is None  # fake-16 is not in them
    assert set(carried_parts(parts, "fake-16+fake-64")) == {1}


@pytest.fixture
def encoded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The model name of every text a fake embedder encodes, in order."""
    names: list[str] = []
    original = FakeEmbedder.encode

    def counting(self: FakeEmbedder, texts, **kw):  # type: ignore[no-untyped-def]
        names.extend([self.name] * len(texts))
        return original(self, texts, **kw)

    monkeypatch.setattr(FakeEmbedder, "encode", counting)
    return names


def test_rebuild_runs_only_the_models_the_vectors_lack(tmp_path: Path, encoded: list[str]) -> None:
    """A library switched between one model, an ensemble of it and another weighting of
    that ensemble embeds only what its vectors lack, and ends as a fresh build would."""
    index = tmp_path / "idx"
    made = runner.invoke(app, ["index", str(LIBRARY), "--index", str(index), "--model", "fake-64"])
    assert made.exit_code == 0, made.output
    n = Index(index).manifest["counts"]["passages"]

    def rebuild(model: str) -> Index:
        encoded.clear()
        out = runner.invoke(app, ["rebuild", "--index", str(index), "--model", model])
        assert out.exit_code == 0, out.output
        return Index(index)

    def fresh(ix: Index, *parts: tuple[str, float]) -> np.ndarray:
        texts = ix.passage_column("embed_text")
        return np.hstack([FakeEmbedder(m).encode(texts) * np.sqrt(w) for m, w in parts])

    ix = rebuild("fake-64+fake-32@0.3")  # fake-64's vectors are kept: only fake-32 runs
    assert encoded == ["fake-32"] * n
    assert ix.manifest["model"]["part_dimensions"] == [64, 32]
    np.testing.assert_allclose(
        ix.vectors(), fresh(ix, ("fake-64", 0.7), ("fake-32", 0.3)), atol=1e-5
    )
    ix = rebuild("fake-64+fake-32@0.5")  # another weighting: nothing runs
    assert encoded == [] and ix.model == "fake-64@0.5+fake-32@0.5"
    np.testing.assert_allclose(
        ix.vectors(), fresh(ix, ("fake-64", 0.5), ("fake-32", 0.5)), atol=1e-5
    )
    ix = rebuild("fake-32")  # one model of the ensemble: nothing runs
    assert encoded == [] and ix.dimension == 32
    np.testing.assert_allclose(ix.vectors(), fresh(ix, ("fake-32", 1.0)), atol=1e-5)
    assert "part_dimensions" not in ix.manifest["model"]
    ix = rebuild("fake-16")  # nothing in common: embedded again
    assert encoded == ["fake-16"] * n
    assert runner.invoke(app, ["verify", "--index", str(index)]).exit_code == 0


def test_part_dimensions_read_off_the_vectors() -> None:
    """Each model's block of a joined vector has its weight as squared length: the split is
    found in the vectors alone, and nowhere when it is ambiguous or absent."""
    rng = np.random.default_rng(0)
    blocks = [rng.normal(size=(50, d)) for d in (24, 40, 8)]
    weights = (0.5, 0.3, 0.2)
    joined = np.hstack(
        [
            b / np.linalg.norm(b, axis=1, keepdims=True) * np.sqrt(w)
            for b, w in zip(blocks, weights, strict=True)
        ]
    ).astype(np.float32)
    joined[7] = 0.0  # an empty text's vector
    assert infer_part_dimensions(joined, "a@0.5+b@0.3+c@0.2") == [24, 40, 8]
    assert infer_part_dimensions(joined, "a+b@0.3+c@0.2") == [24, 40, 8]  # 0.5 by default
    assert infer_part_dimensions(joined, "a@0.6+b@0.2+c@0.2") is None  # not these weights
    assert infer_part_dimensions(joined, "a") is None  # one model: nothing to split
    zeros = np.hstack([joined[:, :24], np.zeros((50, 2), np.float32), joined[:, 24:]])
    assert infer_part_dimensions(zeros, "a@0.5+b@0.3+c@0.2") is None  # 24, 25 or 26?


def test_an_ensemble_library_without_recorded_dimensions_is_reweighted_without_embedding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoded: list[str]
) -> None:
    """Libraries whose manifest does not record the models' dimensions (written before it
    did) are taken apart by the dimensions their vectors show."""
    index = tmp_path / "idx"
    with monkeypatch.context() as m:  # a manifest as older versions wrote it
        m.setattr(commit_module, "_part_dimensions", lambda *a: {})
        made = runner.invoke(
            app, ["index", str(LIBRARY), "--index", str(index), "--model", "fake-24+fake-16"]
        )
        assert made.exit_code == 0, made.output
    assert "part_dimensions" not in Index(index).manifest["model"]
    encoded.clear()  # what the rebuild encodes
    out = runner.invoke(app, ["rebuild", "--index", str(index), "--model", "fake-24+fake-16@0.3"])
    assert out.exit_code == 0, out.output
    ix = Index(index)
    assert encoded == [] and ix.manifest["model"]["part_dimensions"] == [24, 16]
    texts = ix.passage_column("embed_text")
    want = np.hstack(
        [
            FakeEmbedder("fake-24").encode(texts) * np.sqrt(0.7),
            FakeEmbedder("fake-16").encode(texts) * np.sqrt(0.3),
        ]
    )
    np.testing.assert_allclose(ix.vectors(), want, atol=1e-5)
